//! What happens to a task when the queue is full: `try_submit` and `submit_timeout` hand back the
//! caller's own closure, so nothing is dropped silently, and a task that does go through still
//! delivers its outcome through its handle. Under `caller-runs`, the demo keeps the pool's promise
//! on the submitting thread too: a panic costs the task, never the thread.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use stage05_panic_resilient::{ResilientPool, SubmitTimeoutError, TaskHandle, TrySubmitError};

const PATIENCE: Duration = Duration::from_secs(10);

/// A pool of one worker blocked on a gate, with its queue of one filled: every further task is
/// refused until the test sends a token into the returned gate for each of the two blockers.
fn full_pool() -> (ResilientPool, Sender<()>, Vec<TaskHandle<&'static str>>) {
    let pool = ResilientPool::new(1, 1);
    let (started_tx, started) = unbounded::<()>();
    let (gate_tx, gate) = unbounded::<()>();
    let blocker = move |gate: Receiver<()>, started: Sender<()>| {
        move || {
            // Only the first start is awaited; later ones may find nobody listening.
            let _ = started.send(());
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
            "blocker"
        }
    };
    let running = pool.submit(blocker(gate.clone(), started_tx.clone()));
    started.recv_timeout(PATIENCE).expect("the worker starts");
    let queued = pool.submit(blocker(gate, started_tx));
    assert!(pool.is_full());
    (pool, gate_tx, vec![running, queued])
}

/// Opens the gate for both blockers and checks that they delivered their values.
fn release(gate: &Sender<()>, blockers: Vec<TaskHandle<&'static str>>) {
    for handle in blockers {
        gate.send(()).unwrap();
        assert_eq!(handle.join(), Ok("blocker"));
    }
}

/// A task that counts its runs and returns `value`.
fn counted(ran: &Arc<AtomicUsize>, value: u64) -> impl FnOnce() -> u64 + Send + 'static {
    let ran = Arc::clone(ran);
    move || {
        ran.fetch_add(1, Ordering::SeqCst);
        value
    }
}

#[test]
fn try_submit_returns_the_task_when_the_queue_is_full() {
    let (pool, gate, blockers) = full_pool();
    let ran = Arc::new(AtomicUsize::new(0));

    let refused = match pool.try_submit(counted(&ran, 42)) {
        Err(TrySubmitError::Full(task)) => task,
        Ok(_) => panic!("a full queue accepted a task"),
    };
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused task must not run");

    // The task we got back is the caller's own closure, with its return value: calling it runs
    // it, exactly once.
    assert_eq!(refused(), 42);
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    release(&gate, blockers);
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn a_task_given_back_can_be_submitted_again_and_delivers_its_value() {
    let (pool, gate, blockers) = full_pool();
    let ran = Arc::new(AtomicUsize::new(0));
    let task = pool
        .try_submit(counted(&ran, 7))
        .expect_err("the queue is full")
        .into_task();

    release(&gate, blockers);
    assert_eq!(pool.submit(task).join(), Ok(7));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn submit_timeout_gives_up_after_its_timeout_and_hands_the_task_back() {
    let (pool, gate, blockers) = full_pool();
    let timeout = Duration::from_millis(100);
    let ran = Arc::new(AtomicUsize::new(0));
    let before = Instant::now();
    let outcome = pool.submit_timeout(counted(&ran, 5), timeout);
    let waited = before.elapsed();

    let task = match outcome {
        Err(SubmitTimeoutError::Timeout(task)) => task,
        Ok(_) => panic!("a full queue accepted a task"),
    };
    assert!(
        waited >= timeout,
        "gave up after {waited:?}, before the timeout"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused task must not run");
    assert_eq!(task(), 5, "the task handed back is the one submitted");
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    release(&gate, blockers);
    pool.shutdown();
}

#[test]
fn submit_timeout_succeeds_when_a_slot_frees_in_time() {
    let (pool, gate, mut blockers) = full_pool();
    // The worker finishes the running blocker and takes the queued one: a slot frees.
    gate.send(()).unwrap();
    assert_eq!(blockers.remove(0).join(), Ok("blocker"));
    let handle = pool
        .submit_timeout(|| "in time", PATIENCE)
        .expect("a slot frees long before the timeout");
    release(&gate, blockers);
    assert_eq!(handle.join(), Ok("in time"));
}

#[test]
fn a_task_that_went_through_reports_its_panic_through_its_handle() {
    let pool = ResilientPool::new(1, 1);
    let handle = pool
        .try_submit(|| -> u64 { panic!("accepted, and failed anyway") })
        .expect("an idle pool has room");
    let error = handle.join().expect_err("the task panicked");
    assert_eq!(error.message(), "accepted, and failed anyway");
    let handle = pool
        .submit_timeout(|| 8, PATIENCE)
        .expect("the worker survived the panic");
    assert_eq!(handle.join(), Ok(8));
    assert_eq!(pool.active_workers(), 1);
}

#[test]
fn caller_runs_runs_every_task_exactly_once_and_every_value_arrives() {
    const TASKS: usize = 200;
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
    let (pool, gate, blockers) = full_pool();
    let mut values = Vec::new();
    let mut handles = Vec::new();
    for id in 0..TASKS {
        let runs = Arc::clone(&runs);
        let task = move || {
            runs[id].fetch_add(1, Ordering::SeqCst);
            id
        };
        match pool.try_submit(task) {
            Ok(handle) => handles.push(handle),
            Err(refused) => values.push(refused.into_task()()),
        }
        if id == TASKS / 2 {
            // The pool stayed full for the first half; now the worker takes part too.
            gate.send(()).unwrap();
            gate.send(()).unwrap();
        }
    }
    let ran_in_caller = values.len();
    values.extend(handles.into_iter().map(|handle| handle.join().unwrap()));
    pool.shutdown();
    drop(blockers);

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
    values.sort_unstable();
    assert_eq!(values, (0..TASKS).collect::<Vec<_>>());
}

/// Runs the demo and returns its stdout and stderr, checking that it succeeded.
fn demo_output(args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_05-panic-resilient"))
        .args(args)
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// Runs the demo and returns its stdout, checking that it succeeded.
fn demo(args: &[&str]) -> String {
    demo_output(args).0
}

/// The value of `key=` in the summary line, as a number.
fn value(summary: &str, key: &str) -> u64 {
    summary
        .split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {summary}"))
        .parse()
        .expect("a number")
}

#[test]
fn the_demo_runs_each_task_once_under_caller_runs_and_the_checksum_holds() {
    for order in [&[][..], &["--as-completed"][..]] {
        let mut args = vec!["--policy", "caller-runs", "--queue", "0", "--workers", "2"];
        args.extend_from_slice(&["--tasks", "100", "--task", "sleep:1ms"]);
        // Only task 0 panics, as by default; it adds 0 to the checksum either way.
        args.extend_from_slice(&["--panic-every", "100"]);
        args.extend_from_slice(order);
        let stdout = demo(&args);
        let mut seen = vec![0; 100];
        // Task 0 panics instead of printing its line.
        seen[0] = 1;
        for line in stdout.lines().filter(|line| line.starts_with("task ")) {
            let id: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
            seen[id] += 1;
        }
        assert!(seen.iter().all(|&count| count == 1), "{stdout}");
        let summary = stdout.lines().last().unwrap();
        assert_eq!(value(summary, "completed"), 99, "{summary}");
        assert_eq!(value(summary, "panicked"), 1, "{summary}");
        assert_eq!(value(summary, "rejected"), 0, "{summary}");
        let checksum: u64 = (0..100).map(|i| i * i).sum();
        assert_eq!(value(summary, "checksum"), checksum, "{summary}");
    }
}

#[test]
fn the_demo_reports_rejected_tasks_and_sums_only_the_others() {
    let stdout = demo(&[
        "--policy",
        "reject",
        "--queue",
        "1",
        "--workers",
        "1",
        "--tasks",
        "50",
        "--task",
        "sleep:1ms",
        "--panic-every",
        "50",
    ]);
    let summary = stdout.lines().last().unwrap();
    // Every task either ran (and completed or panicked) or was counted as rejected; none
    // vanished.
    assert_eq!(
        value(summary, "completed") + value(summary, "panicked") + value(summary, "rejected"),
        50,
        "{summary}"
    );
    assert!(value(summary, "rejected") > 0, "{summary}");
    assert!(stdout.contains("were rejected and did not run"), "{stdout}");

    // The checksum covers the tasks that ran: all of them but the rejected ones listed (task 0,
    // the only one that panics, adds 0 either way).
    let ids = stdout
        .lines()
        .find_map(|line| line.strip_prefix("rejected task ids: "))
        .unwrap_or_else(|| panic!("no rejected ids in {stdout}"));
    let rejected: Vec<u64> = ids
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|id| id.parse().expect("an id"))
        .collect();
    let checksum: u64 = (0..50)
        .filter(|i| !rejected.contains(i))
        .map(|i| i * i)
        .sum();
    assert_eq!(value(summary, "checksum"), checksum, "{summary}");
}

#[test]
fn the_demo_catches_the_panic_of_a_task_the_caller_runs() {
    // Every task panics, and with a queue of 0 and one worker, most run on the submitting thread.
    let (stdout, stderr) = demo_output(&[
        "--policy",
        "caller-runs",
        "--queue",
        "0",
        "--workers",
        "1",
        "--tasks",
        "20",
        "--task",
        "sleep:1ms",
        "--panic-every",
        "1",
    ]);
    let summary = stdout.lines().last().unwrap();
    assert_eq!(value(summary, "panicked"), 20, "{summary}");
    assert!(value(summary, "ran_in_caller") > 0, "{summary}");
    assert_eq!(value(summary, "active_workers"), 1, "{summary}");
    assert!(
        stdout.contains("panicked: 20 of 20 tasks, caught and isolated"),
        "{stdout}"
    );
    // The panic hook reports each one in a line of its own, whichever thread ran the task.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 20, "{stderr}");
    let on_main = lines
        .iter()
        .filter(|line| line.starts_with("main: task panicked: task "))
        .count();
    assert_eq!(on_main as u64, value(summary, "ran_in_caller"), "{stderr}");
}
