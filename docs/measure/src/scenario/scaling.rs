//! `scaling`: the same stages with more and more tasks. Tasks arrive faster than they finish, so
//! whatever a stage keeps per waiting task (a thread, a queue entry) shows up in its peak memory.

use std::fmt::Write as _;

use harness::table;

use super::{Job, Options, Report, Run, Runner, Scenario, Size, problems, runners, task};
use crate::chart::{Chart, LinePanel, Panel, Series};
use crate::stages::{STAGES, stage};
use harness::table::Table;

/// Queue capacity of the bounded stages.
pub const QUEUE: usize = 16;

/// The runs of one size.
struct Sizes {
    /// Task counts for the pools.
    pool_tasks: &'static [usize],
    /// Workers of every pool.
    workers: usize,
    /// What a pool's task does: far slower than a submit (well under a microsecond), so an
    /// unbounded queue fills up almost as fast as the tasks are submitted.
    pool_task: &'static str,
    /// Task counts for stage 01, which stops at 10,000 threads.
    unbounded_tasks: &'static [usize],
    /// Stage 01's task: it sleeps long enough that every thread is still alive when the last
    /// one starts, since starting a thread can take 100 µs or more.
    unbounded_task: &'static str,
}

fn sizes(size: Size) -> Sizes {
    match size {
        // Sixteen workers get through a million tasks of 100 µs in seconds.
        Size::Full => Sizes {
            pool_tasks: &[1_000, 10_000, 100_000, 1_000_000],
            workers: 16,
            pool_task: "sleep:100us",
            unbounded_tasks: &[1_000, 10_000],
            unbounded_task: "sleep:2s",
        },
        // The sizes the tests compare (1,000 and 100,000 tasks), with shorter sleeps and more
        // workers: 100,000 tasks still arrive far faster than the workers finish them, which is
        // all a queue's memory needs, in a fraction of the time. 200 threads start well within
        // 200 ms.
        Size::Quick => Sizes {
            pool_tasks: &[1_000, 100_000],
            workers: 32,
            pool_task: "sleep:10us",
            unbounded_tasks: &[100, 200],
            unbounded_task: "sleep:200ms",
        },
    }
}

/// The runs: stage 01 at its sizes, then each pool stage at every size.
pub fn plan(options: Options) -> Vec<Job> {
    let sizes = sizes(options.size);
    let unbounded = sizes.unbounded_tasks.iter().map(|&tasks| {
        Job::new(
            Runner::Stage(stage("01")),
            tasks,
            task(sizes.unbounded_task),
            sizes.workers,
            QUEUE,
        )
    });
    let pools = STAGES[1..5].iter().flat_map(|pool| {
        sizes.pool_tasks.iter().map(move |&tasks| {
            Job::new(
                Runner::Stage(pool),
                tasks,
                task(sizes.pool_task),
                sizes.workers,
                QUEUE,
            )
        })
    });
    unbounded.chain(pools).collect()
}

/// Two pivot tables (peak RSS, peak threads), the findings and the chart.
pub fn report(runs: Vec<Run>) -> Report {
    let mut counts: Vec<usize> = runs.iter().map(|run| run.job.tasks).collect();
    counts.sort_unstable();
    counts.dedup();
    let pivot = |value: &dyn Fn(&Run) -> String| {
        let mut header = vec!["stage (task)".to_string()];
        header.extend(
            counts
                .iter()
                .map(|&n| format!("{} tasks", table::thousands(n as u64))),
        );
        let mut table = Table::titled(&header, 1);
        for runner in runners(&runs) {
            let mine: Vec<&Run> = runs.iter().filter(|run| run.job.runner == runner).collect();
            if mine.iter().all(|run| run.ok().is_none()) {
                continue;
            }
            let mut row = vec![format!("{} ({})", runner.label(), mine[0].job.task)];
            for &count in &counts {
                let cell = mine
                    .iter()
                    .find(|run| run.job.tasks == count)
                    .map_or_else(|| "-".to_string(), |run| value(run));
                row.push(cell);
            }
            table.push_row(row);
        }
        table
    };
    let rss = pivot(&|run| table::or_na((run.peak_rss_kib()).map(table::memory)));
    let threads = pivot(&|run| table::or_na((run.peak_threads()).map(table::thousands)));
    let mut body = match runs.iter().find(|run| run.job.runner.is_pool()) {
        Some(pool) => format!(
            "Pools: {} workers, bounded queues of {QUEUE}, tasks of `{}`. ",
            pool.job.workers.unwrap_or_default(),
            pool.job.task
        ),
        None => String::new(),
    };
    body.push_str(
        "Stage 01 has no pool and sleeps longer (see its row), so that all its threads are \
         alive together.\n\n",
    );
    if !rss.is_empty() {
        let _ = write!(
            body,
            "Peak resident memory:\n\n{}\nPeak threads:\n\n{}",
            rss.markdown(),
            threads.markdown()
        );
    }
    body.push_str(&problems(&runs));
    body.push_str(&findings(&runs));
    Report {
        scenario: Scenario::Scaling,
        chart: chart(&runs),
        body,
        runs,
    }
}

/// The smallest and largest run of `number` that have numbers.
fn extremes<'a>(runs: &'a [Run], number: &str) -> Option<(&'a Run, &'a Run)> {
    let mine = || {
        runs.iter()
            .filter(move |run| run.job.runner == Runner::Stage(stage(number)))
            .filter(|run| run.peak_rss_kib().is_some())
    };
    let smallest = mine().min_by_key(|run| run.job.tasks)?;
    let largest = mine().max_by_key(|run| run.job.tasks)?;
    Some((smallest, largest))
}

/// A per-task size; below one byte it is noise in a number of KiB.
fn bytes(value: f64) -> String {
    if value.abs() < 1.0 {
        "under 1 byte".to_string()
    } else {
        format!("{} bytes", table::significant(value))
    }
}

/// The growth in peak RSS between two runs, per task added.
fn bytes_per_task(small: &Run, large: &Run) -> f64 {
    let kib = |run: &Run| run.peak_rss_kib().unwrap_or(0) as f64;
    let added = large.job.tasks.saturating_sub(small.job.tasks).max(1) as f64;
    (kib(large) - kib(small)) * 1024.0 / added
}

fn findings(runs: &[Run]) -> String {
    let mut text = String::new();
    if let Some((small, large)) = extremes(runs, "02") {
        let _ = writeln!(
            text,
            "\n- Stage 02's unbounded queue grew from {} at {} tasks to {} at {} tasks: \
             about {} per waiting task.",
            table::or_na((small.peak_rss_kib()).map(table::memory)),
            table::thousands(small.job.tasks as u64),
            table::or_na((large.peak_rss_kib()).map(table::memory)),
            table::thousands(large.job.tasks as u64),
            bytes(bytes_per_task(small, large)),
        );
    }
    for number in ["03", "04", "05"] {
        if let Some((small, large)) = extremes(runs, number) {
            let _ = writeln!(
                text,
                "- Stage {number} went from {} at {} tasks to {} at {} tasks ({:.2}x, {} per \
                 task).",
                table::or_na((small.peak_rss_kib()).map(table::memory)),
                table::thousands(small.job.tasks as u64),
                table::or_na((large.peak_rss_kib()).map(table::memory)),
                table::thousands(large.job.tasks as u64),
                large.peak_rss_kib().unwrap_or(0) as f64
                    / small.peak_rss_kib().unwrap_or(1).max(1) as f64,
                bytes(bytes_per_task(small, large)),
            );
        }
    }
    if let Some((small, large)) = extremes(runs, "01") {
        let threads = |run: &Run| run.peak_threads().unwrap_or(0) as f64;
        let vm = |run: &Run| run.peak_vm_kib().unwrap_or(0) as f64;
        let added = threads(large) - threads(small);
        if added > 0.0 {
            let vm_per_thread = (vm(large) - vm(small)) / added;
            let rss_per_thread = (large.peak_rss_kib().unwrap_or(0) as f64
                - small.peak_rss_kib().unwrap_or(0) as f64)
                / added;
            let projected = vm_per_thread * 50_000.0;
            let _ = writeln!(
                text,
                "- Each extra thread of stage 01 reserved {} MiB of virtual memory and {} KiB \
                 resident. At that rate 50,000 threads would reserve {} ({} GB); projected, \
                 not measured.",
                table::significant(vm_per_thread / 1024.0),
                table::significant(rss_per_thread),
                table::memory(projected as u64),
                table::significant(projected * 1024.0 / 1e9),
            );
        }
        let _ = writeln!(
            text,
            "- Stage 01 with {} tasks: {} threads at the peak, {} resident, {} of virtual memory.",
            table::thousands(large.job.tasks as u64),
            table::or_na((large.peak_threads()).map(table::thousands)),
            table::or_na((large.peak_rss_kib()).map(table::memory)),
            table::or_na((large.peak_vm_kib()).map(table::memory)),
        );
    }
    text
}

fn chart(runs: &[Run]) -> Option<Chart> {
    let series = |value: &dyn Fn(&Run) -> Option<f64>| -> Vec<Series> {
        runners(runs)
            .into_iter()
            .filter_map(|runner| {
                let points: Vec<(f64, f64)> = runs
                    .iter()
                    .filter(|run| run.job.runner == runner)
                    .filter_map(|run| Some((run.job.tasks as f64, value(run)?)))
                    .collect();
                let task = runs.iter().find(|run| run.job.runner == runner)?.job.task;
                (!points.is_empty()).then(|| Series {
                    name: format!("{} ({task})", runner.label()),
                    key: runner.key().to_string(),
                    points,
                })
            })
            .collect()
    };
    let rss = series(&|run| run.peak_rss_kib().map(|kib| kib as f64 / 1024.0));
    if rss.is_empty() {
        return None;
    }
    let threads = series(&|run| run.peak_threads().map(|t| t as f64));
    Some(Chart {
        title: "scaling: what a waiting task costs".to_string(),
        columns: 2,
        panels: vec![
            Panel::Lines(LinePanel {
                title: "Peak resident memory".to_string(),
                x_axis: "tasks (log scale)".to_string(),
                y_axis: "MiB (log scale)".to_string(),
                x_log: true,
                y_log: true,
                series: rss,
            }),
            Panel::Lines(LinePanel {
                title: "Peak threads".to_string(),
                x_axis: "tasks (log scale)".to_string(),
                y_axis: "threads (log scale)".to_string(),
                x_log: true,
                y_log: true,
                series: threads,
            }),
        ],
    })
}
