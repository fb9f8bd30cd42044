//! Exercise 2's test: the high-water mark remembers the deepest queue, whichever way the tasks
//! were submitted. No sleeps: one worker is held on a gate that the test opens, so the test
//! decides how deep the queue gets.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use ex2_high_water_03::{TrySubmitError, WorkerPool};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// A task that reports when it starts, then waits until the test opens the gate or drops it.
/// Each test creates its gate after its pool, so a failing test drops the gate first and the
/// pool's drop, which waits for the workers, does not wait forever.
fn gated_task(started: Sender<()>, gate: Receiver<()>) -> impl FnOnce() + Send + 'static {
    move || {
        // The sends in these tests fail only once a failed test has stopped listening.
        let _ = started.send(());
        let _ = gate.recv();
    }
}

/// A task that reports when it has run.
fn counted_task(done: Sender<()>) -> impl FnOnce() + Send + 'static {
    move || {
        let _ = done.send(());
    }
}

fn wait_for(signals: &Receiver<()>, count: usize, what: &str) {
    for _ in 0..count {
        signals
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{what} did not happen within {PATIENCE:?}"));
    }
}

/// Starts a one-worker pool whose worker is busy with a gated task, so that everything
/// submitted next waits in the queue. Drop the returned gate sender to let the worker go.
fn pool_with_a_busy_worker(capacity: usize) -> (WorkerPool, Sender<()>) {
    let pool = WorkerPool::new(1, capacity);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    pool.submit(gated_task(started_tx, gate)).unwrap();
    wait_for(&started, 1, "the gated task starting");
    (pool, gate_tx)
}

#[test]
fn a_new_pool_has_a_mark_of_zero() {
    let pool = WorkerPool::new(2, 4);
    assert_eq!(pool.high_water_mark(), 0);
}

#[test]
fn the_mark_remembers_the_deepest_queue_after_it_drained() {
    let (pool, gate) = pool_with_a_busy_worker(8);
    let (done_tx, done) = unbounded();
    for _ in 0..5 {
        pool.submit(counted_task(done_tx.clone())).unwrap();
    }
    assert_eq!(
        pool.high_water_mark(),
        5,
        "five tasks wait in the queue behind the gated one: is the depth read before the last \
         task went in?"
    );

    drop(gate);
    wait_for(&done, 5, "the five queued tasks running");
    // The queue has drained.
    assert_eq!(
        pool.high_water_mark(),
        5,
        "the queue held 5 tasks at once, but the mark forgot it once the queue drained: keep \
         the deepest depth seen, not the depth right now"
    );
    pool.shutdown();
}

#[test]
fn every_way_of_submitting_raises_the_mark() {
    let (pool, gate) = pool_with_a_busy_worker(8);
    let (done_tx, done) = unbounded();
    pool.submit(counted_task(done_tx.clone())).unwrap();
    assert!(pool.try_submit(counted_task(done_tx.clone())).is_ok());
    assert!(
        pool.submit_timeout(counted_task(done_tx.clone()), PATIENCE)
            .is_ok()
    );

    drop(gate);
    wait_for(&done, 3, "the three queued tasks running");
    assert_eq!(
        pool.high_water_mark(),
        3,
        "submit, try_submit and submit_timeout each queued one task: all three must raise the mark"
    );
    pool.shutdown();
}

#[test]
fn a_refused_task_does_not_raise_the_mark_past_the_capacity() {
    const CAPACITY: usize = 3;
    let (pool, gate) = pool_with_a_busy_worker(CAPACITY);
    let (done_tx, done) = unbounded();
    for _ in 0..CAPACITY {
        assert!(pool.try_submit(counted_task(done_tx.clone())).is_ok());
    }
    // A refused task never entered the queue, so it must not count.
    let refused = pool.try_submit(counted_task(done_tx.clone()));
    assert!(matches!(refused, Err(TrySubmitError::Full(_))));

    drop(gate);
    wait_for(&done, CAPACITY, "the queued tasks running");
    assert_eq!(
        pool.high_water_mark(),
        CAPACITY,
        "the queue held {CAPACITY} tasks, its capacity, and the refused one never went in: the \
         mark must stay {CAPACITY} after the queue drained; count only the tasks that went in"
    );
    pool.shutdown();
}

#[test]
fn a_rendezvous_queue_never_holds_a_task() {
    let pool = WorkerPool::new(2, 0);
    let (done_tx, done) = unbounded();
    for _ in 0..20 {
        pool.submit(counted_task(done_tx.clone())).unwrap();
    }
    wait_for(&done, 20, "every task running");
    assert_eq!(pool.high_water_mark(), 0);
    pool.shutdown();
}
