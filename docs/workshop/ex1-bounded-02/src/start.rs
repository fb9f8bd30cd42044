//! The starting point: stage 02's pool, with a queue capacity that it ignores. Make
//! `cargo test -p ex1-bounded-02` pass by editing this file; the places to change are marked
//! `Exercise:`.

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
    // An `Option` so that `Drop` can drop the sender, which closes the channel, before it joins
    // the workers.
    sender: Option<Sender<Job>>,
    // The threads are started once, in `new`, and reused for every task.
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `size` worker threads, named `worker-0`, `worker-1`, ..., sharing a queue that holds
    /// at most `queue_capacity` waiting tasks.
    ///
    /// A capacity of 0 makes a rendezvous channel: nothing waits in a queue, and every `execute`
    /// waits until a worker is free to take the task from hand to hand.
    ///
    /// # Panics
    ///
    /// Panics if `size` is 0 (such a pool would queue tasks that never run) or if the operating
    /// system refuses to start a thread.
    pub fn new(size: usize, queue_capacity: usize) -> Self {
        assert!(size > 0, "a ThreadPool needs at least one worker");
        // Exercise: the capacity is ignored, and `mpsc::channel` has no bound, so `execute`
        // never waits. `std::sync::mpsc` has a bounded channel as well.
        let _ = queue_capacity;
        let (sender, receiver) = mpsc::channel::<Job>();
        // `mpsc` allows a single receiver, so the workers share it behind a mutex.
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|id| spawn_worker(id, Arc::clone(&receiver)))
            .collect();
        ThreadPool {
            sender: Some(sender),
            workers,
        }
    }

    /// Queues `task` for the next free worker, waiting while the queue is full.
    ///
    /// That wait is backpressure: a producer that is faster than the workers is held back to
    /// their pace instead of piling its tasks up in memory.
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
        // `send` on an unbounded channel never waits, and fails only when no receiver is left.
        sender
            .send(Box::new(task))
            .expect("every worker has exited, so the task cannot run");
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // Closing the channel is the signal to stop. It does not discard queued tasks:
        // `recv` keeps returning them until the queue is empty, and only then reports the
        // disconnect, so the workers finish the backlog before they exit.
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            // A worker that panicked has already printed its panic message; joining the others
            // matters more than re-raising it here, where a second panic would abort.
            let _ = worker.join();
        }
    }
}

fn spawn_worker(id: usize, receiver: Arc<Mutex<Receiver<Job>>>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || {
            loop {
                // The lock is held for this one statement. The guard is a temporary,
                // dropped at the end of the `let`, so the job below runs without the lock and
                // the other workers can take tasks meanwhile.
                //
                // `while let Ok(job) = receiver.lock().unwrap().recv() { job() }` looks the
                // same but is not: temporaries in a `while let` condition live until the end of
                // the loop body, so the guard would be held while the job runs, and the workers
                // would run one job at a time. Stage 02's `tests/pool.rs` shows it.
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
