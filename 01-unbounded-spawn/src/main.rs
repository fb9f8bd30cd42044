//! Stage 01 demo: start one OS thread per task, all at once, and see what that costs.

mod workload;

use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use stage01_unbounded_spawn::{Task, likely_limit, spawn_all, spawn_thread};
use workload::{Summary, TaskSpec, Tracker, Work};

/// Above this many tasks the demo refuses to run without `--no-limit`: one thread per task
/// goes from slow to harmful somewhere between here and the tutorial's 50,000.
const SAFETY_LIMIT: usize = 10_000;

/// Starts one OS thread per task, with no limit on how many run at once.
#[derive(Debug, Parser)]
// The usage line in `refuse_above_limit` comes from `Args::command()`, which never saw argv[0].
#[command(version, bin_name = "01-unbounded-spawn")]
struct Args {
    /// How many tasks to run, each on its own thread (at most 10000 without --no-limit).
    #[arg(long, value_name = "N", default_value = "1000", value_parser = workload::parse_positive, allow_hyphen_values = true)]
    tasks: usize,

    /// What each task does: sleep:DURATION (waits, like IO) or cpu:DURATION (computes).
    /// Units: ns, us, ms, s.
    #[arg(long, value_name = "KIND:DURATION", default_value = "sleep:100ms")]
    task: TaskSpec,

    /// Allow more than 10000 tasks. At that scale this demo can exhaust the machine's pid
    /// space and stop other programs from starting processes: see the README first.
    #[arg(long)]
    no_limit: bool,

    /// Print only the summary, not a line per task.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.tasks > SAFETY_LIMIT && !args.no_limit {
        refuse_above_limit(args.tasks);
    }
    let work = Arc::new(Work::new(args.task));
    let tracker = Arc::new(Tracker::default());

    let start = Instant::now();
    let tasks = (0..args.tasks).map(|id| -> Task {
        let (work, tracker) = (Arc::clone(&work), Arc::clone(&tracker));
        let quiet = args.quiet;
        Box::new(move || {
            let _running = tracker.start();
            work.run();
            if !quiet {
                let thread = thread::current();
                println!("task {id} done on {}", thread.name().unwrap_or("?"));
            }
        })
    });
    let spawned = spawn_all(tasks, spawn_thread);
    let status = match spawned.error() {
        Some(error) => {
            report_refusal(error, spawned.started(), args.tasks);
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    };
    // The threads that did start are joined either way: their tasks are already running, and
    // exiting now would kill them halfway.
    spawned.join();
    let elapsed = start.elapsed();

    let summary = Summary {
        stage: "01",
        tasks: args.tasks,
        tracker,
        workers: None,
        queue: None,
        task: args.task,
        elapsed,
        // One thread per task: every task can overlap with every other one.
        ideal: workload::ideal(args.task, args.tasks, args.tasks),
    };
    println!("{summary}");
    status
}

/// Exits with status 2, like any other bad `--tasks` value, explaining the limit.
fn refuse_above_limit(tasks: usize) -> ! {
    let message = format!(
        "--tasks {tasks} is above the safety limit of {SAFETY_LIMIT}; pass --no-limit to run it \
         anyway\n\n\
         Each task gets its own OS thread, so --tasks is also the number of threads. Measured on \
         a 2-core Linux VM (pid_max 32,768, max_map_count 65,530), the tutorial's 50,000 tasks \
         (--no-limit --tasks 50000) went like this: spawn number 31,705 failed with EAGAIN, the \
         machine's pid space was nearly exhausted so other programs could not start processes, \
         virtual memory peaked at 66 GB (resident 274 MB), and a just-started thread then \
         aborted the whole process while setting up its stack guard (SIGABRT)."
    );
    Args::command()
        .error(ErrorKind::ValueValidation, message)
        .exit()
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
