//! Stage 04 demo: tasks compute `i * i`, and the caller collects the values, either in submission
//! order through one handle per task, or in completion order through one shared channel.

mod workload;

use std::fmt;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use stage04_results::{SubmitTimeoutError, TaskHandle, TaskLost, TrySubmitError, WorkerPool};
use workload::{Summary, TaskSpec, Tracker, Work};

/// Runs tasks that return i * i on a bounded pool and collects their results.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// How many tasks to run.
    #[arg(long, value_name = "N", default_value = "10", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    tasks: usize,

    /// What each task does: sleep:DURATION (waits, like IO) or cpu:DURATION (computes).
    /// Units: ns, us, ms, s.
    #[arg(long, value_name = "KIND:DURATION", default_value = "sleep:100ms")]
    task: TaskSpec,

    /// Worker threads in the pool.
    #[arg(long, value_name = "N", default_value = "4", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    workers: usize,

    /// Tasks the queue holds before submit waits; 0 hands each task straight to a free worker.
    #[arg(long, value_name = "N", default_value = "8", value_parser = workload::parse_count, allow_hyphen_values = true)]
    queue: usize,

    /// What to do when the queue is full: block (wait for a slot), reject (give the task up and
    /// count it), caller-runs (run it on the submitting thread) or timeout:DURATION (wait that
    /// long, then reject).
    #[arg(long, value_name = "POLICY", default_value = "block")]
    policy: Policy,

    /// Print only the summary, not a line per task nor the results.
    #[arg(long)]
    quiet: bool,

    /// Collect results in the order the tasks finish instead of the order they were submitted.
    #[arg(long)]
    as_completed: bool,

    /// Make task N panic instead of returning; its worker dies and its result is lost.
    #[arg(long, value_name = "N", value_parser = workload::parse_count, allow_hyphen_values = true)]
    panic_task: Option<usize>,
}

/// What the submitter does when the queue is full.
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

// New: a task that went through now has a value to deliver, so stage 03's `Outcome` splits
// into what was placed (with its handle or value) and why nothing was.
/// Where [`submit_with`] placed a task.
#[derive(Debug)]
enum Placed<R> {
    /// On the queue: the handle delivers the value.
    Queued(TaskHandle<R>),
    /// On the submitting thread, which already has the value.
    RanInCaller(R),
}

/// A placed task and its id.
type PlacedTask<R> = (usize, Placed<R>);

/// Why [`submit_with`] placed no task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    Rejected,
    NoWorkers,
}

/// Submits `task` the way `policy` says. A refused task comes back from the pool, so this
/// function decides its fate explicitly: run it here, or report it as rejected.
fn submit_with<F, R>(pool: &WorkerPool, policy: Policy, task: F) -> Result<Placed<R>, Refused>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match policy {
        Policy::Block => match pool.submit(task) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            Err(_) => Err(Refused::NoWorkers),
        },
        Policy::Reject => match pool.try_submit(task) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            Err(TrySubmitError::Full(_)) => Err(Refused::Rejected),
            Err(TrySubmitError::Closed(_)) => Err(Refused::NoWorkers),
        },
        Policy::CallerRuns => match pool.try_submit(task) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            // A task that panics here panics the submitting thread: the pool cannot isolate
            // what it does not run (and in this stage it does not isolate its own tasks either).
            Err(TrySubmitError::Full(task)) => Ok(Placed::RanInCaller(task())),
            Err(TrySubmitError::Closed(_)) => Err(Refused::NoWorkers),
        },
        Policy::Timeout(limit) => match pool.submit_timeout(task, limit) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            Err(SubmitTimeoutError::Timeout(_)) => Err(Refused::Rejected),
            Err(SubmitTimeoutError::Closed(_)) => Err(Refused::NoWorkers),
        },
    }
}

/// New: what the demo got back from the pool.
#[derive(Debug, Default)]
struct Collected {
    /// Values in the order they were collected.
    values: Vec<u64>,
    /// Tasks whose handle reported that no value will ever come.
    lost: Vec<(usize, TaskLost)>,
}

impl Collected {
    /// The wrapping sum of every value received, from a handle or from a task the caller ran: a
    /// lost or duplicated result changes it. Rejected tasks never ran and add nothing, so only
    /// under `block` and `caller-runs` (with no panic) is it the sum of `i * i` over every task.
    fn checksum(&self) -> u64 {
        self.values
            .iter()
            .fold(0, |sum, &value| sum.wrapping_add(value))
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
    reject_a_panic_task_out_of_range(&args);
    let tracker = Arc::new(Tracker::default());
    let square_task = SquareTask {
        work: Arc::new(Work::new(args.task)),
        tracker: Arc::clone(&tracker),
        quiet: args.quiet,
        panic_task: args.panic_task,
    };
    let pool = WorkerPool::new(args.workers, args.queue);

    let start = Instant::now();
    let outcome = if args.as_completed {
        collect_as_completed(pool, args.tasks, args.policy, &square_task)
    } else {
        collect_in_order(pool, args.tasks, args.policy, &square_task)
    };
    let Some((collected, report)) = outcome else {
        return ExitCode::FAILURE;
    };
    let elapsed = start.elapsed();

    if !args.quiet {
        let order = if args.as_completed {
            "completion"
        } else {
            "submission"
        };
        println!("results in {order} order: {:?}", collected.values);
    }
    print_report(&report, &args);
    // New: a lost result is an error. The summary still follows, with the real counts.
    for (id, error) in &collected.lost {
        eprintln!("error: task {id} lost its result: {error}");
    }
    if !collected.lost.is_empty() {
        eprintln!("note: in this stage a panic kills its worker; stage 05 keeps the workers alive");
    }
    let summary = Summary {
        stage: "04",
        tasks: args.tasks,
        tracker,
        workers: Some(args.workers),
        queue: Some(args.queue),
        task: args.task,
        elapsed,
        ideal: workload::ideal(args.task, args.tasks, args.workers),
    };
    // New: `checksum` is appended after stage 03's keys, so every key keeps its place.
    println!(
        "{summary} rejected={} ran_in_caller={} checksum={}",
        report.rejected.len(),
        report.ran_in_caller,
        collected.checksum()
    );
    if collected.lost.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
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

/// Exits with status 2, like any other bad flag, if `--panic-task` names no task of this run.
fn reject_a_panic_task_out_of_range(args: &Args) {
    let Some(id) = args.panic_task.filter(|&id| id >= args.tasks) else {
        return;
    };
    let message = format!(
        "invalid value '{id}' for '--panic-task <N>': tasks are numbered 0 to {}",
        args.tasks - 1
    );
    // Named after the binary, as `Args::parse` does, not after the package.
    Args::command()
        .bin_name(env!("CARGO_BIN_NAME"))
        .error(ErrorKind::ValueValidation, message)
        .exit();
}

/// New: the value task `id` returns. Wrapping, so that any `--tasks` gives a defined checksum.
fn square(id: usize) -> u64 {
    let id = id as u64;
    id.wrapping_mul(id)
}

/// New: what every task does. Cheap to clone: each task owns a copy.
#[derive(Debug, Clone)]
struct SquareTask {
    work: Arc<Work>,
    tracker: Arc<Tracker>,
    quiet: bool,
    panic_task: Option<usize>,
}

impl SquareTask {
    /// Runs task `id`: the configured work, then `square(id)`, or a panic if `id` was chosen.
    fn run(&self, id: usize) -> u64 {
        let _running = self.tracker.start();
        self.work.run();
        if self.panic_task == Some(id) {
            panic!("task {id} failed on purpose (--panic-task {id})");
        }
        if !self.quiet {
            let worker = thread::current();
            println!("task {id} done on {}", worker.name().unwrap_or("?"));
        }
        square(id)
    }
}

/// Submits tasks `0..tasks` the way `policy` says, and reports how it went. Returns the tasks that
/// were placed, by id; rejected ones are only counted. Prints an error and returns `None` if no
/// worker was left to take a task.
fn submit_all<R, F>(
    pool: &WorkerPool,
    tasks: usize,
    policy: Policy,
    make_task: impl Fn(usize) -> F,
) -> Option<(Vec<PlacedTask<R>>, SubmitReport)>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // Only these policies ever wait for a slot; the others never block on a full queue.
    let may_wait = matches!(policy, Policy::Block | Policy::Timeout(_));
    let mut placed = Vec::with_capacity(tasks);
    let mut report = SubmitReport::default();
    for id in 0..tasks {
        // A submit that finds the queue full is a submit that waits (or, under another policy,
        // does not go through the queue at all).
        let was_full = may_wait && pool.is_full();
        let before = Instant::now();
        match submit_with(pool, policy, make_task(id)) {
            Ok(Placed::Queued(handle)) => {
                if was_full {
                    report.waited += 1;
                    report.waiting_time += before.elapsed();
                }
                placed.push((id, Placed::Queued(handle)));
            }
            Ok(Placed::RanInCaller(value)) => {
                report.ran_in_caller += 1;
                placed.push((id, Placed::RanInCaller(value)));
            }
            Err(Refused::Rejected) => report.rejected.push(id),
            Err(Refused::NoWorkers) => {
                eprintln!("error: task {id} was not submitted: every worker has exited");
                return None;
            }
        }
    }
    Some((placed, report))
}

/// New: one handle per task, joined in submission order. A slow early task delays the report
/// of every later one, but each value lines up with its input.
fn collect_in_order(
    pool: WorkerPool,
    tasks: usize,
    policy: Policy,
    square_task: &SquareTask,
) -> Option<(Collected, SubmitReport)> {
    let (placed, report) = submit_all(&pool, tasks, policy, |id| {
        let square_task = square_task.clone();
        move || square_task.run(id)
    })?;
    let mut collected = Collected::default();
    // Joining while the pool still runs: each value is taken as soon as its turn comes.
    for (id, task) in placed {
        match task {
            Placed::Queued(handle) => match handle.join() {
                Ok(value) => collected.values.push(value),
                Err(error) => collected.lost.push((id, error)),
            },
            Placed::RanInCaller(value) => collected.values.push(value),
        }
    }
    pool.shutdown();
    Some((collected, report))
}

/// New: every task sends its value into one shared channel, and a reader takes them in the
/// order they arrive. The handles only tell which tasks never sent anything.
fn collect_as_completed(
    pool: WorkerPool,
    tasks: usize,
    policy: Policy,
    square_task: &SquareTask,
) -> Option<(Collected, SubmitReport)> {
    // Unbounded: at most one value per task, and a worker must never wait on a slow reader.
    let (done_sender, done) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        // The reader runs while tasks are still being submitted. Its loop ends when every sender
        // is gone: ours below, and one per task, dropped when the task finishes or is discarded
        // (a rejected task is discarded at once).
        let reader = scope.spawn(move || done.iter().collect::<Vec<u64>>());
        let submitted = submit_all(&pool, tasks, policy, |id| {
            let (square_task, done_sender) = (square_task.clone(), done_sender.clone());
            move || {
                // The reader outlives every sender, so this send cannot fail.
                let _ = done_sender.send(square_task.run(id));
            }
        });
        drop(done_sender);
        // Shut down before waiting for the reader: it stops only when every task has let go of
        // its sender, and a task still queued when the last worker died lets go only when the
        // pool drops it.
        pool.shutdown();
        let values = reader.join().expect("the reader does not panic");
        let (placed, report) = submitted?;
        // A task run by the caller sent its value like any other; only handles can report a loss.
        let lost = placed
            .into_iter()
            .filter_map(|(id, task)| match task {
                Placed::Queued(handle) => handle.join().err().map(|error| (id, error)),
                Placed::RanInCaller(()) => None,
            })
            .collect();
        Some((Collected { values, lost }, report))
    })
}
