//! The demo binary: its report and summary line, and its answer to bad input.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_02-mutex-receiver-pool"))
        .args(args)
        .output()
        .expect("the demo binary starts")
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
