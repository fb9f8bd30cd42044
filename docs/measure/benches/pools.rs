//! Per-task cost of each pool, measured in-process: no child process, no sampler.
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
//! - `bare_crossbeam`: boxed closures over a `crossbeam_channel::bounded` queue, written in a few
//!   lines. The floor that stage 03 is compared with.
//! - `stage02`: stage 02's `ThreadPool` (`Arc<Mutex<mpsc::Receiver>>`, unbounded queue).
//! - `stage03`: stage 03's `WorkerPool`, `submit` with its default blocking policy.
//! - `stage03_demo`: the same pool driven the way stage 03's demo drives it: each task handed
//!   over by the demo's [`harness::Workload`] (borrowed for the whole program), `try_submit`
//!   first, and the task run as the demo runs it (its work, counted by its [`harness::Tracker`]).
//!   What the demo's bookkeeping adds to the pool.
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
//! The stages' runs are in [`measure::runs`], which the cost ladder ([`measure::ladder`]) times
//! too. `cargo bench -p measure -- stage03` runs the groups whose name contains `stage03`; under
//! `cargo test -p measure --benches` each case runs once, on 1,000 tasks, to check that it works.

use std::sync::OnceLock;

use divan::Bencher;
use harness::Work;
use measure::runs;
use rayon::prelude::*;

fn main() {
    divan::main();
}

/// The task kinds every group runs; see [`task`].
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

/// Workers per pool: as many as cores.
fn workers() -> usize {
    harness::cores()
}

/// The task called `kind`, one of [`KINDS`], as the runs take it: a function of the task's id,
/// which it ignores. CPU work is calibrated once per process.
fn task(kind: &str) -> impl runs::Task {
    static CPU_1US: OnceLock<Work> = OnceLock::new();
    let work = match kind {
        "empty" => None,
        "cpu:1us" => {
            Some(*CPU_1US.get_or_init(|| Work::new("cpu:1us".parse().expect("a valid task spec"))))
        }
        _ => unreachable!("unknown task kind {kind}"),
    };
    move |_id| {
        if let Some(work) = work {
            work.run();
        }
    }
}

/// A group per run of [`runs`] that takes the task as it is: `name => run`.
macro_rules! groups {
    ($($name:ident => $run:path),* $(,)?) => {$(
        #[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
        fn $name(bencher: Bencher<'_, '_>, kind: &str) {
            let task = task(kind);
            bencher.bench_local(|| $run(workers(), tasks(), task));
        }
    )*};
}

groups! {
    bare_crossbeam => runs::bare_boxed,
    stage02 => runs::stage02,
    stage03 => runs::stage03,
    stage04_join_each => runs::stage04_join_each,
    stage04_join_batch => runs::stage04_join_batch,
    stage05 => runs::stage05_join_each,
}

/// Stage 03 as its demo drives it. The demo runs an empty task as `cpu:0ns`, as the
/// measurements run it; the workload is made (and its CPU work calibrated) once per case, and
/// keeps counting from one iteration to the next.
#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage03_demo(bencher: Bencher<'_, '_>, kind: &str) {
    let task = match kind {
        "empty" => "cpu:0ns",
        other => other,
    };
    let workload = runs::quiet_workload(tasks(), task).leak();
    bencher.bench_local(|| runs::stage03_demo(workers(), tasks(), workload));
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn threadpool(bencher: Bencher<'_, '_>, kind: &str) {
    let task = task(kind);
    bencher.bench_local(|| {
        let pool = threadpool::ThreadPool::new(workers());
        for id in 0..tasks() {
            pool.execute(move || task(id));
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
    let task = task(kind);
    bencher.bench_local(|| {
        let pool = rayon_pool();
        pool.scope(|scope| {
            for id in 0..tasks() {
                scope.spawn(move |_| task(id));
            }
        });
    });
}

#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn rayon_par_iter(bencher: Bencher<'_, '_>, kind: &str) {
    let task = task(kind);
    bencher.bench_local(|| {
        let pool = rayon_pool();
        pool.install(|| (0..tasks()).into_par_iter().for_each(task));
    });
}
