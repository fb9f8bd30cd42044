//! The demo binary: its summary line, its answer to bad input, and its safety limit.

use std::process::{Command, Output};

fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_01-unbounded-spawn"));
    command.args(args);
    command
}

fn run(args: &[&str]) -> Output {
    demo(args).output().expect("the demo binary starts")
}

/// Runs the demo with `args` where no thread can start: std maps a stack of `RUST_MIN_STACK`
/// bytes for every thread that sets no size of its own, and a petabyte cannot be mapped. For the
/// checks that must stop a run before its first thread: if one breaks, the test fails without
/// starting thousands of threads.
fn run_without_threads(args: &[&str]) -> Output {
    demo(args)
        .env("RUST_MIN_STACK", (1_u64 << 50).to_string())
        .output()
        .expect("the demo binary starts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

#[test]
fn prints_a_line_per_task_then_the_summary() {
    let output = run(&["--tasks", "5", "--task", "sleep:0ms"]);
    assert!(output.status.success());
    let stdout = stdout(&output);
    let mut lines: Vec<_> = stdout.lines().collect();
    let summary = lines.pop().expect("a summary line");
    lines.sort();
    let expected: Vec<_> = (0..5)
        .map(|id| format!("task {id} done on task-{id}"))
        .collect();
    assert_eq!(lines, expected);
    let keys: Vec<_> = summary
        .split_whitespace()
        .skip(1)
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
            "max_in_flight"
        ]
    );
    assert!(
        summary.starts_with(
            "summary: stage=01 tasks=5 completed=5 panicked=0 workers=- queue=- task=sleep:0ns "
        ),
        "{summary}"
    );
}

#[test]
fn quiet_prints_only_the_summary() {
    let output = run(&["--tasks", "5", "--task", "cpu:0ms", "--quiet"]);
    assert!(output.status.success());
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
        let output = run_without_threads(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first_line = stderr.lines().next().unwrap_or_default();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(first_line.starts_with("error: "), "{args:?}: {stderr}");
        assert!(first_line.contains(flag), "{args:?}: {first_line}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} ran anyway");
    }
}

#[test]
fn more_than_10000_tasks_are_refused_before_any_thread_starts() {
    let output = run_without_threads(&["--tasks", "10001", "--task", "sleep:0ms"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let first_line = stderr.lines().next().unwrap_or_default();
    assert!(first_line.contains("--tasks 10001"), "{first_line}");
    assert!(first_line.contains("--no-limit"), "{first_line}");
    assert!(
        stderr.contains("50,000"),
        "the refusal says what 50,000 would do"
    );
    // It points at the measurements, and never prints the harmful command ready to paste.
    assert!(stderr.contains("IO at scale"), "{stderr}");
    assert!(!stderr.contains("--tasks 50000"), "{stderr}");
    // Every task prints a line and the run ends with a summary; nothing means nothing ran.
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_and_no_task_is_blamed() {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let output = demo(&["--tasks", "5", "--task", "sleep:1ms"])
        .stdout(full)
        .output()
        .expect("the demo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // One line: no thread panicked in `println!`, and the summary's failure is not reported twice.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: could not write to stdout: "),
        "{stderr}"
    );
}
