//! The reference solution: stage 05's pool with a panic handler. The places that differ from the
//! starting point are marked `Solution:`; `diff src/start.rs src/solution.rs` shows them all.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

/// A task as the workers receive it. The worker passes in what the pool shares, so the job can
/// record its outcome the moment it is known.
// Solution: `&Shared` instead of `&Counters`, because the job now needs the panic handler too.
type Job = Box<dyn FnOnce(&Shared) + Send + 'static>;

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
    sender: Option<Sender<Job>>,
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
    // Solution: beside the counters, because it is called at the same moment they are updated.
    panic_handler: PanicHandler,
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

// Solution: the handler and its two trait implementations.
/// What the workers call with every caught panic.
///
/// A type of its own because `Shared` derives `Debug` and `Default`, and a boxed closure has
/// neither; the default handler does nothing, which is what [`ResilientPool::new`] wants.
struct PanicHandler(Box<dyn Fn(&TaskPanicked) + Send + Sync>);

impl PanicHandler {
    fn call(&self, error: &TaskPanicked) {
        // The handler is code from outside, like the task, and gets the same treatment: if it
        // panics, the panic hook has reported that, and the worker still delivers the task's
        // outcome instead of dying. Rejected: letting the panic end the worker, which would be
        // replaced but would leave the task's handle with "never ran" instead of its message.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| (self.0)(error)));
    }
}

impl Default for PanicHandler {
    fn default() -> Self {
        PanicHandler(Box::new(|_| {}))
    }
}

// Written by hand: closures do not implement `Debug`.
impl fmt::Debug for PanicHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PanicHandler(..)")
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
        Self::build(workers, queue_capacity, PanicHandler::default())
    }

    // Solution: `new`'s body, with the handler as a parameter.
    fn build(workers: usize, queue_capacity: usize, panic_handler: PanicHandler) -> Self {
        assert!(workers > 0, "a ResilientPool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        let shared = Arc::new(Shared {
            panic_handler,
            ..Shared::default()
        });
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

    /// Like [`ResilientPool::new`], and calls `handler` with every panic a task causes.
    ///
    /// The handler runs on the worker thread that caught the panic, after the pool has counted
    /// it and before the task's handle receives the error: once `join` has returned an error,
    /// the handler has seen it. That makes it one place to log, count or alert on every panic,
    /// whoever submitted the task and whether or not anyone joins its handle. A handler that
    /// panics itself is caught too: it costs neither the worker nor the task's outcome.
    ///
    /// # Panics
    ///
    /// As [`ResilientPool::new`]: if `workers` is 0 or a thread cannot be started.
    pub fn with_panic_handler<H>(workers: usize, queue_capacity: usize, handler: H) -> Self
    where
        H: Fn(&TaskPanicked) + Send + Sync + 'static,
    {
        Self::build(workers, queue_capacity, PanicHandler(Box::new(handler)))
    }

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
        let (result_sender, result) = crossbeam_channel::bounded(1);
        let job = Box::new(move |shared: &Shared| run_task(task, &result_sender, shared));
        let sender = self.sender.as_ref().expect("the sender lives until drop");
        // `send` blocks while the queue is full. This is the backpressure. It fails only when no
        // worker thread is left at all (see above); the job and its result sender are dropped.
        let _ = sender.send(job);
        TaskHandle {
            result,
            workers_alive: self.workers_alive.clone(),
        }
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
    /// valid afterwards: results of finished tasks wait in their channels until joined.
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
fn run_task<F, R>(task: F, result: &Sender<Result<R, TaskPanicked>>, shared: &Shared)
where
    F: FnOnce() -> R,
{
    // `catch_unwind` requires an unwind-safe closure, so that nobody observes state that a panic
    // left half-updated. `AssertUnwindSafe` vouches for it, and that holds here: the task is
    // moved in and consumed, and after a panic nothing of it is used again; only the result
    // channel, which the task never touched, is. State the task shares through `Arc` is its
    // author's concern: a `Mutex` it held while panicking is poisoned, which tells the next user.
    let outcome = panic::catch_unwind(AssertUnwindSafe(task));
    // Counted first, so that the counters already include this task when its handle returns,
    // and so that nothing below (which can still panic, see `ResilientPool`) can skip the count.
    let counter = if outcome.is_ok() {
        &shared.counters.completed
    } else {
        &shared.counters.panicked
    };
    counter.fetch_add(1, Ordering::SeqCst);
    // A failed send means the caller dropped the handle; nobody wants the outcome then.
    match outcome {
        Ok(value) => {
            let _ = result.send(Ok(value));
        }
        Err(payload) => {
            let error = TaskPanicked::from_payload(payload.as_ref());
            // Solution: before the send, so that a caller whose `join` returned this error can
            // rely on the handler having seen it.
            shared.panic_handler.call(&error);
            let _ = result.send(Err(error));
            // Dropping the payload runs its destructor, which is arbitrary code and can panic
            // in turn. That panic is not caught: it ends this worker thread, whose `Worker`
            // guard then starts a replacement. The task was counted and reported already.
            drop(payload);
        }
    }
}

/// The caller's side of one submitted task. [`TaskHandle::join`] waits for its outcome.
///
/// A handle owns nothing but a receiving end: dropping it neither cancels the task nor blocks.
#[must_use = "dropping a TaskHandle discards the task's result (the task still runs)"]
pub struct TaskHandle<R> {
    // The task's outcome, not only its value, so that a panic arrives with its message.
    result: Receiver<Result<R, TaskPanicked>>,
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
        // As in stage 04: wait for the outcome, but stop waiting once no worker is left, since
        // a task still queued then would never run, and the queue would keep it until the pool
        // is dropped.
        crossbeam_channel::select! {
            recv(self.result) -> outcome => outcome.unwrap_or_else(|_| Err(TaskPanicked::never_ran())),
            // Every worker is gone. A worker sends each outcome before it exits, so an outcome
            // that was produced is in the channel by now.
            recv(self.workers_alive) -> _ => self
                .result
                .try_recv()
                .unwrap_or_else(|_| Err(TaskPanicked::never_ran())),
        }
    }
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

/// What one worker thread owns. It lives on that thread's stack, so its `Drop` runs when the
/// thread ends, also when a panic ends it. That is the moment to start a replacement.
struct Worker {
    id: usize,
    jobs: Receiver<Job>,
    alive: Sender<()>,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(&self) {
        // No lock around `recv`. Several workers can wait on the same channel, and each task
        // goes to exactly one of them.
        while let Ok(job) = self.jobs.recv() {
            job(&self.shared);
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
    jobs: Receiver<Job>,
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
