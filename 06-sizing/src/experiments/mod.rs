//! The four experiments, one module each, and what they share: running tasks on a fresh pool,
//! keeping the best of several rounds, and counting how every task ended. They measure and print,
//! so they live beside `main.rs`; the library keeps the arithmetic.

pub mod batch;
pub mod cpu;
pub mod io;
pub mod mixed;

use std::collections::VecDeque;
use std::iter;
use std::time::{Duration, Instant};

use harness::Work;
use stage05_panic_resilient::{ResilientPool, TaskHandle, TaskPanicked};
use stage06_sizing::Latencies;

/// What an experiment prints: its tables and explanations, then its summary line.
#[derive(Debug)]
pub struct Report {
    /// The subcommand that ran: `cpu`, `io`, `mixed` or `batch`.
    pub experiment: &'static str,
    /// Everything before the summary line (left out by `--quiet`).
    pub text: String,
    /// How every task of every pool the experiment ran ended.
    pub tally: Tally,
    /// The experiment's own keys and values for its summary line, in the order they are printed.
    pub results: Vec<(&'static str, String)>,
}

impl Report {
    /// The experiment's last line: first the keys every stage starts with (`stage tasks
    /// completed panicked`), then `experiment` and its own keys, in a fixed order for scripts.
    pub fn summary(&self) -> String {
        let (completed, panicked) = (self.tally.completed, self.tally.panicked);
        let mut line = format!(
            "summary: stage=06 tasks={} completed={completed} panicked={panicked} experiment={}",
            completed + panicked,
            self.experiment
        );
        for (key, value) in &self.results {
            line.push_str(&format!(" {key}={value}"));
        }
        line
    }
}

/// How the tasks of one or more runs ended. Every task is joined, so it completed or panicked.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    completed: usize,
    panicked: usize,
}

impl Tally {
    /// Counts one joined task and passes its value on if it did not panic.
    pub fn record<R>(&mut self, outcome: Result<R, TaskPanicked>) -> Option<R> {
        match outcome {
            Ok(_) => self.completed += 1,
            Err(_) => self.panicked += 1,
        }
        outcome.ok()
    }

    /// Counts the tasks of `other` as well.
    pub fn add(&mut self, other: Tally) {
        self.completed += other.completed;
        self.panicked += other.panicked;
    }
}

/// One run of tasks on one pool: how long it took and how its tasks ended.
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
        self.tally.completed as f64 / self.elapsed.as_secs_f64()
    }
}

/// The queue of every pool here: two slots per worker, so that a worker that finishes finds its
/// next task waiting even if the submitter is briefly descheduled.
pub fn queue_capacity(workers: usize) -> usize {
    workers.saturating_mul(2).min(harness::MAX_QUEUE)
}

/// Starts a pool of `workers`. If the system refuses a thread, the demo says why and exits.
pub fn start_pool(workers: usize) -> ResilientPool {
    harness::or_exit_if_refused(|| ResilientPool::new(workers, queue_capacity(workers)))
}

/// Runs `tasks` tasks of `work` on a fresh pool of `workers` and waits for all of them.
pub fn run_batch(workers: usize, tasks: usize, work: Work) -> Batch {
    run_jobs(workers, iter::repeat_n(move || work.run(), tasks))
}

/// Runs `jobs` on a fresh pool of `workers` and waits for all of them. The pool starts before
/// the clock and stops after it, so the time is the tasks' alone.
pub fn run_jobs<J>(workers: usize, jobs: impl IntoIterator<Item = J>) -> Batch
where
    J: FnOnce() + Send + 'static,
{
    let pool = start_pool(workers);
    let batch = submit_all(&pool, workers + queue_capacity(workers), jobs);
    pool.shutdown();
    batch
}

/// Submits every job to `pool` from this thread and joins them all, oldest first, keeping at most
/// `window` handles, however many tasks there are (of each task, only its two times are kept).
/// `window` must be at least the pool's workers plus its queue slots, so that joining never holds
/// back the queue.
pub fn submit_all<J>(
    pool: &ResilientPool,
    window: usize,
    jobs: impl IntoIterator<Item = J>,
) -> Batch
where
    J: FnOnce() + Send + 'static,
{
    let start = Instant::now();
    let mut in_flight: VecDeque<TaskHandle<(Duration, Duration)>> = VecDeque::new();
    let (mut tally, mut times) = (Tally::default(), Vec::new());
    for job in jobs {
        if in_flight.len() == window {
            let oldest = in_flight.pop_front().expect("the window is full");
            times.extend(tally.record(oldest.join()));
        }
        let submitted = Instant::now();
        in_flight.push_back(pool.submit(move || {
            let started = Instant::now();
            job();
            let finished = Instant::now();
            (finished - started, finished - submitted)
        }));
    }
    for handle in in_flight {
        times.extend(tally.record(handle.join()));
    }
    let elapsed = start.elapsed();
    let (service, latency) = times.into_iter().unzip();
    Batch {
        elapsed,
        tally,
        service: Latencies::new(service),
        latency: Latencies::new(latency),
    }
}

/// Runs every size in `sizes` `rounds` times with `run` and keeps each size's fastest run (other
/// programs can only ever slow a run down), adding every task to `tally`. The rounds interleave
/// (1, 2, 3, 1, 2, 3, ...), so that a burst of outside load spoils one round of several sizes
/// instead of every round of one size.
pub fn best_of_rounds(
    sizes: &[usize],
    rounds: usize,
    tally: &mut Tally,
    mut run: impl FnMut(usize) -> Batch,
) -> Vec<Batch> {
    let mut best: Vec<Option<Batch>> = sizes.iter().map(|_| None).collect();
    for _ in 0..rounds {
        for (&size, best) in sizes.iter().zip(&mut best) {
            let batch = run(size);
            tally.add(batch.tally);
            if best.as_ref().is_none_or(|b| batch.elapsed < b.elapsed) {
                *best = Some(batch);
            }
        }
    }
    best.into_iter().flatten().collect()
}

/// The three ways to count this machine's CPUs; the README says what each one counts.
pub fn parallelism() -> String {
    format!(
        "parallelism: std::thread::available_parallelism() {}, num_cpus::get() {}, \
         num_cpus::get_physical() {}; the experiments size pools with the first",
        harness::cores(),
        num_cpus::get(),
        num_cpus::get_physical()
    )
}

/// The remark beside the row of `size` in a sweep: the `marks` of that size, such as "knee, best".
pub fn note(size: usize, marks: &[(usize, &str)]) -> String {
    let notes: Vec<&str> = marks.iter().filter(|m| m.0 == size).map(|m| m.1).collect();
    notes.join(", ")
}
