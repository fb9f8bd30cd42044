//! What the production pools do when a task panics: threadpool respawns the worker, tokio hands
//! the panic back as a `JoinError`, and rayon aborts the whole process unless told otherwise.

use std::process::Command;
use std::time::Duration;

use crossbeam_channel::unbounded;

/// Long enough that a healthy run never reaches it; it only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(10);

#[test]
fn threadpool_replaces_a_worker_that_panicked() {
    let pool = threadpool::ThreadPool::new(2);
    pool.execute(|| panic!("a task fails"));
    pool.join();
    assert_eq!(pool.panic_count(), 1);

    // Both workers must still be there: two gated tasks can only start together if they are.
    let (started_tx, started) = unbounded();
    let (gate_tx, gate) = unbounded();
    for _ in 0..2 {
        // Each task says it started, then waits for the test to open the gate.
        let (started_tx, gate) = (started_tx.clone(), gate.clone());
        pool.execute(move || {
            started_tx.send(()).unwrap();
            gate.recv_timeout(PATIENCE)
                .expect("the test opens the gate");
        });
    }
    for _ in 0..2 {
        started
            .recv_timeout(PATIENCE)
            .expect("two workers after a panic: threadpool respawned the one that died");
    }
    for _ in 0..2 {
        gate_tx.send(()).unwrap();
    }
    pool.join();
}

#[test]
fn tokio_returns_a_panic_as_a_join_error_and_keeps_running() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        let failed = tokio::spawn(async { panic!("a task fails") }).await;
        let error = failed.expect_err("a panicking task cannot return a value");
        assert!(error.is_panic());
        let next = tokio::spawn(async { 6 * 7 }).await;
        assert_eq!(next.unwrap(), 42, "the only worker survived the panic");
    });
}

#[test]
fn rayon_scope_rethrows_a_panic_after_the_other_tasks_finish() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|scope| {
            scope.spawn(|_| panic!("a task fails"));
            for _ in 0..10 {
                scope.spawn(|_| {
                    finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        });
    }));
    assert!(outcome.is_err(), "the panic reaches the caller of scope");
    assert_eq!(finished.into_inner(), 10, "the other tasks still ran");
    assert_eq!(pool.install(|| 6 * 7), 42, "the pool still works");
}

#[test]
fn rayon_spawn_aborts_the_process_on_a_panic_by_default() {
    // The abort would take this test binary down, so the panic happens in a child: this same
    // binary, running only the ignored test below.
    let output = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .args([
            "--exact",
            "panicking_rayon_spawn",
            "--ignored",
            "--nocapture",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child survived: {stderr}");
    assert!(stderr.contains("a task fails"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            output.status.signal(),
            Some(6),
            "rayon aborts (SIGABRT) when a spawned task panics and no panic_handler is set"
        );
    }
}

/// Set for the child process only, so that `cargo test -- --ignored` cannot abort the tests.
const CHILD: &str = "MEASURE_TEST_RAYON_ABORT_CHILD";

#[test]
#[ignore = "aborts its process; run as a child by the test above"]
fn panicking_rayon_spawn() {
    if std::env::var_os(CHILD).is_none() {
        eprintln!("only meaningful as the child of the test above");
        return;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (_keep_open, never) = unbounded::<()>();
    pool.spawn(|| panic!("a task fails"));
    // rayon aborts the process from its worker; this wait only ends if it did not.
    let _ = never.recv_timeout(PATIENCE);
    panic!("rayon did not abort within {PATIENCE:?}");
}
