//! `same-job`: one workload of sleeping tasks through every stage and peer, to compare what each
//! costs in threads, memory and context switches for the same result.

use std::fmt::Write as _;

use harness::table;

use super::{Job, Options, Report, Run, Runner, Scenario, Size, problems, task};
use crate::chart::{Bar, BarPanel, Chart, Panel};
use crate::peer::Peer;
use crate::stages::STAGES;
use harness::table::Table;

/// Workers and queue capacity of every pool in this scenario.
pub const WORKERS: usize = 4;
/// Queue capacity of the bounded stages.
pub const QUEUE: usize = 16;

/// The runs: every stage but 06, then the peers.
pub fn plan(options: Options) -> Vec<Job> {
    let (tasks, spec) = match options.size {
        Size::Full => (1_000, task("sleep:20ms")),
        // Long enough sleeps that stage 01 starts every thread before the first one finishes,
        // even on a busy machine where a spawn can take a few hundred microseconds; few enough
        // tasks that a pool of four gets through them in four waits.
        Size::Quick => (16, task("sleep:50ms")),
    };
    let stages = STAGES[..5].iter().map(Runner::Stage);
    let peers = [
        Peer::Threadpool,
        Peer::RayonScope,
        Peer::RayonParIter,
        Peer::Tokio,
    ]
    .map(Runner::Peer);
    stages
        .chain(peers)
        .map(|runner| Job::new(runner, tasks, spec, WORKERS, QUEUE))
        .collect()
}

/// The table, the findings and the chart.
pub fn report(runs: Vec<Run>) -> Report {
    let mut table = Table::titled(
        &[
            "run",
            "workers",
            "queue",
            "peak threads",
            "peak RSS",
            "peak virtual memory",
            "context switches (voluntary + involuntary)",
            "CPU time",
            "elapsed",
            "ideal",
            "elapsed / ideal",
            "completed",
        ],
        1,
    );
    for run in &runs {
        let Some(summary) = run.ok().and_then(|m| m.summary.as_ref()) else {
            continue;
        };
        let switches = run.switches().map_or_else(
            || table::NOT_AVAILABLE.to_string(),
            |(voluntary, involuntary)| {
                format!(
                    "{} + {}",
                    table::thousands(voluntary),
                    table::thousands(involuntary)
                )
            },
        );
        let dash = |value: Option<usize>| value.map_or("-".to_string(), |v| v.to_string());
        table.push_row(vec![
            run.job.runner.label(),
            dash(run.job.workers),
            dash(run.job.queue),
            table::or_na((run.peak_threads()).map(table::thousands)),
            table::or_na((run.peak_rss_kib()).map(table::memory)),
            table::or_na((run.peak_vm_kib()).map(table::memory)),
            switches,
            table::or_na((run.cpu()).map(table::time)),
            table::time_ms(summary.elapsed_ms),
            table::time_ms(summary.ideal_ms),
            ratio(summary.elapsed_ms, summary.ideal_ms),
            completed(summary),
        ]);
    }
    let mut body = String::new();
    if let Some(first) = runs.first() {
        let _ = writeln!(
            body,
            "Every run: {} tasks of `{}`; pools with {WORKERS} workers, bounded queues of {QUEUE}.\n",
            table::thousands(first.job.tasks as u64),
            first.job.task
        );
    }
    if !table.is_empty() {
        body.push_str(&table.markdown());
    }
    body.push_str(&problems(&runs));
    body.push_str(&findings(&runs));
    Report {
        scenario: Scenario::SameJob,
        chart: chart(&runs),
        body,
        runs,
    }
}

/// `1,000 of 1,000`, with the panicked tasks if there were any.
fn completed(summary: &harness::Summary) -> String {
    let text = format!(
        "{} of {}",
        table::thousands(summary.completed as u64),
        table::thousands(summary.tasks as u64)
    );
    match summary.panicked {
        0 => text,
        panicked => format!("{text} ({} panicked)", table::thousands(panicked as u64)),
    }
}

fn ratio(elapsed: f64, ideal: f64) -> String {
    if ideal > 0.0 {
        format!("{:.2}x", elapsed / ideal)
    } else {
        "-".to_string()
    }
}

/// Sentences with the numbers the prose talks about, so that no figure is typed by hand.
fn findings(runs: &[Run]) -> String {
    let mut text = String::new();
    let unbounded = runs
        .iter()
        .find(|run| !run.job.runner.is_pool() && run.ok().is_some());
    let pools: Vec<&Run> = runs
        .iter()
        .filter(|run| run.job.runner.is_pool() && run.ok().is_some())
        .collect();
    let most_pool_threads = pools.iter().filter_map(|run| run.peak_threads()).max();
    if let (Some(run), Some(pool_threads)) = (unbounded, most_pool_threads) {
        let tasks = run.job.tasks as u64;
        let threads = run.peak_threads().unwrap_or(0);
        let _ = writeln!(
            text,
            "\n- Stage 01 had at most {} threads at once (its main thread included) for {} \
             tasks; no pool had more than {}.",
            table::thousands(threads),
            table::thousands(tasks),
            table::thousands(pool_threads),
        );
        if let Some(elapsed) = run.elapsed_ms() {
            let task_ms = run.job.task.duration.as_secs_f64() * 1e3;
            let per_thread_us = (elapsed - task_ms).max(0.0) * 1e3 / tasks as f64;
            let _ = writeln!(
                text,
                "- Stage 01 took {} for tasks of {}: about {} µs per thread started.",
                table::time_ms(elapsed),
                table::time_ms(task_ms),
                table::significant(per_thread_us),
            );
        }
        if let Some(vm) = run.peak_vm_kib() {
            let largest_pool_vm = pools.iter().filter_map(|run| run.peak_vm_kib()).max();
            let _ = writeln!(
                text,
                "- Stage 01 reserved {} of virtual memory; no pool reserved more than {}.",
                table::memory(vm),
                table::or_na((largest_pool_vm).map(table::memory)),
            );
        }
        // Thread pools only: tokio's run is so short that its rate says little.
        let pool_rates: Vec<f64> = pools
            .iter()
            .filter(|run| run.job.runner != Runner::Peer(Peer::Tokio))
            .filter_map(|run| switch_rate(run))
            .collect();
        if let (Some(rate), Some(busiest)) = (
            switch_rate(run),
            pool_rates.iter().copied().reduce(f64::max),
        ) {
            let total = run.switches().map_or(0, |(v, i)| v + i);
            let _ = writeln!(
                text,
                "- Stage 01 made {} context switches, {} per second of its run; the busiest \
                 thread pool made {} per second.",
                table::thousands(total),
                table::thousands(rate.round() as u64),
                table::thousands(busiest.round() as u64),
            );
        }
    }
    text
}

/// Context switches per second of the pool's own elapsed time.
fn switch_rate(run: &Run) -> Option<f64> {
    let (voluntary, involuntary) = run.switches()?;
    let seconds = run.elapsed_ms()? / 1e3;
    (seconds > 0.0).then(|| (voluntary + involuntary) as f64 / seconds)
}

fn chart(runs: &[Run]) -> Option<Chart> {
    let measured: Vec<&Run> = runs.iter().filter(|run| run.ok().is_some()).collect();
    if measured.is_empty() {
        return None;
    }
    let bars = |value: &dyn Fn(&Run) -> Option<f64>| -> Vec<Bar> {
        measured
            .iter()
            .filter_map(|run| {
                Some(Bar {
                    label: run.job.runner.label(),
                    key: run.job.runner.key().to_string(),
                    value: value(run)?,
                })
            })
            .collect()
    };
    let mib = |kib: Option<u64>| kib.map(|kib| kib as f64 / 1024.0);
    let panels = vec![
        Panel::Bars(BarPanel {
            title: "Peak threads".to_string(),
            axis: "threads (log scale)".to_string(),
            log: true,
            bars: bars(&|run| run.peak_threads().map(|t| t as f64)),
        }),
        Panel::Bars(BarPanel {
            title: "Peak virtual memory".to_string(),
            axis: "MiB (log scale)".to_string(),
            log: true,
            bars: bars(&|run| mib(run.peak_vm_kib())),
        }),
        Panel::Bars(BarPanel {
            title: "Peak resident memory".to_string(),
            axis: "MiB".to_string(),
            log: false,
            bars: bars(&|run| mib(run.peak_rss_kib())),
        }),
        Panel::Bars(BarPanel {
            title: "Elapsed".to_string(),
            axis: "seconds (log scale)".to_string(),
            log: true,
            bars: bars(&|run| run.elapsed_ms().map(|ms| ms / 1e3)),
        }),
    ];
    let first = measured[0];
    Some(Chart {
        title: format!(
            "same-job: {} tasks of {}, pools of {WORKERS} workers",
            table::thousands(first.job.tasks as u64),
            first.job.task
        ),
        panels,
        columns: 2,
    })
}
