//! What this demo adds to the shared harness: parsers for the experiments' own flags, and a
//! summary line per experiment.
//!
//! The parsers accept only one kind of task (a CPU sweep of sleeping tasks would measure nothing),
//! a throughput for `--target`, and a non-zero duration for `--latency`. The summary counts every
//! task of every pool an experiment ran; the harness's `Tracker` is not needed, because stage 05's
//! `TaskHandle::join` already says how each task ended.

use std::fmt;
use std::time::Duration;

use harness::{MAX_TASKS, THREAD_LIMIT, TaskKind, TaskSpec, parse_duration};

// The experiments need one kind of task each, and a duration of zero would divide by zero.
/// Parses `cpu:DURATION` with a duration above zero, for the experiments that measure computing.
pub fn parse_cpu_task(text: &str) -> Result<TaskSpec, String> {
    parse_task_of_kind(text, TaskKind::Cpu)
}

/// Parses `sleep:DURATION` with a duration above zero, for the tasks that stand for IO.
pub fn parse_sleep_task(text: &str) -> Result<TaskSpec, String> {
    parse_task_of_kind(text, TaskKind::Sleep)
}

fn parse_task_of_kind(text: &str, kind: TaskKind) -> Result<TaskSpec, String> {
    let spec: TaskSpec = text.parse()?;
    if spec.kind != kind {
        let wanted = TaskSpec {
            kind,
            duration: spec.duration,
        };
        return Err(format!(
            "this flag takes {wanted}-style tasks, got '{text}'"
        ));
    }
    if spec.duration.is_zero() {
        return Err(format!("the duration in '{text}' must be longer than 0"));
    }
    Ok(spec)
}

/// The most `--waves` of the `io` experiment: its largest pool, of up to [`THREAD_LIMIT`] workers,
/// runs `waves` x workers tasks, which must stay within [`MAX_TASKS`].
pub const MAX_WAVES: usize = MAX_TASKS / THREAD_LIMIT;

/// Parses `--waves`: from 1 to [`MAX_WAVES`].
pub fn parse_waves(text: &str) -> Result<usize, String> {
    let why = format!("the largest pool, {THREAD_LIMIT} workers, would run {MAX_TASKS} tasks");
    harness::parse_between(text, 1, MAX_WAVES, &why)
}

/// Parses `batch --items`: from 1 to [`MAX_TASKS`], because in tasks of one item every item is a
/// task.
pub fn parse_items(text: &str) -> Result<usize, String> {
    let why = "in tasks of one item, every item is a task: the most tasks a demo runs";
    harness::parse_between(text, 1, MAX_TASKS, why)
}

/// Parses a duration that must be longer than zero (`--latency 20ms`).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        duration if duration.is_zero() => Err("must be longer than 0".to_string()),
        duration => Ok(duration),
    }
}

/// Parses a throughput in tasks per second (`--target 400`, `--target 2.5`): a finite number
/// above zero.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        Ok(_) => Err(format!("must be a finite number above 0, got '{text}'")),
        Err(_) => Err(format!(
            "expected tasks per second such as 400, got '{text}'"
        )),
    }
}

// Stage 06 runs many pools per experiment, so `tasks` and `completed` count every task of every
// pool, and the results (the sizes found, the throughputs) follow as extra pairs.
/// The last line of each experiment: `key=value` pairs, first the four every stage starts with
/// (`stage tasks completed panicked`), then `experiment` and the experiment's own keys in a fixed
/// order, so scripts (and `docs/measure`) can read them.
#[derive(Debug)]
pub struct Summary {
    /// The subcommand: `cpu`, `io`, `mixed`, `rayon` or `batch`.
    pub experiment: &'static str,
    /// Tasks submitted, over all the pools the experiment ran.
    pub tasks: usize,
    /// Tasks that returned normally.
    pub completed: usize,
    /// Tasks that panicked.
    pub panicked: usize,
    /// The experiment's own keys and values, in the order they are printed.
    pub results: Vec<(&'static str, String)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "summary: stage=06 tasks={} completed={} panicked={} experiment={}",
            self.tasks, self.completed, self.panicked, self.experiment
        )?;
        for (key, value) in &self.results {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_parsers_reject_the_other_kind_and_zero() {
        assert_eq!(parse_cpu_task("cpu:50us").unwrap().to_string(), "cpu:50us");
        assert_eq!(
            parse_sleep_task("sleep:20ms").unwrap().to_string(),
            "sleep:20ms"
        );
        assert!(
            parse_cpu_task("sleep:1ms")
                .unwrap_err()
                .contains("cpu:1ms-style")
        );
        assert!(
            parse_sleep_task("cpu:1ms")
                .unwrap_err()
                .contains("sleep:1ms-style")
        );
        assert!(
            parse_cpu_task("cpu:0ms")
                .unwrap_err()
                .contains("longer than 0")
        );
        assert!(
            parse_cpu_task("gpu:1ms")
                .unwrap_err()
                .contains("unknown task kind")
        );
    }

    #[test]
    fn waves_stop_where_the_largest_pool_would_pass_the_most_tasks() {
        assert_eq!(parse_waves("1000"), Ok(MAX_WAVES));
        assert_eq!(MAX_WAVES * THREAD_LIMIT, MAX_TASKS);
        assert!(parse_waves("1001").unwrap_err().contains("at most 1000 ("));
        assert!(parse_waves("0").unwrap_err().contains("at least 1"));
    }

    #[test]
    fn rates_and_latencies_must_be_positive() {
        assert_eq!(parse_rate("400"), Ok(400.0));
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        for bad in ["0", "-3", "inf", "NaN", "fast"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_positive_duration("20ms"),
            Ok(Duration::from_millis(20))
        );
        assert!(
            parse_positive_duration("0s")
                .unwrap_err()
                .contains("longer than 0")
        );
    }

    #[test]
    fn summary_puts_the_common_keys_first() {
        let summary = Summary {
            experiment: "io",
            tasks: 10,
            completed: 9,
            panicked: 1,
            results: vec![
                ("littles_law", "8".to_string()),
                ("measured", "9".to_string()),
            ],
        };
        assert_eq!(
            summary.to_string(),
            "summary: stage=06 tasks=10 completed=9 panicked=1 experiment=io littles_law=8 measured=9"
        );
    }
}
