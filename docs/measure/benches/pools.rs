//! Per-task cost of each pool, measured in-process: no child process, no sampler, no demo.
//!
//! Every benchmark runs one batch of tasks per iteration (100,000 under `cargo bench`) on a pool
//! of as many workers as the process has cores, with a queue of 1,024 slots for the bounded pools.
//! An iteration starts the pool, submits every task from the calling thread, waits until every
//! task has run, and stops the pool: time per iteration / tasks = cost per task. Each pool runs
//! two kinds of task: `empty` (a closure that does nothing: the pool's own cost) and `cpu:1us`
//! (about 1 µs of calibrated CPU work, [`harness::Work`], as the demos run it).
//!
//! The groups:
//!
//! - `bare_crossbeam`: boxed closures over a `crossbeam_channel::bounded` queue, written here in
//!   a few lines. The floor that stage 03 is compared with.
//! - `stage02`: stage 02's `ThreadPool` (`Arc<Mutex<mpsc::Receiver>>`, unbounded queue).
//! - `stage03`: stage 03's `WorkerPool`, `submit` with its default blocking policy.
//! - `stage03_tracker`: the same pool, each task counted by a [`harness::Tracker`] through an
//!   `Arc` cloned per task, as the demos count theirs: what the demo's bookkeeping adds.
//! - `stage04_join_each`: stage 04, one handle (and one result channel) per task; every handle
//!   kept and joined after the last submit, as stage 04's demo does.
//! - `stage04_join_batch`: stage 04, the handles joined after every 1,024 submits.
//! - `stage05`: stage 05's `ResilientPool` (result channel, `catch_unwind`, outcome counters),
//!   every handle joined after the last submit.
//! - `threadpool`: the `threadpool` crate (unbounded queue), waited for with `join`.
//! - `rayon_scope`: a rayon pool, `scope` with one `spawn` per task.
//! - `rayon_par_iter`: a rayon pool, `into_par_iter().for_each` over the task numbers; rayon
//!   splits the range into chunks itself, so it pays far fewer than one hand-over per task.
//!
//! Run them with `cargo bench -p measure` (all), or `cargo bench -p measure -- stage03` (the
//! groups whose name contains `stage03`). Under `cargo test -p measure --benches` each case runs
//! once, on 1,000 tasks, to check that it works.

use std::sync::{Arc, OnceLock};
use std::thread;

use divan::Bencher;
use harness::{Tracker, Work};
use rayon::prelude::*;

fn main() {
    divan::main();
}

/// Each bounded pool's queue, in slots.
const QUEUE: usize = 1_024;

/// The task kinds every group runs; see [`Task`].
const KINDS: [&str; 2] = ["empty", "cpu:1us"];

/// Samples per case: every sample is one iteration of [`tasks`] tasks (tens of milliseconds).
const SAMPLES: u32 = 30;

/// Tasks per iteration: 100,000 when benchmarking, 1,000 when `cargo test` only checks the cases.
fn tasks() -> usize {
    static TASKS: OnceLock<usize> = OnceLock::new();
    *TASKS.get_or_init(|| {
        // `cargo bench` passes `--bench`; `cargo test` does not.
        if std::env::args().any(|arg| arg == "--bench") {
            100_000
        } else {
            1_000
        }
    })
}

fn workers() -> usize {
    harness::cores()
}

/// One task, small enough to copy into every closure.
#[derive(Clone, Copy)]
enum Task {
    Empty,
    Cpu(Work),
}

impl Task {
    /// The task called `kind`, one of [`KINDS`]. CPU work is calibrated once per process.
    fn named(kind: &str) -> Self {
        static CPU_1US: OnceLock<Work> = OnceLock::new();
        match kind {
            "empty" => Task::Empty,
            "cpu:1us" => Task::Cpu(
                *CPU_1US.get_or_init(|| Work::new("cpu:1us".parse().expect("a valid task spec"))),
            ),
            _ => unreachable!("unknown task kind {kind}"),
        }
    }

    fn run(self) {
        if let Task::Cpu(work) = self {
            work.run();
        }
    }
}

/// The floor: boxed closures over a bounded crossbeam channel, one receiver clone per worker.
#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn bare_crossbeam(bencher: Bencher<'_, '_>, kind: &str) {
    type Job = Box<dyn FnOnce() + Send>;
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(QUEUE);
        let threads: Vec<_> = (0..workers())
            .map(|_| {
                let receiver = receiver.clone();
                thread::spawn(move || {
                    for job in receiver {
                        job();
                    }
                })
            })
            .collect();
        for _ in 0..tasks() {
            sender
                .send(Box::new(move || task.run()))
                .expect("workers alive");
        }
        drop(sender);
        for thread in threads {
            thread.join().expect("no task panics");
        }
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage02(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = stage02_mutex_receiver_pool::ThreadPool::new(workers());
        for _ in 0..tasks() {
            pool.execute(move || task.run());
        }
        drop(pool);
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage03(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = stage03_crossbeam_bounded::WorkerPool::new(workers(), QUEUE);
        for _ in 0..tasks() {
            pool.submit(move || task.run()).expect("workers alive");
        }
        pool.shutdown();
    });
}

/// Stage 03 with the demos' bookkeeping: an `Arc` clone per task, and the tracker's guard
/// (`start`, then its drop) around the work.
#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage03_tracker(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let tracker = Arc::new(Tracker::default());
        let pool = stage03_crossbeam_bounded::WorkerPool::new(workers(), QUEUE);
        for _ in 0..tasks() {
            let tracker = Arc::clone(&tracker);
            pool.submit(move || {
                let _running = tracker.start();
                task.run();
            })
            .expect("workers alive");
        }
        pool.shutdown();
        assert_eq!(tracker.completed(), tasks());
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage04_join_each(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = stage04_results::WorkerPool::new(workers(), QUEUE);
        let handles: Vec<_> = (0..tasks())
            .map(|_| pool.submit(move || task.run()).expect("workers alive"))
            .collect();
        for handle in handles {
            handle.join().expect("no task panics");
        }
        pool.shutdown();
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage04_join_batch(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = stage04_results::WorkerPool::new(workers(), QUEUE);
        let mut handles = Vec::with_capacity(QUEUE);
        let mut left = tasks();
        while left > 0 {
            let batch = left.min(QUEUE);
            handles.extend((0..batch).map(|_| pool.submit(move || task.run()).expect("alive")));
            for handle in handles.drain(..) {
                handle.join().expect("no task panics");
            }
            left -= batch;
        }
        pool.shutdown();
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage05(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = stage05_panic_resilient::ResilientPool::new(workers(), QUEUE);
        let handles: Vec<_> = (0..tasks())
            .map(|_| pool.submit(move || task.run()))
            .collect();
        for handle in handles {
            handle.join().expect("no task panics");
        }
        pool.shutdown();
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn threadpool(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = threadpool::ThreadPool::new(workers());
        for _ in 0..tasks() {
            pool.execute(move || task.run());
        }
        pool.join();
    });
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers())
        .build()
        .expect("rayon starts its threads")
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn rayon_scope(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = rayon_pool();
        pool.scope(|scope| {
            for _ in 0..tasks() {
                scope.spawn(move |_| task.run());
            }
        });
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn rayon_par_iter(bencher: Bencher<'_, '_>, kind: &str) {
    let task = Task::named(kind);
    bencher.bench_local(|| {
        let pool = rayon_pool();
        pool.install(|| (0..tasks()).into_par_iter().for_each(|_| task.run()));
    });
}
