//! What to do when the queue is full, other than wait.
//!
//! [`WorkerPool::submit`] waits for a free slot, which is the right default: it slows the
//! producer down to the workers' pace. Some callers cannot wait. [`WorkerPool::try_submit`] never
//! waits and [`WorkerPool::submit_timeout`] waits a bounded time; when they refuse a task, they
//! hand it back as the boxed [`Job`] it became, so the caller decides its fate:
//!
//! - **reject**: drop the job, and count or log that it did not run;
//! - **caller runs**: call `job()` on the submitting thread, which slows the producer down too;
//! - **wait after all**: pass the job to `submit`, which boxes it once more (a `Job` is a
//!   closure too).
//!
//! ```
//! use stage03_crossbeam_bounded::{TrySubmitError, WorkerPool};
//!
//! let pool = WorkerPool::new(1, 0);
//! for _ in 0..3 {
//!     match pool.try_submit(|| println!("ran on a worker")) {
//!         Ok(()) => {}
//!         // Caller runs: the task runs here, on the submitting thread.
//!         Err(TrySubmitError::Full(job)) => job(),
//!         Err(TrySubmitError::Closed(_)) => unreachable!("the worker never panics"),
//!     }
//! }
//! pool.shutdown();
//! ```

use std::error::Error;
use std::fmt;
use std::time::Duration;

use crossbeam_channel::{SendTimeoutError, TrySendError};

use crate::{Job, SubmitError, WorkerPool};

impl WorkerPool {
    /// Queues `task` only if there is room right now; never waits.
    ///
    /// # Errors
    ///
    /// Hands the task back, boxed, inside [`TrySubmitError::Full`] when the queue is full, or
    /// inside [`TrySubmitError::Closed`] when no worker is left, so it is never lost silently.
    pub fn try_submit<F>(&self, task: F) -> Result<(), TrySubmitError>
    where
        F: FnOnce() + Send + 'static,
    {
        // crossbeam gives back the message it could not send: our boxed task.
        self.sender()
            .try_send(Box::new(task))
            .map_err(|error| match error {
                TrySendError::Full(job) => TrySubmitError::Full(job),
                TrySendError::Disconnected(job) => TrySubmitError::Closed(job),
            })
    }

    /// Queues `task`, waiting at most `timeout` for room in the queue.
    ///
    /// # Errors
    ///
    /// Hands the task back, boxed, inside [`SubmitTimeoutError::Timeout`] when no slot freed up
    /// in time, or inside [`SubmitTimeoutError::Closed`] when no worker is left.
    pub fn submit_timeout<F>(&self, task: F, timeout: Duration) -> Result<(), SubmitTimeoutError>
    where
        F: FnOnce() + Send + 'static,
    {
        self.sender()
            .send_timeout(Box::new(task), timeout)
            .map_err(|error| match error {
                SendTimeoutError::Timeout(job) => SubmitTimeoutError::Timeout(job),
                SendTimeoutError::Disconnected(job) => SubmitTimeoutError::Closed(job),
            })
    }
}

/// Why [`WorkerPool::try_submit`] refused a task; either way the task comes back as a [`Job`].
pub enum TrySubmitError {
    /// The queue was full.
    Full(Job),
    /// Every worker has exited.
    Closed(Job),
}

impl TrySubmitError {
    /// Takes the refused task back, to run it or drop it.
    pub fn into_job(self) -> Job {
        match self {
            TrySubmitError::Full(job) | TrySubmitError::Closed(job) => job,
        }
    }
}

/// Why [`WorkerPool::submit_timeout`] gave up on a task; either way the task comes back as a
/// [`Job`].
pub enum SubmitTimeoutError {
    /// The queue stayed full for the whole timeout.
    Timeout(Job),
    /// Every worker has exited.
    Closed(Job),
}

impl SubmitTimeoutError {
    /// Takes the refused task back, to run it or drop it.
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
