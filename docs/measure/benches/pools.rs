//! Per-task cost of each pool, measured in-process: one batch of tasks per iteration, `empty` or
//! `cpu:1us`, on as many workers as cores. docs/measure/README.md says what each group measures;
//! the stages' runs are [`measure::runs`]. Under `cargo test --benches` each case runs once.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use divan::Bencher;
use harness::{Work, cores};
use measure::runs::{self, QUEUE};

fn main() {
    divan::main();
}

/// The task kinds every group runs; see [`task`].
const KINDS: [&str; 2] = ["empty", "cpu:1us"];

/// Samples per case: every sample is one iteration of [`tasks`] tasks (tens of milliseconds).
const SAMPLES: u32 = 30;

/// Tasks per iteration: 100,000 when benchmarking, 1,000 when `cargo test` only checks the cases
/// (`cargo bench` passes `--bench`; `cargo test` does not).
fn tasks() -> usize {
    static TASKS: OnceLock<usize> = OnceLock::new();
    *TASKS.get_or_init(|| match std::env::args().any(|arg| arg == "--bench") {
        true => 100_000,
        false => 1_000,
    })
}

/// The task called `kind`, one of [`KINDS`]; CPU work is calibrated once per process.
fn task(kind: &str) -> impl runs::Task {
    static CPU_1US: OnceLock<Work> = OnceLock::new();
    let work = match kind {
        "empty" => None,
        "cpu:1us" => Some(*CPU_1US.get_or_init(|| Work::new(kind.parse().expect("a task")))),
        _ => unreachable!("unknown task kind {kind}"),
    };
    move |_id| work.iter().for_each(Work::run)
}

/// A group per run that takes the workers, the tasks and the task as it is: `name => run`.
macro_rules! groups {
    ($($name:ident => $run:expr),* $(,)?) => {$(
        #[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
        fn $name(bencher: Bencher<'_, '_>, kind: &str) {
            let task = task(kind);
            bencher.bench_local(|| $run(cores(), tasks(), task));
        }
    )*};
}

groups! {
    bare_crossbeam => runs::bare_boxed,
    stage02 => runs::stage02,
    stage03 => runs::stage03,
    // Every handle joined after the last submit, as the demos do; or every `QUEUE` submits.
    stage04_join_each => |workers, tasks, task| runs::stage04(workers, tasks, tasks, task),
    stage04_join_batch => |workers, tasks, task| runs::stage04(workers, tasks, QUEUE, task),
    stage05 => |workers, tasks, task| runs::stage05(workers, tasks, tasks, task),
    threadpool => runs::threadpool,
    rayon_scope => |workers, tasks, task| rayon(runs::rayon_scope(workers, tasks, task)),
    rayon_par_iter => |workers, tasks, task| rayon(runs::rayon_par_iter(workers, tasks, task)),
}

/// A rayon run's time: a pool that cannot start its threads ends the bench.
fn rayon(run: io::Result<Duration>) -> Duration {
    run.expect("rayon starts its threads")
}

/// Stage 03 as its demo drives it, an empty task as `cpu:0ns`; the workload is made once per case.
#[divan::bench(args = KINDS, sample_count = SAMPLES, sample_size = 1)]
fn stage03_demo(bencher: Bencher<'_, '_>, kind: &str) {
    let task = if kind == "empty" { "cpu:0ns" } else { kind };
    let workload = runs::workload(tasks(), task, false).leak();
    bencher.bench_local(|| runs::stage03_demo(cores(), tasks(), workload));
}
