//! The `summary:` line every stage's demo ends with.

use std::fmt;
use std::time::Duration;

use crate::task::TaskSpec;
use crate::track::Tracker;

/// The last line every stage prints: `key=value` pairs in a fixed order, `-` where a key does not
/// apply, so scripts (and `docs/measure`) can compare stages.
///
/// A stage that has more to say appends its own keys after these, so every shared key keeps its
/// place: `println!("{summary} rejected={rejected}")`.
#[derive(Debug)]
pub struct Summary<'a> {
    /// Two-digit stage number (or a peer's name, in `docs/measure`).
    pub stage: &'a str,
    /// Tasks the run was asked to do.
    pub tasks: usize,
    /// Counts of what actually ran.
    pub tracker: &'a Tracker,
    /// Worker threads, if the stage has a fixed number.
    pub workers: Option<usize>,
    /// Queue capacity, if the queue is bounded.
    pub queue: Option<usize>,
    /// The task each run did.
    pub task: TaskSpec,
    /// Wall time from the first submit until every task had finished.
    pub elapsed: Duration,
    /// The lower bound for this workload, see [`ideal`](crate::ideal).
    pub ideal: Duration,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_dash = |value: Option<usize>| value.map_or("-".to_string(), |n| n.to_string());
        let elapsed_s = self.elapsed.as_secs_f64();
        let completed = self.tracker.completed();
        let tasks_per_s = if elapsed_s > 0.0 {
            completed as f64 / elapsed_s
        } else {
            0.0
        };
        write!(
            f,
            "summary: stage={} tasks={} completed={completed} panicked={} workers={} queue={} \
             task={} elapsed_ms={:.1} ideal_ms={:.1} tasks_per_s={tasks_per_s:.1} max_in_flight={}",
            self.stage,
            self.tasks,
            self.tracker.panicked(),
            or_dash(self.workers),
            or_dash(self.queue),
            self.task,
            elapsed_s * 1e3,
            self.ideal.as_secs_f64() * 1e3,
            self.tracker.max_in_flight(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_in_a_fixed_order_with_dashes_for_what_does_not_apply() {
        let tracker = Tracker::default();
        drop(tracker.start());
        let summary = Summary {
            stage: "01",
            tasks: 1,
            tracker: &tracker,
            workers: None,
            queue: None,
            task: "sleep:1ms".parse().unwrap(),
            elapsed: Duration::from_millis(2),
            ideal: Duration::from_millis(1),
        };
        assert_eq!(
            summary.to_string(),
            "summary: stage=01 tasks=1 completed=1 panicked=0 workers=- queue=- task=sleep:1ms \
             elapsed_ms=2.0 ideal_ms=1.0 tasks_per_s=500.0 max_in_flight=1"
        );
    }
}
