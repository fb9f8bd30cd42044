//! The claims of stage 04: each task's value comes back through its own handle, in submission
//! order when the handles are joined in order; `join` reports a task that panicked and took its
//! worker down instead of waiting forever; and stage 03's backpressure, draining shutdown and
//! refusal once every worker is gone still hold. What stage 04 cannot do is in
//! `known_limits.rs`.
//!
//! Gated tasks (each blocks on a channel until the test sends it a token) let the test decide
//! which interleaving happens, and every wait that could hang has a deadline that turns it into
//! a failure.
//!
//! Its helpers and patience constants are copied from stage to stage, not shared, so that the
//! file reads alone beside its stage; so are the previous stage's claims that still hold.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use stage04_results::{SubmitError, TaskHandle, TaskLost, WorkerPool};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long something that must not happen is given to happen anyway.
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Joins `handle` on another thread, so that a join that never returns fails the test instead of
/// hanging it.
fn join_or_fail<R: Send + 'static>(handle: TaskHandle<R>) -> Result<R, TaskLost> {
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || outcome_tx.send(handle.join()).unwrap());
    outcome
        .recv_timeout(PATIENCE)
        .expect("join should return, with a value or an error, instead of waiting forever")
}

/// A task that reports when it starts, blocks until the test opens the gate, then returns `value`.
fn gated_task<R: Send + 'static>(
    started: Sender<()>,
    gate: Receiver<()>,
    value: R,
) -> impl FnOnce() -> R + Send + 'static {
    move || {
        started.send(()).unwrap();
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        value
    }
}

/// A task that blocks until the test opens the gate, then panics, taking its worker down.
fn gated_panic(gate: Receiver<()>) -> impl FnOnce() -> u64 + Send + 'static {
    move || {
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        panic!("this task takes its worker down");
    }
}

fn wait_for_start(started: &Receiver<()>) {
    started
        .recv_timeout(PATIENCE)
        .expect("a worker should have started the task");
}

#[test]
fn results_match_their_inputs_in_submission_order() {
    let pool = WorkerPool::new(3, 4);
    let handles: Vec<_> = (0..100_u64)
        .map(|n| pool.submit(move || n * n).unwrap())
        .collect();
    let results: Vec<u64> = handles
        .into_iter()
        .map(|h| join_or_fail(h).unwrap())
        .collect();
    let expected: Vec<u64> = (0..100).map(|n| n * n).collect();
    assert_eq!(results, expected);
}

#[test]
fn each_handle_gets_its_own_result_when_tasks_finish_out_of_order() {
    let pool = WorkerPool::new(2, 4);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    let first = pool.submit(gated_task(started_tx, gate, "first")).unwrap();
    wait_for_start(&started);
    let second = pool.submit(|| "second").unwrap();

    // The first task is still held at its gate, so the second one finishes before it.
    assert_eq!(join_or_fail(second), Ok("second"));
    gate_tx.send(()).unwrap();
    assert_eq!(join_or_fail(first), Ok("first"));
}

#[test]
fn join_waits_for_a_task_that_is_still_running() {
    let pool = WorkerPool::new(1, 1);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    let handle = pool.submit(gated_task(started_tx, gate, 9_u64)).unwrap();
    wait_for_start(&started);

    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || outcome_tx.send(handle.join()).unwrap());
    assert!(
        outcome.recv_timeout(QUIET_PERIOD).is_err(),
        "join returned while the task was still running"
    );
    gate_tx.send(()).unwrap();
    let joined = outcome
        .recv_timeout(PATIENCE)
        .expect("join should return once the task has finished");
    assert_eq!(joined, Ok(9));
}

#[test]
fn submit_blocks_while_workers_and_queue_are_full() {
    let pool = Arc::new(WorkerPool::new(1, 1));
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    let running = pool
        .submit(gated_task(started_tx, gate, "running"))
        .unwrap();
    wait_for_start(&started);
    // The only worker is busy, so this one fills the queue.
    let queued = pool.submit(|| "queued").unwrap();

    let (submitted_tx, submitted) = bounded(1);
    let submitter = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || submitted_tx.send(pool.submit(|| "last")).unwrap())
    };
    assert!(
        submitted.recv_timeout(QUIET_PERIOD).is_err(),
        "submit returned although the worker was busy and the queue was full"
    );
    // The worker finishes its task and takes the queued one: a slot frees.
    gate_tx.send(()).unwrap();
    let last = submitted
        .recv_timeout(PATIENCE)
        .expect("submit should return once a slot is free")
        .expect("the worker is alive");
    submitter.join().unwrap();

    assert_eq!(join_or_fail(running), Ok("running"));
    assert_eq!(join_or_fail(queued), Ok("queued"));
    assert_eq!(join_or_fail(last), Ok("last"));
}

#[test]
fn a_panicking_task_makes_its_join_fail_instead_of_hanging() {
    let pool = WorkerPool::new(2, 4);
    let doomed = pool
        .submit(|| -> u64 { panic!("this task takes its worker down") })
        .unwrap();
    assert_eq!(join_or_fail(doomed), Err(TaskLost));

    // The other worker is still there and keeps returning results.
    let survivor = pool.submit(|| 7).unwrap();
    assert_eq!(join_or_fail(survivor), Ok(7));
}

#[test]
fn a_value_sent_before_the_last_worker_died_is_still_delivered() {
    let pool = WorkerPool::new(1, 4);
    let finished = pool.submit(|| 5_u64).unwrap();
    let (gate_tx, gate) = unbounded();
    let doomed = pool.submit(gated_panic(gate)).unwrap();

    // The first task finished before the second killed the only worker; its value waits in its
    // channel, and `join` finds it even though no worker is alive any more.
    gate_tx.send(()).unwrap();
    assert_eq!(join_or_fail(doomed), Err(TaskLost));
    assert_eq!(join_or_fail(finished), Ok(5));
}

#[test]
fn shutdown_runs_every_queued_task_and_their_handles_deliver_afterwards() {
    const QUEUED: u64 = 8;
    let pool = WorkerPool::new(1, 8);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    let blocker = pool.submit(gated_task(started_tx, gate, 100_u64)).unwrap();
    wait_for_start(&started);
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..QUEUED)
        .map(|n| {
            let ran = Arc::clone(&ran);
            pool.submit(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                n * n
            })
            .unwrap()
        })
        .collect();

    let (finished_tx, finished) = bounded(1);
    thread::spawn(move || {
        pool.shutdown();
        finished_tx.send(()).unwrap();
    });
    assert!(
        finished.recv_timeout(QUIET_PERIOD).is_err(),
        "shutdown returned while a task was still running and eight were queued"
    );
    // The only worker is still held at the gate, so none of the queued tasks has run yet.
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    gate_tx.send(()).unwrap();
    finished
        .recv_timeout(PATIENCE)
        .expect("shutdown should return once the queue is drained");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        8,
        "shutdown returned before the queue was drained"
    );

    // The pool is gone; every result is waiting in its handle.
    assert_eq!(blocker.join(), Ok(100));
    let results: Vec<u64> = queued.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, [0, 1, 4, 9, 16, 25, 36, 49]);
}

#[test]
fn dropping_a_handle_does_not_cancel_its_task() {
    let pool = WorkerPool::new(2, 4);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let ran = Arc::clone(&ran);
        let handle = pool
            .submit(move || ran.fetch_add(1, Ordering::SeqCst))
            .unwrap();
        drop(handle);
    }
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 10);
}

#[test]
fn submit_fails_instead_of_hanging_when_every_worker_panicked() {
    const WORKERS: usize = 2;
    let pool = WorkerPool::new(WORKERS, 4);
    let (gate_tx, gate) = unbounded();
    // The queue is first in, first out, so the panicking tasks are the first ones taken, one
    // by each worker, and each kills the worker that takes it.
    let doomed: Vec<_> = (0..WORKERS)
        .map(|_| pool.submit(gated_panic(gate.clone())).unwrap())
        .collect();
    // Both gates open before either join: the two tasks share one gate, and either may take the
    // first token.
    for _ in 0..WORKERS {
        gate_tx.send(()).unwrap();
    }
    for handle in doomed {
        assert_eq!(join_or_fail(handle), Err(TaskLost));
    }
    // A worker lets go of the queue a moment after its task's handle reports, as its thread
    // finishes unwinding. Until then submits succeed; afterwards the channel is disconnected and
    // `submit` fails at once. The submitting runs on its own thread so that a regression (a
    // submit blocked forever) fails the test instead of hanging it.
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || {
        let error = (0..100_000).find_map(|_| pool.submit(|| ()).err());
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
