//! `rayon`: the same CPU-bound job through the pool and through rayon's `par_iter`.
//!
//! For a batch of independent computations over a collection, rayon needs no pool size, no queue
//! and no handles: its global pool already has one thread per core, and work stealing splits the
//! range into a few large pieces instead of sending every item through a channel. The pool earns
//! its keep elsewhere: a bounded queue, tasks that arrive one by one, tasks that wait on IO.

use std::time::{Duration, Instant};

use clap::Args;
use harness::{TaskKind, TaskSpec, Work};
use rayon::prelude::*;
use stage06_sizing::{Align, Table};

use super::{Report, Tally, rate, run_batch, throughput_cells};
use crate::cli;

/// Flags of the `rayon` experiment.
#[derive(Debug, Clone, Args)]
pub struct RayonArgs {
    /// Tasks in the job.
    #[arg(long, value_name = "N", default_value = "4000", value_parser = harness::parse_tasks, allow_hyphen_values = true)]
    tasks: usize,

    /// What each task computes. Units: ns, us, ms, s.
    #[arg(long, value_name = "cpu:DURATION", default_value = "cpu:50us", value_parser = cli::parse_cpu_task)]
    task: TaskSpec,

    /// Workers of the pool [default: the number of cores] (at most 10000 without --no-limit).
    #[arg(long, value_name = "N", value_parser = harness::parse_workers, allow_hyphen_values = true)]
    pub workers: Option<usize>,

    /// Runs of each engine, alternating; each keeps its best.
    #[arg(long, value_name = "N", default_value = "3", value_parser = harness::parse_positive, allow_hyphen_values = true)]
    rounds: usize,
}

impl RayonArgs {
    /// The sizes the run without a subcommand uses.
    pub fn quick() -> Self {
        RayonArgs {
            tasks: 2000,
            task: TaskSpec {
                kind: TaskKind::Cpu,
                duration: Duration::from_micros(50),
            },
            workers: None,
            rounds: 3,
        }
    }
}

/// Runs the job both ways and prints them side by side.
pub fn run(args: &RayonArgs) -> Report {
    let cores = harness::cores();
    let workers = args.workers.unwrap_or(cores);
    let work = Work::new(args.task);

    let threads = rayon::current_num_threads();
    let mut tally = Tally::default();
    let (mut pool_rate, mut rayon_rate) = (0.0_f64, 0.0_f64);
    for _ in 0..args.rounds {
        let batch = run_batch(workers, args.tasks, work);
        tally.add(batch.tally);
        pool_rate = pool_rate.max(batch.tasks_per_s());
        rayon_rate = rayon_rate.max(run_rayon(args.tasks, work));
        // Rayon re-raises a task's panic in the caller, so reaching this line means all completed.
        tally.add(Tally::all_completed(args.tasks));
    }

    let mut table = Table::new(&[
        ("engine", Align::Left),
        ("threads", Align::Right),
        ("tasks/s", Align::Right),
        ("ideal tasks/s", Align::Right),
        ("of ideal", Align::Right),
    ]);
    let runs = [
        ("stage 05 pool", workers, pool_rate),
        ("rayon par_iter", threads, rayon_rate),
    ];
    for (engine, threads, tasks_per_s) in runs {
        let mut row = vec![engine.to_string(), threads.to_string()];
        row.extend(throughput_cells(
            args.task,
            args.tasks,
            threads,
            tasks_per_s,
        ));
        table.push_row(row);
    }

    let text = format!(
        "rayon: one job of {tasks} tasks of {task}, through the pool and through par_iter, \
         best of {rounds} rounds\n\
         {table}\
         the pool pays per task: an allocation, a queue slot and a result cell; rayon splits \
         the range into a few pieces\n",
        tasks = args.tasks,
        task = args.task,
        rounds = args.rounds,
    );
    let summary = tally.summary(
        "rayon",
        vec![
            ("task", args.task.to_string()),
            ("pool_workers", workers.to_string()),
            ("pool_tasks_per_s", rate(pool_rate)),
            ("rayon_threads", threads.to_string()),
            ("rayon_tasks_per_s", rate(rayon_rate)),
        ],
    );
    Report { text, summary }
}

/// Runs the job on rayon's global pool and returns its throughput in tasks per second.
fn run_rayon(tasks: usize, work: Work) -> f64 {
    let start = Instant::now();
    (0..tasks).into_par_iter().for_each(|_| work.run());
    tasks as f64 / start.elapsed().as_secs_f64()
}
