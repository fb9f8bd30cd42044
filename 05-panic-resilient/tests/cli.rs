//! The demo's command line: panics counted and reported, every worker still alive, the checksum
//! of the tasks that did not panic, and clear errors for bad input.
//!
//! The checks every demo shares (bad input, closed pipes, unwritable files) live in
//! `harness::testing`; each stage lists them again here so that its tests read alone.

use harness::testing::{
    Demo, assert_summary_keys, last_line, stderr, stdout, timeline, timeline_rows, value, words,
};

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_05-panic-resilient"));

/// The sum of `i * i` over the tasks that do not panic under `--panic-every every`.
fn expected_checksum(tasks: u64, every: u64) -> u64 {
    (0..tasks).filter(|i| i % every != 0).map(|i| i * i).sum()
}

#[test]
fn defaults_panic_once_and_keep_every_worker() {
    let output = DEMO.run(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = last_line(&output);
    assert_summary_keys(&summary, &["checksum", "active_workers"]);
    assert!(summary.starts_with(
        "summary: stage=05 tasks=11 completed=10 panicked=1 workers=4 queue=8 task=sleep:100ms "
    ));
    assert_eq!(value(&summary, "checksum"), "385");
    assert_eq!(value(&summary, "active_workers"), "4");

    let text = stdout(&output);
    assert!(
        text.contains("results in submission order: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"panicked: 1 of 11 tasks, caught and isolated; task 0: "task 0 failed on purpose""#
        ),
        "{text}"
    );
    // A line per panic is on request (`--each`): the `panicked:` line accounts for it.
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn each_prints_a_line_per_task_and_one_short_line_per_panic() {
    let output = DEMO.assert_runs(&["--each"]);
    let text = stdout(&output);
    let task_lines = text
        .lines()
        .filter(|line| line.starts_with("task "))
        .count();
    assert_eq!(task_lines, 10, "the ten tasks that returned: {text}");
    // The demo's panic hook: one short line per panic, no location or backtrace note.
    let errors = stderr(&output);
    let panic_lines: Vec<&str> = errors.lines().collect();
    assert_eq!(panic_lines.len(), 1, "{errors}");
    assert!(
        panic_lines[0].starts_with("worker-")
            && panic_lines[0].ends_with(": task panicked: task 0 failed on purpose"),
        "{errors}"
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `--each`: far more lines than a pipe holds, so the demo is still writing when it closes.
    let args = ["--tasks", "20000", "--task", "sleep:0ns", "--each"];
    // Only the planned panic of task 0 is reported: no task panicked in `println!`.
    let planned = ": task panicked: task 0 failed on purpose";
    let stderr = DEMO.assert_closed_pipe_ends_quietly(&args, "task ", &[planned]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn every_tenth_task_panics_and_the_rest_complete() {
    let output = DEMO.run(&[
        "--tasks",
        "1000",
        "--panic-every",
        "10",
        "--task",
        "sleep:0ns",
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).is_empty(),
        "without --each, the panic hook still printed panics"
    );
    let summary = last_line(&output);
    assert_eq!(value(&summary, "completed"), "900");
    assert_eq!(value(&summary, "panicked"), "100");
    assert_eq!(value(&summary, "active_workers"), "4");
    assert_eq!(
        value(&summary, "checksum"),
        expected_checksum(1000, 10).to_string()
    );
    // Even quiet, the panics are accounted for.
    assert!(
        stdout(&output).contains("panicked: 100 of 1000 tasks, caught and isolated; task 0: "),
        "{}",
        stdout(&output)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    // `--each`: every task writes to the full stdout too.
    let args = ["--tasks", "40", "--task", "sleep:1ms", "--each"];
    DEMO.assert_full_stdout_reported_once(&args, &["task 0 failed on purpose"]);
}

#[test]
fn as_completed_gets_every_value_that_was_not_lost_to_a_panic() {
    let output = DEMO.run(&[
        "--tasks",
        "30",
        "--panic-every",
        "3",
        "--task",
        "cpu:100us",
        "--workers",
        "3",
        "--as-completed",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("results in completion order: "))
        .unwrap_or_else(|| panic!("no results line in {text}"));
    let mut results: Vec<u64> = line
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|n| n.parse().expect("a result is a number"))
        .collect();
    results.sort_unstable();
    let expected: Vec<u64> = (0..30).filter(|i| i % 3 != 0).map(|i| i * i).collect();
    assert_eq!(results, expected);
    let summary = last_line(&output);
    assert_eq!(value(&summary, "panicked"), "10");
    assert_eq!(value(&summary, "active_workers"), "3");
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_is_explained_not_a_panic() {
    DEMO.assert_thread_refused(&["--tasks", "3"]);
}

#[test]
fn bad_input_exits_2_and_names_the_flag() {
    let cases: [(&[&str], &str); 8] = [
        (&["--workers", "0"], "--workers"),
        (&["--tasks", "-1"], "--tasks"),
        (&["--queue", "-3"], "--queue"),
        (&["--task", "gpu:1ms"], "--task"),
        (&["--panic-every", "0"], "--panic-every"),
        (&["--panic-every", "-2"], "--panic-every"),
        // Stage 03's `--policy` is gone: this pool's `submit` can only wait for a slot.
        (&["--policy", "block"], "--policy"),
        (&["--policy", "reject"], "--policy"),
    ];
    for (args, flag) in cases {
        DEMO.assert_refused(args, &[flag]);
    }
}

#[test]
fn more_workers_than_the_thread_limit_need_no_limit() {
    let escape = words("--workers 2 --no-limit --tasks 2 --task sleep:0ns");
    DEMO.assert_limited_unless_no_limit(&["--workers", "10001"], &escape);
}

#[test]
fn numbers_that_parse_but_cannot_run_are_refused_with_their_limit() {
    DEMO.assert_counts_refused_above_their_limits(&["--tasks", "--queue", "--workers"]);
}

#[test]
fn the_trace_shows_every_task_its_panics_and_the_queue_depth() {
    let args = words("--tasks 20 --workers 2 --queue 2 --task sleep:1ms --panic-every 5 --quiet");
    let (output, trace) = DEMO.run_traced(&args);
    let threads = trace.assert_tasks(20, 2);
    assert!(
        threads.iter().all(|name| name.starts_with("worker-")),
        "{threads:?}"
    );
    assert_eq!(value(&last_line(&output), "panicked"), "4");
    // Tasks 0, 5, 10 and 15 panicked: an instant each, on the worker that ran them.
    let panics = trace.panics();
    let tasks: Vec<usize> = panics.iter().map(|(task, _)| *task).collect();
    assert_eq!(tasks, [0, 5, 10, 15], "{panics:?}");
    assert!(
        panics
            .iter()
            .all(|(_, thread)| thread.starts_with("worker-")),
        "{panics:?}"
    );
    assert_eq!(trace.waits_on("main").len(), 20);
    assert!(!trace.queue_depth().is_empty());
}

#[test]
fn the_timeline_shows_the_workers_the_submitter_and_the_queue() {
    let args = words("--tasks 20 --workers 2 --queue 2 --task sleep:1ms --quiet --timeline");
    let stdout = stdout(&DEMO.assert_runs(&args));
    let timeline = timeline(&stdout);
    assert_eq!(
        timeline_rows(&timeline),
        ["worker-0", "worker-1", "submitter", "queue"]
    );
    // Task 0 panics: its worker's row says so.
    assert!(
        timeline
            .iter()
            .any(|line| line.starts_with("worker-") && line.contains('!'))
    );
}

#[test]
fn a_trace_that_cannot_be_written_stops_the_run_before_it_starts() {
    DEMO.assert_unwritable_trace_refused(&["--tasks", "5"]);
}

/// A trace to `/dev/full` cannot be written: the demo says so on stderr, and ends with status 1.
#[cfg(target_os = "linux")]
#[test]
fn a_stderr_that_cannot_be_written_loses_only_its_messages() {
    let args = words("--tasks 3 --task sleep:0ns --quiet --trace /dev/full");
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
