//! Stage 04 demo: tasks compute `i * i`, and the caller collects the values, either in submission
//! order through one handle per task, or in completion order through one shared channel.

use std::process::ExitCode;
use std::thread;
use std::time::Instant;

use clap::Parser;
use harness::{BoundedPoolArgs, CollectArgs, Collected, HandedTask, TaskArgs, Workload};
use stage04_results::{TaskHandle, TaskLost, WorkerPool};

/// Runs tasks that return i * i on a bounded pool and collects their results.
#[derive(Debug, Parser)]
#[command(version)]
// This stage's own default for a shared flag: ten squares, 0 to 81.
#[command(mut_arg("tasks", |arg| arg.default_value("10")))]
struct Args {
    #[command(flatten)]
    run: TaskArgs,

    #[command(flatten)]
    pool: BoundedPoolArgs,

    #[command(flatten)]
    collect: CollectArgs,

    /// Make task N panic instead of returning; its worker dies and its result is lost.
    #[arg(long, value_name = "N", value_parser = harness::parse_count, allow_hyphen_values = true)]
    panic_task: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(id) = args.panic_task.filter(|&id| id >= args.run.tasks) {
        let last = args.run.tasks - 1;
        harness::exit_invalid::<Args>(format!(
            "invalid value '{id}' for '--panic-task <N>': tasks are numbered 0 to {last}"
        ));
    }
    args.pool.check_threads::<Args>();
    let workload = Workload::new(&args.run).leak();
    let pool = harness::or_exit_if_refused(|| WorkerPool::new(args.pool.workers, args.pool.queue));

    let start = Instant::now();
    let collected = if args.collect.as_completed {
        collect_as_completed(pool, &args, workload)
    } else {
        collect_in_order(pool, &args, workload)
    };
    let elapsed = start.elapsed();

    workload.print_results(&collected.values, args.collect.as_completed);
    // New: a lost result is an error. The summary still follows, with the real counts.
    for (id, error) in &collected.failed {
        harness::report(format_args!("error: task {id} lost its result: {error}"));
    }
    if !collected.failed.is_empty() {
        harness::report(
            "note: in this stage a panic kills its worker; stage 05 keeps the workers alive",
        );
    }
    let summary = workload.pool_summary("04", elapsed, &args.pool);
    // New: `checksum` is appended after the keys every stage shares.
    let last = format!("{summary} checksum={}", collected.checksum());
    // A value for every task, or the run failed: values lost to a panic, or never submitted.
    workload.finish(last, collected.values.len() == args.run.tasks)
}

// New: `submit` returns a handle per task, and can refuse once no worker is left.
/// Submits tasks `0..tasks`, made by `make_task(task, panics)` where `panics` is true for the
/// `--panic-task`, and keeps one handle per task, by id. Once no worker is left to take a task
/// (`--workers 1 --panic-task 0` gets there), says so and stops: the handles so far still count.
fn submit_all<F, R>(
    pool: &WorkerPool,
    args: &Args,
    workload: &'static Workload,
    make_task: impl Fn(HandedTask, bool) -> F,
) -> Vec<TaskHandle<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // Grows with the tasks submitted, rather than reserving room for all of them up front.
    let mut handles = Vec::new();
    for id in 0..args.run.tasks {
        let panics = args.panic_task == Some(id);
        match workload.hand_over_with(id, |task| pool.submit(make_task(task, panics))) {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                harness::report(format_args!(
                    "error: task {id} and the ones after it were not submitted: {error}"
                ));
                break;
            }
        }
    }
    handles
}

// New: the values come back, in submission order...
/// One handle per task, joined in submission order. A slow early task delays the report
/// of every later one, but each value lines up with its input.
fn collect_in_order(
    pool: WorkerPool,
    args: &Args,
    workload: &'static Workload,
) -> Collected<TaskLost> {
    let handles = submit_all(&pool, args, workload, |task, panics| {
        move || task.square(panics)
    });
    // Shut down before joining: a task still queued when the last worker died is dropped only
    // with the pool, and its `join` would wait until then. Finished values wait in their
    // channels, so nothing is lost by joining afterwards.
    pool.shutdown();
    Collected::in_order(handles.into_iter().map(TaskHandle::join))
}

// New: ...or in the order they finish.
/// Every task sends its value into one shared channel, and a reader takes them in the
/// order they arrive. The handles only tell which tasks never sent anything.
fn collect_as_completed(
    pool: WorkerPool,
    args: &Args,
    workload: &'static Workload,
) -> Collected<TaskLost> {
    // Unbounded: at most one value per task, and a worker must never wait on a slow reader.
    let (done_sender, done) = crossbeam_channel::unbounded();
    // The reader runs while tasks are still being submitted. Its loop ends when every sender is
    // gone: ours below, and one per task, dropped when the task finishes or is discarded.
    let reader = thread::spawn(move || done.iter().collect::<Vec<u64>>());
    let handles = submit_all(&pool, args, workload, |task, panics| {
        let done_sender = done_sender.clone();
        move || {
            let value = task.square(panics);
            done_sender
                .send(value)
                .expect("the reader outlives every sender");
        }
    });
    drop(done_sender);
    // Shut down before waiting for the reader: a task still queued when the last worker died
    // lets go of its sender only when the pool drops it.
    pool.shutdown();
    let values = reader.join().expect("the reader does not panic");
    Collected::as_completed(values, handles.into_iter().map(TaskHandle::join))
}
