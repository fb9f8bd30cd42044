//! Running a stage's real pool through the harness, on a thread of its own, while the recorder
//! shows every event to the page.
//!
//! Each stage is driven as its demo's `main` drives it (`0N-*/src/main.rs`): the same pool from
//! the stage's library, the same [`Workload`] from the harness, the same submit loop. Two things
//! are added, both for a server that must outlive its runs:
//!
//! - the run can be cancelled ([`Cancel`]): the loop stops submitting, and each task still
//!   queued does nothing when a worker takes it, so the pool drains in moments and every thread
//!   of the run ends, as the pool's own shutdown ends them;
//! - nothing the run does can panic the server: the run is caught whole, and the tasks that
//!   panic on purpose (stages 04 and 05) panic on the pool's workers, as in the demos.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use harness::record::trace::TraceEvent;
use harness::record::{Recorder, Watcher};
use harness::table::count;
use harness::{Policy, TaskArgs, Workload};
use serde::Serialize;
use serde_json::value::RawValue;
use stage01_unbounded_spawn::{Task, likely_limit, spawn_all, spawn_thread};
use stage02_mutex_receiver_pool::ThreadPool;
use stage03_crossbeam_bounded::{SubmitError, SubmitTimeoutError, TrySubmitError};
use stage04_results::{TaskHandle, TaskLost};
use stage05_panic_resilient::{ResilientPool, panic_message};
use tokio::sync::mpsc::UnboundedSender;

use crate::params::{Plan, RunInfo, Stage};

/// Whether a run must stop, and why. Cancelled once; the first reason counts.
#[derive(Debug, Default)]
pub struct Cancel {
    reason: OnceLock<String>,
}

impl Cancel {
    /// Asks the run to stop, saying why, unless it was asked already.
    pub fn cancel(&self, reason: impl Into<String>) {
        // Ignored if already set: the first reason is the one the page is told.
        let _ = self.reason.set(reason.into());
    }

    /// Whether the run has been asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.reason.get().is_some()
    }

    /// Why the run was asked to stop, if it was.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }
}

/// What a run tells the stream that carries it to the page, in the order it happens.
#[derive(Debug)]
pub(crate) enum Note {
    /// A run starts.
    Started(RunInfo),
    /// What the recorder saw: a thread's name, a task's beginning or end, a panic, a wait.
    Event(TraceEvent<'static>),
    /// A task entered the queue, at this time from the recorder's origin.
    Queued(Duration),
    /// A task was rejected by the full-queue policy, at this time.
    Rejected(Duration),
    /// A run ended.
    Ended(Box<RunEnd>),
    /// A run could not go on: the message says why.
    Failed(String),
}

/// Where a run's notes go: to the stream, until the run closes it.
///
/// The recorder's watcher holds the outbox for as long as the [`Workload`] lives, which is
/// forever (see [`Run::workload`]): closing the outbox, rather than dropping it, is what tells
/// the stream that the run is over. A lock per note is a cost no demo would accept; here it buys
/// a stream that ends, and a task of a run that a room watches takes far longer than a lock.
#[derive(Debug)]
pub(crate) struct Outbox {
    sender: Mutex<Option<UnboundedSender<Note>>>,
}

impl Outbox {
    /// An outbox that sends to `sender`.
    pub(crate) fn new(sender: UnboundedSender<Note>) -> Self {
        Outbox {
            sender: Mutex::new(Some(sender)),
        }
    }

    /// Sends `note`, or drops it if the stream is gone or the outbox closed.
    pub(crate) fn send(&self, note: Note) {
        // A note lost because the page left is a note nobody wanted.
        if let Some(sender) = self.lock().as_ref() {
            let _ = sender.send(note);
        }
    }

    /// Closes the outbox: the stream sees the end of its notes.
    pub(crate) fn close(&self) {
        self.lock().take();
    }

    /// The lock, even if a thread panicked while holding it: an `Option` cannot be left
    /// half-updated, and a note must never turn one panic into two.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<UnboundedSender<Note>>> {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the page is told about a run as it ends.
#[derive(Debug, Serialize)]
pub(crate) struct RunEnd {
    /// Which of the request's runs this is, from 0.
    pub run: usize,
    /// The summary line, as the demo prints it in a terminal, with the stage's own keys.
    pub summary: String,
    /// From the first submit until every task had ended, in milliseconds.
    pub elapsed_ms: f64,
    /// The shortest the run could take, in milliseconds.
    pub ideal_ms: f64,
    /// Tasks that returned.
    pub completed: usize,
    /// Tasks that panicked.
    pub panicked: usize,
    /// Tasks the full-queue policy gave up (stage 03).
    pub rejected: usize,
    /// Submits that waited for a slot: counted by stage 03 only, which tries first without
    /// waiting; absent for the others.
    pub waited: Option<usize>,
    /// Tasks that ran on the submitting thread (stage 03's `caller-runs`).
    pub ran_in_caller: usize,
    /// Workers alive at the end (stage 05).
    pub active_workers: Option<usize>,
    /// What went wrong on the way, as the demo would report it on stderr.
    pub note: Option<String>,
    /// Why the run stopped early, if it was cancelled.
    pub cancelled: Option<String>,
    /// The run's trace, in the Chrome Trace Event Format, as `--trace` writes it.
    pub trace: Box<RawValue>,
}

/// Runs each of `plans` in turn on the current thread, which becomes their submitter, and tells
/// `outbox` what happens; closes it at the end. Stops at the first run that fails, and before
/// the next run once `cancel` is cancelled. Never panics: a run that panics is reported as
/// failed.
pub(crate) fn run_all(plans: &[Plan], cancel: &Arc<Cancel>, outbox: &Arc<Outbox>) {
    for (index, plan) in plans.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        // `AssertUnwindSafe`: after a panic nothing of the run is used again but its outbox,
        // whose lock ignores poisoning.
        let run = AssertUnwindSafe(|| Run::new(index, plan, cancel, outbox).go());
        let failure = match panic::catch_unwind(run) {
            Ok(Ok(())) => continue,
            Ok(Err(message)) => message,
            Err(payload) => format!("the run panicked: {}", panic_message(&*payload)),
        };
        outbox.send(Note::Failed(failure));
        break;
    }
    outbox.close();
}

/// What a full queue did to the submitter, and what the stage reports besides the summary.
#[derive(Debug, Default)]
struct Report {
    waited: Option<usize>,
    rejected: usize,
    ran_in_caller: usize,
    checksum: Option<u64>,
    active_workers: Option<usize>,
    note: Option<String>,
}

/// One run: its plan, its workload, and where it tells what it does.
struct Run<'a> {
    index: usize,
    plan: &'a Plan,
    /// The run's tasks, counted and recorded by the harness. Leaked, as every demo leaks its
    /// workload ([`Workload::leak`]): a pool's tasks borrow it for `'static`. That is a few
    /// kilobytes per run, which a server that a room uses for an hour can afford; the recorder's
    /// watcher in it holds only the run's [`Outbox`], closed at the end.
    workload: &'static Workload,
    cancel: &'a Arc<Cancel>,
    outbox: &'a Arc<Outbox>,
    /// The recorder's origin, from which the events' times count.
    origin: Instant,
}

impl<'a> Run<'a> {
    /// Prepares run `index` of `plan`, on the thread that will submit its tasks.
    fn new(index: usize, plan: &'a Plan, cancel: &'a Arc<Cancel>, outbox: &'a Arc<Outbox>) -> Self {
        let watcher: Watcher = {
            let outbox = Arc::clone(outbox);
            Arc::new(move |event| outbox.send(Note::Event(event)))
        };
        let args = TaskArgs {
            tasks: plan.tasks,
            task: plan.task,
            quiet: true,
            each: false,
            timeline: false,
            trace: None,
        };
        let workload = Workload::watched(&args, watcher).leak();
        let origin = Self::recorder(workload).origin();
        Run {
            index,
            plan,
            workload,
            cancel,
            outbox,
            origin,
        }
    }

    /// Runs the plan's stage, then tells the page how it ended, with its trace.
    fn go(&self) -> Result<(), String> {
        let plan = self.plan;
        self.outbox
            .send(Note::Started(RunInfo::new(self.index, plan)));
        let start = Instant::now();
        let report = match plan.stage {
            Stage::ThreadPerTask => self.thread_per_task(),
            Stage::MutexPool => self.mutex_pool(),
            Stage::Bounded => self.bounded(),
            Stage::Results => self.results(),
            Stage::Resilient => self.resilient(),
        };
        let elapsed = start.elapsed();

        let workload = self.workload;
        // Also describes the run to the recorder, for the trace's names.
        let mut summary = workload.summary(plan.stage.number(), elapsed, plan.workers, plan.queue);
        // The keys each demo appends, so the line reads as it does in a terminal.
        if plan.stage == Stage::Bounded {
            summary = summary
                .with("rejected", report.rejected)
                .with("ran_in_caller", report.ran_in_caller);
        }
        if let Some(checksum) = report.checksum {
            summary = summary.with("checksum", checksum);
        }
        if let Some(active) = report.active_workers {
            summary = summary.with("active_workers", active);
        }
        let recording = Self::recorder(workload).finish(plan.tasks);
        let mut trace = Vec::new();
        recording
            .write_trace(&mut trace)
            .map_err(|error| format!("could not write the trace: {error}"))?;
        let trace = String::from_utf8(trace)
            .ok()
            .and_then(|json| RawValue::from_string(json).ok())
            .ok_or("the trace is not JSON")?;
        self.outbox.send(Note::Ended(Box::new(RunEnd {
            run: self.index,
            elapsed_ms: summary.elapsed_ms,
            ideal_ms: summary.ideal_ms,
            completed: summary.completed,
            panicked: summary.panicked,
            summary: summary.to_string(),
            rejected: report.rejected,
            waited: report.waited,
            ran_in_caller: report.ran_in_caller,
            active_workers: report.active_workers,
            note: report.note,
            cancelled: self.cancel.reason().map(str::to_string),
            trace,
        })));
        Ok(())
    }

    /// The recorder of a workload made by [`Workload::watched`], which always has one.
    fn recorder(workload: &Workload) -> &Recorder {
        workload
            .recorder()
            .expect("a watched workload always records")
    }

    /// Whether the run has been cancelled: the submit loops stop.
    fn stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// `task`, made to do nothing if the run has been cancelled by the time a thread takes it:
    /// that is how a cancelled pool drains in moments.
    fn unless_cancelled<R>(
        &self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> impl FnOnce() -> Option<R> + Send + 'static {
        let cancel = Arc::clone(self.cancel);
        move || (!cancel.is_cancelled()).then(task)
    }

    /// Notes that a task entered the queue, for the queue's gauge.
    fn queued(&self) {
        self.outbox.send(Note::Queued(self.origin.elapsed()));
    }

    /// Notes that a task was rejected.
    fn rejected(&self) {
        self.outbox.send(Note::Rejected(self.origin.elapsed()));
    }

    /// Stage 01, as its demo: a thread per task, started all at once by `spawn_all`.
    fn thread_per_task(&self) -> Report {
        let total = self.plan.tasks;
        // Lazy: `spawn_all` takes the tasks one by one, so a cancelled run stops starting threads.
        let tasks = (0..total).map_while(|id| {
            if self.stopped() {
                return None;
            }
            let task = self.workload.hand_over(id);
            let task = self.unless_cancelled(move || task.run());
            Some(Box::new(move || {
                task();
            }) as Task)
        });
        let spawned = spawn_all(tasks, spawn_thread);
        let note = spawned.error().map(|error| {
            let refused = spawned.started() + 1;
            let mut note = format!("the OS refused to start thread {refused} of {total}: {error}");
            if let Some(limit) = likely_limit(error) {
                note.push_str(&format!("\n{limit}"));
            }
            note
        });
        spawned.join();
        Report {
            note,
            ..Report::default()
        }
    }

    /// Stage 02, as its demo: a fixed pool whose queue has no limit, so submitting never waits.
    fn mutex_pool(&self) -> Report {
        let pool = ThreadPool::new(self.workers());
        for id in 0..self.plan.tasks {
            if self.stopped() {
                break;
            }
            let task = self.workload.hand_over(id);
            let task = self.unless_cancelled(move || task.run());
            pool.execute(move || {
                task();
            });
            self.queued();
        }
        // Dropping the pool closes the queue and waits until the workers have run all of it.
        drop(pool);
        Report::default()
    }

    /// Stage 03, as its demo: a bounded queue, and the policy for a task that finds it full.
    fn bounded(&self) -> Report {
        let (workers, capacity) = (self.workers(), self.capacity());
        let policy = self.plan.policy.unwrap_or(Policy::Block);
        let pool = stage03_crossbeam_bounded::WorkerPool::new(workers, capacity);
        let mut report = Report {
            waited: Some(0),
            ..Report::default()
        };
        for id in 0..self.plan.tasks {
            if self.stopped() {
                break;
            }
            let task = self.workload.hand_over(id);
            let task = self.unless_cancelled(move || task.run());
            if let Err(error) = self.submit_with(
                &pool,
                policy,
                id,
                move || {
                    task();
                },
                &mut report,
            ) {
                report.note = Some(format!(
                    "task {id} and the ones after it were not submitted: {error}"
                ));
                break;
            }
        }
        pool.shutdown();
        report
    }

    /// Submits task `id` the way `policy` says: stage 03's `submit_with`, in its demo's
    /// `main.rs`, line for line, plus the notes for the queue's gauge. It tries without waiting
    /// first, so only a task that finds the queue full meets the policy.
    fn submit_with(
        &self,
        pool: &stage03_crossbeam_bounded::WorkerPool,
        policy: Policy,
        id: usize,
        task: impl FnOnce() + Send + 'static,
        report: &mut Report,
    ) -> Result<(), SubmitError> {
        let job = match pool.try_submit(task) {
            Ok(()) => {
                self.queued();
                return Ok(());
            }
            Err(TrySubmitError::Full(job)) => job,
            Err(TrySubmitError::Closed(_)) => return Err(SubmitError),
        };
        let before = Instant::now();
        match policy {
            Policy::Block => {
                pool.submit(job)?;
                self.queued();
            }
            Policy::Reject => {
                report.rejected += 1;
                self.rejected();
            }
            Policy::CallerRuns => {
                // Caught: here a panic would end the run; as on a worker, it costs the task.
                let _ = panic::catch_unwind(AssertUnwindSafe(job));
                report.ran_in_caller += 1;
            }
            Policy::Timeout(limit) => match pool.submit_timeout(job, limit) {
                Ok(()) => self.queued(),
                Err(SubmitTimeoutError::Timeout(_)) => {
                    report.rejected += 1;
                    self.rejected();
                }
                Err(SubmitTimeoutError::Closed(_)) => return Err(SubmitError),
            },
        }
        if matches!(policy, Policy::Block | Policy::Timeout(_)) {
            report.waited = report.waited.map(|waited| waited + 1);
            // Also shown to the page, as the submitter's wait.
            self.workload.waited_for_slot(id, before);
        }
        Ok(())
    }

    /// Stage 04, as its demo: tasks return `i * i` through handles, and a task that panics
    /// kills its worker. Once no worker is left, submitting fails, and the run says so.
    fn results(&self) -> Report {
        let pool = stage04_results::WorkerPool::new(self.workers(), self.capacity());
        let mut handles = Vec::new();
        let mut notes = Vec::new();
        for id in 0..self.plan.tasks {
            if self.stopped() {
                break;
            }
            let panics = self.plan.panics.panics(id);
            let submitted = self.workload.hand_over_with(id, |task| {
                pool.submit(self.unless_cancelled(move || task.square(panics)))
            });
            match submitted {
                Ok(handle) => {
                    self.queued();
                    handles.push(handle);
                }
                Err(error) => {
                    notes.push(format!(
                        "task {id} and the ones after it were not submitted: {error}"
                    ));
                    break;
                }
            }
        }
        // As the demo: shut down before joining, so that a task queued behind the last dead
        // worker is dropped, and its handle answers.
        pool.shutdown();
        let values: Vec<_> = handles.into_iter().map(TaskHandle::join).collect();
        // As the demo reports each on stderr: the task that panicked, and those queued behind a
        // worker that died, which never ran. The handles are in the order of the tasks' ids.
        let lost: Vec<usize> = (0..values.len())
            .filter(|&id| values[id].is_err())
            .collect();
        if !lost.is_empty() {
            notes.push(lost_results(&lost));
        }
        if !notes.is_empty() {
            notes.push(
                "in this stage a panic kills its worker; stage 05 keeps the workers alive".into(),
            );
        }
        Report {
            checksum: Some(checksum(values.into_iter().map(Result::ok))),
            note: (!notes.is_empty()).then(|| notes.join("\n")),
            ..Report::default()
        }
    }

    /// Stage 05, as its demo: every panic is caught, and the pool keeps all its workers.
    fn resilient(&self) -> Report {
        let pool = ResilientPool::new(self.workers(), self.capacity());
        let mut handles = Vec::new();
        for id in 0..self.plan.tasks {
            if self.stopped() {
                break;
            }
            let panics = self.plan.panics.panics(id);
            handles.push(self.workload.hand_over_with(id, |task| {
                pool.submit(self.unless_cancelled(move || task.square(panics)))
            }));
            self.queued();
        }
        let values: Vec<_> = handles
            .into_iter()
            .map(|handle| handle.join().ok())
            .collect();
        // As the demo: read once every task has ended.
        let active_workers = pool.active_workers();
        pool.shutdown();
        Report {
            checksum: Some(checksum(values)),
            active_workers: Some(active_workers),
            ..Report::default()
        }
    }

    fn workers(&self) -> usize {
        self.plan.workers.unwrap_or(1)
    }

    fn capacity(&self) -> usize {
        self.plan.queue.unwrap_or(0)
    }
}

/// The line that says which tasks of stage 04 lost their results: `5 tasks lost their results
/// (0, 1, 2, 3, 4): ...`, the first few ids only, as a run may lose thousands.
fn lost_results(lost: &[usize]) -> String {
    const SHOWN: usize = 10;
    let mut ids: Vec<String> = lost.iter().take(SHOWN).map(usize::to_string).collect();
    if lost.len() > SHOWN {
        ids.push(format!("and {} more", lost.len() - SHOWN));
    }
    let results = if lost.len() == 1 {
        "its result"
    } else {
        "their results"
    };
    let tasks = count(lost.len(), "task");
    format!("{tasks} lost {results} ({}): {TaskLost}", ids.join(", "))
}

/// The wrapping sum of the values that came back, as stages 04 and 05 print it: `None` for a
/// task that gave none (lost or panicked), `Some(None)` for one skipped by a cancellation.
fn checksum(values: impl IntoIterator<Item = Option<Option<u64>>>) -> u64 {
    values
        .into_iter()
        .flatten()
        .flatten()
        .fold(0, u64::wrapping_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_results_name_the_first_ten_tasks_and_count_the_rest() {
        assert!(lost_results(&[3]).starts_with("1 task lost its result (3): the task panicked"));
        let many: Vec<usize> = (0..25).collect();
        let line = lost_results(&many);
        assert!(
            line.starts_with(
                "25 tasks lost their results (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, and 15 more): "
            ),
            "{line}"
        );
    }
}
