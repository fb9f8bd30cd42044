//! What happens to a task when the queue is full, other than waiting: `try_submit` and
//! `submit_timeout` hand the refused task back as a boxed `Job`, so the caller decides its fate
//! (run it, drop it, or submit it after all) and nothing is dropped silently. The last two tests
//! run the demo under `--policy caller-runs` and `--policy reject`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use harness::testing::{Demo, stdout, value, words};
use stage03_crossbeam_bounded::{SubmitError, SubmitTimeoutError, TrySubmitError, WorkerPool};

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// A pool of one worker blocked on a gate, with its queue of one filled by a second blocker:
/// every further task is refused until the test sends a token into the returned gate. Each token
/// lets one blocker finish; send two before shutting the pool down.
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
    (pool, gate_tx)
}

/// A task that counts its runs.
fn counted(ran: &Arc<AtomicUsize>) -> impl FnOnce() + Send + 'static {
    let ran = Arc::clone(ran);
    move || {
        ran.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn try_submit_returns_the_task_when_the_queue_is_full() {
    let (pool, gate) = full_pool();
    let ran = Arc::new(AtomicUsize::new(0));

    let refused = match pool.try_submit(counted(&ran)) {
        Err(TrySubmitError::Full(job)) => job,
        Err(error) => panic!("expected Full, got {error:?}"),
        Ok(()) => panic!("a full queue accepted a task"),
    };
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused task must not run");

    // Caller runs: the job we got back is the caller's own closure, boxed. Calling it runs it,
    // here on the submitting thread, exactly once.
    refused();
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    gate.send(()).unwrap();
    gate.send(()).unwrap();
    pool.shutdown();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "the pool ran a task it refused"
    );
}

#[test]
fn a_refused_job_that_is_dropped_never_runs() {
    let (pool, gate) = full_pool();
    let ran = Arc::new(AtomicUsize::new(0));

    // Reject: the caller drops the job it got back. Dropping the box drops the closure, and with
    // it the closure's clone of `ran`.
    let refused = pool
        .try_submit(counted(&ran))
        .expect_err("the queue is full");
    assert_eq!(Arc::strong_count(&ran), 2, "the job holds the closure");
    drop(refused);
    assert_eq!(Arc::strong_count(&ran), 1, "the closure was not dropped");

    gate.send(()).unwrap();
    gate.send(()).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a dropped job ran");
}

#[test]
fn a_refused_job_can_be_submitted_again_and_runs_on_a_worker() {
    let (pool, gate) = full_pool();
    let (ran_on_tx, ran_on) = bounded(1);
    let job = pool
        .try_submit(move || {
            let name = thread::current().name().map(str::to_string);
            ran_on_tx.send(name).unwrap();
        })
        .expect_err("the queue is full")
        .into_job();

    // Wait after all: a `Job` is itself a task `submit` accepts. It waits for the slot that the
    // first blocker frees when the test lets it finish.
    gate.send(()).unwrap();
    pool.submit(job).expect("the worker is alive");
    gate.send(()).unwrap();
    let name = ran_on
        .recv_timeout(PATIENCE)
        .expect("the resubmitted job should run");
    assert_eq!(name.as_deref(), Some("worker-0"));
    pool.shutdown();
}

#[test]
fn submit_timeout_gives_up_after_its_timeout_and_hands_the_task_back() {
    let (pool, gate) = full_pool();
    let timeout = Duration::from_millis(100);
    let ran = Arc::new(AtomicUsize::new(0));
    let before = Instant::now();
    let outcome = pool.submit_timeout(counted(&ran), timeout);
    let waited = before.elapsed();

    let job = match outcome {
        Err(SubmitTimeoutError::Timeout(job)) => job,
        other => panic!("expected a timeout, got {other:?}"),
    };
    // A lower bound only: how much longer it took depends on the machine.
    assert!(
        waited >= timeout,
        "gave up after {waited:?}, before the timeout"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused task must not run");
    job();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "the job handed back is the task submitted"
    );

    gate.send(()).unwrap();
    gate.send(()).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn submit_timeout_succeeds_when_a_slot_frees_in_time() {
    let (pool, gate) = full_pool();
    let ran = Arc::new(AtomicUsize::new(0));
    // The worker finishes the first blocker and takes the queued one: a slot frees.
    gate.send(()).unwrap();
    assert!(pool.submit_timeout(counted(&ran), PATIENCE).is_ok());
    gate.send(()).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the accepted task ran");
}

#[test]
fn both_hand_the_task_back_when_no_worker_is_left() {
    // A rendezvous queue and one worker: the panicking task goes straight to the worker, and
    // nothing can be queued behind it.
    let pool = WorkerPool::new(1, 0);
    pool.submit(|| panic!("the only worker dies here")).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let (first, second) = (counted(&ran), counted(&ran));
    // Runs on its own thread, so that a regression (a submit blocked forever) fails the test
    // instead of hanging it.
    let (outcome_tx, outcome) = bounded(1);
    thread::spawn(move || {
        // No worker will ever take this one: `submit` waits until the worker has died and
        // dropped its receiver, and then fails.
        let submitted = pool.submit(|| {});
        let tried = pool.try_submit(first);
        let timed = pool.submit_timeout(second, PATIENCE);
        outcome_tx.send((submitted, tried, timed)).unwrap();
    });
    let (submitted, tried, timed) = outcome
        .recv_timeout(PATIENCE)
        .expect("submit blocked although the only worker was gone");

    assert_eq!(submitted, Err(SubmitError));
    match tried {
        Err(TrySubmitError::Closed(job)) => job(),
        other => panic!("expected Closed, got {other:?}"),
    }
    match timed {
        Err(SubmitTimeoutError::Closed(job)) => job(),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        2,
        "both jobs came back and ran here"
    );
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
            refused.into_job()();
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

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_03-crossbeam-bounded"));

/// The value of `key` in the summary line, as a number.
fn count(summary: &str, key: &str) -> usize {
    value(summary, key).parse().expect("a number")
}

#[test]
fn the_demo_runs_each_task_once_under_caller_runs() {
    // `--each`: a line per task, to count how often each one ran.
    let args = "--policy caller-runs --queue 0 --workers 2 --tasks 100 --task sleep:1ms --each";
    let stdout = stdout(&DEMO.assert_runs(&words(args)));
    let mut seen = vec![0; 100];
    for line in stdout.lines().filter(|line| line.starts_with("task ")) {
        let id: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
        seen[id] += 1;
    }
    assert!(seen.iter().all(|&count| count == 1), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    assert_eq!(count(summary, "completed"), 100, "{summary}");
    assert_eq!(count(summary, "rejected"), 0, "{summary}");
}

#[test]
fn the_demo_reports_rejected_tasks() {
    // One worker and a queue of one, with tasks of 50 ms: the submitting loop finds the queue
    // full long before the worker has finished its first task.
    let args = "--policy reject --queue 1 --workers 1 --tasks 50 --task sleep:50ms --quiet";
    let stdout = stdout(&DEMO.assert_runs(&words(args)));
    let summary = stdout.lines().last().unwrap();
    // Every task either ran or was counted as rejected; none vanished.
    assert_eq!(
        count(summary, "completed") + count(summary, "rejected"),
        50,
        "{summary}"
    );
    assert!(count(summary, "rejected") > 0, "{summary}");
    assert!(stdout.contains("were rejected and did not run"), "{stdout}");
}
