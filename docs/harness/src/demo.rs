//! A run's tasks as the demos submit them, and what stages 04 and 05 collect from them.

use std::fmt;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crate::args::{BoundedPoolArgs, TaskArgs};
use crate::output::Output;
use crate::summary::Summary;
use crate::task::{TaskSpec, Work, ideal};
use crate::track::Tracker;

/// The tasks of one run: how many, the calibrated work each one does, the tracker that counts
/// them, whether each prints a line when it is done, and the output they print it to. The tasks
/// share it through an `Arc`.
#[derive(Debug)]
pub struct Workload {
    tasks: usize,
    spec: TaskSpec,
    work: Work,
    tracker: Tracker,
    quiet: bool,
    output: Output,
}

impl Workload {
    /// Prepares the run that `args` describe, calibrating CPU work once (see [`Work::new`]).
    pub fn new(args: &TaskArgs) -> Self {
        Workload {
            tasks: args.tasks,
            spec: args.task,
            work: Work::new(args.task),
            tracker: Tracker::default(),
            quiet: args.quiet,
            output: Output::default(),
        }
    }

    /// Runs task `id` on the current thread: the work, counted by the tracker, then (unless
    /// quiet) a line that names the thread it ran on. Never panics: a line that cannot be written
    /// is the output's failure, not the task's (see [`Output`]).
    pub fn run(&self, id: usize) {
        let _running = self.tracker.start();
        self.work.run();
        self.print_done(id);
    }

    /// Runs task `id` like [`Workload::run`], then returns `id * id`, the value stages 04 and 05
    /// collect. If `panics` is true the task panics after its work instead, as a buggy task
    /// would: the tracker counts it as panicked, and no line is printed.
    ///
    /// # Panics
    ///
    /// Panics if `panics` is true: that is what it is for.
    pub fn square(&self, id: usize, panics: bool) -> u64 {
        let _running = self.tracker.start();
        self.work.run();
        if panics {
            panic!("task {id} failed on purpose");
        }
        self.print_done(id);
        // Wrapping, so that any `--tasks` gives a defined checksum.
        let id = id as u64;
        id.wrapping_mul(id)
    }

    /// How the tasks ran: how many ended each way, and how many ran at once.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Whether every task of the run has run to its end, returning or panicking: false if a task
    /// was never submitted, or never run. For a demo whose panics are planned (stage 05), this is
    /// what success means.
    pub fn all_ran(&self) -> bool {
        self.tracker.completed() + self.tracker.panicked() == self.tasks
    }

    /// Prints `line` to the output the tasks print to, which never panics (see [`Output`]).
    pub fn line(&self, line: impl fmt::Display) {
        self.output.line(line);
    }

    /// Ends the run: prints `last`, the summary line with any keys the stage appends to it, and
    /// returns the exit status, 0 only if the run `succeeded` and its output could be written
    /// (see [`Output::exit_code`]). Every run that started tasks ends here.
    pub fn finish(&self, last: impl fmt::Display, succeeded: bool) -> ExitCode {
        self.output.line(last);
        self.output.exit_code(succeeded)
    }

    /// The summary line of this run, which took `elapsed` on `workers` threads (`None`: a thread
    /// per task) fed by a queue of `queue` tasks (`None`: no queue, or one without a limit).
    pub fn summary(
        &self,
        stage: &'static str,
        elapsed: Duration,
        workers: Option<usize>,
        queue: Option<usize>,
    ) -> Summary<'_> {
        Summary {
            stage,
            tasks: self.tasks,
            tracker: &self.tracker,
            workers,
            queue,
            task: self.spec,
            elapsed,
            ideal: ideal(self.spec, self.tasks, workers.unwrap_or(self.tasks)),
        }
    }

    /// [`Workload::summary`] for a pool of fixed size with a bounded queue (stages 03 to 05).
    pub fn pool_summary(
        &self,
        stage: &'static str,
        elapsed: Duration,
        pool: &BoundedPoolArgs,
    ) -> Summary<'_> {
        self.summary(stage, elapsed, Some(pool.workers), Some(pool.queue))
    }

    /// From stage 04 on: prints the values collected (unless quiet), saying in which order they
    /// came: `results in submission order: [0, 1, 4]`, or `completion` order for `--as-completed`.
    pub fn print_results(&self, values: &[u64], as_completed: bool) {
        if self.quiet {
            return;
        }
        let order = if as_completed {
            "completion"
        } else {
            "submission"
        };
        self.output
            .line(format_args!("results in {order} order: {values:?}"));
    }

    fn print_done(&self, id: usize) {
        if !self.quiet {
            let thread = thread::current();
            let name = thread.name().unwrap_or("?");
            self.output.line(format_args!("task {id} done on {name}"));
        }
    }
}

/// What the tasks of stages 04 and 05 gave back: their values, and the tasks that gave none.
#[derive(Debug)]
pub struct Collected<E> {
    /// The values, in the order they were collected.
    pub values: Vec<u64>,
    /// The tasks that produced no value, by id, with the reason the pool gave.
    pub failed: Vec<(usize, E)>,
}

impl<E> Collected<E> {
    /// Sorts the outcomes of tasks `0, 1, 2, ...` into values and failures, keeping their order.
    /// `outcomes` may be lazy, such as handles being joined one by one: each is taken in turn.
    pub fn in_order(outcomes: impl IntoIterator<Item = Result<u64, E>>) -> Self {
        let mut collected = Collected {
            values: Vec::new(),
            failed: Vec::new(),
        };
        for (id, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(value) => collected.values.push(value),
                Err(error) => collected.failed.push((id, error)),
            }
        }
        collected
    }

    /// Keeps `values` as they arrived by another way, such as a channel, and takes only the
    /// failures from the outcomes of tasks `0, 1, 2, ...`.
    pub fn as_completed<T>(
        values: Vec<u64>,
        outcomes: impl IntoIterator<Item = Result<T, E>>,
    ) -> Self {
        let failed = outcomes
            .into_iter()
            .enumerate()
            .filter_map(|(id, outcome)| Some((id, outcome.err()?)))
            .collect();
        Collected { values, failed }
    }

    /// The wrapping sum of the values: a lost or duplicated result changes it.
    pub fn checksum(&self) -> u64 {
        self.values
            .iter()
            .fold(0, |sum, &value| sum.wrapping_add(value))
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use super::*;

    fn workload() -> Workload {
        let args = TaskArgs {
            tasks: 3,
            task: "sleep:0ns".parse().unwrap(),
            quiet: true,
        };
        Workload::new(&args)
    }

    #[test]
    fn tasks_are_counted_and_squares_returned() {
        let workload = workload();
        workload.run(0);
        assert_eq!(workload.square(3, false), 9);
        assert_eq!(workload.tracker().completed(), 2);
        assert_eq!(workload.tracker().panicked(), 0);
    }

    #[test]
    fn a_planned_panic_is_counted_as_one() {
        let workload = workload();
        // `AssertUnwindSafe`: the workload is only read after the panic, never left half-updated.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| workload.square(2, true)));
        assert!(outcome.is_err());
        assert_eq!(workload.tracker().panicked(), 1);
        assert_eq!(workload.tracker().completed(), 0);
    }

    #[test]
    fn a_summary_describes_the_run_and_its_ideal() {
        let workload = workload();
        let line = workload
            .summary("02", Duration::ZERO, Some(2), None)
            .to_string();
        assert!(
            line.starts_with("summary: stage=02 tasks=3 completed=0 panicked=0 workers=2 queue=- "),
            "{line}"
        );
        // A thread per task: every task overlaps with every other one.
        let line = workload
            .summary("01", Duration::ZERO, None, None)
            .to_string();
        assert!(line.contains(" workers=- "), "{line}");
    }

    #[test]
    fn outcomes_are_sorted_into_values_and_failures_by_id() {
        let outcomes = [Ok(0), Err("lost"), Ok(4), Err("panicked")];
        let collected = Collected::in_order(outcomes);
        assert_eq!(collected.values, [0, 4]);
        assert_eq!(collected.failed, [(1, "lost"), (3, "panicked")]);

        let outcomes = [Ok(()), Err("lost"), Ok(())];
        let collected = Collected::as_completed(vec![4, 0], outcomes);
        assert_eq!(collected.values, [4, 0]);
        assert_eq!(collected.failed, [(1, "lost")]);
    }

    #[test]
    fn the_checksum_wraps_instead_of_overflowing() {
        let collected = Collected::<()>::in_order([Ok(u64::MAX), Ok(2), Ok(9)]);
        assert_eq!(collected.checksum(), 10);
    }
}
