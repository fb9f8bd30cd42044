//! The demo's command line: panics counted and reported, every worker still alive, the checksum
//! of the tasks that did not panic, and clear errors for bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_05-panic-resilient"));
    command.args(args);
    command
}

fn run(args: &[&str]) -> Output {
    demo(args).output().expect("the demo binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn last_line(output: &Output) -> String {
    stdout(output)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// The value of `key=` in the summary line.
fn value_of<'a>(summary: &'a str, key: &str) -> &'a str {
    summary
        .split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {summary}"))
}

/// The sum of `i * i` over the tasks that do not panic under `--panic-every every`.
fn expected_checksum(tasks: u64, every: u64) -> u64 {
    (0..tasks).filter(|i| i % every != 0).map(|i| i * i).sum()
}

#[test]
fn defaults_panic_once_and_keep_every_worker() {
    let output = run(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
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
        "checksum",
        "active_workers",
    ];
    assert_eq!(keys, expected, "in {summary}");
    assert!(summary.starts_with(
        "summary: stage=05 tasks=11 completed=10 panicked=1 workers=4 queue=8 task=sleep:100ms "
    ));
    assert_eq!(value_of(&summary, "checksum"), "385");
    assert_eq!(value_of(&summary, "active_workers"), "4");

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
fn every_tenth_task_panics_and_the_rest_complete() {
    let output = run(&[
        "--tasks",
        "1000",
        "--panic-every",
        "10",
        "--task",
        "sleep:0ns",
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "--quiet still printed panics");
    let summary = last_line(&output);
    assert_eq!(value_of(&summary, "completed"), "900");
    assert_eq!(value_of(&summary, "panicked"), "100");
    assert_eq!(value_of(&summary, "active_workers"), "4");
    assert_eq!(
        value_of(&summary, "checksum"),
        expected_checksum(1000, 10).to_string()
    );
    // Even quiet, the panics are accounted for.
    assert!(
        stdout(&output).contains("panicked: 100 of 1000 tasks, caught and isolated; task 0: "),
        "{}",
        stdout(&output)
    );
}

#[test]
fn as_completed_gets_every_value_that_was_not_lost_to_a_panic() {
    let output = run(&[
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
    assert_eq!(value_of(&summary, "panicked"), "10");
    assert_eq!(value_of(&summary, "active_workers"), "3");
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
        let output = run(args);
        let stderr = stderr(&output);
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
    for tasks in ["18446744073709551615", "10000001"] {
        assert_refused(&["--tasks", tasks], &["'--tasks <N>'", "at most 10000000"]);
    }
    for queue in ["18446744073709551615", "100000000000"] {
        assert_refused(&["--queue", queue], &["'--queue <N>'", "at most 1000000"]);
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
    // Only the planned panic of task 0 is reported: no task panicked in `println!`.
    let stderr = stderr(&output);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].ends_with(": task panicked: task 0 failed on purpose"),
        "{stderr}"
    );
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
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.ends_with("task 0 failed on purpose"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: could not write to stdout: "),
        "{stderr}"
    );
}
