//! Each stage's `output.txt` still shows what the stage prints at its defaults, in shape: the
//! numbers and the order of concurrent lines may differ, the kinds of lines may not.

use std::process::Command;

#[test]
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
