//! `cpu`: the same CPU-bound batch through pools of 1 to 4 × cores workers, to find the knee.
//!
//! Count the submitting thread too. Here it mostly waits (a full queue makes it spin, yield, then
//! park), so a pool of `cores` workers gets nearly the whole machine. A submitter that computes
//! before each submit (parsing a request, say) is one more thread that wants a core: on 2 cores,
//! 2 workers plus a busy submitter are 3 runnable threads, and no pool size reaches the ideal
//! below, which assumes the workers have every core to themselves.

use std::time::Duration;

use clap::Args;
use harness::{TaskKind, TaskSpec, Work};
use stage06_sizing::{Align, KNEE_TOLERANCE, Sample, Table, knee, pool_sizes};

use super::{Report, Tally, best_of_rounds, count, percent, rate, run_batch, throughput_cells};
use crate::cli;

/// Flags of the `cpu` experiment.
#[derive(Debug, Clone, Args)]
pub struct CpuArgs {
    /// Tasks per pool size.
    #[arg(long, value_name = "N", default_value = "400", value_parser = harness::parse_tasks, allow_hyphen_values = true)]
    tasks: usize,

    /// What each task computes. Units: ns, us, ms, s.
    #[arg(long, value_name = "cpu:DURATION", default_value = "cpu:1ms", value_parser = cli::parse_cpu_task)]
    task: TaskSpec,

    /// Sweeps over all sizes; each size keeps its best run.
    #[arg(long, value_name = "N", default_value = "3", value_parser = harness::parse_positive, allow_hyphen_values = true)]
    rounds: usize,
}

impl CpuArgs {
    /// The sizes the run without a subcommand uses: a few seconds in a debug build.
    pub fn quick() -> Self {
        CpuArgs {
            tasks: 100,
            task: TaskSpec {
                kind: TaskKind::Cpu,
                duration: Duration::from_millis(1),
            },
            rounds: 3,
        }
    }
}

/// Runs the sweep and reports every pool size, the knee and the best size.
pub fn run(args: &CpuArgs) -> Report {
    let cores = harness::cores();
    let work = Work::new(args.task);
    let sizes = pool_sizes(cores, 4 * cores);
    let mut tally = Tally::default();
    let batches = best_of_rounds(&sizes, args.rounds, &mut tally, |workers| {
        run_batch(workers, args.tasks, work)
    });
    let samples: Vec<Sample> = batches
        .iter()
        .map(|(workers, batch)| Sample {
            workers: *workers,
            tasks_per_s: batch.tasks_per_s(),
        })
        .collect();
    let knee = knee(&samples, KNEE_TOLERANCE).expect("the sweep measures at least one size");
    let best = samples
        .iter()
        .copied()
        .max_by(|a, b| a.tasks_per_s.total_cmp(&b.tasks_per_s))
        .expect("the sweep measures at least one size");

    let mut table = Table::new(&[
        ("workers", Align::Right),
        ("tasks/s", Align::Right),
        ("ideal tasks/s", Align::Right),
        ("of ideal", Align::Right),
        ("task time", Align::Right),
        ("", Align::Left),
    ]);
    for (sample, (_, batch)) in samples.iter().zip(&batches) {
        let mut row = vec![sample.workers.to_string()];
        row.extend(throughput_cells(
            args.task,
            args.tasks,
            sample.workers,
            sample.tasks_per_s,
        ));
        // `{:.1?}` picks the unit, so 20 µs tasks do not show as 0.0 ms.
        row.push(
            batch
                .service
                .mean()
                .map_or("-".to_string(), |mean| format!("{mean:.1?}")),
        );
        row.push(note(sample.workers, cores, knee.workers, best.workers));
        table.push_row(row);
    }

    let text = format!(
        "cpu: {tasks} tasks of {task} through pools of {first} to {last} workers on {cores_text}, \
         best of {rounds} rounds\n\
         {table}\
         ideal: tasks x {duration} / min(workers, cores); task time: how long a task held its worker\n\
         with more workers than {cores_text}, the tasks take turns on the cores: each one takes \
         longer, none finish sooner\n\
         knee: {knee_rate} tasks/s with {knee_text}, within {tolerance} of the best \
         ({best_rate} tasks/s with {best_text})\n",
        tasks = args.tasks,
        task = args.task,
        rounds = args.rounds,
        first = sizes[0],
        last = sizes[sizes.len() - 1],
        cores_text = count(cores, "core"),
        duration = harness::format_duration(args.task.duration),
        knee_text = count(knee.workers, "worker"),
        knee_rate = rate(knee.tasks_per_s),
        tolerance = percent(KNEE_TOLERANCE),
        best_rate = rate(best.tasks_per_s),
        best_text = count(best.workers, "worker"),
    );
    let summary = tally.summary(
        "cpu",
        vec![
            ("task", args.task.to_string()),
            ("cores", cores.to_string()),
            ("knee_workers", knee.workers.to_string()),
            ("knee_tasks_per_s", rate(knee.tasks_per_s)),
            ("best_workers", best.workers.to_string()),
            ("best_tasks_per_s", rate(best.tasks_per_s)),
        ],
    );
    Report { text, summary }
}

/// The remark beside a row: which size is the knee, the best, and the number of cores.
fn note(workers: usize, cores: usize, knee: usize, best: usize) -> String {
    let mut notes = Vec::new();
    if workers == cores {
        notes.push("= cores");
    }
    if workers == knee {
        notes.push("knee");
    }
    if workers == best {
        notes.push("best");
    }
    notes.join(", ")
}
