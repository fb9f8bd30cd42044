//! Exercise 3's test: the pool calls its panic handler once for every panicking task, on the
//! worker, before the task's handle returns the error. No sleeps: the handler reports into a
//! channel, and because it runs before `join` returns, the test reads that channel without
//! waiting.

use std::thread::{self, ThreadId};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded, unbounded};
use ex3_panic_handler_05::{ResilientPool, TaskHandle, TaskPanicked};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long we watch for something that must not happen (a join returning too early).
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// What the handler saw: the name of the thread it ran on, and the panic message.
type Seen = (String, String);

/// A handler that reports every call into `seen`.
fn reporting_handler(seen: Sender<Seen>) -> impl Fn(&TaskPanicked) + Send + Sync + 'static {
    move |error| {
        let name = thread::current().name().unwrap_or("unnamed").to_string();
        // Fails only once the test has stopped listening.
        let _ = seen.send((name, error.message().to_string()));
    }
}

/// Joins `handle` on another thread, so that a join that never returns fails the test instead of
/// hanging it.
fn join<R: Send + 'static>(handle: TaskHandle<R>) -> Result<R, TaskPanicked> {
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || outcome_tx.send(handle.join()).unwrap());
    outcome
        .recv_timeout(PATIENCE)
        .expect("join should return, with a value or an error, instead of waiting forever")
}

/// A one-worker pool whose panic handler waits until the returned gate opens or is dropped.
/// Bind the gate after the pool, so that a failing test drops it first: the pool's drop waits
/// for the worker, which may be waiting in the handler.
fn pool_with_a_gated_handler() -> (ResilientPool, Sender<()>) {
    let (gate_tx, gate) = bounded::<()>(0);
    let pool = ResilientPool::with_panic_handler(1, 4, move |_: &TaskPanicked| {
        let _ = gate.recv();
    });
    (pool, gate_tx)
}

#[test]
fn the_handler_sees_every_panic_before_join_returns() {
    let (seen_tx, seen) = unbounded();
    let pool = ResilientPool::with_panic_handler(2, 4, reporting_handler(seen_tx));
    let first = pool.submit(|| -> u32 { panic!("first failure") });
    let fine = pool.submit(|| 7);
    let second = pool.submit(|| -> u32 { panic!("second failure") });

    assert_eq!(join(first).unwrap_err().message(), "first failure");
    assert_eq!(join(fine), Ok(7));
    assert_eq!(join(second).unwrap_err().message(), "second failure");

    // Both errors have been joined, so the handler must have run for both already.
    let mut messages: Vec<String> = seen.try_iter().map(|(_, message)| message).collect();
    messages.sort();
    assert_eq!(
        messages,
        ["first failure", "second failure"],
        "the handler must be called once for each panicking task, with its message, before the \
         task's handle returns the error"
    );
    pool.shutdown();
}

#[test]
fn join_returns_only_after_the_handler_has_returned() {
    let (pool, gate) = pool_with_a_gated_handler();
    let failure = pool.submit(|| -> u32 { panic!("slow to report") });
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || outcome_tx.send(failure.join()));

    assert!(
        outcome.recv_timeout(QUIET_PERIOD).is_err(),
        "join returned while the panic handler was still running: call the handler before the \
         error is sent to the task's handle"
    );
    gate.send(()).unwrap();
    let joined = outcome
        .recv_timeout(PATIENCE)
        .expect("join should return once the handler has returned");
    assert_eq!(joined.unwrap_err().message(), "slow to report");
    pool.shutdown();
}

#[test]
fn the_handler_runs_on_the_worker_that_caught_the_panic() {
    let (seen_tx, seen) = unbounded();
    let pool = ResilientPool::with_panic_handler(1, 4, reporting_handler(seen_tx));
    let failure = pool.submit(|| -> u32 { panic!("on purpose") });
    assert!(join(failure).is_err());

    let (thread, message) = seen
        .try_recv()
        .expect("the handler should have been called before join returned the error");
    assert_eq!(thread, "worker-0", "the handler runs on the worker thread");
    assert_eq!(message, "on purpose");
    pool.shutdown();
}

#[test]
fn tasks_that_return_never_call_the_handler() {
    let (seen_tx, seen) = unbounded();
    let pool = ResilientPool::with_panic_handler(2, 4, reporting_handler(seen_tx));
    let handles: Vec<_> = (0..10_u32).map(|n| pool.submit(move || n * 2)).collect();
    for (n, handle) in (0..10_u32).zip(handles) {
        assert_eq!(join(handle), Ok(n * 2));
    }
    assert_eq!(seen.try_iter().count(), 0, "no task panicked");
    pool.shutdown();
}

#[test]
fn a_panicking_handler_costs_neither_the_worker_nor_the_outcome() {
    let (calls_tx, calls) = unbounded();
    let pool = ResilientPool::with_panic_handler(1, 4, move |_: &TaskPanicked| {
        let _ = calls_tx.send(());
        panic!("the handler fails as well");
    });
    let current_thread = || thread::current().id();

    let before: ThreadId = join(pool.submit(current_thread)).unwrap();
    let failure = pool.submit(|| -> u32 { panic!("the task fails") });
    assert_eq!(
        join(failure).unwrap_err().message(),
        "the task fails",
        "the task's own panic must reach its handle, whatever the handler does"
    );
    let after: ThreadId = join(pool.submit(current_thread)).unwrap();

    assert_eq!(calls.try_iter().count(), 1, "the handler was called once");
    assert_eq!(
        before, after,
        "the only worker died: a panic in the handler must be caught like a panic in a task"
    );
    assert_eq!(pool.panicked_tasks(), 1);
    pool.shutdown();
}
