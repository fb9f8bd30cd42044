//! `cpu`: the same CPU-bound tasks through pools of 1 to 4 × cores workers, to find the knee.
//!
//! Count the submitting thread too. Here it mostly waits (a full queue makes it spin, yield, then
//! park), so a pool of `cores` workers gets nearly the whole machine. A submitter that computes
//! before each submit (parsing a request, say) is one more thread that wants a core: on 2 cores,
//! 2 workers plus a busy submitter are 3 runnable threads, and no pool size reaches the ideal.

use clap::Args;
use harness::table::{Align, Table, count, duration, percent, rate};
use harness::{TaskSpec, Work};
use stage06_sizing::{KNEE_TOLERANCE, Sample, fastest, knee, pool_sizes};

use super::{Report, Tally, best_of_rounds, note, run_batch};
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

/// Runs the sweep and reports every pool size, the knee and the best size.
pub fn run(args: &CpuArgs) -> Report {
    let cores = harness::cores();
    let work = Work::new(args.task);
    let sizes = pool_sizes(cores, 4 * cores);
    let mut tally = Tally::default();
    let runs = best_of_rounds(&sizes, args.rounds, &mut tally, |workers| {
        run_batch(workers, args.tasks, work)
    });
    let samples: Vec<Sample> = sizes
        .iter()
        .zip(&runs)
        .map(|(&size, run)| Sample {
            size,
            throughput: run.tasks_per_s(),
        })
        .collect();
    let knee = knee(&samples, KNEE_TOLERANCE).expect("the sweep measures at least one size");
    let best = fastest(&samples).expect("the sweep measures at least one size");

    let mut table = Table::new(&[
        ("workers", Align::Right),
        ("tasks/s", Align::Right),
        ("ideal tasks/s", Align::Right),
        ("of ideal", Align::Right),
        ("task time", Align::Right),
        ("", Align::Left),
    ]);
    let marks = [(cores, "= cores"), (knee.size, "knee"), (best.size, "best")];
    for (sample, run) in samples.iter().zip(&runs) {
        let ideal = harness::ideal(args.task, args.tasks, sample.size);
        let ideal_per_s = args.tasks as f64 / ideal.as_secs_f64();
        table.push_row(vec![
            sample.size.to_string(),
            rate(sample.throughput),
            rate(ideal_per_s),
            percent(sample.throughput / ideal_per_s),
            run.service.mean().map_or("-".into(), duration),
            note(sample.size, &marks),
        ]);
    }

    let cores_text = count(cores, "core");
    let text = format!(
        "cpu: {tasks} tasks of {task} through pools of 1 to {last} workers on {cores_text}, \
         best of {rounds}\n\
         {table}\
         ideal: tasks x {length} / min(workers, cores); task time: how long a task held its worker\n\
         with more workers than {cores_text}, the tasks take turns on the cores: each one takes \
         longer, none finish sooner\n\
         knee: {knee_rate} tasks/s with {knee_workers}, within {tolerance} of the best \
         ({best_rate} tasks/s with {best_workers})\n",
        tasks = args.tasks,
        task = args.task,
        last = sizes[sizes.len() - 1],
        rounds = count(args.rounds, "round"),
        length = harness::format_duration(args.task.duration),
        knee_rate = rate(knee.throughput),
        knee_workers = count(knee.size, "worker"),
        tolerance = percent(KNEE_TOLERANCE),
        best_rate = rate(best.throughput),
        best_workers = count(best.size, "worker"),
    );
    Report {
        experiment: "cpu",
        text,
        tally,
        results: vec![
            ("task", args.task.to_string()),
            ("cores", cores.to_string()),
            ("knee_workers", knee.size.to_string()),
            ("knee_tasks_per_s", rate(knee.throughput)),
            ("best_workers", best.size.to_string()),
            ("best_tasks_per_s", rate(best.throughput)),
        ],
    }
}
