//! The demo's command line: results in both orders, the checksum, a lost result, and clear errors
//! for bad input.
//!
//! The checks every demo shares (bad input, closed pipes, unwritable files) live in
//! `harness::testing`; each stage lists them again here so that its tests read alone.

use harness::testing::{
    Demo, assert_summary_keys, last_line, stderr, stdout, timeline, timeline_rows, value, words,
};
use std::process::Output;

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_04-results"));

/// The list printed after `label`, e.g. `[0, 1, 4]`, as numbers.
fn results_after(output: &Output, label: &str) -> Vec<u64> {
    let text = stdout(output);
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .unwrap_or_else(|| panic!("no '{label}' line in {text}"));
    line.trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().expect("a result is a number"))
        .collect()
}

fn sum_of_squares(tasks: u64) -> u64 {
    (0..tasks).map(|i| i * i).sum()
}

#[test]
fn defaults_print_the_squares_in_submission_order_and_their_checksum() {
    let output = DEMO.run(&[]);
    assert!(output.status.success());
    assert_eq!(
        results_after(&output, "results in submission order: "),
        [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
    );
    let summary = last_line(&output);
    assert_summary_keys(&summary, &["checksum"]);
    assert!(summary.starts_with(
        "summary: stage=04 tasks=10 completed=10 panicked=0 workers=4 queue=8 task=sleep:100ms "
    ));
    assert_eq!(value(&summary, "checksum"), "285");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `--each`: far more lines than a pipe holds, so the demo is still writing when it closes.
    let args = ["--tasks", "20000", "--task", "sleep:0ns", "--each"];
    // No task is blamed: no worker died in `println!`, and no result was lost.
    DEMO.assert_closed_pipe_ends_quietly(&args, "task ", &[]);
}

#[test]
fn the_checksum_accounts_for_every_result() {
    let output = DEMO.run(&["--tasks", "1000", "--task", "sleep:0ns", "--quiet"]);
    assert!(output.status.success());
    assert!(
        !stdout(&output).contains("results in"),
        "--quiet still printed the results"
    );
    let summary = last_line(&output);
    assert_eq!(value(&summary, "completed"), "1000");
    assert_eq!(value(&summary, "checksum"), "332833500");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    // `--each`: every task writes to the full stdout too.
    let args = ["--tasks", "40", "--task", "sleep:1ms", "--each"];
    DEMO.assert_full_stdout_reported_once(&args, &[]);
}

#[test]
fn as_completed_collects_every_result_in_the_order_they_arrive() {
    let output = DEMO.run(&[
        "--tasks",
        "40",
        "--task",
        "cpu:100us",
        "--workers",
        "3",
        "--as-completed",
    ]);
    assert!(output.status.success());
    let mut results = results_after(&output, "results in completion order: ");
    results.sort_unstable();
    let expected: Vec<u64> = (0..40).map(|i| i * i).collect();
    assert_eq!(results, expected, "a result is missing or duplicated");
    let summary = last_line(&output);
    assert_eq!(value(&summary, "checksum"), sum_of_squares(40).to_string());
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_is_explained_not_a_panic() {
    DEMO.assert_thread_refused(&["--tasks", "3"]);
}

#[test]
fn a_panicking_task_is_reported_as_a_lost_result_in_both_orders() {
    for order in [&[][..], &["--as-completed"][..]] {
        let mut args = vec!["--tasks", "10", "--task", "sleep:0ns", "--panic-task", "3"];
        args.extend_from_slice(order);
        let output = DEMO.run(&args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: task 3 lost its result: the task panicked"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("stage 05"), "{args:?}: {stderr}");

        let summary = last_line(&output);
        assert_eq!(value(&summary, "completed"), "9", "{summary}");
        assert_eq!(value(&summary, "panicked"), "1", "{summary}");
        let checksum = sum_of_squares(10) - 3 * 3;
        assert_eq!(value(&summary, "checksum"), checksum.to_string());
    }
}

#[test]
fn bad_input_exits_2_and_names_the_flag() {
    let cases: [(&[&str], &str); 10] = [
        (&["--workers", "0"], "--workers"),
        (&["--tasks", "-1"], "--tasks"),
        (&["--queue", "-3"], "--queue"),
        (&["--task", "gpu:1ms"], "--task"),
        (&["--panic-task", "-1"], "--panic-task"),
        (&["--panic-task", "x"], "--panic-task"),
        (&["--panic-task", "10"], "--panic-task"),
        (&["--tasks", "3", "--panic-task", "3"], "--panic-task"),
        // Stage 03's `--policy` is gone: this pool's `submit` can only wait for a slot.
        (&["--policy", "block"], "--policy"),
        (&["--policy", "reject"], "--policy"),
    ];
    for (args, flag) in cases {
        DEMO.assert_refused(args, &[flag]);
    }
}

#[test]
fn numbers_that_parse_but_cannot_run_are_refused_with_their_limit() {
    DEMO.assert_counts_refused_above_their_limits(&["--tasks", "--queue", "--workers"]);
}

#[test]
fn more_workers_than_the_thread_limit_need_no_limit() {
    let escape = words("--workers 2 --no-limit --tasks 2 --task sleep:0ns");
    DEMO.assert_limited_unless_no_limit(&["--workers", "10001"], &escape);
}

#[test]
fn a_run_with_no_worker_left_still_ends_with_its_summary() {
    for order in [&[][..], &["--as-completed"][..]] {
        // The only worker dies on task 0, and the queue holds 8: submitting must stop early.
        let run_of_20 = "--quiet --panic-task 0 --workers 1 --tasks 20 --task sleep:1ms";
        let mut args = words(run_of_20);
        args.extend_from_slice(order);
        let output = DEMO.run(&args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("were not submitted"), "{args:?}: {stderr}");
        let summary = last_line(&output);
        assert!(
            summary.starts_with("summary: stage=04 tasks=20 completed=0 panicked=1 "),
            "{args:?}: {summary}"
        );
    }
}

#[test]
fn the_trace_shows_the_tasks_the_submit_calls_and_the_queue_depth() {
    for order in ["", " --as-completed"] {
        let args = format!("--tasks 20 --workers 2 --queue 2 --task sleep:1ms --quiet{order}");
        let (_, trace) = DEMO.run_traced(&words(&args));
        let threads = trace.assert_tasks(20, 2);
        assert!(
            threads.iter().all(|name| name.starts_with("worker-")),
            "{threads:?}"
        );
        // One span per call to `submit`, which waits inside while the queue is full.
        let waits = trace.waits_on("main");
        assert_eq!(waits.len(), 20, "{waits:?}");
        assert!(!trace.queue_depth().is_empty());
    }
}

#[test]
fn the_timeline_shows_the_workers_the_submitter_and_the_queue() {
    let args = words("--tasks 20 --workers 2 --queue 2 --task sleep:1ms --quiet --timeline");
    let stdout = stdout(&DEMO.assert_runs(&args));
    let rows = timeline_rows(&timeline(&stdout));
    assert_eq!(
        rows,
        ["worker-0", "worker-1", "submitter", "queue"],
        "{stdout}"
    );
}

#[test]
fn a_trace_that_cannot_be_written_stops_the_run_before_it_starts() {
    DEMO.assert_unwritable_trace_refused(&["--tasks", "5"]);
}

/// The only worker dies on task 0: the demo says on stderr which results were lost, and ends
/// with status 1.
#[cfg(target_os = "linux")]
#[test]
fn a_stderr_that_cannot_be_written_loses_only_its_messages() {
    let args = words("--quiet --panic-task 0 --workers 1 --tasks 20 --task sleep:0ns");
    DEMO.assert_unwritable_stderr_loses_only_messages(&args, 1);
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_with_an_unwritable_stderr_is_not_a_panic() {
    DEMO.assert_thread_refused_with_unwritable_stderr(&words("--tasks 3"), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_and_stderr_end_with_status_1_not_a_panic() {
    DEMO.assert_full_stdout_and_stderr_end_with_status_1(&words("--tasks 3 --task sleep:0ns"));
}

#[cfg(any(unix, windows))]
#[test]
fn a_trace_into_the_file_stdout_goes_to_is_refused_by_any_name() {
    DEMO.assert_trace_into_stdout_refused(&words("--tasks 5"));
}

#[cfg(any(unix, windows))]
#[test]
fn a_trace_into_the_file_stderr_goes_to_is_refused() {
    DEMO.assert_trace_into_stderr_refused(&words("--tasks 5"));
}
