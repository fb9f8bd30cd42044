//! The demo binary: its report and summary line, and its answer to bad input.
//!
//! The checks every demo shares (bad input, closed pipes, unwritable files) live in
//! `harness::testing`; each stage lists them again here so that its tests read alone.

use harness::testing::{Demo, assert_summary_keys, stdout, timeline, timeline_rows, value, words};

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_02-mutex-receiver-pool"));

#[test]
fn each_prints_task_lines_the_submit_report_then_the_summary() {
    let args = words("--tasks 5 --workers 2 --task sleep:0ms --each");
    let output = DEMO.assert_runs(&args);
    let stdout = stdout(&output);
    let lines: Vec<_> = stdout.lines().collect();
    let [task_lines @ .., report, summary] = lines.as_slice() else {
        panic!("too few lines: {stdout}");
    };

    let mut ids: Vec<usize> = task_lines
        .iter()
        .map(|line| {
            let (id, worker) = line
                .strip_prefix("task ")
                .and_then(|rest| rest.split_once(" done on "))
                .unwrap_or_else(|| panic!("not a task line: {line}"));
            assert!(["worker-0", "worker-1"].contains(&worker), "{line}");
            id.parse().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
    assert!(report.starts_with("submitted 5 tasks in "), "{report}");
    assert_summary_keys(summary, &[]);
    assert!(
        summary.starts_with(
            "summary: stage=02 tasks=5 completed=5 panicked=0 workers=2 queue=- task=sleep:0ns "
        ),
        "{summary}"
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `--each`: far more lines than a pipe holds, so the demo is still writing when it closes.
    let args = ["--tasks", "20000", "--task", "sleep:0ns", "--each"];
    // No task is blamed: no worker died in `println!`, so `execute` never found the pool empty.
    DEMO.assert_closed_pipe_ends_quietly(&args, "task ", &[]);
}

#[test]
fn by_default_only_the_report_and_the_summary() {
    let stdout = stdout(&DEMO.assert_runs(&words("--tasks 40 --task sleep:0ms")));
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("submitted 40 tasks in "), "{stdout}");
}

#[test]
fn quiet_keeps_only_the_report_and_the_summary() {
    let quiet = [
        "--tasks",
        "40",
        "--workers",
        "3",
        "--task",
        "cpu:200us",
        "--quiet",
    ];
    let stdout = stdout(&DEMO.assert_runs(&quiet));
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let max: usize = value(lines[1], "max_in_flight").parse().unwrap();
    assert!((1..=3).contains(&max), "{}", lines[1]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    // `--each`: every task writes to the full stdout too.
    DEMO.assert_full_stdout_reported_once(&words("--tasks 40 --task sleep:1ms --each"), &[]);
}

#[test]
fn bad_input_exits_with_status_2_and_names_the_flag() {
    let cases: [(&[&str], &str); 9] = [
        (&["--workers", "0"], "'--workers <N>'"),
        (&["--tasks", "-1"], "'--tasks <N>'"),
        (&["--tasks", "abc"], "'--tasks <N>'"),
        (&["--tasks", "99999999999999999999999"], "'--tasks <N>'"),
        (&["--task", "cpu:"], "'--task <KIND:DURATION>'"),
        (&["--task", "gpu:1ms"], "'--task <KIND:DURATION>'"),
        (&["--task", "sleep:10parsecs"], "'--task <KIND:DURATION>'"),
        // The queue has no limit in this stage, so there is nothing to set.
        (&["--queue", "16"], "'--queue'"),
        (&["--bogus"], "'--bogus'"),
    ];
    for (args, flag) in cases {
        DEMO.assert_refused(args, &[flag]);
    }
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_is_explained_not_a_panic() {
    DEMO.assert_thread_refused(&["--tasks", "3"]);
}

#[test]
fn numbers_that_parse_but_cannot_run_are_refused_with_their_limit() {
    DEMO.assert_counts_refused_above_their_limits(&["--tasks", "--workers"]);
}

#[test]
fn more_workers_than_the_thread_limit_need_no_limit() {
    let escape = words("--workers 2 --no-limit --tasks 2 --task sleep:0ns");
    DEMO.assert_limited_unless_no_limit(&["--workers", "10001"], &escape);
}

#[test]
fn the_trace_has_a_span_per_task_on_the_workers_and_the_queue_depth() {
    let (_, trace) = DEMO.run_traced(&words("--tasks 20 --workers 2 --task sleep:1ms --quiet"));
    let threads = trace.assert_tasks(20, 2);
    assert!(
        threads.iter().all(|name| name.starts_with("worker-")),
        "{threads:?}"
    );
    // The queue has no limit, so the submitter never waits, but tasks do wait in the queue.
    assert!(trace.waits_on("main").is_empty());
    assert!(trace.queue_depth().iter().any(|&depth| depth > 0));
}

#[test]
fn the_timeline_has_a_row_per_worker_the_submitter_and_the_queue() {
    let args = words("--tasks 20 --workers 2 --task sleep:1ms --quiet --timeline");
    let stdout = stdout(&DEMO.assert_runs(&args));
    let rows = timeline_rows(&timeline(&stdout));
    assert_eq!(
        rows,
        ["worker-0", "worker-1", "submitter", "queue"],
        "{stdout}"
    );
}

#[test]
fn workers_without_a_task_still_have_a_row() {
    let args = words("--tasks 1 --workers 3 --task sleep:1ms --quiet --timeline");
    let stdout = stdout(&DEMO.assert_runs(&args));
    let timeline = timeline(&stdout);
    assert!(timeline[0].starts_with("timeline of stage 02: 1 task ran;"));
    assert_eq!(
        timeline_rows(&timeline),
        ["worker-0", "worker-1", "worker-2", "submitter", "queue"],
        "{stdout}"
    );
    // No queue bound: the submitter never waits, and never runs a task itself.
    assert!(
        timeline.contains(&"submitter: > handed tasks over"),
        "{stdout}"
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
