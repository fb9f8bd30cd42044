//! Parsers for the experiments' own flags. Each experiment needs one kind of task (a CPU sweep of
//! sleeping tasks would measure nothing), and a duration or a rate of zero would divide by zero.

use std::time::Duration;

use harness::{TaskKind, TaskSpec, parse_duration};

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
    let wanted = TaskSpec { kind, ..spec };
    if spec != wanted {
        Err(format!("expected a {wanted}-style task, got '{text}'"))
    } else if spec.duration.is_zero() {
        Err(format!("the duration in '{text}' must be longer than 0"))
    } else {
        Ok(spec)
    }
}

/// Parses a duration longer than zero (`--latency 20ms`).
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
        Err(_) => Err(format!("expected tasks per second, got '{text}'")),
    }
}
