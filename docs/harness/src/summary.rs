//! The `summary:` line every stage's demo ends with, written and read back by [`Summary`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::task::{TaskSpec, Tracker};

/// What every `summary:` line starts with.
pub const PREFIX: &str = "summary: ";

/// The last line every stage prints (`Display`) and `docs/measure` reads back (`FromStr`):
/// `key=value` pairs in the order of these fields, `-` where a key does not apply, then the keys
/// a stage appends ([`Summary::with`]), kept in [`Summary::extra`].
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
    /// The lower bound for this workload ([`ideal`](crate::ideal)), in milliseconds.
    pub ideal_ms: f64,
    /// Completed tasks per second of `elapsed_ms`.
    pub tasks_per_s: f64,
    /// The most tasks that ran at the same moment.
    pub max_in_flight: usize,
    /// The keys the stage appended after the shared ones, with their values, in order.
    pub extra: Vec<(String, String)>,
}

impl Summary {
    /// The summary of `tasks` tasks of `task`, counted by `tracker`, that took `elapsed` (`ideal`).
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

    /// The value of the stage's own `key`, parsed; `None` if it is missing or does not parse.
    pub fn own<T: FromStr>(&self, key: &str) -> Option<T> {
        let (_, value) = self.extra.iter().find(|(own, _)| own == key)?;
        value.parse().ok()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_dash = |value: Option<usize>| value.map_or("-".to_string(), |n| n.to_string());
        let shared = [
            ("stage", self.stage.clone()),
            ("tasks", self.tasks.to_string()),
            ("completed", self.completed.to_string()),
            ("panicked", self.panicked.to_string()),
            ("workers", or_dash(self.workers)),
            ("queue", or_dash(self.queue)),
            ("task", self.task.to_string()),
            ("elapsed_ms", format!("{:.1}", self.elapsed_ms)),
            ("ideal_ms", format!("{:.1}", self.ideal_ms)),
            ("tasks_per_s", format!("{:.1}", self.tasks_per_s)),
            ("max_in_flight", self.max_in_flight.to_string()),
        ];
        let own = self.extra.iter().map(|(k, v)| (k.as_str(), v.clone()));
        f.write_str(PREFIX.trim_end())?;
        for (key, value) in shared.into_iter().chain(own) {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

impl FromStr for Summary {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        fn number<T: FromStr>((key, value): (&str, &str)) -> Result<T, String> {
            let error = |_| format!("{key}={value} is not a number");
            value.parse().map_err(error)
        }
        let mut pairs = pairs(line).ok_or_else(|| format!("not a summary line: {line}"))?;
        let mut next = |key: &'static str| match pairs.next() {
            Some((found, value)) if found == key => Ok((key, value)),
            Some((found, _)) => Err(format!("expected {key}, found {found} in {line}")),
            None => Err(format!("no {key} in {line}")),
        };
        let or_dash = |pair| match pair {
            (_, "-") => Ok(None),
            pair => number(pair).map(Some),
        };
        Ok(Summary {
            stage: next("stage")?.1.to_string(),
            tasks: number(next("tasks")?)?,
            completed: number(next("completed")?)?,
            panicked: number(next("panicked")?)?,
            workers: or_dash(next("workers")?)?,
            queue: or_dash(next("queue")?)?,
            task: next("task")?.1.parse()?,
            elapsed_ms: number(next("elapsed_ms")?)?,
            ideal_ms: number(next("ideal_ms")?)?,
            tasks_per_s: number(next("tasks_per_s")?)?,
            max_in_flight: number(next("max_in_flight")?)?,
            extra: pairs.map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
    }
}

/// The last `summary:` line of a run's stdout, if it printed one.
pub fn last_in(stdout: &str) -> Option<&str> {
    stdout.lines().rfind(|line| line.starts_with(PREFIX))
}

/// The `key=value` pairs of any `summary:` line (stage 06's too), or `None`; `key` alone: `""`.
pub fn pairs(line: &str) -> Option<impl Iterator<Item = (&str, &str)>> {
    let words = line.strip_prefix(PREFIX)?.split_whitespace();
    Some(words.map(|pair| pair.split_once('=').unwrap_or((pair, ""))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_summary_line_of_a_run_is_found() {
        let stdout = "summary: a=1\ntask 0 done\nsummary: b=2\ntrace: written\n";
        assert_eq!(last_in(stdout), Some("summary: b=2"));
        assert_eq!(last_in("task 0 done\n"), None);
    }

    const LINE: &str = "summary: stage=01 tasks=1 completed=1 panicked=0 workers=- queue=- \
                        task=sleep:1ms elapsed_ms=2.0 ideal_ms=1.0 tasks_per_s=500.0 \
                        max_in_flight=1";

    #[test]
    fn keys_come_in_a_fixed_order_with_dashes_for_what_does_not_apply_and_read_back() {
        let tracker = Tracker::default();
        drop(tracker.start());
        let (task, ms) = ("sleep:1ms".parse().unwrap(), Duration::from_millis);
        let summary = Summary::new("01", 1, &tracker, None, None, task, ms(2), ms(1));
        assert_eq!(summary.to_string(), LINE);

        let summary: Summary = LINE.parse().unwrap();
        assert_eq!((summary.workers, summary.elapsed_ms), (None, 2.0));
        assert_eq!(summary.to_string(), LINE);
        // The stage's own keys: see the example on `Summary`.
        assert_eq!(summary.clone().to_string().parse::<Summary>(), Ok(summary));
    }

    #[test]
    fn a_line_without_the_shared_keys_in_order_is_refused() {
        let not_a_number = LINE.replace("tasks=1 ", "tasks=one ");
        for (line, expected) in [
            ("stage=01", "not a summary line"),
            ("summary: tasks=1 stage=01", "expected stage, found tasks"),
            ("summary: stage=01", "no tasks"),
            (&not_a_number, "tasks=one is not a number"),
        ] {
            let error = line.parse::<Summary>().unwrap_err();
            assert!(error.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn any_summary_line_splits_into_pairs() {
        let line = "summary: experiment=cpu knee_workers=2";
        let found: Vec<_> = pairs(line).unwrap().collect();
        assert_eq!(found, [("experiment", "cpu"), ("knee_workers", "2")]);
        assert!(pairs("trace: written").is_none());
    }
}
