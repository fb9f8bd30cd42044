//! Stage 05 demo: some tasks panic on purpose, and the pool keeps all its workers. Every panic is
//! caught, counted and reported with its message; every other task still returns `i * i`.

use std::io::{self, Write};
use std::panic;
use std::process::ExitCode;
use std::thread;
use std::time::Instant;

use clap::Parser;
use harness::{BoundedPoolArgs, CollectArgs, Collected, TaskArgs, Workload};
use stage05_panic_resilient::{ResilientPool, TaskHandle, TaskPanicked, panic_message};

/// Runs tasks that return i * i on a pool that survives panicking tasks.
#[derive(Debug, Parser)]
#[command(version)]
// This stage's own default for a shared flag: task 0 panics, and the ten others return 1 to 100.
#[command(mut_arg("tasks", |arg| arg.default_value("11")))]
struct Args {
    #[command(flatten)]
    run: TaskArgs,

    #[command(flatten)]
    pool: BoundedPoolArgs,

    #[command(flatten)]
    collect: CollectArgs,

    /// Make tasks 0, N, 2N, ... panic. Without it, only task 0 panics, as in the tutorial.
    #[arg(long, value_name = "N", value_parser = harness::parse_positive, allow_hyphen_values = true)]
    panic_every: Option<usize>,
}

impl Args {
    // New: which tasks panic on purpose.
    /// Whether task `id` panics: 0, N, 2N, ... for `--panic-every N`, else task 0 alone.
    fn panics(&self, id: usize) -> bool {
        match self.panic_every {
            Some(every) => id % every == 0,
            None => id == 0,
        }
    }
}

// New: the panics are caught, so the demo must say so.
/// One line that accounts for every panic: how many, and the first few messages.
fn panic_report(panics: &[(usize, TaskPanicked)], tasks: usize) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<String> = panics
        .iter()
        .take(SHOWN)
        .map(|(id, panicked)| format!("task {id}: \"{}\"", panicked.message()))
        .collect();
    let (count, shown) = (panics.len(), shown.join(", "));
    let mut report = format!("panicked: {count} of {tasks} tasks, caught and isolated; {shown}");
    if count > SHOWN {
        report.push_str(&format!(" and {} more", count - SHOWN));
    }
    report
}

fn main() -> ExitCode {
    let args = Args::parse();
    args.pool.check_threads::<Args>();
    install_panic_hook(args.run.each);
    let workload = Workload::new(&args.run).leak();
    let pool =
        harness::or_exit_if_refused(|| ResilientPool::new(args.pool.workers, args.pool.queue));

    let start = Instant::now();
    let collected = if args.collect.as_completed {
        collect_as_completed(&pool, &args, workload)
    } else {
        collect_in_order(&pool, &args, workload)
    };
    // New: read once every task has finished. Each worker that caught a panic is still there.
    let active_workers = pool.active_workers();
    pool.shutdown();
    let elapsed = start.elapsed();

    workload.print_results(&collected.values, args.collect.as_completed);
    // New: the pool survived the panics, but they are never silent: this line accounts for them.
    if !collected.failed.is_empty() {
        workload.line(panic_report(&collected.failed, args.run.tasks));
    }
    let summary = workload.pool_summary("05", elapsed, &args.pool);
    // New: `active_workers` is appended after stage 04's keys, so every key keeps its place.
    let checksum = collected.checksum();
    let last = format!("{summary} checksum={checksum} active_workers={active_workers}");
    workload.finish(last, workload.all_ran())
}

// New: the default hook would print every planned panic with its location.
/// Replaces the default panic report for tasks with one short line on stderr, with `--each`
/// (a panicked task ends too). Only the program sets the one hook a process has, never the pool.
fn install_panic_hook(each: bool) {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let thread = thread::current();
        match thread.name().filter(|name| name.starts_with("worker-")) {
            // Without `--each`, the `panicked:` line after the run accounts for these panics.
            Some(_) if !each => {}
            Some(name) => {
                let line = format!("{name}: task panicked: {}\n", panic_message(info.payload()));
                // One write, so that no task's output lands in the middle of the line.
                let _ = io::stderr().write_all(line.as_bytes());
            }
            None => default_hook(info),
        }
    }));
}

// New: what came back, the values and the tasks that panicked, with their panic messages.
type Outcomes = Collected<TaskPanicked>;

/// One handle per task, joined in submission order, so each value lines up with its input.
fn collect_in_order(pool: &ResilientPool, args: &Args, workload: &'static Workload) -> Outcomes {
    // New: no error to handle. The pool replaces dead workers, so `submit` cannot fail.
    let mut handles = Vec::new();
    for id in 0..args.run.tasks {
        let panics = args.panics(id);
        handles.push(workload.hand_over_with(id, |task| pool.submit(move || task.square(panics))));
    }
    Collected::in_order(handles.into_iter().map(TaskHandle::join))
}

/// Every task sends its value into one shared channel the moment it has it, so the channel holds
/// the values in the order they arrived. The handles tell which tasks panicked, and why.
fn collect_as_completed(
    pool: &ResilientPool,
    args: &Args,
    workload: &'static Workload,
) -> Outcomes {
    // Unbounded: at most one value per task, and a worker must never wait to send one.
    let (done_sender, done) = crossbeam_channel::unbounded();
    let mut handles = Vec::new();
    for id in 0..args.run.tasks {
        let (panics, done_sender) = (args.panics(id), done_sender.clone());
        handles.push(workload.hand_over_with(id, |task| {
            pool.submit(move || {
                let value = task.square(panics);
                done_sender.send(value).expect("`done` outlives it");
            })
        }));
    }
    let outcomes: Vec<_> = handles.into_iter().map(TaskHandle::join).collect();
    // New: no reader thread. Every handle has been joined, so every value is in the channel now.
    Collected::as_completed(done.try_iter().collect(), outcomes)
}
