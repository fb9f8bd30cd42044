//! The claims of stage 05, checked without sleeps: gates and channels decide the interleavings,
//! and every wait that could hang has a deadline that turns it into a failure.

use std::cell::RefCell;
use std::panic::panic_any;
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded, unbounded};
use stage05_panic_resilient::{ResilientPool, TaskHandle, TaskPanicked};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long we watch for something that must not happen (a submit returning too early).
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Joins `handle` on another thread, so that a join that never returns fails the test instead of
/// hanging it.
fn join_or_fail<R: Send + 'static>(handle: TaskHandle<R>) -> Result<R, TaskPanicked> {
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || outcome_tx.send(handle.join()).unwrap());
    outcome
        .recv_timeout(PATIENCE)
        .expect("join should return, with a value or an error, instead of waiting forever")
}

/// A panic payload whose destructor panics too. That second panic happens after `catch_unwind`
/// has returned, so nothing catches it and it ends the worker thread.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("the payload's destructor panics as well");
    }
}

/// Sends the id of the thread that stored it when that thread ends: thread-locals are dropped on
/// thread exit. The id is taken up front, because `thread::current()` may no longer work while
/// thread-locals are being destroyed.
struct ExitSignal {
    exited: Sender<ThreadId>,
    thread: ThreadId,
}

impl Drop for ExitSignal {
    fn drop(&mut self) {
        let _ = self.exited.send(self.thread);
    }
}

thread_local! {
    static EXIT_SIGNAL: RefCell<Option<ExitSignal>> = const { RefCell::new(None) };
}

/// Arranges for `exited` to receive the current thread's id when the thread ends.
fn report_exit_of_this_thread(exited: Sender<ThreadId>) {
    let signal = ExitSignal {
        exited,
        thread: thread::current().id(),
    };
    EXIT_SIGNAL.with(|slot| *slot.borrow_mut() = Some(signal));
}

/// A task that kills the worker thread running it, and reports when that thread has ended.
fn worker_killer(exited: Sender<ThreadId>) -> impl FnOnce() + Send + 'static {
    move || {
        report_exit_of_this_thread(exited);
        panic_any(PanicOnDrop);
    }
}

/// A task that returns the id and the name of the thread it ran on.
fn where_am_i() -> (ThreadId, String) {
    let thread = thread::current();
    (thread.id(), thread.name().unwrap_or_default().to_string())
}

#[test]
fn a_panic_costs_the_task_not_the_worker() {
    let pool = ResilientPool::new(1, 4);
    let failed = pool.submit(|| -> ThreadId {
        let id = thread::current().id();
        panic!("task failed on {id:?}");
    });
    let next = pool.submit(|| thread::current().id());

    let error = join_or_fail(failed).unwrap_err();
    assert!(error.message().starts_with("task failed on"), "{error}");
    // With a single worker, the next task ran on the very thread that caught the panic.
    let survivor = join_or_fail(next).unwrap();
    assert!(
        error.message().ends_with(&format!("{survivor:?}")),
        "{error}"
    );
    assert_eq!(pool.active_workers(), 1);
    assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (1, 1));
}

#[test]
fn panic_messages_are_recovered_from_every_kind_of_payload() {
    let pool = ResilientPool::new(2, 4);
    let literal = pool.submit(|| -> u8 { panic!("a literal message") });
    let formatted = pool.submit(|| -> u8 { panic!("a formatted message: {}", 42) });
    let expected = pool.submit(|| "x".parse::<u8>().expect("an expect message"));
    let other = pool.submit(|| -> u8 { panic_any(42_i32) });

    assert_eq!(
        join_or_fail(literal).unwrap_err().message(),
        "a literal message"
    );
    assert_eq!(
        join_or_fail(formatted).unwrap_err().message(),
        "a formatted message: 42"
    );
    let message = join_or_fail(expected).unwrap_err().message().to_string();
    assert!(message.starts_with("an expect message: "), "{message}");
    let error = join_or_fail(other).unwrap_err();
    assert_eq!(error.message(), "<non-string panic payload>");
    assert_eq!(
        error.to_string(),
        "task panicked: <non-string panic payload>"
    );
}

#[test]
fn a_dead_worker_is_replaced_and_runs_the_tasks_queued_behind_it() {
    let pool = ResilientPool::new(1, 8);
    let (exited_tx, exited) = unbounded();
    let killer = pool.submit(worker_killer(exited_tx));
    // With a single worker, these can only run if a replacement starts.
    let queued: Vec<_> = (0..5).map(|_| pool.submit(where_am_i)).collect();

    let error = join_or_fail(killer).unwrap_err();
    assert_eq!(error.message(), "<non-string panic payload>");
    let dead = exited
        .recv_timeout(PATIENCE)
        .expect("the payload's destructor should have ended the worker thread");
    for handle in queued {
        let (thread, name) = join_or_fail(handle).expect("a queued task was lost");
        assert_ne!(thread, dead, "a task ran on the thread that died");
        assert_eq!(
            name, "worker-0",
            "the replacement keeps the dead worker's name"
        );
    }
    assert_eq!(pool.active_workers(), 1);
    assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (5, 1));
}

#[test]
fn active_workers_returns_to_the_pool_size_after_a_worker_dies() {
    const WORKERS: usize = 3;
    let pool = ResilientPool::new(WORKERS, 4);
    assert_eq!(pool.active_workers(), WORKERS);
    let (exited_tx, exited) = unbounded();
    let killer = pool.submit(worker_killer(exited_tx));
    assert!(join_or_fail(killer).is_err());
    exited
        .recv_timeout(PATIENCE)
        .expect("the payload's destructor should have ended the worker thread");
    // The dying worker starts its replacement while it unwinds, before its thread-locals are
    // dropped at thread exit, so by the time `exited` fired the count was whole again.
    assert_eq!(pool.active_workers(), WORKERS);

    let handles: Vec<_> = (0..30_u64).map(|n| pool.submit(move || n * n)).collect();
    let results: Vec<u64> = handles
        .into_iter()
        .map(|h| join_or_fail(h).unwrap())
        .collect();
    assert_eq!(results, (0..30).map(|n| n * n).collect::<Vec<_>>());
    assert_eq!(pool.active_workers(), WORKERS);
}

#[test]
fn shutdown_drains_the_queue_and_joins_the_replacement_threads() {
    let pool = ResilientPool::new(1, 8);
    let (killed_tx, killed) = unbounded();
    let (exited_tx, exited) = unbounded();
    let (gate_tx, gate) = unbounded::<()>();
    let killer = pool.submit(worker_killer(killed_tx));
    // Runs on the replacement, holds it until the test opens the gate, and reports when that
    // thread ends.
    let on_replacement = pool.submit(move || {
        report_exit_of_this_thread(exited_tx);
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        where_am_i()
    });
    let queued: Vec<_> = (0..5_u64).map(|n| pool.submit(move || n * n)).collect();

    let (finished_tx, finished) = bounded(1);
    thread::spawn(move || {
        pool.shutdown();
        finished_tx.send(()).unwrap();
    });
    killed
        .recv_timeout(PATIENCE)
        .expect("the payload's destructor should have ended the first worker thread");
    // Joining only the threads that `new` started would return about now.
    assert!(
        finished.recv_timeout(QUIET_PERIOD).is_err(),
        "shutdown returned while the replacement was still running a task"
    );
    gate_tx.send(()).unwrap();
    finished
        .recv_timeout(PATIENCE)
        .expect("shutdown should return once the queue is drained");
    assert!(
        exited.try_recv().is_ok(),
        "shutdown returned before the replacement thread had ended"
    );

    assert!(killer.join().is_err());
    let (_, name) = on_replacement.join().expect("the gated task completes");
    assert_eq!(name, "worker-0");
    let results: Vec<u64> = queued.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results,
        [0, 1, 4, 9, 16],
        "a task queued behind the killer was lost"
    );
}

#[test]
fn every_submitted_task_is_counted_once() {
    const TASKS: usize = 200;
    let pool = ResilientPool::new(3, 4);
    let handles: Vec<_> = (0..TASKS)
        .map(|n| {
            pool.submit(move || {
                assert!(n % 7 != 0, "task {n} panics on purpose");
                n
            })
        })
        .collect();
    let failures = handles
        .into_iter()
        .map(join_or_fail)
        .filter(Result::is_err)
        .count();

    // Each task is counted before its handle hears of it, so after the last join the counts are
    // final.
    let panicked = (0..TASKS).filter(|n| n % 7 == 0).count();
    assert_eq!(failures, panicked);
    assert_eq!(pool.panicked_tasks(), panicked);
    assert_eq!(pool.completed_tasks(), TASKS - panicked);
    assert_eq!(pool.completed_tasks() + pool.panicked_tasks(), TASKS);
    assert_eq!(pool.active_workers(), 3);
}

#[test]
fn join_waits_for_a_task_that_is_still_running() {
    let pool = ResilientPool::new(1, 1);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded::<()>();
    let handle = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        9
    });
    started
        .recv_timeout(PATIENCE)
        .expect("the worker starts the task");

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
fn submit_blocks_while_the_queue_is_full() {
    let pool = Arc::new(ResilientPool::new(1, 1));
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded::<()>();
    let gated = move || {
        started_tx.send(()).unwrap();
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
    };
    let running = pool.submit(gated);
    started
        .recv_timeout(PATIENCE)
        .expect("the worker starts the task");
    let queued = pool.submit(|| ());
    assert!(pool.is_full());

    let (submitted_tx, submitted) = bounded(1);
    let submitter = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || submitted_tx.send(pool.submit(|| 3)).unwrap())
    };
    assert!(
        submitted.recv_timeout(QUIET_PERIOD).is_err(),
        "submit returned although the worker was busy and the queue was full"
    );
    gate_tx.send(()).unwrap();
    let last = submitted
        .recv_timeout(PATIENCE)
        .expect("submit should return once a slot is free");
    submitter.join().unwrap();
    assert!(running.join().is_ok() && queued.join().is_ok());
    assert_eq!(join_or_fail(last), Ok(3));
}

#[test]
#[should_panic(expected = "at least one worker")]
fn a_pool_without_workers_is_rejected() {
    let _pool = ResilientPool::new(0, 4);
}
