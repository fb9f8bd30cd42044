//! `granularity`: CPU tasks from nothing at all to 1 ms, on as many workers as cores. How close
//! does each pool get to the ideal (the sequential time divided by the cores), and what does a
//! task cost when it is too small to pay for its trip through the pool?

use std::fmt::Write as _;
use std::time::Duration;

use harness::cores;

use super::{DISTURBED, Job, Options, Report, Run, Runner, Scenario, Size, problems, task};
use crate::chart::{Chart, LinePanel, Panel, Series};
use crate::peer::Peer;
use crate::report::{self, Table};
use crate::stages::{STAGES, stage};

/// Queue capacity of the bounded stages, as in `same-job`.
pub const QUEUE: usize = 16;
/// The queue of an extra stage-03 run at the tiny size: large, but still bounded.
pub const LARGE_QUEUE: usize = 1_024;
/// The task size at which the tutorial's bounded pool was no faster than a loop.
pub const TINY: &str = "cpu:1us";

/// How many times each run is repeated; the fastest counts. Only times matter in this scenario,
/// and they are the one thing a shared machine disturbs.
pub fn rounds(options: Options) -> usize {
    match options.size {
        Size::Full => 3,
        Size::Quick => 1,
    }
}

/// Task sizes and how many tasks of each make about half a second of ideal time on 2 cores.
pub fn sizes(size: Size) -> Vec<(&'static str, usize)> {
    let full = [
        ("cpu:0ns", 500_000),
        (TINY, 500_000),
        ("cpu:10us", 100_000),
        ("cpu:100us", 10_000),
        ("cpu:1ms", 1_000),
    ];
    let divisor = match size {
        Size::Full => 1,
        Size::Quick => 10,
    };
    full.map(|(spec, tasks)| (spec, tasks / divisor)).to_vec()
}

/// Who runs: the sequential baseline, the pool stages, and the CPU peers.
pub fn lineup() -> Vec<Runner> {
    let mut runners = vec![Runner::Peer(Peer::Sequential)];
    runners.extend(STAGES[1..5].iter().map(Runner::Stage));
    runners.extend([Peer::Threadpool, Peer::RayonScope, Peer::RayonParIter].map(Runner::Peer));
    runners
}

/// The runs: every runner at every size with `workers = cores`. At the tiny size, stage 03 runs
/// twice more, with a large queue and with one that can hold every task, to separate the cost of
/// a small bound from the cost of the pool itself.
pub fn plan(options: Options) -> Vec<Job> {
    let workers = cores();
    let mut jobs = Vec::new();
    for (spec, tasks) in sizes(options.size) {
        for runner in lineup() {
            jobs.push(Job::new(runner, tasks, task(spec), workers, QUEUE));
        }
        if spec == TINY {
            let runner = Runner::Stage(stage("03"));
            for queue in [LARGE_QUEUE, tasks] {
                jobs.push(Job::new(runner, tasks, task(spec), workers, queue));
            }
        }
    }
    jobs
}

/// The ideal time for a job: the sequential loop's time for the same tasks, spread over every
/// core. Measured rather than computed from the nominal duration, because the calibrated work
/// takes longer than nominal on a busy machine, and that would shift every cell alike.
pub fn ideal_ms(runs: &[Run], job: &Job) -> Option<f64> {
    let sequential = runs.iter().find(|run| {
        run.job.runner == Runner::Peer(Peer::Sequential)
            && run.job.task == job.task
            && run.job.tasks == job.tasks
    })?;
    Some(sequential.elapsed_ms()? / cores() as f64)
}

/// Ideal time over measured time: 1.0 is perfect, 1/cores is what one thread achieves.
fn fraction(runs: &[Run], run: &Run) -> Option<f64> {
    let elapsed = run.elapsed_ms()?;
    let ideal = ideal_ms(runs, &run.job)?;
    (!run.job.task.duration.is_zero() && elapsed > 0.0).then(|| ideal / elapsed)
}

fn tasks_per_second(run: &Run) -> Option<f64> {
    let elapsed = run.elapsed_ms()? / 1e3;
    (elapsed > 0.0).then(|| run.job.tasks as f64 / elapsed)
}

/// Rows are runners (stage 03 with the large queue is its own row), columns are task sizes.
fn row_label(run: &Run) -> String {
    let runner = run.job.runner.label();
    match run.job.queue {
        Some(queue) if queue >= run.job.tasks => format!("{runner}, queue never full"),
        Some(queue) if queue != QUEUE => format!("{runner}, queue {}", report::count(queue as u64)),
        _ => runner,
    }
}

/// Stage 03's extra runs get colours of their own.
fn colour_key(run: &Run) -> &'static str {
    match run.job.queue {
        Some(queue) if queue >= run.job.tasks => "03/never-full",
        Some(queue) if queue != QUEUE => "03/large-queue",
        _ => run.job.runner.key(),
    }
}

/// The main table, the close-up at the tiny size, findings and the chart.
pub fn report(runs: Vec<Run>, rounds: usize) -> Report {
    let specs: Vec<_> = {
        let mut specs = Vec::new();
        for run in &runs {
            if !specs.contains(&run.job.task) {
                specs.push(run.job.task);
            }
        }
        specs
    };
    let mut labels: Vec<String> = Vec::new();
    for run in &runs {
        if !labels.contains(&row_label(run)) {
            labels.push(row_label(run));
        }
    }
    let mut header = vec!["run".to_string()];
    header.extend(specs.iter().map(|spec| match spec.duration {
        Duration::ZERO => format!("`{spec}` (tasks/s)"),
        _ => format!("`{spec}`"),
    }));
    let mut table = Table::new(&header);
    for label in &labels {
        let mine: Vec<&Run> = runs.iter().filter(|run| &row_label(run) == label).collect();
        if mine.iter().all(|run| run.ok().is_none()) {
            continue;
        }
        let mut row = vec![label.clone()];
        for spec in &specs {
            let cell = match mine.iter().find(|run| run.job.task == *spec) {
                None => "-".to_string(),
                Some(run) if spec.duration.is_zero() => {
                    let rate = tasks_per_second(run).map_or_else(|| "-".to_string(), report::rate);
                    format!("{rate}{}", mark(run, &runs))
                }
                Some(run) => {
                    let share =
                        fraction(&runs, run).map_or_else(|| "-".to_string(), |f| format!("{f:.2}"));
                    format!("{share}{}", mark(run, &runs))
                }
            };
            row.push(cell);
        }
        table.row(row);
    }
    let mut body = format!(
        "Every pool has as many workers as cores ({}); bounded queues hold {QUEUE}. Each cell is \
         the ideal time (the sequential loop's time divided by the cores) over the measured \
         time: 1.00 is perfect, and the sequential loop itself scores {:.2}. The `cpu:0ns` \
         column is plain throughput, since empty tasks have no ideal time. {}\n\n",
        cores(),
        1.0 / cores() as f64,
        repetitions(rounds),
    );
    if !table.is_empty() {
        body.push_str(&table.markdown());
    }
    body.push_str(&disturbed_note(&runs));
    body.push_str(&close_up(&runs));
    body.push_str(&problems(&runs));
    body.push_str(&findings(&runs));
    Report {
        scenario: Scenario::Granularity,
        chart: chart(&runs),
        body,
        runs,
    }
}

/// How often each run ran, and which one counts: a sentence for under a table's heading.
pub fn repetitions(rounds: usize) -> String {
    match rounds {
        1 => "Each run ran once.".to_string(),
        n => format!(
            "Each run ran {n} times, the sequential loop included, and up to {n} more times \
             while other programs were using more than {:.0}% of the machine; the fastest \
             undisturbed run counts.",
            DISTURBED * 100.0
        ),
    }
}

/// The footnote for the daggers of [`mark`], if any run has one.
pub fn disturbed_note(runs: &[Run]) -> String {
    if runs
        .iter()
        .all(|run| run.ok().is_none() || mark(run, runs).is_empty())
    {
        return String::new();
    }
    format!(
        "\n† Other programs used more than {:.0}% of the machine during this run or its \
         sequential baseline, even after the extra tries: its time is less trustworthy.\n",
        DISTURBED * 100.0
    )
}

/// A dagger for a cell whose run, or whose sequential baseline, shared the machine with other
/// programs even after the extra tries.
pub fn mark(run: &Run, runs: &[Run]) -> &'static str {
    let baseline = runs.iter().find(|other| {
        other.job.runner == Runner::Peer(Peer::Sequential)
            && other.job.task == run.job.task
            && other.job.tasks == run.job.tasks
    });
    let clean = run.undisturbed() && baseline.is_none_or(Run::undisturbed);
    if clean { "" } else { " †" }
}

/// What the tiny tasks cost each runner: CPU time and context switches per task.
fn close_up(runs: &[Run]) -> String {
    let tiny = task(TINY);
    let mut table = Table::new(&[
        "run",
        "tasks",
        "elapsed",
        "vs ideal",
        "CPU time",
        "voluntary switches",
        "involuntary switches",
        "switches per 1,000 tasks",
        "others' CPU share",
    ]);
    for run in runs.iter().filter(|run| run.job.task == tiny) {
        let Some(elapsed) = run.elapsed_ms() else {
            continue;
        };
        let (voluntary, involuntary) = run.switches().unzip();
        table.row(vec![
            row_label(run),
            report::count(run.job.tasks as u64),
            report::millis(elapsed),
            fraction(runs, run).map_or_else(|| "-".to_string(), |f| format!("{f:.2}")),
            report::duration(run.cpu()),
            report::opt_count(voluntary),
            report::opt_count(involuntary),
            report::tenths(run.switches_per_thousand_tasks()),
            report::percent(run.disturbance()),
        ]);
    }
    if table.is_empty() {
        return String::new();
    }
    format!("\nClose-up at `{TINY}`:\n\n{}", table.markdown())
}

fn findings(runs: &[Run]) -> String {
    let tiny = task(TINY);
    let at_tiny = |label: &str| {
        runs.iter()
            .find(|run| run.job.task == tiny && row_label(run) == label)
            .and_then(|run| fraction(runs, run))
    };
    let mut text = String::new();
    let sequential = Runner::Peer(Peer::Sequential).label();
    let bounded = Runner::Stage(stage("03")).label();
    let mutex = Runner::Stage(stage("02")).label();
    let large = format!("{bounded}, queue {}", report::count(LARGE_QUEUE as u64));
    let never_full = format!("{bounded}, queue never full");
    let _ = writeln!(text);
    for label in [&sequential, &mutex, &bounded, &large, &never_full] {
        if let Some(value) = at_tiny(label) {
            let _ = writeln!(text, "- At `{TINY}`, {label} reached {value:.2} of ideal.");
        }
    }
    text
}

fn chart(runs: &[Run]) -> Option<Chart> {
    let series = |value: &dyn Fn(&Run) -> Option<f64>| -> Vec<Series> {
        let mut labels: Vec<(String, &'static str)> = Vec::new();
        for run in runs {
            let label = (row_label(run), colour_key(run));
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        labels
            .into_iter()
            .filter_map(|(label, key)| {
                let points: Vec<(f64, f64)> = runs
                    .iter()
                    .filter(|run| row_label(run) == label && !run.job.task.duration.is_zero())
                    .filter_map(|run| {
                        Some((run.job.task.duration.as_secs_f64() * 1e6, value(run)?))
                    })
                    .collect();
                (!points.is_empty()).then(|| Series {
                    name: label,
                    key: key.to_string(),
                    points,
                })
            })
            .collect()
    };
    let fractions = series(&|run| fraction(runs, run));
    if fractions.is_empty() {
        return None;
    }
    let switches = series(&|run| {
        let (v, i) = run.switches()?;
        Some(((v + i) as f64 / run.job.tasks as f64).max(1e-3))
    });
    Some(Chart {
        title: format!("granularity: CPU tasks on {} workers = cores", cores()),
        columns: 2,
        panels: vec![
            Panel::Lines(LinePanel {
                title: "Share of the ideal time".to_string(),
                x_axis: "task duration, µs (log scale)".to_string(),
                y_axis: "ideal / elapsed (1 = perfect)".to_string(),
                x_log: true,
                y_log: false,
                series: fractions,
            }),
            Panel::Lines(LinePanel {
                title: "Context switches per task".to_string(),
                x_axis: "task duration, µs (log scale)".to_string(),
                y_axis: "switches per task (log scale)".to_string(),
                x_log: true,
                y_log: true,
                series: switches,
            }),
        ],
    })
}
