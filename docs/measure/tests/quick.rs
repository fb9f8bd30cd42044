//! The invariants that docs/README.md states, checked on one `measure --quick` run into a
//! temporary folder; a failure names the claim and the run that broke it. The run takes minutes,
//! so the tests are `#[ignore]`d: CI runs them.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One line of a scenario's `.tsv` file: column name to value.
#[derive(Debug)]
struct Row(HashMap<String, String>);

impl Row {
    fn text(&self, column: &str) -> &str {
        let value = self.0.get(column);
        value.unwrap_or_else(|| panic!("no column {column} in {:?}", self.0))
    }

    fn number(&self, column: &str) -> f64 {
        let text = self.text(column);
        text.parse()
            .unwrap_or_else(|_| panic!("{column} is '{text}' in {}", self.describe()))
    }

    fn tasks(&self) -> f64 {
        self.number("tasks")
    }

    fn measured(&self) -> bool {
        self.text("status") == "ok"
    }

    fn describe(&self) -> String {
        format!("{}: `{}`", self.text("scenario"), self.text("command"))
    }

    /// Fails, naming `claim`, what was `found` and this run, unless the claim `holds`.
    fn claim(&self, holds: bool, claim: &str, found: impl std::fmt::Display) {
        let run = self.describe();
        assert!(holds, "claim '{claim}' fails: {found} in {run}");
    }
}

/// The folder of the quick run's `.tsv` files, `costs.md` and `charts/`: one run for all tests.
fn out() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("measure-quick");
        // What an earlier run left would pass for this run's results.
        let _ = fs::remove_dir_all(&out);
        let mut measure = Command::new(env!("CARGO_BIN_EXE_measure"));
        let output = measure.args(["--quick", "--out"]).arg(&out).output();
        let output = output.expect("measure runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "measure --quick failed:\n{stderr}");
        out
    })
}

/// Every row of the quick run's `.tsv` files.
fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let mut rows = Vec::new();
        for entry in fs::read_dir(out()).expect("measure wrote its results") {
            let path = entry.expect("a readable entry").path();
            if path.extension().is_none_or(|ext| ext != "tsv") {
                continue;
            }
            let text = fs::read_to_string(&path).expect("a readable results file");
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().expect("a header line").split('\t').collect();
            for line in lines {
                let fields = header.iter().zip(line.split('\t'));
                let fields = fields.map(|(key, value)| (key.to_string(), value.to_string()));
                rows.push(Row(fields.collect()));
            }
        }
        for row in rows.iter().filter(|row| !row.measured()) {
            eprintln!("skipped, {}", row.text("status"));
        }
        rows
    })
}

fn measured(scenario: &'static str) -> impl Iterator<Item = &'static Row> {
    rows()
        .iter()
        .filter(move |row| row.text("scenario") == scenario && row.measured())
}

/// Every measured run of a pool, stage or peer, with its workers (stage 01 has none).
fn pools() -> impl Iterator<Item = (&'static Row, f64)> {
    rows()
        .iter()
        .filter(|row| row.measured())
        .filter_map(|row| Some((row, row.text("workers").parse().ok()?)))
}

/// The peak RSS of `runner` at `tasks` tasks in the scaling scenario, if it was measured.
fn scaling_rss(runner: &str, tasks: f64) -> Option<f64> {
    measured("scaling")
        .find(|row| row.text("runner") == runner && row.tasks() == tasks)
        .map(|row| row.number("peak_rss_kib"))
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn every_run_completes_every_task() {
    let measured_any = rows().iter().any(Row::measured);
    assert!(measured_any, "the quick run measured nothing");
    for row in rows() {
        let status = row.text("status");
        let ran = status == "ok" || status.starts_with("not built yet");
        row.claim(ran, "completed == tasks in every run", status);
        if !row.measured() {
            continue;
        }
        let (completed, panicked) = (row.number("completed"), row.number("panicked"));
        // Only a rejecting policy (reject, timeout) gives tasks up, and it counts each one; only
        // stage 03 reports the count.
        let rejected = match row.text("rejected") {
            "n/a" => 0.0,
            _ => row.number("rejected"),
        };
        row.claim(
            completed + panicked + rejected == row.tasks(),
            "no task is lost: completed + panicked + rejected == tasks",
            format!("{completed} + {panicked} + {rejected}"),
        );
        // Stage 05's demo makes its first task panic on purpose, to show that the pool survives it.
        let panics = panicked > 0.0 && row.text("runner") != "05";
        row.claim(!panics, "completed == tasks in every run", "tasks panicked");
    }
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn unbounded_spawn_keeps_one_thread_per_sleeping_task() {
    // Every quick-size task of stage 01 sleeps longer than starting all its threads takes, so
    // all of them are alive together.
    let runs: Vec<&Row> = rows()
        .iter()
        .filter(|row| row.measured() && row.text("runner") == "01")
        .collect();
    for row in &runs {
        assert!(row.text("task").starts_with("sleep:"), "{}", row.describe());
        let threads = row.number("peak_threads");
        row.claim(
            threads >= 0.9 * row.tasks(),
            "01's peak threads >= 0.9 x tasks for sleep tasks",
            format!("{threads} threads"),
        );
    }
    if runs.is_empty() {
        eprintln!("stage 01 is not built yet; its claim was not checked");
    }
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn pools_never_have_more_threads_than_workers_plus_two() {
    assert!(pools().next().is_some(), "no pool was measured");
    for (row, workers) in pools() {
        let threads = row.number("peak_threads");
        row.claim(
            threads <= workers + 2.0,
            "every pool's peak threads <= workers + 2",
            format!("{threads} threads with {workers} workers"),
        );
    }
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn pools_run_at_most_workers_tasks_at_once() {
    // tokio is left out on purpose: a sleeping tokio task gives its thread back, so thousands
    // of tasks are in flight on two threads. That is the point of async.
    for (row, workers) in pools().filter(|(row, _)| row.text("runner") != "tokio") {
        // Under caller-runs the submitting thread runs tasks too: one more than the workers.
        let limit = match row.text("policy") {
            "caller-runs" => workers + 1.0,
            _ => workers,
        };
        let in_flight = row.number("max_in_flight");
        row.claim(
            in_flight <= limit,
            "at most N tasks run at once (N + 1 under caller-runs)",
            format!("{in_flight} tasks at once with {workers} workers"),
        );
    }
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn unbounded_queue_of_stage_02_costs_memory() {
    let (Some(unbounded), Some(bounded)) = (scaling_rss("02", 1e5), scaling_rss("03", 1e5)) else {
        eprintln!("stage 02 or 03 is not built yet; the claim was not checked");
        return;
    };
    // Each queued task costs stage 02 its boxed closure and a slot in the queue, some 55 bytes,
    // and stage 03 nothing: 8.4 MiB against 3.2 MiB when last measured, so twice leaves room.
    assert!(
        unbounded > 2.0 * bounded,
        "claim '02's peak RSS at 100k queued tasks is more than 2 x stage 03's' fails: \
         {unbounded} KiB against {bounded} KiB"
    );
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn bounded_stages_keep_memory_flat_from_1k_to_100k_tasks() {
    // Stages 04 and 05's demos keep a result handle and a value per task until the end, so their
    // memory grows by design (the docs show how much); stage 03 keeps nothing per task.
    let (Some(small), Some(large)) = (scaling_rss("03", 1e3), scaling_rss("03", 1e5)) else {
        panic!("no bounded stage was measured: stage 03 is not built yet");
    };
    assert!(
        large <= 1.5 * small,
        "claim 'bounded stages' peak RSS within 1.5x from 1k to 100k tasks' fails for stage 03: \
         {small} KiB at 1k, {large} KiB at 100k"
    );
}

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn each_policy_accounts_for_every_task_its_own_way() {
    let mut checked = 0;
    for row in measured("policies").filter(|row| row.text("policy") != "n/a") {
        let ran = row.number("completed") + row.number("panicked");
        let (rejected, in_caller) = (row.number("rejected"), row.number("ran_in_caller"));
        let policy = row.text("policy");
        let gives_up = policy == "reject" || policy.starts_with("timeout:");
        row.claim(
            gives_up || (ran, rejected) == (row.tasks(), 0.0),
            &format!("{policy} runs every task and rejects none"),
            format!("{ran} ran, {rejected} rejected"),
        );
        // `completed` counts the tasks the caller ran as well as the workers' tasks.
        let found = format!("{in_caller} of {ran} ran in the caller");
        match policy {
            "caller-runs" => {
                let claim = "the caller's tasks and the workers' tasks make up every task";
                row.claim(in_caller <= ran, claim, found);
            }
            _ => {
                let claim = "only caller-runs runs tasks on the submitting thread";
                row.claim(in_caller == 0.0, claim, found);
            }
        }
        checked += 1;
    }
    if checked == 0 {
        eprintln!("stage 03 is not built yet; the policies' claims were not checked");
    }
}

/// Bytes the stage 03 demo keeps per rejected task: it lists every rejected task's id (a
/// `usize` in a `Vec` that may have grown to twice its length), to report them.
const BYTES_PER_REJECTED_ID: f64 = 2.0 * 8.0;

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn bounded_policies_keep_stage_03_memory_flat() {
    // The memory check runs `cpu:1us` at the fewest and the most tasks of the scenario (the main
    // table's run of that task lies between them). Stage 03 is the only stage with a `--policy`.
    let mut checked = 0;
    for policy in ["block", "reject", "caller-runs", "timeout:1ms"] {
        let mut runs: Vec<&Row> = measured("policies")
            .filter(|row| row.text("runner") == "03" && row.text("policy") == policy)
            .filter(|row| row.text("task") == "cpu:1us")
            .collect();
        runs.sort_by(|a, b| a.tasks().total_cmp(&b.tasks()));
        let (Some(few), Some(many)) = (runs.first(), runs.last()) else {
            continue;
        };
        if few.tasks() == many.tasks() {
            continue;
        }
        let kib = |row: &Row| row.number("peak_rss_kib");
        let allowed = 1.5 * kib(few) + BYTES_PER_REJECTED_ID * many.number("rejected") / 1024.0;
        let (from, to, few, many) = (few.tasks(), many.tasks(), kib(few), kib(many));
        assert!(
            many <= allowed,
            "claim 'stage 03's peak RSS stays within 1.5x from {from} to {to} tasks under \
             {policy}' fails: {many} KiB against {few} KiB (allowed {allowed} KiB)"
        );
        checked += 1;
    }
    if checked == 0 {
        eprintln!("stage 03 is not built yet; its memory claim was not checked");
    }
}

/// The colours of a task's bar and of a task that panicked, in the timelines' SVG
/// (`timeline::TASK` and `timeline::PANICKED`). Task bars are the only `<rect>` elements in them.
const TASK_FILL: &str = "fill=\"#1F77B4\"";
const PANICKED_FILL: &str = "fill=\"#D62728\"";

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn timelines_draw_a_bar_per_task() {
    let mut checked = 0;
    for row in measured("timelines") {
        // The files are named after the stage, and stage 03's after its policy.
        let file = match (row.text("runner"), row.text("policy")) {
            ("05", _) => "timeline-05-panic".to_string(),
            (runner, "n/a") => format!("timeline-{runner}"),
            (runner, policy) => format!("timeline-{runner}-{policy}"),
        };
        let path = out().join("charts").join(format!("{file}.svg"));
        let svg = fs::read_to_string(path)
            .unwrap_or_else(|_| panic!("no {file}.svg for {}", row.describe()));
        let whole = svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>");
        assert!(whole, "{file}.svg is not a whole SVG document");
        let rects = svg.lines().filter(|line| line.starts_with("<rect"));
        let bars = |fill: &str| rects.clone().filter(|line| line.contains(fill)).count() as f64;
        let (tasks, panicked) = (bars(TASK_FILL) + bars(PANICKED_FILL), bars(PANICKED_FILL));
        row.claim(
            tasks == row.tasks(),
            "a timeline draws a bar per task",
            format!("{tasks} bars in {file}.svg"),
        );
        row.claim(
            panicked == row.number("panicked"),
            "a timeline draws each task that panicked in its own colour",
            format!("{panicked} red bars in {file}.svg"),
        );
        checked += 1;
    }
    if checked == 0 {
        eprintln!("no stage writes a trace yet; the timelines were not checked");
    }
}

/// The rows of the in-process ladder (`examples/costs.rs`), by the name the section gives them,
/// each with the run it builds on.
const LADDER: [(&str, &str); 8] = [
    ("bare pool", "-"),
    ("stage 03's pool", "bare pool"),
    ("stage 04's pool", "stage 03's pool"),
    ("stage 04 + `catch_unwind`", "stage 04's pool"),
    ("stage 05's pool", "stage 04 + `catch_unwind`"),
    ("stage 03, `try_submit` first", "stage 03's pool"),
    ("stage 03 + `Tracker`", "stage 03, `try_submit` first"),
    ("stage 03's demo", "stage 03 + `Tracker`"),
];

#[test]
#[ignore = "end-to-end, slow: run by .ci/run; cargo test -p measure -- --ignored"]
fn costs_has_a_row_and_an_explanation_per_feature() {
    let text = &fs::read_to_string(out().join("costs.md")).expect("the quick run writes costs.md");
    if text.starts_with("- not built yet") || text.contains("\n- not built yet") {
        eprintln!("the costs example is not built yet; its claims were not checked");
        return;
    }
    for (name, built_on) in LADDER {
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("| {name} ")))
            .unwrap_or_else(|| panic!("claim 'every feature has a row' fails for {name}:\n{text}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | run | adds | built on | per task | middle half | added | x |
        assert_eq!(
            cells[3], built_on,
            "claim 'each row names the run it builds on' fails for {name}: {row}"
        );
        assert!(
            cells[4].ends_with(" ns") || cells[4].ends_with(" µs"),
            "claim 'each row has a time per task' fails for {name}: {row}"
        );
        assert!(
            text.contains(&format!("- **{name}** (")),
            "claim 'each feature's cost is explained' fails for {name}:\n{text}"
        );
    }
    // The first line names the command, whose `--out` folder may have any name.
    let prose = text
        .split_once('\n')
        .map_or("", |(_, rest)| rest)
        .to_lowercase();
    for word in ["target", "missed"] {
        assert!(
            !prose.contains(word),
            "claim 'no cost is graded against a target' fails: '{word}' in\n{text}"
        );
    }
}
