//! `mixed`: CPU tasks and IO tasks in one shared pool, or each kind in a pool of its own.
//!
//! Both setups have the same number of threads. In the shared pool a CPU task queues behind IO
//! tasks, and each of those holds a worker for its whole latency while using no CPU. Split, the
//! CPU tasks have a pool sized to the cores, and a burst of IO cannot take its workers away.

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use clap::Args;
use harness::{TaskKind, TaskSpec, Work};
use stage05_panic_resilient::ResilientPool;
use stage06_sizing::{Align, Latencies, Table};

use super::{Batch, Report, Tally, millis, rate, start_pool, submit_all};
use crate::cli;

/// Flags of the `mixed` experiment.
#[derive(Debug, Clone, Args)]
pub struct MixedArgs {
    /// CPU tasks to run, and as many IO tasks beside them.
    #[arg(long, value_name = "N", default_value = "200", value_parser = harness::parse_tasks, allow_hyphen_values = true)]
    tasks: usize,

    /// What each CPU task computes.
    #[arg(long, value_name = "cpu:DURATION", default_value = "cpu:1ms", value_parser = cli::parse_cpu_task)]
    cpu_task: TaskSpec,

    /// How long each IO task waits.
    #[arg(long, value_name = "sleep:DURATION", default_value = "sleep:20ms", value_parser = cli::parse_sleep_task)]
    io_task: TaskSpec,

    /// Workers of the IO pool; the shared pool gets these plus one per core (at most 10000
    /// without --no-limit).
    #[arg(long, value_name = "N", default_value = "8", value_parser = harness::parse_workers, allow_hyphen_values = true)]
    pub io_workers: usize,
}

impl MixedArgs {
    /// The sizes the run without a subcommand uses.
    pub fn quick() -> Self {
        MixedArgs {
            tasks: 100,
            cpu_task: TaskSpec {
                kind: TaskKind::Cpu,
                duration: Duration::from_millis(1),
            },
            io_task: TaskSpec {
                kind: TaskKind::Sleep,
                duration: Duration::from_millis(20),
            },
            io_workers: 8,
        }
    }
}

fn mean_ms(latencies: &Latencies) -> String {
    latencies.mean().map_or("-".to_string(), millis)
}

fn p95_ms(latencies: &Latencies) -> String {
    latencies.percentile(95.0).map_or("-".to_string(), millis)
}

/// Runs both setups and compares what the CPU tasks saw.
pub fn run(args: &MixedArgs) -> Report {
    let cores = harness::cores();
    let cpu_work = Work::new(args.cpu_task);
    let io_work = Work::new(args.io_task);
    let shared_workers = cores + args.io_workers;

    let shared_pool = start_pool(shared_workers);
    let (shared_cpu, shared_io) =
        run_streams(&shared_pool, &shared_pool, args.tasks, cpu_work, io_work);
    shared_pool.shutdown();

    let cpu_pool = start_pool(cores);
    let io_pool = start_pool(args.io_workers);
    let (split_cpu, split_io) = run_streams(&cpu_pool, &io_pool, args.tasks, cpu_work, io_work);
    cpu_pool.shutdown();
    io_pool.shutdown();

    let mut table = Table::new(&[
        ("setup", Align::Left),
        ("workers", Align::Left),
        ("cpu tasks/s", Align::Right),
        ("cpu mean ms", Align::Right),
        ("cpu p95 ms", Align::Right),
        ("io tasks/s", Align::Right),
    ]);
    let setups = [
        (
            "one shared pool",
            shared_workers.to_string(),
            &shared_cpu,
            &shared_io,
        ),
        (
            "cpu pool + io pool",
            format!("{cores} + {}", args.io_workers),
            &split_cpu,
            &split_io,
        ),
    ];
    for (setup, workers, cpu, io) in setups {
        table.push_row(vec![
            setup.to_string(),
            workers,
            rate(cpu.tasks_per_s()),
            mean_ms(&cpu.latency),
            p95_ms(&cpu.latency),
            rate(io.tasks_per_s()),
        ]);
    }

    let text = format!(
        "mixed: {tasks} tasks of {cpu_task} and {tasks} of {io_task}, each kind submitted by its \
         own thread, both at once\n\
         {table}\
         latency: from the call to submit until the task has finished, waiting for a queue slot \
         included\n\
         shared: CPU tasks queue behind IO tasks that hold a worker for {io_duration} doing \
         nothing\n",
        tasks = args.tasks,
        cpu_task = args.cpu_task,
        io_task = args.io_task,
        io_duration = harness::format_duration(args.io_task.duration),
    );
    let mut tally = Tally::default();
    for stream in [&shared_cpu, &shared_io, &split_cpu, &split_io] {
        tally.add(stream.tally);
    }
    let summary = tally.summary(
        "mixed",
        vec![
            ("cpu_task", args.cpu_task.to_string()),
            ("io_task", args.io_task.to_string()),
            ("shared_workers", shared_workers.to_string()),
            ("shared_cpu_tasks_per_s", rate(shared_cpu.tasks_per_s())),
            ("shared_cpu_p95_ms", p95_ms(&shared_cpu.latency)),
            ("split_workers", format!("{cores}+{}", args.io_workers)),
            ("split_cpu_tasks_per_s", rate(split_cpu.tasks_per_s())),
            ("split_cpu_p95_ms", p95_ms(&split_cpu.latency)),
        ],
    );
    Report { text, summary }
}

/// Submits the CPU tasks from this thread and the IO tasks from another, starting together, and
/// returns the CPU stream, then the IO stream.
fn run_streams(
    cpu_pool: &ResilientPool,
    io_pool: &ResilientPool,
    tasks: usize,
    cpu_work: Work,
    io_work: Work,
) -> (Batch, Batch) {
    // A barrier rather than "spawn first": the IO thread must not get a head start that
    // depends on how fast the OS starts it.
    let start_line = Barrier::new(2);
    thread::scope(|scope| {
        let io = scope.spawn(|| stream(io_pool, tasks, io_work, &start_line));
        let cpu = stream(cpu_pool, tasks, cpu_work, &start_line);
        let io = io.join().expect("the IO submitter only submits and joins");
        (cpu, io)
    })
}

fn stream(pool: &ResilientPool, tasks: usize, work: Work, start_line: &Barrier) -> Batch {
    start_line.wait();
    submit_all(pool, tasks, work)
}
