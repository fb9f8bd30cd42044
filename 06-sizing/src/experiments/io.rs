//! `io`: how many workers do sleeping tasks need to reach a target throughput?
//!
//! A worker that waits on IO is occupied but idle, so throughput grows with the pool long after
//! the cores run out: W workers holding each task for a latency L finish at most W / L tasks per
//! second. Little's law turns that around into the size to ask for; the experiment checks it by
//! growing a pool until it meets the target.

use std::time::Duration;

use clap::Args;
use harness::{TaskKind, TaskSpec, Work};
use stage06_sizing::{
    Align, Latencies, Sample, Table, littles_law_throughput, littles_law_workers, smallest_passing,
};

use super::{Report, Tally, count, millis, rate, run_batch};
use crate::cli;

/// Flags of the `io` experiment.
#[derive(Debug, Clone, Args)]
pub struct IoArgs {
    /// Throughput to reach, in tasks per second.
    #[arg(long, value_name = "TASKS_PER_S", default_value = "500", value_parser = cli::parse_rate, allow_hyphen_values = true)]
    target: f64,

    /// How long each task waits, as a database call would. Units: ns, us, ms, s.
    #[arg(long, value_name = "DURATION", default_value = "20ms", value_parser = cli::parse_positive_duration, allow_hyphen_values = true)]
    latency: Duration,

    /// Rounds of tasks per pool: a pool of N workers runs WAVES x N tasks, so that every pool runs
    /// for about the same time with all of its workers busy.
    #[arg(long, value_name = "WAVES", default_value = "5", value_parser = cli::parse_waves, allow_hyphen_values = true)]
    waves: usize,

    /// The largest pool to try. Each worker is an OS thread (at most 10000 without --no-limit).
    #[arg(long, value_name = "N", default_value = "256", value_parser = harness::parse_workers, allow_hyphen_values = true)]
    pub max_workers: usize,
}

impl IoArgs {
    /// The sizes the run without a subcommand uses: the defaults, which take about a second.
    pub fn quick() -> Self {
        IoArgs {
            target: 500.0,
            latency: Duration::from_millis(20),
            waves: 5,
            max_workers: 256,
        }
    }
}

/// Grows a pool until it meets the target and compares the size with Little's law.
pub fn run(args: &IoArgs) -> Report {
    let task = TaskSpec {
        kind: TaskKind::Sleep,
        duration: args.latency,
    };
    let work = Work::new(task);
    let mut tally = Tally::default();
    let mut samples = Vec::new();
    let mut service = Vec::new();
    let measured = smallest_passing(args.max_workers, |workers| {
        let batch = run_batch(workers, args.waves.saturating_mul(workers), work);
        tally.add(batch.tally);
        service.extend(batch.service.iter());
        samples.push(Sample {
            workers,
            tasks_per_s: batch.tasks_per_s(),
        });
        batch.tasks_per_s() >= args.target
    });
    samples.sort_by_key(|sample| sample.workers);
    let service: Latencies = service.into_iter().collect();
    let mean_latency = service.mean().unwrap_or(args.latency);

    let predicted = littles_law_workers(args.target, args.latency);
    let corrected = littles_law_workers(args.target, mean_latency);
    let rule_of_thumb = 2 * harness::cores();

    let mut table = Table::new(&[
        ("workers", Align::Right),
        ("tasks/s", Align::Right),
        ("limit W/L", Align::Right),
        ("target met", Align::Left),
    ]);
    for sample in &samples {
        let met = sample.tasks_per_s >= args.target;
        table.push_row(vec![
            sample.workers.to_string(),
            rate(sample.tasks_per_s),
            rate(littles_law_throughput(sample.workers, args.latency)),
            if met { "yes" } else { "no" }.to_string(),
        ]);
    }

    let outcome = match measured {
        Some(workers) => {
            format!(
                "measured: the smallest pool that met the target has {}",
                count(workers, "worker")
            )
        }
        None => format!(
            "measured: no pool of up to {} workers met the target; for that many waiting tasks, \
             an async runtime is the better tool",
            args.max_workers
        ),
    };
    let text = format!(
        "io: tasks of {task}, target {target} tasks/s; a pool of N workers runs {waves} x N tasks\n\
         {table}\
         Little's law: {target} tasks/s x {latency} = {predicted_text} busy on average\n\
         {outcome}\n\
         the tasks took {mean} ms on average, not {latency}; with that, Little's law says {corrected}\n\
         cores x 2, the rule of thumb, is {rule_of_thumb} workers: at most {rule_rate} tasks/s\n",
        target = rate(args.target),
        waves = args.waves,
        latency = harness::format_duration(args.latency),
        mean = millis(mean_latency),
        predicted_text = count(predicted, "worker"),
        rule_rate = rate(littles_law_throughput(rule_of_thumb, args.latency)),
    );
    let summary = tally.summary(
        "io",
        vec![
            ("task", task.to_string()),
            ("target_per_s", rate(args.target)),
            ("littles_law", predicted.to_string()),
            (
                "measured",
                measured.map_or("-".to_string(), |n| n.to_string()),
            ),
            ("mean_latency_ms", millis(mean_latency)),
            ("littles_law_measured", corrected.to_string()),
            ("cores_x2", rule_of_thumb.to_string()),
        ],
    );
    Report { text, summary }
}
