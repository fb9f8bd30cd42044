//! The demo binary: its summary line, its answer to bad input, and its safety limit.
//!
//! The checks every demo shares (bad input, closed pipes, unwritable files) live in
//! `harness::testing`; each stage lists them again here so that its tests read alone.

use harness::testing::{
    Demo, assert_summary_keys, last_line, stdout, timeline, timeline_rows, words,
};

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_01-unbounded-spawn"));

#[test]
fn each_prints_a_line_per_task_then_the_summary() {
    let output = DEMO.assert_runs(&["--tasks", "5", "--task", "sleep:0ms", "--each"]);
    let stdout = stdout(&output);
    let mut lines: Vec<_> = stdout.lines().collect();
    let summary = lines.pop().expect("a summary line");
    lines.sort();
    let expected: Vec<_> = (0..5)
        .map(|id| format!("task {id} done on task-{id}"))
        .collect();
    assert_eq!(lines, expected);
    assert_summary_keys(summary, &[]);
    assert!(
        summary.starts_with(
            "summary: stage=01 tasks=5 completed=5 panicked=0 workers=- queue=- task=sleep:0ns "
        ),
        "{summary}"
    );
}

#[test]
fn by_default_a_thousand_threads_print_only_the_summary() {
    let output = DEMO.assert_runs(&["--task", "sleep:0ms"]);
    let stdout = stdout(&output);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("summary: stage=01 tasks=1000 completed=1000 "));
}

#[test]
fn quiet_prints_only_the_summary() {
    let output = DEMO.assert_runs(&["--tasks", "5", "--task", "cpu:0ms", "--quiet"]);
    let stdout = stdout(&output);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("summary: stage=01 tasks=5 completed=5 "));
}

#[test]
fn bad_input_exits_with_status_2_and_names_the_flag() {
    let cases: [(&[&str], &str); 11] = [
        (&["--tasks", "-1"], "'--tasks <N>'"),
        (&["--tasks", "abc"], "'--tasks <N>'"),
        (&["--tasks", "0"], "'--tasks <N>'"),
        (&["--tasks", "99999999999999999999999"], "'--tasks <N>'"),
        // Above the most tasks any demo runs: refused even with `--no-limit`.
        (
            &["--tasks", "18446744073709551615", "--no-limit"],
            "at most 10000000",
        ),
        (&["--tasks", "10000001", "--no-limit"], "at most 10000000"),
        (&["--task", "cpu:"], "'--task <KIND:DURATION>'"),
        (&["--task", "gpu:1ms"], "'--task <KIND:DURATION>'"),
        (&["--task", "sleep:10parsecs"], "'--task <KIND:DURATION>'"),
        // This stage has no pool, so it has no workers to count.
        (&["--workers", "0"], "'--workers'"),
        (&["--bogus"], "'--bogus'"),
    ];
    for (args, flag) in cases {
        DEMO.assert_refused(args, &[flag]);
    }
}

#[test]
fn more_than_10000_tasks_are_refused_before_any_thread_starts() {
    // A run that started tasks ends with a summary; nothing printed means nothing ran.
    let stderr = DEMO.assert_refused(
        &["--tasks", "10001", "--task", "sleep:0ms"],
        &["--tasks 10001", "--no-limit"],
    );
    assert!(
        stderr.contains("50,000"),
        "the refusal says what 50,000 would do"
    );
    // It points at the measurements, and never prints the harmful command ready to paste.
    assert!(stderr.contains("IO at scale"), "{stderr}");
    assert!(!stderr.contains("--tasks 50000"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    // `--each`: every task writes to the full stdout too.
    DEMO.assert_full_stdout_reported_once(&words("--tasks 5 --task sleep:1ms --each"), &[]);
}

#[test]
fn the_trace_has_a_span_per_task_each_on_its_own_thread() {
    let (_, trace) = DEMO.run_traced(&words("--tasks 20 --task sleep:1ms --quiet"));
    let threads = trace.assert_tasks(20, 20);
    // A thread per task, named after it, and no queue.
    assert_eq!(threads.len(), 20, "{threads:?}");
    assert!(
        threads.iter().all(|name| name.starts_with("task-")),
        "{threads:?}"
    );
    assert!(trace.queue_depth().is_empty());
}

#[test]
fn the_timeline_counts_the_live_threads() {
    let output = DEMO.assert_runs(&words("--tasks 20 --task sleep:1ms --quiet --timeline"));
    let stdout = stdout(&output);
    let timeline = timeline(&stdout);
    assert_eq!(
        timeline_rows(&timeline),
        ["threads", "submitter"],
        "{stdout}"
    );
    // The summary stays the last line.
    assert!(last_line(&output).starts_with("summary: "), "{stdout}");
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

/// Linux and Windows only: see `Demo::assert_thread_refused`. Here no task's thread starts: the
/// demo says so on stderr, and still ends with its summary and status 1.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_thread_with_an_unwritable_stderr_still_ends_with_the_summary() {
    use harness::testing::Stream;

    let args = ["--tasks", "3"];
    DEMO.assert_thread_refused_with_unwritable_stderr(&args, 1);
    let command = DEMO.command_without_threads(&args);
    let output = DEMO.run_into(command, Stream::Read, Stream::Closed);
    let summary = last_line(&output);
    assert!(
        summary.starts_with("summary: stage=01 tasks=3 completed=0 "),
        "{summary}"
    );
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
