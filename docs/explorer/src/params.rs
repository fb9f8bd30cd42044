//! What a page asks the explorer to run, checked as the stage's own command line checks it.
//!
//! A page sends each flag's value as the learner typed it. [`RunRequest::plans`] turns them into
//! the command line of the stage's demo and parses that with clap, through the harness's own
//! parsers ([`parse_tasks`], [`parse_workers`], [`parse_queue`], [`TaskSpec`], [`Policy`]), so a
//! bad value is refused with the very `error:` line that the demo prints in a terminal. Then come
//! the explorer's own caps, which a room needs and a terminal does not: [`MAX_RUN_TASKS`] and
//! [`MAX_RUN_TIME`].

use std::fmt;
use std::time::Duration;

use clap::Parser;
use harness::limits::parse_queue;
use harness::{
    Policy, THREAD_LIMIT, TaskSpec, ideal, parse_count, parse_positive, parse_tasks, parse_workers,
};
use serde::{Deserialize, Serialize};

/// The most tasks one run does in the explorer: the page draws every one of them.
pub const MAX_RUN_TASKS: usize = 10_000;

/// The longest a run may take: its ideal time (see [`harness::ideal`]) must fit, and a run that
/// is still going after this long is cancelled.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(60);

/// How many runs one request starts: one, or two to compare side by side, one after the other.
pub const MAX_RUNS: usize = 2;

/// The longest page id a request may carry.
const MAX_PAGE_ID: usize = 64;

/// A request to start runs: the page that asks, and one or two runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The asking page's id, chosen by the page when it loads: a new run of a page cancels the
    /// run that page still has going.
    pub page: String,
    /// The runs, as their flags: one, or two to compare.
    pub runs: Vec<RunFlags>,
}

/// A request to cancel the run of a page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// The page whose run to cancel.
    pub page: String,
}

/// One run as the page describes it: the stage, and the values of its demo's flags, each a
/// string or a number as typed. A flag left out takes the explorer's default: 40 tasks of
/// `sleep:100ms` on 4 workers with a queue of 4, blocking when it is full.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFlags {
    /// `01` to `05`.
    pub stage: String,
    /// `--tasks`.
    pub tasks: Option<Value>,
    /// `--task`, such as `sleep:100ms`.
    pub task: Option<Value>,
    /// `--workers` (stages 02 to 05).
    pub workers: Option<Value>,
    /// `--queue` (stages 03 to 05).
    pub queue: Option<Value>,
    /// `--policy` (stage 03).
    pub policy: Option<Value>,
    /// `--panic-task` (stage 04).
    pub panic_task: Option<Value>,
    /// `--panic-every` (stage 05).
    pub panic_every: Option<Value>,
}

/// A flag's value as JSON gives it: the page sends strings, a script may send numbers. Either
/// becomes the text of a command-line argument.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A string, as typed.
    Text(String),
    /// A JSON number, written back as JSON writes it: `4`, `-1`, `1.5`.
    Number(serde_json::Number),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => f.write_str(text),
            Value::Number(number) => number.fmt(f),
        }
    }
}

/// A stage the explorer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// 01: a thread per task.
    ThreadPerTask,
    /// 02: a fixed pool, one unbounded queue behind a mutex.
    MutexPool,
    /// 03: a bounded crossbeam queue, with a policy for when it is full.
    Bounded,
    /// 04: results through handles; a panic kills its worker.
    Results,
    /// 05: panics caught, workers kept.
    Resilient,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 5] = [
        Stage::ThreadPerTask,
        Stage::MutexPool,
        Stage::Bounded,
        Stage::Results,
        Stage::Resilient,
    ];

    /// Its number, as the summary line and the page write it: `03`.
    pub fn number(self) -> &'static str {
        match self {
            Stage::ThreadPerTask => "01",
            Stage::MutexPool => "02",
            Stage::Bounded => "03",
            Stage::Results => "04",
            Stage::Resilient => "05",
        }
    }

    /// The name of its demo's binary, for `cargo run --bin`.
    pub fn binary(self) -> &'static str {
        match self {
            Stage::ThreadPerTask => "01-unbounded-spawn",
            Stage::MutexPool => "02-mutex-receiver-pool",
            Stage::Bounded => "03-crossbeam-bounded",
            Stage::Results => "04-results",
            Stage::Resilient => "05-panic-resilient",
        }
    }

    /// The flags its demo takes besides `--tasks` and `--task`, in the order the command line
    /// gives them.
    fn flags(self) -> &'static [&'static str] {
        match self {
            Stage::ThreadPerTask => &[],
            Stage::MutexPool => &["workers"],
            Stage::Bounded => &["workers", "queue", "policy"],
            Stage::Results => &["workers", "queue", "panic-task"],
            Stage::Resilient => &["workers", "queue", "panic-every"],
        }
    }

    fn parse(text: &str) -> Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.number() == text)
            .ok_or_else(|| format!("unknown stage '{text}' (expected 01, 02, 03, 04 or 05)"))
    }
}

/// Which tasks panic on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panics {
    /// None (stages 01 to 03, and 04 without `--panic-task`).
    Never,
    /// Task N alone (stage 04's `--panic-task N`).
    Task(usize),
    /// Tasks 0, N, 2N, ... (stage 05's `--panic-every N`; without it, stage 05 panics task 0
    /// alone, which is `Every(usize::MAX)`).
    Every(usize),
}

impl Panics {
    /// Whether task `id` panics.
    pub fn panics(self, id: usize) -> bool {
        match self {
            Panics::Never => false,
            Panics::Task(task) => id == task,
            Panics::Every(every) => id % every == 0,
        }
    }
}

/// A run, checked: what the explorer runs, and what the page is told it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The stage.
    pub stage: Stage,
    /// How many tasks.
    pub tasks: usize,
    /// What each one does.
    pub task: TaskSpec,
    /// How many workers, for a pool (stages 02 to 05).
    pub workers: Option<usize>,
    /// The queue's capacity, for a bounded queue (stages 03 to 05).
    pub queue: Option<usize>,
    /// What a full queue does to the submitter (stage 03).
    pub policy: Option<Policy>,
    /// Which tasks panic (stages 04 and 05).
    pub panics: Panics,
    /// The command line that runs the same in a terminal.
    pub command: String,
}

impl Plan {
    /// The shortest time the run can take (see [`harness::ideal`]): a thread per task runs them
    /// all at once.
    pub fn ideal(&self) -> Duration {
        ideal(self.task, self.tasks, self.threads())
    }

    /// How many threads run its tasks at most: a pool's workers, or a thread per task.
    pub fn threads(&self) -> usize {
        self.workers.unwrap_or(self.tasks)
    }
}

/// The flags of every stage's demo that the explorer sets, parsed as the demos parse them: the
/// same parsers, the same value names, so the same `error:` lines. `RunFlags::arguments` passes
/// every flag the stage takes, with the explorer's default where the page gave none, so a flag
/// the stage does not take stays `None`.
#[derive(Debug, Parser)]
#[command(name = "explorer")]
struct Flags {
    #[arg(long, value_name = "N", value_parser = parse_tasks, allow_hyphen_values = true)]
    tasks: usize,

    #[arg(long, value_name = "KIND:DURATION")]
    task: TaskSpec,

    #[arg(long, value_name = "N", value_parser = parse_workers, allow_hyphen_values = true)]
    workers: Option<usize>,

    #[arg(long, value_name = "N", value_parser = parse_queue, allow_hyphen_values = true)]
    queue: Option<usize>,

    #[arg(long, value_name = "POLICY")]
    policy: Option<Policy>,

    #[arg(long, value_name = "N", value_parser = parse_count, allow_hyphen_values = true)]
    panic_task: Option<usize>,

    #[arg(long, value_name = "N", value_parser = parse_positive, allow_hyphen_values = true)]
    panic_every: Option<usize>,
}

impl RunRequest {
    /// Checks the request and returns a plan per run.
    ///
    /// # Errors
    ///
    /// Returns the message to show for the first thing wrong: a page id that is empty, too long
    /// or not made of letters, digits, `-` and `_`; no run, or more than [`MAX_RUNS`]; or a run
    /// that [`RunFlags::plan`] refuses, prefixed with `run 2: ` for the second one.
    pub fn plans(&self) -> Result<Vec<Plan>, String> {
        check_page(&self.page)?;
        if self.runs.is_empty() || self.runs.len() > MAX_RUNS {
            return Err(format!(
                "a request starts 1 or {MAX_RUNS} runs, not {}",
                self.runs.len()
            ));
        }
        let numbered = self.runs.len() > 1;
        self.runs
            .iter()
            .enumerate()
            .map(|(index, run)| {
                run.plan().map_err(|error| match numbered {
                    true => format!("run {}: {error}", index + 1),
                    false => error,
                })
            })
            .collect()
    }
}

/// Checks a page id: it becomes a key of the server's map of runs, never part of a path or a
/// command, but it is still kept short and plain.
///
/// # Errors
///
/// Says what is wrong with it.
pub fn check_page(page: &str) -> Result<(), String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if page.is_empty() || page.len() > MAX_PAGE_ID || !page.chars().all(plain) {
        return Err(format!(
            "the page id must be 1 to {MAX_PAGE_ID} letters, digits, '-' or '_'"
        ));
    }
    Ok(())
}

impl RunFlags {
    /// Checks one run: as its stage's demo checks its flags, then against the explorer's caps.
    ///
    /// # Errors
    ///
    /// Returns the demo's own `error:` line for a bad value or a flag the stage does not take
    /// (`error: invalid value '0' for '--tasks <N>': must be at least 1`), and an `error:` line
    /// that names the cap for a run above [`MAX_RUN_TASKS`], [`MAX_RUN_TIME`] or the harness's
    /// [`THREAD_LIMIT`].
    pub fn plan(&self) -> Result<Plan, String> {
        let stage = Stage::parse(&self.stage).map_err(|error| format!("error: {error}"))?;
        let arguments = self.arguments(stage)?;
        let flags = Flags::try_parse_from(&arguments).map_err(|error| first_paragraph(&error))?;
        if flags.tasks > MAX_RUN_TASKS {
            return Err(format!(
                "error: --tasks {} is above the explorer's cap of {MAX_RUN_TASKS} tasks per run, \
                 which a page can still draw: run it in a terminal instead",
                flags.tasks
            ));
        }
        // Stage 01 starts a thread per task; the pools, one per worker.
        let (flag, threads) = match flags.workers {
            Some(workers) => ("--workers", workers),
            None => ("--tasks", flags.tasks),
        };
        if threads > THREAD_LIMIT {
            return Err(format!(
                "error: {flag} {threads} is above the safety limit of {THREAD_LIMIT} threads (the \
                 explorer has no --no-limit)"
            ));
        }
        if let Some(id) = flags.panic_task.filter(|&id| id >= flags.tasks) {
            let last = flags.tasks - 1;
            return Err(format!(
                "error: invalid value '{id}' for '--panic-task <N>': tasks are numbered 0 to {last}"
            ));
        }
        let panics = match stage {
            Stage::Results => flags.panic_task.map_or(Panics::Never, Panics::Task),
            // As the demo: without `--panic-every`, task 0 alone panics.
            Stage::Resilient => Panics::Every(flags.panic_every.unwrap_or(usize::MAX)),
            _ => Panics::Never,
        };
        let plan = Plan {
            stage,
            tasks: flags.tasks,
            task: flags.task,
            workers: flags.workers,
            queue: flags.queue,
            policy: flags.policy,
            panics,
            command: command_line(stage, &arguments[1..]),
        };
        let ideal = plan.ideal();
        if ideal > MAX_RUN_TIME {
            return Err(format!(
                "error: this run takes at least {:.1} s (its ideal time), above the explorer's cap \
                 of {} s per run: ask for fewer or shorter tasks, or more workers",
                ideal.as_secs_f64(),
                MAX_RUN_TIME.as_secs()
            ));
        }
        Ok(plan)
    }

    /// The demo's arguments for these flags, the program's name first: every flag the stage
    /// takes, with its value or the explorer's default, so that the command line says it all.
    ///
    /// # Errors
    ///
    /// Refuses a flag that the stage's demo does not take, as clap would.
    fn arguments(&self, stage: Stage) -> Result<Vec<String>, String> {
        let given = [
            ("tasks", &self.tasks, "40"),
            ("workers", &self.workers, "4"),
            ("queue", &self.queue, "4"),
            ("task", &self.task, "sleep:100ms"),
            ("policy", &self.policy, "block"),
            ("panic-task", &self.panic_task, ""),
            ("panic-every", &self.panic_every, ""),
        ];
        let mut arguments = vec![stage.binary().to_string()];
        for (flag, value, default) in given {
            let taken = matches!(flag, "tasks" | "task") || stage.flags().contains(&flag);
            match (taken, value) {
                (false, Some(_)) => {
                    return Err(format!(
                        "error: unexpected argument '--{flag}' found: stage {} takes no --{flag}",
                        stage.number()
                    ));
                }
                (false, None) => {}
                (true, Some(value)) => arguments.extend([format!("--{flag}"), value.to_string()]),
                // An optional flag with no default (`--panic-task`) is left out when not given.
                (true, None) if default.is_empty() => {}
                (true, None) => arguments.extend([format!("--{flag}"), default.to_string()]),
            }
        }
        Ok(arguments)
    }
}

/// The command that runs the same in a terminal: `cargo run --release --bin BINARY -- FLAGS`,
/// each argument quoted if the shell would split or expand it.
fn command_line(stage: Stage, flags: &[String]) -> String {
    let mut line = format!("cargo run --release --bin {} --", stage.binary());
    for flag in flags {
        line.push(' ');
        line.push_str(&quoted(flag));
    }
    line
}

/// `text` as one shell word: as it is when it is plain, in single quotes otherwise.
fn quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_:.=/".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The `error:` paragraph of clap's message, without the usage and the `--help` hint after it,
/// which speak of a terminal.
fn first_paragraph(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let paragraph = rendered.split("\n\n").next().unwrap_or_default();
    paragraph.trim_end().to_string()
}

/// What the page is told about a run as it starts.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Which of the request's runs this is, from 0.
    pub run: usize,
    /// `01` to `05`.
    pub stage: &'static str,
    /// How many tasks.
    pub tasks: usize,
    /// What each one does: `sleep:100ms`.
    pub task: String,
    /// How many workers; absent for a thread per task.
    pub workers: Option<usize>,
    /// The queue's capacity; absent when it has no limit, or there is no queue.
    pub queue: Option<usize>,
    /// Whether the tasks wait in a queue at all (not in stage 01).
    pub queued: bool,
    /// The full-queue policy (stage 03).
    pub policy: Option<String>,
    /// The ideal time, in milliseconds.
    pub ideal_ms: f64,
    /// The command line that runs the same in a terminal.
    pub command: String,
}

impl RunInfo {
    /// What the page is told about run `run` of `plan`.
    pub fn new(run: usize, plan: &Plan) -> Self {
        RunInfo {
            run,
            stage: plan.stage.number(),
            tasks: plan.tasks,
            task: plan.task.to_string(),
            workers: plan.workers,
            queue: plan.queue,
            queued: plan.stage != Stage::ThreadPerTask,
            policy: plan.policy.map(|policy| policy.to_string()),
            ideal_ms: plan.ideal().as_secs_f64() * 1e3,
            command: plan.command.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(stage: &str, pairs: &[(&str, &str)]) -> RunFlags {
        let mut flags = RunFlags {
            stage: stage.to_string(),
            ..RunFlags::default()
        };
        for &(flag, value) in pairs {
            let value = Some(Value::Text(value.to_string()));
            match flag {
                "tasks" => flags.tasks = value,
                "task" => flags.task = value,
                "workers" => flags.workers = value,
                "queue" => flags.queue = value,
                "policy" => flags.policy = value,
                "panic_task" => flags.panic_task = value,
                "panic_every" => flags.panic_every = value,
                other => panic!("no flag {other}"),
            }
        }
        flags
    }

    #[test]
    fn the_defaults_make_a_run_of_about_a_second_and_a_full_command_line() {
        let plan = flags("03", &[]).plan().unwrap();
        assert_eq!(plan.ideal(), Duration::from_secs(1));
        assert_eq!(
            plan.command,
            "cargo run --release --bin 03-crossbeam-bounded -- --tasks 40 --workers 4 --queue 4 \
             --task sleep:100ms --policy block"
        );
    }

    #[test]
    fn bad_values_get_the_demos_own_error_line() {
        let error = flags("03", &[("tasks", "0")]).plan().unwrap_err();
        assert_eq!(
            error,
            "error: invalid value '0' for '--tasks <N>': must be at least 1"
        );
        let error = flags("02", &[("task", "gpu:1ms")]).plan().unwrap_err();
        assert!(
            error.starts_with("error: invalid value 'gpu:1ms' for '--task <KIND:DURATION>'"),
            "{error}"
        );
        let error = flags("03", &[("policy", "drop")]).plan().unwrap_err();
        assert!(error.contains("unknown policy 'drop'"), "{error}");
        let error = flags("02", &[("policy", "block")]).plan().unwrap_err();
        assert!(error.contains("unexpected argument '--policy'"), "{error}");
        let error = flags("04", &[("tasks", "4"), ("panic_task", "4")])
            .plan()
            .unwrap_err();
        assert!(error.contains("tasks are numbered 0 to 3"), "{error}");
        assert!(
            flags("07", &[])
                .plan()
                .unwrap_err()
                .contains("unknown stage")
        );
    }

    #[test]
    fn the_caps_are_named_in_their_errors() {
        let error = flags("03", &[("tasks", "10001")]).plan().unwrap_err();
        assert!(error.contains("cap of 10000 tasks"), "{error}");
        let error = flags("03", &[("tasks", "100"), ("task", "sleep:5s")])
            .plan()
            .unwrap_err();
        assert!(error.contains("cap of 60 s"), "{error}");
        let error = flags("03", &[("workers", "10001")]).plan().unwrap_err();
        assert!(error.contains("safety limit of 10000 threads"), "{error}");
    }

    #[test]
    fn stage_05_panics_task_0_alone_unless_told_otherwise() {
        let plan = flags("05", &[]).plan().unwrap();
        let panicking: Vec<usize> = (0..40).filter(|&id| plan.panics.panics(id)).collect();
        assert_eq!(panicking, [0]);
        let plan = flags("05", &[("panic_every", "10")]).plan().unwrap();
        let panicking: Vec<usize> = (0..40).filter(|&id| plan.panics.panics(id)).collect();
        assert_eq!(panicking, [0, 10, 20, 30]);
        assert!(
            plan.command.ends_with("--panic-every 10"),
            "{}",
            plan.command
        );
    }

    #[test]
    fn odd_words_are_quoted_for_the_shell() {
        assert_eq!(quoted("sleep:100ms"), "sleep:100ms");
        assert_eq!(quoted("a b"), "'a b'");
        assert_eq!(quoted("it's"), r"'it'\''s'");
    }

    #[test]
    fn page_ids_are_plain() {
        assert!(check_page("3f2a-b_c").is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_page(bad).is_err(), "{bad:?}");
        }
    }
}
