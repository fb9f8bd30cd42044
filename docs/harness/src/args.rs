//! The flags the demos share, as clap structs to `#[command(flatten)]` into a stage's own `Args`,
//! which may replace a default: `#[command(mut_arg("tasks", |arg| arg.default_value("20")))]`.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches};

use crate::limits::{LimitArgs, parse_queue, parse_tasks, parse_workers};
use crate::task::{TaskSpec, format_duration, parse_duration};

/// The flags every demo takes: how many tasks, what each one does, how much to print and record.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// How many tasks to run (at most 10000000).
    #[arg(long, value_name = "N", default_value = "100", value_parser = parse_tasks, allow_hyphen_values = true)]
    pub tasks: usize,

    /// What each task does: sleep:DURATION (waits, like IO) or cpu:DURATION (computes).
    /// Units: ns, us, ms, s.
    #[arg(long, value_name = "KIND:DURATION", default_value = "sleep:100ms")]
    pub task: TaskSpec,

    /// Print only the reports and the summary: no list with an entry per task, such as the
    /// results or the ids of rejected tasks.
    #[arg(long)]
    pub quiet: bool,

    /// Also print a line as each task ends, naming the thread it ran on. Off by default: a
    /// thousand tasks would bury the reports and the summary under a thousand lines.
    #[arg(long, conflicts_with = "quiet")]
    pub each: bool,

    /// After the run, draw what each thread did over time, and the queue, in at most 100 columns.
    #[arg(long)]
    pub timeline: bool,

    /// Write a trace of the run to FILE (Chrome's trace format), to open in ui.perfetto.dev or
    /// chrome://tracing. Records tasks 0 to 99999.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

impl TaskArgs {
    /// Parses `flags` (`["--tasks", "3", "--quiet"]`) as a demo parses its own, every flag not
    /// given at its default: for a workload made outside a demo's `main`.
    ///
    /// # Errors
    ///
    /// Returns clap's error for a bad value or a flag the demos do not take.
    pub fn from_flags<'a>(flags: impl IntoIterator<Item = &'a str>) -> Result<Self, clap::Error> {
        let command = TaskArgs::augment_args(clap::Command::new("demo"));
        let matches = command.try_get_matches_from(std::iter::once("demo").chain(flags))?;
        TaskArgs::from_arg_matches(&matches)
    }
}

/// The flags of a pool of fixed size whose queue has no limit (stage 02).
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// Worker threads in the pool (at most 10000 without --no-limit).
    #[arg(long, value_name = "N", default_value = "4", value_parser = parse_workers, allow_hyphen_values = true)]
    pub workers: usize,

    /// `--no-limit`, for more workers than [`THREAD_LIMIT`](crate::THREAD_LIMIT).
    #[command(flatten)]
    pub limit: LimitArgs,
}

impl PoolArgs {
    /// Exits with status 2 if `--workers` is too many without `--no-limit`: [`LimitArgs::check`].
    pub fn check_threads<A: CommandFactory>(&self) {
        self.limit.check::<A>("--workers", self.workers);
    }
}

/// The flags of a pool of fixed size with a bounded queue (stages 03 to 05).
#[derive(Debug, Clone, Args)]
pub struct BoundedPoolArgs {
    /// Worker threads in the pool (at most 10000 without --no-limit).
    #[arg(long, value_name = "N", default_value = "4", value_parser = parse_workers, allow_hyphen_values = true)]
    pub workers: usize,

    /// Tasks the queue holds before submit waits, at most 1000000; 0 hands each task straight to a
    /// free worker.
    #[arg(long, value_name = "N", default_value = "8", value_parser = parse_queue, allow_hyphen_values = true)]
    pub queue: usize,

    /// `--no-limit`, for more workers than [`THREAD_LIMIT`](crate::THREAD_LIMIT).
    #[command(flatten)]
    pub limit: LimitArgs,
}

impl BoundedPoolArgs {
    /// Exits with status 2 if `--workers` is too many without `--no-limit`: [`LimitArgs::check`].
    pub fn check_threads<A: CommandFactory>(&self) {
        self.limit.check::<A>("--workers", self.workers);
    }
}

/// The flag of the demos that collect results (stages 04 and 05): in which order.
#[derive(Debug, Clone, Args)]
pub struct CollectArgs {
    /// Collect results in the order the tasks finish instead of the order they were submitted.
    #[arg(long)]
    pub as_completed: bool,
}

/// What the submitter does when the queue is full: stage 03's `--policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `block`: wait for a slot.
    Block,
    /// `reject`: give the task up, and count it.
    Reject,
    /// `caller-runs`: run the task on the submitting thread.
    CallerRuns,
    /// `timeout:DURATION`: wait up to this long for a slot, then give the task up.
    Timeout(Duration),
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "block" => Ok(Policy::Block),
            "reject" => Ok(Policy::Reject),
            "caller-runs" => Ok(Policy::CallerRuns),
            _ => match text.strip_prefix("timeout:") {
                Some(duration) => parse_duration(duration).map(Policy::Timeout),
                None => Err(format!(
                    "unknown policy '{text}' (expected block, reject, caller-runs or timeout:DURATION)"
                )),
            },
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Block => f.write_str("block"),
            Policy::Reject => f.write_str("reject"),
            Policy::CallerRuns => f.write_str("caller-runs"),
            Policy::Timeout(limit) => write!(f, "timeout:{}", format_duration(*limit)),
        }
    }
}

/// Exits with status 2 and a one-line `error: {message}`, as clap does, for checks clap can't make.
pub fn exit_invalid<A: CommandFactory>(message: impl fmt::Display) -> ! {
    let mut command = A::command();
    // `A::parse()` names the usage line after the program as it was started; so do we.
    if let Some(program) = env::args_os().next() {
        let name = Path::new(&program).file_name().unwrap_or(&program);
        command = command.bin_name(name.to_string_lossy());
    }
    command.error(ErrorKind::ValueValidation, message).exit()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// A demo's `Args` as the stages write them: shared flags flattened, one default replaced.
    #[derive(Debug, Parser)]
    #[command(mut_arg("tasks", |arg| arg.default_value("20")))]
    struct Demo {
        #[command(flatten)]
        run: TaskArgs,
        #[command(flatten)]
        pool: BoundedPoolArgs,
    }

    fn parse(args: &[&str]) -> Result<Demo, clap::Error> {
        Demo::try_parse_from(["demo"].iter().chain(args))
    }

    #[test]
    fn the_command_is_well_formed() {
        Demo::command().debug_assert();
    }

    #[test]
    fn a_stage_replaces_a_default_and_keeps_the_others() {
        let demo = parse(&[]).unwrap();
        assert_eq!(demo.run.tasks, 20);
        assert_eq!(demo.run.task.to_string(), "sleep:100ms");
        assert!(!demo.run.quiet);
        assert!(!demo.run.each, "a line per task only on request");
        assert_eq!((demo.pool.workers, demo.pool.queue), (4, 8));
        let demo = parse(&["--each", "--workers", "20000", "--no-limit"]).unwrap();
        assert!(demo.run.each && demo.pool.limit.no_limit);
    }

    #[test]
    fn the_help_names_the_limits() {
        let last_recorded = crate::record::MAX_RECORDED_TASKS - 1;
        for (id, limit) in [
            ("trace", format!("0 to {last_recorded}")),
            ("no_limit", crate::THREAD_LIMIT.to_string()),
        ] {
            let command = Demo::command();
            let arg = command.get_arguments().find(|arg| arg.get_id() == id);
            let help = arg.and_then(|arg| arg.get_help()).expect(id).to_string();
            assert!(help.contains(&limit), "{help}");
        }
    }

    #[test]
    fn bad_values_and_contradictions_name_their_flags() {
        let (invalid, conflict) = (ErrorKind::ValueValidation, ErrorKind::ArgumentConflict);
        for (args, kind, flags) in [
            (&["--tasks", "0"][..], invalid, &["--tasks"][..]),
            (&["--tasks", "-1"], invalid, &["--tasks"]),
            (&["--task", "gpu:1ms"], invalid, &["--task"]),
            (&["--workers", "0"], invalid, &["--workers"]),
            (&["--queue", "-3"], invalid, &["--queue"]),
            (&["--quiet", "--each"], conflict, &["--quiet", "--each"]),
        ] {
            let error = parse(args).unwrap_err();
            assert_eq!(error.kind(), kind, "{args:?}");
            for flag in flags {
                assert!(error.to_string().contains(flag), "{args:?}: {error}");
            }
        }
    }

    #[test]
    fn policies_round_trip_and_bad_ones_say_why() {
        let plain = ["block", "reject", "caller-runs"];
        for text in plain.into_iter().chain(["timeout:1ms", "timeout:250us"]) {
            assert_eq!(text.parse::<Policy>().unwrap().to_string(), text);
        }
        let two_seconds = Policy::Timeout(Duration::from_secs(2));
        assert_eq!("timeout:2s".parse(), Ok(two_seconds));
        let error = |text: &str| text.parse::<Policy>().unwrap_err();
        assert!(error("drop").contains("unknown policy 'drop'"));
        assert!(error("timeout:soon").contains("whole number"));
    }
}
