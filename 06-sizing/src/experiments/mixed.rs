//! `mixed`: CPU tasks and IO tasks in one shared pool, or each kind in a pool of its own.
//!
//! Both setups have the same number of threads. In the shared pool a CPU task queues behind IO
//! tasks, and each of those holds a worker for its whole latency while using no CPU. Split, the
//! CPU tasks have a pool sized to the cores, and a burst of IO cannot take its workers away.

use std::iter;
use std::sync::Barrier;
use std::thread;

use clap::Args;
use harness::table::{Align, Table, millis, rate};
use harness::{TaskSpec, Work};
use stage05_panic_resilient::ResilientPool;

use super::{Batch, Report, Tally, queue_capacity, start_pool, submit_all};
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

    /// Workers of the IO pool; the shared pool gets these plus one per core. With the CPU pool
    /// and the IO submitter, at most 10000 threads without --no-limit.
    #[arg(long, value_name = "N", default_value = "8", value_parser = harness::parse_workers, allow_hyphen_values = true)]
    pub io_workers: usize,
}

/// Runs both setups, one after the other, and compares what the CPU tasks saw.
pub fn run(args: &MixedArgs) -> Report {
    let cores = harness::cores();
    let work = (Work::new(args.cpu_task), Work::new(args.io_task));
    let shared_workers = cores + args.io_workers;
    // No pool here holds more unfinished tasks than the shared one.
    let window = shared_workers + queue_capacity(shared_workers);
    let shared_pool = start_pool(shared_workers);
    let (shared_cpu, shared_io) =
        run_streams((&shared_pool, &shared_pool), work, args.tasks, window);
    shared_pool.shutdown();
    let (cpu_pool, io_pool) = (start_pool(cores), start_pool(args.io_workers));
    let (split_cpu, split_io) = run_streams((&cpu_pool, &io_pool), work, args.tasks, window);
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
    let shared = shared_workers.to_string();
    let split = format!("{cores} + {}", args.io_workers);
    let setups = [
        ("one shared pool", shared, &shared_cpu, &shared_io),
        ("cpu pool + io pool", split, &split_cpu, &split_io),
    ];
    for (setup, workers, cpu, io) in setups {
        table.push_row(vec![
            setup.to_string(),
            workers,
            rate(cpu.tasks_per_s()),
            cpu.latency.mean().map_or("-".into(), millis),
            p95_ms(cpu),
            rate(io.tasks_per_s()),
        ]);
    }

    let text = format!(
        "mixed: {tasks} tasks of {cpu_task} and {tasks} of {io_task}, each kind submitted by its \
         own thread, both at once\n\
         {table}\
         latency: from the call to submit until the task has finished, waiting for a queue slot \
         included\n\
         shared: CPU tasks queue behind IO tasks that hold a worker for {io_length} doing \
         nothing\n",
        tasks = args.tasks,
        cpu_task = args.cpu_task,
        io_task = args.io_task,
        io_length = harness::format_duration(args.io_task.duration),
    );
    let mut tally = Tally::default();
    for stream in [&shared_cpu, &shared_io, &split_cpu, &split_io] {
        tally.add(stream.tally);
    }
    Report {
        experiment: "mixed",
        text,
        tally,
        results: vec![
            ("cpu_task", args.cpu_task.to_string()),
            ("io_task", args.io_task.to_string()),
            ("shared_workers", shared_workers.to_string()),
            ("shared_cpu_tasks_per_s", rate(shared_cpu.tasks_per_s())),
            ("shared_cpu_p95_ms", p95_ms(&shared_cpu)),
            ("split_workers", format!("{cores}+{}", args.io_workers)),
            ("split_cpu_tasks_per_s", rate(split_cpu.tasks_per_s())),
            ("split_cpu_p95_ms", p95_ms(&split_cpu)),
        ],
    }
}

/// The latency within which 95% of the stream's tasks finished, in milliseconds.
fn p95_ms(stream: &Batch) -> String {
    stream.latency.percentile(95.0).map_or("-".into(), millis)
}

/// Submits `tasks` CPU tasks to `cpu_pool` from this thread and as many IO tasks to `io_pool`
/// from another, starting together, each submitter keeping `window` handles (see
/// [`submit_all`]). The two pools may be one. Returns the CPU stream, then the IO stream.
fn run_streams(
    (cpu_pool, io_pool): (&ResilientPool, &ResilientPool),
    (cpu_work, io_work): (Work, Work),
    tasks: usize,
    window: usize,
) -> (Batch, Batch) {
    // A barrier rather than "spawn first": the IO thread must not get a head start that depends
    // on how fast the OS starts it.
    let start_line = Barrier::new(2);
    let stream = |pool: &ResilientPool, work: Work| {
        start_line.wait();
        submit_all(pool, window, iter::repeat_n(move || work.run(), tasks))
    };
    thread::scope(|scope| {
        // A thread the system may refuse, as it may a worker: then the demo says so and exits.
        let io = harness::or_exit_if_refused(|| scope.spawn(|| stream(io_pool, io_work)));
        let cpu = stream(cpu_pool, cpu_work);
        let io = io.join().expect("the IO submitter only submits and joins");
        (cpu, io)
    })
}
