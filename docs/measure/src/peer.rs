//! The comparison peers: well-known ways to run the same tasks, with the stages' flags and
//! `summary:` line, so that `measure` runs them as it runs the stages.

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{Args, ValueEnum};
use harness::{Summary, TaskArgs, TaskKind, TaskSpec, Workload};

use crate::runs;

/// A way to run tasks that is not one of the stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Peer {
    /// A plain loop on one thread: the baseline every pool must beat.
    Sequential,
    /// The `threadpool` crate: fixed workers, unbounded queue, respawns a worker after a panic.
    Threadpool,
    /// rayon's `scope` and `spawn`: one task per spawn on a work-stealing pool.
    RayonScope,
    /// rayon's `par_iter`: rayon splits the range into chunks itself.
    RayonParIter,
    /// tokio tasks on a multi-threaded runtime; a sleep task awaits `tokio::time::sleep`.
    Tokio,
}

impl Peer {
    /// The name used on the command line and in the `stage=` key of the summary.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Sequential => "sequential",
            Peer::Threadpool => "threadpool",
            Peer::RayonScope => "rayon-scope",
            Peer::RayonParIter => "rayon-par-iter",
            Peer::Tokio => "tokio",
        }
    }
}

/// Workers when `--workers` is not given, as in the stages.
const DEFAULT_WORKERS: usize = 4;

/// The stages' flags, minus `--queue`: none of the peers has a bounded queue to size.
#[derive(Debug, Args)]
// Stage 03's default task, so that a peer and that stage compare at their defaults.
#[command(mut_arg("task", |arg| arg.default_value("sleep:50ms")))]
pub struct PeerArgs {
    /// Which peer runs the tasks.
    #[arg(value_enum)]
    pub peer: Peer,

    /// `--tasks`, `--task`, `--quiet` and `--each`, as the stages take them.
    #[command(flatten)]
    pub run: TaskArgs,

    /// Worker threads [default: 4]. The sequential peer runs on the calling thread and takes
    /// no workers.
    #[arg(long, value_name = "N", value_parser = harness::parse_positive)]
    #[arg(allow_hyphen_values = true)]
    pub workers: Option<usize>,
}

/// Runs the tasks on the chosen peer and prints the summary line.
pub fn run(args: &PeerArgs) -> ExitCode {
    let workers = match (args.peer, args.workers) {
        (Peer::Sequential, None) => 1,
        (Peer::Sequential, Some(_)) => refuse(
            "--workers does not apply to the sequential peer: it runs every task on the calling \
             thread",
        ),
        (_, workers) => workers.unwrap_or(DEFAULT_WORKERS),
    };
    if args.run.timeline || args.run.trace.is_some() {
        refuse("--timeline and --trace record the stages' demos; the peers record nothing");
    }
    let (tasks, task) = (args.run.tasks, args.run.task);
    // The demos' own workload (calibrated work, counting, `--each` lines), borrowed for the rest
    // of the process as the demos borrow it: no reference count to update per task.
    let workload = Workload::new(&args.run).leak();
    let start = Instant::now();
    let outcome = run_on(args, workload, workers);
    let elapsed = start.elapsed();
    if let Err(error) = outcome {
        harness::report(format_args!(
            "error: {} could not start: {error}",
            args.peer.name()
        ));
        return ExitCode::FAILURE;
    }
    // tokio does not hold a thread while a task sleeps, so every sleep can overlap.
    let overlapping = match (args.peer, task.kind) {
        (Peer::Tokio, TaskKind::Sleep) => tasks,
        _ => workers,
    };
    let ideal = harness::ideal(task, tasks, overlapping);
    // Every peer has joined its workers by now, so the counts are final.
    let tracker = workload.tracker();
    let summary = Summary::new(
        args.peer.name(),
        tasks,
        tracker,
        Some(workers),
        None,
        task,
        elapsed,
        ideal,
    );
    // As the demos end: a stdout that cannot be written is a status of 1, never a panic.
    workload.finish(summary, true)
}

/// Exits as clap does for flags that conflict: `message` on stderr, status 2.
fn refuse(message: &str) -> ! {
    let error = clap::Error::raw(ErrorKind::ArgumentConflict, format!("{message}\n"));
    error.exit()
}

/// Runs every task of `args` on its peer, the pools as the bench runs them ([`runs`]).
fn run_on(args: &PeerArgs, workload: &'static Workload, workers: usize) -> io::Result<()> {
    let (tasks, task) = (args.run.tasks, move |id| workload.run(id));
    match args.peer {
        Peer::Sequential => (0..tasks).for_each(task),
        Peer::Threadpool => _ = runs::threadpool(workers, tasks, task),
        Peer::RayonScope => _ = runs::rayon_scope(workers, tasks, task)?,
        Peer::RayonParIter => _ = runs::rayon_par_iter(workers, tasks, task)?,
        Peer::Tokio => run_tokio(&args.run, workload, workers)?,
    }
    Ok(())
}

fn run_tokio(run: &TaskArgs, workload: &'static Workload, workers: usize) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tokio-worker")
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let handles: Vec<_> = (0..run.tasks)
            .map(|id| tokio::spawn(run_async(workload, run.task, id)))
            .collect();
        for handle in handles {
            // A task that panicked comes back as a `JoinError`; the tracker has already
            // counted it as panicked while it unwound, so nothing is lost here.
            let _ = handle.await;
        }
    });
    // Dropping a runtime waits for its workers, but not forever: the tasks are done already.
    runtime.shutdown_timeout(Duration::from_secs(10));
    Ok(())
}

/// Task `id` of `workload` on tokio: a sleep awaits the runtime's timer instead of blocking a
/// worker, and is counted and reported as [`Workload::run`] counts and reports a task.
async fn run_async(workload: &'static Workload, spec: TaskSpec, id: usize) {
    match spec.kind {
        TaskKind::Cpu => workload.run(id),
        TaskKind::Sleep => {
            let _running = workload.tracker().start();
            tokio::time::sleep(spec.duration).await;
            workload.print_done(id);
        }
    }
}
