//! Stage 06 demo: measure how many workers a pool needs for CPU-bound, IO-bound and mixed work,
//! compare the pool with rayon, and measure how much work each task should carry. Without a subcommand, it runs every experiment at a size that
//! takes seconds.

mod cli;
mod experiments;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use experiments::batch::{self, BatchArgs};
use experiments::cpu::{self, CpuArgs};
use experiments::io::{self, IoArgs};
use experiments::mixed::{self, MixedArgs};
use experiments::vs_rayon::{self, RayonArgs};
use experiments::{Report, parallelism};
use harness::{LimitArgs, Output};

/// Sizes a worker pool from measurements. Without a command, runs all five at quick sizes.
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
    Cpu(CpuArgs),
    /// Sleeping tasks through growing pools until a target throughput is met, beside Little's law.
    Io(IoArgs),
    /// CPU and IO tasks in one shared pool versus a CPU pool and an IO pool.
    Mixed(MixedArgs),
    /// The same CPU-bound job through the pool and through rayon's par_iter.
    Rayon(RayonArgs),
    /// The same small items (cpu:1us) handed to the pool one at a time and in batches, beside
    /// par_iter: how much work should one task carry?
    Batch(BatchArgs),
}

impl Experiment {
    /// The flag that sets the largest pool the experiment starts, and its value. `cpu` and
    /// `batch` have none: their pools go up to 4 x cores and to the cores.
    fn threads(&self) -> Option<(&'static str, usize)> {
        match self {
            Experiment::Cpu(_) => None,
            Experiment::Io(args) => Some(("--max-workers", args.max_workers)),
            Experiment::Mixed(args) => Some(("--io-workers", args.io_workers)),
            Experiment::Rayon(args) => args.workers.map(|workers| ("--workers", workers)),
            Experiment::Batch(_) => None,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some((flag, threads)) = cli.experiment.as_ref().and_then(Experiment::threads) {
        cli.limit.check::<Cli>(flag, threads);
    }
    let output = Output::default();
    if !cli.quiet {
        output.print(parallelism());
    }
    let show = |report: Report| {
        if !cli.quiet {
            output.line("");
            output.print(&report.text);
        }
        output.line(&report.summary);
    };
    match cli.experiment {
        Some(Experiment::Cpu(args)) => show(cpu::run(&args)),
        Some(Experiment::Io(args)) => show(io::run(&args)),
        Some(Experiment::Mixed(args)) => show(mixed::run(&args)),
        Some(Experiment::Rayon(args)) => show(vs_rayon::run(&args)),
        Some(Experiment::Batch(args)) => show(batch::run(&args)),
        None => {
            show(cpu::run(&CpuArgs::quick()));
            show(io::run(&IoArgs::quick()));
            show(mixed::run(&MixedArgs::quick()));
            show(vs_rayon::run(&RayonArgs::quick()));
            show(batch::run(&BatchArgs::quick()));
        }
    }
    output.exit_code(true)
}
