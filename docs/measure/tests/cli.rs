//! The command line of `measure`: the peers speak the stages' flags and summary line, and bad
//! input is refused with a one-line error and status 2.

use std::process::{Command, Output};

fn measure(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_measure"))
        .args(args)
        .output()
        .expect("measure runs")
}

#[test]
fn every_peer_prints_the_stages_summary_line() {
    for peer in [
        "sequential",
        "threadpool",
        "rayon-scope",
        "rayon-par-iter",
        "tokio",
    ] {
        // The sequential peer runs one task at a time on the calling thread: no --workers.
        let workers = if peer == "sequential" { 1 } else { 3 };
        let flag = if workers == 1 { "" } else { " --workers 3" };
        let args = format!("peer {peer} --tasks 12 --task sleep:1ms --quiet{flag}");
        let output = measure(&args.split(' ').collect::<Vec<_>>());
        assert!(output.status.success(), "{peer} failed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary = stdout.lines().last().unwrap_or_default();
        let expected = format!(
            "summary: stage={peer} tasks=12 completed=12 panicked=0 workers={workers} queue=- \
             task=sleep:1ms "
        );
        assert!(summary.starts_with(&expected), "{summary}");
        // tokio's sleeping tasks do not hold a worker, so only the thread pools are bounded.
        let parsed: harness::Summary = summary.parse().expect("a summary line");
        let bounded = peer == "tokio" || parsed.max_in_flight <= workers;
        assert!(bounded, "{summary}");
    }
}

#[test]
fn bad_input_exits_2_and_names_the_flag() {
    let cases: [(&[&str], &str); 7] = [
        (&["peer", "tokio", "--tasks", "0"], "--tasks"),
        (&["peer", "rayon-scope", "--timeline"], "--timeline"),
        (&["peer", "threadpool", "--trace", "peer.json"], "--trace"),
        (&["peer", "threadpool", "--task", "gpu:1ms"], "--task"),
        (&["peer", "sequential", "--workers", "2"], "--workers"),
        (&["--quick", "--include-50k"], "--include-50k"),
        (&["--scenario", "everything"], "--scenario"),
    ];
    for (args, flag) in cases {
        let output = measure(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
        let named = stderr.contains(flag);
        assert!(named, "{args:?} should name {flag}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Each stage's `output.txt` still shows what the stage prints at its defaults, in shape.
#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn every_output_txt_matches_what_its_stage_prints() {
    let output = measure(&["outputs", "--check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
}
