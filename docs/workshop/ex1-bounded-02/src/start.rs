//! Exercise 1's starting point: stage 02's `src/lib.rs` without its doc comments, with a queue
//! capacity that `new` ignores and a `try_execute` that refuses every task. Edit this file until
//! `cargo test` passes; every place to change is marked `Exercise:`. `New:` marks what stage 02
//! added to stage 01, and `tests/pool.rs` is the stage's.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Debug)]
pub struct ThreadPool {
    // New: tasks go into a channel instead of getting a thread each. An `Option` so that `Drop`
    // can drop the sender, which closes the channel, before it joins the workers.
    // Exercise: the sending half of an unbounded channel.
    sender: Option<Sender<Job>>,
    // New: the threads are started once, in `new`, and reused for every task.
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    pub fn new(size: usize, queue_capacity: usize) -> Self {
        assert!(size > 0, "a ThreadPool needs at least one worker");
        // Exercise: `queue_capacity` is ignored, and `mpsc::channel` has no bound, so `execute`
        // never waits. `std::sync::mpsc` has a bounded channel too.
        let _ = queue_capacity;
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

    /// Queues `task` if the queue has room right now; never waits.
    ///
    /// # Errors
    ///
    /// When the queue is full, hands the task back, boxed as the workers would have received it,
    /// so that the caller decides what becomes of it: run it (`job()`), drop it, or wait after
    /// all with `execute`.
    pub fn try_execute<F>(&self, task: F) -> Result<(), Job>
    where
        F: FnOnce() + Send + 'static,
    {
        // Exercise: this stub refuses every task. Queue it if there is room, without waiting;
        // when no worker is left, panic as `execute` does.
        Err(Box::new(task))
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
