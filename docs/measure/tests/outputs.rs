//! Each stage's `output.txt` still shows what the stage prints at its defaults, in shape: the
//! numbers and the order of concurrent lines may differ, the kinds of lines may not.
//!
//! It builds every stage and runs each at its defaults, a second or more, so it is left out of
//! `cargo test --workspace`, which a reader runs first: `cargo test -p measure -- --ignored`
//! runs it, and CI does.

use std::process::Command;

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn every_output_txt_matches_what_its_stage_prints() {
    let output = Command::new(env!("CARGO_BIN_EXE_measure"))
        .args(["outputs", "--check"])
        .output()
        .expect("measure runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
