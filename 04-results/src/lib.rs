//! Stage 04: tasks that return a value, delivered through a handle.
//!
//! Stage 03's pool runs closures that return nothing; a caller that wants an answer has to build
//! its own channel. Here [`WorkerPool::submit`] accepts any `FnOnce() -> R` and returns a
//! [`TaskHandle<R>`]. Each task gets a private result slot: the worker puts the value into it, and
//! [`TaskHandle::join`] takes it out, waiting if it is not there yet. The pool, the bounded queue,
//! backpressure, the policies for a full queue ([`WorkerPool::try_submit`],
//! [`WorkerPool::submit_timeout`]) and shutdown are stage 03's.
//!
//! ```
//! use stage04_results::WorkerPool;
//!
//! let pool = WorkerPool::new(2, 4);
//! let handles: Vec<_> = (1..=5_u64)
//!     .map(|n| pool.submit(move || n * n).expect("the workers are alive"))
//!     .collect();
//! // Joining in submission order gives the results in submission order, whatever order the
//! // workers finished in.
//! let squares: Vec<u64> = handles
//!     .into_iter()
//!     .map(|handle| handle.join().expect("no task panicked"))
//!     .collect();
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//! ```
//!
//! A task that panics still kills its worker in this stage, and its result is lost: its handle
//! reports [`TaskLost`] instead of waiting forever. Stage 05 keeps the worker alive.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

/// A task as the workers receive it.
///
/// As in stage 03, a small trait rather than `Box<dyn FnOnce() + Send>`, so that a job the queue
/// refuses can be turned back into the caller's task (see [`into_task`]).
trait Job: Send {
    fn run(self: Box<Self>);
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

// New: the queue cannot hold closures of different return types, so each task travels together
// with the sending side of its result slot, and the worker runs the pair.
/// A task and the place its value goes.
struct WithResult<F, R> {
    task: F,
    result: ResultSender<R>,
}

impl<F, R> Job for WithResult<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    fn run(self: Box<Self>) {
        let WithResult { task, result } = *self;
        // If `task` panics, `send` is never reached, and dropping `result` while the worker
        // unwinds marks the slot as lost: the handle learns that no value will come.
        result.send(task());
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

// New: stage 03 boxed the task itself; here the box holds a `WithResult`, and the caller gets
// back their own closure, not the pair, so that `try_submit` loses nothing.
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

// New: a result slot per task, where the tutorial gives each task a `bounded(1)` channel.
//
// A channel is built for many messages: each one is a heap block of several hundred bytes
// (cache-padded indices, wait lists for senders and receivers), allocated by the submitter and
// freed by another thread. For a task that does nothing, that allocation was most of its cost.
// One value, written once and read once, needs only a `Mutex` around a small enum in an `Arc`.
//
// Rejected alternatives: a `Condvar` beside the `Mutex` (its wait cannot also watch
// `workers_alive`, see `TaskHandle::join`); and an atomic state with `thread::park`, which
// needs `unsafe` to hand the value over without a lock.
/// The slot a task's value waits in until its handle takes it. Shared by the job, which fills it,
/// and the handle, which empties it.
struct ResultSlot<R> {
    state: Mutex<SlotState<R>>,
}

enum SlotState<R> {
    /// No value yet. A handle that waits for one leaves the sending side of a wake-up channel
    /// here; filling the slot drops it, and the disconnect wakes the handle.
    Pending { wake: Option<Sender<()>> },
    /// The task returned this value.
    Done(R),
    /// The task panicked, or was dropped without running, or the handle took the value.
    Lost,
}

impl<R> ResultSlot<R> {
    fn new() -> Arc<Self> {
        Arc::new(ResultSlot {
            state: Mutex::new(SlotState::Pending { wake: None }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<R>> {
        // The lock is held only to read or replace the enum, never while a task runs, so a
        // poisoned lock still guards a whole value. Panicking here instead would be worse: the
        // sender fills the slot from a `Drop`, which may run while its worker unwinds.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the task's outcome, and wakes the handle if it is waiting.
    fn fill(&self, outcome: SlotState<R>) {
        let mut state = self.lock();
        let previous = mem::replace(&mut *state, outcome);
        drop(state);
        // Dropped after unlocking, so that the woken handle does not find the lock still held.
        drop(previous);
    }
}

/// The job's side of a result slot: it fills the slot exactly once, with the value or as lost.
struct ResultSender<R> {
    // An `Option` so that `send` can take it, and `Drop` knows whether a value was sent.
    slot: Option<Arc<ResultSlot<R>>>,
}

impl<R> ResultSender<R> {
    fn send(mut self, value: R) {
        if let Some(slot) = self.slot.take() {
            slot.fill(SlotState::Done(value));
        }
    }
}

impl<R> Drop for ResultSender<R> {
    fn drop(&mut self) {
        // Reached with the slot still here only if `send` never ran: the task panicked, or the
        // job was dropped unrun. Without this the handle would wait for a value that never comes.
        if let Some(slot) = self.slot.take() {
            slot.fill(SlotState::Lost);
        }
    }
}

/// A fixed set of worker threads fed by a bounded queue.
///
/// Dropping the pool, or calling [`WorkerPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and joins them.
#[derive(Debug)]
pub struct WorkerPool {
    // An `Option` so that `Drop` can close the channel before joining the workers.
    sender: Option<Sender<Box<dyn Job>>>,
    workers: Vec<JoinHandle<()>>,
    // New: never carries a message. Every worker thread holds a clone of its sender, so this
    // channel disconnects when the last worker has exited, whether it finished or panicked.
    // Each handle keeps a clone of this receiver to notice that.
    workers_alive: Receiver<()>,
}

impl WorkerPool {
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
        assert!(workers > 0, "a WorkerPool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Box<dyn Job>>(queue_capacity);
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        let workers = (0..workers)
            .map(|id| spawn_worker(id, receiver.clone(), alive.clone()))
            .collect();
        // The pool keeps neither a job receiver nor an `alive` sender of its own: when every
        // worker has exited, `submit` reports it and handles stop waiting.
        drop(receiver);
        drop(alive);
        WorkerPool {
            sender: Some(sender),
            workers,
            workers_alive,
        }
    }

    // New: any return type `R`, delivered through the returned handle.
    /// Queues `task` for the workers, waiting while the queue is full, and returns a handle to
    /// its result.
    ///
    /// Dropping the handle does not cancel the task: it still runs, and its value is discarded.
    ///
    /// # Errors
    ///
    /// Returns [`SubmitError`] if no worker is left to run the task. In this stage a task that
    /// panics takes its worker down with it (stage 05 fixes that), so once every worker has
    /// panicked, the pool can only refuse.
    pub fn submit<F, R>(&self, task: F) -> Result<TaskHandle<R>, SubmitError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, handle) = self.prepare(task);
        // `send` blocks while the queue is full. This is the backpressure.
        self.sender().send(job).map_err(|_| SubmitError)?;
        Ok(handle)
    }

    /// Queues `task` only if there is room right now; never waits.
    ///
    /// This is the building block for policies other than waiting: reject the task, run it on
    /// the calling thread ("caller runs"), or keep it for later.
    ///
    /// # Errors
    ///
    /// Returns the task itself inside [`TrySubmitError::Full`] when the queue is full, or inside
    /// [`TrySubmitError::Closed`] when no worker is left, so it is never lost.
    pub fn try_submit<F, R>(&self, task: F) -> Result<TaskHandle<R>, TrySubmitError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, handle) = self.prepare(task);
        match self.sender().try_send(job) {
            Ok(()) => Ok(handle),
            Err(TrySendError::Full(job)) => Err(TrySubmitError::Full(into_task::<F, R>(job))),
            Err(TrySendError::Disconnected(job)) => {
                Err(TrySubmitError::Closed(into_task::<F, R>(job)))
            }
        }
    }

    /// Queues `task`, waiting at most `timeout` for room in the queue.
    ///
    /// # Errors
    ///
    /// Returns the task itself inside [`SubmitTimeoutError::Timeout`] when no slot freed up in
    /// time, or inside [`SubmitTimeoutError::Closed`] when no worker is left.
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
            Ok(()) => Ok(handle),
            Err(SendTimeoutError::Timeout(job)) => {
                Err(SubmitTimeoutError::Timeout(into_task::<F, R>(job)))
            }
            Err(SendTimeoutError::Disconnected(job)) => {
                Err(SubmitTimeoutError::Closed(into_task::<F, R>(job)))
            }
        }
    }

    // New: one result slot per task, shared by the job and the handle.
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
        (Box::new(WithResult { task, result }), handle)
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

    /// Runs every task already queued, then stops and joins the workers.
    ///
    /// Dropping the pool does the same; this method names the moment in the code. Handles stay
    /// valid afterwards: results of finished tasks wait in their slots until joined.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        // Closing the channel does not discard queued tasks: the workers' `recv` keeps
        // returning them until the queue is empty, and only then reports the disconnect.
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            // A worker that panicked has already printed its panic message; joining the
            // others matters more than re-raising it here, where a second panic would abort.
            let _ = worker.join();
        }
    }
}

// New: the handle that `submit` returns.
/// The caller's side of one submitted task. [`TaskHandle::join`] waits for its result.
///
/// Dropping a handle neither cancels the task nor blocks.
#[must_use = "dropping a TaskHandle discards the task's result (the task still runs)"]
pub struct TaskHandle<R> {
    slot: Arc<ResultSlot<R>>,
    workers_alive: Receiver<()>,
}

impl<R> TaskHandle<R> {
    /// Waits until the task has finished and returns its value.
    ///
    /// # Errors
    ///
    /// Returns [`TaskLost`] if the task will never produce a value: it panicked (and took its
    /// worker down), or every worker exited while the task was still queued.
    pub fn join(self) -> Result<R, TaskLost> {
        let mut state = self.slot.lock();
        if let SlotState::Pending { wake } = &mut *state {
            // Only a handle that has to wait pays for a channel. Waiting on the slot alone is
            // not enough: a task still queued when the last worker dies is never run and never
            // dropped (the queue keeps it until the pool is dropped), so its slot would stay
            // pending, possibly forever. So also watch `workers_alive`.
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
            SlotState::Done(value) => Ok(value),
            SlotState::Pending { .. } | SlotState::Lost => Err(TaskLost),
        }
    }
}

// Written by hand: `#[derive(Debug)]` would require `R: Debug` for no reason.
impl<R> fmt::Debug for TaskHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle").finish_non_exhaustive()
    }
}

// New: the error a handle reports instead of hanging.
/// The error [`TaskHandle::join`] returns when a task ended without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLost;

impl fmt::Display for TaskLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the task panicked and took its worker down, or no worker was left to run it")
    }
}

impl Error for TaskLost {}

/// The error [`WorkerPool::submit`] returns when every worker has exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitError;

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every worker has exited, so the task cannot run")
    }
}

impl Error for SubmitError {}
/// Why [`WorkerPool::try_submit`] refused a task; either way the task comes back.
pub enum TrySubmitError<F> {
    /// The queue was full.
    Full(F),
    /// Every worker has exited.
    Closed(F),
}

impl<F> TrySubmitError<F> {
    /// Takes the refused task back.
    pub fn into_task(self) -> F {
        match self {
            TrySubmitError::Full(task) | TrySubmitError::Closed(task) => task,
        }
    }
}

impl<F> fmt::Display for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("the queue is full"),
            TrySubmitError::Closed(_) => SubmitError.fmt(f),
        }
    }
}

// Written by hand because the derive would require `F: Debug`, and closures never are.
impl<F> fmt::Debug for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("Full(..)"),
            TrySubmitError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<F> Error for TrySubmitError<F> {}

/// Why [`WorkerPool::submit_timeout`] gave up on a task; either way the task comes back.
pub enum SubmitTimeoutError<F> {
    /// The queue stayed full for the whole timeout.
    Timeout(F),
    /// Every worker has exited.
    Closed(F),
}

impl<F> SubmitTimeoutError<F> {
    /// Takes the refused task back.
    pub fn into_task(self) -> F {
        match self {
            SubmitTimeoutError::Timeout(task) | SubmitTimeoutError::Closed(task) => task,
        }
    }
}

impl<F> fmt::Display for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => {
                f.write_str("the queue stayed full until the timeout")
            }
            SubmitTimeoutError::Closed(_) => SubmitError.fmt(f),
        }
    }
}

// Written by hand because the derive would require `F: Debug`, and closures never are.
impl<F> fmt::Debug for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SubmitTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<F> Error for SubmitTimeoutError<F> {}

fn spawn_worker(id: usize, receiver: Receiver<Box<dyn Job>>, alive: Sender<()>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            // New: held, never used. It is dropped when this thread ends, after every slot of a
            // task this worker took has been filled, even if a task panicked.
            let _alive = alive;
            // No lock around `recv`. Several workers can wait on the same channel, and each
            // task goes to exactly one of them.
            while let Ok(job) = receiver.recv() {
                job.run();
            }
        })
        .expect("failed to spawn a worker thread")
}
