//! What this pool does not handle, shown safely: each test below demonstrates one "Known limits"
//! entry of the README, a limit that stage 05 removes. None of them hangs: a wait that could last
//! forever has a deadline, and the limits that end the process run in a child process.
//!
//! Its helpers are its own, copied from stage to stage, so that the file reads alone.

use std::any::Any;
use std::env;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use stage02_mutex_receiver_pool::ThreadPool;

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// A value whose destructor panics, as a careless type's can.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("this value panics when it is dropped");
    }
}

/// Calls `execute` with an empty task until it panics, which it does once no worker is left;
/// `None` if it still accepts tasks after `PATIENCE`.
fn wait_until_execute_panics(pool: &ThreadPool) -> Option<Box<dyn Any + Send>> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| pool.execute(|| {}))) {
            return Some(payload);
        }
        thread::yield_now();
    }
    None
}

#[test]
fn a_panicking_task_kills_its_worker_and_then_execute_panics() {
    let pool = ThreadPool::new(1);
    pool.execute(|| panic!("a task that panics"));
    // The only worker dies of that panic, and with it the receiver: nothing can run a task now.
    let payload = wait_until_execute_panics(&pool).expect("execute should panic without workers");
    // `expect` formats its message with the error, so the payload is a `String`.
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("every worker has exited"), "{message}");
}

#[test]
fn dropping_the_pool_panics_when_a_panic_payload_panics_when_dropped() {
    let pool = ThreadPool::new(1);
    pool.execute(|| panic::panic_any(PanicsWhenDropped));
    // `Drop` joins the dead worker and drops the payload it gets back: that drop panics, inside
    // the pool's `Drop`. Stage 05 catches it.
    let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(pool)));
    assert!(dropped.is_err(), "dropping the pool should have panicked");
}

/// A thread cannot join itself: on Unix the standard library's `join` panics (the system reports
/// a deadlock); on Windows it would wait forever, so this runs on Unix only.
#[cfg(unix)]
#[test]
fn a_pool_dropped_inside_its_own_task_panics_in_that_task() {
    use std::sync::{Arc, mpsc};

    let pool = Arc::new(ThreadPool::new(1));
    let last_handle = Arc::clone(&pool);
    let (gate_tx, gate) = mpsc::channel::<()>();
    let (outcome_tx, outcome) = mpsc::channel();
    pool.execute(move || {
        gate.recv_timeout(PATIENCE)
            .expect("the test opens the gate");
        // By now this task holds the last handle, so the pool's `Drop` runs here, on its only
        // worker, and joins that worker: this very thread.
        let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(last_handle)));
        outcome_tx.send(dropped.is_err()).unwrap();
    });
    drop(pool);
    gate_tx.send(()).unwrap();
    let panicked = outcome
        .recv_timeout(PATIENCE)
        .expect("the task should report");
    assert!(panicked, "joining its own thread should have panicked");
}

/// The environment variable that tells a test it runs in the child process.
const IN_CHILD: &str = "STAGE02_KNOWN_LIMITS_CHILD";

/// Runs `test`, one of the ignored tests of this file, alone in a child process (this same test
/// binary, with `IN_CHILD` set), and returns how it ended and what it printed on stderr. The
/// child runs without `RUST_MIN_STACK`, which would raise the stack of every thread it starts.
fn run_in_child(test: &str) -> (ExitStatus, String) {
    let output = Command::new(env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--nocapture", test])
        .env(IN_CHILD, "1")
        .env_remove("RUST_MIN_STACK")
        .output()
        .expect("the test binary runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Run only in a child process, by the test after it: this aborts the process it runs in.
#[test]
#[ignore = "aborts the process; run by a_queued_task_that_panics_when_dropped_aborts_the_process"]
fn queue_a_task_that_panics_when_dropped_behind_one_that_panics() {
    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    let pool = ThreadPool::new(1);
    pool.execute(|| panic!("a task that panics"));
    let value = PanicsWhenDropped;
    pool.execute(move || drop(value));
    drop(pool);
}

#[test]
fn a_queued_task_that_panics_when_dropped_aborts_the_process() {
    // The only worker dies of the first task's panic. As it unwinds it drops the last receiver,
    // the channel discards the task still queued, and that task's value panics in its `Drop`:
    // a panic during a panic, which the standard library answers by aborting the process.
    let (status, stderr) =
        run_in_child("queue_a_task_that_panics_when_dropped_behind_one_that_panics");
    assert!(!status.success(), "the child should have aborted");
    assert!(
        stderr.contains("panic in a destructor during cleanup"),
        "the child should abort on the second panic, and it printed:\n{stderr}"
    );
}

/// Run only in a child process, by the test after it: this aborts the process it runs in.
#[test]
#[ignore = "aborts the process; run by a_second_payload_that_panics_when_dropped_aborts_the_process"]
fn kill_both_workers_with_payloads_that_panic_when_dropped() {
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::{Duration, Instant};

    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    let pool = ThreadPool::new(2);
    // Each task waits for the other, so they run on both workers at once, and both workers die.
    let both_running = Arc::new(Barrier::new(2));
    for _ in 0..2 {
        let both_running = Arc::clone(&both_running);
        pool.execute(move || {
            both_running.wait();
            panic::panic_any(PanicsWhenDropped)
        });
    }
    // The first payload's panic escapes the pool's `Drop`, as the test above shows.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(pool)));
    // A second worker still ending drops its own payload as it exits: give it time to.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

#[test]
fn a_second_payload_that_panics_when_dropped_aborts_the_process() {
    // `Drop` joins the first dead worker and drops its payload, which panics. As that panic
    // unwinds, the second worker's `JoinHandle` is dropped unjoined, and the standard library
    // drops the second payload with it (or the thread does, as it exits, if it has not yet):
    // that drop panics too, and a thread's result that panics on drop aborts the process.
    let (status, stderr) = run_in_child("kill_both_workers_with_payloads_that_panic_when_dropped");
    assert!(!status.success(), "the child should have aborted");
    assert!(
        stderr.contains("thread result panicked on drop"),
        "the second payload should abort the child, and it printed:\n{stderr}"
    );
}

/// Twice the standard library's default stack of 2 MiB.
const LARGE: usize = 4 * 1024 * 1024;

/// Run only in a child process, by the test after it: this overflows a worker's stack.
#[test]
#[ignore = "aborts the process; run by a_task_that_needs_a_larger_stack_aborts_the_process"]
fn keep_a_large_array_on_a_workers_stack() {
    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    let pool = ThreadPool::new(1);
    pool.execute(|| {
        let bytes = std::hint::black_box([1_u8; LARGE]);
        assert_eq!(
            bytes.iter().map(|&byte| usize::from(byte)).sum::<usize>(),
            LARGE
        );
    });
    drop(pool);
}

#[test]
fn a_task_that_needs_a_larger_stack_aborts_the_process() {
    // The workers get the standard library's default stack, and nothing in this pool can ask for
    // more. A stack overflow is no panic: the whole process aborts.
    let (status, stderr) = run_in_child("keep_a_large_array_on_a_workers_stack");
    assert!(!status.success(), "the child should have aborted");
    assert!(
        stderr.contains("has overflowed its stack"),
        "the child should abort on a stack overflow, and it printed:\n{stderr}"
    );
}
