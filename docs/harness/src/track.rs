//! Counting tasks as they run: how many run at once, and how each one ended.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Counts tasks as they run: how many are running now, the most that ever ran together, and how
/// each one ended.
#[derive(Debug, Default)]
pub struct Tracker {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    completed: AtomicUsize,
    panicked: AtomicUsize,
}

impl Tracker {
    /// Marks a task as running until the returned guard is dropped.
    pub fn start(&self) -> Running<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Running { tracker: self }
    }

    /// The most tasks that were running at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Tasks that returned normally.
    pub fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }

    /// Tasks that panicked.
    pub fn panicked(&self) -> usize {
        self.panicked.load(Ordering::SeqCst)
    }
}

/// One running task. A guard rather than a pair of calls, so that a task that panics is still
/// counted: `Drop` runs while the panic unwinds.
#[derive(Debug)]
pub struct Running<'a> {
    tracker: &'a Tracker,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let outcome = if thread::panicking() {
            &self.tracker.panicked
        } else {
            &self.tracker.completed
        };
        outcome.fetch_add(1, Ordering::SeqCst);
        self.tracker.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_counts_panics_and_the_peak() {
        let tracker = Tracker::default();
        {
            let _first = tracker.start();
            let _second = tracker.start();
        }
        let result = std::panic::catch_unwind(|| {
            let _running = tracker.start();
            panic!("task failed");
        });
        assert!(result.is_err());
        assert_eq!(tracker.max_in_flight(), 2);
        assert_eq!(tracker.completed(), 2);
        assert_eq!(tracker.panicked(), 1);
    }
}
