//! Stage 02 demo: run tasks on a fixed number of workers, and see that submitting them never
//! waits, because the queue has no limit.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use harness::{PoolArgs, TaskArgs, Workload};
use stage02_mutex_receiver_pool::ThreadPool;

/// Runs tasks on a fixed pool of worker threads that share one unbounded queue.
#[derive(Debug, Parser)]
#[command(version)]
// This stage's own default for a shared flag: five waves of four workers.
#[command(mut_arg("tasks", |arg| arg.default_value("20")))]
struct Args {
    #[command(flatten)]
    run: TaskArgs,

    #[command(flatten)]
    pool: PoolArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    args.pool.check_threads::<Args>();
    let workload = Workload::new(&args.run).leak();
    // New: a fixed number of threads, whatever the number of tasks.
    let pool = harness::or_exit_if_refused(|| ThreadPool::new(args.pool.workers));

    let start = Instant::now();
    for id in 0..args.run.tasks {
        let task = workload.hand_over(id);
        pool.execute(move || task.run());
    }
    // New: this loop never waited for a worker, so it took about as long as queueing the tasks.
    let submitting = start.elapsed();
    // Dropping the pool closes the queue and waits until the workers have run all of it.
    drop(pool);
    let elapsed = start.elapsed();

    workload.line(format_args!(
        "submitted {} tasks in {submitting:.1?}: the unbounded queue accepted them all at once",
        args.run.tasks
    ));
    // `queue=-`: this queue has no limit.
    let summary = workload.summary("02", elapsed, Some(args.pool.workers), None);
    // Every task was queued and run: `execute` panics rather than lose one.
    workload.finish(summary, true)
}
