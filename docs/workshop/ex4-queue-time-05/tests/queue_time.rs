//! Exercise 4's test: `join_timed` splits a task's time into waiting and running. No sleeps and no
//! guessed durations: a gate that the test opens decides how long a task runs and how long the
//! next one waits, and the test checks the timings against what its own clock saw around them.

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use ex4_queue_time_05::{ResilientPool, TaskHandle, TaskPanicked, Timings};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long we watch for something that must not happen (a task starting too early).
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Joins `handle` on another thread, so that a join that never returns fails the test instead of
/// hanging it.
fn join_timed<R: Send + 'static>(handle: TaskHandle<R>) -> Result<(R, Timings), TaskPanicked> {
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || outcome_tx.send(handle.join_timed()).unwrap());
    outcome
        .recv_timeout(PATIENCE)
        .expect("join_timed should return, with a value or an error, instead of waiting forever")
}

/// A task that reports when it starts, then waits until the test opens the gate or drops it.
/// Each test creates its gate after its pool, so a failing test drops the gate first and the
/// pool's drop, which waits for the workers, does not wait forever.
fn gated_task(started: Sender<()>, gate: Receiver<()>) -> impl FnOnce() -> u32 + Send + 'static {
    move || {
        // The sends in these tests fail only once a failed test has stopped listening.
        let _ = started.send(());
        let _ = gate.recv();
        1
    }
}

#[test]
fn timings_split_the_time_into_waiting_and_running() {
    let pool = ResilientPool::new(1, 4);
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();

    // The first task occupies the only worker until the gate opens.
    let first_submitted = Instant::now();
    let first = pool.submit(gated_task(started_tx.clone(), gate));
    started
        .recv_timeout(PATIENCE)
        .expect("the first task should start on the idle worker");
    let first_seen_running = Instant::now();

    // The second task has to wait for it.
    let second = pool.submit(move || {
        let _ = started_tx.send(());
        2
    });
    let second_submitted = Instant::now();
    assert!(
        started.recv_timeout(QUIET_PERIOD).is_err(),
        "the second task started while the only worker was busy"
    );
    let opened = Instant::now();
    gate_tx.send(()).unwrap();

    let (first_value, first_timings) = join_timed(first).unwrap();
    let (second_value, second_timings) = join_timed(second).unwrap();
    let watched = first_submitted.elapsed();
    assert_eq!((first_value, second_value), (1, 2));

    // Lower bounds: the test's clock saw at least this much of each span.
    let waited_at_least = opened - second_submitted;
    assert!(
        second_timings.waiting >= waited_at_least,
        "the second task waited at least {waited_at_least:?} for the only worker, but its \
         timings say {:?}: start the clock in `submit` and stop it when a worker starts the task",
        second_timings.waiting
    );
    let ran_at_least = opened - first_seen_running;
    assert!(
        first_timings.running >= ran_at_least,
        "the first task ran for at least {ran_at_least:?}, but its timings say {:?}: time the task \
         itself, from when a worker starts it until it returns",
        first_timings.running
    );
    // Upper bound: no part can be longer than the whole time the test watched.
    for timings in [first_timings, second_timings] {
        assert!(
            timings.waiting + timings.running <= watched,
            "{timings:?} adds up to more than the {watched:?} the test watched: `running` starts \
             where `waiting` ends, so neither may count the other's time"
        );
    }
    pool.shutdown();
}

#[test]
fn join_and_join_timed_agree_on_values_and_panics() {
    let pool = ResilientPool::new(2, 4);
    assert_eq!(pool.submit(|| 6 * 7).join(), Ok(42));
    assert_eq!(
        join_timed(pool.submit(|| 6 * 7)).map(|(value, _)| value),
        Ok(42)
    );

    let failure = pool.submit(|| -> u32 { panic!("no timings for me") });
    assert_eq!(
        join_timed(failure).unwrap_err().message(),
        "no timings for me"
    );
    assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (2, 1));
    pool.shutdown();
}
