//! `scaling`: the same stages with more and more tasks. Tasks arrive faster than they finish, so
//! whatever a stage keeps per waiting task (a thread, a queue entry) shows up in its peak memory.

use std::iter;

use harness::table;
use minijinja::{Value, context};

use super::{Job, Options, QUEUE, Report, Run, Runner, Scenario, Size};
use super::{count, distinct, grid, lines, problems, series, table_of, task};
use crate::chart::Chart;
use crate::stages::{STAGES, stage};

/// The runs of one size. A pool's task is far slower than a submit, so an unbounded queue fills
/// up almost as fast as the tasks are submitted; stage 01's (at most 10,000 threads) sleeps long
/// enough that every thread is still alive when the last one starts.
struct Sizes {
    pool_tasks: &'static [usize],
    workers: usize,
    pool_task: &'static str,
    unbounded_tasks: &'static [usize],
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
        // The sizes the tests compare, with shorter sleeps and more workers: 100,000 tasks still
        // arrive far faster than they finish. 200 threads start well within 200 ms.
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
    let jobs = |stage, counts: &'static [usize], spec| {
        let runner = Runner::Stage(stage);
        counts
            .iter()
            .map(move |&tasks| Job::new(runner, tasks, task(spec), sizes.workers, QUEUE))
    };
    let mut all: Vec<Job> =
        jobs(stage("01"), sizes.unbounded_tasks, sizes.unbounded_task).collect();
    for pool in &STAGES[1..5] {
        all.extend(jobs(pool, sizes.pool_tasks, sizes.pool_task));
    }
    all
}

/// Two pivot tables (peak RSS, peak threads), the findings and the chart.
pub fn report(runs: Vec<Run>) -> Report {
    let mut counts: Vec<usize> = runs.iter().map(|run| run.job.tasks).collect();
    counts.sort_unstable();
    counts.dedup();
    let titles: Vec<String> = counts.iter().map(|&n| count(n) + " tasks").collect();
    let runners = distinct(runs.iter().map(|run| run.job.runner));
    let pivot = |cell: usize| {
        table_of(&runners, |&runner| {
            let mine: Vec<&Run> = runs.iter().filter(|run| run.job.runner == runner).collect();
            mine.iter().find_map(|run| run.ok())?;
            let cells = counts.iter().zip(&titles).map(|(&count, title)| {
                let run = mine.iter().find(|run| run.job.tasks == count);
                let value = run.map(|run| run.peak_cells()[cell].clone());
                (title.as_str(), value.unwrap_or_else(|| "-".to_string()))
            });
            let name = format!("{} ({})", runner.label(), mine[0].job.task);
            Some(iter::once(("stage (task)", name)).chain(cells).collect())
        })
    };
    let (rss, threads) = (pivot(1), pivot(0));
    let pool = runs.iter().find(|run| run.job.runner.is_pool());
    let figures = context! {
        queue => QUEUE,
        pool => pool.map(|pool| context! {
            workers => pool.job.workers.unwrap_or_default(),
            task => pool.job.task.to_string(),
        }),
        rss,
        threads,
        problems => problems(&runs).trim(),
        unbounded => extremes(&runs, "02").map(|(small, large)| growth(small, large)),
        bounded => ["03", "04", "05"]
            .into_iter()
            .filter_map(|number| {
                let (small, large) = extremes(&runs, number)?;
                Some(context! { number, ..growth(small, large) })
            })
            .collect::<Vec<_>>(),
        threads_01 => extremes(&runs, "01").map(|(small, large)| threads_01(small, large)),
    };
    Report::render(Scenario::Scaling, figures, chart(&runs), runs)
}

/// The smallest and largest run of `number` that have numbers.
fn extremes<'a>(runs: &'a [Run], number: &str) -> Option<(&'a Run, &'a Run)> {
    let runner = Runner::Stage(stage(number));
    let measured = |run: &&Run| run.job.runner == runner && run.peak_rss_kib().is_some();
    let mine = || runs.iter().filter(measured);
    let smallest = mine().min_by_key(|run| run.job.tasks)?;
    let largest = mine().max_by_key(|run| run.job.tasks)?;
    Some((smallest, largest))
}

/// How peak RSS grew from `small` to `large`; bytes per task are empty below one (noise in KiB).
fn growth(small: &Run, large: &Run) -> Value {
    let kib = |run: &Run| run.peak_rss_kib().unwrap_or(0) as f64;
    let added = large.job.tasks.saturating_sub(small.job.tasks).max(1) as f64;
    let bytes = (kib(large) - kib(small)) * 1024.0 / added;
    context! {
        small => &small.peak_cells()[1],
        few => count(small.job.tasks),
        large => &large.peak_cells()[1],
        many => count(large.job.tasks),
        ratio => format!("{:.2}x", kib(large) / kib(small).max(1.0)),
        bytes => if bytes.abs() < 1.0 { String::new() } else { table::significant(bytes) },
    }
}

/// What each extra thread of stage 01 cost between `small` and `large`, and `large`'s peaks.
fn threads_01(small: &Run, large: &Run) -> Value {
    let threads = |run: &Run| run.peak_threads().unwrap_or(0) as f64;
    let vm = |run: &Run| run.peak_vm_kib().unwrap_or(0) as f64;
    let rss = |run: &Run| run.peak_rss_kib().unwrap_or(0) as f64;
    let added = threads(large) - threads(small);
    let extra = (added > 0.0).then(|| {
        let vm_per_thread = (vm(large) - vm(small)) / added;
        let projected = vm_per_thread * 50_000.0;
        context! {
            vm_mib => table::significant(vm_per_thread / 1024.0),
            rss_kib => table::significant((rss(large) - rss(small)) / added),
            projected => table::memory(projected as u64),
            projected_gb => table::significant(projected * 1024.0 / 1e9),
        }
    });
    let [threads, rss, vm] = large.peak_cells();
    context! { extra, many => count(large.job.tasks), threads, rss, vm }
}

fn chart(runs: &[Run]) -> Option<Chart> {
    if runs.iter().all(|run| run.peak_rss_kib().is_none()) {
        return None;
    }
    // A line per runner, along the number of tasks.
    let label = |run: &Run| {
        let runner = run.job.runner;
        let name = format!("{} ({})", runner.label(), run.job.task);
        Some((name, runner.key()))
    };
    let panel = |title: &str, y_axis: &str, value: fn(&Run) -> Option<f64>| {
        let series = series(runs, label, |run| Some((run.job.tasks as f64, value(run)?)));
        lines(title, "tasks (log scale)", y_axis, series)
    };
    let panels = vec![
        panel("Peak resident memory", "MiB (log scale)", |run| {
            run.peak_rss_kib().map(|kib| kib as f64 / 1024.0)
        }),
        panel("Peak threads", "threads (log scale)", |run| {
            run.peak_threads().map(|threads| threads as f64)
        }),
    ];
    Some(grid("scaling: what a waiting task costs", 2, panels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Peaks;
    use crate::scenario::{assert_text, finished};

    /// A run of stage `number` with `tasks` tasks that peaked at `rss_kib` and `threads`.
    fn run(number: &str, tasks: usize, rss_kib: u64, threads: u64) -> Run {
        let runner = Runner::Stage(stage(number));
        let job = Job::new(runner, tasks, task("sleep:1ms"), 4, QUEUE);
        let mut run = finished(job, 10.0, 0);
        run.result.as_mut().expect("finished").peaks = Some(Peaks {
            rss_hwm_kib: rss_kib,
            threads,
            vm_peak_kib: 8 * 1024 * threads,
            ..Peaks::default()
        });
        run
    }

    #[test]
    fn growth_is_told_per_task_and_per_thread() {
        let runs = vec![
            run("01", 1_000, 4_000, 1_001),
            run("01", 10_000, 40_000, 10_001),
            run("02", 1_000, 2_000, 5),
            run("02", 100_000, 12_000, 5),
            run("03", 1_000, 2_000, 5),
            run("03", 100_000, 2_000, 5),
        ];
        let expected = [
            "Pools: 4 workers, bounded queues of",
            "- Stage 02's unbounded queue grew from 1.95 MiB at 1,000 tasks to 11.7 MiB at \
             100,000 tasks: about 103 bytes per waiting task.",
            "- Stage 03 went from 1.95 MiB at 1,000 tasks to 1.95 MiB at 100,000 tasks (1.00x, \
             under 1 byte per task).",
            "- Each extra thread of stage 01 reserved 8.00 MiB of virtual memory and 4.00 KiB \
             resident.",
            "- Stage 01 with 10,000 tasks: 10,001 threads at the peak",
        ];
        assert_text(&report(runs).body, &expected, &[]);
    }
}
