//! The demo's command line: defaults, the summary line, and clear errors for bad input.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_03-crossbeam-bounded"))
        .args(args)
        .output()
        .expect("the demo binary runs")
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
