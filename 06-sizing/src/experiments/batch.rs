//! `batch`: the same small CPU items handed to the pool one at a time, and in tasks of 4, 16, ...
//! up to 4,096 items, beside rayon's `par_iter` and a sequential loop over the same items.
//!
//! Every hand-over costs about the same whatever the task carries: a job and a result channel to
//! allocate, a trip through the queue, a worker to wake, a result to send back, a handle to join.
//! With 1 µs items that cost is as large as the work, and the pool spends its cores handing over.
//! A task of many items pays it once for all of them, but its items wait for each other: an
//! item's result comes back with its whole task.
//!
//! `par_iter` needs no batch size, no queue and no handles: rayon's global pool has a thread per
//! core, splits the range in halves, one hand-over per piece, and a thread that runs out of work
//! steals a half that no one has started. For data parallelism over a collection, that is the
//! tool; the pool earns its keep with tasks that arrive one by one, need a bounded queue, or wait.

use std::ops::Range;
use std::time::{Duration, Instant};

use clap::Args;
use harness::table::{Align, Table, count, duration, fraction, percent, rate};
use harness::{TaskSpec, Work};
use rayon::prelude::*;
use stage06_sizing::{BATCH_KNEE_TOLERANCE, BATCH_SIZES, Sample, fastest, knee, task_ranges};

use super::{Report, Tally, best_of_rounds, note, run_jobs};
use crate::cli;

/// Flags of the `batch` experiment.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// Items in the job; every batch size runs all of them. In tasks of one item, every item is a
    /// task, so at most as many as --tasks: 10000000.
    #[arg(long, value_name = "N", default_value = "200000", value_parser = harness::parse_tasks, allow_hyphen_values = true)]
    items: usize,

    /// What each item computes. Units: ns, us, ms, s.
    #[arg(long, value_name = "cpu:DURATION", default_value = "cpu:1us", value_parser = cli::parse_cpu_task)]
    item: TaskSpec,

    /// Runs of every batch size, of par_iter and of the loop; each keeps its best.
    #[arg(long, value_name = "N", default_value = "3", value_parser = harness::parse_positive, allow_hyphen_values = true)]
    rounds: usize,
}

/// Runs the job at every batch size, through `par_iter` and in a loop, and compares them.
pub fn run(args: &BatchArgs) -> Report {
    let (cores, work, items) = (harness::cores(), Work::new(args.item), args.items);
    let sizes: Vec<usize> = BATCH_SIZES.into_iter().filter(|&n| n <= items).collect();
    let mut tally = Tally::default();
    let item = move |_: usize| work.run();
    let task = |range: Range<usize>| move || range.for_each(item);
    let runs = best_of_rounds(&sizes, args.rounds, &mut tally, |per_task| {
        run_jobs(cores, task_ranges(items, per_task).map(task))
    });
    // A rayon thread per core, as `Experiment::threads` counts and "of ideal" assumes, whatever
    // RAYON_NUM_THREADS says: rayon would otherwise start that many, past the thread limit.
    let per_core = rayon::ThreadPoolBuilder::new().num_threads(cores);
    harness::or_exit_if_refused(|| per_core.build_global().expect("rayon's pool starts here"));
    let sequential = best_time(args.rounds, || (0..items).for_each(item));
    let par_iter = best_time(args.rounds, || (0..items).into_par_iter().for_each(item));
    // Rayon re-raises a task's panic in the caller, so every one of its tasks completed.
    tally.add(Tally {
        completed: args.rounds * items,
        panicked: 0,
    });

    let items_per_s = |elapsed: Duration| items as f64 / elapsed.as_secs_f64();
    // `knee` keeps the smallest size that is nearly as fast: here, the fewest items per task.
    let samples: Vec<Sample> = sizes
        .iter()
        .zip(&runs)
        .map(|(&size, run)| Sample {
            size,
            throughput: items_per_s(run.elapsed),
        })
        .collect();
    let knee = knee(&samples, BATCH_KNEE_TOLERANCE).expect("tasks of one item always run");
    let best = fastest(&samples).expect("tasks of one item always run");
    // The ideal is the loop's time spread over the cores: 1.0 is perfect, the loop scores 1/cores.
    let of_ideal = |per_s: f64| fraction(per_s / items_per_s(sequential) / cores as f64);
    let marks = [(knee.size, "knee"), (best.size, "best")];
    let mut table = Table::new(&[
        ("items/task", Align::Right),
        ("tasks", Align::Right),
        ("hand-overs/s", Align::Right),
        ("items/s", Align::Right),
        ("of ideal", Align::Right),
        ("p99 task time", Align::Right),
        ("", Align::Left),
    ]);
    for (sample, run) in samples.iter().zip(&runs) {
        let tasks = items.div_ceil(sample.size);
        let per_s = |n: usize| n as f64 / run.elapsed.as_secs_f64();
        table.push_row(vec![
            sample.size.to_string(),
            tasks.to_string(),
            rate(per_s(tasks)),
            rate(per_s(items)),
            of_ideal(per_s(items)),
            run.service.percentile(99.0).map_or("-".into(), duration),
            note(sample.size, &marks),
        ]);
    }
    for (engine, elapsed) in [("par_iter", par_iter), ("sequential", sequential)] {
        let per_s = items_per_s(elapsed);
        let cells: [&str; 7] = [engine, "-", "-", &rate(per_s), &of_ideal(per_s), "-", ""];
        table.push_row(cells.map(String::from).to_vec());
    }

    let text = format!(
        "batch: {items} items of {item} on a pool of {workers}, in tasks of 1 to {last}, \
         beside par_iter and a sequential loop, best of {rounds}\n\
         {table}\
         of ideal: the sequential loop's time / {cores_text}, over the run's time; p99 task time: \
         99% of tasks held their worker no longer, and their items waited that long\n\
         knee: tasks of {knee_batch}, {knee_share} of ideal, within {tolerance} of the \
         best (tasks of {best_batch}, {best_share}); par_iter {par_share}\n",
        item = args.item,
        workers = count(cores, "worker"),
        last = count(sizes[sizes.len() - 1], "item"),
        rounds = count(args.rounds, "round"),
        cores_text = count(cores, "core"),
        knee_batch = count(knee.size, "item"),
        knee_share = of_ideal(knee.throughput),
        tolerance = percent(BATCH_KNEE_TOLERANCE),
        best_batch = count(best.size, "item"),
        best_share = of_ideal(best.throughput),
        par_share = of_ideal(items_per_s(par_iter)),
    );
    Report {
        experiment: "batch",
        text,
        tally,
        results: vec![
            ("item", args.item.to_string()),
            ("items", items.to_string()),
            ("cores", cores.to_string()),
            ("knee_batch", knee.size.to_string()),
            ("knee_of_ideal", of_ideal(knee.throughput)),
            ("best_batch", best.size.to_string()),
            ("best_of_ideal", of_ideal(best.throughput)),
            ("par_iter_of_ideal", of_ideal(items_per_s(par_iter))),
        ],
    }
}

/// How long the fastest of `rounds` runs of `job` took: other programs only ever slow a run down.
fn best_time(rounds: usize, mut job: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            job();
            start.elapsed()
        })
        .min()
        .expect("at least one round")
}
