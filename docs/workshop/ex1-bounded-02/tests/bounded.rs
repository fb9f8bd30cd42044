//! Exercise 1's test: once every worker is busy and the queue holds its capacity, `execute` waits
//! until a worker frees a slot, and `try_execute` hands the task back instead of waiting. No
//! sleeps: the tasks wait on a gate that the test opens, so the test decides when a slot frees up.

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

/// A refused task, as `try_execute` hands it back.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// Calls `try_execute` on another thread, so that a `try_execute` that waits fails the test
/// instead of hanging it.
fn try_execute(pool: &Arc<ThreadPool>, task: impl FnOnce() + Send + 'static) -> Result<(), Job> {
    let (outcome_tx, outcome) = mpsc::channel();
    let pool = Arc::clone(pool);
    thread::spawn(move || {
        let _ = outcome_tx.send(pool.try_execute(task));
    });
    outcome
        .recv_timeout(PATIENCE)
        .expect("try_execute waited: it must return at once, whether the queue has room or not")
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

#[test]
fn try_execute_queues_while_there_is_room_and_hands_the_task_back_when_full() {
    let pool = Arc::new(ThreadPool::new(1, 1));
    let (started_tx, started) = mpsc::channel();
    let (task, gate) = gated_task(&started_tx);
    execute_with_room(&pool, task);
    wait_for_starts(&started, 1);
    let (ran_tx, ran) = mpsc::channel();
    let report = |name: &'static str| {
        let ran_tx = ran_tx.clone();
        move || {
            let _ = ran_tx.send(name);
        }
    };

    // The only worker is busy, and the queue has room for one task.
    assert!(
        try_execute(&pool, report("queued")).is_ok(),
        "try_execute refused a task although the queue had room for it"
    );
    // Now the queue is full.
    let Err(refused) = try_execute(&pool, report("refused")) else {
        panic!(
            "try_execute accepted a task although the worker was busy and the queue held its \
             capacity: is the queue bounded, and does try_execute hand the task back when full?"
        );
    };
    assert!(
        ran.try_recv().is_err(),
        "no task may have run yet: the worker is busy"
    );
    // Caller runs: the refused task is the caller's own, to run here.
    refused();
    assert_eq!(
        ran.try_recv(),
        Ok("refused"),
        "the task handed back is the one given"
    );

    gate.send(()).unwrap();
    assert_eq!(
        ran.recv_timeout(PATIENCE),
        Ok("queued"),
        "the queued task should run once the worker is free"
    );
}
