//! The demo's command line: results in both orders, the checksum, a lost result, and clear errors
//! for bad input.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_04-results"))
        .args(args)
        .output()
        .expect("the demo binary runs")
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
