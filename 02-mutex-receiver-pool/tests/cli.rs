//! The demo binary: its report and summary line, and its answer to bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_02-mutex-receiver-pool"));
    command.args(args);
    command
}

fn run(args: &[&str]) -> Output {
    demo(args).output().expect("the demo binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// The value of `key` in a `summary:` line.
fn value<'a>(summary: &'a str, key: &str) -> &'a str {
    summary
        .split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {summary}"))
}

#[test]
fn prints_task_lines_the_submit_report_then_the_summary() {
    let output = run(&["--tasks", "5", "--workers", "2", "--task", "sleep:0ms"]);
    assert!(output.status.success());
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
    let keys: Vec<_> = summary
        .trim_start_matches("summary: ")
        .split(' ')
        .map(|pair| pair.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "stage",
            "tasks",
            "completed",
            "panicked",
            "workers",
            "queue",
            "task",
            "elapsed_ms",
            "ideal_ms",
            "tasks_per_s",
            "max_in_flight",
        ]
    );
    assert!(
        summary.starts_with(
            "summary: stage=02 tasks=5 completed=5 panicked=0 workers=2 queue=- task=sleep:0ns "
        ),
        "{summary}"
    );
}

#[test]
fn quiet_keeps_only_the_report_and_the_summary() {
    let output = run(&[
        "--tasks",
        "40",
        "--workers",
        "3",
        "--task",
        "cpu:200us",
        "--quiet",
    ]);
    assert!(output.status.success());
    let stdout = stdout(&output);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let max: usize = value(lines[1], "max_in_flight").parse().unwrap();
    assert!((1..=3).contains(&max), "{}", lines[1]);
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
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first_line = stderr.lines().next().unwrap_or_default();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(first_line.starts_with("error: "), "{args:?}: {stderr}");
        assert!(first_line.contains(flag), "{args:?}: {first_line}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} ran anyway");
    }
}

/// Runs the demo with `args` where no thread can start: std maps a stack of `RUST_MIN_STACK`
/// bytes for every thread that sets no size of its own, and a petabyte cannot be mapped. For the
/// checks that must stop a run before its first thread: if one breaks, the test fails without
/// starting thousands of threads.
fn run_without_threads(args: &[&str]) -> Output {
    demo(args)
        .env("RUST_MIN_STACK", (1_u64 << 50).to_string())
        .output()
        .expect("the demo binary runs")
}

/// Runs the demo with `args` and asserts that it stopped at status 2 with a one-line error that
/// contains each of `expected`, before printing anything.
fn assert_refused(args: &[&str], expected: &[&str]) {
    let output = run_without_threads(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{args:?}: {stderr}");
    for text in expected {
        assert!(first.contains(text), "{args:?}: {first}");
    }
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?} ran anyway");
}

#[test]
fn numbers_that_parse_but_cannot_run_are_refused_with_their_limit() {
    for tasks in ["18446744073709551615", "10000001"] {
        assert_refused(&["--tasks", tasks], &["'--tasks <N>'", "at most 10000000"]);
    }
    assert_refused(
        &["--workers", "18446744073709551615", "--no-limit"],
        &["'--workers <N>'", "at most 10000000"],
    );
}

#[test]
fn more_workers_than_the_thread_limit_need_no_limit() {
    // Refused before any thread starts; the explanation is stage 01's, from the harness.
    assert_refused(
        &["--workers", "10001"],
        &["--workers 10001", "10000", "--no-limit"],
    );
    let refused = run_without_threads(&["--workers", "10001"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("kernel.pid_max") && stderr.contains("IO at scale"),
        "{stderr}"
    );
    // The escape exists: `--no-limit` is accepted (with few workers, so that nothing is at risk).
    let output = run(&[
        "--workers",
        "2",
        "--no-limit",
        "--tasks",
        "2",
        "--task",
        "sleep:0ns",
    ]);
    assert!(output.status.success(), "{output:?}");
}

/// The system refuses the first worker thread, as it does when the process ids run out. Linux
/// only: elsewhere a stack that size is refused in other ways.
#[cfg(target_os = "linux")]
#[test]
fn a_refused_worker_thread_is_explained_not_a_panic() {
    let output = run_without_threads(&["--tasks", "3"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: the system refused to start a worker thread"),
        "{stderr}"
    );
    assert!(stderr.contains("kernel.pid_max"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs the demo with stdout on a pipe that is closed after the first line, as `| head -1` does.
/// Its output is far larger than a pipe holds, so the demo is still writing when the pipe closes.
fn run_into_a_closed_pipe(args: &[&str]) -> (String, Output) {
    let mut child = demo(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo binary starts");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    // The reader is dropped at the end of this statement, and the pipe with it.
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    (first, child.wait_with_output().expect("the demo ends"))
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let (first, output) = run_into_a_closed_pipe(&["--tasks", "20000", "--task", "sleep:0ns"]);
    assert!(first.starts_with("task "), "{first}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // No task is blamed: no worker died in `println!`, so `execute` never found the pool empty.
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(output.status.code(), Some(0));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let output = demo(&["--tasks", "40", "--task", "sleep:1ms"])
        .stdout(full)
        .output()
        .expect("the demo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: could not write to stdout: "),
        "{stderr}"
    );
}
