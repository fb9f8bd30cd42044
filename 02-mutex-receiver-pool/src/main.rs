//! Stage 02 demo: run tasks on a fixed number of workers, and see that submitting them never
//! waits, because the queue has no limit.

mod workload;

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use clap::Parser;
use stage02_mutex_receiver_pool::ThreadPool;
use workload::{Summary, TaskSpec, Tracker, Work};

/// Runs tasks on a fixed pool of worker threads that share one unbounded queue.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// How many tasks to run.
    #[arg(long, value_name = "N", default_value = "20", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    tasks: usize,

    /// What each task does: sleep:DURATION (waits, like IO) or cpu:DURATION (computes).
    /// Units: ns, us, ms, s.
    #[arg(long, value_name = "KIND:DURATION", default_value = "sleep:100ms")]
    task: TaskSpec,

    /// Worker threads in the pool.
    #[arg(long, value_name = "N", default_value = "4", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    workers: usize,

    /// Print only the summary, not a line per task.
    #[arg(long)]
    quiet: bool,
}

fn main() {
    let args = Args::parse();
    let work = Arc::new(Work::new(args.task));
    let tracker = Arc::new(Tracker::default());
    // New: a fixed number of threads, whatever the number of tasks.
    let pool = ThreadPool::new(args.workers);

    let start = Instant::now();
    for id in 0..args.tasks {
        let (work, tracker) = (Arc::clone(&work), Arc::clone(&tracker));
        let quiet = args.quiet;
        pool.execute(move || {
            let _running = tracker.start();
            work.run();
            if !quiet {
                let worker = thread::current();
                println!("task {id} done on {}", worker.name().unwrap_or("?"));
            }
        });
    }
    // New: this loop never waited for a worker, so it took about as long as queueing the tasks.
    let submitting = start.elapsed();
    // Dropping the pool closes the queue and waits until the workers have run all of it.
    drop(pool);
    let elapsed = start.elapsed();

    println!(
        "submitted {} tasks in {submitting:.1?}: the unbounded queue accepted them all at once",
        args.tasks
    );
    let summary = Summary {
        stage: "02",
        tasks: args.tasks,
        tracker,
        workers: Some(args.workers),
        queue: None,
        task: args.task,
        elapsed,
        ideal: workload::ideal(args.task, args.tasks, args.workers),
    };
    println!("{summary}");
}
