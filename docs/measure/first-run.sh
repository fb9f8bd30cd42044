#!/usr/bin/env bash
# Times a learner's first two commands from a fresh clone, as the top-level README quotes them:
# the first `cargo run`, then `cargo test --workspace`, then the tests once more, warm.
#
#   bash docs/measure/first-run.sh [REPO]    # REPO defaults to this checkout's committed HEAD
#
# It clones REPO into a temporary folder with a target/ of its own, so nothing is compiled yet.
# Crates already in cargo's download cache are not fetched again: the figures leave out a first
# download, which depends on the network rather than on the machine. Run it on an idle machine.
set -euo pipefail

repo=${1:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git clone --quiet "$repo" "$scratch/clone"
cd "$scratch/clone"
unset CARGO_TARGET_DIR

# Prints the seconds, to a tenth, that the command given as arguments took.
seconds() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }'
}

run=$(seconds cargo run --bin 01-unbounded-spawn)
tests=$(seconds cargo test --workspace)
warm=$(seconds cargo test --workspace)

os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -s)
echo "machine: $(nproc) cores, $os, $(rustc --version | cut -d' ' -f1-2), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "fresh clone, cargo run --bin 01-unbounded-spawn: $run s"
echo "then cargo test --workspace: $tests s"
echo "cargo test --workspace again: $warm s"
