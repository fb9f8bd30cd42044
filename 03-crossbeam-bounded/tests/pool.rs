//! The claims of stage 03's pool, checked without sleeps: at most `workers` tasks run at once, a
//! full queue makes `submit` wait, dropping the pool runs every queued task, and a pool whose
//! workers have all died refuses instead of hanging.
//!
//! Every task the tests care about waits on a gate (a channel the test sends tokens into), so the
//! test decides which interleaving happens. Where a test must show that the queue is full, it asks
//! `try_submit`, which answers `Full` without waiting.
//!
//! Its helpers and patience constants are copied from stage to stage, not shared, so that the
//! file reads alone beside its stage.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use stage03_crossbeam_bounded::{SubmitError, TrySubmitError, WorkerPool};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long something that must not happen is given to happen anyway.
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// A task that reports when it starts, then blocks until the test sends a token into its gate.
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

/// Sends `count` tokens: each lets one gated task (present or future) finish.
fn open(gate: &Sender<()>, count: usize) {
    for _ in 0..count {
        gate.send(()).unwrap();
    }
}

/// Whether the queue is full right now. A refused task comes back and is dropped unrun.
fn queue_is_full(pool: &WorkerPool) -> bool {
    match pool.try_submit(|| {}) {
        Ok(()) => false,
        Err(TrySubmitError::Full(_unrun)) => true,
        Err(TrySubmitError::Closed(_)) => panic!("every worker has exited"),
    }
}

#[test]
fn never_more_than_workers_tasks_run_at_once() {
    const WORKERS: usize = 3;
    const TASKS: usize = 10;
    let pool = WorkerPool::new(WORKERS, 16);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    // How many tasks are between their start and their end right now, and the most ever seen.
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        let (running, most) = (Arc::clone(&running), Arc::clone(&most));
        let gated = gated_task(started_tx.clone(), gate.clone());
        pool.submit(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            gated();
            running.fetch_sub(1, Ordering::SeqCst);
        })
        .unwrap();
    }

    // Every worker picks up a task, and each blocks at its gate: the pool is as busy as it gets.
    wait_for_starts(&started, WORKERS);
    // Each token frees one worker, which then takes the next task from the queue.
    for _ in WORKERS..TASKS {
        open(&gate_tx, 1);
        wait_for_starts(&started, 1);
    }
    open(&gate_tx, WORKERS);
    pool.shutdown();

    // A fourth task running beside three blocked ones would have pushed this to 4.
    assert_eq!(most.load(Ordering::SeqCst), WORKERS);
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
    assert!(
        queue_is_full(&pool),
        "{CAPACITY} tasks should fill the queue"
    );

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
    assert!(queue_is_full(&pool), "the queue should still be full");

    // Finishing one task frees one slot, and the blocked submit goes through.
    open(&gate_tx, 1);
    submitted
        .recv_timeout(PATIENCE)
        .expect("submit should return once a slot is free");
    submitter.join().unwrap();

    // The task that waited is queued like the others: all of them start, and finish.
    let tasks = WORKERS + CAPACITY + 1;
    open(&gate_tx, tasks - 1);
    wait_for_starts(&started, tasks - WORKERS);
    Arc::into_inner(pool)
        .expect("the submitter thread has finished")
        .shutdown();
}

#[test]
fn a_rendezvous_queue_holds_nothing_and_still_runs_every_task() {
    let pool = WorkerPool::new(1, 0);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();

    // With a capacity of 0, `submit` returns only once a worker has taken the task in hand.
    pool.submit(gated_task(started_tx, gate)).unwrap();
    wait_for_starts(&started, 1);
    // The only worker is busy, and there is no slot to wait in.
    assert!(queue_is_full(&pool), "a rendezvous queue held a task");
    open(&gate_tx, 1);

    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let done = Arc::clone(&done);
        pool.submit(move || {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    pool.shutdown();
    assert_eq!(done.load(Ordering::SeqCst), 50);
}

#[test]
fn drop_runs_every_queued_task() {
    const QUEUED: usize = 8;
    let pool = WorkerPool::new(1, QUEUED);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    let done = Arc::new(AtomicUsize::new(0));

    pool.submit(gated_task(started_tx, gate)).unwrap();
    wait_for_starts(&started, 1);
    for _ in 0..QUEUED {
        let done = Arc::clone(&done);
        pool.submit(move || {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    // The only worker is held at the gate, so all eight wait in the queue, which is now full.
    assert!(queue_is_full(&pool));
    assert_eq!(done.load(Ordering::SeqCst), 0);

    open(&gate_tx, 1);
    drop(pool);
    assert_eq!(
        done.load(Ordering::SeqCst),
        QUEUED,
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
    // The queue is first in, first out, so the two panicking tasks are the first two taken, and
    // each kills the worker that takes it. Until both are dead, submits succeed (at most until
    // the queue is full); afterwards the channel is disconnected and submit fails at once. The
    // submitting runs on its own thread so that a regression (a submit blocked forever) fails
    // the test instead of hanging it.
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

#[test]
#[should_panic(expected = "at least one worker")]
fn a_pool_without_workers_is_rejected() {
    let _pool = WorkerPool::new(0, 4);
}
