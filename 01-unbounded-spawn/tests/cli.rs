//! The demo binary: its summary line, its answer to bad input, and its safety limit.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_01-unbounded-spawn"))
        .args(args)
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
    let cases: [(&[&str], &str); 9] = [
        (&["--tasks", "-1"], "'--tasks <N>'"),
        (&["--tasks", "abc"], "'--tasks <N>'"),
        (&["--tasks", "0"], "'--tasks <N>'"),
        (&["--tasks", "99999999999999999999999"], "'--tasks <N>'"),
        (&["--task", "cpu:"], "'--task <KIND:DURATION>'"),
        (&["--task", "gpu:1ms"], "'--task <KIND:DURATION>'"),
        (&["--task", "sleep:10parsecs"], "'--task <KIND:DURATION>'"),
        // This stage has no pool, so it has no workers to count.
        (&["--workers", "0"], "'--workers'"),
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

#[test]
fn more_than_10000_tasks_are_refused_before_any_thread_starts() {
    // Tasks that end at once, so that even a broken limit could not pile up 10,001 threads.
    let output = run(&["--tasks", "10001", "--task", "sleep:0ms"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let first_line = stderr.lines().next().unwrap_or_default();
    assert!(first_line.contains("--tasks 10001"), "{first_line}");
    assert!(first_line.contains("--no-limit"), "{first_line}");
    assert!(
        stderr.contains("50,000"),
        "the refusal says what 50,000 would do"
    );
    // Every task prints a line and the run ends with a summary; nothing means nothing ran.
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
}
