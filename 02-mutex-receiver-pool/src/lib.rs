//! Stage 02: a fixed set of worker threads sharing one queue.
//!
//! Stage 01 started a thread for every task, so the input decided how many threads ran. Here the
//! program decides: [`ThreadPool::new`] starts a fixed number of workers once, and
//! [`ThreadPool::execute`] puts tasks on a channel that the workers take them from. However many
//! tasks arrive, the same threads run them, and never more tasks at once than there are workers.
//!
//! The channel is `std::sync::mpsc`: many senders, one receiver, and the receiver cannot be
//! cloned. So the workers share it behind `Arc<Mutex<..>>`, and each holds the lock only while it
//! takes the next task. Two problems are left for stage 03: every worker contends for that one
//! lock, and the channel is unbounded, so `execute` never waits and a producer that is faster
//! than the workers piles up every task it has in memory.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use stage02_mutex_receiver_pool::ThreadPool;
//!
//! let done = Arc::new(AtomicUsize::new(0));
//! let pool = ThreadPool::new(2);
//! for _ in 0..10 {
//!     let done = Arc::clone(&done);
//!     pool.execute(move || {
//!         done.fetch_add(1, Ordering::SeqCst);
//!     });
//! }
//! drop(pool); // waits until the workers have run every queued task
//! assert_eq!(done.load(Ordering::SeqCst), 10);
//! ```

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

/// A task as the workers receive it: any closure that can move to another thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed number of worker threads that run the tasks given to [`ThreadPool::execute`].
///
/// Dropping the pool closes the queue, lets the workers finish every task already queued, and
/// joins them. A task that panics ends the worker that ran it (stage 05 fixes that); the other
/// workers carry on.
#[derive(Debug)]
pub struct ThreadPool {
    // New: tasks go into a channel instead of getting a thread each. An `Option` so that `Drop`
    // can drop the sender, which closes the channel, before it joins the workers.
    sender: Option<Sender<Job>>,
    // New: the threads are started once, in `new`, and reused for every task.
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `size` worker threads, named `worker-0`, `worker-1`, ...
    ///
    /// # Panics
    ///
    /// Panics if `size` is 0 (such a pool would queue tasks that never run) or if the operating
    /// system refuses to start a thread.
    pub fn new(size: usize) -> Self {
        assert!(size > 0, "a ThreadPool needs at least one worker");
        let (sender, receiver) = mpsc::channel::<Job>();
        // New: `mpsc` allows a single receiver, so the workers share it behind a mutex.
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::with_capacity(size);
        for id in 0..size {
            workers.push(spawn_worker(id, Arc::clone(&receiver)));
        }
        ThreadPool {
            sender: Some(sender),
            workers,
        }
    }

    /// Queues `task` for the next free worker.
    ///
    /// Never waits: the queue has no limit, so every task is accepted at once and waits in
    /// memory until a worker takes it.
    ///
    /// # Panics
    ///
    /// Panics if every worker has exited, which happens here once each of them has run a task
    /// that panicked. (Stage 03's `submit` returns an error instead.)
    pub fn execute<F>(&self, task: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let sender = self.sender.as_ref().expect("the sender lives until drop");
        // New: `send` on an unbounded channel only fails when no receiver is left.
        sender
            .send(Box::new(task))
            .expect("every worker has exited, so the task cannot run");
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // New: closing the channel is the signal to stop. It does not discard queued tasks:
        // `recv` keeps returning them until the queue is empty, and only then reports the
        // disconnect, so the workers finish the backlog before they exit.
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            // A worker that panicked has printed its message already, and the pool has nothing
            // to add: the error is ignored rather than unwrapped, so the other workers are
            // still joined. (Its payload is dropped here; "Known limits" in the README says
            // what a payload that panics when dropped does.)
            let _ = worker.join();
        }
    }
}

fn spawn_worker(id: usize, receiver: Arc<Mutex<Receiver<Job>>>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            loop {
                // New: the lock is held for this one statement. The guard is a temporary,
                // dropped at the end of the `let`, so the job below runs without the lock and
                // the other workers can take tasks meanwhile.
                //
                // `while let Ok(job) = receiver.lock().unwrap().recv() { job() }` looks the
                // same but is not: temporaries in a `while let` condition live until the end of
                // the loop body, so the guard would be held while the job runs, and the workers
                // would run one job at a time. `tests/pool.rs` shows it.
                //
                // A poisoned lock is recovered rather than unwrapped. Poison means a thread
                // panicked while holding the lock, but all that happens under this lock is
                // `recv`, which leaves the receiver intact, and jobs run after the guard is
                // gone. Unwrapping would only make every other worker panic in turn.
                let job = receiver
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .recv();
                match job {
                    Ok(job) => job(),
                    // The pool dropped the sender and the queue is empty: time to stop.
                    Err(_) => break,
                }
            }
        })
        .expect("failed to spawn a worker thread")
}
