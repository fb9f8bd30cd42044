//! Stage 01 demo: start one OS thread per task, all at once, and see what that costs.

use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use harness::{TaskArgs, Workload};
use stage01_unbounded_spawn::{Task, likely_limit, spawn_all, spawn_thread};

/// Above this many tasks the demo refuses to run without `--no-limit`: one thread per task
/// goes from slow to harmful somewhere between here and the tutorial's 50,000.
const SAFETY_LIMIT: usize = 10_000;

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

    /// Allow more than 10000 tasks. At that scale this demo can exhaust the machine's pid
    /// space and stop other programs from starting processes: see the README first.
    #[arg(long)]
    no_limit: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let tasks = args.run.tasks;
    if tasks > SAFETY_LIMIT && !args.no_limit {
        refuse_above_limit(tasks);
    }
    let workload = Arc::new(Workload::new(&args.run));

    let start = Instant::now();
    let spawned = spawn_all(
        (0..tasks).map(|id| -> Task {
            let workload = Arc::clone(&workload);
            Box::new(move || workload.run(id))
        }),
        spawn_thread,
    );
    let status = match spawned.error() {
        Some(error) => {
            report_refusal(error, spawned.started(), tasks);
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    };
    // The threads that did start are joined either way: their tasks are already running, and
    // exiting now would kill them halfway.
    spawned.join();
    let elapsed = start.elapsed();

    // No workers and no queue: a thread per task, so every task can overlap with every other one.
    println!("{}", workload.summary("01", elapsed, None, None));
    status
}

/// Exits with status 2, like any other bad `--tasks` value, explaining the limit.
fn refuse_above_limit(tasks: usize) -> ! {
    harness::exit_invalid::<Args>(format!(
        "--tasks {tasks} is above the safety limit of {SAFETY_LIMIT}; pass --no-limit to run it \
         anyway\n\n\
         Each task gets its own OS thread, so --tasks is also the number of threads. Measured on \
         a 2-core Linux VM (pid_max 32,768, max_map_count 65,530), the tutorial's 50,000 tasks \
         (--no-limit --tasks 50000) went like this: spawn number 31,705 failed with EAGAIN, the \
         machine's pid space was nearly exhausted so other programs could not start processes, \
         virtual memory peaked at 66 GB (resident 274 MB), and a just-started thread then \
         aborted the whole process while setting up its stack guard (SIGABRT)."
    ))
}

/// Explains on stderr why spawning stopped, while the threads that started are still running.
fn report_refusal(error: &io::Error, started: usize, tasks: usize) {
    eprintln!(
        "error: the OS refused to start thread {} of {tasks}: {error}",
        started + 1
    );
    eprintln!(
        "{started} threads started and will be joined; the other {} tasks will not run",
        tasks - started
    );
    if let Some(limit) = likely_limit(error) {
        eprintln!("{limit}");
    }
}
