//! Stage 03: a worker pool on crossbeam's bounded multi-producer, multi-consumer channel.
//!
//! Two changes from stage 02. Each worker owns a clone of the receiver, so no mutex stands
//! between the workers and the queue. And the queue has a capacity: once it is full,
//! [`WorkerPool::submit`] waits for a worker to take a task. That wait is backpressure: a producer
//! that is faster than the workers is slowed down to their pace instead of piling tasks up in
//! memory. Waiting is one answer to a full queue; the [`policies`] module has the others.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use stage03_crossbeam_bounded::WorkerPool;
//!
//! let done = Arc::new(AtomicUsize::new(0));
//! let pool = WorkerPool::new(2, 4);
//! for _ in 0..10 {
//!     let done = Arc::clone(&done);
//!     pool.submit(move || {
//!         done.fetch_add(1, Ordering::SeqCst);
//!     })
//!     .expect("the workers are alive");
//! }
//! pool.shutdown();
//! assert_eq!(done.load(Ordering::SeqCst), 10);
//! ```

use std::error::Error;
use std::fmt;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

// New: what to do when the queue is full, other than wait.
pub mod policies;

// New: the policies' errors, at the crate root.
pub use policies::{SubmitTimeoutError, TrySubmitError};

// Changed: public, so that a full queue can hand a refused task back.
/// A task as the workers receive it: any closure that can move to another thread.
///
/// Public in this stage because a full queue hands a refused task back in this form
/// ([`TrySubmitError::Full`]); the caller can run it, `job()`, or drop it.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

// Changed: `WorkerPool`, the tutorial's name for a pool whose queue has a capacity.
/// A fixed set of worker threads fed by a bounded queue.
///
/// Dropping the pool, or calling [`WorkerPool::shutdown`], closes the queue, lets the workers
/// finish every task already queued, and joins them.
#[derive(Debug)]
pub struct WorkerPool {
    // Changed: crossbeam's bounded `Sender` replaces the unbounded `mpsc::Sender`; still an
    // `Option` so that `Drop` can close the channel first.
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
        // New: a bounded channel. Its receiver can be cloned, so each worker gets its own.
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let mut handles = Vec::with_capacity(workers);
        for id in 0..workers {
            handles.push(spawn_worker(id, receiver.clone()));
        }
        // New: the pool keeps no receiver of its own. When every worker has exited, the channel
        // is disconnected and `submit` reports it instead of waiting forever.
        drop(receiver);
        Self {
            sender: Some(sender),
            workers: handles,
        }
    }

    // Changed: `execute` becomes `submit`, which waits while the queue is full and returns an
    // error instead of panicking when no worker is left.
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
        // New: `send` blocks while the queue is full. This is the backpressure.
        self.sender().send(Box::new(task)).map_err(|_| SubmitError)
    }

    // New: the sender, for `submit` and the policies alike.
    fn sender(&self) -> &Sender<Job> {
        self.sender.as_ref().expect("the sender lives until drop")
    }

    // New: a name for the moment the pool stops.
    /// Runs every task already queued, then stops and joins the workers.
    ///
    /// Dropping the pool does the same; this method names the moment in the code.
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

// New: stage 02's `execute` panicked when no worker was left; `submit` returns this instead.
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
            // New: no lock around `recv`. Several workers can wait on the same channel, and
            // each task goes to exactly one of them.
            while let Ok(job) = receiver.recv() {
                job();
            }
        })
        .expect("failed to spawn a worker thread")
}
