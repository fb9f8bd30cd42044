//! The `summary:` line every stage's demo ends with: [`Summary`] writes it ([`Display`]) and reads
//! it back ([`FromStr`]), for the demos, `docs/measure` and the stages' tests alike.
//!
//! [`Display`]: fmt::Display

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::task::TaskSpec;
use crate::track::Tracker;

/// What every `summary:` line starts with.
pub const PREFIX: &str = "summary: ";

/// The keys every stage from 01 to 05 (and every peer of `docs/measure`) starts its summary
/// with, in this order.
pub const KEYS: [&str; 11] = [
    "stage",
    "tasks",
    "completed",
    "panicked",
    "workers",
    "queue",
    "task",
    "elapsed_ms",
    "ideal_ms",
    "tasks_per_s",
    "max_in_flight",
];

/// The last line every stage prints: `key=value` pairs in a fixed order ([`KEYS`]), `-` where a
/// key does not apply, so scripts (and `docs/measure`) can compare stages.
///
/// A stage that has more to say appends its own keys after these, so every shared key keeps its
/// place: `println!("{summary} rejected={rejected}")`, or [`Summary::with`]. Parsing keeps them
/// in [`Summary::extra`].
///
/// ```
/// use harness::Summary;
///
/// let line = "summary: stage=03 tasks=2 completed=2 panicked=0 workers=1 queue=4 \
///             task=sleep:1ms elapsed_ms=2.1 ideal_ms=2.0 tasks_per_s=952.4 max_in_flight=1 \
///             rejected=0";
/// let summary: Summary = line.parse().unwrap();
/// assert_eq!((summary.completed, summary.own::<usize>("rejected")), (2, Some(0)));
/// assert_eq!(summary.to_string(), line);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Two-digit stage number (or a peer's name, in `docs/measure`).
    pub stage: String,
    /// Tasks the run was asked to do.
    pub tasks: usize,
    /// Tasks that returned normally.
    pub completed: usize,
    /// Tasks that panicked.
    pub panicked: usize,
    /// Worker threads, if the stage has a fixed number (`-`: a thread per task).
    pub workers: Option<usize>,
    /// Queue capacity, if the queue is bounded (`-`: no queue, or one without a limit).
    pub queue: Option<usize>,
    /// The task each run did.
    pub task: TaskSpec,
    /// Wall time from the first submit until every task had finished, in milliseconds.
    pub elapsed_ms: f64,
    /// The lower bound for this workload, see [`ideal`](crate::ideal), in milliseconds.
    pub ideal_ms: f64,
    /// Completed tasks per second of `elapsed_ms`.
    pub tasks_per_s: f64,
    /// The most tasks that ran at the same moment.
    pub max_in_flight: usize,
    /// The keys the stage appended after the shared ones, with their values, in order.
    pub extra: Vec<(String, String)>,
}

impl Summary {
    /// The summary of a run of `tasks` tasks of kind `task`, counted by `tracker`, that took
    /// `elapsed` where at best it takes `ideal`.
    #[allow(clippy::too_many_arguments)] // One argument per shared key: a builder would only hide that.
    pub fn new(
        stage: impl Into<String>,
        tasks: usize,
        tracker: &Tracker,
        workers: Option<usize>,
        queue: Option<usize>,
        task: TaskSpec,
        elapsed: Duration,
        ideal: Duration,
    ) -> Self {
        let elapsed_s = elapsed.as_secs_f64();
        let completed = tracker.completed();
        Summary {
            stage: stage.into(),
            tasks,
            completed,
            panicked: tracker.panicked(),
            workers,
            queue,
            task,
            elapsed_ms: elapsed_s * 1e3,
            ideal_ms: ideal.as_secs_f64() * 1e3,
            tasks_per_s: if elapsed_s > 0.0 {
                completed as f64 / elapsed_s
            } else {
                0.0
            },
            max_in_flight: tracker.max_in_flight(),
            extra: Vec::new(),
        }
    }

    /// The same summary with a key of the stage's own appended.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.extra.push((key.to_string(), value.to_string()));
        self
    }

    /// The value of the stage's own `key`, parsed; `None` if the line has no such key or its value
    /// does not parse.
    pub fn own<T: FromStr>(&self, key: &str) -> Option<T> {
        let (_, value) = self.extra.iter().find(|(own, _)| own == key)?;
        value.parse().ok()
    }

    /// Every key of the line with its value, as the line shows it: [`KEYS`], then the stage's
    /// own.
    pub fn pairs(&self) -> Vec<(&str, String)> {
        let or_dash = |value: Option<usize>| value.map_or("-".to_string(), |n| n.to_string());
        let shared = [
            self.stage.clone(),
            self.tasks.to_string(),
            self.completed.to_string(),
            self.panicked.to_string(),
            or_dash(self.workers),
            or_dash(self.queue),
            self.task.to_string(),
            format!("{:.1}", self.elapsed_ms),
            format!("{:.1}", self.ideal_ms),
            format!("{:.1}", self.tasks_per_s),
            self.max_in_flight.to_string(),
        ];
        let own = self.extra.iter().map(|(k, v)| (k.as_str(), v.clone()));
        KEYS.into_iter().zip(shared).chain(own).collect()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX.trim_end())?;
        for (key, value) in self.pairs() {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

impl FromStr for Summary {
    type Err = String;

    /// Reads a line that [`Display`](fmt::Display) wrote: the shared [`KEYS`] in order, then any
    /// of the stage's own.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let mut pairs = pairs(line).ok_or_else(|| format!("not a summary line: {line}"))?;
        let mut shared = [""; KEYS.len()];
        for (value, key) in shared.iter_mut().zip(KEYS) {
            *value = match pairs.next() {
                Some((found, value)) if found == key => value,
                Some((found, _)) => return Err(format!("expected {key}, found {found} in {line}")),
                None => return Err(format!("no {key} in {line}")),
            };
        }
        let [
            stage,
            tasks,
            completed,
            panicked,
            workers,
            queue,
            task,
            elapsed,
            ideal,
            rate,
            most,
        ] = shared;
        fn number<T: FromStr>(key: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("{key}={value} is not a number"))
        }
        let or_dash = |key, value| match value {
            "-" => Ok(None),
            value => number(key, value).map(Some),
        };
        Ok(Summary {
            stage: stage.to_string(),
            tasks: number("tasks", tasks)?,
            completed: number("completed", completed)?,
            panicked: number("panicked", panicked)?,
            workers: or_dash("workers", workers)?,
            queue: or_dash("queue", queue)?,
            task: task.parse()?,
            elapsed_ms: number("elapsed_ms", elapsed)?,
            ideal_ms: number("ideal_ms", ideal)?,
            tasks_per_s: number("tasks_per_s", rate)?,
            max_in_flight: number("max_in_flight", most)?,
            extra: pairs.map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
    }
}

/// The `key=value` pairs of any `summary:` line, in order, including those of stage 06, whose
/// keys are its own; `None` if `line` is not one. A word without `=` is a key with an empty value.
pub fn pairs(line: &str) -> Option<impl Iterator<Item = (&str, &str)>> {
    let pairs = line.strip_prefix(PREFIX)?;
    Some(
        pairs
            .split_whitespace()
            .map(|pair| pair.split_once('=').unwrap_or((pair, ""))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "summary: stage=01 tasks=1 completed=1 panicked=0 workers=- queue=- \
                        task=sleep:1ms elapsed_ms=2.0 ideal_ms=1.0 tasks_per_s=500.0 \
                        max_in_flight=1";

    #[test]
    fn keys_come_in_a_fixed_order_with_dashes_for_what_does_not_apply() {
        let tracker = Tracker::default();
        drop(tracker.start());
        let summary = Summary::new(
            "01",
            1,
            &tracker,
            None,
            None,
            "sleep:1ms".parse().unwrap(),
            Duration::from_millis(2),
            Duration::from_millis(1),
        );
        assert_eq!(summary.to_string(), LINE);
    }

    #[test]
    fn a_line_reads_back_as_it_was_written() {
        let summary: Summary = LINE.parse().unwrap();
        assert_eq!((summary.workers, summary.elapsed_ms), (None, 2.0));
        assert_eq!(summary.to_string(), LINE);
        let own = format!("{LINE} rejected=3 ran_in_caller=0");
        let summary: Summary = own.parse().unwrap();
        assert_eq!(summary.own::<u64>("rejected"), Some(3));
        assert_eq!(summary.to_string(), own);
        assert_eq!(summary.clone().to_string().parse::<Summary>(), Ok(summary));
    }

    #[test]
    fn a_line_without_the_shared_keys_in_order_is_refused() {
        assert!("stage=01".parse::<Summary>().is_err());
        assert!("summary: tasks=1 stage=01".parse::<Summary>().is_err());
        let garbled = LINE.replace("tasks=1 ", "tasks=one ");
        assert!(
            garbled
                .parse::<Summary>()
                .unwrap_err()
                .contains("tasks=one")
        );
    }

    #[test]
    fn any_summary_line_splits_into_pairs() {
        let line = "summary: experiment=cpu knee_workers=2";
        let found: Vec<_> = pairs(line).unwrap().collect();
        assert_eq!(found, [("experiment", "cpu"), ("knee_workers", "2")]);
        assert!(pairs("trace: written").is_none());
    }
}
