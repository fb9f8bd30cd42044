//! The claims of stage 05: a panic costs the task, never the worker, and its handle reports the
//! panic message; the pool counts every outcome; a worker thread that dies anyway (from a panic
//! outside the task's `catch_unwind`) is replaced by a thread with the same name, so
//! `active_workers` stays at the pool size, however many die; and stage 04's handles,
//! backpressure and draining shutdown still hold, replacements included.
//!
//! Gates and channels decide the interleavings, and every wait that could hang has a deadline
//! that turns it into a failure.
//!
//! Its helpers and patience constants are copied from stage to stage, not shared, so that the
//! file reads alone beside its stage; so are the previous stage's claims that still hold.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashSet;
use std::panic::panic_any;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded, unbounded};
use stage05_panic_resilient::{ResilientPool, TaskHandle, TaskPanicked, panic_message};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long something that must not happen is given to happen anyway.
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Joins `handle` on another thread, so that a join that never returns fails the test instead of
/// hanging it.
fn join_or_fail<R: Send + 'static>(handle: TaskHandle<R>) -> Result<R, TaskPanicked> {
    join_all_or_fail(vec![handle]).pop().unwrap()
}

/// Joins every handle, in order, on one other thread, and fails the test if that takes longer
/// than `PATIENCE`.
fn join_all_or_fail<R: Send + 'static>(
    handles: Vec<TaskHandle<R>>,
) -> Vec<Result<R, TaskPanicked>> {
    let (outcomes_tx, outcomes) = bounded(1);
    thread::spawn(move || {
        let joined: Vec<_> = handles.into_iter().map(TaskHandle::join).collect();
        outcomes_tx.send(joined).unwrap();
    });
    outcomes
        .recv_timeout(PATIENCE)
        .expect("join should return, with a value or an error, instead of waiting forever")
}

/// A value whose destructor panics. Dropped by a worker outside the task's `catch_unwind`, it ends
/// that worker's thread: as a panic payload (dropped after the catch, once the message has been
/// read), or as the value of a task whose handle is gone (dropped because nobody can receive it).
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("PanicOnDrop's destructor panics");
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

/// Kills one worker of `pool` with [`worker_killer`] and waits until its thread has ended, so that
/// what the test submits next runs on another thread (the replacement, in a one-worker pool).
/// Returns the dead thread's id.
fn kill_a_worker(pool: &ResilientPool) -> ThreadId {
    let (exited_tx, exited) = unbounded();
    let killer = pool.submit(worker_killer(exited_tx));
    assert!(join_or_fail(killer).is_err());
    exited
        .recv_timeout(PATIENCE)
        .expect("the payload's destructor should have ended the worker thread")
}

/// A task that returns the id and the name of the thread it ran on.
fn where_am_i() -> (ThreadId, String) {
    let thread = thread::current();
    (thread.id(), thread.name().unwrap_or_default().to_string())
}

/// Twice the standard library's default stack of 2 MiB: kept on the stack of a worker started by
/// `new`, it overflows that stack, and a stack overflow aborts the whole test process.
const LARGE: usize = 4 * 1024 * 1024;

/// Keeps `LARGE` bytes on the stack of the thread that runs it, and returns their sum.
fn sum_of_a_large_array_on_the_stack() -> u64 {
    let bytes = std::hint::black_box([1_u8; LARGE]);
    bytes.iter().map(|&byte| u64::from(byte)).sum()
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
fn panic_message_reads_str_and_string_payloads_and_names_the_rest() {
    // What `panic!("literal")` carries, what `panic!("{x}")` carries, and anything else.
    let literal: Box<dyn Any + Send> = Box::new("a literal");
    let formatted: Box<dyn Any + Send> = Box::new(format!("formatted: {}", 7));
    let number: Box<dyn Any + Send> = Box::new(7_u32);
    assert_eq!(panic_message(literal.as_ref()), "a literal");
    assert_eq!(panic_message(formatted.as_ref()), "formatted: 7");
    assert_eq!(panic_message(number.as_ref()), "<non-string panic payload>");
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
    for outcome in join_all_or_fail(queued) {
        let (thread, name) = outcome.expect("a queued task was lost");
        assert_ne!(thread, dead, "a task ran on the thread that died");
        assert_eq!(
            name, "worker-0",
            "the replacement keeps the dead worker's name"
        );
    }
    assert_eq!(pool.active_workers(), 1);
    assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (5, 1));
}

/// A value whose destructor panics with a [`PanicOnDrop`]: a second panic waits in the payload of
/// the first. Left to the standard library, that payload aborts the process when dropped.
struct PanicsWithAPanicOnDrop;

impl Drop for PanicsWithAPanicOnDrop {
    fn drop(&mut self) {
        panic_any(PanicOnDrop);
    }
}

#[test]
fn nested_panics_in_drop_never_abort_and_never_cost_a_worker_for_good() {
    let pool = ResilientPool::new(1, 4);
    // A panic payload whose destructor panics with a payload whose destructor panics.
    let payload = pool.submit(|| -> u64 { panic_any(PanicsWithAPanicOnDrop) });
    assert_eq!(
        join_or_fail(payload).unwrap_err().message(),
        "<non-string panic payload>"
    );
    // A value nobody claims, whose destructor does the same.
    let (gate_tx, gate) = unbounded::<()>();
    let value = pool.submit(move || {
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        PanicsWithAPanicOnDrop
    });
    drop(value);
    gate_tx.send(()).unwrap();
    // Each of the two killed a worker thread; the process is still here, and so is the pool.
    let (_, name) = join_or_fail(pool.submit(where_am_i)).expect("the pool still runs tasks");
    assert_eq!(name, "worker-0");
    assert_eq!(pool.active_workers(), 1);
    assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (2, 1));
    pool.shutdown();
}

#[test]
fn a_task_queued_behind_a_panic_still_runs_even_if_a_value_it_captured_panics_when_dropped() {
    // Stage 04's known limit: with one worker, the first task's panic killed it, and the task
    // queued behind it was dropped unrun with the channel, ending the process. Here the worker
    // survives the first panic, the second task runs, and its panic is the task's own.
    let pool = ResilientPool::new(1, 4);
    let first = pool.submit(|| -> u64 { panic!("a task that panics") });
    let value = PanicOnDrop;
    let second = pool.submit(move || drop(value));
    pool.shutdown();
    assert_eq!(
        join_or_fail(first).unwrap_err().message(),
        "a task that panics"
    );
    assert_eq!(
        join_or_fail(second).unwrap_err().message(),
        "PanicOnDrop's destructor panics"
    );
}

#[test]
fn a_value_that_panics_when_dropped_unclaimed_kills_its_worker_which_is_replaced() {
    let pool = ResilientPool::new(1, 4);
    let (exited_tx, exited) = unbounded();
    let (gate_tx, gate) = unbounded::<()>();
    let handle = pool.submit(move || {
        report_exit_of_this_thread(exited_tx);
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        PanicOnDrop
    });
    // The task is held at its gate until its handle is gone: nobody can receive its value, so
    // the worker drops it, outside the task's `catch_unwind`.
    drop(handle);
    gate_tx.send(()).unwrap();
    let dead = exited
        .recv_timeout(PATIENCE)
        .expect("the value's destructor should have ended the worker thread");

    let (thread, name) = join_or_fail(pool.submit(where_am_i)).expect("the pool still runs tasks");
    assert_ne!(thread, dead, "a task ran on the thread that died");
    assert_eq!(name, "worker-0");
    assert_eq!(pool.active_workers(), 1);
    // The task itself returned normally: it counts as completed, not as panicked.
    assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (2, 0));
}

#[test]
fn active_workers_stays_at_the_pool_size_when_a_worker_dies() {
    const WORKERS: usize = 3;
    let pool = ResilientPool::new(WORKERS, 4);
    assert_eq!(pool.active_workers(), WORKERS);
    let (exited_tx, exited) = unbounded();
    let killer = pool.submit(worker_killer(exited_tx));
    assert!(join_or_fail(killer).is_err());
    // The dying worker starts its replacement once it has caught the panic, before its thread
    // ends, and the replacement takes its place in the count: the count never drops, before or after the thread has ended.
    assert_eq!(pool.active_workers(), WORKERS);
    exited
        .recv_timeout(PATIENCE)
        .expect("the payload's destructor should have ended the worker thread");
    assert_eq!(pool.active_workers(), WORKERS);

    let handles: Vec<_> = (0..30_u64).map(|n| pool.submit(move || n * n)).collect();
    let results: Vec<u64> = join_all_or_fail(handles)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, (0..30).map(|n| n * n).collect::<Vec<_>>());
    assert_eq!(pool.active_workers(), WORKERS);
}

#[test]
fn a_thousand_worker_deaths_leave_the_pool_whole() {
    const WORKERS: usize = 2;
    const DEATHS: usize = 1_000;
    const LATER: usize = 100;
    let pool = ResilientPool::new(WORKERS, 8);
    let (exited_tx, exited) = unbounded();
    // Each killer ends the thread it runs on, so each runs on a different thread: the two that
    // `new` started, then one replacement after another.
    let killers: Vec<_> = (0..DEATHS)
        .map(|_| pool.submit(worker_killer(exited_tx.clone())))
        .collect();
    for outcome in join_all_or_fail(killers) {
        let error = outcome.expect_err("every killer panics");
        assert_eq!(error.message(), "<non-string panic payload>");
    }
    let dead: HashSet<ThreadId> = (0..DEATHS)
        .map(|_| {
            exited
                .recv_timeout(PATIENCE)
                .expect("each killer should have ended its worker thread")
        })
        .collect();
    assert_eq!(dead.len(), DEATHS, "a thousand different threads died");
    assert_eq!(pool.active_workers(), WORKERS);

    // The pool is whole: later tasks all run, on live workers with the original names.
    let later: Vec<_> = (0..LATER)
        .map(|n| pool.submit(move || (n, where_am_i())))
        .collect();
    for (expected, outcome) in join_all_or_fail(later).into_iter().enumerate() {
        let (n, (thread, name)) = outcome.expect("a later task was lost");
        assert_eq!(n, expected);
        assert!(!dead.contains(&thread), "a task ran on a thread that died");
        assert!(name == "worker-0" || name == "worker-1", "{name}");
    }
    assert_eq!(pool.active_workers(), WORKERS);
    assert_eq!(pool.panicked_tasks(), DEATHS);
    assert_eq!(pool.completed_tasks(), LATER);
}

#[test]
fn shutdown_drains_the_queue_and_waits_for_the_replacement_threads() {
    let pool = ResilientPool::new(1, 8);
    let (killed_tx, killed) = unbounded();
    let (gate_tx, gate) = unbounded::<()>();
    let killer = pool.submit(worker_killer(killed_tx));
    // With one worker, this runs on the replacement, and holds it until the test opens the gate.
    let on_replacement = pool.submit(move || {
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        where_am_i()
    });
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..5_u64)
        .map(|n| {
            let ran = Arc::clone(&ran);
            pool.submit(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                n * n
            })
        })
        .collect();

    let (finished_tx, finished) = bounded(1);
    thread::spawn(move || {
        pool.shutdown();
        finished_tx.send(()).unwrap();
    });
    let dead = killed
        .recv_timeout(PATIENCE)
        .expect("the payload's destructor should have ended the first worker thread");
    // The only thread `new` started has ended: a shutdown that waited for it alone would
    // return about now.
    assert!(
        finished.recv_timeout(QUIET_PERIOD).is_err(),
        "shutdown returned while the replacement was still running a task"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    gate_tx.send(()).unwrap();
    finished
        .recv_timeout(PATIENCE)
        .expect("shutdown should return once the queue is drained");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        5,
        "shutdown returned before the queue was drained"
    );

    // The pool is gone; every outcome is waiting in its handle.
    assert!(killer.join().is_err());
    let (thread, name) = on_replacement.join().expect("the gated task completes");
    assert_ne!(thread, dead);
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
    let failures = join_all_or_fail(handles)
        .into_iter()
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
    // The only worker is busy, so this one fills the queue.
    let queued = pool.submit(|| ());

    let (submitted_tx, submitted) = bounded(1);
    let submitter = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || submitted_tx.send(pool.submit(|| 3)).unwrap())
    };
    assert!(
        submitted.recv_timeout(QUIET_PERIOD).is_err(),
        "submit returned although the worker was busy and the queue was full"
    );
    // The worker finishes its task and takes the queued one: a slot frees.
    gate_tx.send(()).unwrap();
    let last = submitted
        .recv_timeout(PATIENCE)
        .expect("submit should return once a slot is free");
    submitter.join().unwrap();
    assert_eq!(join_or_fail(running), Ok(()));
    assert_eq!(join_or_fail(queued), Ok(()));
    assert_eq!(join_or_fail(last), Ok(3));
}

#[test]
fn dropping_a_handle_does_not_cancel_its_task() {
    let pool = ResilientPool::new(2, 4);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let ran = Arc::clone(&ran);
        drop(pool.submit(move || ran.fetch_add(1, Ordering::SeqCst)));
    }
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 10);
}

#[test]
fn each_worker_thread_is_named_worker_n() {
    const WORKERS: usize = 4;
    let pool = ResilientPool::new(WORKERS, 4);
    let (names_tx, names) = unbounded();
    let (gate_tx, gate) = unbounded::<()>();
    let handles: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (names_tx, gate) = (names_tx.clone(), gate.clone());
            pool.submit(move || {
                names_tx.send(where_am_i().1).unwrap();
                gate.recv_timeout(PATIENCE)
                    .expect("the test opens the gate");
            })
        })
        .collect();
    // Each task holds its worker until the gate opens, so the four names come from four
    // different workers, busy at the same time.
    let mut seen: Vec<String> = (0..WORKERS)
        .map(|_| {
            names
                .recv_timeout(PATIENCE)
                .expect("every worker should take a task")
        })
        .collect();
    seen.sort();
    assert_eq!(seen, ["worker-0", "worker-1", "worker-2", "worker-3"]);

    for _ in 0..WORKERS {
        gate_tx.send(()).unwrap();
    }
    for outcome in join_all_or_fail(handles) {
        outcome.expect("the gated task completes");
    }
}

#[test]
#[should_panic(expected = "at least one worker")]
fn a_pool_without_workers_is_rejected() {
    let _pool = ResilientPool::new(0, 4);
}

/// Tells `returns_a_large_value` that it runs in the child process.
const LARGE_VALUE_CHILD: &str = "STAGE05_LARGE_VALUE_CHILD";

/// Run only by `rust_min_stack_gives_the_workers_room_for_a_large_value`, in a child process with
/// a larger stack: on the default 2 MiB stack, this value overflows the worker's stack and the
/// joining thread's, and aborts the process.
#[test]
#[ignore = "run by rust_min_stack_gives_the_workers_room_for_a_large_value"]
fn returns_a_large_value() {
    if std::env::var_os(LARGE_VALUE_CHILD).is_none() {
        return;
    }
    join_a_large_value();
}

/// A function of its own, so that the frame holding the value is entered only in the child.
fn join_a_large_value() {
    const SIZE: usize = 1024 * 1024;
    let pool = ResilientPool::new(1, 1);
    let value = pool
        .submit(|| [7_u8; SIZE])
        .join()
        .expect("the task returns");
    assert_eq!(value[SIZE - 1], 7);
}

#[test]
fn rust_min_stack_gives_the_workers_room_for_a_large_value() {
    // `RUST_MIN_STACK` is read once per process, so the large value runs in a child: this same
    // test binary, asked to run only the test above.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "returns_a_large_value", "--quiet"])
        .env("RUST_MIN_STACK", (64 * 1024 * 1024).to_string())
        .env(LARGE_VALUE_CHILD, "1")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the test binary runs");
    assert!(
        status.success(),
        "a 1 MiB value overflowed a 64 MiB worker stack: {status}"
    );
}

#[test]
fn a_pool_dropped_by_its_own_task_on_a_replacement_worker_still_runs_every_queued_task() {
    let pool = Arc::new(ResilientPool::new(1, 16));
    // Kill the only worker first, so that the task below runs on its replacement: the pool must
    // recognise replacements as its own workers too.
    kill_a_worker(&pool);

    let (gate_tx, gate) = unbounded::<()>();
    let last_handle = Arc::clone(&pool);
    let dropper = pool.submit(move || {
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        // This task now holds the last handle: the pool's `Drop` runs on the replacement worker,
        // which must not wait for itself to exit.
        drop(last_handle);
    });
    let queued: Vec<_> = (0..10_u64).map(|n| pool.submit(move || n * n)).collect();
    drop(pool);
    gate_tx.send(()).unwrap();

    assert_eq!(join_or_fail(dropper), Ok(()), "the dropping task returns");
    let squares = join_all_or_fail(queued);
    let expected: Vec<_> = (0..10_u64).map(|n| Ok(n * n)).collect();
    assert_eq!(squares, expected, "every task queued behind it still runs");
}

#[test]
fn a_task_that_drops_another_pool_still_waits_for_that_pool() {
    let outer = ResilientPool::new(1, 1);
    let inner_ran = outer.submit(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let inner = ResilientPool::new(1, 8);
        for _ in 0..5 {
            let ran = Arc::clone(&ran);
            // The handles are dropped: only the inner pool's `Drop` can wait for these tasks.
            let _ = inner.submit(move || ran.fetch_add(1, Ordering::SeqCst));
        }
        // Runs on a worker, but not on one of the inner pool's: it must wait as usual.
        drop(inner);
        ran.load(Ordering::SeqCst)
    });
    assert_eq!(join_or_fail(inner_ran), Ok(5));
}

#[test]
fn with_stack_size_gives_the_workers_room_for_a_large_array_on_their_stack() {
    let pool = ResilientPool::with_stack_size(1, 1, 4 * LARGE);
    let handle = pool.submit(|| (where_am_i().1, sum_of_a_large_array_on_the_stack()));
    let (name, sum) = join_or_fail(handle).expect("the task returns");
    assert_eq!((name.as_str(), sum), ("worker-0", LARGE as u64));
}

#[test]
fn a_replacement_worker_gets_the_stack_size_the_pool_was_built_with() {
    let pool = ResilientPool::with_stack_size(1, 1, 4 * LARGE);
    let dead = kill_a_worker(&pool);

    let handle = pool.submit(|| (where_am_i().0, sum_of_a_large_array_on_the_stack()));
    let (thread, sum) = join_or_fail(handle).expect("the task returns");
    assert_ne!(thread, dead, "the task should have run on the replacement");
    assert_eq!(sum, LARGE as u64);
}
