//! `io`: how many workers do sleeping tasks need to reach a target throughput?
//!
//! A worker that waits on IO is occupied but idle, so throughput grows with the pool long after
//! the cores run out: W workers holding each task for a latency L finish at most W / L tasks per
//! second. Little's law turns that around into the size to ask for; the experiment checks it by
//! growing a pool until it meets the target.

use std::time::Duration;

use clap::Args;
use harness::table::{Align, Table, count, millis, rate};
use harness::{TaskKind, TaskSpec, Work};
use stage06_sizing::{Latencies, littles_law_throughput, littles_law_workers, smallest_passing};

use super::{Report, Tally, run_batch};
use crate::cli;

/// Rounds of tasks per pool: a pool of N workers runs `WAVES` × N tasks, so that every pool runs
/// for about the same time with all of its workers busy.
const WAVES: usize = 5;

/// Flags of the `io` experiment.
#[derive(Debug, Clone, Args)]
pub struct IoArgs {
    /// Throughput to reach, in tasks per second.
    #[arg(long, value_name = "TASKS_PER_S", default_value = "500", value_parser = cli::parse_rate, allow_hyphen_values = true)]
    target: f64,

    /// How long each task waits, as a database call would. Units: ns, us, ms, s.
    #[arg(long, value_name = "DURATION", default_value = "20ms", value_parser = cli::parse_positive_duration, allow_hyphen_values = true)]
    latency: Duration,

    /// The largest pool to try. Each worker is an OS thread (at most 10000 without --no-limit).
    #[arg(long, value_name = "N", default_value = "256", value_parser = harness::parse_workers, allow_hyphen_values = true)]
    pub max_workers: usize,
}

/// Grows a pool until it meets the target and compares its size with Little's law.
pub fn run(args: &IoArgs) -> Report {
    let task = TaskSpec {
        kind: TaskKind::Sleep,
        duration: args.latency,
    };
    let work = Work::new(task);
    let mut tally = Tally::default();
    let (mut probes, mut service) = (Vec::new(), Vec::new());
    let measured = smallest_passing(args.max_workers, |workers| {
        let batch = run_batch(workers, WAVES * workers, work);
        tally.add(batch.tally);
        service.extend(batch.service.iter());
        let per_s = batch.tasks_per_s();
        probes.push((workers, per_s, per_s >= args.target));
        per_s >= args.target
    });
    // The search probes out of order (1, 2, 4, 8, 16, 12, 10, ...); the table lists them in order.
    probes.sort_by_key(|&(workers, ..)| workers);
    let mean_latency = Latencies::new(service).mean().unwrap_or(args.latency);
    let predicted = littles_law_workers(args.target, args.latency);
    let corrected = littles_law_workers(args.target, mean_latency);
    let rule_of_thumb = 2 * harness::cores();

    let mut table = Table::new(&[
        ("workers", Align::Right),
        ("tasks/s", Align::Right),
        ("limit W/L", Align::Right),
        ("target met", Align::Left),
    ]);
    for (workers, per_s, met) in probes {
        let met = if met { "yes" } else { "no" };
        let limit = littles_law_throughput(workers, args.latency);
        table.push_row(vec![
            workers.to_string(),
            rate(per_s),
            rate(limit),
            met.into(),
        ]);
    }

    let outcome = match measured {
        Some(n) => format!(
            "the smallest pool that met the target has {}",
            count(n, "worker")
        ),
        None => format!(
            "no pool of up to {} workers met the target; for that many waiting tasks, an async \
             runtime is the better tool",
            args.max_workers
        ),
    };
    let text = format!(
        "io: tasks of {task}, target {target} tasks/s; a pool of N workers runs {WAVES} x N tasks\n\
         {table}\
         Little's law: {target} tasks/s x {latency} = {predicted_text} busy on average\n\
         measured: {outcome}\n\
         the tasks took {mean} ms on average, not {latency}; with that, Little's law says {corrected}\n\
         cores x 2, the rule of thumb, is {rule_of_thumb} workers: at most {rule_rate} tasks/s\n",
        target = rate(args.target),
        latency = harness::format_duration(args.latency),
        predicted_text = count(predicted, "worker"),
        mean = millis(mean_latency),
        rule_rate = rate(littles_law_throughput(rule_of_thumb, args.latency)),
    );
    Report {
        experiment: "io",
        text,
        tally,
        results: vec![
            ("task", task.to_string()),
            ("target_per_s", rate(args.target)),
            ("littles_law", predicted.to_string()),
            ("measured", measured.map_or("-".into(), |n| n.to_string())),
            ("mean_latency_ms", millis(mean_latency)),
            ("littles_law_measured", corrected.to_string()),
            ("cores_x2", rule_of_thumb.to_string()),
        ],
    }
}
