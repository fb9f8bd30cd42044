//! The starting point: stage 03's pool, unchanged, plus a stub of
//! [`WorkerPool::high_water_mark`]. Make `cargo test -p ex2-high-water-03` pass by editing this
//! file; the places to change are marked `Exercise:`.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

/// A task as the workers receive it.
///
/// A small trait instead of `Box<dyn FnOnce() + Send>`. When the queue refuses a task,
/// crossbeam hands back the box it was given; `into_any` lets us turn that box back into the
/// caller's own closure type, so [`WorkerPool::try_submit`] can return the task instead of
/// dropping it. A `Box<dyn FnOnce()>` can only be called, never given back.
trait Job: Send {
    fn run(self: Box<Self>);
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<F> Job for F
where
    F: FnOnce() + Send + 'static,
{
    fn run(self: Box<Self>) {
        (*self)();
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// Recovers the closure `F` from the job the pool boxed a moment ago.
fn into_task<F: 'static>(job: Box<dyn Job>) -> F {
    let task = job
        .into_any()
        .downcast::<F>()
        .expect("a refused job is the task the caller just gave us");
    *task
}

/// A fixed set of worker threads fed by a bounded queue.
///
/// Dropping the pool, or calling [`WorkerPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and joins them.
#[derive(Debug)]
pub struct WorkerPool {
    // Crossbeam's `Sender`, created `bounded`, replaces the unbounded `mpsc::Sender`.
    // An `Option` so that `Drop` can close the channel before joining the workers.
    sender: Option<Sender<Box<dyn Job>>>,
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
    /// Panics if `workers` is 0 (such a pool could never run a task) or if the operating system
    /// refuses to start a thread.
    pub fn new(workers: usize, queue_capacity: usize) -> Self {
        assert!(workers > 0, "a WorkerPool needs at least one worker");
        // A bounded channel. Its receiver can be cloned, so each worker gets its own.
        let (sender, receiver) = crossbeam_channel::bounded::<Box<dyn Job>>(queue_capacity);
        let workers = (0..workers)
            .map(|id| spawn_worker(id, receiver.clone()))
            .collect();
        // The pool keeps no receiver of its own: when every worker has exited, the channel
        // is disconnected and `submit` reports it instead of waiting forever.
        drop(receiver);
        WorkerPool {
            sender: Some(sender),
            workers,
        }
    }

    /// Queues `task` for the workers, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// Returns [`SubmitError`] if no worker is left to run the task. In this stage a task that
    /// panics takes its worker down with it (stage 05 fixes that), so once every worker has
    /// panicked, the pool can only refuse.
    pub fn submit<F>(&self, task: F) -> Result<(), SubmitError>
    where
        F: FnOnce() + Send + 'static,
    {
        // `send` blocks while the queue is full. This is the backpressure.
        self.sender().send(Box::new(task)).map_err(|_| SubmitError)
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
    pub fn try_submit<F>(&self, task: F) -> Result<(), TrySubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        match self.sender().try_send(Box::new(task)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => Err(TrySubmitError::Full(into_task(job))),
            Err(TrySendError::Disconnected(job)) => Err(TrySubmitError::Closed(into_task(job))),
        }
    }

    /// Queues `task`, waiting at most `timeout` for room in the queue.
    ///
    /// # Errors
    ///
    /// Returns the task itself inside [`SubmitTimeoutError::Timeout`] when no slot freed up in
    /// time, or inside [`SubmitTimeoutError::Closed`] when no worker is left.
    pub fn submit_timeout<F>(&self, task: F, timeout: Duration) -> Result<(), SubmitTimeoutError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        match self.sender().send_timeout(Box::new(task), timeout) {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Timeout(job)) => Err(SubmitTimeoutError::Timeout(into_task(job))),
            Err(SendTimeoutError::Disconnected(job)) => {
                Err(SubmitTimeoutError::Closed(into_task(job)))
            }
        }
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

    /// The deepest the queue has been since the pool started: the most tasks that waited in it
    /// at the same moment, not counting running ones.
    ///
    /// Next to the queue's capacity it says how much of the queue a run used: a mark at the
    /// capacity means some submit found the queue full and waited; a mark far below it means
    /// the queue is larger than this workload needs.
    pub fn high_water_mark(&self) -> usize {
        // Exercise: this is the depth right now, which drops back to 0 as soon as the workers
        // catch up. Remember the deepest depth instead: every way of submitting can raise it.
        self.queued()
    }

    /// Runs every task already queued, then stops and joins the workers.
    ///
    /// Dropping the pool does the same; this method names the moment in the code.
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

fn spawn_worker(id: usize, receiver: Receiver<Box<dyn Job>>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            // No lock around `recv`. Several workers can wait on the same channel, and
            // each task goes to exactly one of them.
            while let Ok(job) = receiver.recv() {
                job.run();
            }
        })
        .expect("failed to spawn a worker thread")
}
