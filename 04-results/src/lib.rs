//! Stage 04: tasks that return a value, delivered through a handle.
//!
//! Stage 03's pool runs closures that return nothing; a caller that wants an answer has to build
//! its own channel. Here [`WorkerPool::submit`] accepts any `FnOnce() -> R` and does that for it:
//! each task gets a channel with room for one value, which the worker sends, and the caller keeps
//! the receiving end in a [`TaskHandle`]. The bounded queue and shutdown are stage 03's.
//!
//! ```
//! use stage04_results::WorkerPool;
//!
//! let pool = WorkerPool::new(2, 4);
//! let handles: Vec<_> = (1..=5_u64)
//!     .map(|n| pool.submit(move || n * n).expect("the workers are alive"))
//!     .collect();
//! // Joined in submission order, the values come in that order, whichever task finished first.
//! let squares: Vec<u64> = handles
//!     .into_iter()
//!     .map(|handle| handle.join().expect("no task panicked"))
//!     .collect();
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//! ```
//!
//! A task that panics still kills its worker in this stage, and its value never comes. Its handle
//! reports [`TaskLost`] instead of waiting forever, and so does the handle of a task still queued
//! when the last worker has died. Stage 05 keeps the workers alive.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crossbeam_channel::{Receiver, Sender};

/// A task as the workers receive it: any closure that can move to another thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The id the next pool gets, so that a worker thread can tell which pool it works for.
static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// On a worker thread, the id of its pool; `None` on every other thread.
    static WORKER_OF: Cell<Option<usize>> = const { Cell::new(None) };
}

/// A fixed set of worker threads fed by a bounded queue, returning each task's value.
///
/// Dropping the pool, or calling [`WorkerPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and waits until every worker has exited.
#[derive(Debug)]
pub struct WorkerPool {
    // An `Option` so that `Drop` can close the channel before waiting for the workers.
    sender: Option<Sender<Job>>,
    // New: never carries a message. Every worker holds a clone of its sender, so it disconnects
    // when the last worker has exited, finished or panicked. The handles and `Drop` watch it.
    workers_alive: Receiver<()>,
    // Which pool this is, for `Drop` to tell when it runs on one of these workers.
    pool_id: usize,
}

impl WorkerPool {
    /// Starts `workers` threads, named `worker-0`, `worker-1`, ..., sharing a queue that holds
    /// at most `queue_capacity` waiting tasks; with 0, each `submit` waits for a free worker.
    ///
    /// # Panics
    ///
    /// Panics if `workers` is 0 (such a pool could never run a task), if crossbeam cannot
    /// allocate `queue_capacity` slots, or if the operating system refuses to start a thread.
    pub fn new(workers: usize, queue_capacity: usize) -> Self {
        Self::start(workers, queue_capacity, None)
    }

    /// Like [`WorkerPool::new`], with a stack of at least `stack_size` bytes for each worker
    /// instead of the standard library's default (2 MiB, or `RUST_MIN_STACK` if set).
    ///
    /// # Panics
    ///
    /// As [`WorkerPool::new`]; a stack too large for the system to reserve is a refused thread.
    pub fn with_stack_size(workers: usize, queue_capacity: usize, stack_size: usize) -> Self {
        Self::start(workers, queue_capacity, Some(stack_size))
    }

    fn start(workers: usize, queue_capacity: usize, stack_size: Option<usize>) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        let pool_id = NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed);
        for id in 0..workers {
            spawn_worker(id, pool_id, stack_size, &receiver, &alive)
                .expect("failed to spawn a worker thread");
        }
        // The pool keeps no receiver of its own. When every worker has exited, the channel
        // is disconnected and `submit` reports it instead of waiting forever.
        drop(receiver);
        // New: nor an `alive` sender, so that handles notice when no worker is left.
        drop(alive);
        Self {
            sender: Some(sender),
            workers_alive,
            pool_id,
        }
    }

    // New: any return type `R`, delivered through the returned handle.
    /// Queues `task` for the workers, waiting while the queue is full, and returns a handle to
    /// its value.
    ///
    /// # Errors
    ///
    /// Returns [`SubmitError`] if no worker is left to run the task: in this stage each task that
    /// panics takes its worker down (stage 05 fixes that).
    pub fn submit<F, R>(&self, task: F) -> Result<TaskHandle<R>, SubmitError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // New: a channel per task, with room for its one value: the worker never waits to send.
        let (result_sender, result) = crossbeam_channel::bounded(1);
        let job = Box::new(move || run_task(task, &result_sender));
        // `send` blocks while the queue is full. This is the backpressure.
        self.sender().send(job).map_err(|_| SubmitError)?;
        Ok(TaskHandle {
            result,
            workers_alive: self.workers_alive.clone(),
        })
    }

    fn sender(&self) -> &Sender<Job> {
        self.sender.as_ref().expect("the sender lives until drop")
    }

    /// Runs every task already queued, then waits until every worker has exited.
    ///
    /// Dropping the pool does the same. Handles stay valid: finished values wait to be joined.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        // Closing the channel keeps the queued tasks: `recv` fails only once the queue is empty.
        drop(self.sender.take());
        // When a task drops the last handle, this runs on one of the pool's workers, which cannot
        // wait for itself; the workers, that one too once its task returns, still drain the queue.
        if WORKER_OF.get() == Some(self.pool_id) {
            return;
        }
        // New: instead of joining each thread, wait until the last worker has dropped its
        // `alive` sender: `recv` returns an error once the channel disconnects.
        let _ = self.workers_alive.recv();
    }
}

// New: this item.
/// Runs one task on a worker thread and sends its value to the task's handle.
fn run_task<F, R>(task: F, result: &Sender<R>)
where
    F: FnOnce() -> R,
{
    // The handle may be gone already; then nobody wants the value.
    let _ = result.send(task());
}

// New: what `submit` returns instead of `()`.
/// The caller's side of one submitted task: [`TaskHandle::join`] waits for its value. Dropping a
/// handle neither cancels the task nor blocks.
#[derive(Debug)]
#[must_use = "dropping a TaskHandle discards the task's value (the task still runs)"]
pub struct TaskHandle<R> {
    result: Receiver<R>,
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
        // Waiting on `result` alone is not enough. A panicking task drops its sender, which
        // wakes us; but a task still queued when the last worker dies is never run and never
        // dropped (the queue keeps it until the pool is dropped), so we also watch the workers.
        let value = crossbeam_channel::select! {
            recv(self.result) -> value => value.ok(),
            // No worker is left. Each one sends the value of every task it took before it
            // exits, so a value that has not arrived by now never will.
            recv(self.workers_alive) -> _ => self.result.try_recv().ok(),
        };
        value.ok_or(TaskLost)
    }
}

// New: the error a handle reports instead of waiting forever.
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

// New: what a worker thread holds while it runs.
struct Worker {
    // Fields drop in order: the receiver before `alive`, also when a panic ends the thread. So
    // once a handle sees no worker alive, `submit` already refuses new tasks.
    jobs: Receiver<Job>,
    // Held, never read: dropping it is how a worker says it has exited.
    #[expect(dead_code)]
    alive: Sender<()>,
}

fn spawn_worker(
    id: usize,
    pool_id: usize,
    stack_size: Option<usize>,
    jobs: &Receiver<Job>,
    alive: &Sender<()>,
) -> io::Result<()> {
    let (jobs, alive) = (jobs.clone(), alive.clone());
    let mut builder = thread::Builder::new().name(format!("worker-{id}"));
    if let Some(bytes) = stack_size {
        builder = builder.stack_size(bytes);
    }
    builder
        .spawn(move || {
            WORKER_OF.set(Some(pool_id));
            let worker = Worker { jobs, alive };
            // No lock around `recv`. Several workers can wait on the same channel, and each
            // task goes to exactly one of them.
            while let Ok(job) = worker.jobs.recv() {
                job();
            }
        })
        // New: dropping the `JoinHandle` detaches the thread: `Drop` waits on `workers_alive`
        // instead, and the system frees the thread's stack as soon as it ends.
        .map(drop)
}
