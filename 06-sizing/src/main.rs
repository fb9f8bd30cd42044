//! Stage 06 demo: measure how many workers a pool needs for CPU-bound, IO-bound and mixed work,
//! and how much work each task should carry, beside rayon's `par_iter`. Without a subcommand, it
//! runs every experiment at a size that takes seconds.

mod busy;
mod cli;
mod experiments;

use std::env;
use std::iter;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use experiments::{Report, batch, cpu, io, mixed, parallelism};
use harness::{LimitArgs, Output};

/// Sizes a worker pool from measurements. Without a command, runs all four at quick sizes.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Print only the summary lines.
    #[arg(long, global = true)]
    quiet: bool,

    #[command(flatten)]
    limit: LimitArgs,

    #[command(subcommand)]
    experiment: Option<Experiment>,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// CPU-bound tasks through pools of 1 to 4 x cores workers: where is the knee?
    Cpu(cpu::CpuArgs),
    /// Sleeping tasks through growing pools until a target throughput is met, beside Little's law.
    Io(io::IoArgs),
    /// CPU and IO tasks in one shared pool versus a CPU pool and an IO pool.
    Mixed(mixed::MixedArgs),
    /// The same small items (cpu:1us) handed to the pool one at a time and in batches, beside
    /// rayon's par_iter: how much work should one task carry, and when is rayon the better tool?
    Batch(batch::BatchArgs),
}

/// The run without a subcommand: every experiment, at sizes that take seconds in a debug build.
const QUICK: [&str; 4] = [
    "cpu --tasks 100",
    "io",
    "mixed --tasks 100",
    "batch --items 20000 --rounds 2",
];

impl Experiment {
    /// The experiment that `args`, one of [`QUICK`], asks for.
    fn quick(args: &str) -> Experiment {
        let cli = Cli::parse_from(iter::once("06-sizing").chain(args.split_whitespace()));
        cli.experiment.expect("every quick run names an experiment")
    }

    fn run(&self) -> Report {
        match self {
            Experiment::Cpu(args) => cpu::run(args),
            Experiment::Io(args) => io::run(args),
            Experiment::Mixed(args) => mixed::run(args),
            Experiment::Batch(args) => batch::run(args),
        }
    }

    /// The most threads the experiment has running at once, all of its pools together. `cpu`
    /// and `io` run one pool at a time; `mixed` runs a CPU pool, a worker per core, beside its IO
    /// pool, and a second thread that submits the IO tasks; rayon's global pool, a thread per
    /// core, stays up beside `batch`'s pool once it has started.
    fn threads(&self) -> usize {
        let cores = harness::cores();
        match self {
            Experiment::Cpu(_) => 4 * cores,
            Experiment::Io(args) => args.max_workers,
            Experiment::Mixed(args) => args.io_workers + cores + 1,
            Experiment::Batch(_) => 2 * cores,
        }
    }
}

/// Exits with status 2, as for any bad value, if `experiment` would have more than
/// [`harness::THREAD_LIMIT`] threads running at once and `--no-limit` was not given.
fn check_threads(experiment: &Experiment, limit: &LimitArgs) {
    let threads = experiment.threads();
    let args: Vec<String> = env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into())
        .collect();
    let what = format_args!(
        "'{}' would run {threads} threads at once, all of its pools together,",
        args.join(" ")
    );
    limit.check_described::<Cli>(threads, what);
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let experiments = match cli.experiment {
        Some(experiment) => vec![experiment],
        None => QUICK.into_iter().map(Experiment::quick).collect(),
    };
    // Every experiment is checked before the first one starts a thread.
    for experiment in &experiments {
        check_threads(experiment, &cli.limit);
    }
    let output = Output::default();
    if !cli.quiet {
        output.line(parallelism());
    }
    // Checked before and after each experiment: a busy spell during it shows in one of the two.
    let probe = busy::Probe::new();
    let mut before = probe.efficiency();
    for experiment in &experiments {
        let report = experiment.run();
        let after = probe.efficiency();
        if !cli.quiet {
            output.line("");
            output.print(&report.text);
        }
        if let Some(warning) = busy::warning(&[before, after]) {
            harness::report(warning);
        }
        output.line(report.summary());
        before = after;
    }
    output.exit_code(true)
}
