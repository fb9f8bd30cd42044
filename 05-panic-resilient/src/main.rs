//! Stage 05 demo: some tasks panic on purpose, and the pool keeps all its workers. Every panic is
//! caught, counted and reported with its message; every other task still returns `i * i`.

mod workload;

use std::cell::Cell;
use std::fmt;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use stage05_panic_resilient::{
    ResilientPool, SubmitTimeoutError, TaskHandle, TrySubmitError, panic_message,
};
use workload::{Summary, TaskSpec, Tracker, Work};

/// Runs tasks that return i * i on a pool that survives panicking tasks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// How many tasks to run.
    #[arg(long, value_name = "N", default_value = "11", value_parser = workload::parse_positive, allow_hyphen_values = true)]
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

    /// Print only the summary, not a line per task or per panic, nor the results.
    #[arg(long)]
    quiet: bool,

    /// Collect results in the order the tasks finish instead of the order they were submitted.
    #[arg(long)]
    as_completed: bool,

    /// Make tasks 0, N, 2N, ... panic. Without it, only task 0 panics, as in the tutorial.
    #[arg(long, value_name = "N", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    panic_every: Option<usize>,
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

/// Where [`submit_with`] placed a task.
#[derive(Debug)]
enum Placed<R> {
    /// On the queue: the handle delivers the outcome.
    Queued(TaskHandle<R>),
    /// New: on the submitting thread, which already has the outcome: the value, or the message
    /// of the panic it caught.
    RanInCaller(Result<R, String>),
}

impl<R> Placed<R> {
    /// The task's outcome, waiting for it if the task went to the queue: its value, or the
    /// message it panicked with.
    fn outcome(self) -> Result<R, String> {
        match self {
            Placed::Queued(handle) => handle.join().map_err(|error| error.message().to_string()),
            Placed::RanInCaller(outcome) => outcome,
        }
    }
}

/// A placed task and its id.
type PlacedTask<R> = (usize, Placed<R>);

// New: stage 04's `Refused` had a second case, `NoWorkers`. This pool never refuses for that
// reason (see `ResilientPool::submit`), so the policy's rejection is all that is left.
/// The policy rejected the task: it did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rejected;

/// Submits `task` the way `policy` says. A refused task comes back from the pool, so this
/// function decides its fate explicitly: run it here, or report it as rejected.
fn submit_with<F, R>(pool: &ResilientPool, policy: Policy, task: F) -> Result<Placed<R>, Rejected>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match policy {
        Policy::Block => Ok(Placed::Queued(pool.submit(task))),
        Policy::Reject => match pool.try_submit(task) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            Err(TrySubmitError::Full(_)) => Err(Rejected),
        },
        Policy::CallerRuns => match pool.try_submit(task) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            Err(TrySubmitError::Full(task)) => Ok(Placed::RanInCaller(run_in_caller(task))),
        },
        Policy::Timeout(limit) => match pool.submit_timeout(task, limit) {
            Ok(handle) => Ok(Placed::Queued(handle)),
            Err(SubmitTimeoutError::Timeout(_)) => Err(Rejected),
        },
    }
}

thread_local! {
    /// New: whether this thread is running a task the pool refused, so that the panic hook
    /// reports its panics like a worker's.
    static RUNNING_A_REFUSED_TASK: Cell<bool> = const { Cell::new(false) };
}

/// New: runs a task on the submitting thread with the pool's promise: a panic costs the task,
/// never the thread. Without this, `caller-runs` would bring back stage 04's problem on the one
/// thread that matters most.
fn run_in_caller<R>(task: impl FnOnce() -> R) -> Result<R, String> {
    RUNNING_A_REFUSED_TASK.set(true);
    // Unwind-safe for the reason the pool gives: the task is consumed, and nothing it touched
    // is used after a panic.
    let outcome = panic::catch_unwind(AssertUnwindSafe(task));
    RUNNING_A_REFUSED_TASK.set(false);
    outcome.map_err(|payload| panic_message(payload.as_ref()).to_string())
}

/// What the demo got back from the pool.
#[derive(Debug, Default)]
struct Collected {
    /// Values in the order they were collected.
    values: Vec<u64>,
    /// New: tasks that panicked, with their panic message.
    panics: Vec<(usize, String)>,
    /// New: worker threads alive once every task had finished, read just before shutdown.
    active_workers: usize,
}

impl Collected {
    /// The wrapping sum of every value received, from a handle or from a task the caller ran: a
    /// lost or duplicated result changes it. Panicked and rejected tasks add nothing.
    fn checksum(&self) -> u64 {
        self.values
            .iter()
            .fold(0, |sum, &value| sum.wrapping_add(value))
    }

    /// New: one line that accounts for every panic: how many, and the first few messages.
    fn panic_report(&self, tasks: usize) -> String {
        const SHOWN: usize = 3;
        let shown: Vec<String> = self
            .panics
            .iter()
            .take(SHOWN)
            .map(|(id, message)| format!("task {id}: \"{message}\""))
            .collect();
        let mut report = format!(
            "panicked: {} of {tasks} tasks, caught and isolated; {}",
            self.panics.len(),
            shown.join(", ")
        );
        if self.panics.len() > SHOWN {
            report.push_str(&format!(" and {} more", self.panics.len() - SHOWN));
        }
        report
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
    install_panic_hook(args.quiet);
    let tracker = Arc::new(Tracker::default());
    let square_task = SquareTask {
        work: Arc::new(Work::new(args.task)),
        tracker: Arc::clone(&tracker),
        quiet: args.quiet,
        panic_every: args.panic_every,
    };
    let pool = ResilientPool::new(args.workers, args.queue);

    let start = Instant::now();
    let (collected, report) = if args.as_completed {
        collect_as_completed(pool, args.tasks, args.policy, &square_task)
    } else {
        collect_in_order(pool, args.tasks, args.policy, &square_task)
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
    // New: the pool survived the panics, but they are never silent: this line accounts for them.
    if !collected.panics.is_empty() {
        println!("{}", collected.panic_report(args.tasks));
    }
    let summary = Summary {
        stage: "05",
        tasks: args.tasks,
        tracker,
        workers: Some(args.workers),
        queue: Some(args.queue),
        task: args.task,
        elapsed,
        ideal: workload::ideal(args.task, args.tasks, args.workers),
    };
    // New: `active_workers` is appended after stage 04's keys, so every key keeps its place.
    println!(
        "{summary} rejected={} ran_in_caller={} checksum={} active_workers={}",
        report.rejected.len(),
        report.ran_in_caller,
        collected.checksum(),
        collected.active_workers
    );
    // Panics were asked for and are reported above; the run itself succeeded.
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

/// New: replaces the default panic report for tasks with one short line.
///
/// The default hook prints the location and a backtrace note (or a whole backtrace) for every
/// panic, caught or not, so a run with a hundred planned panics would bury its own output. The
/// hook is set here, in the program, never in the library: there is one hook per process, and
/// only the program knows how it wants panics logged. Tasks run on worker threads, or on the
/// submitting thread under `caller-runs`; any other panic, such as a bug in `main`, still gets
/// the default report.
fn install_panic_hook(quiet: bool) {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let thread = thread::current();
        let in_a_task = RUNNING_A_REFUSED_TASK.get();
        match thread
            .name()
            .filter(|name| in_a_task || name.starts_with("worker-"))
        {
            // With --quiet, the `panicked:` line after the run accounts for these panics.
            Some(_) if quiet => {}
            Some(name) => {
                let line = format!("{name}: task panicked: {}\n", panic_message(info.payload()));
                // A single write: `eprintln!` may write the pieces separately, and the tasks'
                // own output would land in the middle of the line.
                let _ = io::stderr().write_all(line.as_bytes());
            }
            None => default_hook(info),
        }
    }));
}

/// The value task `id` returns. Wrapping, so that any `--tasks` gives a defined checksum.
fn square(id: usize) -> u64 {
    let id = id as u64;
    id.wrapping_mul(id)
}

/// What every task does. Cheap to clone: each task owns a copy.
#[derive(Debug, Clone)]
struct SquareTask {
    work: Arc<Work>,
    tracker: Arc<Tracker>,
    quiet: bool,
    panic_every: Option<usize>,
}

impl SquareTask {
    /// Runs task `id`: the configured work, then `square(id)`, or a panic if `id` was chosen.
    fn run(&self, id: usize) -> u64 {
        let _running = self.tracker.start();
        self.work.run();
        if self.panics(id) {
            panic!("task {id} failed on purpose");
        }
        if !self.quiet {
            let worker = thread::current();
            println!("task {id} done on {}", worker.name().unwrap_or("?"));
        }
        square(id)
    }

    /// New: whether task `id` is one of the planned panics: 0, N, 2N, ... for `--panic-every N`,
    /// otherwise task 0 only.
    fn panics(&self, id: usize) -> bool {
        match self.panic_every {
            Some(every) => id % every == 0,
            None => id == 0,
        }
    }
}

/// Submits tasks `0..tasks` the way `policy` says, and reports how it went. Returns the tasks that
/// were placed, by id; rejected ones are only counted.
fn submit_all<R, F>(
    pool: &ResilientPool,
    tasks: usize,
    policy: Policy,
    make_task: impl Fn(usize) -> F,
) -> (Vec<PlacedTask<R>>, SubmitReport)
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
        // New: no error for a pool without workers. The pool replaces dead workers, so only
        // the policy can refuse.
        match submit_with(pool, policy, make_task(id)) {
            Ok(Placed::Queued(handle)) => {
                if was_full {
                    report.waited += 1;
                    report.waiting_time += before.elapsed();
                }
                placed.push((id, Placed::Queued(handle)));
            }
            Ok(Placed::RanInCaller(outcome)) => {
                report.ran_in_caller += 1;
                placed.push((id, Placed::RanInCaller(outcome)));
            }
            Err(Rejected) => report.rejected.push(id),
        }
    }
    (placed, report)
}

/// One handle per task, joined in submission order. A slow early task delays the report of
/// every later one, but each value lines up with its input.
fn collect_in_order(
    pool: ResilientPool,
    tasks: usize,
    policy: Policy,
    square_task: &SquareTask,
) -> (Collected, SubmitReport) {
    let (placed, report) = submit_all(&pool, tasks, policy, |id| {
        let square_task = square_task.clone();
        move || square_task.run(id)
    });
    let mut collected = Collected::default();
    // Joining while the pool still runs: each value is taken as soon as its turn comes.
    for (id, task) in placed {
        match task.outcome() {
            Ok(value) => collected.values.push(value),
            Err(message) => collected.panics.push((id, message)),
        }
    }
    collected.active_workers = pool.active_workers();
    pool.shutdown();
    (collected, report)
}

/// Every task sends its value into one shared channel, and a reader takes them in the order they
/// arrive. The handles, and the outcomes of the tasks the caller ran, tell which tasks panicked,
/// and with what message.
fn collect_as_completed(
    pool: ResilientPool,
    tasks: usize,
    policy: Policy,
    square_task: &SquareTask,
) -> (Collected, SubmitReport) {
    // Unbounded: at most one value per task, and a worker must never wait on a slow reader.
    let (done_sender, done) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        // The reader runs while tasks are still being submitted. Its loop ends when every sender
        // is gone: ours below, and one per task, dropped when the task finishes or is discarded
        // (a rejected task is discarded at once).
        let reader = scope.spawn(move || done.iter().collect::<Vec<u64>>());
        let (placed, report) = submit_all(&pool, tasks, policy, |id| {
            let (square_task, done_sender) = (square_task.clone(), done_sender.clone());
            move || {
                // The reader outlives every sender, so this send cannot fail.
                let _ = done_sender.send(square_task.run(id));
            }
        });
        drop(done_sender);
        let panics = placed
            .into_iter()
            .filter_map(|(id, task)| task.outcome().err().map(|message| (id, message)))
            .collect();
        let active_workers = pool.active_workers();
        // Shut down before waiting for the reader: it stops only when every task has let go of
        // its sender, and a task that never ran lets go only when the pool drops it.
        pool.shutdown();
        let values = reader.join().expect("the reader does not panic");
        let collected = Collected {
            values,
            panics,
            active_workers,
        };
        (collected, report)
    })
}
