//! Exercise 1's test: once every worker is busy and the queue holds its capacity, `execute` waits
//! until a worker frees a slot. No sleeps: the tasks wait on a gate that the test opens, so the
//! test decides when a slot frees up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use ex1_bounded_02::ThreadPool;

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long we watch for something that must not happen (an `execute` returning too early).
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// A task that reports on `started` when it starts, then waits until its gate, the returned
/// sender, receives a message or is dropped. Each test keeps its gates in variables created after
/// its pool, so a failing test drops the gates first and the pool's drop, which waits for the
/// workers, does not wait forever.
fn gated_task(started: &Sender<()>) -> (impl FnOnce() + Send + 'static, Sender<()>) {
    let (gate, gate_rx) = mpsc::channel();
    let started = started.clone();
    let task = move || {
        // The sends in these tests fail only once a failed test has stopped listening.
        let _ = started.send(());
        let _ = gate_rx.recv();
    };
    (task, gate)
}

fn wait_for_starts(started: &Receiver<()>, count: usize) {
    for so_far in 0..count {
        started.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            panic!(
                "only {so_far} of {count} tasks started on idle workers: does a worker hold the \
                 receiver's lock while its task runs?"
            )
        });
    }
}

/// Calls `execute` on another thread and returns a channel that hears when it has returned.
fn execute_in_background(
    pool: &Arc<ThreadPool>,
    task: impl FnOnce() + Send + 'static,
) -> Receiver<()> {
    let (returned_tx, returned) = mpsc::channel();
    let pool = Arc::clone(pool);
    thread::spawn(move || {
        pool.execute(task);
        let _ = returned_tx.send(());
    });
    returned
}

/// Calls `execute` where it must not wait, because a worker is idle or the queue has room. On
/// another thread, so that an `execute` that waits anyway fails the test instead of hanging it.
fn execute_with_room(pool: &Arc<ThreadPool>, task: impl FnOnce() + Send + 'static) {
    execute_in_background(pool, task)
        .recv_timeout(PATIENCE)
        .expect(
            "execute waited although a worker was idle or the queue had room: is the capacity \
             right?",
        );
}

#[test]
fn execute_waits_while_the_workers_and_the_queue_are_full() {
    const WORKERS: usize = 2;
    const CAPACITY: usize = 2;
    let pool = Arc::new(ThreadPool::new(WORKERS, CAPACITY));
    let (started_tx, started) = mpsc::channel();
    let mut gates = Vec::new();
    let mut execute_gated = |pool: &Arc<ThreadPool>| {
        let (task, gate) = gated_task(&started_tx);
        execute_with_room(pool, task);
        gates.push(gate);
    };

    // Occupy every worker, then fill the queue: none of these may wait.
    for _ in 0..WORKERS {
        execute_gated(&pool);
    }
    wait_for_starts(&started, WORKERS);
    for _ in 0..CAPACITY {
        execute_gated(&pool);
    }

    let returned = execute_in_background(&pool, || {});
    assert!(
        returned.recv_timeout(QUIET_PERIOD).is_err(),
        "execute returned although {WORKERS} workers were busy and {CAPACITY} tasks were queued: \
         the queue is still unbounded"
    );

    // The first task finishes, its worker takes the next one from the queue, and the waiting
    // execute gets the slot that freed up.
    gates[0].send(()).unwrap();
    returned
        .recv_timeout(PATIENCE)
        .expect("execute should return once a worker has taken a task from the full queue");
}

#[test]
fn with_a_capacity_of_zero_execute_waits_for_a_free_worker() {
    let pool = Arc::new(ThreadPool::new(1, 0));
    let (started_tx, started) = mpsc::channel();
    let (task, gate) = gated_task(&started_tx);
    execute_with_room(&pool, task);
    wait_for_starts(&started, 1);

    let returned = execute_in_background(&pool, || {});
    assert!(
        returned.recv_timeout(QUIET_PERIOD).is_err(),
        "execute returned although the only worker was busy and the queue holds nothing"
    );
    gate.send(()).unwrap();
    returned
        .recv_timeout(PATIENCE)
        .expect("execute should return once the worker is free to take the task");
}

#[test]
fn dropping_the_pool_still_runs_every_queued_task() {
    let done = Arc::new(AtomicUsize::new(0));
    let pool = ThreadPool::new(2, 1);
    for _ in 0..50 {
        let done = Arc::clone(&done);
        pool.execute(move || {
            done.fetch_add(1, Ordering::SeqCst);
        });
    }
    drop(pool);
    assert_eq!(done.load(Ordering::SeqCst), 50);
}
