//! What a scenario is made of: jobs (one child process each), the runs they produce, and the
//! report a scenario writes from its runs.

pub mod costs;
pub mod granularity;
pub mod io_at_scale;
pub mod overhead;
pub mod policies;
pub mod same_job;
pub mod scaling;
pub mod sizing;
pub mod timelines;

use std::process::Command;
use std::time::Duration;

use clap::ValueEnum;
use harness::table::{self, Table};
use harness::{Policy, TaskSpec};
use indicatif::{ProgressBar, ProgressStyle};
use minijinja::Value;

use crate::chart::{Bar, BarPanel, Chart, LinePanel, Panel, Series};
use crate::peer::Peer;
use crate::probe::{self, Measurement};
use crate::prose;
use crate::stages::{Flags, Readiness, Stage};

/// The scenarios, in the order a full run does them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// 1,000 sleeping tasks through every stage and peer: threads, memory, context switches.
    SameJob,
    /// A small job traced task by task, drawn as timelines for the Same job and Policies sections.
    Timelines,
    /// 1k to 1M tasks: does memory grow with the number of tasks?
    Scaling,
    /// CPU tasks from 0 to 1 ms on as many workers as cores, and stage 02 against 03 by workers.
    Granularity,
    /// 50,000 tasks waiting 100 ms: pools of 4, 64 and 512 workers against tokio.
    IoAtScale,
    /// Stage 06's own sweeps over pool sizes, for CPU and for IO work.
    Sizing,
    /// CPU tasks through stage 03 under each policy for a full queue, and memory under each.
    Policies,
    /// Empty tasks on as many workers as cores: what one trip through each pool costs.
    Overhead,
    /// Empty tasks through an in-process ladder of runs: what each feature costs per task.
    Costs,
}

impl Scenario {
    /// The name on the command line, in the docs' markers and in the chart's file name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::SameJob => "same-job",
            Scenario::Timelines => "timelines",
            Scenario::Scaling => "scaling",
            Scenario::Granularity => "granularity",
            Scenario::IoAtScale => "io-at-scale",
            Scenario::Sizing => "sizing",
            Scenario::Policies => "policies",
            Scenario::Overhead => "overhead",
            Scenario::Costs => "costs",
        }
    }

    /// Every scenario.
    pub fn all() -> &'static [Scenario] {
        Scenario::value_variants()
    }
}

/// How big the scenarios are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The sizes the docs are made from: minutes.
    Full,
    /// The same scenarios in seconds, with at most a few hundred threads in any child.
    Quick,
}

impl Size {
    /// `full` at full size, `quick` at quick size.
    pub fn pick<T>(self, full: T, quick: T) -> T {
        match self {
            Size::Full => full,
            Size::Quick => quick,
        }
    }
}

/// What the command line chose, beyond which scenarios to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Full or quick.
    pub size: Size,
    /// Whether stage 01 may start 50,000 threads.
    pub include_50k: bool,
}

/// Queue capacity of the bounded stages, where a scenario does not choose its own.
pub const QUEUE: usize = 16;

/// What runs the tasks of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// A stage binary.
    Stage(&'static Stage),
    /// A peer, run as `measure peer NAME`.
    Peer(Peer),
}

impl Runner {
    /// A short name for tables and charts: `03 crossbeam-bounded` or `threadpool (peer)`.
    pub fn label(self) -> String {
        match self {
            // A stage's binary is its number and its name: `03-crossbeam-bounded`.
            Runner::Stage(stage) => stage.bin.replacen('-', " ", 1),
            Runner::Peer(peer) => format!("{} (peer)", peer.name()),
        }
    }

    /// The key charts use to give each runner the same colour everywhere.
    pub fn key(self) -> &'static str {
        match self {
            Runner::Stage(stage) => stage.number,
            Runner::Peer(peer) => peer.name(),
        }
    }

    /// Whether this runner takes `--policy`: only stage 03 chooses what a full queue means.
    pub fn takes_policy(self) -> bool {
        matches!(self, Runner::Stage(stage) if stage.flags == Flags::WorkersQueueAndPolicy)
    }

    /// Whether this runner keeps a fixed set of worker threads.
    pub fn is_pool(self) -> bool {
        match self {
            Runner::Stage(stage) => stage.flags != Flags::Unbounded,
            Runner::Peer(peer) => peer != Peer::Sequential,
        }
    }
}

/// One run to make: who runs how many of which task, with how many workers.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// Stage or peer.
    pub runner: Runner,
    /// Number of tasks.
    pub tasks: usize,
    /// What each task does.
    pub task: TaskSpec,
    /// Worker threads, for runners that have them.
    pub workers: Option<usize>,
    /// Queue capacity, for runners that have a bounded queue.
    pub queue: Option<usize>,
    /// What the submitter does when the queue is full; `None` leaves the runner's default.
    pub policy: Option<Policy>,
}

impl Job {
    /// A job for `runner`, keeping only the settings it accepts.
    pub fn new(runner: Runner, tasks: usize, task: TaskSpec, workers: usize, queue: usize) -> Self {
        let (workers, queue) = match runner {
            Runner::Stage(stage) => match stage.flags {
                Flags::Unbounded | Flags::Sizing => (None, None),
                Flags::Workers => (Some(workers), None),
                Flags::WorkersAndQueue | Flags::WorkersQueueAndPolicy => {
                    (Some(workers), Some(queue))
                }
            },
            Runner::Peer(Peer::Sequential) => (None, None),
            Runner::Peer(_) => (Some(workers), None),
        };
        Job {
            runner,
            tasks,
            task,
            workers,
            queue,
            policy: None,
        }
    }

    /// The same job under `policy`, for runners that take `--policy`; others are unchanged.
    pub fn with_policy(self, policy: Policy) -> Self {
        let policy = self.runner.takes_policy().then_some(policy);
        Job { policy, ..self }
    }

    /// The command-line arguments, after the program (and after `peer NAME` for a peer).
    pub fn args(&self) -> Vec<String> {
        let flags = [
            ("--tasks", Some(self.tasks.to_string())),
            ("--task", Some(self.task.to_string())),
            ("--workers", self.workers.map(|workers| workers.to_string())),
            ("--queue", self.queue.map(|queue| queue.to_string())),
            ("--policy", self.policy.map(|policy| policy.to_string())),
        ];
        let mut args: Vec<String> = flags
            .into_iter()
            .filter_map(|(flag, value)| Some([flag.to_string(), value?]))
            .flatten()
            .collect();
        let unbounded =
            matches!(self.runner, Runner::Stage(stage) if stage.flags == Flags::Unbounded);
        // Stage 01 starts a thread per task, and refuses more than the harness's limit without it.
        if unbounded && self.tasks > harness::THREAD_LIMIT {
            args.push("--no-limit".to_string());
        }
        args.push("--quiet".to_string());
        args
    }

    /// The command as a reader would type it.
    pub fn command_line(&self) -> String {
        let program = match self.runner {
            Runner::Stage(stage) => stage.bin.to_string(),
            Runner::Peer(peer) => format!("measure peer {}", peer.name()),
        };
        format!("{program} {}", self.args().join(" "))
    }

    fn command(&self, ready: &Readiness) -> Result<Command, String> {
        let mut command = match self.runner {
            Runner::Stage(stage) => {
                let not_built = |reason| format!("{} {reason}", stage.bin);
                Command::new(ready.binary(stage).map_err(not_built)?)
            }
            Runner::Peer(peer) => {
                let me = std::env::current_exe()
                    .map_err(|error| format!("cannot find the measure binary: {error}"))?;
                let mut command = Command::new(me);
                command.args(["peer", peer.name()]);
                command
            }
        };
        command.args(self.args());
        Ok(command)
    }
}

/// A job and what became of it.
#[derive(Debug, Clone)]
pub struct Run {
    /// What was asked for.
    pub job: Job,
    /// The measurement, or why the job could not run (its stage is not built yet).
    pub result: Result<Measurement, String>,
}

impl Run {
    /// The measurement, if the child printed its summary line (even if it then failed).
    pub fn ok(&self) -> Option<&Measurement> {
        let measurement = self.result.as_ref().ok()?;
        measurement.summary.is_some().then_some(measurement)
    }

    /// Why this run has no numbers, if it has none.
    pub fn problem(&self) -> Option<String> {
        match &self.result {
            Err(reason) => Some(format!("not built yet: {reason}")),
            Ok(measurement) => Some(format!("failed: {}", measurement.failure()?)),
        }
    }

    /// Peak resident memory in KiB: on Linux `VmHWM`, since `ru_maxrss` inherits `measure`'s own.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let measurement = self.ok()?;
        match measurement.peaks {
            Some(peaks) => Some(peaks.rss_peak_kib()),
            None => measurement.usage.map(|usage| usage.max_rss_kib),
        }
    }

    /// Peak virtual memory in KiB (`VmPeak`, Linux only).
    pub fn peak_vm_kib(&self) -> Option<u64> {
        let peaks = self.ok()?.peaks?;
        Some(peaks.vm_peak_kib.max(peaks.vm_kib))
    }

    /// Most threads seen at once (Linux only).
    pub fn peak_threads(&self) -> Option<u64> {
        Some(self.ok()?.peaks?.threads)
    }

    /// Peak threads, resident memory and virtual memory as the tables show them.
    pub fn peak_cells(&self) -> [String; 3] {
        [
            table::or_na(self.peak_threads().map(table::thousands)),
            table::or_na(self.peak_rss_kib().map(table::memory)),
            table::or_na(self.peak_vm_kib().map(table::memory)),
        ]
    }

    /// Voluntary and involuntary context switches (Unix only).
    pub fn switches(&self) -> Option<(u64, u64)> {
        let usage = self.ok()?.usage?;
        Some((usage.voluntary_switches, usage.involuntary_switches))
    }

    /// Context switches of both kinds per 1,000 tasks (Unix only).
    pub fn switches_per_thousand_tasks(&self) -> Option<f64> {
        let (voluntary, involuntary) = self.switches()?;
        Some((voluntary + involuntary) as f64 * 1e3 / self.job.tasks as f64)
    }

    /// The share of the machine's CPU that other processes used during this run (Linux only).
    pub fn disturbance(&self) -> Option<f64> {
        self.ok()?.disturbance()
    }

    /// Whether other programs left this run alone (or we cannot tell).
    pub fn undisturbed(&self) -> bool {
        self.disturbance().is_none_or(|share| share <= DISTURBED)
    }

    /// User plus system CPU time (Unix only).
    pub fn cpu(&self) -> Option<Duration> {
        Some(self.ok()?.usage?.cpu)
    }

    /// CPU time of the main thread, which submits the tasks (Linux only).
    pub fn main_thread_cpu(&self) -> Option<Duration> {
        self.ok()?.main_thread_cpu
    }

    /// The pool's own elapsed time, from its summary line, in milliseconds.
    pub fn elapsed_ms(&self) -> Option<f64> {
        Some(self.ok()?.summary.as_ref()?.elapsed_ms)
    }
}

/// The share of the machine that other programs may use before a run counts as disturbed.
pub const DISTURBED: f64 = 0.1;

/// Runs every job as a child process, `rounds` times over, keeping each job's best run (see
/// [`is_better`]); a job whose best run is still disturbed gets up to `rounds` more tries.
pub fn run_all(
    title: &str,
    jobs: Vec<Job>,
    ready: &Readiness,
    limit: Duration,
    rounds: usize,
) -> Vec<Run> {
    let bar = ProgressBar::new((jobs.len() * rounds) as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed:>4} {wide_msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_prefix(title.to_string());
    let mut best: Vec<Option<Run>> = vec![None; jobs.len()];
    for _ in 0..rounds {
        for (job, kept) in jobs.iter().zip(best.iter_mut()) {
            bar.set_message(job.command_line());
            keep(kept, run_one(*job, ready, limit));
            bar.inc(1);
        }
    }
    let disturbed = |kept: &Option<Run>| kept.as_ref().is_some_and(|run| !run.undisturbed());
    for (job, kept) in jobs.iter().zip(best.iter_mut()).filter(|_| rounds > 1) {
        for _ in 0..rounds {
            if !disturbed(kept) {
                break;
            }
            bar.set_message(format!("again, undisturbed: {}", job.command_line()));
            keep(kept, run_one(*job, ready, limit));
        }
    }
    bar.finish_and_clear();
    best.into_iter().flatten().collect()
}

fn run_one(job: Job, ready: &Readiness, limit: Duration) -> Run {
    measured(job, job.command(ready), limit)
}

/// `job` run by `command` (or the reason it has none), measured, with at most `limit` to finish.
fn measured(job: Job, command: Result<Command, String>, limit: Duration) -> Run {
    let result = command.and_then(|command| {
        probe::measure(command, limit)
            .map_err(|error| format!("{} cannot be started: {error}", job.runner.label()))
    });
    Run { job, result }
}

/// Keeps the better of the run kept so far and a new one.
fn keep(kept: &mut Option<Run>, run: Run) {
    if kept.as_ref().is_none_or(|earlier| is_better(&run, earlier)) {
        *kept = Some(run);
    }
}

/// Whether `run` should replace `earlier`: never if it failed, then undisturbed, then faster.
fn is_better(run: &Run, earlier: &Run) -> bool {
    match (run.elapsed_ms(), earlier.elapsed_ms()) {
        (Some(now), Some(before)) => {
            run.problem().is_none()
                && match (run.undisturbed(), earlier.undisturbed()) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => now < before,
                }
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// What a scenario hands back for printing and for the docs.
#[derive(Debug)]
pub struct Report {
    /// The scenario, which names the docs block and the chart.
    pub scenario: Scenario,
    /// Markdown: tables, the lines about skipped runs, and generated findings.
    pub body: String,
    /// The chart, if there was anything to draw.
    pub chart: Option<Chart>,
    /// The raw runs, for `--out`.
    pub runs: Vec<Run>,
}

impl Report {
    /// A report whose body is the scenario's template, `templates/NAME.md`, filled with `figures`.
    pub fn render(
        scenario: Scenario,
        figures: Value,
        chart: Option<Chart>,
        runs: Vec<Run>,
    ) -> Self {
        Report {
            scenario,
            body: prose::render(&format!("{}.md", scenario.name()), figures),
            chart,
            runs,
        }
    }
}

/// A table as a template takes it: its Markdown, or nothing if it has no rows.
pub fn markdown(table: &Table) -> String {
    if table.is_empty() {
        String::new()
    } else {
        table.markdown().trim_end().to_string()
    }
}

/// A table of a row per item that `row` has cells for, each beside its column's title.
pub fn table_of<'a, T>(items: &[T], row: impl Fn(&T) -> Option<Vec<(&'a str, String)>>) -> String {
    let rows: Vec<_> = items.iter().filter_map(row).collect();
    let Some(first) = rows.first() else {
        return String::new();
    };
    let titles: Vec<&str> = first.iter().map(|(title, _)| *title).collect();
    let mut table = Table::titled(&titles, 1);
    for cells in rows {
        table.push_row(cells.into_iter().map(|(_, cell)| cell).collect());
    }
    markdown(&table)
}

/// A bar per run that has a `value`, labelled by `label` and coloured by its runner.
pub fn bars<'a>(
    runs: impl IntoIterator<Item = &'a Run>,
    label: impl Fn(&Run) -> String,
    value: impl Fn(&Run) -> Option<f64>,
) -> Vec<Bar> {
    runs.into_iter()
        .filter_map(|run| {
            Some(Bar {
                value: value(run)?,
                label: label(run),
                key: run.job.runner.key().to_string(),
            })
        })
        .collect()
}

/// A panel of `bars`; its axis is logarithmic exactly when its title says "(log scale)".
pub fn bar_panel(title: impl Into<String>, axis: &str, bars: Vec<Bar>) -> Panel {
    let log = axis.ends_with("(log scale)");
    Panel::Bars(BarPanel {
        title: title.into(),
        axis: axis.to_string(),
        log,
        bars,
    })
}

/// Lines for runs that produced no numbers: one per stage not built yet, one per failed run.
pub fn problems(runs: &[Run]) -> String {
    // A stage that is not built yet is told once, for all of its runs.
    let lines = distinct(runs.iter().filter_map(|run| {
        let line = match &run.result {
            Err(reason) => {
                let same = |other: &&Run| other.result.as_ref().err() == Some(reason);
                let skipped = runs.iter().filter(same).count();
                format!("- not built yet: {reason}; {skipped} runs skipped")
            }
            Ok(_) => format!("- `{}`: {}", run.job.command_line(), run.problem()?),
        };
        Some(line)
    }));
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n{}\n", lines.join("\n"))
    }
}

/// A count of tasks as the tables print it: `1,000`.
pub fn count(tasks: usize) -> String {
    table::thousands(tasks as u64)
}

/// Every distinct item, in order of first appearance.
pub fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// A chart titled `title`: a grid of `panels`, `columns` to a row.
pub fn grid(title: impl Into<String>, columns: usize, panels: Vec<Panel>) -> Chart {
    let title = title.into();
    Chart {
        title,
        panels,
        columns,
    }
}

/// A line named `name` through `points`, coloured by `key`.
pub fn curve(name: impl Into<String>, key: &str, points: Vec<(f64, f64)>) -> Series {
    let (name, key) = (name.into(), key.to_string());
    Series { name, key, points }
}

/// A panel of lines; an axis is logarithmic exactly when its title says "(log scale)".
pub fn lines(title: impl Into<String>, x_axis: &str, y_axis: &str, series: Vec<Series>) -> Panel {
    let log = |axis: &str| axis.ends_with("(log scale)");
    Panel::Lines(LinePanel {
        title: title.into(),
        x_axis: x_axis.to_string(),
        y_axis: y_axis.to_string(),
        x_log: log(x_axis),
        y_log: log(y_axis),
        series,
    })
}

/// One line per label of `runs` (and its colour key), through the `point` of each of its runs.
pub fn series(
    runs: &[Run],
    label: impl Fn(&Run) -> Option<(String, &'static str)>,
    point: impl Fn(&Run) -> Option<(f64, f64)>,
) -> Vec<Series> {
    distinct(runs.iter().filter_map(&label))
        .into_iter()
        .filter_map(|(name, key)| {
            let mine = runs
                .iter()
                .filter(|run| label(run).is_some_and(|(own, _)| own == name));
            let points: Vec<(f64, f64)> = mine.filter_map(&point).collect();
            (!points.is_empty()).then(|| curve(name, key, points))
        })
        .collect()
}

/// Parses a task written in the code, such as `sleep:20ms`; panics on a bad one.
pub fn task(text: &str) -> TaskSpec {
    text.parse()
        .unwrap_or_else(|error| panic!("bad task {text}: {error}"))
}

/// A run that finished every task in `elapsed_ms`, rejecting `rejected`: no usage, no peaks.
#[cfg(test)]
pub fn finished(job: Job, elapsed_ms: f64, rejected: u64) -> Run {
    let summary = harness::Summary {
        stage: "test".to_string(),
        tasks: job.tasks,
        completed: job.tasks - rejected as usize,
        panicked: 0,
        workers: job.workers,
        queue: job.queue,
        task: job.task,
        elapsed_ms,
        ideal_ms: 1.0,
        tasks_per_s: 0.0,
        max_in_flight: 1,
        extra: Vec::new(),
    }
    .with("rejected", rejected)
    .with("ran_in_caller", 0);
    let measurement = Measurement {
        status: Some(std::process::ExitStatus::default()),
        wall: Duration::from_secs_f64(elapsed_ms / 1e3),
        stdout: summary.to_string(),
        summary: Some(summary),
        stderr: String::new(),
        peaks: None,
        usage: None,
        outside_cpu: None,
        main_thread_cpu: None,
    };
    let result = Ok(measurement);
    Run { job, result }
}

/// The options of a quick run, as the tests of the plans need them.
#[cfg(test)]
pub const QUICK: Options = Options {
    size: Size::Quick,
    include_50k: false,
};

/// Asserts that `body` has every text of `expected`, and none of the words of `absent`.
#[cfg(test)]
pub fn assert_text(body: &str, expected: &[&str], absent: &[&str]) {
    for text in expected {
        assert!(body.contains(text), "no {text:?} in:\n{body}");
    }
    for word in absent {
        assert!(!body.to_lowercase().contains(word), "{word:?} in:\n{body}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::stage;

    #[test]
    fn each_runner_gets_only_the_flags_it_accepts_and_only_stage_03_a_policy() {
        let (stage, peer) = (|number| Runner::Stage(stage(number)), Runner::Peer);
        let (pool, queued) = (" --workers 4", " --workers 4 --queue 16");
        for (runner, tasks, program, flags) in [
            (stage("01"), 10_000, "01-unbounded-spawn", ""),
            (stage("01"), 50_000, "01-unbounded-spawn", " --no-limit"),
            (stage("02"), 10, "02-mutex-receiver-pool", pool),
            (stage("03"), 10, "03-crossbeam-bounded", queued),
            (stage("04"), 10, "04-results", queued),
            (peer(Peer::Sequential), 10, "measure peer sequential", ""),
            (peer(Peer::Tokio), 10, "measure peer tokio", pool),
            (peer(Peer::Threadpool), 10, "measure peer threadpool", pool),
        ] {
            let job = Job::new(runner, tasks, task("sleep:20ms"), 4, 16);
            let command = format!("{program} --tasks {tasks} --task sleep:20ms{flags}");
            assert_eq!(job.command_line(), format!("{command} --quiet"));
            let policy = (runner == stage("03")).then_some(" --policy caller-runs");
            let job = job.with_policy(Policy::CallerRuns);
            let policy = policy.unwrap_or_default();
            assert_eq!(job.command_line(), format!("{command}{policy} --quiet"));
        }
    }
}
