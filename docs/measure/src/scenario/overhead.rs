//! `overhead`: empty tasks on as many workers as cores. A task that does nothing measures the
//! trip through the pool alone: boxing the closure, the queue, waking a worker, and, for stage
//! 04, delivering a result.

use std::fmt::Write as _;

use harness::cores;

use super::granularity::{self, QUEUE};
use super::policies;
use super::{Job, Options, Report, Run, Runner, Scenario, Size, problems, task};
use crate::chart::{Bar, BarPanel, Chart, Panel};
use crate::report::{self, Table};
use crate::stages::Stage;

/// The empty task.
const EMPTY: &str = "cpu:0ns";

/// How many times each run is repeated; the fastest undisturbed one counts. More than in
/// `granularity`: the runs are short, and from one run to the next the same pool can take twice
/// as long, depending on which threads the scheduler puts on the same core.
pub fn rounds(options: Options) -> usize {
    match options.size {
        Size::Full => 7,
        Size::Quick => 1,
    }
}

/// Enough tasks that starting the pool and the first wake-ups no longer count, and few enough
/// that the memory which stage 02's unbounded queue and the result handles of stages 04 and 05
/// grow by does not: with a million tasks, faulting in that memory adds to their time per task.
fn tasks(size: Size) -> usize {
    match size {
        Size::Full => 200_000,
        Size::Quick => 50_000,
    }
}

/// The most a stage's empty task may cost, in nanoseconds: the goal set for the stages on two
/// workers. Stage 04 also hands a result back for every task, so it gets more.
fn target_ns(stage: &Stage) -> Option<f64> {
    match stage.number {
        "02" | "03" | "05" => Some(100.0),
        "04" => Some(150.0),
        _ => None,
    }
}

/// One run per runner, `workers = cores`.
pub fn plan(options: Options) -> Vec<Job> {
    let tasks = tasks(options.size);
    // `granularity`'s runners: the loop (what the empty task itself costs), the pool stages
    // under their default policy, and the CPU peers.
    granularity::lineup()
        .into_iter()
        .map(|runner| Job::new(runner, tasks, task(EMPTY), cores(), QUEUE))
        .collect()
}

/// The pool's elapsed time per task, in nanoseconds.
fn ns_per_task(run: &Run) -> Option<f64> {
    Some(run.elapsed_ms()? * 1e6 / run.job.tasks as f64)
}

/// The target of a run's stage and how the run did against it: `met`, or by how much it missed.
fn verdict(run: &Run) -> Option<(f64, String)> {
    let Runner::Stage(stage) = run.job.runner else {
        return None;
    };
    let target = target_ns(stage)?;
    let measured = ns_per_task(run)?;
    let verdict = if measured <= target {
        "met".to_string()
    } else {
        format!(
            "missed by {} ({:.2}x)",
            report::nanos(measured - target),
            measured / target
        )
    };
    Some((target, verdict))
}

/// The table, a bullet per target and the chart.
pub fn report(runs: Vec<Run>, rounds: usize) -> Report {
    let mut table = Table::new(&[
        "run",
        "tasks",
        "per task",
        "tasks/s",
        "target",
        "verdict",
        "CPU per task",
        "submitter on a core",
        "switches per 1,000 tasks",
        "others' CPU share",
    ]);
    for run in &runs {
        let Some(per_task) = ns_per_task(run) else {
            continue;
        };
        let (target, verdict) = verdict(run).unzip();
        let dagger = granularity::mark(run, &runs);
        let cpu_per_task = policies::cpu_per_task_ns(&runs, run).map(report::nanos);
        table.row(vec![
            run.job.runner.label(),
            report::count(run.job.tasks as u64),
            format!("{}{dagger}", report::nanos(per_task)),
            report::rate(1e9 / per_task),
            target.map_or_else(|| "-".to_string(), |ns| format!("<= {}", report::nanos(ns))),
            verdict.unwrap_or_else(|| "-".to_string()),
            cpu_per_task.unwrap_or_else(|| report::NOT_AVAILABLE.to_string()),
            report::percent(policies::submitter_busy(&runs, run)),
            report::tenths(run.switches_per_thousand_tasks()),
            report::percent(run.disturbance()),
        ]);
    }
    let mut body = format!(
        "Every run: `{EMPTY}` tasks, the number in the table, on as many workers as cores ({}); \
         the stages' queues hold {QUEUE} and block when full. \"Per task\" is the pool's own \
         elapsed time, from the first submit to the last task's end, over the tasks; CPU per \
         task counts every thread, and leaves out what every process spends starting up (the \
         sequential loop's CPU time beyond its elapsed time); \"submitter on a core\" is the \
         share of the elapsed time the main thread, which submits the tasks, spent running. \
         The sequential loop's row is what an empty task costs with no pool at all. {}\n\n",
        cores(),
        granularity::repetitions(rounds),
    );
    if !table.is_empty() {
        body.push_str(&table.markdown());
    }
    body.push_str(&granularity::disturbed_note(&runs));
    body.push_str(&problems(&runs));
    let _ = writeln!(body);
    for run in &runs {
        if let (Some((target, verdict)), Some(measured)) = (verdict(run), ns_per_task(run)) {
            let _ = writeln!(
                body,
                "- Target for {}: at most {} per empty task. It took {}: {verdict}.",
                run.job.runner.label(),
                report::nanos(target),
                report::nanos(measured)
            );
        }
    }
    Report {
        scenario: Scenario::Overhead,
        chart: chart(&runs),
        body,
        runs,
    }
}

fn chart(runs: &[Run]) -> Option<Chart> {
    let bars: Vec<Bar> = runs
        .iter()
        .filter_map(|run| {
            Some(Bar {
                label: run.job.runner.label(),
                key: run.job.runner.key().to_string(),
                value: ns_per_task(run)?,
            })
        })
        .collect();
    (!bars.is_empty()).then(|| Chart {
        title: format!("overhead: empty tasks on {} workers = cores", cores()),
        columns: 1,
        panels: vec![Panel::Bars(BarPanel {
            title: "Elapsed time per empty task".to_string(),
            axis: "ns per task".to_string(),
            log: false,
            bars,
        })],
    })
}
