//! Stage 03 demo: submit tasks to a crossbeam pool with a bounded queue and watch what happens
//! whenever the queue is full.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use harness::{BoundedPoolArgs, Policy, TaskArgs, Workload};
use stage03_crossbeam_bounded::{SubmitError, SubmitTimeoutError, TrySubmitError, WorkerPool};

/// Runs tasks on a fixed pool whose queue is bounded: submit waits while the queue is full.
#[derive(Debug, Parser)]
#[command(version)]
// This stage's own defaults for the shared flags: enough short tasks to fill the queue often.
#[command(mut_arg("task", |arg| arg.default_value("sleep:50ms")))]
#[command(mut_arg("queue", |arg| arg.default_value("16")))]
struct Args {
    #[command(flatten)]
    run: TaskArgs,

    #[command(flatten)]
    pool: BoundedPoolArgs,

    /// What to do when the queue is full: block (wait for a slot), reject (give the task up and
    /// count it), caller-runs (run it on the submitting thread) or timeout:DURATION (wait that
    /// long, then reject).
    #[arg(long, value_name = "POLICY", default_value = "block")]
    policy: Policy,
}

// New: this item.
/// What the full queue did to the submitter: the waits that make backpressure visible, and
/// the tasks that did not go through the queue.
#[derive(Debug, Default)]
struct SubmitReport {
    waited: usize,
    waiting_time: Duration,
    rejected: Vec<usize>,
    ran_in_caller: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let workload = Arc::new(Workload::new(&args.run));
    let pool = WorkerPool::new(args.pool.workers, args.pool.queue);

    let start = Instant::now();
    let mut report = SubmitReport::default();
    for id in 0..args.run.tasks {
        let workload = Arc::clone(&workload);
        let task = move || workload.run(id);
        if submit_with(&pool, args.policy, id, task, &mut report).is_err() {
            eprintln!("error: task {id} was not submitted: every worker has exited");
            return ExitCode::FAILURE;
        }
    }
    pool.shutdown();
    let elapsed = start.elapsed();

    print_report(&report, &args);
    let (workers, queue) = (args.pool.workers, args.pool.queue);
    let summary = workload.summary("03", elapsed, Some(workers), Some(queue));
    // New: two keys appended after the ones every stage shares.
    println!(
        "{summary} rejected={} ran_in_caller={}",
        report.rejected.len(),
        report.ran_in_caller
    );
    ExitCode::SUCCESS
}

// New: this item.
/// Submits task `id` the way `policy` says, recording in `report` what a full queue did. It
/// tries without waiting first: only a task that finds the queue full meets the policy, so
/// `report` counts exactly the submits that waited. Fails only if no worker is left.
fn submit_with<F>(
    pool: &WorkerPool,
    policy: Policy,
    id: usize,
    task: F,
    report: &mut SubmitReport,
) -> Result<(), SubmitError>
where
    F: FnOnce() + Send + 'static,
{
    // A refused task comes back from the pool, boxed, so the policy decides its fate below.
    let job = match pool.try_submit(task) {
        Ok(()) => return Ok(()),
        Err(TrySubmitError::Full(job)) => job,
        Err(TrySubmitError::Closed(_)) => return Err(SubmitError),
    };
    let before = Instant::now();
    match policy {
        Policy::Block => pool.submit(job)?,
        Policy::Reject => report.rejected.push(id),
        Policy::CallerRuns => {
            job();
            report.ran_in_caller += 1;
        }
        Policy::Timeout(limit) => match pool.submit_timeout(job, limit) {
            Ok(()) => {}
            Err(SubmitTimeoutError::Timeout(_)) => report.rejected.push(id),
            Err(SubmitTimeoutError::Closed(_)) => return Err(SubmitError),
        },
    }
    // Only these two policies wait for a slot: a timed-out task waited too, then was rejected.
    if matches!(policy, Policy::Block | Policy::Timeout(_)) {
        report.waited += 1;
        report.waiting_time += before.elapsed();
    }
    Ok(())
}

/// Prints what the queue did to the submitter: the line that makes backpressure visible.
fn print_report(report: &SubmitReport, args: &Args) {
    let full = match args.pool.queue {
        0 => "a queue of 0 holds nothing, so a task needs a free worker".to_string(),
        capacity => format!("the queue of {capacity} was full"),
    };
    let tasks = args.run.tasks;
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
        if !args.run.quiet {
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
