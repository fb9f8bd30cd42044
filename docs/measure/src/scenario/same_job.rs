//! `same-job`: one workload of sleeping tasks through every stage and peer, to compare what each
//! costs in threads, memory and context switches for the same result.

use harness::table;
use minijinja::{Value, context};

use super::granularity::CPU_PEERS;
use super::{Job, Options, QUEUE, Report, Run, Runner, Scenario};
use super::{bar_panel, bars, count, grid, problems, table_of, task};
use crate::chart::Chart;
use crate::peer::Peer;
use crate::stages::STAGES;

/// Workers of every pool in this scenario.
pub const WORKERS: usize = 4;

/// The runs: every stage but 06, then the peers that run CPU tasks on a pool, and tokio.
pub fn plan(options: Options) -> Vec<Job> {
    // Quick: long enough sleeps that stage 01 starts every thread before the first one finishes,
    // even on a busy machine where a spawn can take a few hundred microseconds; few enough tasks
    // that a pool of four gets through them in four waits.
    let (tasks, spec) = options.size.pick((1_000, "sleep:20ms"), (16, "sleep:50ms"));
    let stages = STAGES[..5].iter().map(Runner::Stage);
    let peers = CPU_PEERS.into_iter().chain([Peer::Tokio]).map(Runner::Peer);
    stages
        .chain(peers)
        .map(|runner| Job::new(runner, tasks, task(spec), WORKERS, QUEUE))
        .collect()
}

/// The table, the findings and the chart.
pub fn report(runs: Vec<Run>) -> Report {
    let table = table_of(&runs, |run| {
        let summary = run.ok()?.summary.as_ref()?;
        let switches = run.switches().map(|(voluntary, involuntary)| {
            let [voluntary, involuntary] = [voluntary, involuntary].map(table::thousands);
            format!("{voluntary} + {involuntary}")
        });
        let dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_string());
        let ratio = summary.elapsed_ms / summary.ideal_ms;
        let ratio = (summary.ideal_ms > 0.0).then(|| format!("{ratio:.2}x"));
        let [threads, rss, vm] = run.peak_cells();
        let switches = table::or_na(switches);
        Some(vec![
            ("run", run.job.runner.label()),
            ("workers", dash(run.job.workers.map(|n| n.to_string()))),
            ("queue", dash(run.job.queue.map(|n| n.to_string()))),
            ("peak threads", threads),
            ("peak RSS", rss),
            ("peak virtual memory", vm),
            ("context switches (voluntary + involuntary)", switches),
            ("CPU time", table::or_na(run.cpu().map(table::time))),
            ("elapsed", table::time_ms(summary.elapsed_ms)),
            ("ideal", table::time_ms(summary.ideal_ms)),
            ("elapsed / ideal", dash(ratio)),
            ("completed", completed(summary)),
        ])
    });
    let first = runs.first().map(|run| run.job);
    let figures = context! {
        tasks => first.map(|job| count(job.tasks)),
        task => first.map(|job| job.task.to_string()),
        workers => WORKERS,
        queue => QUEUE,
        table,
        problems => problems(&runs).trim(),
        ..findings(&runs)
    };
    Report::render(Scenario::SameJob, figures, chart(&runs), runs)
}

/// `1,000 of 1,000`, with the panicked tasks if there were any.
fn completed(summary: &harness::Summary) -> String {
    let text = format!("{} of {}", count(summary.completed), count(summary.tasks));
    match summary.panicked {
        0 => text,
        panicked => format!("{text} ({} panicked)", count(panicked)),
    }
}

/// The figures of the findings: what stage 01's threads cost against the pools.
fn findings(runs: &[Run]) -> Value {
    let measured = |pool| {
        runs.iter()
            .filter(move |run| run.job.runner.is_pool() == pool && run.ok().is_some())
    };
    let most_pool_threads = measured(true).filter_map(Run::peak_threads).max();
    let (Some(run), Some(pool_threads)) = (measured(false).next(), most_pool_threads) else {
        return context! { stage_01 => () };
    };
    let tasks = run.job.tasks as u64;
    let task_ms = run.job.task.duration.as_secs_f64() * 1e3;
    let per_thread_us =
        |elapsed: f64| table::significant((elapsed - task_ms).max(0.0) * 1e3 / tasks as f64);
    let pool_vm = measured(true).filter_map(Run::peak_vm_kib).max();
    // Thread pools only: tokio's run is so short that its rate says little.
    let busiest = measured(true)
        .filter(|run| run.job.runner != Runner::Peer(Peer::Tokio))
        .filter_map(switch_rate)
        .reduce(f64::max);
    let switches = switch_rate(run).zip(busiest).map(|(rate, busiest)| {
        context! {
            total => table::thousands(run.switches().map_or(0, |(v, i)| v + i)),
            rate => table::thousands(rate.round() as u64),
            busiest => table::thousands(busiest.round() as u64),
        }
    });
    context! {
        stage_01 => context! {
            threads => table::thousands(run.peak_threads().unwrap_or(0)),
            tasks => table::thousands(tasks),
            elapsed => run.elapsed_ms().map(table::time_ms),
            task_ms => table::time_ms(task_ms),
            per_thread_us => run.elapsed_ms().map(per_thread_us),
            vm => run.peak_vm_kib().map(table::memory),
        },
        pool_threads => table::thousands(pool_threads),
        pool_vm => table::or_na(pool_vm.map(table::memory)),
        switches,
    }
}

/// Context switches per second of the pool's own elapsed time.
fn switch_rate(run: &Run) -> Option<f64> {
    let (voluntary, involuntary) = run.switches()?;
    let seconds = run.elapsed_ms()? / 1e3;
    (seconds > 0.0).then(|| (voluntary + involuntary) as f64 / seconds)
}

fn chart(runs: &[Run]) -> Option<Chart> {
    let first = runs.iter().find(|run| run.ok().is_some())?;
    let mib = |kib: Option<u64>| kib.map(|kib| kib as f64 / 1024.0);
    let panel = |title, axis, value: &dyn Fn(&Run) -> Option<f64>| {
        bar_panel(title, axis, bars(runs, |run| run.job.runner.label(), value))
    };
    let (tasks, task) = (count(first.job.tasks), first.job.task);
    let title = format!("same-job: {tasks} tasks of {task}, pools of {WORKERS} workers");
    let panels = vec![
        panel("Peak threads", "threads (log scale)", &|run| {
            run.peak_threads().map(|t| t as f64)
        }),
        panel("Peak virtual memory", "MiB (log scale)", &|run| {
            mib(run.peak_vm_kib())
        }),
        panel(
            "Peak resident memory",
            "MiB",
            &|run| mib(run.peak_rss_kib()),
        ),
        panel("Elapsed", "seconds (log scale)", &|run| {
            run.elapsed_ms().map(|ms| ms / 1e3)
        }),
    ];
    Some(grid(title, 2, panels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{assert_text, finished};

    #[test]
    fn a_report_without_measurements_still_says_what_ran() {
        let runner = Runner::Stage(&STAGES[0]);
        let job = Job::new(runner, 100, task("sleep:1ms"), WORKERS, QUEUE);
        let body = report(vec![finished(job, 10.0, 0)]).body;
        assert!(
            body.starts_with("Every run: 100 tasks of `sleep:1ms`;"),
            "{body}"
        );
        // No peaks, no findings.
        assert_text(&body, &["| 01 unbounded-spawn |"], &["- stage 01"]);
    }
}
