//! What one thread per task means: every task runs at once, and when the operating system
//! refuses a thread, spawning stops and the threads already started still finish.
//!
//! Its helpers and patience constants are copied from stage to stage, not shared, so that the
//! file reads alone beside its stage.

use std::env;
use std::io;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use stage01_unbounded_spawn::{Task, spawn_all, spawn_thread};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long something that must not happen is given to happen anyway.
const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Counts running tasks and remembers the most that ever ran together.
#[derive(Debug, Default)]
struct Peak {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Peak {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

#[test]
fn every_task_runs_at_the_same_time_on_its_own_named_thread() {
    const TASKS: usize = 64;
    // Every task waits here until all of them have arrived. That can only happen if all 64
    // run at once: with any limit below 64 on concurrent tasks, the barrier never opens.
    let barrier = Arc::new(Barrier::new(TASKS));
    let peak = Arc::new(Peak::default());
    let names = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<Task> = (0..TASKS)
        .map(|_| -> Task {
            let (barrier, peak, names) = (barrier.clone(), peak.clone(), names.clone());
            Box::new(move || {
                peak.enter();
                barrier.wait();
                let name = thread::current().name().map(str::to_owned);
                names.lock().unwrap().push(name);
                peak.leave();
            })
        })
        .collect();

    // Spawn and join on another thread, so that a barrier that never opens fails the test
    // after a while instead of hanging it.
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let spawned = spawn_all(tasks, spawn_thread);
        let started = spawned.started();
        let panicked = spawned.join();
        done_tx.send((started, panicked)).unwrap();
    });
    let (started, panicked) = done_rx
        .recv_timeout(PATIENCE)
        .expect("the tasks never all ran at the same time");

    assert_eq!((started, panicked), (TASKS, 0));
    assert_eq!(peak.max(), TASKS);
    let mut names = names.lock().unwrap().clone();
    names.sort();
    let mut expected: Vec<_> = (0..TASKS).map(|id| Some(format!("task-{id}"))).collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn a_refused_spawn_stops_spawning_and_the_started_threads_still_run() {
    const TASKS: usize = 10;
    const ALLOWED: usize = 4;
    // The started tasks wait at this barrier for the test, so it can check that `join`
    // really waits for them.
    let gate = Arc::new(Barrier::new(ALLOWED + 1));
    let ran = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<Task> = (0..TASKS)
        .map(|_| -> Task {
            let (gate, ran) = (gate.clone(), ran.clone());
            Box::new(move || {
                gate.wait();
                ran.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Spawn on another thread, so that a `spawn_all` that waited for its tasks would fail
    // the test instead of hanging it: these tasks wait for the test.
    let (spawned_tx, spawned_rx) = mpsc::channel();
    thread::spawn(move || {
        // Plays an operating system that runs out of threads after `ALLOWED` of them.
        let mut calls = 0;
        let refuse_after_allowed = |name: String, task: Task| {
            calls += 1;
            if calls > ALLOWED {
                return Err(io::Error::from(io::ErrorKind::WouldBlock));
            }
            spawn_thread(name, task)
        };
        let spawned = spawn_all(tasks, refuse_after_allowed);
        spawned_tx.send((calls, spawned)).unwrap();
    });
    let (calls, spawned) = spawned_rx
        .recv_timeout(PATIENCE)
        .expect("spawn_all returns while its threads still run");

    assert_eq!(calls, ALLOWED + 1, "spawning must stop at the first error");
    assert_eq!(spawned.started(), ALLOWED);
    let error = spawned.error().expect("the refusal is reported");
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);

    let (joined_tx, joined_rx) = mpsc::channel();
    thread::spawn(move || joined_tx.send(spawned.join()).unwrap());
    assert_eq!(
        joined_rx.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout),
        "join returned while the started tasks were still waiting"
    );
    gate.wait();
    assert_eq!(
        joined_rx.recv_timeout(PATIENCE),
        Ok(0),
        "no thread panicked"
    );
    assert_eq!(ran.load(Ordering::SeqCst), ALLOWED);
}

#[test]
fn join_counts_the_threads_that_panicked_and_still_joins_the_rest() {
    let ran = Arc::new(AtomicUsize::new(0));
    let tasks = (0..3).map(|id| -> Task {
        let ran = ran.clone();
        Box::new(move || {
            if id == 1 {
                panic!("task 1 fails on purpose");
            }
            ran.fetch_add(1, Ordering::SeqCst);
        })
    });

    let spawned = spawn_all(tasks, spawn_thread);

    assert_eq!(spawned.join(), 1);
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

/// A panic payload whose destructor panics, as a careless type's can.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("this payload panics when it is dropped");
    }
}

#[test]
fn join_joins_every_thread_before_it_drops_a_payload_that_panics_when_dropped() {
    let (gate_tx, gate) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicUsize::new(0));
    let still_running = Arc::clone(&finished);
    let tasks: Vec<Task> = vec![
        Box::new(|| std::panic::panic_any(PanicsWhenDropped)),
        Box::new(move || {
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
            still_running.fetch_add(1, Ordering::SeqCst);
        }),
    ];
    let spawned = spawn_all(tasks, spawn_thread);
    let (joined_tx, joined) = mpsc::channel();
    thread::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| spawned.join()));
        joined_tx.send(outcome.is_err()).unwrap();
    });

    // The second thread waits at its gate, so `join` must still be waiting for it.
    assert_eq!(
        joined.recv_timeout(QUIET_PERIOD),
        Err(RecvTimeoutError::Timeout),
        "join returned while a thread was still running"
    );
    gate_tx.send(()).unwrap();
    let panicked = joined.recv_timeout(PATIENCE).expect("join should return");
    assert!(
        panicked,
        "dropping the payload should panic, after the joins"
    );
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

/// The environment variable that tells a test it runs in the child process.
const IN_CHILD: &str = "STAGE01_SPAWN_CHILD";

/// Run only in a child process, by the test after it: this aborts the process it runs in.
#[test]
#[ignore = "aborts the process; run by join_aborts_when_a_second_payload_panics_when_dropped"]
fn join_two_threads_whose_payloads_panic_when_dropped() {
    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    let tasks: Vec<Task> = vec![
        Box::new(|| std::panic::panic_any(PanicsWhenDropped)),
        Box::new(|| std::panic::panic_any(PanicsWhenDropped)),
    ];
    let _ = spawn_all(tasks, spawn_thread).join();
}

#[test]
fn join_aborts_when_a_second_payload_panics_when_dropped() {
    // `join` drops the payloads together, once every thread is joined: the first panics, and the
    // second is dropped as that panic unwinds, a panic during a panic, so the process aborts.
    let output = Command::new(env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--nocapture"])
        .arg("join_two_threads_whose_payloads_panic_when_dropped")
        .env(IN_CHILD, "1")
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child should have aborted");
    assert!(
        stderr.contains("panic in a destructor during cleanup"),
        "the second payload should abort the child, and it printed:\n{stderr}"
    );
}
