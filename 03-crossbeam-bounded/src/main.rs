//! Stage 03 demo: submit tasks to a crossbeam pool with a bounded queue and watch the submitter
//! wait whenever the queue is full.

mod workload;

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use stage03_crossbeam_bounded::WorkerPool;
use workload::{Summary, TaskSpec, Tracker, Work};

/// Runs tasks on a fixed pool whose queue is bounded: submit waits while the queue is full.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// How many tasks to run.
    #[arg(long, value_name = "N", default_value = "100", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    tasks: usize,

    /// What each task does: sleep:DURATION (waits, like IO) or cpu:DURATION (computes).
    /// Units: ns, us, ms, s.
    #[arg(long, value_name = "KIND:DURATION", default_value = "sleep:50ms")]
    task: TaskSpec,

    /// Worker threads in the pool.
    #[arg(long, value_name = "N", default_value = "4", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    workers: usize,

    /// Tasks the queue holds before submit waits; 0 hands each task straight to a free worker.
    #[arg(long, value_name = "N", default_value = "16", value_parser = workload::parse_count, allow_hyphen_values = true)]
    queue: usize,

    /// Print only the summary, not a line per task.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let work = Arc::new(Work::new(args.task));
    let tracker = Arc::new(Tracker::default());
    let pool = WorkerPool::new(args.workers, args.queue);

    let start = Instant::now();
    // New: count the submits that found the queue full, and how long they waited for a slot.
    let mut waited = 0;
    let mut waiting_time = Duration::ZERO;
    for id in 0..args.tasks {
        let (work, tracker) = (Arc::clone(&work), Arc::clone(&tracker));
        let quiet = args.quiet;
        let was_full = pool.is_full();
        let before = Instant::now();
        let submitted = pool.submit(move || {
            let _running = tracker.start();
            work.run();
            if !quiet {
                let worker = thread::current();
                println!("task {id} done on {}", worker.name().unwrap_or("?"));
            }
        });
        if let Err(error) = submitted {
            eprintln!("error: task {id} was not submitted: {error}");
            return ExitCode::FAILURE;
        }
        if was_full {
            waited += 1;
            waiting_time += before.elapsed();
        }
    }
    pool.shutdown();
    let elapsed = start.elapsed();

    println!(
        "{}",
        backpressure_report(waited, args.tasks, waiting_time, args.queue)
    );
    let summary = Summary {
        stage: "03",
        tasks: args.tasks,
        tracker,
        workers: Some(args.workers),
        queue: Some(args.queue),
        task: args.task,
        elapsed,
        ideal: workload::ideal(args.task, args.tasks, args.workers),
    };
    println!("{summary}");
    ExitCode::SUCCESS
}

// New: the line that makes backpressure visible.
fn backpressure_report(
    waited: usize,
    tasks: usize,
    waiting_time: Duration,
    queue: usize,
) -> String {
    if waited == 0 {
        return format!("no submit waited: the queue of {queue} always had room");
    }
    let reason = match queue {
        0 => "a queue of 0 holds nothing, so each submit waits for a free worker".to_string(),
        capacity => format!("the queue of {capacity} was full"),
    };
    format!("{waited} of {tasks} submits waited ({waiting_time:.1?} in total): {reason}")
}
