#!/usr/bin/env bash
# Runs the stages', the harness's and the explorer's tests as Windows programs, from Linux: built
# for x86_64-pc-windows-gnu and run under Wine. Workshop laptops run Windows too, and CI only
# checks that the code builds there (clippy for the target); this runs it. Not part of CI: the
# packages and the build take several minutes.
#
#   bash docs/check-windows.sh [--install]    # --install: rustup target, MinGW and Wine if missing
#
# Wine is not Windows: a failure here is worth reading, not proof of a bug on Windows.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
if [[ ${1:-} == --install ]]; then
    rustup target add "$target"
    if ! command -v x86_64-w64-mingw32-gcc >/dev/null || [[ ! -x /usr/lib/wine/wine64 ]]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y gcc-mingw-w64-x86-64 wine64
    fi
fi
# Debian's wine64 package puts its loader here, outside PATH.
wine=/usr/lib/wine/wine64
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || [[ ! -x $wine ]]; then
    echo "error: MinGW or Wine is missing: run with --install (Debian: gcc-mingw-w64-x86-64, wine64)" >&2
    exit 1
fi

# A Wine prefix of our own, so that the user's is left alone.
export WINEPREFIX=$PWD/target/$target/wine WINEDEBUG=-all
if [[ ! -d $WINEPREFIX/drive_c/windows/system32 ]]; then
    "$wine" wineboot -i
fi
# Rust's standard library asks Windows for random bytes through ProcessPrng, in
# bcryptprimitives.dll; Wine before 8.13 (Debian 12 has 8.0) has no such library, and every
# program would stop before `main`. This stand-in forwards to bcrypt, which Wine has. (A Wine
# that has the library puts a file of that name in system32, which is left as it is.)
shim=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
if [[ ! -e $shim ]]; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    cat >"$scratch/shim.c" <<'EOF'
#include <windows.h>
#include <bcrypt.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
EOF
    printf 'LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n' >"$scratch/shim.def"
    x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" "$scratch/shim.c" "$scratch/shim.def" -lbcrypt
fi

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$wine
packages=()
for package in stage01-unbounded-spawn stage02-mutex-receiver-pool stage03-crossbeam-bounded \
    stage04-results stage05-panic-resilient stage06-sizing harness explorer; do
    packages+=(-p "$package")
done
cargo test --target "$target" --all-features "${packages[@]}"
