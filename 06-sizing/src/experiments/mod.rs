//! The five experiments, one module each, and what they share: running a batch of tasks on a fresh
//! pool, counting how the tasks ended, and formatting numbers for the tables.
//!
//! They live beside `main.rs` rather than in the library because they measure and print; the
//! library keeps the arithmetic that turns measurements into a pool size, which tests can check
//! without a clock.

pub mod batch;
pub mod cpu;
pub mod io;
pub mod mixed;
pub mod vs_rayon;

use std::time::{Duration, Instant};

use stage05_panic_resilient::{ResilientPool, TaskPanicked};
use stage06_sizing::{Align, Latencies, Table};

use harness::{TaskSpec, Work};

use crate::cli::Summary;

/// What an experiment prints: its tables and explanations, then its summary line.
#[derive(Debug)]
pub struct Report {
    /// Everything before the summary line (omitted by `--quiet`).
    pub text: String,
    /// The experiment's last line.
    pub summary: Summary,
}

/// How the tasks of one or more batches ended.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    tasks: usize,
    completed: usize,
    panicked: usize,
}

impl Tally {
    /// Counts one joined task and passes its result on if it did not panic.
    pub fn record<R>(&mut self, outcome: Result<R, TaskPanicked>) -> Option<R> {
        self.tasks += 1;
        match outcome {
            Ok(value) => {
                self.completed += 1;
                Some(value)
            }
            Err(_) => {
                self.panicked += 1;
                None
            }
        }
    }

    /// A tally of `tasks` tasks that all completed, for work that ran outside a pool.
    pub fn all_completed(tasks: usize) -> Self {
        Tally {
            tasks,
            completed: tasks,
            panicked: 0,
        }
    }

    /// Counts the tasks of `other` as well.
    pub fn add(&mut self, other: Tally) {
        self.tasks += other.tasks;
        self.completed += other.completed;
        self.panicked += other.panicked;
    }

    /// Tasks that returned normally.
    pub fn completed(&self) -> usize {
        self.completed
    }

    /// The summary line of an experiment that ran these tasks.
    pub fn summary(
        &self,
        experiment: &'static str,
        results: Vec<(&'static str, String)>,
    ) -> Summary {
        Summary {
            experiment,
            tasks: self.tasks,
            completed: self.completed,
            panicked: self.panicked,
            results,
        }
    }
}

/// One batch of tasks on one pool: how long it took and how its tasks ended.
#[derive(Debug)]
pub struct Batch {
    /// From the first submit until the last task had finished.
    pub elapsed: Duration,
    /// How the tasks ended.
    pub tally: Tally,
    /// How long each task ran on its worker.
    pub service: Latencies,
    /// How long each task took from the call to `submit` until it had finished: the service time
    /// plus the waits for a queue slot and for a free worker.
    pub latency: Latencies,
}

impl Batch {
    /// Completed tasks per second of wall time.
    pub fn tasks_per_s(&self) -> f64 {
        self.tally.completed() as f64 / self.elapsed.as_secs_f64()
    }
}

/// The queue each pool gets: two tasks per worker, up to [`harness::MAX_QUEUE`].
///
/// Enough that a worker that finishes finds its next task waiting even if the submitting thread is
/// briefly descheduled; small enough that memory stays bounded. A larger queue would not make any
/// experiment here faster, because the workers are the bottleneck by design. Only a pool far
/// beyond [`harness::THREAD_LIMIT`] would reach the cap.
pub fn queue_capacity(workers: usize) -> usize {
    workers.saturating_mul(2).min(harness::MAX_QUEUE)
}

/// Starts a pool of `workers` with a queue of [`queue_capacity`]. If the system refuses one of its
/// threads, the demo says why and exits (see [`harness::start_pool`]).
pub fn start_pool(workers: usize) -> ResilientPool {
    harness::start_pool(|| ResilientPool::new(workers, queue_capacity(workers)))
}

/// Runs `tasks` tasks of `work` on a fresh pool of `workers` and waits for all of them.
///
/// The pool is started before the clock and shut down after it, so the time is the tasks' alone.
pub fn run_batch(workers: usize, tasks: usize, work: Work) -> Batch {
    let pool = start_pool(workers);
    let batch = submit_all(&pool, tasks, work);
    pool.shutdown();
    batch
}

/// Submits `tasks` tasks of `work` to `pool` from the current thread, then joins them all.
pub fn submit_all(pool: &ResilientPool, tasks: usize, work: Work) -> Batch {
    let start = Instant::now();
    // A loop rather than `collect`, which would reserve room for every handle before the first
    // task is submitted.
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let submitted = Instant::now();
        handles.push(pool.submit(move || {
            let started = Instant::now();
            work.run();
            let finished = Instant::now();
            (finished - started, finished - submitted)
        }));
    }
    let mut tally = Tally::default();
    let (service, latency): (Vec<_>, Vec<_>) = handles
        .into_iter()
        .filter_map(|handle| tally.record(handle.join()))
        .unzip();
    Batch {
        elapsed: start.elapsed(),
        tally,
        service: Latencies::new(service),
        latency: Latencies::new(latency),
    }
}

/// Measures every pool size in `sizes` `rounds` times with `run` and keeps each size's fastest
/// batch, paired with its size, in the order of `sizes`. Every task of every run is added to
/// `tally`.
///
/// The fastest of several rounds, because on a shared machine other processes can only slow a run
/// down. The rounds are interleaved (1, 2, 3, 1, 2, 3, ...) rather than repeated per size (1, 1,
/// 2, 2, ...), so that a burst of outside load spoils one round of several sizes instead of every
/// round of one size.
///
/// # Panics
///
/// Panics if `rounds` is 0.
pub fn best_of_rounds(
    sizes: &[usize],
    rounds: usize,
    tally: &mut Tally,
    mut run: impl FnMut(usize) -> Batch,
) -> Vec<(usize, Batch)> {
    assert!(
        rounds > 0,
        "at least one round is needed to measure anything"
    );
    let mut best: Vec<Option<Batch>> = sizes.iter().map(|_| None).collect();
    for _ in 0..rounds {
        for (&workers, best) in sizes.iter().zip(&mut best) {
            let batch = run(workers);
            tally.add(batch.tally);
            if best
                .as_ref()
                .is_none_or(|b| batch.tasks_per_s() > b.tasks_per_s())
            {
                *best = Some(batch);
            }
        }
    }
    sizes
        .iter()
        .copied()
        .zip(best.into_iter().flatten())
        .collect()
}

/// The three ways to count this machine's CPUs, and what each one counts.
pub fn parallelism() -> String {
    let mut table = Table::new(&[
        ("count", Align::Right),
        ("source", Align::Left),
        ("what it counts", Align::Left),
    ]);
    let rows = [
        (
            harness::cores(),
            "std::thread::available_parallelism()",
            "CPUs this process may use: affinity mask and cgroup quota (rounded down)",
        ),
        (
            num_cpus::get(),
            "num_cpus::get()",
            "logical CPUs; on Linux the same limits, but a quota rounded up, read once",
        ),
        (
            num_cpus::get_physical(),
            "num_cpus::get_physical()",
            "physical cores (Linux: /proc/cpuinfo), ignoring affinity and quotas",
        ),
    ];
    for (count, source, meaning) in rows {
        table.push_row(vec![
            count.to_string(),
            source.to_string(),
            meaning.to_string(),
        ]);
    }
    format!(
        "parallelism: the experiments size pools with available_parallelism ({})\n{table}",
        count(harness::cores(), "core")
    )
}

/// Three cells for a table of CPU-bound runs: the measured tasks per second, the ideal for
/// `workers` workers (see [`harness::ideal`]), and how much of the ideal was reached.
pub fn throughput_cells(
    task: TaskSpec,
    tasks: usize,
    workers: usize,
    tasks_per_s: f64,
) -> [String; 3] {
    let ideal_per_s = tasks as f64 / harness::ideal(task, tasks, workers).as_secs_f64();
    [
        rate(tasks_per_s),
        rate(ideal_per_s),
        percent(tasks_per_s / ideal_per_s),
    ]
}

/// `n` and a noun, in the plural unless `n` is 1: "1 core", "2 cores".
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A throughput for a table: whole tasks per second.
pub fn rate(tasks_per_s: f64) -> String {
    format!("{tasks_per_s:.0}")
}

/// A duration for a table, in milliseconds with one decimal.
pub fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

/// A fraction as a whole percentage.
pub fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}
