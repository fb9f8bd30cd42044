//! `overhead`: empty tasks on as many workers as cores, which measure the trip through the pool.

use harness::cores;
use harness::table;
use minijinja::{Value, context};

use super::{Job, Options, QUEUE, Report, Run, Runner, Scenario, bar_panel, bars, problems};
use super::{count, granularity, grid, policies, table_of, task};
use crate::chart::Chart;
use crate::peer::Peer;
use crate::stages::STAGES;

/// The empty task.
const EMPTY: &str = "cpu:0ns";

/// How many times each run is repeated; the fastest undisturbed one counts. More than in
/// `granularity`: these short runs can take twice as long, as the scheduler shares out the cores.
pub fn rounds(options: Options) -> usize {
    options.size.pick(7, 1)
}

/// One run per runner of `granularity`, `workers = cores`.
pub fn plan(options: Options) -> Vec<Job> {
    // Enough tasks that starting the pool no longer counts, and few enough that faulting in the
    // memory that stage 02's queue and the handles of stages 04 and 05 grow by does not either.
    let tasks = options.size.pick(200_000, 50_000);
    granularity::lineup()
        .into_iter()
        .map(|runner| Job::new(runner, tasks, task(EMPTY), cores(), QUEUE))
        .collect()
}

/// The pool's elapsed time per task, in nanoseconds.
fn ns_per_task(run: &Run) -> Option<f64> {
    Some(run.elapsed_ms()? * 1e6 / run.job.tasks as f64)
}

/// The row each runner's cost is compared with: the stage it builds on, or the loop.
fn baseline(runner: Runner) -> Runner {
    match runner {
        Runner::Stage(stage) if ["03", "04", "05"].contains(&stage.number) => {
            let index = STAGES.iter().position(|other| other == stage);
            Runner::Stage(&STAGES[index.expect("a stage") - 1])
        }
        _ => Runner::Peer(Peer::Sequential),
    }
}

/// `value` against `base`, of the runner keyed `key`: more, less, or the same within 10%.
fn versus(value: f64, base: f64, key: &str) -> Value {
    let (trend, by) = if value > base * 1.1 {
        ("more", value - base)
    } else if value * 1.1 < base {
        ("less", base - value)
    } else {
        ("same", 0.0)
    };
    context! { trend, key, by => table::time_ns(by), base => table::time_ns(base) }
}

/// A figure per run for its bullet: what one empty task cost, and the row it builds on.
fn bullets(runs: &[Run]) -> Vec<Value> {
    runs.iter()
        .filter_map(|run| {
            let per_task = ns_per_task(run)?;
            let base = baseline(run.job.runner);
            let is_base = |other: &&Run| other.job.runner == base && base != run.job.runner;
            let base_ns = runs.iter().find(is_base).and_then(ns_per_task);
            let against = base_ns.map(|base_ns| versus(per_task, base_ns, base.key()));
            let cpu = policies::cpu_per_task_ns(runs, run).filter(|&ns| ns > 0.0);
            Some(context! {
                key => run.job.runner.key(),
                label => run.job.runner.label(),
                per_task => table::time_ns(per_task),
                cpu => cpu.map(table::time_ns),
                against,
            })
        })
        .collect()
}

/// The table, a bullet per run and the chart.
pub fn report(runs: Vec<Run>, rounds: usize) -> Report {
    let table = table_of(&runs, |run| {
        let per_task = ns_per_task(run)?;
        let dagger = granularity::mark(run, &runs);
        let cpu_per_task = policies::cpu_per_task_ns(&runs, run).map(table::time_ns);
        let submitter = policies::submitter_busy(&runs, run).map(table::percent);
        let switches = run.switches_per_thousand_tasks().map(table::tenths);
        let others = run.disturbance().map(table::percent);
        Some(vec![
            ("run", run.job.runner.label()),
            ("tasks", count(run.job.tasks)),
            ("per task", format!("{}{dagger}", table::time_ns(per_task))),
            ("tasks/s", table::per_second(1e9 / per_task)),
            ("CPU per task", table::or_na(cpu_per_task)),
            ("submitter on a core", table::or_na(submitter)),
            ("switches per 1,000 tasks", table::or_na(switches)),
            ("others' CPU share", table::or_na(others)),
        ])
    });
    let figures = context! {
        empty => EMPTY,
        table,
        disturbed => granularity::any_disturbed(&runs),
        problems => problems(&runs).trim(),
        runs => bullets(&runs),
        ..granularity::shared(rounds)
    };
    Report::render(Scenario::Overhead, figures, chart(&runs), runs)
}

fn chart(runs: &[Run]) -> Option<Chart> {
    let bars = bars(runs, |run| run.job.runner.label(), ns_per_task);
    let title = format!("overhead: empty tasks on {} workers = cores", cores());
    let drawn = !bars.is_empty();
    let panel = bar_panel("Elapsed time per empty task", "ns per task", bars);
    drawn.then(|| grid(title, 1, vec![panel]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{assert_text, finished};

    /// A run of a million empty tasks that took `ns` per task.
    fn run(runner: Runner, ns: f64) -> Run {
        let tasks = 1_000_000;
        let job = Job::new(runner, tasks, task(EMPTY), 2, QUEUE);
        finished(job, ns * tasks as f64 / 1e6, 0)
    }

    #[test]
    fn every_cost_is_explained_beside_the_row_it_builds_on_and_graded_against_nothing() {
        let stage = |number| Runner::Stage(crate::stages::stage(number));
        let runs = vec![
            run(Runner::Peer(Peer::Sequential), 20.0),
            run(stage("02"), 200.0),
            run(stage("03"), 1_500.0),
            run(stage("04"), 1_200.0),
            run(stage("05"), 1_150.0),
            run(Runner::Peer(Peer::RayonParIter), 50.0),
        ];
        let body = report(runs, 1).body;
        let bullets: Vec<&str> = body.lines().filter(|line| line.starts_with("- ")).collect();
        assert_eq!(bullets.len(), 6, "a bullet per run:\n{body}");
        // More, less and about the same, against the loop and against the stage before.
        let expected = [
            "\n- 02 mutex-receiver-pool: 200 ns per empty task, 180 ns more than the sequential \
             loop. Where it goes: the task is boxed",
            "\n- 03 crossbeam-bounded: 1.50 µs per empty task, 1.30 µs more than stage 02. Where",
            "\n- 04 results: 1.20 µs per empty task, 300 ns less than stage 03. Where it goes: \
             stage 03's trip, plus a channel per task",
            "\n- 05 panic-resilient: 1.15 µs per empty task, about the same as stage 04 (1.20 µs).",
            "\n- rayon-par-iter (peer): 50.0 ns per empty task, 30.0 ns more than the sequential \
             loop.",
        ];
        assert_text(&body, &expected, &["target", "missed", "verdict"]);
    }
}
