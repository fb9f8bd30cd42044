//! The reference solution: stage 05's pool, timing each task. The places that differ from the
//! starting point are marked `Solution:`; `diff src/start.rs src/solution.rs` shows them all.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

/// A task as the workers receive it.
///
/// As in stages 03 and 04, a small trait, so that a job the queue refuses can be turned back into
/// the caller's task (see [`into_task`]).
trait Job: Send {
    // The worker passes in the counters, so the job can record its outcome the moment it
    // is known.
    fn run(self: Box<Self>, counters: &Counters);
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// A task and the place its outcome goes.
struct WithResult<F, R> {
    task: F,
    // The task's outcome, not only its value (see `TaskHandle`).
    // Solution: a value travels with its timings.
    result: ResultSender<Result<(R, Timings), TaskPanicked>>,
    // Solution: when `submit` (or `try_submit`, `submit_timeout`) was called.
    submitted: Instant,
}

impl<F, R> Job for WithResult<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    fn run(self: Box<Self>, counters: &Counters) {
        let WithResult {
            task,
            result,
            submitted,
        } = *self;
        run_task(task, submitted, result, counters);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// Recovers the task `F` from the job the pool boxed a moment ago.
fn into_task<F, R>(job: Box<dyn Job>) -> F
where
    F: 'static,
    R: 'static,
{
    let job = job
        .into_any()
        .downcast::<WithResult<F, R>>()
        .expect("a refused job is the one the pool just built");
    // Dropping `job.result` marks a slot lost that no handle will ever read.
    job.task
}

// As in stage 04, a result slot rather than a `bounded(1)` channel per task: a channel's heap
// block (cache-padded indices, wait lists) cost more than an empty task, and one value written once
// and read once needs only a `Mutex` around a small enum in an `Arc`. A `Condvar` was rejected
// because its wait cannot also watch `workers_alive` (see `TaskHandle::join`).
/// The slot a task's outcome waits in until its handle takes it. Shared by the job, which fills
/// it, and the handle, which empties it.
struct ResultSlot<T> {
    state: Mutex<SlotState<T>>,
}

enum SlotState<T> {
    /// No outcome yet. A handle that waits for one leaves the sending side of a wake-up channel
    /// here; filling the slot drops it, and the disconnect wakes the handle.
    Pending { wake: Option<Sender<()>> },
    /// The task's outcome.
    Done(T),
    /// The job was dropped without running, or the handle took the outcome.
    Lost,
}

impl<T> ResultSlot<T> {
    fn new() -> Arc<Self> {
        Arc::new(ResultSlot {
            state: Mutex::new(SlotState::Pending { wake: None }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        // The lock is held only to read or replace the enum, never while a task runs, so a
        // poisoned lock still guards a whole value. Panicking here instead would be worse: the
        // sender fills the slot from a `Drop`, which may run while its worker unwinds.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the task's outcome, and wakes the handle if it is waiting.
    fn fill(&self, outcome: SlotState<T>) {
        let mut state = self.lock();
        let previous = mem::replace(&mut *state, outcome);
        drop(state);
        // Dropped after unlocking, so that the woken handle does not find the lock still held.
        drop(previous);
    }
}

/// The job's side of a result slot: it fills the slot exactly once, with the outcome or as lost.
struct ResultSender<T> {
    // An `Option` so that `send` can take it, and `Drop` knows whether an outcome was sent.
    slot: Option<Arc<ResultSlot<T>>>,
}

impl<T> ResultSender<T> {
    fn send(mut self, outcome: T) {
        if let Some(slot) = self.slot.take() {
            slot.fill(SlotState::Done(outcome));
        }
    }
}

impl<T> Drop for ResultSender<T> {
    fn drop(&mut self) {
        // Reached with the slot still here only if `send` never ran. Panics are caught now, so
        // that means the job was dropped unrun: no worker thread was left to take it.
        if let Some(slot) = self.slot.take() {
            slot.fill(SlotState::Lost);
        }
    }
}

/// A fixed number of worker threads fed by a bounded queue, isolated from the tasks' panics.
///
/// A task that panics is caught, counted, and reported through its handle; the worker carries on.
/// A worker thread can still die: the value a task panics with (its payload) is dropped after the
/// panic was caught, and if that value's own `Drop` panics, the new panic is outside any
/// `catch_unwind`. Then a replacement thread with the same name takes over the same queue, so
/// [`active_workers`](ResilientPool::active_workers) returns to the requested number and no queued
/// task is lost.
///
/// Dropping the pool, or calling [`ResilientPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and joins every worker thread, replacements included.
#[derive(Debug)]
pub struct ResilientPool {
    // An `Option` so that `Drop` can close the channel before joining the workers.
    sender: Option<Sender<Box<dyn Job>>>,
    // The counters and the list of threads, shared with the worker threads, which update
    // them and add their own replacements to the list.
    shared: Arc<Shared>,
    // Never carries a message: it disconnects when the last worker thread has exited.
    workers_alive: Receiver<()>,
}

/// What the pool and its worker threads share.
#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    active_workers: AtomicUsize,
    // Every worker thread started and not yet joined, replacements included. A `Vec` the
    // pool owns alone (stage 04) would miss the replacements, which a dying worker starts.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn threads(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        // Only `push` and `pop` run under this lock, and neither leaves the list half-updated,
        // so a poisoned lock is still safe to use. Panicking instead would be worse: a `Drop`
        // that runs during a panic must not panic again, or the process aborts.
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the tasks ended.
#[derive(Debug, Default)]
struct Counters {
    completed: AtomicUsize,
    panicked: AtomicUsize,
}

impl ResilientPool {
    /// Starts `workers` threads, named `worker-0`, `worker-1`, ..., sharing a queue that holds
    /// at most `queue_capacity` waiting tasks.
    ///
    /// A capacity of 0 makes a rendezvous channel: nothing waits in a queue, and every `submit`
    /// waits until a worker is free to take the task from hand to hand.
    ///
    /// # Panics
    ///
    /// Panics if `workers` is 0 (such a pool could never run a task) or if the operating system
    /// refuses to start a thread.
    pub fn new(workers: usize, queue_capacity: usize) -> Self {
        assert!(workers > 0, "a ResilientPool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Box<dyn Job>>(queue_capacity);
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        let shared = Arc::new(Shared::default());
        for id in 0..workers {
            spawn_worker(id, receiver.clone(), alive.clone(), Arc::clone(&shared))
                .expect("failed to spawn a worker thread");
        }
        // The pool keeps neither a job receiver nor an `alive` sender of its own, so that both
        // channels notice when no worker thread is left.
        drop(receiver);
        drop(alive);
        ResilientPool {
            sender: Some(sender),
            shared,
            workers_alive,
        }
    }

    // No `Result`. Stage 04 needed `SubmitError` because panics could kill every worker.
    /// Queues `task` for the workers, waiting while the queue is full, and returns a handle to
    /// its result.
    ///
    /// There is no `Result` to check: dead workers are replaced, so there is always one to run
    /// the task. (Only if the operating system refused to start replacements could none be
    /// left; then the task is dropped and its `join` says so.)
    ///
    /// Dropping the handle does not cancel the task: it still runs, and its value is discarded.
    pub fn submit<F, R>(&self, task: F) -> TaskHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, handle) = self.prepare(task);
        // `send` blocks while the queue is full. This is the backpressure. It fails only when no
        // worker thread is left at all (see above); the job is dropped and its slot marked lost.
        let _ = self.sender().send(job);
        handle
    }

    /// Queues `task` only if there is room right now; never waits.
    ///
    /// This is the building block for policies other than waiting: reject the task, run it on
    /// the calling thread ("caller runs"), or keep it for later.
    ///
    /// # Errors
    ///
    /// Returns the task itself inside [`TrySubmitError::Full`] when the queue is full, so it is
    /// never lost. As with [`submit`](ResilientPool::submit), the case where no worker thread is
    /// left is reported by the handle's `join`, not here.
    pub fn try_submit<F, R>(&self, task: F) -> Result<TaskHandle<R>, TrySubmitError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, handle) = self.prepare(task);
        match self.sender().try_send(job) {
            Err(TrySendError::Full(job)) => Err(TrySubmitError::Full(into_task::<F, R>(job))),
            // No `Closed` case, for the reason `submit` has no `Result`. The job is dropped
            // here, which marks its slot lost, so `join` says the task never ran.
            Ok(()) | Err(TrySendError::Disconnected(_)) => Ok(handle),
        }
    }

    /// Queues `task`, waiting at most `timeout` for room in the queue.
    ///
    /// # Errors
    ///
    /// Returns the task itself inside [`SubmitTimeoutError::Timeout`] when no slot freed up in
    /// time. As with [`submit`](ResilientPool::submit), the case where no worker thread is left
    /// is reported by the handle's `join`, not here.
    pub fn submit_timeout<F, R>(
        &self,
        task: F,
        timeout: Duration,
    ) -> Result<TaskHandle<R>, SubmitTimeoutError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, handle) = self.prepare(task);
        match self.sender().send_timeout(job, timeout) {
            Err(SendTimeoutError::Timeout(job)) => {
                Err(SubmitTimeoutError::Timeout(into_task::<F, R>(job)))
            }
            // No `Closed` case, as in `try_submit`.
            Ok(()) | Err(SendTimeoutError::Disconnected(_)) => Ok(handle),
        }
    }

    /// Boxes `task` with the sending side of a new result slot, and makes the handle that reads it.
    fn prepare<F, R>(&self, task: F) -> (Box<dyn Job>, TaskHandle<R>)
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let slot = ResultSlot::new();
        let result = ResultSender {
            slot: Some(Arc::clone(&slot)),
        };
        let handle = TaskHandle {
            slot,
            workers_alive: self.workers_alive.clone(),
        };
        // Solution: the clock starts before the job is sent, which may wait for room in the
        // queue: the caller waits for the task either way.
        let job = WithResult {
            task,
            result,
            submitted: Instant::now(),
        };
        (Box::new(job), handle)
    }

    fn sender(&self) -> &Sender<Box<dyn Job>> {
        self.sender.as_ref().expect("the sender lives until drop")
    }

    /// How many tasks are waiting in the queue right now (not counting running ones).
    pub fn queued(&self) -> usize {
        self.sender.as_ref().map_or(0, Sender::len)
    }

    /// Whether the next `submit` would have to wait for a free slot (always true for a
    /// rendezvous queue of capacity 0).
    pub fn is_full(&self) -> bool {
        self.sender.as_ref().is_some_and(Sender::is_full)
    }

    /// How many worker threads are alive right now.
    ///
    /// Equal to the number given to [`ResilientPool::new`], except for the moment between a
    /// worker thread's death and the start of its replacement.
    pub fn active_workers(&self) -> usize {
        self.shared.active_workers.load(Ordering::SeqCst)
    }

    /// How many tasks have returned normally so far.
    ///
    /// A task is counted before its value is handed to its [`TaskHandle`], so once `join` has
    /// returned, that task is included.
    pub fn completed_tasks(&self) -> usize {
        self.shared.counters.completed.load(Ordering::SeqCst)
    }

    /// How many tasks have panicked so far, counted like
    /// [`completed_tasks`](ResilientPool::completed_tasks).
    pub fn panicked_tasks(&self) -> usize {
        self.shared.counters.panicked.load(Ordering::SeqCst)
    }

    /// Runs every task already queued, then stops and joins every worker thread.
    ///
    /// Dropping the pool does the same; this method names the moment in the code. Handles stay
    /// valid afterwards: results of finished tasks wait in their slots until joined.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ResilientPool {
    fn drop(&mut self) {
        // Closing the channel does not discard queued tasks: the workers' `recv` keeps
        // returning them until the queue is empty, and only then reports the disconnect.
        drop(self.sender.take());
        // The list can grow while we join. A dying worker adds its replacement before its
        // own thread ends, so by the time joining it returns, the replacement is listed too.
        loop {
            // A statement of its own, so that the lock is released before `join` waits: the
            // dying worker needs it to add the replacement. (`while let Some(..) = lock().pop()`
            // would hold it for the whole loop body.)
            let next = self.shared.threads().pop();
            let Some(thread) = next else { break };
            // A thread that died was replaced, and its panic was printed when it happened.
            let _ = thread.join();
        }
    }
}

/// Runs one task on a worker thread, records how it ended, and hands the outcome to the
/// task's handle.
fn run_task<F, R>(
    task: F,
    submitted: Instant,
    result: ResultSender<Result<(R, Timings), TaskPanicked>>,
    counters: &Counters,
) where
    F: FnOnce() -> R,
{
    // Solution: the two moments that split the task's time.
    let started = Instant::now();
    // `catch_unwind` requires an unwind-safe closure, so that nobody observes state that a panic
    // left half-updated. `AssertUnwindSafe` vouches for it, and that holds here: the task is
    // moved in and consumed, and after a panic nothing of it is used again; only the result
    // slot, which the task never touched, is. State the task shares through `Arc` is its
    // author's concern: a `Mutex` it held while panicking is poisoned, which tells the next user.
    let outcome = panic::catch_unwind(AssertUnwindSafe(task));
    let timings = Timings {
        waiting: started - submitted,
        running: started.elapsed(),
    };
    // Counted first, so that the counters already include this task when its handle returns,
    // and so that nothing below (which can still panic, see `ResilientPool`) can skip the count.
    let counter = if outcome.is_ok() {
        &counters.completed
    } else {
        &counters.panicked
    };
    counter.fetch_add(1, Ordering::SeqCst);
    match outcome {
        Ok(value) => result.send(Ok((value, timings))),
        Err(payload) => {
            result.send(Err(TaskPanicked::from_payload(payload.as_ref())));
            // Dropping the payload runs its destructor, which is arbitrary code and can panic
            // in turn. That panic is not caught: it ends this worker thread, whose `Worker`
            // guard then starts a replacement. The task was counted and reported already.
            drop(payload);
        }
    }
}

/// The caller's side of one submitted task. [`TaskHandle::join`] waits for its outcome.
///
/// Dropping a handle neither cancels the task nor blocks.
#[must_use = "dropping a TaskHandle discards the task's result (the task still runs)"]
pub struct TaskHandle<R> {
    // The task's outcome, not only its value, so that a panic arrives with its message.
    // Solution: a value travels with its timings.
    slot: Arc<ResultSlot<Result<(R, Timings), TaskPanicked>>>,
    workers_alive: Receiver<()>,
}

impl<R> TaskHandle<R> {
    /// Waits until the task has finished and returns its value.
    ///
    /// # Errors
    ///
    /// Returns [`TaskPanicked`] with the panic message if the task panicked. In the one case
    /// where a task never runs, when no worker thread is left because the operating system
    /// refused to start replacements, the error's message says that instead.
    pub fn join(self) -> Result<R, TaskPanicked> {
        self.join_timed().map(|(value, _)| value)
    }

    // Solution: the waiting that `join` did, moved here, since the slot now holds timings too.
    /// Like [`TaskHandle::join`], and also says where the task's time went: waiting for a
    /// worker, then running.
    ///
    /// # Errors
    ///
    /// As [`TaskHandle::join`]: [`TaskPanicked`] if the task panicked. A panicked task reports
    /// no timings; [`ResilientPool::panicked_tasks`] counts it.
    pub fn join_timed(self) -> Result<(R, Timings), TaskPanicked> {
        let mut state = self.slot.lock();
        if let SlotState::Pending { wake } = &mut *state {
            // As in stage 04: wait for the outcome, but stop waiting once no worker is left,
            // since a task still queued then would never run, and the queue would keep it until
            // the pool is dropped.
            let (wake_sender, woken) = crossbeam_channel::bounded::<()>(0);
            *wake = Some(wake_sender);
            drop(state);
            crossbeam_channel::select! {
                recv(woken) -> _ => {}
                // Every worker is gone. A worker fills the slot of each task it took before it
                // exits, so a slot still pending now belongs to a task that never ran.
                recv(self.workers_alive) -> _ => {}
            }
            state = self.slot.lock();
        }
        match mem::replace(&mut *state, SlotState::Lost) {
            SlotState::Done(outcome) => outcome,
            SlotState::Pending { .. } | SlotState::Lost => Err(TaskPanicked::never_ran()),
        }
    }
}

/// Where one task's time went, from the call to `submit` until its value was ready.
///
/// Little's law holds for each part: on average, the tasks waiting in the queue number the
/// arrival rate times the mean `waiting`, and the busy workers the arrival rate times the mean
/// `running`. A pool whose tasks wait longer than they run is short of workers (or has a longer
/// queue than the callers can afford); one whose tasks never wait may have workers to spare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// From the call to `submit` until a worker started the task: the time in the queue,
    /// including any wait for room in it.
    pub waiting: Duration,
    /// From the start of the task until it returned its value.
    pub running: Duration,
}

// Written by hand: `#[derive(Debug)]` would require `R: Debug` for no reason.
impl<R> fmt::Debug for TaskHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle").finish_non_exhaustive()
    }
}

/// The error [`TaskHandle::join`] returns when the task panicked, with the panic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPanicked {
    message: String,
}

impl TaskPanicked {
    /// The message the task panicked with, as [`panic_message`] reads it.
    ///
    /// (The tutorial prints the payload with `{:?}`, which shows only `Any { .. }`, even when
    /// the payload is a string.)
    pub fn message(&self) -> &str {
        &self.message
    }

    fn from_payload(payload: &(dyn Any + Send)) -> Self {
        TaskPanicked {
            message: panic_message(payload).to_string(),
        }
    }

    fn never_ran() -> Self {
        TaskPanicked {
            message: "the task never ran: no worker thread was left to run it".to_string(),
        }
    }
}

impl fmt::Display for TaskPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task panicked: {}", self.message)
    }
}

impl Error for TaskPanicked {}

/// The text of a panic payload, the value a panic carries.
///
/// `panic!` and `expect` carry a `&'static str` (a literal message) or a `String` (a formatted
/// one); anything else, from `std::panic::panic_any`, gives `"<non-string panic payload>"`. Useful
/// in a panic hook too: `panic_message(info.payload())`.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "<non-string panic payload>"
    }
}

// A single case each. Stage 04's `Closed(F)` is gone, for the reason `submit` lost its
// `SubmitError`: workers are replaced, and the one case where none is left (the operating system
// refused to start replacements) is reported by the handle. A `Closed` case would make every
// caller handle, at every submit, what `submit` itself leaves to `join`.
/// Why [`ResilientPool::try_submit`] refused a task; the task comes back.
pub enum TrySubmitError<F> {
    /// The queue was full.
    Full(F),
}

impl<F> TrySubmitError<F> {
    /// Takes the refused task back.
    pub fn into_task(self) -> F {
        match self {
            TrySubmitError::Full(task) => task,
        }
    }
}

impl<F> fmt::Display for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("the queue is full"),
        }
    }
}

// Written by hand because the derive would require `F: Debug`, and closures never are.
impl<F> fmt::Debug for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<F> Error for TrySubmitError<F> {}

/// Why [`ResilientPool::submit_timeout`] gave up on a task; the task comes back.
pub enum SubmitTimeoutError<F> {
    /// The queue stayed full for the whole timeout.
    Timeout(F),
}

impl<F> SubmitTimeoutError<F> {
    /// Takes the refused task back.
    pub fn into_task(self) -> F {
        match self {
            SubmitTimeoutError::Timeout(task) => task,
        }
    }
}

impl<F> fmt::Display for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => {
                f.write_str("the queue stayed full until the timeout")
            }
        }
    }
}

// Written by hand because the derive would require `F: Debug`, and closures never are.
impl<F> fmt::Debug for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
        }
    }
}

impl<F> Error for SubmitTimeoutError<F> {}

/// What one worker thread owns. It lives on that thread's stack, so its `Drop` runs when the
/// thread ends, also when a panic ends it. That is the moment to start a replacement.
struct Worker {
    id: usize,
    jobs: Receiver<Box<dyn Job>>,
    alive: Sender<()>,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(&self) {
        // No lock around `recv`. Several workers can wait on the same channel, and each task
        // goes to exactly one of them.
        while let Ok(job) = self.jobs.recv() {
            job.run(&self.shared.counters);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.active_workers.fetch_sub(1, Ordering::SeqCst);
        // Rejected alternative: a supervisor thread that joins dead workers and restarts them.
        // It costs one more thread and a way to wake it; the dying thread knows all it needs.
        if thread::panicking() {
            let (jobs, alive) = (self.jobs.clone(), self.alive.clone());
            if let Err(error) = spawn_worker(self.id, jobs, alive, Arc::clone(&self.shared)) {
                // `eprintln!` panics if stderr is gone, and a panic during a panic aborts.
                let _ = writeln!(
                    io::stderr(),
                    "worker-{}: no replacement started: {error}",
                    self.id
                );
            }
        }
    }
}

/// Starts worker thread `worker-{id}` and lists it in `shared` for shutdown to join.
fn spawn_worker(
    id: usize,
    jobs: Receiver<Box<dyn Job>>,
    alive: Sender<()>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    // Counted before the thread starts, so that `active_workers` is right as soon as `new`
    // returns; uncounted again if it never starts.
    shared.active_workers.fetch_add(1, Ordering::SeqCst);
    let worker_shared = Arc::clone(&shared);
    let spawned = thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            // Built on the new thread, so that its `Drop` runs there, and never for a thread
            // that failed to start.
            let worker = Worker {
                id,
                jobs,
                alive,
                shared: worker_shared,
            };
            worker.run();
        });
    match spawned {
        Ok(thread) => {
            shared.threads().push(thread);
            Ok(())
        }
        Err(error) => {
            shared.active_workers.fetch_sub(1, Ordering::SeqCst);
            Err(error)
        }
    }
}
