//! Per-task cost of each pool, measured in-process: one batch of tasks per iteration, `empty` or
//! `cpu:1us`, on as many workers as cores. docs/measure/README.md says what each group measures;
//! the stages' runs are [`measure::runs`]. Under `cargo test --benches` each case runs once.

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

/// The task called `kind`, one of [`KINDS`]; CPU work is calibrated once per process.
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

/// Stage 03 as its demo drives it, an empty task as `cpu:0ns`; the workload is made once per case.
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
