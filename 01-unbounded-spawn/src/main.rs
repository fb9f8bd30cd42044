//! Stage 01 demo: start one OS thread per task, all at once, and see what that costs.

use std::io;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use harness::{LimitArgs, TaskArgs, Workload};
use stage01_unbounded_spawn::{Task, likely_limit, spawn_all, spawn_thread};

const TASKS_HELP: &str =
    "How many tasks to run, each on its own thread (at most 10000 without --no-limit)";

/// Starts one OS thread per task, with no limit on how many run at once.
#[derive(Debug, Parser)]
#[command(version)]
// This stage's own default and help for a shared flag: here `--tasks` is also the thread count.
#[command(mut_arg("tasks", |arg| arg.default_value("1000").help(TASKS_HELP)))]
struct Args {
    #[command(flatten)]
    run: TaskArgs,

    #[command(flatten)]
    limit: LimitArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let tasks = args.run.tasks;
    // A thread per task: above the harness's safety limit, refused unless `--no-limit`.
    args.limit.check::<Args>("--tasks", tasks);
    let workload = Workload::new(&args.run).leak();

    let start = Instant::now();
    let spawned = spawn_all(
        (0..tasks).map(|id| -> Task {
            let task = workload.hand_over(id);
            Box::new(move || task.run())
        }),
        spawn_thread,
    );
    let all_started = match spawned.error() {
        Some(error) => {
            report_refusal(error, spawned.started(), tasks);
            false
        }
        None => true,
    };
    // The threads that did start are joined either way: their tasks are already running, and
    // exiting now would kill them halfway.
    spawned.join();
    let elapsed = start.elapsed();

    // No workers and no queue: a thread per task, so every task can overlap with every other one.
    workload.finish(workload.summary("01", elapsed, None, None), all_started)
}

/// Explains on stderr why spawning stopped, while the threads that started are still running.
fn report_refusal(error: &io::Error, started: usize, tasks: usize) {
    harness::report(format_args!(
        "error: the OS refused to start thread {} of {tasks}: {error}",
        started + 1
    ));
    harness::report(format_args!(
        "{started} threads started and will be joined; the other {} tasks will not run",
        tasks - started
    ));
    if let Some(limit) = likely_limit(error) {
        harness::report(limit);
    }
}
