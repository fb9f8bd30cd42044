//! What each feature of the stages costs per task, in-process: a ladder of runs on empty tasks,
//! each adding one feature to the run it builds on. Every round runs every step once, and each
//! step is compared with its base *in the same round*, since a shared machine's speed moves.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use harness::Workload;

use crate::runs;

/// One rung of the ladder: a run that adds one feature to the run of [`Step::base`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
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
    /// The tracker's run with the workload in an `Arc` cloned per task: why the demos borrow it.
    ArcPerTask,
}

impl Step {
    /// Every step, in the order of the table: stage 03's branch up to its demo, then stage 04's
    /// and 05's, so that each step runs next to the one it builds on.
    pub const ALL: [Step; 10] = [
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
    pub fn key(self) -> &'static str {
        self.key_and_base().0
    }

    /// The step this one adds its feature to.
    pub fn base(self) -> Option<Step> {
        self.key_and_base().1
    }

    fn key_and_base(self) -> (&'static str, Option<Step>) {
        match self {
            Step::Ids => ("ids", None),
            Step::Boxed => ("boxed", Some(Step::Ids)),
            Step::ResultChannel => ("result-channel", Some(Step::Boxed)),
            Step::CatchUnwind => ("catch-unwind", Some(Step::ResultChannel)),
            Step::Counters => ("counters", Some(Step::CatchUnwind)),
            Step::TrySubmit => ("try-submit", Some(Step::Boxed)),
            Step::Tracker => ("tracker", Some(Step::TrySubmit)),
            Step::Demo => ("demo", Some(Step::Tracker)),
            Step::Recording => ("recording", Some(Step::Demo)),
            Step::ArcPerTask => ("arc-per-task", Some(Step::Tracker)),
        }
    }

    /// Runs the step once; returns what one task cost, in nanoseconds.
    fn run(self, ladder: &Setup) -> f64 {
        let (workers, tasks) = (ladder.workers, ladder.tasks);
        let elapsed: Duration = match self {
            Step::Ids => runs::bare_channel(workers, tasks, |id| id, empty),
            Step::Boxed => runs::stage03(workers, tasks, empty),
            Step::ResultChannel => runs::stage04(workers, tasks, runs::QUEUE, empty),
            Step::CatchUnwind => runs::stage04_catch_unwind(workers, tasks, empty),
            Step::Counters => runs::stage05(workers, tasks, runs::QUEUE, empty),
            Step::TrySubmit => runs::stage03_try_first(workers, tasks, empty),
            Step::Tracker => runs::stage03_tracked(workers, tasks, ladder.borrowed),
            Step::Demo => runs::stage03_demo(workers, tasks, ladder.borrowed),
            Step::Recording => runs::stage03_demo(workers, tasks, ladder.recording),
            Step::ArcPerTask => runs::stage03_tracked(workers, tasks, Arc::clone(&ladder.shared)),
        };
        elapsed.as_nanos() as f64 / tasks as f64
    }
}

/// The empty task; its closures capture the id, so that a boxed task allocates, as a real one does.
fn empty(id: usize) {
    black_box(id);
}

/// What every step shares: the pool's size, the tasks per run, and the demo's workloads.
struct Setup {
    workers: usize,
    tasks: usize,
    borrowed: &'static Workload,
    /// The same workload, recording every task: its events pile up over the rounds.
    recording: &'static Workload,
    shared: Arc<Workload>,
}

/// What the ladder measured for one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The step.
    pub step: Step,
    /// The median over the rounds, in nanoseconds per task.
    pub median: f64,
    /// The middle half of the rounds: the 25th and the 75th percentile.
    pub quartiles: (f64, f64),
    /// Against the step it builds on, round by round: the median difference (ns) and ratio.
    pub added: Option<(f64, f64)>,
    /// Against stage 03's pool alone ([`Step::Boxed`]), round by round: the median ratio.
    pub to_pool: f64,
}

/// A row per step of [`Step::ALL`], from its nanoseconds per task in each round, `per_task`.
fn rows(per_task: &[Vec<f64>]) -> Vec<Row> {
    let of = |step: Step| &per_task[Step::ALL.iter().position(|&s| s == step).expect("in ALL")];
    let median_of = |values: Vec<f64>| percentile(&values, 0.5);
    let row = |step: Step| {
        // Each round's time for this step beside the same round's time for `other`.
        let paired = |other: Step| of(step).iter().zip(of(other));
        let added = step.base().map(|base| {
            let differences = paired(base).map(|(now, before)| now - before).collect();
            let ratios = paired(base).map(|(now, before)| now / before).collect();
            (median_of(differences), median_of(ratios))
        });
        let to_pool = paired(Step::Boxed).map(|(now, pool)| now / pool).collect();
        Row {
            step,
            median: percentile(of(step), 0.5),
            quartiles: (percentile(of(step), 0.25), percentile(of(step), 0.75)),
            added,
            to_pool: median_of(to_pool),
        }
    };
    Step::ALL.into_iter().map(row).collect()
}

/// The value below which a share `at` of `values` lies (nearest rank).
fn percentile(values: &[f64], at: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() - 1) as f64 * at).round() as usize;
    sorted[rank]
}

/// What one run of the ladder measured: a row per step, in [`Step::ALL`]'s order.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// A row per step.
    pub rows: Vec<Row>,
    /// The pool's workers: as many as cores.
    pub workers: usize,
    /// Tasks per run.
    pub tasks: usize,
    /// Rounds: each ran every step once.
    pub rounds: usize,
}

impl Measured {
    /// The row of `step`.
    pub(crate) fn row(&self, step: Step) -> Option<&Row> {
        self.rows.iter().find(|row| row.step == step)
    }
}

/// Runs `rounds` rounds of every step, `tasks` empty tasks a run, on as many workers as cores.
pub fn measure(tasks: usize, rounds: usize) -> Measured {
    // As the measurements run the demo: empty tasks are `cpu:0ns`, and nothing is printed.
    let workload = |recording| runs::workload(tasks, "cpu:0ns", recording);
    let setup = Setup {
        workers: harness::cores(),
        tasks,
        borrowed: workload(false).leak(),
        recording: workload(true).leak(),
        shared: Arc::new(workload(false)),
    };
    let mut per_task = vec![Vec::with_capacity(rounds); Step::ALL.len()];
    for round in 0..rounds {
        // Every other round runs backwards, so that no step always runs early in the round.
        let mut order: Vec<usize> = (0..Step::ALL.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            per_task[index].push(Step::ALL[index].run(&setup));
        }
    }
    Measured {
        rows: rows(&per_task),
        workers: setup.workers,
        tasks,
        rounds,
    }
}
