//! The demo's command line: defaults, the summary line, and clear errors for bad input.
//!
//! The checks every demo shares (bad input, closed pipes, unwritable files) live in
//! `harness::testing`; each stage lists them again here so that its tests read alone.

use harness::testing::{
    Demo, assert_summary_keys, last_line, stdout, timeline, timeline_rows, value, words,
};

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_03-crossbeam-bounded"));

#[test]
fn summary_is_the_last_line_with_every_key_in_order() {
    let output = DEMO.assert_runs(&[
        "--tasks",
        "12",
        "--workers",
        "3",
        "--queue",
        "2",
        "--task",
        "sleep:1ms",
        "--quiet",
    ]);
    let summary = last_line(&output);
    assert_summary_keys(&summary, &["rejected", "ran_in_caller"]);
    assert!(summary.starts_with(
        "summary: stage=03 tasks=12 completed=12 panicked=0 workers=3 queue=2 task=sleep:1ms "
    ));
    assert!(summary.contains(" ideal_ms=4.0 "), "{summary}");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `--each`: far more lines than a pipe holds, so the demo is still writing when it closes.
    let args = ["--tasks", "20000", "--task", "sleep:0ns", "--each"];
    // No task is blamed: no worker died in `println!`, and every task was submitted.
    DEMO.assert_closed_pipe_ends_quietly(&args, "task ", &[]);
}

#[test]
fn max_in_flight_never_exceeds_the_workers() {
    let quiet = [
        "--tasks",
        "40",
        "--workers",
        "3",
        "--task",
        "cpu:200us",
        "--quiet",
    ];
    let summary = last_line(&DEMO.run(&quiet));
    let max: usize = value(&summary, "max_in_flight")
        .parse()
        .expect("max_in_flight is a number");
    assert!((1..=3).contains(&max), "{summary}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    let policies = [
        &["--policy", "block"][..],
        &["--policy", "caller-runs", "--queue", "0"],
    ];
    for policy in policies {
        // `--each`: every task writes to the full stdout too.
        let mut args = vec!["--tasks", "40", "--task", "sleep:1ms", "--each"];
        args.extend_from_slice(policy);
        DEMO.assert_full_stdout_reported_once(&args, &[]);
    }
}

#[test]
fn per_task_lines_only_with_each() {
    let task_lines = |stdout: &str| {
        stdout
            .lines()
            .filter(|line| line.starts_with("task "))
            .count()
    };
    let each = stdout(&DEMO.assert_runs(&["--tasks", "5", "--task", "sleep:0ms", "--each"]));
    assert_eq!(task_lines(&each), 5, "{each}");
    assert!(each.contains("submit"), "no backpressure report in {each}");
    // By default: the backpressure report and the summary, which a line per task would bury.
    let default = stdout(&DEMO.assert_runs(&["--tasks", "5", "--task", "sleep:0ms"]));
    assert_eq!(task_lines(&default), 0, "{default}");
    assert!(default.starts_with("backpressure: "), "{default}");
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_is_explained_not_a_panic() {
    DEMO.assert_thread_refused(&["--tasks", "3"]);
}

#[test]
fn bad_input_exits_2_and_names_the_flag() {
    let cases: [(&[&str], &str); 11] = [
        (&["--workers", "0"], "--workers"),
        (&["--tasks", "-1"], "--tasks"),
        (&["--tasks", "abc"], "--tasks"),
        (&["--tasks", "99999999999999999999999"], "--tasks"),
        (&["--queue", "-3"], "--queue"),
        (&["--task", "cpu:"], "--task"),
        (&["--task", "gpu:1ms"], "--task"),
        (&["--task", "sleep:10parsecs"], "--task"),
        (&["--policy", "drop"], "--policy"),
        (&["--policy", "timeout:soon"], "--policy"),
        (&["--bogus"], "--bogus"),
    ];
    for (args, flag) in cases {
        DEMO.assert_refused(args, &[flag]);
    }
}

#[test]
fn numbers_that_parse_but_cannot_run_are_refused_with_their_limit() {
    // crossbeam would allocate every slot up front: 2.4 TB for a queue of 10^11.
    DEMO.assert_counts_refused_above_their_limits(&["--queue", "--tasks", "--workers"]);
    // The largest values allowed still parse: a queue of a million slots runs.
    DEMO.assert_runs(&["--tasks", "2", "--queue", "1000000", "--task", "sleep:0ns"]);
}

#[test]
fn more_workers_than_the_thread_limit_need_no_limit() {
    let escape = words("--workers 2 --no-limit --tasks 2 --task sleep:0ns");
    DEMO.assert_limited_unless_no_limit(&["--workers", "10001"], &escape);
}

#[test]
fn the_trace_shows_the_tasks_the_waits_for_a_slot_and_the_queue_depth() {
    let args = words("--tasks 40 --workers 2 --queue 4 --task sleep:1ms --quiet");
    let (_, trace) = DEMO.run_traced(&args);
    let threads = trace.assert_tasks(40, 2);
    assert!(
        threads.iter().all(|name| name.starts_with("worker-")),
        "{threads:?}"
    );
    // 40 tasks, 2 workers and 4 slots: the submitter must have waited for a slot.
    let waits = trace.waits_on("main");
    assert!(!waits.is_empty() && waits.iter().all(|name| name == "wait for a queue slot"));
    let depth = trace.queue_depth();
    assert!(
        depth.contains(&4) && depth.iter().all(|&depth| depth <= 4),
        "{depth:?}"
    );
}

#[test]
fn under_caller_runs_the_submitter_has_a_track_of_tasks_too() {
    let args =
        words("--tasks 30 --workers 2 --queue 0 --task sleep:1ms --policy caller-runs --quiet");
    let (output, trace) = DEMO.run_traced(&args);
    let threads = trace.assert_tasks(30, 3);
    let ran_in_caller: usize = value(&last_line(&output), "ran_in_caller").parse().unwrap();
    assert_eq!(trace.tasks_on("main"), ran_in_caller, "{threads:?}");
}

#[test]
fn the_timeline_shows_the_workers_the_submitter_and_the_queue() {
    // The command, with tasks of 2 ms rather than 10 to keep the test short.
    let args = words("--tasks 40 --workers 2 --queue 4 --task sleep:2ms --timeline");
    let output = DEMO.assert_runs(&args);
    let stdout = stdout(&output);
    let rows = timeline_rows(&timeline(&stdout));
    assert_eq!(
        rows,
        ["worker-0", "worker-1", "submitter", "queue"],
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

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_with_an_unwritable_stderr_is_not_a_panic() {
    DEMO.assert_thread_refused_with_unwritable_stderr(&words("--tasks 3"), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_and_stderr_end_with_status_1_not_a_panic() {
    DEMO.assert_full_stdout_and_stderr_end_with_status_1(&words("--tasks 20 --task sleep:0ns"));
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
