//! `granularity`: CPU tasks from 0 to 1 ms on as many workers as cores, and a workers sweep of
//! stage 02 against stage 03; the tables and curves over task sizes that `policies` shares too.

use std::iter;

use harness::cores;
use harness::table;
use minijinja::{Value, context};

use super::{Job, Options, QUEUE, Report, Run, Runner, Scenario, Size};
use super::{count, curve, distinct, grid, lines, problems, series, table_of, task};
use crate::chart::{Chart, Panel, Series};
use crate::peer::Peer;
use crate::stages::{STAGES, stage};

/// The queue of an extra stage-03 run at the tiny size: large, but still bounded.
const LARGE_QUEUE: usize = 1_024;
/// The task size at which the tutorial's bounded pool was no faster than a loop.
pub(crate) const TINY: &str = "cpu:1us";
/// The worker counts of the sweep of stage 02 against stage 03, as far as the cores go.
const SWEEP: [usize; 5] = [1, 2, 4, 8, 16];

/// How many times each run is repeated; the fastest counts: only times matter here.
pub fn rounds(options: Options) -> usize {
    options.size.pick(3, 1)
}

/// Task sizes and how many tasks of each make about half a second of ideal time on 2 cores.
pub(crate) fn sizes(size: Size) -> Vec<(&'static str, usize)> {
    let full = [
        ("cpu:0ns", 500_000),
        (TINY, 500_000),
        ("cpu:10us", 100_000),
        ("cpu:100us", 10_000),
        ("cpu:1ms", 1_000),
    ];
    // Quick runs last a few milliseconds each: the tests check what runs account for, not times.
    let divisor = size.pick(1, 50);
    full.map(|(spec, tasks)| (spec, tasks / divisor)).to_vec()
}

/// The peers that run CPU tasks on a pool.
pub(crate) const CPU_PEERS: [Peer; 3] = [Peer::Threadpool, Peer::RayonScope, Peer::RayonParIter];

/// Who runs: the sequential baseline, the pool stages, and the CPU peers.
pub fn lineup() -> Vec<Runner> {
    let mut runners = vec![Runner::Peer(Peer::Sequential)];
    runners.extend(STAGES[1..5].iter().map(Runner::Stage));
    runners.extend(CPU_PEERS.map(Runner::Peer));
    runners
}

/// The sweep's worker counts on `cores` cores: those of [`SWEEP`] up to the cores, and the cores.
fn sweep_workers(cores: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = SWEEP.into_iter().filter(|&n| n <= cores).collect();
    if cores < SWEEP[SWEEP.len() - 1] && !counts.contains(&cores) {
        counts.push(cores);
    }
    counts
}

/// The sweep's two pools at `workers`: stage 02, and stage 03 with a queue that holds every task.
fn sweep_jobs(tasks: usize, workers: usize) -> [Job; 2] {
    let spec = task(TINY);
    [
        Job::new(Runner::Stage(stage("02")), tasks, spec, workers, QUEUE),
        Job::new(Runner::Stage(stage("03")), tasks, spec, workers, tasks),
    ]
}

/// The runs: every runner at every size with `workers = cores`; at the tiny size, stage 03 with a
/// large queue and one that never fills, and the sweep at its other worker counts.
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
            let others = sweep_workers(workers)
                .into_iter()
                .filter(|&count| count != workers);
            jobs.extend(others.flat_map(|count| sweep_jobs(tasks, count)));
        }
    }
    jobs
}

/// The sequential loop's run with the same tasks as `job`: every cell's baseline.
pub(crate) fn baseline<'a>(runs: &'a [Run], job: &Job) -> Option<&'a Run> {
    runs.iter().find(|run| {
        run.job.runner == Runner::Peer(Peer::Sequential)
            && run.job.task == job.task
            && run.job.tasks == job.tasks
    })
}

/// Tasks that ran, to the end or to a panic: the tasks a rejecting policy did not give up.
pub(crate) fn ran(run: &Run) -> Option<u64> {
    let summary = run.ok()?.summary.as_ref()?;
    Some((summary.completed + summary.panicked) as u64)
}

/// Tasks that a rejecting policy gave up.
pub(crate) fn rejected(run: &Run) -> Option<u64> {
    run.ok()?.summary.as_ref()?.own("rejected")
}

/// Ideal time (the sequential loop's, over the cores) over measured time, for the tasks that ran.
pub(crate) fn fraction(runs: &[Run], run: &Run) -> Option<f64> {
    let elapsed = run.elapsed_ms()?;
    let share_done = ran(run)? as f64 / run.job.tasks as f64;
    let ideal = baseline(runs, &run.job)?.elapsed_ms()? / cores() as f64 * share_done;
    (!run.job.task.duration.is_zero() && elapsed > 0.0).then(|| ideal / elapsed)
}

/// Tasks that ran per second.
pub(crate) fn tasks_per_second(run: &Run) -> Option<f64> {
    let elapsed = run.elapsed_ms()? / 1e3;
    let ran = ran(run)? as f64;
    (elapsed > 0.0).then(|| ran / elapsed)
}

/// A share with two decimals, or `-`.
pub(crate) fn two_places(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), table::fraction)
}

/// Rows are runners (stage 03 with the large queue is its own row), columns are task sizes.
fn row_label(run: &Run) -> String {
    let runner = run.job.runner.label();
    match run.job.queue {
        Some(queue) if queue >= run.job.tasks => format!("{runner}, queue never full"),
        Some(queue) if queue != QUEUE => format!("{runner}, queue {}", count(queue)),
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

/// The main table, the close-up at the tiny size, the workers sweep, findings and the chart.
pub fn report(all: Vec<Run>, rounds: usize) -> Report {
    // The main table's runs have as many workers as cores, or none; the sweep has its own section.
    let at_cores = |run: &&Run| run.job.workers.is_none_or(|workers| workers == cores());
    let runs: Vec<Run> = all.iter().filter(at_cores).cloned().collect();
    let points = sweep(&all);
    let figures = context! {
        matrix => matrix(&runs, row_label, true, |run| cell(&runs, run)),
        disturbed => any_disturbed(&all),
        close_up => close_up(&runs, row_label, &[&TASKS, &TIMES, &SWITCHES]),
        sweep => sweep_table(&all, &points),
        problems => problems(&all).trim().to_string(),
        at_tiny => at_tiny(&runs),
        contention => contention(&points),
        ..shared(rounds)
    };
    let chart = chart(&runs, &points);
    Report::render(Scenario::Granularity, figures, chart, all)
}

/// The figures that `granularity` and `policies` share, for their intros and footnotes.
pub(crate) fn shared(rounds: usize) -> Value {
    context! {
        cores => cores(),
        queue => QUEUE,
        loop_score => table::fraction(1.0 / cores() as f64),
        rounds,
        tiny => TINY,
    }
}

/// A row per label and a column per task size, of `value`; `rates` if empty tasks show tasks/s.
pub(crate) fn matrix(
    runs: &[Run],
    label: fn(&Run) -> String,
    rates: bool,
    value: impl Fn(&Run) -> String,
) -> String {
    let specs = distinct(runs.iter().map(|run| run.job.task));
    let titles: Vec<String> = specs
        .iter()
        .map(|spec| match spec.duration.is_zero() && rates {
            true => format!("`{spec}` (tasks/s)"),
            false => format!("`{spec}`"),
        })
        .collect();
    table_of(&distinct(runs.iter().map(label)), |name| {
        let mine = || {
            runs.iter()
                .filter(|run| label(run) == *name && run.ok().is_some())
        };
        mine().next()?;
        let cells = specs.iter().zip(&titles).map(|(spec, title)| {
            let run = mine().find(|run| run.job.task == *spec);
            (title.as_str(), run.map_or_else(|| "-".to_string(), &value))
        });
        Some(iter::once(("run", name.clone())).chain(cells).collect())
    })
}

/// A cell of a main table: share of the ideal (or tasks/s), any rejected, and any dagger.
pub(crate) fn cell(runs: &[Run], run: &Run) -> String {
    let mut text = if run.job.task.duration.is_zero() {
        tasks_per_second(run).map_or_else(|| "-".to_string(), table::per_second)
    } else {
        two_places(fraction(runs, run))
    };
    if let Some(rejected) = rejected(run).filter(|&count| count > 0) {
        let share = rejected as f64 * 100.0 / run.job.tasks as f64;
        text += &if share >= 0.1 {
            format!(" ({}% rejected)", table::significant(share))
        } else {
            format!(" ({} rejected)", table::thousands(rejected))
        };
    }
    text + mark(run, runs)
}

/// A column of a close-up table: its title, and its cell for a run among `runs` (`n/a` if none).
pub(crate) type Column = (&'static str, fn(&[Run], &Run) -> Option<String>);

/// The close-up's column of how many tasks each run had.
const TASKS: [Column; 1] = [("tasks", |_, run| Some(count(run.job.tasks)))];

/// The close-up's columns of time.
pub(crate) const TIMES: [Column; 3] = [
    ("elapsed", |_, run| run.elapsed_ms().map(table::time_ms)),
    ("vs ideal", |runs, run| {
        Some(two_places(fraction(runs, run)))
    }),
    ("CPU time", |_, run| run.cpu().map(table::time)),
];

/// The close-up's columns of context switches, and of other programs' load.
pub(crate) const SWITCHES: [Column; 4] = [
    ("voluntary switches", |_, run| {
        Some(table::thousands(run.switches()?.0))
    }),
    ("involuntary switches", |_, run| {
        Some(table::thousands(run.switches()?.1))
    }),
    ("switches per 1,000 tasks", |_, run| {
        run.switches_per_thousand_tasks().map(table::tenths)
    }),
    ("others' CPU share", |_, run| {
        run.disturbance().map(table::percent)
    }),
];

/// Where the time goes at the tiny size: a row per run with a time, in the groups of `columns`.
pub(crate) fn close_up(runs: &[Run], label: fn(&Run) -> String, columns: &[&[Column]]) -> String {
    let tiny = task(TINY);
    let timed: Vec<&Run> = runs.iter().filter(|run| run.job.task == tiny).collect();
    table_of(&timed, |run| {
        run.elapsed_ms()?;
        let cells = columns.iter().copied().flatten();
        let cells = cells.map(|(title, value)| (*title, table::or_na(value(runs, run))));
        Some(iter::once(("run", label(run))).chain(cells).collect())
    })
}

/// The sweep's two pools, as its tables label them.
fn sweep_pools() -> [String; 2] {
    let [mutex, lock_free] = ["02", "03"].map(|number| Runner::Stage(stage(number)).label());
    [mutex, format!("{lock_free}, queue never full")]
}

/// The sweep at one worker count: its pools' runs with numbers, in [`sweep_pools`] order.
type SweepPoint<'a> = (usize, [Option<&'a Run>; 2]);

/// Stage 02's rate over stage 03's: above 1.0, the locked receiver was the faster one.
fn ratio([mutex, lock_free]: [Option<&Run>; 2]) -> Option<f64> {
    let (mutex, lock_free) = (tasks_per_second(mutex?)?, tasks_per_second(lock_free?)?);
    (lock_free > 0.0).then(|| mutex / lock_free)
}

/// The sweep, by worker count, from every run at the tiny size.
fn sweep(runs: &[Run]) -> Vec<SweepPoint<'_>> {
    let tiny = task(TINY);
    let points = sweep_workers(cores()).into_iter().filter_map(|workers| {
        let pools = sweep_pools().map(|pool| {
            runs.iter().find(|run| {
                let ran = run.ok().is_some() && run.job.task == tiny;
                ran && run.job.workers == Some(workers) && row_label(run) == pool
            })
        });
        pools
            .iter()
            .any(Option::is_some)
            .then_some((workers, pools))
    });
    points.collect()
}

/// The sweep's table: each pool's rate, and stage 02's over stage 03's.
fn sweep_table(runs: &[Run], points: &[SweepPoint<'_>]) -> Option<Value> {
    if points.len() < 2 {
        return None;
    }
    let [mutex, lock_free] = sweep_pools().map(|pool| format!("{pool} (tasks/s)"));
    let rate = |run: Option<&Run>| {
        run.and_then(|run| Some(table::per_second(tasks_per_second(run)?) + mark(run, runs)))
            .unwrap_or_else(|| "-".to_string())
    };
    let table = table_of(points, |&(workers, pools)| {
        Some(vec![
            ("workers", workers.to_string()),
            (&mutex, rate(pools[0])),
            (&lock_free, rate(pools[1])),
            ("02 over 03", two_places(ratio(pools))),
        ])
    });
    let (&last, counts) = SWEEP.split_last().expect("the sweep has worker counts");
    Some(context! { counts => counts.to_vec(), last, table })
}

/// The sweep's ratios, and how they changed from one worker to the most.
fn contention(points: &[SweepPoint<'_>]) -> Option<Value> {
    let measure = |&(workers, pools): &SweepPoint<'_>| Some((workers, ratio(pools)?));
    let measured: Vec<(usize, f64)> = points.iter().filter_map(measure).collect();
    let (&(fewest, first), &(most, last)) = (measured.first()?, measured.last()?);
    let entry = |&(workers, ratio): &(usize, f64)| {
        context! { workers, ratio => table::fraction(ratio) }
    };
    let ratios: Vec<Value> = measured.iter().map(entry).collect();
    let change = (fewest == 1 && most > 1).then(|| {
        let change = last / first - 1.0;
        context! { change, most, percent => (change.abs() * 100.0).round() as i64 }
    });
    Some(context! { ratios, change, largest => SWEEP[SWEEP.len() - 1] })
}

/// Whether any run of `runs` has the dagger of [`mark`], which `_disturbed.md` explains.
pub fn any_disturbed(runs: &[Run]) -> bool {
    runs.iter()
        .any(|run| run.ok().is_some() && !mark(run, runs).is_empty())
}

/// A dagger for a cell whose run, or whose sequential baseline, was disturbed.
pub fn mark(run: &Run, runs: &[Run]) -> &'static str {
    let clean = run.undisturbed() && baseline(runs, &run.job).is_none_or(Run::undisturbed);
    if clean { "" } else { " †" }
}

/// The shares of the ideal at the tiny size of the loop and of the stages' pools 02 and 03.
fn at_tiny(runs: &[Run]) -> Vec<Value> {
    let [mutex, lock_free] = ["02", "03"].map(|number| Runner::Stage(stage(number)));
    let shown = [Runner::Peer(Peer::Sequential), mutex, lock_free];
    let tiny = |run: &&Run| run.job.task == task(TINY) && shown.contains(&run.job.runner);
    let share = |run: &Run| {
        let share = table::fraction(fraction(runs, run)?);
        Some(context! { label => row_label(run), share })
    };
    runs.iter().filter(tiny).filter_map(share).collect()
}

/// One line per label of `runs` (and its colour key): `value` over the task durations.
pub(crate) fn by_duration(
    runs: &[Run],
    label: impl Fn(&Run) -> Option<(String, &'static str)>,
    value: impl Fn(&Run) -> Option<f64>,
) -> Vec<Series> {
    series(runs, label, |run| {
        let micros = run.job.task.duration.as_secs_f64() * 1e6;
        Some(micros).filter(|&micros| micros > 0.0).zip(value(run))
    })
}

/// The x axis of [`by_duration`]'s lines.
pub(crate) const DURATION_AXIS: &str = "task duration, µs (log scale)";

fn chart(runs: &[Run], points: &[SweepPoint<'_>]) -> Option<Chart> {
    let label = |run: &Run| Some((row_label(run), colour_key(run)));
    let fractions = by_duration(runs, label, |run| fraction(runs, run));
    if fractions.is_empty() {
        return None;
    }
    let switches = by_duration(runs, label, |run| {
        let (v, i) = run.switches()?;
        Some(((v + i) as f64 / run.job.tasks as f64).max(1e-3))
    });
    let share = "ideal / elapsed (1 = perfect)";
    let (switched, per_task) = ("Context switches per task", "switches per task (log scale)");
    let mut panels = vec![
        lines("Share of the ideal time", DURATION_AXIS, share, fractions),
        lines(switched, DURATION_AXIS, per_task, switches),
    ];
    panels.extend(sweep_panel(points));
    let title = format!("granularity: CPU tasks on {} workers = cores", cores());
    Some(grid(title, 2, panels))
}

/// The workers sweep as two lines of tasks per second, if it has more than one worker count.
fn sweep_panel(points: &[SweepPoint<'_>]) -> Option<Panel> {
    if points.len() < 2 {
        return None;
    }
    let pool_line = |pool: usize| {
        let first = points.iter().find_map(|(_, pools)| pools[pool])?;
        let values = points.iter().filter_map(|(workers, pools)| {
            Some((*workers as f64, tasks_per_second(pools[pool]?)?))
        });
        Some(curve(row_label(first), colour_key(first), values.collect()))
    };
    let series = (0..2).filter_map(pool_line).collect();
    let title = format!("Workers sweep at `{TINY}`");
    Some(lines(title, "workers (log scale)", "tasks/s", series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{QUICK, finished};

    #[test]
    fn the_sweep_stops_at_the_cores() {
        assert_eq!(sweep_workers(1), [1]);
        assert_eq!(sweep_workers(2), [1, 2]);
        assert_eq!(sweep_workers(6), [1, 2, 4, 6]);
        assert_eq!(sweep_workers(16), [1, 2, 4, 8, 16]);
        assert_eq!(sweep_workers(64), [1, 2, 4, 8, 16]);
    }

    #[test]
    fn the_sweep_runs_stage_02_and_an_unfilled_stage_03_at_each_worker_count() {
        let jobs = plan(QUICK);
        let tiny = task(TINY);
        for workers in sweep_workers(cores()) {
            let at = |number: &str| {
                jobs.iter()
                    .filter(|job| job.task == tiny && job.workers == Some(workers))
                    .filter(|job| job.runner == Runner::Stage(stage(number)))
                    .filter(|job| number == "02" || job.queue == Some(job.tasks))
                    .count()
            };
            assert_eq!((at("02"), at("03")), (1, 1), "{workers} workers");
        }
    }

    #[test]
    fn the_sweep_verdict_says_what_the_cores_cannot_show() {
        // Stage 02 loses a quarter of stage 03's rate with each worker count added.
        let tasks = 100_000;
        let mut runs = Vec::new();
        for (index, workers) in sweep_workers(cores()).into_iter().enumerate() {
            let [mutex, lock_free] = sweep_jobs(tasks, workers);
            let elapsed = 100.0 / workers as f64;
            runs.push(finished(mutex, elapsed * (1.0 + 0.25 * index as f64), 0));
            runs.push(finished(lock_free, elapsed, 0));
        }
        let body = report(runs.clone(), 1).body;
        let sweep_line = |line: &&str| line.starts_with("- Workers sweep");
        let text = body.lines().find(sweep_line).unwrap_or_default();
        let first = "- Workers sweep at `cpu:1us`: stage 02's rate over stage 03's \
                     (queue never full) was 1.00 with 1 worker";
        assert!(text.starts_with(first), "{text}");
        if cores() > 1 {
            assert!(text.contains("the locked receiver lost ground"), "{text}");
        }
        let cannot = format!(
            "On {0} cores no more than {0} workers receive at once, so this machine cannot show \
             whether the lock becomes the bottleneck",
            cores()
        );
        assert_eq!(text.contains("cannot show"), cores() < 16, "{text}");
        assert!(cores() >= 16 || text.contains(&cannot), "{text}");
        let table = sweep_table(&runs, &sweep(&runs)).map(|sweep| sweep.to_string());
        assert!(table.is_some_and(|table| table.contains("| 02 over 03 |")) || cores() == 1);
    }
}
