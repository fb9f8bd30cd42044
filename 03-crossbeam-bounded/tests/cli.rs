//! The demo's command line: defaults, the summary line, and clear errors for bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_03-crossbeam-bounded"));
    command.args(args);
    command
}

fn run(args: &[&str]) -> Output {
    demo(args).output().expect("the demo binary runs")
}

fn last_line(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().last().unwrap_or_default().to_string()
}

/// The value of `key` in a `summary:` line.
fn value<'a>(summary: &'a str, key: &str) -> &'a str {
    summary
        .split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {summary}"))
}

#[test]
fn summary_is_the_last_line_with_every_key_in_order() {
    let output = run(&[
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
    assert!(output.status.success());
    let summary = last_line(&output);
    let keys: Vec<&str> = summary
        .trim_start_matches("summary: ")
        .split(' ')
        .map(|pair| pair.split('=').next().unwrap())
        .collect();
    let expected = [
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
        "rejected",
        "ran_in_caller",
    ];
    assert_eq!(keys, expected, "in {summary}");
    assert!(summary.starts_with(
        "summary: stage=03 tasks=12 completed=12 panicked=0 workers=3 queue=2 task=sleep:1ms "
    ));
    assert!(summary.contains(" ideal_ms=4.0 "), "{summary}");
}

#[test]
fn max_in_flight_never_exceeds_the_workers() {
    let output = run(&[
        "--tasks",
        "40",
        "--workers",
        "3",
        "--task",
        "cpu:200us",
        "--quiet",
    ]);
    let summary = last_line(&output);
    let max: usize = value(&summary, "max_in_flight")
        .parse()
        .expect("max_in_flight is a number");
    assert!((1..=3).contains(&max), "{summary}");
}

#[test]
fn per_task_lines_unless_quiet() {
    let output = run(&["--tasks", "5", "--task", "sleep:0ms"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.starts_with("task "))
            .count(),
        5
    );
    assert!(
        stdout.contains("submit"),
        "no backpressure report in {stdout}"
    );
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
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error:") && first.contains(flag),
            "{args:?}: {first}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
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
    // crossbeam would allocate every slot up front: 2.4 TB for the second one.
    for queue in ["18446744073709551615", "100000000000", "1000001"] {
        assert_refused(&["--queue", queue], &["'--queue <N>'", "at most 1000000"]);
    }
    for tasks in ["18446744073709551615", "10000001"] {
        assert_refused(&["--tasks", tasks], &["'--tasks <N>'", "at most 10000000"]);
    }
    assert_refused(
        &["--workers", "18446744073709551615", "--no-limit"],
        &["'--workers <N>'", "at most 10000000"],
    );
    // The largest values allowed still parse: a queue of a million slots runs.
    let output = run(&["--tasks", "2", "--queue", "1000000", "--task", "sleep:0ns"]);
    assert!(output.status.success(), "{output:?}");
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
    // No task is blamed: no worker died in `println!`, and every task was submitted.
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(output.status.code(), Some(0));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    let policies = [
        &["--policy", "block"][..],
        &["--policy", "caller-runs", "--queue", "0"],
    ];
    for policy in policies {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full exists on Linux");
        let mut args = vec!["--tasks", "40", "--task", "sleep:1ms"];
        args.extend_from_slice(policy);
        let output = demo(&args).stdout(full).output().expect("the demo runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{policy:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{policy:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: could not write to stdout: "),
            "{stderr}"
        );
    }
}
