//! What happens to a task when the queue is full: `try_submit` and `submit_timeout` hand it back,
//! so the caller decides its fate and nothing is dropped silently.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use stage03_crossbeam_bounded::{SubmitTimeoutError, TrySubmitError, WorkerPool};

const PATIENCE: Duration = Duration::from_secs(10);

/// A pool of one worker blocked on a gate, with its queue of one filled: every further task is
/// refused until the test sends a token into the returned gate.
fn full_pool() -> (WorkerPool, Sender<()>) {
    let pool = WorkerPool::new(1, 1);
    let (started_tx, started) = unbounded::<()>();
    let (gate_tx, gate) = unbounded::<()>();
    let blocker = move |gate: Receiver<()>, started: Sender<()>| {
        move || {
            // Only the first start is awaited; later ones may find nobody listening.
            let _ = started.send(());
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
        }
    };
    pool.submit(blocker(gate.clone(), started_tx.clone()))
        .unwrap();
    started.recv_timeout(PATIENCE).expect("the worker starts");
    pool.submit(blocker(gate, started_tx)).unwrap();
    assert!(pool.is_full());
    (pool, gate_tx)
}

#[test]
fn try_submit_returns_the_task_when_the_queue_is_full() {
    let (pool, gate) = full_pool();
    let ran = Arc::new(AtomicUsize::new(0));
    let task = {
        let ran = Arc::clone(&ran);
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
        }
    };

    let refused = match pool.try_submit(task) {
        Err(TrySubmitError::Full(task)) => task,
        Err(error) => panic!("expected Full, got {error:?}"),
        Ok(()) => panic!("a full queue accepted a task"),
    };
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused task must not run");

    // The task we got back is the caller's own closure: calling it runs it, exactly once.
    refused();
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    gate.send(()).unwrap();
    gate.send(()).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn submit_timeout_gives_up_after_its_timeout_and_hands_the_task_back() {
    let (pool, gate) = full_pool();
    let timeout = Duration::from_millis(100);
    let ran = Arc::new(AtomicUsize::new(0));
    let task = {
        let ran = Arc::clone(&ran);
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
        }
    };
    let before = Instant::now();
    let outcome = pool.submit_timeout(task, timeout);
    let waited = before.elapsed();

    let task = match outcome {
        Err(SubmitTimeoutError::Timeout(task)) => task,
        other => panic!("expected a timeout, got {other:?}"),
    };
    assert!(
        waited >= timeout,
        "gave up after {waited:?}, before the timeout"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused task must not run");
    task();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "the task handed back is the one submitted"
    );

    gate.send(()).unwrap();
    gate.send(()).unwrap();
    pool.shutdown();
}

#[test]
fn submit_timeout_succeeds_when_a_slot_frees_in_time() {
    let (pool, gate) = full_pool();
    gate.send(()).unwrap(); // the worker finishes and takes the queued task: a slot frees
    assert!(pool.submit_timeout(|| {}, PATIENCE).is_ok());
    gate.send(()).unwrap();
    pool.shutdown();
}

#[test]
fn caller_runs_runs_every_task_exactly_once() {
    const TASKS: usize = 200;
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
    let (pool, gate) = full_pool();
    let mut ran_in_caller = 0;
    for id in 0..TASKS {
        let runs = Arc::clone(&runs);
        let task = move || {
            runs[id].fetch_add(1, Ordering::SeqCst);
        };
        if let Err(refused) = pool.try_submit(task) {
            refused.into_task()();
            ran_in_caller += 1;
        }
        if id == TASKS / 2 {
            // The pool stayed full for the first half; now the worker takes part too.
            gate.send(()).unwrap();
            gate.send(()).unwrap();
        }
    }
    pool.shutdown();
    assert!(
        ran_in_caller > TASKS / 2,
        "the caller ran only {ran_in_caller} tasks"
    );
    for (id, count) in runs.iter().enumerate() {
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "task {id} ran a wrong number of times"
        );
    }
}

#[test]
fn the_demo_runs_each_task_once_under_caller_runs() {
    let output = Command::new(env!("CARGO_BIN_EXE_03-crossbeam-bounded"))
        .args(["--policy", "caller-runs", "--queue", "0", "--workers", "2"])
        .args(["--tasks", "100", "--task", "sleep:1ms"])
        .output()
        .expect("the demo runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut seen = vec![0; 100];
    for line in stdout.lines().filter(|line| line.starts_with("task ")) {
        let id: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
        seen[id] += 1;
    }
    assert!(seen.iter().all(|&count| count == 1), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.contains(" completed=100 "), "{summary}");
    assert!(summary.contains(" rejected=0 "), "{summary}");
}

#[test]
fn the_demo_reports_rejected_tasks() {
    let output = Command::new(env!("CARGO_BIN_EXE_03-crossbeam-bounded"))
        .args(["--policy", "reject", "--queue", "1", "--workers", "1"])
        .args(["--tasks", "50", "--task", "sleep:1ms", "--quiet"])
        .output()
        .expect("the demo runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.lines().last().unwrap();
    let value = |key: &str| -> usize {
        let pair = summary
            .split(' ')
            .find(|pair| pair.starts_with(key))
            .unwrap();
        pair[key.len()..].parse().unwrap()
    };
    // Every task either ran or was counted as rejected; none vanished.
    assert_eq!(value("completed=") + value("rejected="), 50, "{summary}");
    assert!(value("rejected=") > 0, "{summary}");
    assert!(stdout.contains("were rejected and did not run"), "{stdout}");
}
