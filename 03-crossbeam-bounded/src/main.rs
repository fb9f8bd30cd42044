//! Stage 03 demo: submit tasks to a crossbeam pool with a bounded queue and watch what happens
//! whenever the queue is full.

mod workload;

use std::fmt;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use stage03_crossbeam_bounded::{SubmitTimeoutError, TrySubmitError, WorkerPool};
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

    /// What to do when the queue is full: block (wait for a slot), reject (give the task up and
    /// count it), caller-runs (run it on the submitting thread) or timeout:DURATION (wait that
    /// long, then reject).
    #[arg(long, value_name = "POLICY", default_value = "block")]
    policy: Policy,

    /// Print only the summary, not a line per task.
    #[arg(long)]
    quiet: bool,
}

/// New: what the submitter does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Block,
    Reject,
    CallerRuns,
    Timeout(Duration),
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "block" => Ok(Policy::Block),
            "reject" => Ok(Policy::Reject),
            "caller-runs" => Ok(Policy::CallerRuns),
            _ => match text.strip_prefix("timeout:") {
                Some(duration) => workload::parse_duration(duration).map(Policy::Timeout),
                None => Err(format!(
                    "unknown policy '{text}' (expected block, reject, caller-runs or timeout:DURATION)"
                )),
            },
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Block => f.write_str("block"),
            Policy::Reject => f.write_str("reject"),
            Policy::CallerRuns => f.write_str("caller-runs"),
            Policy::Timeout(limit) => write!(f, "timeout:{}", workload::format_duration(*limit)),
        }
    }
}

/// What became of one task handed to [`submit_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Queued,
    Rejected,
    RanInCaller,
    NoWorkers,
}

/// Submits `task` the way `policy` says. A refused task comes back from the pool, so this
/// function decides its fate explicitly: run it here, or report it as rejected.
fn submit_with<F>(pool: &WorkerPool, policy: Policy, task: F) -> Outcome
where
    F: FnOnce() + Send + 'static,
{
    match policy {
        Policy::Block => match pool.submit(task) {
            Ok(()) => Outcome::Queued,
            Err(_) => Outcome::NoWorkers,
        },
        Policy::Reject => match pool.try_submit(task) {
            Ok(()) => Outcome::Queued,
            Err(TrySubmitError::Full(_)) => Outcome::Rejected,
            Err(TrySubmitError::Closed(_)) => Outcome::NoWorkers,
        },
        Policy::CallerRuns => match pool.try_submit(task) {
            Ok(()) => Outcome::Queued,
            Err(TrySubmitError::Full(task)) => {
                task();
                Outcome::RanInCaller
            }
            Err(TrySubmitError::Closed(_)) => Outcome::NoWorkers,
        },
        Policy::Timeout(limit) => match pool.submit_timeout(task, limit) {
            Ok(()) => Outcome::Queued,
            Err(SubmitTimeoutError::Timeout(_)) => Outcome::Rejected,
            Err(SubmitTimeoutError::Closed(_)) => Outcome::NoWorkers,
        },
    }
}

/// How the submitting loop went: the waits that make backpressure visible, and the tasks that
/// did not go through the queue.
#[derive(Debug, Default)]
struct SubmitReport {
    waited: usize,
    waiting_time: Duration,
    rejected: Vec<usize>,
    ran_in_caller: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let work = Arc::new(Work::new(args.task));
    let tracker = Arc::new(Tracker::default());
    let pool = WorkerPool::new(args.workers, args.queue);

    // Only these policies ever wait for a slot; the others never block on a full queue.
    let may_wait = matches!(args.policy, Policy::Block | Policy::Timeout(_));
    let start = Instant::now();
    let mut report = SubmitReport::default();
    for id in 0..args.tasks {
        let (work, tracker) = (Arc::clone(&work), Arc::clone(&tracker));
        let quiet = args.quiet;
        let task = move || {
            let _running = tracker.start();
            work.run();
            if !quiet {
                let worker = thread::current();
                println!("task {id} done on {}", worker.name().unwrap_or("?"));
            }
        };
        // New: a submit that finds the queue full is a submit that waits (or, under another
        // policy, does not go through the queue at all).
        let was_full = may_wait && pool.is_full();
        let before = Instant::now();
        match submit_with(&pool, args.policy, task) {
            Outcome::Queued if was_full => {
                report.waited += 1;
                report.waiting_time += before.elapsed();
            }
            Outcome::Queued => {}
            Outcome::Rejected => report.rejected.push(id),
            Outcome::RanInCaller => report.ran_in_caller += 1,
            Outcome::NoWorkers => {
                eprintln!("error: task {id} was not submitted: every worker has exited");
                return ExitCode::FAILURE;
            }
        }
    }
    pool.shutdown();
    let elapsed = start.elapsed();

    print_report(&report, &args);
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
    // New: two keys appended after the ones every stage shares.
    println!(
        "{summary} rejected={} ran_in_caller={}",
        report.rejected.len(),
        report.ran_in_caller
    );
    ExitCode::SUCCESS
}

/// Prints what the queue did to the submitter: the line that makes backpressure visible.
fn print_report(report: &SubmitReport, args: &Args) {
    let full = match args.queue {
        0 => "a queue of 0 holds nothing, so a task needs a free worker".to_string(),
        capacity => format!("the queue of {capacity} was full"),
    };
    let tasks = args.tasks;
    if report.waited > 0 {
        let waited = report.waited;
        let total = report.waiting_time;
        println!("backpressure: {waited} of {tasks} submits waited ({total:.1?} in total): {full}");
    }
    if report.ran_in_caller > 0 {
        let ran = report.ran_in_caller;
        println!("backpressure: {ran} of {tasks} tasks ran on the submitting thread: {full}");
    }
    if !report.rejected.is_empty() {
        let rejected = report.rejected.len();
        println!("backpressure: {rejected} of {tasks} tasks were rejected and did not run: {full}");
        if !args.quiet {
            println!("rejected task ids: {:?}", report.rejected);
        }
    }
    if report.waited == 0 && report.ran_in_caller == 0 && report.rejected.is_empty() {
        println!(
            "backpressure: none, every submit found room in the queue (policy {})",
            args.policy
        );
    }
}
