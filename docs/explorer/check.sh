#!/usr/bin/env bash
# Checks the explorer the way a room meets it: builds it, and check_browser.py opens its page in
# headless Chromium, refuses a bad value, runs stage 03 and checks what was drawn (lanes, tasks,
# the queue's gauge, the counters reaching the number of tasks), then the legend's colours and
# lines and the names a screen reader reads.
# With --install, installs what is missing first: as root on Debian, chromium and chromium-driver
# with apt-get. Any other arguments go to check_browser.py (--screenshot FILE).
# Run it from anywhere: bash docs/explorer/check.sh [--install] [--screenshot FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ ${1:-} == --install ]]; then
    shift
    bash docs/install-chromium.sh
fi

cargo build --quiet -p explorer
python3 docs/explorer/check_browser.py --explorer target/debug/explorer "$@"
