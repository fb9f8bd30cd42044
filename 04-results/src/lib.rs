//! Stage 04: tasks that return a value, delivered through a handle.
//!
//! Stage 03's pool runs closures that return nothing; a caller that wants an answer has to build
//! its own channel. Here [`WorkerPool::submit`] accepts any `FnOnce() -> R` and returns a
//! [`TaskHandle<R>`]. Each task gets a private one-slot result channel: the worker sends the value
//! into it, and [`TaskHandle::join`] waits for it. The pool, the bounded queue, backpressure and
//! shutdown are stage 03's, unchanged.
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
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

/// A task as the workers receive it: any closure that can move to another thread.
///
/// The queue cannot hold closures of different return types, so `submit` wraps each task in a
/// closure that returns nothing and sends the task's value on that task's own result channel.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads fed by a bounded queue.
///
/// Dropping the pool, or calling [`WorkerPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and joins them.
#[derive(Debug)]
pub struct WorkerPool {
    // An `Option` so that `Drop` can close the channel before joining the workers.
    sender: Option<Sender<Job>>,
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
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
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
    /// The handle is a named type rather than the bare `Receiver<R>` of the task's result
    /// channel: the channel stays an implementation detail, and `join` turns "the channel
    /// disconnected" into an error that says what happened to the task.
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
        // New: one slot is all a result needs, so the worker's send never waits.
        let (result_sender, result) = crossbeam_channel::bounded(1);
        let job = Box::new(move || {
            // If `task` panics, this line is never reached and `result_sender` is dropped while
            // the worker unwinds: the handle sees the channel disconnect instead of a value.
            let value = task();
            // The send fails only if the caller dropped the handle; nobody wants the value then.
            let _ = result_sender.send(value);
        });
        let sender = self.sender.as_ref().expect("the sender lives until drop");
        // `send` blocks while the queue is full. This is the backpressure.
        sender.send(job).map_err(|_| SubmitError)?;
        Ok(TaskHandle {
            result,
            workers_alive: self.workers_alive.clone(),
        })
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
    /// valid afterwards: results of finished tasks wait in their channels until joined.
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
/// A handle owns nothing but a receiving end: dropping it neither cancels the task nor blocks.
#[must_use = "dropping a TaskHandle discards the task's result (the task still runs)"]
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
        // `recv` on the result alone is not enough. A panicking task drops its result sender,
        // so that case ends on its own. But a task still queued when the last worker dies is
        // never run and never dropped: the queue keeps it until the pool is dropped, and a bare
        // `recv` would wait that long, possibly forever. So also watch `workers_alive`.
        crossbeam_channel::select! {
            recv(self.result) -> value => value.map_err(|_| TaskLost),
            // Every worker is gone. A worker sends its results before it exits, so a value
            // that was produced is in the channel by now; anything else is lost.
            recv(self.workers_alive) -> _ => self.result.try_recv().map_err(|_| TaskLost),
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

fn spawn_worker(id: usize, receiver: Receiver<Job>, alive: Sender<()>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            // New: held, never used. It is dropped when this thread ends, after every result
            // this worker produced has been sent, even if a task panicked.
            let _alive = alive;
            // No lock around `recv`. Several workers can wait on the same channel, and each
            // task goes to exactly one of them.
            while let Ok(job) = receiver.recv() {
                job();
            }
        })
        .expect("failed to spawn a worker thread")
}
