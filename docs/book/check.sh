#!/usr/bin/env bash
# Builds the book with the pinned mdBook and checks it the way a reader meets it:
#   - mdBook reports no error (a missing {{#include}} file is only logged, so its log is read);
#   - check_links.py: every relative link and picture of every page resolves in the built book
#     (a folder whose README is a chapter is linked by that README), no directive is left
#     unexpanded, every heading of each included README is shown, and each stage's chapter has
#     all of its src/, its output.txt and its timelines;
#   - check_browser.py: headless Chromium opens stage 03's chapter and sees its title, the pool's
#     code, its timeline loaded and the six stages in the sidebar.
# With --install, installs what is missing first: mdBook with cargo (about 2 minutes on 2 cores)
# and, as root on Debian, chromium and chromium-driver with apt-get.
# Run it from anywhere: bash docs/book/check.sh [--install]
set -euo pipefail
cd "$(dirname "$0")"

MDBOOK_VERSION=0.5.4
export PATH="$HOME/.cargo/bin:$PATH"

if [[ ${1:-} == --install ]]; then
    if [[ $(mdbook --version 2>/dev/null) != "mdbook v$MDBOOK_VERSION" ]]; then
        cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features --features search
    fi
    bash ../install-chromium.sh
fi

if [[ $(mdbook --version 2>/dev/null) != "mdbook v$MDBOOK_VERSION" ]]; then
    echo "error: needs mdbook $MDBOOK_VERSION: cargo install mdbook --version $MDBOOK_VERSION --locked" \
        "--no-default-features --features search (or run this with --install)" >&2
    exit 1
fi

rm -rf book
log=$(mdbook build 2>&1) || { echo "$log" >&2; exit 1; }
if grep -E '^ *(ERROR|WARN)' <<<"$log" >&2; then
    echo "error: mdbook build reported the problems above" >&2
    exit 1
fi
python3 check_links.py
python3 check_browser.py
