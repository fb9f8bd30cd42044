//! The demo's command line: results in both orders, the checksum, a lost result, and clear errors
//! for bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_04-results"));
    command.args(args);
    command
}

fn run(args: &[&str]) -> Output {
    demo(args).output().expect("the demo binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
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
    let output = run(&[]);
    assert!(output.status.success());
    assert_eq!(
        results_after(&output, "results in submission order: "),
        [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
    );
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
    ];
    assert_eq!(keys, expected, "in {summary}");
    assert!(summary.starts_with(
        "summary: stage=04 tasks=10 completed=10 panicked=0 workers=4 queue=8 task=sleep:100ms "
    ));
    assert_eq!(value_of(&summary, "checksum"), "285");
}

#[test]
fn the_checksum_accounts_for_every_result() {
    let output = run(&["--tasks", "1000", "--task", "sleep:0ns", "--quiet"]);
    assert!(output.status.success());
    assert!(
        !stdout(&output).contains("results in"),
        "--quiet still printed the results"
    );
    let summary = last_line(&output);
    assert_eq!(value_of(&summary, "completed"), "1000");
    assert_eq!(value_of(&summary, "checksum"), "332833500");
}

#[test]
fn as_completed_collects_every_result_in_the_order_they_arrive() {
    let output = run(&[
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
    assert_eq!(
        value_of(&summary, "checksum"),
        sum_of_squares(40).to_string()
    );
}

#[test]
fn a_panicking_task_is_reported_as_a_lost_result_in_both_orders() {
    for order in [&[][..], &["--as-completed"][..]] {
        let mut args = vec!["--tasks", "10", "--task", "sleep:0ns", "--panic-task", "3"];
        args.extend_from_slice(order);
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: task 3 lost its result: the task panicked"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("stage 05"), "{args:?}: {stderr}");

        let summary = last_line(&output);
        assert_eq!(value_of(&summary, "completed"), "9", "{summary}");
        assert_eq!(value_of(&summary, "panicked"), "1", "{summary}");
        let checksum = sum_of_squares(10) - 3 * 3;
        assert_eq!(value_of(&summary, "checksum"), checksum.to_string());
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    // No task is blamed: no worker died in `println!`, and no result was lost.
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

#[test]
fn a_run_with_no_worker_left_still_ends_with_its_summary() {
    for order in [&[][..], &["--as-completed"][..]] {
        // The only worker dies on task 0, and the queue holds 8: submitting must stop early.
        let run_of_20 = "--quiet --panic-task 0 --workers 1 --tasks 20 --task sleep:1ms";
        let mut args: Vec<&str> = run_of_20.split(' ').collect();
        args.extend_from_slice(order);
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("were not submitted"), "{args:?}: {stderr}");
        let summary = last_line(&output);
        assert!(
            summary.starts_with("summary: stage=04 tasks=20 completed=0 panicked=1 "),
            "{args:?}: {summary}"
        );
    }
}
