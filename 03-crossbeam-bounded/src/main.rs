//! Stage 03 demo: submit tasks to a crossbeam pool with a bounded queue and watch what happens
//! whenever the queue is full.

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
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

// New: a bounded queue can be full, and the demo counts what that did.
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
    args.pool.check_threads::<Args>();
    let workload = Workload::new(&args.run).leak();
    let pool = harness::or_exit_if_refused(|| WorkerPool::new(args.pool.workers, args.pool.queue));

    let start = Instant::now();
    let mut report = SubmitReport::default();
    let mut all_submitted = true;
    for id in 0..args.run.tasks {
        let handed = workload.hand_over(id);
        let task = move || handed.run();
        if let Err(error) = submit_with(&pool, workload, args.policy, id, task, &mut report) {
            // The run still ends with its report and summary, which count what did run.
            harness::report(format_args!(
                "error: task {id} and the ones after it were not submitted: {error}"
            ));
            all_submitted = false;
            break;
        }
    }
    pool.shutdown();
    let elapsed = start.elapsed();

    print_report(workload, &report, &args);
    let summary = workload.pool_summary("03", elapsed, &args.pool);
    let (rejected, ran_in_caller) = (report.rejected.len(), report.ran_in_caller);
    // New: two keys appended after the ones every stage shares.
    let last = format!("{summary} rejected={rejected} ran_in_caller={ran_in_caller}");
    workload.finish(last, all_submitted)
}

// New: the full-queue policies, applied one task at a time.
/// Submits task `id` the way `policy` says, recording in `report` what a full queue did. It
/// tries without waiting first: only a task that finds the queue full meets the policy, so no
/// submit waits uncounted (one counted may find room at once). Fails only if no worker is left.
fn submit_with<F>(
    pool: &WorkerPool,
    workload: &Workload,
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
            // Caught: on this thread a panic would end `main`; as on a worker, it costs the task.
            let _ = panic::catch_unwind(AssertUnwindSafe(job));
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
        // Also noted for `--timeline` and `--trace`, when they are given.
        report.waiting_time += workload.waited_for_slot(id, before);
    }
    Ok(())
}

/// Prints what the queue did to the submitter: the lines that make backpressure visible.
fn print_report(workload: &Workload, report: &SubmitReport, args: &Args) {
    let full = match args.pool.queue {
        0 => "a queue of 0 holds nothing, so a task needs a free worker".to_string(),
        capacity => format!("the queue of {capacity} was full"),
    };
    let waited = format!("submits waited ({:.1?} in total)", report.waiting_time);
    let outcomes = [
        (report.waited, waited.as_str()),
        (report.ran_in_caller, "tasks ran on the submitting thread"),
        (report.rejected.len(), "tasks were rejected and did not run"),
    ];
    let tasks = args.run.tasks;
    for (count, what) in outcomes.iter().filter(|(count, _)| *count > 0) {
        workload.line(format_args!(
            "backpressure: {count} of {tasks} {what}: {full}"
        ));
    }
    if !report.rejected.is_empty() && !args.run.quiet {
        workload.line(format_args!("rejected task ids: {:?}", report.rejected));
    }
    if outcomes.iter().all(|(count, _)| *count == 0) {
        let policy = args.policy;
        workload.line(format_args!(
            "backpressure: none, every submit found room in the queue (policy {policy})"
        ));
    }
}
