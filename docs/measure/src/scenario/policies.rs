//! `policies`: what should a bounded pool's submitter do when the queue is full? Stage 03 runs
//! CPU tasks under each `--policy` beside the peers, then a memory check under each policy.

use std::collections::BTreeMap;
use std::time::Duration;

use harness::table;
use harness::{Policy, cores};
use minijinja::{Value, context};

use super::granularity::{
    self, CPU_PEERS, Column, DURATION_AXIS, SWITCHES, TIMES, TINY, baseline, fraction, ran,
    rejected,
};
use super::{Job, Options, QUEUE, Report, Run, Runner, Scenario, Size};
use super::{bar_panel, bars, count, distinct, grid, lines, problems, table_of, task};
use crate::chart::{Bar, Chart, Panel};
use crate::peer::Peer;
use crate::stages::stage;

/// Every policy, in the order the tables list them.
const POLICIES: [Policy; 4] = [
    Policy::Block,
    Policy::Reject,
    Policy::CallerRuns,
    Policy::Timeout(Duration::from_millis(1)),
];

/// How many times each run of the main table is repeated, as in `granularity`.
pub use granularity::rounds;

/// `granularity`'s task sizes up to 100 µs, where the policies still differ.
fn sizes(size: Size) -> Vec<(&'static str, usize)> {
    let largest = Duration::from_micros(100);
    granularity::sizes(size)
        .into_iter()
        .filter(|(spec, _)| task(spec).duration <= largest)
        .collect()
}

/// The task counts of the memory check: the fewest and the most.
fn memory_sizes(size: Size) -> [usize; 2] {
    size.pick([1_000, 1_000_000], [1_000, 100_000])
}

/// The main table's runs: at every size, the loop, stage 03 under each policy, and the CPU peers.
/// Only stage 03 takes `--policy`: stages 04 and 05 always wait for a slot.
pub fn plan(options: Options) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (spec, tasks) in sizes(options.size) {
        let job = |runner| Job::new(runner, tasks, task(spec), cores(), QUEUE);
        jobs.push(job(Runner::Peer(Peer::Sequential)));
        let stage_03 = job(Runner::Stage(stage("03")));
        jobs.extend(POLICIES.map(|policy| stage_03.with_policy(policy)));
        jobs.extend(CPU_PEERS.map(|peer| job(Runner::Peer(peer))));
    }
    jobs
}

/// The memory check's runs: the tiny task, under each policy at both task counts.
pub fn memory_plan(options: Options) -> Vec<Job> {
    let job = |tasks| {
        Job::new(
            Runner::Stage(stage("03")),
            tasks,
            task(TINY),
            cores(),
            QUEUE,
        )
    };
    let sizes = memory_sizes(options.size);
    POLICIES
        .into_iter()
        .flat_map(|policy| sizes.map(|tasks| job(tasks).with_policy(policy)))
        .collect()
}

/// CPU time spent outside the timed part (start-up, exit): the sequential loop's beyond its time.
fn outside_cpu_ns(runs: &[Run], job: &Job) -> f64 {
    baseline(runs, job)
        .and_then(|run| Some(run.cpu()?.as_secs_f64() * 1e9 - run.elapsed_ms()? * 1e6))
        .unwrap_or(0.0)
        .max(0.0)
}

/// CPU time per task that ran, in nanoseconds: every thread, start-up excluded.
pub fn cpu_per_task_ns(runs: &[Run], run: &Run) -> Option<f64> {
    let ran = ran(run).filter(|&ran| ran > 0)?;
    let cpu = run.cpu()?.as_secs_f64() * 1e9 - outside_cpu_ns(runs, &run.job);
    Some(cpu.max(0.0) / ran as f64)
}

/// The share of the run the submitting thread spent on a core, start-up excluded, at most 1.0.
pub fn submitter_busy(runs: &[Run], run: &Run) -> Option<f64> {
    let elapsed_ns = run.elapsed_ms()? * 1e6;
    let main_ns = run.main_thread_cpu()?.as_secs_f64() * 1e9 - outside_cpu_ns(runs, &run.job);
    (elapsed_ns > 0.0).then(|| (main_ns / elapsed_ns).clamp(0.0, 1.0))
}

/// How many cores' worth of CPU time the threads other than the submitter used over the run.
fn workers_cores(run: &Run) -> Option<f64> {
    let elapsed_ns = run.elapsed_ms()? * 1e6;
    let main_ns = run.main_thread_cpu()?.as_secs_f64() * 1e9;
    let others_ns = run.cpu()?.as_secs_f64() * 1e9 - main_ns;
    // The start-up runs on the main thread, so it is already out of `others_ns`.
    (elapsed_ns > 0.0).then(|| others_ns.max(0.0) / elapsed_ns)
}

/// `03 crossbeam-bounded, caller-runs`, or a peer's label.
fn row_label(run: &Run) -> String {
    match run.job.policy {
        Some(policy) => format!("{}, {policy}", run.job.runner.label()),
        None => run.job.runner.label(),
    }
}

/// A label short enough for a chart's category axis: `03 caller-runs`, `threadpool`.
fn short_label(job: &Job) -> String {
    match job.policy {
        Some(policy) => format!("{} {policy}", job.runner.key()),
        None => job.runner.key().to_string(),
    }
}

/// The close-up's columns on what became of the tasks.
const FATES: [Column; 3] = [
    ("ran", |_, run| ran(run).map(table::thousands)),
    ("rejected", |_, run| rejected(run).map(table::thousands)),
    ("ran in caller", |_, run| {
        ran_in_caller(run).map(table::thousands)
    }),
];

/// The close-up's columns on who used the CPU.
const CPU: [Column; 2] = [
    ("CPU per task", |runs, run| {
        cpu_per_task_ns(runs, run).map(table::time_ns)
    }),
    ("submitter on a core", |runs, run| {
        submitter_busy(runs, run).map(table::percent)
    }),
];

fn ran_in_caller(run: &Run) -> Option<u64> {
    run.ok()?.summary.as_ref()?.own("ran_in_caller")
}

/// The tables, the findings and the chart, from the main table's runs and the memory check's.
pub fn report(runs: Vec<Run>, memory: Vec<Run>, rounds: usize) -> Report {
    let memory_rows = memory_rows(&memory);
    let figures = context! {
        matrix => granularity::matrix(&runs, row_label, true, |run| granularity::cell(&runs, run)),
        disturbed => granularity::any_disturbed(&runs),
        memory_table => granularity::matrix(&runs, row_label, false, |run| {
            table::or_na(run.peak_rss_kib().map(table::memory))
        }),
        close_up => granularity::close_up(&runs, row_label, &[&FATES, &TIMES, &CPU, &SWITCHES]),
        memory => memory_check(&memory_rows),
        problems => format!("{}{}", problems(&runs), problems(&memory))
            .trim()
            .to_string(),
        at => at_tiny(&runs),
        rejections => rejections(&runs),
        ..granularity::shared(rounds)
    };
    let chart = chart(&runs, &memory_rows);
    let all = runs.into_iter().chain(memory).collect();
    Report::render(Scenario::Policies, figures, chart, all)
}

/// One stage and policy in the memory check: peak RSS at the fewest and the most tasks.
struct MemoryRow<'a> {
    label: String,
    few: &'a Run,
    many: &'a Run,
}

impl MemoryRow<'_> {
    fn ratio(&self) -> Option<f64> {
        let few = self.few.peak_rss_kib()?;
        let many = self.many.peak_rss_kib()?;
        (few > 0).then(|| many as f64 / few as f64)
    }

    /// What each task beyond the fewest added to the peak, in bytes, or `-`.
    fn bytes_per_task(&self) -> String {
        let tasks = (self.many.job.tasks - self.few.job.tasks) as f64;
        let peaks = self.many.peak_rss_kib().zip(self.few.peak_rss_kib());
        let bytes = peaks.map(|(many, few)| (many as f64 - few as f64) * 1024.0 / tasks);
        bytes.map_or_else(|| "-".to_string(), table::tenths)
    }
}

/// Pairs each stage and policy's runs at the fewest and the most tasks.
fn memory_rows(memory: &[Run]) -> Vec<MemoryRow<'_>> {
    let row = |label: String| {
        let measured = |run: &&Run| row_label(run) == label && run.ok().is_some();
        let mine: Vec<&Run> = memory.iter().filter(measured).collect();
        let few = *mine.iter().min_by_key(|run| run.job.tasks)?;
        let many = *mine.iter().max_by_key(|run| run.job.tasks)?;
        (few.job.tasks < many.job.tasks).then_some(MemoryRow { label, few, many })
    };
    let labels = distinct(memory.iter().map(row_label));
    labels.into_iter().filter_map(row).collect()
}

/// The memory check's table, and how much peak memory grew policy by policy.
fn memory_check(rows: &[MemoryRow<'_>]) -> Option<Value> {
    let first = rows.first()?;
    let [few, many] = [first.few, first.many].map(|run| count(run.job.tasks));
    let titles = [format!("{few} tasks"), format!("{many} tasks")];
    let rejected_of = format!("rejected of {many}");
    let ratio = |row: &MemoryRow<'_>| row.ratio().map(|ratio| format!("{ratio:.2}x"));
    let peak = |run: &Run| table::or_na(run.peak_rss_kib().map(table::memory));
    let table = table_of(rows, |row| {
        Some(vec![
            ("run", row.label.clone()),
            (&titles[0], peak(row.few)),
            (&titles[1], peak(row.many)),
            ("ratio", ratio(row).unwrap_or_else(|| "-".to_string())),
            ("bytes per extra task", row.bytes_per_task()),
            (
                &rejected_of,
                table::or_na(rejected(row.many).map(table::thousands)),
            ),
        ])
    });
    let policies: Vec<Value> = rows
        .iter()
        .filter_map(|row| {
            Some(context! {
                name => row.few.job.policy?.to_string(),
                ratio => ratio(row)?,
                bytes_per_task => row.bytes_per_task(),
                rejected => rejected(row.many).filter(|&count| count > 0).map(table::thousands),
            })
        })
        .collect();
    let label = first.few.job.runner.label();
    Some(context! { few, many, table, label, policies })
}

/// What each run did at the tiny size, by its short label (`03 caller-runs`, `threadpool`).
fn at_tiny(runs: &[Run]) -> BTreeMap<String, Value> {
    let tiny = runs.iter().filter(|run| run.job.task == task(TINY));
    tiny.map(|run| {
        let facts = context! {
            label => run.job.runner.label(),
            share => fraction(runs, run).map(table::fraction),
            cpu => cpu_per_task_ns(runs, run).map(table::time_ns),
            costs => costs(runs, run),
        };
        (short_label(&run.job), facts)
    })
    .collect()
}

/// Where a run's CPU time went: the submitter, the workers, and context switches.
fn costs(runs: &[Run], run: &Run) -> Option<Value> {
    let (voluntary, involuntary) = run.switches()?;
    let per_thousand = |count: u64| table::tenths(count as f64 * 1e3 / run.job.tasks as f64);
    let share = |count: u64| format!("{:.0}%", count as f64 * 100.0 / run.job.tasks as f64);
    Some(context! {
        cpu => table::time_ns(cpu_per_task_ns(runs, run)?),
        submitter => table::percent(submitter_busy(runs, run)?),
        own_tasks => Some(ran_in_caller(run)?).filter(|&count| count > 0).map(share),
        workers => table::fraction(workers_cores(run)?),
        voluntary => per_thousand(voluntary),
        involuntary => per_thousand(involuntary),
    })
}

/// What the rejecting policies gave up, size by size.
fn rejections(runs: &[Run]) -> Vec<Value> {
    let size = |run: &Run| {
        Some(context! {
            rejected => table::thousands(rejected(run)?),
            tasks => count(run.job.tasks),
            spec => run.job.task.to_string(),
        })
    };
    let policy = |label: String| {
        let sizes: Vec<Value> = runs
            .iter()
            .filter(|run| row_label(run) == label)
            .filter_map(size)
            .collect();
        (!sizes.is_empty()).then(|| context! { label, sizes })
    };
    let rejecting =
        |run: &&Run| matches!(run.job.policy, Some(Policy::Reject | Policy::Timeout(_)));
    let labels = distinct(runs.iter().filter(rejecting).map(row_label));
    labels.into_iter().filter_map(policy).collect()
}

/// A panel of shares of the ideal per policy (with the peers and the loop), then CPU and memory.
fn chart(runs: &[Run], memory: &[MemoryRow<'_>]) -> Option<Chart> {
    let y_axis = "ideal / elapsed, tasks that ran";
    let panel = |policy: Policy| {
        let label = |run: &Run| {
            let runner = run.job.runner;
            let shown = run.job.policy.is_none_or(|own| own == policy);
            shown.then(|| (runner.label(), runner.key()))
        };
        let series = granularity::by_duration(runs, label, |run| fraction(runs, run));
        let title = format!("--policy {policy}");
        (!series.is_empty()).then(|| lines(title, DURATION_AXIS, y_axis, series))
    };
    let mut panels: Vec<Panel> = POLICIES.into_iter().filter_map(panel).collect();
    if panels.is_empty() {
        return None;
    }
    let is_tiny = |run: &&Run| run.job.task == task(TINY);
    let label = |run: &Run| short_label(&run.job);
    let cpu_per_task = |run: &Run| Some(cpu_per_task_ns(runs, run)? / 1e3);
    let cpu_bars = bars(runs.iter().filter(is_tiny), label, cpu_per_task);
    if !cpu_bars.is_empty() {
        let title = format!("CPU time per task that ran, `{TINY}`");
        panels.push(bar_panel(title, "µs of CPU per task", cpu_bars));
    }
    if let Some(row) = memory.first() {
        let [many, few] = [row.many, row.few].map(|run| count(run.job.tasks));
        let ratio = |row: &MemoryRow<'_>| {
            let (value, run) = (row.ratio()?, row.few);
            let key = run.job.runner.key().to_string();
            Some(Bar {
                value,
                label: label(run),
                key,
            })
        };
        let ratios = memory.iter().filter_map(ratio).collect();
        let title = format!("Peak RSS, {many} tasks over {few}");
        panels.push(bar_panel(title, "ratio (log scale)", ratios));
    }
    let cores = cores();
    let title = format!("policies: CPU tasks on {cores} workers = cores, queue {QUEUE}");
    Some(grid(title, 2, panels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{QUICK, assert_text};
    use crate::stages::stage;

    #[test]
    fn policies_print_as_the_stages_parse_them() {
        let printed: Vec<String> = POLICIES.iter().map(Policy::to_string).collect();
        assert_eq!(printed, ["block", "reject", "caller-runs", "timeout:1ms"]);
    }

    #[test]
    fn findings_set_the_policies_beside_each_other_not_against_a_target() {
        let job = |runner, tasks| Job::new(runner, tasks, task(TINY), 2, QUEUE);
        let stage_03 = |policy, tasks| job(Runner::Stage(stage("03")), tasks).with_policy(policy);
        let finished = crate::scenario::finished;
        let runs = vec![
            finished(job(Runner::Peer(Peer::Sequential), 10_000), 100.0, 0),
            finished(stage_03(Policy::Block, 10_000), 120.0, 0),
            finished(stage_03(Policy::CallerRuns, 10_000), 60.0, 0),
            finished(job(Runner::Peer(Peer::Threadpool), 10_000), 70.0, 0),
            finished(job(Runner::Peer(Peer::RayonScope), 10_000), 80.0, 0),
        ];
        // The memory check: stage 03 under two policies, peaking at `rss_kib`.
        let memory_run = |policy, tasks, rss_hwm_kib, rejected| {
            let mut run = finished(stage_03(policy, tasks), 10.0, rejected);
            let peaks = crate::probe::Peaks {
                rss_hwm_kib,
                ..Default::default()
            };
            run.result.as_mut().expect("finished").peaks = Some(peaks);
            run
        };
        let memory = vec![
            memory_run(Policy::Block, 1_000, 2_000, 0),
            memory_run(Policy::Block, 1_000_000, 2_100, 0),
            memory_run(Policy::Reject, 1_000, 2_000, 0),
            memory_run(Policy::Reject, 1_000_000, 8_000, 900_000),
        ];
        let text = report(runs, memory, 1).body;
        let share = |ms: f64| format!("{:.2}", 100.0 / cores() as f64 / ms);
        let [caller, block, pool, scope, alone] = [60.0, 120.0, 70.0, 80.0, 100.0].map(share);
        let caller_runs = format!(
            "\n- At `cpu:1us`, 03 crossbeam-bounded reached {caller} of ideal under `caller-runs` \
             and {block} under `block`; the peers that hand tasks over one at a time reached \
             threadpool (peer) {pool} and rayon-scope (peer) {scope}; the sequential loop {alone}."
        );
        let growth = "\n- Peak RSS of 03 crossbeam-bounded with 1,000,000 tasks against 1,000: \
                      1.05x under `block`, 4.00x under `reject` (6.2 bytes per extra task, with \
                      900,000 tasks rejected).";
        let absent = ["target", "missed", "within", "yes", "met"];
        assert_text(&text, &[caller_runs.as_str(), growth], &absent);
    }

    #[test]
    fn stage_03_runs_under_every_policy_at_every_size() {
        let jobs = plan(QUICK);
        for (spec, tasks) in sizes(Size::Quick) {
            for policy in POLICIES {
                let at = |job: &&Job| {
                    (job.task, job.tasks, job.policy) == (task(spec), tasks, Some(policy))
                };
                assert_eq!(jobs.iter().filter(at).count(), 1, "{spec} under {policy}");
            }
        }
        assert_eq!(memory_plan(QUICK).len(), POLICIES.len() * 2);
    }
}
