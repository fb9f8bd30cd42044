//! Stage 05: a pool that survives panicking tasks.
//!
//! In stage 04 a panicking task unwinds through its worker and ends the thread: the pool shrinks
//! by one, and once every worker is gone it can only refuse work. Here each task runs under
//! [`std::panic::catch_unwind`]. A panic costs the task, never the worker: the handle's
//! [`TaskHandle::join`] returns [`TaskPanicked`] with the panic message, the pool counts it, and
//! the worker takes the next task. Should a worker thread die anyway (a panic can escape
//! `catch_unwind`, see [`ResilientPool`]), a replacement with the same name starts in its place.
//! The bounded queue, the task cells that carry each value back, and the policies for a full queue
//! ([`ResilientPool::try_submit`], [`ResilientPool::submit_timeout`]) are stage 04's.
//!
//! ```
//! use stage05_panic_resilient::ResilientPool;
//!
//! let pool = ResilientPool::new(2, 4);
//! let answer = pool.submit(|| 6 * 7);
//! let failure = pool.submit(|| -> u32 { panic!("bad input") });
//!
//! assert_eq!(answer.join(), Ok(42));
//! assert_eq!(failure.join().unwrap_err().message(), "bad input");
//! // The worker that caught the panic is still there, and both outcomes were counted.
//! assert_eq!(pool.active_workers(), 2);
//! assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (1, 1));
//! pool.shutdown();
//! ```

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

// As in stage 04, the queue holds an `Arc` to a `TaskCell` that the task's handle shares: one
// allocation carries the task to a worker and its outcome back. (A `bounded(1)` channel per task,
// or a result slot beside a boxed task, cost more than an empty task itself.)
/// What a worker sees of a task: something to run, whatever it returns.
trait Job: Send + Sync {
    // New: the worker passes in the counters, so the task's outcome is counted the moment it is
    // known.
    fn run(&self, counters: &Counters);
}

/// What a handle sees of a task: an outcome with a value of type `R`, whatever closure computes it.
trait Outcome<R>: Send + Sync {
    fn join(&self, workers_alive: &Receiver<()>) -> Result<R, TaskPanicked>;
}

/// One submitted task, shared by the queue and the handle: the closure until a worker takes it
/// out, then how it ended.
struct TaskCell<F, R> {
    // Locked only to read or replace the enum, never while the task runs.
    state: Mutex<TaskState<F, R>>,
}

enum TaskState<F, R> {
    /// Not finished. `task` is the closure until a worker, or a refused submit, takes it out. A
    /// handle that waits leaves the sending side of a wake-up channel in `wake`; finishing the
    /// task drops it, and the disconnect wakes the handle.
    Pending {
        task: Option<F>,
        wake: Option<Sender<()>>,
    },
    // New: the outcome, not only the value, so that a panic arrives with its message.
    /// The task returned this value, or panicked with this message.
    Done(Result<R, TaskPanicked>),
    /// The handle took the outcome.
    Taken,
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
        // value. Panicking here instead would be worse: it would take a worker down.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the closure out, if nobody has yet.
    fn take_task(&self) -> Option<F> {
        match &mut *self.lock() {
            TaskState::Pending { task, .. } => task.take(),
            TaskState::Done(_) | TaskState::Taken => None,
        }
    }

    /// Stores the task's outcome, and wakes the handle if it is waiting.
    fn finish(&self, outcome: Result<R, TaskPanicked>) {
        let mut state = self.lock();
        let previous = mem::replace(&mut *state, TaskState::Done(outcome));
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
    fn run(&self, counters: &Counters) {
        // Always `Some`: the queue hands each task to one worker, once.
        let Some(task) = self.take_task() else { return };
        run_task(task, self, counters);
    }
}

impl<F, R> Outcome<R> for TaskCell<F, R>
where
    F: Send,
    R: Send,
{
    fn join(&self, workers_alive: &Receiver<()>) -> Result<R, TaskPanicked> {
        let mut state = self.lock();
        if let TaskState::Pending { wake, .. } = &mut *state {
            // As in stage 04: wait for the outcome, but stop waiting once no worker is left,
            // since a task still queued then would never run, and the queue would keep it until
            // the pool is dropped.
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
        match mem::replace(&mut *state, TaskState::Taken) {
            TaskState::Done(outcome) => outcome,
            TaskState::Pending { .. } | TaskState::Taken => Err(TaskPanicked::never_ran()),
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
    sender: Option<Sender<Arc<dyn Job>>>,
    // New: the counters and the list of threads, shared with the worker threads, which update
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
    // New: every worker thread started and not yet joined, replacements included. A `Vec` the
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

/// New: how the tasks ended.
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
        let (sender, receiver) = crossbeam_channel::bounded::<Arc<dyn Job>>(queue_capacity);
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

    // New: no `Result`. Stage 04 needed `SubmitError` because panics could kill every worker.
    /// Queues `task` for the workers, waiting while the queue is full, and returns a handle to
    /// its result.
    ///
    /// There is no `Result` to check: dead workers are replaced, so there is always one to run
    /// the task. (Only if the operating system refused to start replacements could none be
    /// left; then the task never runs, and its `join` says so.)
    ///
    /// Dropping the handle does not cancel the task: it still runs, and its value is discarded.
    pub fn submit<F, R>(&self, task: F) -> TaskHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let cell = TaskCell::new(task);
        // `send` blocks while the queue is full. This is the backpressure. It fails only when no
        // worker thread is left at all (see above); then the task stays pending in its cell, and
        // `join`, seeing no worker, says it never ran.
        let _ = self.sender().send(Arc::clone(&cell) as Arc<dyn Job>);
        self.handle(cell)
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
        let cell = TaskCell::new(task);
        match self.sender().try_send(Arc::clone(&cell) as Arc<dyn Job>) {
            Err(TrySendError::Full(_)) => Err(TrySubmitError::Full(cell.into_refused_task())),
            // New: no `Closed` case, for the reason `submit` has no `Result`: with no worker
            // left, the task stays pending, and `join` says it never ran.
            Ok(()) | Err(TrySendError::Disconnected(_)) => Ok(self.handle(cell)),
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
        let cell = TaskCell::new(task);
        match self
            .sender()
            .send_timeout(Arc::clone(&cell) as Arc<dyn Job>, timeout)
        {
            Err(SendTimeoutError::Timeout(_)) => {
                Err(SubmitTimeoutError::Timeout(cell.into_refused_task()))
            }
            // New: no `Closed` case, as in `try_submit`.
            Ok(()) | Err(SendTimeoutError::Disconnected(_)) => Ok(self.handle(cell)),
        }
    }

    /// The handle that shares the task's cell with the queue.
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

    // New: this method and the two below.
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
    /// valid afterwards: results of finished tasks wait in their cells until joined.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ResilientPool {
    fn drop(&mut self) {
        // Closing the channel does not discard queued tasks: the workers' `recv` keeps
        // returning them until the queue is empty, and only then reports the disconnect.
        drop(self.sender.take());
        // New: the list can grow while we join. A dying worker adds its replacement before its
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

/// New: runs one task on a worker thread, records how it ended, and hands the outcome to the
/// task's handle.
fn run_task<F, R>(task: F, cell: &TaskCell<F, R>, counters: &Counters)
where
    F: FnOnce() -> R,
{
    // `catch_unwind` requires an unwind-safe closure, so that nobody observes state that a panic
    // left half-updated. `AssertUnwindSafe` vouches for it, and that holds here: the task is
    // moved in and consumed, and after a panic nothing of it is used again; only its cell, which
    // the task never touched, is. State the task shares through `Arc` is its
    // author's concern: a `Mutex` it held while panicking is poisoned, which tells the next user.
    let outcome = panic::catch_unwind(AssertUnwindSafe(task));
    // Counted first, so that the counters already include this task when its handle returns,
    // and so that nothing below (which can still panic, see `ResilientPool`) can skip the count.
    let counter = if outcome.is_ok() {
        &counters.completed
    } else {
        &counters.panicked
    };
    counter.fetch_add(1, Ordering::SeqCst);
    match outcome {
        Ok(value) => cell.finish(Ok(value)),
        Err(payload) => {
            cell.finish(Err(TaskPanicked::from_payload(payload.as_ref())));
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
    task: Arc<dyn Outcome<R>>,
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
        self.task.join(&self.workers_alive)
    }
}

// Written by hand: `#[derive(Debug)]` would require `R: Debug` for no reason.
impl<R> fmt::Debug for TaskHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle").finish_non_exhaustive()
    }
}

// New: replaces stage 04's `TaskLost`, and carries the panic message.
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

// New: shared by `TaskPanicked` and any panic hook.
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

// New: a single case each. Stage 04's `Closed(F)` is gone, for the reason `submit` lost its
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

/// New: what one worker thread owns. It lives on that thread's stack, so its `Drop` runs when the
/// thread ends, also when a panic ends it. That is the moment to start a replacement.
struct Worker {
    id: usize,
    jobs: Receiver<Arc<dyn Job>>,
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
    jobs: Receiver<Arc<dyn Job>>,
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
