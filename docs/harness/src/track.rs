//! Counting tasks as they run, laid out for workers to disturb one another as little as exact
//! counts allow (the README explains how).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// How many cache-padded slots the outcome counts are spread over; more threads share them.
const SLOTS: usize = 16;

/// Counts tasks as they run: how many ran at once, and how each one ended. Exact, once read after
/// every task has been joined.
#[derive(Debug, Default)]
pub struct Tracker {
    in_flight: CacheLine<InFlight>,
    outcomes: [CacheLine<Outcomes>; SLOTS],
}

/// The counters that every start and every end of a task update, whichever thread it runs on.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// How the tasks of the threads that share one slot ended.
#[derive(Debug, Default)]
struct Outcomes {
    completed: AtomicUsize,
    panicked: AtomicUsize,
}

/// A value alone on its cache line: aligned, and so padded, to 128 bytes (x86-64 fetches pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct CacheLine<T>(T);

impl Tracker {
    /// Marks a task as running until the returned guard is dropped.
    pub fn start(&self) -> Running<'_> {
        // `Relaxed` throughout: no update of one atomic is ever lost, and joining the tasks
        // orders every update before the read.
        let in_flight = &self.in_flight.0;
        let now = in_flight.now.fetch_add(1, Ordering::Relaxed) + 1;
        // A load leaves the line shared when the peak is not beaten; `fetch_max` keeps the
        // larger of two racing peaks.
        if now > in_flight.max.load(Ordering::Relaxed) {
            in_flight.max.fetch_max(now, Ordering::Relaxed);
        }
        Running { tracker: self }
    }

    /// The most tasks that were running at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.0.max.load(Ordering::Relaxed)
    }

    /// Tasks that returned normally.
    pub fn completed(&self) -> usize {
        self.sum(|outcomes| &outcomes.completed)
    }

    /// Tasks that panicked.
    pub fn panicked(&self) -> usize {
        self.sum(|outcomes| &outcomes.panicked)
    }

    fn sum(&self, count: impl Fn(&Outcomes) -> &AtomicUsize) -> usize {
        self.outcomes
            .iter()
            .map(|slot| count(&slot.0).load(Ordering::Relaxed))
            .sum()
    }
}

/// The slot of the current thread: threads take the slots in turn as they first count a task.
fn slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|slot| *slot)
}

/// One running task. A guard rather than a pair of calls, so that a task that panics is still
/// counted: `Drop` runs while the panic unwinds.
#[derive(Debug)]
pub struct Running<'a> {
    tracker: &'a Tracker,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let outcomes = &self.tracker.outcomes[slot()].0;
        let outcome = if thread::panicking() {
            &outcomes.panicked
        } else {
            &outcomes.completed
        };
        outcome.fetch_add(1, Ordering::Relaxed);
        self.tracker.in_flight.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    #[test]
    fn counts_from_many_threads_and_panics_add_up_exactly() {
        // More threads than slots, so that some of them share a slot.
        const THREADS: usize = SLOTS + 4;
        const TASKS: usize = 1_000;
        let tracker = Tracker::default();
        let all_running = Barrier::new(THREADS);
        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    // Each thread holds its first task until every thread holds one: the peak
                    // is all of them, and no more, since a thread runs one at a time.
                    let first = tracker.start();
                    all_running.wait();
                    drop(first);
                    for _ in 1..TASKS {
                        drop(tracker.start());
                    }
                });
            }
        });
        // A task that panics is counted as the guard drops while it unwinds.
        let result = std::panic::catch_unwind(|| {
            let _running = tracker.start();
            panic!("task failed");
        });
        assert!(result.is_err());
        assert_eq!(tracker.completed(), THREADS * TASKS);
        assert_eq!(tracker.panicked(), 1);
        assert_eq!(tracker.max_in_flight(), THREADS);
    }
}
