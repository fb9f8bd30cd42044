//! Stage 05 demo: some tasks panic on purpose, and the pool keeps all its workers. Every panic is
//! caught, counted and reported with its message; every other task still returns `i * i`.

mod workload;

use std::io::{self, Write};
use std::panic;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use stage05_panic_resilient::{ResilientPool, TaskHandle, TaskPanicked, panic_message};
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

/// What the demo got back from the pool.
#[derive(Debug, Default)]
struct Collected {
    /// Values in the order they were collected.
    values: Vec<u64>,
    /// New: tasks that panicked, with the error their handle returned.
    panics: Vec<(usize, TaskPanicked)>,
    /// New: worker threads alive once every task had finished, read just before shutdown.
    active_workers: usize,
}

impl Collected {
    /// The wrapping sum of every value received: a lost or duplicated result changes it.
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
            .map(|(id, error)| format!("task {id}: \"{}\"", error.message()))
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

/// How often submitting was held up by a full queue, and for how long in total.
#[derive(Debug, Default)]
struct Backpressure {
    waited: usize,
    waiting_time: Duration,
}

impl Backpressure {
    /// The line that makes backpressure visible.
    fn report(&self, tasks: usize, queue: usize) -> String {
        let Backpressure {
            waited,
            waiting_time,
        } = self;
        if *waited == 0 {
            return format!("no submit waited: the queue of {queue} always had room");
        }
        let reason = match queue {
            0 => "a queue of 0 holds nothing, so each submit waits for a free worker".to_string(),
            capacity => format!("the queue of {capacity} was full"),
        };
        format!("{waited} of {tasks} submits waited ({waiting_time:.1?} in total): {reason}")
    }
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
    let (collected, pressure) = if args.as_completed {
        collect_as_completed(pool, args.tasks, &square_task)
    } else {
        collect_in_order(pool, args.tasks, &square_task)
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
    println!("{}", pressure.report(args.tasks, args.queue));
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
    // New: `active_workers` is appended after stage 04's `checksum`.
    println!(
        "{summary} checksum={} active_workers={}",
        collected.checksum(),
        collected.active_workers
    );
    // Panics were asked for and are reported above; the run itself succeeded.
    ExitCode::SUCCESS
}

/// New: replaces the default panic report for worker threads with one short line.
///
/// The default hook prints the location and a backtrace note (or a whole backtrace) for every
/// panic, caught or not, so a run with a hundred planned panics would bury its own output. The
/// hook is set here, in the program, never in the library: there is one hook per process, and
/// only the program knows how it wants panics logged. Panics on other threads, such as `main`,
/// still get the default report.
fn install_panic_hook(quiet: bool) {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let thread = thread::current();
        match thread.name().filter(|name| name.starts_with("worker-")) {
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

/// Submits tasks `0..tasks`, counting the submits that found the queue full.
fn submit_all<R, F>(
    pool: &ResilientPool,
    tasks: usize,
    make_task: impl Fn(usize) -> F,
) -> (Vec<TaskHandle<R>>, Backpressure)
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let mut handles = Vec::with_capacity(tasks);
    let mut pressure = Backpressure::default();
    for id in 0..tasks {
        let was_full = pool.is_full();
        let before = Instant::now();
        // New: no error to handle. The pool replaces dead workers, so it never refuses.
        handles.push(pool.submit(make_task(id)));
        if was_full {
            pressure.waited += 1;
            pressure.waiting_time += before.elapsed();
        }
    }
    (handles, pressure)
}

/// One handle per task, joined in submission order. A slow early task delays the report of
/// every later one, but each value lines up with its input.
fn collect_in_order(
    pool: ResilientPool,
    tasks: usize,
    square_task: &SquareTask,
) -> (Collected, Backpressure) {
    let (handles, pressure) = submit_all(&pool, tasks, |id| {
        let square_task = square_task.clone();
        move || square_task.run(id)
    });
    let mut collected = Collected::default();
    // Joining while the pool still runs: each value is taken as soon as its turn comes.
    for (id, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(value) => collected.values.push(value),
            Err(error) => collected.panics.push((id, error)),
        }
    }
    collected.active_workers = pool.active_workers();
    pool.shutdown();
    (collected, pressure)
}

/// Every task sends its value into one shared channel, and a reader takes them in the order they
/// arrive. The handles tell which tasks panicked, and with what message.
fn collect_as_completed(
    pool: ResilientPool,
    tasks: usize,
    square_task: &SquareTask,
) -> (Collected, Backpressure) {
    // Unbounded: at most one value per task, and a worker must never wait on a slow reader.
    let (done_sender, done) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        // The reader runs while tasks are still being submitted. Its loop ends when every sender
        // is gone: ours below, and one per task, dropped when the task finishes or is discarded.
        let reader = scope.spawn(move || done.iter().collect::<Vec<u64>>());
        let (handles, pressure) = submit_all(&pool, tasks, |id| {
            let (square_task, done_sender) = (square_task.clone(), done_sender.clone());
            move || {
                // The reader outlives every sender, so this send cannot fail.
                let _ = done_sender.send(square_task.run(id));
            }
        });
        drop(done_sender);
        let panics = handles
            .into_iter()
            .enumerate()
            .filter_map(|(id, handle)| handle.join().err().map(|error| (id, error)))
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
        (collected, pressure)
    })
}
