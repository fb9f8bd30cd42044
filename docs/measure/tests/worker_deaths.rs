//! Stage 05 replaces a worker that dies, and the dead thread must not keep its stack mapped, or
//! a pool whose workers die again and again would run out of mappings. Linux-only (`/proc`).
#![cfg(target_os = "linux")]

use std::fs;
use std::panic::{self, panic_any};
use std::thread;
use std::time::{Duration, Instant};

use stage05_panic_resilient::{ResilientPool, TaskHandle};

/// A panic payload whose destructor panics: dropped by the worker after the catch, it kills it.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("PanicOnDrop's destructor panics");
    }
}

/// How many memory mappings this process has now: one line of `/proc/self/maps` each.
fn mappings() -> usize {
    let maps = fs::read_to_string("/proc/self/maps").expect("/proc/self/maps is readable on Linux");
    maps.lines().count()
}

/// Kills `deaths` workers of `pool`, one task each, and waits for every one of those tasks.
fn kill_workers(pool: &ResilientPool, deaths: usize) {
    let killers: Vec<_> = (0..deaths)
        .map(|_| pool.submit(|| panic_any(PanicOnDrop)))
        .collect();
    for outcome in killers.into_iter().map(TaskHandle::join) {
        assert!(outcome.is_err(), "every killer panics");
    }
}

#[test]
fn two_thousand_worker_deaths_leave_the_mapping_count_flat() {
    const WORKERS: usize = 2;
    const DEATHS: usize = 2_000;
    // 2,000 threads that kept their stacks would add 4,000 mappings (a stack and its guard page
    // each); the margin leaves room for the allocator's arenas and the C library's stack cache.
    const MARGIN: usize = 200;
    // Thousands of planned panics: report none of them.
    panic::set_hook(Box::new(|_| {}));

    let pool = ResilientPool::new(WORKERS, 16);
    // A first round, so that the baseline includes what the first deaths set up once.
    kill_workers(&pool, 50);
    let baseline = mappings();
    kill_workers(&pool, DEATHS);

    // A dead thread unmaps its stack as it exits, a moment after its replacement has started,
    // so give the last ones a bounded time to finish.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut now = mappings();
    while now > baseline + MARGIN && Instant::now() < deadline {
        thread::yield_now();
        now = mappings();
    }
    assert!(
        now <= baseline + MARGIN,
        "{DEATHS} worker deaths took the mappings from {baseline} to {now}"
    );
    assert_eq!(pool.active_workers(), WORKERS);
    assert_eq!(pool.panicked_tasks(), DEATHS + 50);
    let _ = panic::take_hook();
}
