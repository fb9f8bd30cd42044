//! The comparison peers: well-known ways to run the same tasks, with the stages' flags and
//! `summary:` line, so that `measure` runs them as it runs the stages.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use harness::{Summary, TaskArgs, TaskKind, TaskSpec, Tracker, Work};
use rayon::prelude::*;

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
    #[arg(long, value_name = "N", value_parser = harness::parse_positive, allow_hyphen_values = true)]
    pub workers: Option<usize>,
}

/// Runs the tasks on the chosen peer and prints the summary line.
pub fn run(args: &PeerArgs) -> ExitCode {
    let workers = match (args.peer, args.workers) {
        (Peer::Sequential, None) => 1,
        (Peer::Sequential, Some(_)) => refuse(
            "--workers does not apply to the sequential peer: it runs every task on the calling thread",
        ),
        (_, workers) => workers.unwrap_or(DEFAULT_WORKERS),
    };
    if args.run.timeline || args.run.trace.is_some() {
        refuse("--timeline and --trace record the stages' demos; the peers record nothing");
    }
    let (tasks, task) = (args.run.tasks, args.run.task);
    let job = Job {
        work: Work::new(task),
        spec: task,
        tracker: Tracker::default(),
        each: args.run.each,
    };
    // Borrowed for the rest of the process, as the demos borrow their workload: no reference
    // count to update per task.
    let job: &'static Job = Box::leak(Box::new(job));
    let start = Instant::now();
    let outcome = run_on(args.peer, job, tasks, workers);
    let elapsed = start.elapsed();
    if let Err(error) = outcome {
        eprintln!("error: {} could not start: {error}", args.peer.name());
        return ExitCode::FAILURE;
    }
    // tokio does not hold a thread while a task sleeps, so every sleep can overlap.
    let overlapping = match (args.peer, task.kind) {
        (Peer::Tokio, TaskKind::Sleep) => tasks,
        _ => workers,
    };
    // Every peer has joined its workers by now, so the counts are final.
    let summary = Summary::new(
        args.peer.name(),
        tasks,
        &job.tracker,
        Some(workers),
        None,
        task,
        elapsed,
        harness::ideal(task, tasks, overlapping),
    );
    println!("{summary}");
    ExitCode::SUCCESS
}

/// Exits as clap does for flags that conflict: `message` on stderr, status 2.
fn refuse(message: &str) -> ! {
    clap::Error::raw(
        clap::error::ErrorKind::ArgumentConflict,
        format!("{message}\n"),
    )
    .exit()
}

/// What every peer runs: the same calibrated work and the same counting as the stages.
#[derive(Debug)]
struct Job {
    work: Work,
    spec: TaskSpec,
    tracker: Tracker,
    // A line per task, as the stages print it: only with `--each`.
    each: bool,
}

impl Job {
    fn run(&self, id: usize) {
        let _running = self.tracker.start();
        self.work.run();
        self.report(id);
    }

    /// The async version: a sleep task awaits the runtime's timer instead of blocking a worker.
    async fn run_async(&self, id: usize) {
        let _running = self.tracker.start();
        match self.spec.kind {
            TaskKind::Sleep => tokio::time::sleep(self.spec.duration).await,
            TaskKind::Cpu => self.work.run(),
        }
        self.report(id);
    }

    fn report(&self, id: usize) {
        if self.each {
            let worker = thread::current();
            println!("task {id} done on {}", worker.name().unwrap_or("?"));
        }
    }
}

/// Runs tasks `0..tasks` of `job` on `peer`, and returns once every one has run.
fn run_on(peer: Peer, job: &'static Job, tasks: usize, workers: usize) -> Result<(), String> {
    let rayon_pool = || {
        rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|index| format!("rayon-{index}"))
            .build()
            .map_err(|error| error.to_string())
    };
    match peer {
        Peer::Sequential => (0..tasks).for_each(|id| job.run(id)),
        Peer::Threadpool => {
            let pool = threadpool::ThreadPool::new(workers);
            for id in 0..tasks {
                pool.execute(move || job.run(id));
            }
            // `join` waits until the queue is empty and every worker is idle; dropping the pool
            // would not wait at all.
            pool.join();
        }
        // `scope` returns once every spawned task has finished.
        Peer::RayonScope => rayon_pool()?.scope(|scope| {
            for id in 0..tasks {
                scope.spawn(move |_| job.run(id));
            }
        }),
        Peer::RayonParIter => {
            rayon_pool()?.install(|| (0..tasks).into_par_iter().for_each(|id| job.run(id)));
        }
        Peer::Tokio => run_tokio(job, tasks, workers).map_err(|error| error.to_string())?,
    }
    Ok(())
}

fn run_tokio(job: &'static Job, tasks: usize, workers: usize) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tokio-worker")
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|id| tokio::spawn(async move { job.run_async(id).await }))
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
