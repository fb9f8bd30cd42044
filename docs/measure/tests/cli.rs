//! The command line of `measure`: the peers speak the stages' flags and summary line, and bad
//! input is refused with a one-line error and status 2.

use harness::testing::{Demo, last_line, words};

const MEASURE: Demo = Demo::new(env!("CARGO_BIN_EXE_measure"));

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
        let summary = last_line(&MEASURE.assert_runs(&words(&args)));
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
        MEASURE.assert_refused(args, &[flag]);
    }
}

/// Each stage's `output.txt` still shows what the stage prints at its defaults, in shape.
#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn every_output_txt_matches_what_its_stage_prints() {
    MEASURE.assert_runs(&["outputs", "--check"]);
}
