//! The claims of stage 03, checked without sleeps: every task waits on a gate that the test opens,
//! so the test decides which interleaving happens.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use stage03_crossbeam_bounded::{SubmitError, WorkerPool};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long we watch for something that must not happen (a task starting, a submit returning).
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// A task that reports when it starts, then blocks until the test sends it a token.
fn gated_task(started: Sender<()>, gate: Receiver<()>) -> impl FnOnce() + Send + 'static {
    move || {
        started.send(()).unwrap();
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
    }
}

fn wait_for_starts(started: &Receiver<()>, count: usize) {
    for _ in 0..count {
        started
            .recv_timeout(PATIENCE)
            .expect("a worker should have started a task");
    }
}

#[test]
fn never_more_than_workers_tasks_run_at_once() {
    const WORKERS: usize = 3;
    let pool = WorkerPool::new(WORKERS, 16);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    for _ in 0..10 {
        pool.submit(gated_task(started_tx.clone(), gate.clone()))
            .unwrap();
    }

    // Exactly `WORKERS` tasks start while the rest wait in the queue.
    wait_for_starts(&started, WORKERS);
    assert!(
        started.recv_timeout(QUIET_PERIOD).is_err(),
        "a fourth task started while three workers were busy"
    );
    assert_eq!(pool.queued(), 10 - WORKERS);

    // Each token frees one worker, which then starts exactly one more task.
    for _ in WORKERS..10 {
        gate_tx.send(()).unwrap();
        wait_for_starts(&started, 1);
    }
    for _ in 0..WORKERS {
        gate_tx.send(()).unwrap();
    }
    pool.shutdown();
}

#[test]
fn submit_blocks_once_workers_and_queue_are_full() {
    const WORKERS: usize = 2;
    const CAPACITY: usize = 3;
    let pool = Arc::new(WorkerPool::new(WORKERS, CAPACITY));
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();

    // Occupy every worker, then fill the queue: none of these submits may block.
    for _ in 0..WORKERS {
        pool.submit(gated_task(started_tx.clone(), gate.clone()))
            .unwrap();
    }
    wait_for_starts(&started, WORKERS);
    for _ in 0..CAPACITY {
        pool.submit(gated_task(started_tx.clone(), gate.clone()))
            .unwrap();
    }
    assert_eq!(pool.queued(), CAPACITY);
    assert!(pool.is_full());

    // One more submit must wait for a free slot.
    let (submitted_tx, submitted) = bounded(1);
    let submitter = {
        let pool = Arc::clone(&pool);
        let task = gated_task(started_tx.clone(), gate.clone());
        thread::spawn(move || {
            pool.submit(task).unwrap();
            submitted_tx.send(()).unwrap();
        })
    };
    assert!(
        submitted.recv_timeout(QUIET_PERIOD).is_err(),
        "submit returned although {WORKERS} workers were busy and {CAPACITY} tasks were queued"
    );
    assert_eq!(pool.queued(), CAPACITY, "the queue grew past its capacity");

    // Finishing one task frees one slot, and the blocked submit goes through.
    gate_tx.send(()).unwrap();
    submitted
        .recv_timeout(PATIENCE)
        .expect("submit should return once a slot is free");
    submitter.join().unwrap();

    drop(gate_tx); // the remaining tasks may all finish now
    Arc::into_inner(pool)
        .expect("the submitter thread has finished")
        .shutdown();
}

#[test]
fn rendezvous_queue_runs_every_task() {
    let pool = WorkerPool::new(2, 0);
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let done = Arc::clone(&done);
        pool.submit(move || {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        // Nothing ever waits in a rendezvous queue: each task went straight to a worker.
        assert_eq!(pool.queued(), 0);
    }
    pool.shutdown();
    assert_eq!(done.load(Ordering::SeqCst), 50);
}

#[test]
fn drop_runs_every_queued_task() {
    let pool = WorkerPool::new(1, 8);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    let done = Arc::new(AtomicUsize::new(0));

    pool.submit(gated_task(started_tx, gate)).unwrap();
    wait_for_starts(&started, 1);
    for _ in 0..8 {
        let done = Arc::clone(&done);
        pool.submit(move || {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    assert_eq!(
        pool.queued(),
        8,
        "all eight tasks wait behind the gated one"
    );

    gate_tx.send(()).unwrap();
    drop(pool);
    assert_eq!(
        done.load(Ordering::SeqCst),
        8,
        "drop discarded queued tasks"
    );
}

#[test]
fn submit_fails_instead_of_hanging_when_every_worker_panicked() {
    let pool = WorkerPool::new(2, 4);
    for _ in 0..2 {
        pool.submit(|| panic!("this task takes its worker down"))
            .unwrap();
    }
    // Each panicking task kills the worker that runs it, so both workers die. Until they have,
    // submits succeed (at most until the queue is full); afterwards the channel is disconnected
    // and submit fails at once. The submitting runs on its own thread so that a regression
    // (a submit blocked forever) fails the test instead of hanging it.
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || {
        let error = (0..1_000).find_map(|_| pool.submit(|| {}).err());
        outcome_tx.send(error).unwrap();
    });
    let error = outcome
        .recv_timeout(PATIENCE)
        .expect("submit blocked although every worker was gone");
    assert_eq!(error, Some(SubmitError));
}
