#!/usr/bin/env bash
# What CI checks for the workshop's exercises, so that none of them can rot:
#   - every starting point and solution is what generate.sh makes from the stage it is built on,
#     so an exercise cannot drift from its stage, and every change in a solution is marked;
#   - formatting, lints and docs, for the starting points and for the solutions;
#   - every starting point compiles, and its exercise test FAILS (an exercise must not come
#     solved);
#   - every solution passes its exercise test.
# Run it from anywhere: bash docs/workshop/check.sh
set -euo pipefail
cd "$(dirname "$0")"

bash generate.sh --check

cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps --quiet
RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps --all-features --quiet

# Build the starting points' tests once, so that a compile error is reported as one, and never
# mistaken below for the failing test we expect.
cargo test --locked --workspace --no-run --quiet

for manifest in ex*/Cargo.toml; do
    exercise=${manifest%/Cargo.toml}
    echo "== $exercise"

    cargo test --locked --quiet -p "$exercise" --features solution

    # The starting point's test must fail, and fail as a test, not as a build or a crash.
    if output=$(RUST_BACKTRACE=0 cargo test --locked --quiet -p "$exercise" 2>&1); then
        echo "$output"
        echo "error: the starting point of $exercise passes its test; it must fail until solved" >&2
        exit 1
    fi
    if ! grep -q '^test result: FAILED' <<<"$output"; then
        echo "$output"
        echo "error: the starting point of $exercise did not fail as a test" >&2
        exit 1
    fi
    echo "starting point fails its test, as it should:"
    grep -E '^    [a-z_0-9]+$' <<<"$output" | sed 's/^    /  failing: /'
done
echo "all exercises checked"
