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
//! A task that panics still kills its worker in this stage, and its value never comes: its handle
//! reports [`TaskLost`]. Stage 05 keeps the workers alive.

use std::error::Error;
use std::fmt;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

// Changed: private again: this stage has no full-queue policies to hand a task back.
/// A task as the workers receive it: any closure that can move to another thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads fed by a bounded queue, returning each task's value.
///
/// Dropping the pool, or calling [`WorkerPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and joins them.
#[derive(Debug)]
pub struct WorkerPool {
    // An `Option` so that `Drop` can close the channel before joining the workers.
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
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
    /// Panics if `workers` is 0 (such a pool could never run a task), if the operating system
    /// refuses to start a thread, or if `queue_capacity` is too large for crossbeam to size. It
    /// allocates every slot up front, and a capacity that memory cannot hold aborts the process:
    /// bound it, as the demo's `--queue` does.
    pub fn new(workers: usize, queue_capacity: usize) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let mut handles = Vec::with_capacity(workers);
        for id in 0..workers {
            handles.push(spawn_worker(id, receiver.clone()));
        }
        // The pool keeps no receiver of its own. When every worker has exited, the channel
        // is disconnected and `submit` reports it instead of waiting forever.
        drop(receiver);
        Self {
            sender: Some(sender),
            workers: handles,
        }
    }

    // New: any return type `R`, delivered through the returned handle.
    /// Queues `task` for the workers, waiting while the queue is full, and returns a handle to
    /// its value.
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
        // New: a channel per task, with room for its one value: the worker never waits to send.
        let (result_sender, result) = crossbeam_channel::bounded(1);
        // New: the job the workers run is the task plus the send of its value.
        let job = Box::new(move || run_task(task, &result_sender));
        // `send` blocks while the queue is full. This is the backpressure.
        self.sender().send(job).map_err(|_| SubmitError)?;
        Ok(TaskHandle { result })
    }

    fn sender(&self) -> &Sender<Job> {
        self.sender.as_ref().expect("the sender lives until drop")
    }

    /// Runs every task already queued, then stops and joins the workers.
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
        for worker in self.workers.drain(..) {
            // As in stage 02: a worker that panicked has printed its message already.
            let _ = worker.join();
        }
    }
}

// New: the worker's side of a task: run it, then send its value to the handle.
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
}

impl<R> TaskHandle<R> {
    /// Waits until the task has finished and returns its value.
    ///
    /// # Errors
    ///
    /// Returns [`TaskLost`] if the task will never produce a value: it panicked, and took its
    /// worker down with it; or it was still queued when the last worker died, and the pool has
    /// been dropped since. (Until then, such a task waits in the queue, and so does `join`.)
    pub fn join(self) -> Result<R, TaskLost> {
        // A task that panics never sends, but its unwinding drops the job, and with it the
        // sender: `recv` sees the channel disconnect and returns an error instead of waiting.
        self.result.recv().map_err(|_| TaskLost)
    }
}

// New: the error a handle reports instead of waiting forever.
/// The error [`TaskHandle::join`] returns when a task ended without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLost;

impl fmt::Display for TaskLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the task panicked, or no worker was left to run it, so its value never came")
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

fn spawn_worker(id: usize, receiver: Receiver<Job>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            // No lock around `recv`. Several workers can wait on the same channel, and each
            // task goes to exactly one of them.
            while let Ok(job) = receiver.recv() {
                job();
            }
        })
        .expect("failed to spawn a worker thread")
}
