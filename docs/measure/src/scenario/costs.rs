//! `costs`: what each feature of the stages costs per task, as [`ladder::measure`] measures it
//! in-process, told as a table, a bullet per feature and a chart, graded against no target.

use harness::table::{self, Table};
use minijinja::{Value, context};

use super::{Options, Report, Scenario, bar_panel, count, grid};
use crate::chart::{Bar, Chart};
use crate::ladder::{self, Measured, Step};
use crate::probe;

/// Runs the ladder, and reports what it measured.
pub fn run(options: Options) -> Report {
    // Each round runs every step once, in under half a second; the rounds are many, and short,
    // because the machine's speed moves between them.
    let (tasks, rounds) = options.size.pick((100_000, 41), (10_000, 3));
    // The example runs the same ladder: the way to measure it again, alone.
    let command_line = format!(
        "cargo run --release -p measure --example costs -- --tasks {tasks} --rounds {rounds}"
    );
    let (ladder, others) = probe::in_process(|| ladder::measure(tasks, rounds));
    let figures = figures(&ladder, others, &command_line);
    Report::render(Scenario::Costs, figures, chart(&ladder), Vec::new())
}

/// The name of `step` in the table and the chart (its cost is explained in `costs.md`).
fn name(step: Step) -> &'static str {
    match step {
        Step::Ids => "bare pool",
        Step::Boxed => "stage 03's pool",
        Step::ResultChannel => "stage 04's pool",
        Step::CatchUnwind => "stage 04 + `catch_unwind`",
        Step::Counters => "stage 05's pool",
        Step::TrySubmit => "stage 03, `try_submit` first",
        Step::Tracker => "stage 03 + `Tracker`",
        Step::Demo => "stage 03's demo",
        Step::Recording => "stage 03's demo, recording",
        Step::ArcPerTask => "stage 03 + `Tracker`, an `Arc` per task",
    }
}

/// The feature `step` adds to the run it builds on.
fn adds(step: Step) -> &'static str {
    match step {
        Step::Ids => "a bounded crossbeam channel of task ids; workers call one function",
        Step::Boxed => "a boxed closure per task",
        Step::ResultChannel => "a result channel per task",
        Step::CatchUnwind => "`catch_unwind` around each task",
        Step::Counters => "the pool's counters (`Shared`)",
        Step::TrySubmit => "`try_submit` first, as the demo's policies do",
        Step::Tracker => "the demo's `Tracker`, the workload borrowed",
        Step::Demo => "the demo's hand-over of each task",
        Step::Recording => "recording each task, as `--timeline` and `--trace` do",
        Step::ArcPerTask => "an `Arc` of the workload per task, instead of a borrow",
    }
}

/// The colour of the bar of `step`: the stage whose code it runs.
fn colour(step: Step) -> &'static str {
    match step {
        Step::Ids => "reference",
        Step::ResultChannel | Step::CatchUnwind => "04",
        Step::Counters => "05",
        _ => "03",
    }
}

/// `12.3 ns` with its sign: `+12.3 ns`, `-4.00 ns`.
fn signed_nanos(ns: f64) -> String {
    let sign = if ns < 0.0 { "-" } else { "+" };
    format!("{sign}{}", table::time_ns(ns.abs()))
}

/// The table, a bullet per step, and a bullet that puts the demo beside the pool alone.
fn figures(ladder: &Measured, disturbance: Option<f64>, command_line: &str) -> Value {
    let mut table = Table::titled(
        &[
            "run",
            "adds",
            "built on",
            "per task",
            "middle half of the rounds",
            "added",
            "x the run it builds on",
        ],
        3,
    );
    let mut rows = Vec::new();
    for row in &ladder.rows {
        let base = row.step.base().map(name);
        let [median, low, high] =
            [row.median, row.quartiles.0, row.quartiles.1].map(table::time_ns);
        let (added, ratio) = match row.added {
            Some((ns, ratio)) => (signed_nanos(ns), format!("{ratio:.2}x")),
            None => ("-".to_string(), "-".to_string()),
        };
        table.push_row(vec![
            name(row.step).to_string(),
            adds(row.step).to_string(),
            base.unwrap_or("-").to_string(),
            median.clone(),
            format!("{low} to {high}"),
            added.clone(),
            ratio.clone(),
        ]);
        // What the step adds to the run it builds on, for its bullet.
        let over = base.filter(|_| row.added.is_some());
        let over = over.map(|base| context! { base, added, ratio });
        rows.push(context! { key => row.step.key(), name => name(row.step), median, over });
    }
    let ratio = |step| ladder.row(step).map(|row| format!("{:.2}x", row.to_pool));
    // The demo beside an `Arc` per task: only when both ran.
    let (demo, arc) = ratio(Step::Demo).zip(ratio(Step::ArcPerTask)).unzip();
    context! {
        tasks => count(ladder.tasks),
        workers => ladder.workers,
        rounds => ladder.rounds,
        command_line,
        others => disturbance.map(table::percent),
        table => table.markdown().trim_end(),
        rows,
        demo,
        arc,
    }
}

fn chart(ladder: &Measured) -> Option<Chart> {
    let bars: Vec<Bar> = ladder
        .rows
        .iter()
        .map(|row| Bar {
            // A chart shows no markdown: `catch_unwind` without its backticks.
            label: name(row.step).replace('`', ""),
            key: colour(row.step).to_string(),
            value: row.median,
        })
        .collect();
    let workers = ladder.workers;
    let title = format!("costs: empty tasks on {workers} workers, one feature at a time");
    let panel_title = "Time per empty task (median over the rounds)";
    (!bars.is_empty()).then(|| grid(title, 1, vec![bar_panel(panel_title, "ns per task", bars)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::assert_text;

    fn body(ladder: &Measured, others: Option<f64>) -> String {
        Report::render(
            Scenario::Costs,
            figures(ladder, others, "costs"),
            None,
            Vec::new(),
        )
        .body
    }

    /// A row of the ladder whose rounds spread from 10 ns under its median to 20 ns over.
    fn row(step: Step, median: f64, added: Option<(f64, f64)>, to_pool: f64) -> ladder::Row {
        let quartiles = (median - 10.0, median + 20.0);
        ladder::Row {
            step,
            median,
            quartiles,
            added,
            to_pool,
        }
    }

    /// A ladder as it might measure, with six of its steps.
    fn measured() -> Measured {
        Measured {
            rows: vec![
                row(Step::Ids, 20.0, None, 0.08),
                row(Step::Boxed, 250.0, Some((228.0, 11.4)), 1.0),
                row(Step::TrySubmit, 245.0, Some((-4.5, 0.98)), 0.98),
                row(Step::Tracker, 255.0, Some((8.0, 1.03)), 1.01),
                row(Step::Demo, 258.0, Some((2.5, 1.01)), 1.02),
                row(Step::ArcPerTask, 310.0, Some((55.0, 1.22)), 1.24),
            ],
            workers: 2,
            tasks: 200_000,
            rounds: 31,
        }
    }

    #[test]
    fn every_step_is_explained_beside_the_run_it_builds_on_and_graded_against_nothing() {
        let expected = [
            "| stage 03's pool ",
            "| bare pool ",
            " +228 ns |",
            " -4.50 ns |",
            " 11.40x |",
            " 240 ns to 270 ns |",
            "- **bare pool** (20.0 ns per task): the floor.",
            "- **stage 03's pool** (+228 ns per task over bare pool, 11.40x): each task becomes",
            "- **stage 03's demo** (+2.50 ns per task over stage 03 + `Tracker`, 1.01x): the demo",
            "- **stage 03 + `Tracker`, an `Arc` per task** (+55.0 ns per task over stage 03 + \
             `Tracker`, 1.22x): what the demo would pay",
            "spent 1.02x what stage 03's pool alone spent per empty task in the same rounds; \
             with an `Arc` of the workload per task instead of a borrow, 1.24x.",
            "Other programs used 2% of the machine",
        ];
        let body = body(&measured(), Some(0.02));
        assert_text(&body, &expected, &["target", "missed", "verdict"]);
    }

    #[test]
    fn every_step_of_the_ladder_is_explained() {
        let mut ladder = measured();
        ladder.rows = Step::ALL.map(|step| row(step, 1.0, None, 1.0)).to_vec();
        // The template names no step it cannot explain: rendering would panic.
        let body = body(&ladder, None);
        for step in Step::ALL {
            assert!(body.contains(&format!("- **{}** (", name(step))), "{body}");
        }
    }
}
