//! What the pool promises: no more tasks at once than workers, every worker busy while tasks
//! wait, every queued task run before `drop` returns; and why its receive is a `let` statement.
//!
//! Its helpers and patience constants are copied from stage to stage, not shared, so that the
//! file reads alone beside its stage.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use stage02_mutex_receiver_pool::ThreadPool;

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long something that must not happen is given to happen anyway.
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Counts running tasks and remembers the most that ever ran together.
#[derive(Debug, Default)]
struct Peak {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Peak {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// Queues `tasks` tasks that each report `(id, thread name)` on `started`, then wait until their
/// gate is opened (a message) or dropped. Returns the gates, one per task, in id order.
fn queue_gated_tasks(
    pool: &ThreadPool,
    tasks: usize,
    peak: &Arc<Peak>,
    started: &Sender<(usize, String)>,
) -> Vec<Sender<()>> {
    (0..tasks)
        .map(|id| {
            let (gate, gate_rx) = mpsc::channel::<()>();
            let (peak, started) = (Arc::clone(peak), started.clone());
            pool.execute(move || {
                peak.enter();
                let name = thread::current().name().unwrap_or_default().to_owned();
                started.send((id, name)).unwrap();
                let _ = gate_rx.recv_timeout(PATIENCE);
                peak.leave();
            });
            gate
        })
        .collect()
}

#[test]
fn never_more_tasks_at_once_than_workers_and_every_worker_busy_while_tasks_wait() {
    const WORKERS: usize = 3;
    const TASKS: usize = 8;
    let pool = ThreadPool::new(WORKERS);
    let peak = Arc::new(Peak::default());
    let (started_tx, started) = mpsc::channel();
    let gates = queue_gated_tasks(&pool, TASKS, &peak, &started_tx);

    // Every worker takes a task, each on its own named thread...
    let first: Vec<_> = (0..WORKERS)
        .map(|_| {
            started
                .recv_timeout(PATIENCE)
                .expect("a free worker takes a task")
        })
        .collect();
    let names: BTreeSet<_> = first.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["worker-0", "worker-1", "worker-2"]));
    // ...and the other tasks wait in the queue while those run.
    assert_eq!(
        started.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout),
        "a task started while every worker was busy"
    );

    // Finishing one task frees one worker, which takes exactly one more.
    let (finished, _) = first[0];
    gates[finished].send(()).unwrap();
    started
        .recv_timeout(PATIENCE)
        .expect("the freed worker takes the next task");
    assert_eq!(
        started.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout)
    );

    drop(gates);
    drop(pool);
    assert_eq!(started.try_iter().count(), TASKS - WORKERS - 1);
    assert_eq!(peak.max(), WORKERS);
}

#[test]
fn drop_returns_only_after_every_queued_task_has_run() {
    const TASKS: usize = 20;
    let pool = ThreadPool::new(2);
    let peak = Arc::new(Peak::default());
    let (started_tx, started) = mpsc::channel();
    // Two gated tasks keep both workers busy, so the other 18 are still queued when the pool
    // is dropped.
    let gates = queue_gated_tasks(&pool, 2, &peak, &started_tx);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 2..TASKS {
        let ran = Arc::clone(&ran);
        pool.execute(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    for _ in 0..2 {
        started
            .recv_timeout(PATIENCE)
            .expect("a worker takes a task");
    }

    let (dropped_tx, dropped) = mpsc::channel();
    thread::spawn(move || {
        drop(pool);
        dropped_tx.send(()).unwrap();
    });
    assert_eq!(
        dropped.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout),
        "drop returned while tasks were still running"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "a queued task jumped the gate"
    );

    drop(gates);
    dropped
        .recv_timeout(PATIENCE)
        .expect("drop returns once the queue is empty");
    assert_eq!(ran.load(Ordering::SeqCst), TASKS - 2);
}

#[test]
#[should_panic(expected = "at least one worker")]
fn a_pool_without_workers_is_refused() {
    let _pool = ThreadPool::new(0);
}

/// The receive loop written as `while let`, which reads like the pool's loop but is not: only
/// here to show the difference, never to copy.
struct WhileLetPool {
    sender: Option<Sender<Box<dyn FnOnce() + Send>>>,
    workers: Vec<JoinHandle<()>>,
}

impl WhileLetPool {
    fn new(size: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                thread::spawn(move || {
                    // The guard from `lock()` is a temporary of the condition, and it lives
                    // until the end of the body: `job()` runs with the lock held.
                    while let Ok(job) = receiver.lock().unwrap().recv() {
                        job();
                    }
                })
            })
            .collect();
        WhileLetPool {
            sender: Some(sender),
            workers,
        }
    }

    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.sender.as_ref().unwrap().send(Box::new(job)).unwrap();
    }
}

impl Drop for WhileLetPool {
    fn drop(&mut self) {
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[test]
fn a_while_let_receive_holds_the_lock_while_the_job_runs_so_jobs_take_turns() {
    let pool = WhileLetPool::new(2);
    let peak = Arc::new(Peak::default());
    let (started_tx, started) = mpsc::channel();
    let (gate, gate_rx) = mpsc::channel::<()>();
    let (first_peak, first_started) = (Arc::clone(&peak), started_tx.clone());
    pool.execute(move || {
        first_peak.enter();
        first_started.send("first").unwrap();
        let _ = gate_rx.recv_timeout(PATIENCE);
        first_peak.leave();
    });
    let second_peak = Arc::clone(&peak);
    pool.execute(move || {
        second_peak.enter();
        started_tx.send("second").unwrap();
        second_peak.leave();
    });

    assert_eq!(started.recv_timeout(PATIENCE), Ok("first"));
    // The second worker is idle and the second job is queued, but the lock it needs to
    // receive is held by the worker running the first job.
    assert_eq!(
        started.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout),
        "the second job started while the first was running"
    );
    gate.send(()).unwrap();
    assert_eq!(started.recv_timeout(PATIENCE), Ok("second"));
    drop(pool);
    assert_eq!(peak.max(), 1);
}
