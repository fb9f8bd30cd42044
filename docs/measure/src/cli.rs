//! The command line: `measure`'s flags and subcommands, and the run of the scenarios they ask for.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use harness::table;
use indicatif::ProgressBar;

use crate::peer::{self, PeerArgs};
use crate::report;
use crate::scenario::timelines::Timelines;
use crate::scenario::{
    Options, Report, Run, Scenario, Size, costs, granularity, io_at_scale, overhead, policies,
    run_all, same_job, scaling, sizing, timelines,
};
use crate::stages::{Profile, Readiness, Workspace};
use crate::{chart, outputs};

/// Measures the stages (threads, memory, throughput) from outside and writes the docs.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Small sizes: every scenario in well under a minute, and never more than a few hundred
    /// threads in one process. Prints the tables; writes only with --out.
    #[arg(long)]
    quick: bool,

    /// Run only this scenario (may be repeated).
    #[arg(long = "scenario", value_name = "NAME", value_enum)]
    scenarios: Vec<Scenario>,

    /// Also run stage 01 with 50,000 threads in io-at-scale. That can exhaust the machine's
    /// process ids (32,768 by default, shared with every other process): never use it in CI.
    #[arg(long = "include-50k", conflicts_with = "quick")]
    include_50k: bool,

    /// Write each scenario's table (NAME.md), raw data (NAME.tsv) and chart (charts/NAME.svg)
    /// into DIR instead of rewriting docs/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Print the tables and write nothing.
    #[arg(long, conflicts_with = "out")]
    no_write: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run tasks on a comparison peer, with the stages' flags and summary line.
    Peer(PeerArgs),
    /// Record what each stage prints at its defaults in its output.txt (debug builds, as
    /// `cargo run --bin` makes them).
    Outputs {
        /// Compare with the recorded output.txt files instead of rewriting them; exits 1 and
        /// names the differences when a stage's output changed shape.
        #[arg(long)]
        check: bool,
    },
}

/// Where the results go: the docs' marked blocks and charts, a folder of files, or nowhere.
#[derive(Debug)]
enum Destination {
    Docs(PathBuf),
    Folder(PathBuf),
    Nowhere,
}

/// Runs `measure` with the process's arguments: what its binary does.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Peer(args)) => return peer::run(args),
        Some(Command::Outputs { check: true }) => outputs::check(&Workspace::locate()),
        Some(Command::Outputs { check: false }) => outputs::record(&Workspace::locate()),
        None => measure(&cli).map_err(|error| error.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn measure(cli: &Cli) -> io::Result<()> {
    let started = Instant::now();
    let options = Options {
        size: if cli.quick { Size::Quick } else { Size::Full },
        include_50k: cli.include_50k,
    };
    let workspace = Workspace::locate();
    let destination = match (&cli.out, cli.no_write || cli.quick) {
        (Some(folder), _) => Destination::Folder(folder.clone()),
        (None, true) => Destination::Nowhere,
        (None, false) => Destination::Docs(workspace.root.join("docs")),
    };
    // The command that made the tables, as a reader would type it to make them again.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.as_slice() {
        [] => "cargo run --release -p measure".to_string(),
        args => format!("cargo run --release -p measure -- {}", args.join(" ")),
    };
    let heading = report::machine(&command);
    // Release builds, at every size: a debug build's larger footprint would eat into the
    // memory margins that the quick run's tests check.
    let ready = prepare(&workspace);
    let every_scenario = cli.scenarios.is_empty();
    let scenarios = match cli.scenarios.as_slice() {
        [] => Scenario::all().to_vec(),
        chosen => chosen.to_vec(),
    };
    for scenario in scenarios {
        let scenario_started = Instant::now();
        let outcome = run_scenario(scenario, &ready, options);
        let took = scenario_started.elapsed().as_secs_f64();
        eprintln!("{} took {took:.0} s", scenario.name());
        match outcome {
            Outcome::Report(report) => write(&destination, &report, &heading)?,
            Outcome::Timelines(drawn) => write_timelines(&destination, &drawn, &heading)?,
        }
    }
    let took = started.elapsed();
    if let (Destination::Docs(folder), true, Size::Full) =
        (&destination, every_scenario, options.size)
    {
        // Only a run of every scenario at full size says how long "regenerating the docs" takes.
        let text = format!(
            "The last full run, `{command}`, took {} on the machine named above each table, \
             building the stages included.\n",
            table::time(took)
        );
        report::rewrite_blocks(&[folder.join("README.md")], "run", &text)?;
    }
    match destination {
        Destination::Nowhere => eprintln!("\nnothing written (pass --out DIR to keep the results)"),
        Destination::Docs(to) | Destination::Folder(to) => eprintln!("\nwrote {}", to.display()),
    }
    eprintln!("measure took {:.0} s", took.as_secs_f64());
    Ok(())
}

/// Builds every stage in release mode and finds out which ones can be measured.
fn prepare(workspace: &Workspace) -> Readiness {
    let profile = Profile::Release;
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner.set_message(format!("building the stages ({})", profile.name()));
    let ready = workspace.prepare(profile, |stage| {
        spinner.set_message(format!("checking {} ({})", stage.bin, profile.name()));
    });
    spinner.finish_and_clear();
    eprintln!("{}", ready.describe().join("\n"));
    ready
}

/// What a scenario made: a report for one block of the docs, or the timelines for two.
#[derive(Debug)]
enum Outcome {
    Report(Report),
    Timelines(Timelines),
}

fn run_scenario(scenario: Scenario, ready: &Readiness, options: Options) -> Outcome {
    // Generous (the longest full-size run takes 20 s): it turns a hung child into a failed row.
    let limit = match options.size {
        Size::Full => Duration::from_secs(300),
        Size::Quick => Duration::from_secs(30),
    };
    let run = |plan, rounds| run_all(scenario.name(), plan, ready, limit, rounds);
    let report = match scenario {
        Scenario::SameJob => same_job::report(run(same_job::plan(options), 1)),
        Scenario::Scaling => scaling::report(run(scaling::plan(options), 1)),
        Scenario::Granularity => {
            let rounds = granularity::rounds(options);
            granularity::report(run(granularity::plan(options), rounds), rounds)
        }
        Scenario::IoAtScale => {
            let target = io_at_scale::target(options);
            io_at_scale::report(run(io_at_scale::plan(options), 1), target)
        }
        Scenario::Sizing => sizing::run(ready, options),
        Scenario::Policies => {
            let rounds = policies::rounds(options);
            let runs = run(policies::plan(options), rounds);
            let memory = run_all("memory", policies::memory_plan(options), ready, limit, 1);
            policies::report(runs, memory, rounds)
        }
        Scenario::Overhead => {
            let rounds = overhead::rounds(options);
            overhead::report(run(overhead::plan(options), rounds), rounds)
        }
        // In-process: the ladder links the stages' libraries.
        Scenario::Costs => costs::run(options),
        Scenario::Timelines => return Outcome::Timelines(timelines::run(ready, options)),
    };
    Outcome::Report(report)
}

impl Destination {
    /// Writes the generated block `name`: between its markers in the docs, or as `NAME.md`.
    fn block(&self, name: &str, text: &str) -> io::Result<()> {
        match self {
            Destination::Nowhere => {}
            Destination::Docs(folder) => {
                let documents = [folder.join("README.md"), folder.join("claims.md")];
                if report::rewrite_blocks(&documents, name, text)? == 0 {
                    let readme = documents[0].display();
                    eprintln!("warning: no <!-- measure:begin {name} --> block in {readme}");
                }
            }
            Destination::Folder(folder) => {
                fs::create_dir_all(folder)?;
                fs::write(folder.join(format!("{name}.md")), text)?;
            }
        }
        Ok(())
    }

    /// Writes the raw runs as `NAME.tsv` into a folder (the docs keep none), and returns the
    /// folder whose `charts/` the charts go into, if any.
    fn data(&self, name: &str, runs: &[Run]) -> io::Result<Option<&Path>> {
        match self {
            Destination::Nowhere => Ok(None),
            Destination::Docs(folder) => Ok(Some(folder)),
            Destination::Folder(folder) => {
                fs::write(folder.join(format!("{name}.tsv")), report::tsv(name, runs))?;
                Ok(Some(folder))
            }
        }
    }
}

/// Writes the chart `charts/{name}.svg` of `folder`, or removes a stale one when nothing was
/// drawn this time.
fn write_chart(folder: &Path, name: &str, svg: Option<&str>) -> io::Result<()> {
    let charts = folder.join("charts");
    let path = charts.join(format!("{name}.svg"));
    match svg {
        Some(svg) => {
            fs::create_dir_all(charts)?;
            fs::write(path, svg)
        }
        None if path.exists() => fs::remove_file(path),
        None => Ok(()),
    }
}

/// Prints the generated block `name` under the `heading` line, and writes it to `destination`.
fn publish(destination: &Destination, name: &str, heading: &str, body: &str) -> io::Result<()> {
    let text = format!("{heading}\n\n{}\n", body.trim_end());
    println!("\n## {name}\n\n{text}");
    destination.block(name, &text)
}

/// Prints and writes a scenario's block (with a link to its chart), its raw runs and its chart.
fn write(destination: &Destination, report: &Report, heading: &str) -> io::Result<()> {
    let name = report.scenario.name();
    let mut body = report.body.trim_end().to_string();
    if report.chart.is_some() {
        body.push_str(&format!("\n\n![{name} chart](charts/{name}.svg)"));
    }
    publish(destination, name, heading, &body)?;
    if let Some(folder) = destination.data(name, &report.runs)? {
        let svg = report.chart.as_ref().map(chart::svg).transpose()?;
        write_chart(folder, name, svg.as_deref())?;
    }
    Ok(())
}

/// Prints and writes the timelines: a block per section of the docs, and a chart per run.
fn write_timelines(to: &Destination, drawn: &Timelines, heading: &str) -> io::Result<()> {
    for block in [timelines::SAME_JOB, timelines::POLICIES] {
        publish(to, block, heading, &drawn.block(block))?;
    }
    if let Some(folder) = to.data(Scenario::Timelines.name(), &drawn.runs())? {
        // A timeline not drawn this time loses its chart from an earlier run.
        for timeline in &drawn.0 {
            let svg = timeline.drawn.as_ref().ok().map(|(_, svg)| svg.as_str());
            write_chart(folder, timeline.planned.file, svg)?;
        }
    }
    Ok(())
}
