//! What each feature of the stages costs per task, measured in-process: a ladder of runs, each
//! adding one feature to the run it builds on, from a bare channel of task ids up to stage 03's
//! demo and stage 05's pool. Every task is empty, so what is timed is the feature.
//!
//! ```text
//! cargo run --release -p measure --example costs               # the table, to read
//! cargo run --release -p measure --example costs -- --rounds 5 # a shorter run
//! cargo run --release -p measure --example costs -- --tsv      # a line per step, for `measure`
//! ```
//!
//! `cargo run --release -p measure` runs it (the `costs` scenario) and writes its table into
//! `docs/README.md`. An example rather than part of `measure` itself, because it links the
//! stages' libraries: `measure` only runs their binaries, and still measures the other stages
//! when one of them does not build.
//!
//! Times on a small shared machine move a lot from one moment to the next, and so does what a
//! cache line costs to move between cores. So every round runs every step once, in the table's
//! order (every other round backwards), and each step is compared with the step it builds on
//! *in the same round*, a few milliseconds apart: the medians of those differences and ratios
//! are what the table reports.

// Only the runs of the ladder are used here; `benches/pools.rs` uses the others.
#[allow(dead_code)]
#[path = "../benches/runs/mod.rs"]
mod runs;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use harness::Workload;

/// Times a ladder of pools on empty tasks: what each feature of the stages costs per task.
#[derive(Debug, Parser)]
struct Args {
    /// Tasks per run.
    #[arg(long, default_value = "100000", value_parser = harness::parse_positive)]
    tasks: usize,

    /// Rounds: each runs every step once; the medians are over the rounds.
    #[arg(long, default_value = "41", value_parser = harness::parse_positive)]
    rounds: usize,

    /// Print one tab-separated line per step, with a header, instead of the table.
    #[arg(long)]
    tsv: bool,
}

/// One rung of the ladder: a run that adds one feature to the run of [`Step::base`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A bounded crossbeam channel of task ids; workers call one known function per id.
    Ids,
    /// Each task a boxed closure: stage 03's pool.
    Boxed,
    /// A result channel per task: stage 04's pool.
    ResultChannel,
    /// `catch_unwind` around each task, on stage 04's pool.
    CatchUnwind,
    /// The pool's counters: stage 05's pool.
    Counters,
    /// `try_submit` first, `submit` when the queue is full: the path of stage 03's policies.
    TrySubmit,
    /// The demo's `Tracker` around each task, the workload reached through a `&'static`.
    Tracker,
    /// Each task handed over as stage 03's demo hands it over, `Workload::hand_over`.
    Demo,
    /// The demo with its recording on, as `--timeline` and `--trace` turn it on.
    Recording,
    /// The tracker's run with the workload in an `Arc` cloned per task, instead of borrowed:
    /// why the demos borrow it (`Workload::leak`).
    ArcPerTask,
}

impl Step {
    /// Every step, in the order of the table: stage 03's branch of the ladder up to its demo,
    /// then stage 04's and 05's. Each step runs next to the one it builds on (but for the
    /// result channel, built on stage 03's pool), so that they are compared a few milliseconds
    /// apart.
    const ALL: [Step; 10] = [
        Step::Ids,
        Step::Boxed,
        Step::TrySubmit,
        Step::Tracker,
        Step::Demo,
        Step::Recording,
        Step::ArcPerTask,
        Step::ResultChannel,
        Step::CatchUnwind,
        Step::Counters,
    ];

    /// The name `measure` knows the step by.
    fn key(self) -> &'static str {
        match self {
            Step::Ids => "ids",
            Step::Boxed => "boxed",
            Step::ResultChannel => "result-channel",
            Step::CatchUnwind => "catch-unwind",
            Step::Counters => "counters",
            Step::TrySubmit => "try-submit",
            Step::Tracker => "tracker",
            Step::Demo => "demo",
            Step::Recording => "recording",
            Step::ArcPerTask => "arc-per-task",
        }
    }

    /// The step this one adds its feature to.
    fn base(self) -> Option<Step> {
        match self {
            Step::Ids => None,
            Step::Boxed => Some(Step::Ids),
            Step::ResultChannel => Some(Step::Boxed),
            Step::CatchUnwind => Some(Step::ResultChannel),
            Step::Counters => Some(Step::CatchUnwind),
            Step::TrySubmit => Some(Step::Boxed),
            Step::Tracker => Some(Step::TrySubmit),
            Step::Demo => Some(Step::Tracker),
            Step::Recording => Some(Step::Demo),
            Step::ArcPerTask => Some(Step::Tracker),
        }
    }

    /// Runs the step once; returns what one task cost, in nanoseconds.
    fn run(self, ladder: &Ladder) -> f64 {
        let (workers, tasks) = (ladder.workers, ladder.tasks);
        let elapsed: Duration = match self {
            Step::Ids => runs::bare_ids(workers, tasks, empty),
            Step::Boxed => runs::stage03(workers, tasks, empty),
            Step::ResultChannel => runs::stage04_join_batch(workers, tasks, empty),
            Step::CatchUnwind => runs::stage04_catch_unwind(workers, tasks, empty),
            Step::Counters => runs::stage05_join_batch(workers, tasks, empty),
            Step::TrySubmit => runs::stage03_try_first(workers, tasks, empty),
            Step::Tracker => runs::stage03_tracked(workers, tasks, ladder.borrowed),
            Step::Demo => runs::stage03_demo(workers, tasks, ladder.borrowed),
            Step::Recording => runs::stage03_demo(workers, tasks, ladder.recording),
            Step::ArcPerTask => runs::stage03_arc_per_task(workers, tasks, &ladder.shared),
        };
        elapsed.as_nanos() as f64 / tasks as f64
    }
}

/// The empty task: it only keeps its id from being optimised away. Each closure that calls it
/// captures the id, so a boxed task is not zero-sized: a box of a closure that captures nothing
/// allocates nothing, and real tasks capture their input.
fn empty(id: usize) {
    black_box(id);
}

/// What every step shares: the pool's size, the tasks per run, and the demo's workload, once
/// borrowed for the whole process, as the demo holds it, and once behind an `Arc`.
struct Ladder {
    workers: usize,
    tasks: usize,
    borrowed: &'static Workload,
    /// The same workload, recording every task: its events pile up over the rounds.
    recording: &'static Workload,
    shared: Arc<Workload>,
}

/// What the rounds measured for one step.
struct Measured {
    step: Step,
    /// Nanoseconds per task, one value per round.
    per_task: Vec<f64>,
}

fn main() {
    let args = Args::parse();
    // As the measurements run the demo: empty tasks are `cpu:0ns`, and nothing is printed.
    let workload = || runs::quiet_workload(args.tasks, "cpu:0ns");
    let ladder = Ladder {
        workers: harness::cores(),
        tasks: args.tasks,
        borrowed: workload().leak(),
        recording: runs::recording_workload(args.tasks, "cpu:0ns").leak(),
        shared: Arc::new(workload()),
    };
    let mut measured: Vec<Measured> = Step::ALL
        .iter()
        .map(|&step| Measured {
            step,
            per_task: Vec::with_capacity(args.rounds),
        })
        .collect();
    for round in 0..args.rounds {
        // Every other round runs the ladder backwards, so that no step always runs right after
        // the same neighbour, or always early in the round.
        let order: Vec<&mut Measured> = if round % 2 == 0 {
            measured.iter_mut().collect()
        } else {
            measured.iter_mut().rev().collect()
        };
        for entry in order {
            entry.per_task.push(entry.step.run(&ladder));
        }
    }
    let rows = rows(&measured);
    if args.tsv {
        print_tsv(&rows, &ladder, args.rounds);
    } else {
        print_table(&rows, &ladder, args.rounds);
    }
}

/// One line of the results.
struct Row {
    step: Step,
    /// The median over the rounds, in nanoseconds per task.
    median: f64,
    /// The middle half of the rounds: the 25th and the 75th percentile.
    quartiles: (f64, f64),
    /// Against the step it builds on, round by round: the median of the differences (ns) and
    /// of the ratios.
    added: Option<(f64, f64)>,
    /// Against stage 03's pool alone ([`Step::Boxed`]), round by round: the median ratio.
    to_pool: f64,
}

fn rows(measured: &[Measured]) -> Vec<Row> {
    let of = |step: Step| {
        measured
            .iter()
            .find(|entry| entry.step == step)
            .map(|entry| entry.per_task.as_slice())
            .expect("every step is measured")
    };
    measured
        .iter()
        .map(|entry| {
            // Each round's time for this step beside the same round's time for `other`.
            let paired = |other: Step| entry.per_task.iter().zip(of(other));
            let median_of = |values: Vec<f64>| percentile(&values, 0.5);
            let added = entry.step.base().map(|base| {
                let differences = paired(base).map(|(now, before)| now - before).collect();
                let ratios = paired(base).map(|(now, before)| now / before).collect();
                (median_of(differences), median_of(ratios))
            });
            let to_pool = paired(Step::Boxed).map(|(now, pool)| now / pool).collect();
            Row {
                step: entry.step,
                median: percentile(&entry.per_task, 0.5),
                quartiles: (
                    percentile(&entry.per_task, 0.25),
                    percentile(&entry.per_task, 0.75),
                ),
                added,
                to_pool: median_of(to_pool),
            }
        })
        .collect()
}

/// The value below which a share `at` of `values` lies (nearest rank).
fn percentile(values: &[f64], at: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() - 1) as f64 * at).round() as usize;
    sorted[rank]
}

fn print_tsv(rows: &[Row], ladder: &Ladder, rounds: usize) {
    println!(
        "step\tbuilt_on\tns_per_task\tns_q1\tns_q3\tadded_ns\tadded_ratio\tto_pool_ratio\t\
         workers\ttasks\trounds"
    );
    for row in rows {
        let base = row.step.base().map_or("-", Step::key);
        let (added, ratio) = row
            .added
            .map_or(("-".to_string(), "-".to_string()), |(ns, ratio)| {
                (format!("{ns:.1}"), format!("{ratio:.3}"))
            });
        println!(
            "{}\t{base}\t{:.1}\t{:.1}\t{:.1}\t{added}\t{ratio}\t{:.3}\t{}\t{}\t{rounds}",
            row.step.key(),
            row.median,
            row.quartiles.0,
            row.quartiles.1,
            row.to_pool,
            ladder.workers,
            ladder.tasks,
        );
    }
}

fn print_table(rows: &[Row], ladder: &Ladder, rounds: usize) {
    println!(
        "{rounds} rounds of {} empty tasks on {} workers (queue {}); medians over the rounds.",
        ladder.tasks,
        ladder.workers,
        runs::QUEUE
    );
    println!(
        "{:<16} {:<16} {:>10} {:>17} {:>20} {:>9}",
        "step", "built on", "per task", "middle half", "added (same round)", "x boxed"
    );
    for row in rows {
        let added = row.added.map_or(String::new(), |(ns, ratio)| {
            format!("{ns:+.0} ns ({ratio:.2}x)")
        });
        println!(
            "{:<16} {:<16} {:>7.0} ns {:>7.0} - {:>4.0} ns {added:>20} {:>8.2}x",
            row.step.key(),
            row.step.base().map_or("-", Step::key),
            row.median,
            row.quartiles.0,
            row.quartiles.1,
            row.to_pool,
        );
    }
}
