//! Exercise 2's starting point: stage 03's `src/lib.rs` and `src/policies.rs` without their doc
//! comments, plus a `high_water_mark` that reports the queue's depth right now. Edit this file
//! until `cargo test` passes; every place to change is marked `Exercise:`. `New:` and `Changed:`
//! mark what stage 03 added to stage 02 and what it changed there.

use std::error::Error;
use std::fmt;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

// Changed: public, so that a full queue can hand a refused task back.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

// Changed: `WorkerPool`, the tutorial's name for a pool whose queue has a capacity.
#[derive(Debug)]
pub struct WorkerPool {
    // Changed: crossbeam's bounded `Sender` replaces the unbounded `mpsc::Sender`; still an
    // `Option` so that `Drop` can close the channel first.
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    // Exercise: somewhere to remember the deepest the queue has been.
}

impl WorkerPool {
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
        // Exercise: and its value when no task has waited yet.
        Self {
            sender: Some(sender),
            workers: handles,
        }
    }

    // Changed: `execute` becomes `submit`, which waits while the queue is full and returns an
    // error instead of panicking when no worker is left.
    pub fn submit<F>(&self, task: F) -> Result<(), SubmitError>
    where
        F: FnOnce() + Send + 'static,
    {
        // New: `send` blocks while the queue is full. This is the backpressure.
        // Exercise: a task that went into the queue may have made it deeper than ever before.
        self.sender().send(Box::new(task)).map_err(|_| SubmitError)
    }

    // New: the sender, for `submit` and the policies alike.
    fn sender(&self) -> &Sender<Job> {
        self.sender.as_ref().expect("the sender lives until drop")
    }

    /// The deepest the queue has been since the pool started: the most tasks that waited in it
    /// at the same moment, not counting running ones.
    pub fn high_water_mark(&self) -> usize {
        // Exercise: this is the depth right now, which drops back to 0 as soon as the workers
        // catch up. Remember the deepest depth instead.
        self.sender().len()
    }

    // New: a name for the moment the pool stops.
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

// The stage keeps what follows in a module of its own, `policies`: what to do when the queue is
// full, other than wait.

impl WorkerPool {
    pub fn try_submit<F>(&self, task: F) -> Result<(), TrySubmitError>
    where
        F: FnOnce() + Send + 'static,
    {
        // crossbeam gives back the message it could not send: our boxed task.
        // Exercise: as in `submit`, but only for a task that went in.
        self.sender()
            .try_send(Box::new(task))
            .map_err(|error| match error {
                TrySendError::Full(job) => TrySubmitError::Full(job),
                TrySendError::Disconnected(job) => TrySubmitError::Closed(job),
            })
    }

    pub fn submit_timeout<F>(&self, task: F, timeout: Duration) -> Result<(), SubmitTimeoutError>
    where
        F: FnOnce() + Send + 'static,
    {
        // Exercise: as in `submit`, but only for a task that went in.
        self.sender()
            .send_timeout(Box::new(task), timeout)
            .map_err(|error| match error {
                SendTimeoutError::Timeout(job) => SubmitTimeoutError::Timeout(job),
                SendTimeoutError::Disconnected(job) => SubmitTimeoutError::Closed(job),
            })
    }
}

pub enum TrySubmitError {
    Full(Job),
    Closed(Job),
}

impl TrySubmitError {
    pub fn into_job(self) -> Job {
        match self {
            TrySubmitError::Full(job) | TrySubmitError::Closed(job) => job,
        }
    }
}

pub enum SubmitTimeoutError {
    Timeout(Job),
    Closed(Job),
}

impl SubmitTimeoutError {
    pub fn into_job(self) -> Job {
        match self {
            SubmitTimeoutError::Timeout(job) | SubmitTimeoutError::Closed(job) => job,
        }
    }
}

impl fmt::Display for TrySubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("the queue is full"),
            TrySubmitError::Closed(_) => SubmitError.fmt(f),
        }
    }
}

impl fmt::Display for SubmitTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => {
                f.write_str("the queue stayed full until the timeout")
            }
            SubmitTimeoutError::Closed(_) => SubmitError.fmt(f),
        }
    }
}

// Written by hand: a boxed closure has no `Debug`, so the derive cannot be used.
impl fmt::Debug for TrySubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("Full(..)"),
            TrySubmitError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl fmt::Debug for SubmitTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SubmitTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl Error for TrySubmitError {}

impl Error for SubmitTimeoutError {}
