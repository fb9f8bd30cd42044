//! What this pool does not handle, shown safely: each test below demonstrates one "Known limits"
//! entry of the README, a limit that stage 05 removes. None of them hangs: a wait that could last
//! forever has a deadline, and the limits that end the process run in a child process.
//!
//! Its helpers are its own, copied from stage to stage, so that the file reads alone.

use std::env;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, bounded};
use stage04_results::{SubmitError, TaskLost, WorkerPool};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long something that must not happen is given to happen anyway.
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// A value whose destructor panics, as a careless type's can.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("this value panics when it is dropped");
    }
}

/// Submits empty tasks until `submit` refuses, which it does once no worker is left; fails the
/// test if it still accepts tasks after `PATIENCE`.
fn wait_until_no_worker_is_left(pool: &WorkerPool) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        match pool.submit(|| ()) {
            Err(SubmitError) => return,
            // Accepted while the worker was still alive; its handle does not matter.
            Ok(_handle) => thread::yield_now(),
        }
    }
    panic!("the only worker should have died");
}

#[test]
fn a_task_queued_when_the_last_worker_died_waits_until_the_pool_is_dropped() {
    let pool = WorkerPool::new(1, 4);
    let (gate_tx, gate) = bounded::<()>(1);
    let doomed = pool
        .submit(move || -> u64 {
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
            panic!("this task takes its worker down");
        })
        .expect("the worker is alive");
    // The only worker holds the doomed task at its gate, so this one waits in the queue.
    let queued = pool.submit(|| 7_u64).expect("the worker is alive");
    gate_tx.send(()).unwrap();
    assert_eq!(doomed.join(), Err(TaskLost));
    wait_until_no_worker_is_left(&pool);

    // No worker will ever run the queued task, but the queue still holds it, and with it the
    // sender of its value: its `join` waits. It is joined on another thread, watched for a while.
    let (joined_tx, joined) = bounded(1);
    thread::spawn(move || joined_tx.send(queued.join()).unwrap());
    assert_eq!(
        joined.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout),
        "join returned although the pool still holds the task"
    );
    // Dropping the pool drops the queue, the task and its sender: now `join` reports it.
    drop(pool);
    assert_eq!(joined.recv_timeout(PATIENCE), Ok(Err(TaskLost)));
}

#[test]
fn a_value_that_panics_when_dropped_unclaimed_kills_its_worker() {
    let pool = WorkerPool::new(1, 4);
    let (gate_tx, gate) = bounded::<()>(1);
    let unclaimed = pool
        .submit(move || {
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
            PanicsWhenDropped
        })
        .expect("the worker is alive");
    // Its handle is gone before the task returns, so the worker cannot send the value and drops
    // it: that drop panics on the worker, outside any task, and the only worker dies of it.
    drop(unclaimed);
    gate_tx.send(()).unwrap();
    wait_until_no_worker_is_left(&pool);
}

#[test]
fn dropping_the_pool_panics_when_a_panic_payload_panics_when_dropped() {
    let pool = WorkerPool::new(1, 4);
    let doomed = pool
        .submit(|| -> u64 { panic::panic_any(PanicsWhenDropped) })
        .expect("the worker is alive");
    assert_eq!(doomed.join(), Err(TaskLost));
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
    use std::sync::Arc;

    let pool = Arc::new(WorkerPool::new(1, 4));
    let last_handle = Arc::clone(&pool);
    let (gate_tx, gate) = bounded::<()>(1);
    let dropper = pool
        .submit(move || {
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
            // By now this task holds the last handle, so the pool's `Drop` runs here, on its
            // only worker, and joins that worker: this very thread.
            panic::catch_unwind(AssertUnwindSafe(move || drop(last_handle))).is_err()
        })
        .expect("the worker is alive");
    drop(pool);
    gate_tx.send(()).unwrap();
    assert_eq!(
        dropper.join(),
        Ok(true),
        "joining its own thread should have panicked"
    );
}

/// The environment variable that tells a test it runs in the child process.
const IN_CHILD: &str = "STAGE04_KNOWN_LIMITS_CHILD";

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

/// Run only in a child process, by the test after it: this ends the process it runs in.
#[test]
#[ignore = "ends its process; run by a_queued_task_that_panics_when_dropped_ends_the_process"]
fn queue_a_task_that_panics_when_dropped_behind_one_that_panics() {
    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    let pool = WorkerPool::new(1, 4);
    let _doomed = pool
        .submit(|| -> u64 { panic!("a task that panics") })
        .expect("the worker is alive");
    let value = PanicsWhenDropped;
    let _never_runs = pool
        .submit(move || drop(value))
        .expect("the worker is alive");
    pool.shutdown();
}

#[test]
fn a_queued_task_that_panics_when_dropped_ends_the_process() {
    // The only worker dies of the first task's panic, and the second task is never run: it is
    // dropped with the channel, and its value panics. Which thread drops it depends on who lets
    // go of the channel last. If `shutdown` has already dropped the sender, it is the worker, as
    // it unwinds: a panic during a panic, and the process aborts. Otherwise it is `shutdown`,
    // and the panic escapes the pool's `Drop`. The process ends either way.
    let (status, stderr) =
        run_in_child("queue_a_task_that_panics_when_dropped_behind_one_that_panics");
    assert!(!status.success(), "the child should have failed");
    assert!(
        stderr.contains("this value panics when it is dropped"),
        "the queued task's value should have panicked, and the child printed:\n{stderr}"
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
    let pool = WorkerPool::new(2, 4);
    // Each task waits for the other, so they run on both workers at once, and both workers die.
    let both_running = Arc::new(Barrier::new(2));
    for _ in 0..2 {
        let both_running = Arc::clone(&both_running);
        let _lost = pool
            .submit(move || -> u64 {
                both_running.wait();
                panic::panic_any(PanicsWhenDropped)
            })
            .expect("both workers are alive");
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
#[ignore = "aborts the process; run by a_task_that_returns_a_large_value_aborts_the_process"]
fn return_a_large_value_from_a_worker() {
    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    // Submitted from a thread with room to spare: a value this large can overflow the submitting
    // thread's default stack too, in a debug build, and this test is about the worker's.
    let submitter = thread::Builder::new()
        .stack_size(16 * LARGE)
        .spawn(|| {
            let pool = WorkerPool::new(1, 1);
            // Never joined: the value overflows the worker's stack before it reaches a handle.
            let _never_joined = pool
                .submit(|| std::hint::black_box([1_u8; LARGE]))
                .expect("the worker is alive");
            drop(pool);
        })
        .expect("the submitting thread starts");
    submitter.join().expect("the submitting thread returns");
}

#[test]
fn a_task_that_returns_a_large_value_aborts_the_process() {
    // The workers get the standard library's default stack, and nothing in this pool can ask for
    // more. A task's value lives on its worker's stack until it is sent, and a stack overflow is
    // no panic: the whole process aborts.
    let (status, stderr) = run_in_child("return_a_large_value_from_a_worker");
    assert!(!status.success(), "the child should have aborted");
    assert!(
        stderr.contains("'worker-0'") && stderr.contains("has overflowed its stack"),
        "the worker should overflow its stack, and the child printed:\n{stderr}"
    );
}
