//! `io-at-scale`: tens of thousands of tasks that each wait 100 ms, through pools of 4, 64 and 512
//! workers, tokio, and stage 01 at 10,000 threads.

use harness::cores;
use harness::table;
use minijinja::{Value, context};

use super::{Job, Options, QUEUE, Report, Run, Runner, Scenario, Size};
use super::{bar_panel, bars, count, grid, problems, table_of, task};
use crate::chart::Chart;
use crate::peer::Peer;
use crate::stages::stage;

/// Every task waits this long.
const TASK: &str = "sleep:100ms";
/// The pools measured here: the first bounded stage and the last one.
const POOL_STAGES: [&str; 2] = ["03", "05"];

/// The workload's size (`target` tasks), the pools' worker counts (each pool gets `workers *
/// waves` tasks, at most `target`), and stage 01's task count without `--include-50k`.
struct Sizes {
    target: usize,
    waves: usize,
    workers: &'static [usize],
    unbounded: usize,
}

fn sizes(size: Size) -> Sizes {
    match size {
        // A pool of 4 would need 50,000 x 100 ms / 4 = 1,250 s for every task; 100 waves
        // (10 s) measure its rate as well, and the table projects the rest.
        Size::Full => Sizes {
            target: 50_000,
            waves: 100,
            workers: &[4, 64, 512],
            unbounded: 10_000,
        },
        // At most a few hundred threads in any child, so that tests may run this; one wave
        // shows a pool's threads and its rate.
        Size::Quick => Sizes {
            target: 5_000,
            waves: 1,
            workers: &[4, 64, 256],
            unbounded: 100,
        },
    }
}

/// The runs: stage 01, the pools at each size, then tokio with the whole target.
pub fn plan(options: Options) -> Vec<Job> {
    let sizes = sizes(options.size);
    let job = |runner, tasks, workers| Job::new(runner, tasks, task(TASK), workers, QUEUE);
    let unbounded = Runner::Stage(stage("01"));
    let mut jobs = vec![job(unbounded, sizes.unbounded, 1)];
    if options.include_50k {
        jobs.push(job(unbounded, 50_000, 1));
    }
    for number in POOL_STAGES {
        for &workers in sizes.workers {
            let tasks = (workers * sizes.waves).min(sizes.target);
            jobs.push(job(Runner::Stage(stage(number)), tasks, workers));
        }
    }
    jobs.push(job(Runner::Peer(Peer::Tokio), sizes.target, cores()));
    jobs
}

fn rate(run: &Run) -> Option<f64> {
    let elapsed = run.elapsed_ms()? / 1e3;
    (elapsed > 0.0).then(|| run.job.tasks as f64 / elapsed)
}

/// Milliseconds for `target` tasks, and whether projected from a pool's rate (never stage 01's).
fn time_for(run: &Run, target: usize) -> Option<(f64, bool)> {
    if run.job.tasks >= target {
        Some((run.elapsed_ms()?, false))
    } else {
        let projected = target as f64 / rate(run)? * 1e3;
        run.job.runner.is_pool().then_some((projected, true))
    }
}

/// The table, the findings and the chart.
pub fn report(runs: Vec<Run>, target: usize) -> Report {
    let target_text = count(target);
    let for_target = format!("time for {target_text} tasks");
    let table = table_of(&runs, |run| {
        let (elapsed, per_second) = (run.elapsed_ms()?, rate(run)?);
        let for_target_cell = match time_for(run, target) {
            Some((ms, false)) => table::time_ms(ms),
            Some((ms, true)) => format!("{} (projected)", table::time_ms(ms)),
            None => "-".to_string(),
        };
        let [threads, rss, vm] = run.peak_cells();
        let workers = run.job.workers.map_or("-".to_string(), |w| w.to_string());
        Some(vec![
            ("run", run.job.runner.label()),
            ("workers", workers),
            ("tasks", count(run.job.tasks)),
            ("peak threads", threads),
            ("peak RSS", rss),
            ("peak virtual memory", vm),
            ("CPU time", table::or_na(run.cpu().map(table::time))),
            ("elapsed", table::time_ms(elapsed)),
            ("tasks/s", table::per_second(per_second)),
            (&for_target, for_target_cell),
        ])
    });
    let task_ms = task(TASK).duration.as_secs_f64() * 1e3;
    let is_stage = |run: &Run| matches!(run.job.runner, Runner::Stage(_));
    let stage_workers = |run: &Run| run.job.workers.filter(|_| is_stage(run));
    let smallest = runs.iter().filter_map(stage_workers).min().unwrap_or(1);
    // The waves of tasks a pool that did not get every task ran, one task per worker each.
    let mut partial = runs
        .iter()
        .filter(|run| run.job.runner.is_pool() && run.job.tasks < target);
    let waves = partial.find_map(|run| Some(run.job.tasks / run.job.workers?));
    let tokio = Runner::Peer(Peer::Tokio);
    let measured = || runs.iter().filter(|run| run.ok().is_some());
    let pools = || measured().filter(|run| run.job.runner.is_pool() && run.job.runner != tokio);
    let biggest_pool = pools().max_by_key(|run| run.job.workers);
    let tokio = measured().find(|run| run.job.runner == tokio);
    let peaks = |run: &Run| {
        let [threads, rss, vm] = run.peak_cells();
        context! { threads, rss, vm }
    };
    let stage_01: Vec<Value> = runs
        .iter()
        .filter(|run| !run.job.runner.is_pool() && run.peak_threads().is_some())
        .map(|run| context! { tasks => count(run.job.tasks), ..peaks(run) })
        .collect();
    let figures = context! {
        task => TASK,
        smallest,
        target => target_text,
        task_ms,
        all_of_them => table::time_ms(target as f64 * task_ms / smallest as f64),
        waves => table::time_ms(waves.unwrap_or(1) as f64 * task_ms),
        cores => cores(),
        table,
        problems => problems(&runs).trim(),
        // tokio beside the biggest pool: only when both ran.
        tokio => tokio.filter(|_| biggest_pool.is_some()).map(|tokio| context! {
            elapsed => table::time_ms(tokio.elapsed_ms().unwrap_or(0.0)),
            ..peaks(tokio)
        }),
        pool => biggest_pool.map(|pool| context! {
            workers => pool.job.workers.unwrap_or(0),
            label => pool.job.runner.label(),
            rate => rate(pool).map_or_else(|| "-".to_string(), table::per_second),
            ..peaks(pool)
        }),
        stage_01,
    };
    Report::render(Scenario::IoAtScale, figures, chart(&runs, target), runs)
}

/// The target size of the current run, for the report.
pub fn target(options: Options) -> usize {
    sizes(options.size).target
}

fn chart(runs: &[Run], target: usize) -> Option<Chart> {
    if runs.iter().all(|run| run.ok().is_none()) {
        return None;
    }
    // Short labels: the runner's number or name, and what sets its concurrency.
    let label = |run: &Run| match (run.job.runner, run.job.workers) {
        (Runner::Peer(peer), Some(workers)) => format!("{}, {workers} threads", peer.name()),
        (runner, Some(workers)) => format!("{}, {workers} workers", runner.key()),
        (runner, None) => format!("{}, {} tasks", runner.key(), count(run.job.tasks)),
    };
    let for_target = bars(runs, label, |run| Some(time_for(run, target)?.0 / 1e3));
    let threads = bars(runs, label, |run| run.peak_threads().map(|t| t as f64));
    let title = format!("Time for {} tasks (projected if fewer ran)", count(target));
    let panels = vec![
        bar_panel(title, "seconds (log scale)", for_target),
        bar_panel("Peak threads", "threads (log scale)", threads),
    ];
    Some(grid(format!("io-at-scale: tasks of {TASK}"), 2, panels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_without_runs_still_explains_its_sizes() {
        let body = report(Vec::new(), 1_000).body;
        assert!(body.starts_with("Every task is `sleep:100ms`."), "{body}");
        assert!(
            body.contains("1,000 tasks or as many as they finish"),
            "{body}"
        );
    }
}
