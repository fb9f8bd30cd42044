//! Stage 04: tasks that return a value, delivered through a handle.
//!
//! Stage 03's pool runs closures that return nothing; a caller that wants an answer has to build
//! its own channel. Here [`WorkerPool::submit`] accepts any `FnOnce() -> R` and returns a
//! [`TaskHandle<R>`]. Each task lives in a small cell that the queue and the handle share: the
//! worker takes the closure out and puts the value in, and [`TaskHandle::join`] takes the value
//! out, waiting if it is not there yet. The pool, the bounded queue,
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

use std::error::Error;
use std::fmt;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

// New: stage 03's queue holds each task in a `Box`. Here it holds an `Arc` to a `TaskCell` that the
// task's handle shares: one allocation carries the task to a worker and its value back.
//
// Rejected alternatives:
// - The tutorial's `bounded(1)` channel per task. A channel is built for many messages and many
//   waiting threads: a heap block of several hundred bytes (cache-padded indices, wait lists) plus
//   one for its buffer. With tiny tasks, making and freeing them cost more than all the rest of
//   the pool's work.
// - A small result slot beside stage 03's boxed task: two allocations per task instead of one,
//   and the worker frees a box that the submitting thread allocated. Measurably slower too.
// - A `Condvar` to wait on: its wait cannot also watch `workers_alive` (see `TaskCell::join`).
// - An atomic state with `thread::park`: handing the value over without a lock needs `unsafe`.
/// What a worker sees of a task: something to run, whatever it returns.
trait Job: Send + Sync {
    fn run(&self);
}

/// What a handle sees of a task: a value of type `R`, whatever closure computes it.
trait Outcome<R>: Send + Sync {
    fn join(&self, workers_alive: &Receiver<()>) -> Result<R, TaskLost>;
}

/// One submitted task, shared by the queue and the handle: the closure until a worker takes it
/// out, then the value it returned.
struct TaskCell<F, R> {
    // Locked only to read or replace the enum, never while the task runs.
    state: Mutex<TaskState<F, R>>,
}

enum TaskState<F, R> {
    /// No value yet. `task` is the closure until a worker, or a refused submit, takes it out. A
    /// handle that waits leaves the sending side of a wake-up channel in `wake`; finishing the
    /// task drops it, and the disconnect wakes the handle.
    Pending {
        task: Option<F>,
        wake: Option<Sender<()>>,
    },
    /// The task returned this value.
    Done(R),
    /// The task panicked, or the handle took the value.
    Lost,
}

impl<F, R> TaskCell<F, R> {
    fn new(task: F) -> Arc<Self> {
        Arc::new(TaskCell {
            state: Mutex::new(TaskState::Pending {
                task: Some(task),
                wake: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, TaskState<F, R>> {
        // Nothing can panic while the lock is held, so a poisoned lock would still guard a whole
        // value. Panicking here instead would be worse: `finish` also runs while a worker unwinds.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the closure out, if nobody has yet.
    fn take_task(&self) -> Option<F> {
        match &mut *self.lock() {
            TaskState::Pending { task, .. } => task.take(),
            TaskState::Done(_) | TaskState::Lost => None,
        }
    }

    /// Stores how the task ended, and wakes the handle if it is waiting.
    fn finish(&self, end: TaskState<F, R>) {
        let mut state = self.lock();
        let previous = mem::replace(&mut *state, end);
        drop(state);
        // Dropped after unlocking, so that the woken handle does not find the lock still held.
        drop(previous);
    }

    /// Takes back the closure of a task the queue refused. Nothing else can have taken it: a
    /// refused task never reaches a worker.
    fn into_refused_task(self: Arc<Self>) -> F {
        self.take_task()
            .expect("a refused task is still in its cell")
    }
}

impl<F, R> Job for TaskCell<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    fn run(&self) {
        // Always `Some`: the queue hands each task to one worker, once.
        let Some(task) = self.take_task() else { return };
        let _lost_if_it_panics = LostOnUnwind { cell: self };
        let value = task();
        self.finish(TaskState::Done(value));
    }
}

impl<F, R> Outcome<R> for TaskCell<F, R>
where
    F: Send,
    R: Send,
{
    fn join(&self, workers_alive: &Receiver<()>) -> Result<R, TaskLost> {
        let mut state = self.lock();
        if let TaskState::Pending { wake, .. } = &mut *state {
            // Only a handle that has to wait pays for a channel. Waiting for the value alone is
            // not enough: a task still queued when the last worker dies is never run and never
            // dropped (the queue keeps it until the pool is dropped), so it would stay pending,
            // possibly forever. So also watch `workers_alive`.
            let (wake_sender, woken) = crossbeam_channel::bounded::<()>(0);
            *wake = Some(wake_sender);
            drop(state);
            crossbeam_channel::select! {
                recv(woken) -> _ => {}
                // Every worker is gone. A worker finishes each task it took before it exits, so
                // a task still pending now never ran.
                recv(workers_alive) -> _ => {}
            }
            state = self.lock();
        }
        match mem::replace(&mut *state, TaskState::Lost) {
            TaskState::Done(value) => Ok(value),
            TaskState::Pending { .. } | TaskState::Lost => Err(TaskLost),
        }
    }
}

/// Marks its task lost if it is dropped while the thread unwinds from the task's panic. Without
/// it, the handle would wait for a value that never comes.
struct LostOnUnwind<'a, F, R> {
    cell: &'a TaskCell<F, R>,
}

impl<F, R> Drop for LostOnUnwind<'_, F, R> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.cell.finish(TaskState::Lost);
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
    sender: Option<Sender<Arc<dyn Job>>>,
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
        let (sender, receiver) = crossbeam_channel::bounded::<Arc<dyn Job>>(queue_capacity);
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
        let cell = TaskCell::new(task);
        // `send` blocks while the queue is full. This is the backpressure.
        self.sender()
            .send(Arc::clone(&cell) as Arc<dyn Job>)
            .map_err(|_| SubmitError)?;
        Ok(self.handle(cell))
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
        let cell = TaskCell::new(task);
        // New: the queue hands a refused job back, but we hold a second `Arc` to the same cell,
        // so the closure is taken back out of that. Stage 03's `into_any` and downcast are gone.
        match self.sender().try_send(Arc::clone(&cell) as Arc<dyn Job>) {
            Ok(()) => Ok(self.handle(cell)),
            Err(TrySendError::Full(_)) => Err(TrySubmitError::Full(cell.into_refused_task())),
            Err(TrySendError::Disconnected(_)) => {
                Err(TrySubmitError::Closed(cell.into_refused_task()))
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
        let cell = TaskCell::new(task);
        match self
            .sender()
            .send_timeout(Arc::clone(&cell) as Arc<dyn Job>, timeout)
        {
            Ok(()) => Ok(self.handle(cell)),
            Err(SendTimeoutError::Timeout(_)) => {
                Err(SubmitTimeoutError::Timeout(cell.into_refused_task()))
            }
            Err(SendTimeoutError::Disconnected(_)) => {
                Err(SubmitTimeoutError::Closed(cell.into_refused_task()))
            }
        }
    }

    // New: the handle shares the task's cell with the queue.
    fn handle<F, R>(&self, cell: Arc<TaskCell<F, R>>) -> TaskHandle<R>
    where
        F: Send + 'static,
        R: Send + 'static,
    {
        TaskHandle {
            task: cell,
            workers_alive: self.workers_alive.clone(),
        }
    }

    fn sender(&self) -> &Sender<Arc<dyn Job>> {
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
    /// valid afterwards: results of finished tasks wait in their cells until joined.
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
    task: Arc<dyn Outcome<R>>,
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
        self.task.join(&self.workers_alive)
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

fn spawn_worker(id: usize, receiver: Receiver<Arc<dyn Job>>, alive: Sender<()>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            // New: held, never used. It is dropped when this thread ends, after every task this
            // worker took has been finished, even one that panicked.
            let _alive = alive;
            // No lock around `recv`. Several workers can wait on the same channel, and each
            // task goes to exactly one of them.
            while let Ok(job) = receiver.recv() {
                job.run();
            }
        })
        .expect("failed to spawn a worker thread")
}
