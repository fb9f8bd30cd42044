//! Stage 04 demo: tasks compute `i * i`, and the caller collects the values, either in submission
//! order through one handle per task, or in completion order through one shared channel.

mod workload;

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use stage04_results::{TaskHandle, TaskLost, WorkerPool};
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

/// New: what the demo got back from the pool.
#[derive(Debug, Default)]
struct Collected {
    /// Values in the order they were collected.
    values: Vec<u64>,
    /// Tasks whose handle reported that no value will ever come.
    lost: Vec<(usize, TaskLost)>,
}

impl Collected {
    /// The wrapping sum of every value received: a lost or duplicated result changes it.
    fn checksum(&self) -> u64 {
        self.values
            .iter()
            .fold(0, |sum, &value| sum.wrapping_add(value))
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
        collect_as_completed(pool, args.tasks, &square_task)
    } else {
        collect_in_order(pool, args.tasks, &square_task)
    };
    let Some((collected, pressure)) = outcome else {
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
    println!("{}", pressure.report(args.tasks, args.queue));
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
    // New: `checksum` is appended, so the keys of earlier stages keep their places.
    println!("{summary} checksum={}", collected.checksum());
    if collected.lost.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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

/// Submits tasks `0..tasks`, counting the submits that found the queue full. Prints an error and
/// returns `None` if the pool refused a task.
fn submit_all<R, F>(
    pool: &WorkerPool,
    tasks: usize,
    make_task: impl Fn(usize) -> F,
) -> Option<(Vec<TaskHandle<R>>, Backpressure)>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let mut handles = Vec::with_capacity(tasks);
    let mut pressure = Backpressure::default();
    for id in 0..tasks {
        let was_full = pool.is_full();
        let before = Instant::now();
        match pool.submit(make_task(id)) {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                eprintln!("error: task {id} was not submitted: {error}");
                return None;
            }
        }
        if was_full {
            pressure.waited += 1;
            pressure.waiting_time += before.elapsed();
        }
    }
    Some((handles, pressure))
}

/// New: one handle per task, joined in submission order. A slow early task delays the report
/// of every later one, but each value lines up with its input.
fn collect_in_order(
    pool: WorkerPool,
    tasks: usize,
    square_task: &SquareTask,
) -> Option<(Collected, Backpressure)> {
    let (handles, pressure) = submit_all(&pool, tasks, |id| {
        let square_task = square_task.clone();
        move || square_task.run(id)
    })?;
    let mut collected = Collected::default();
    // Joining while the pool still runs: each value is taken as soon as its turn comes.
    for (id, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(value) => collected.values.push(value),
            Err(error) => collected.lost.push((id, error)),
        }
    }
    pool.shutdown();
    Some((collected, pressure))
}

/// New: every task sends its value into one shared channel, and a reader takes them in the
/// order they arrive. The handles only tell which tasks never sent anything.
fn collect_as_completed(
    pool: WorkerPool,
    tasks: usize,
    square_task: &SquareTask,
) -> Option<(Collected, Backpressure)> {
    // Unbounded: at most one value per task, and a worker must never wait on a slow reader.
    let (done_sender, done) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        // The reader runs while tasks are still being submitted. Its loop ends when every sender
        // is gone: ours below, and one per task, dropped when the task finishes or is discarded.
        let reader = scope.spawn(move || done.iter().collect::<Vec<u64>>());
        let submitted = submit_all(&pool, tasks, |id| {
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
        let (handles, pressure) = submitted?;
        let lost = handles
            .into_iter()
            .enumerate()
            .filter_map(|(id, handle)| handle.join().err().map(|error| (id, error)))
            .collect();
        Some((Collected { values, lost }, pressure))
    })
}
