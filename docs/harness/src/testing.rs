//! What the stages' `tests/cli.rs` share: running a demo binary, the ways to abuse it (no thread
//! can start, a closed pipe, a full disk), and what a demo promises when abused.
//!
//! Behind the cargo feature `testing`, which only the stages' `[dev-dependencies]` turn on, so the
//! demos themselves never build it. Each stage's test names its own binary and arguments:
//!
//! ```no_run
//! use harness::testing::Demo;
//!
//! const DEMO: Demo = Demo::new("path/to/02-mutex-receiver-pool"); // env!("CARGO_BIN_EXE_...")
//! DEMO.assert_refused(&["--workers", "0"], &["'--workers <N>'"]);
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use crate::{MAX_QUEUE, MAX_TASKS, THREAD_LIMIT};

/// The keys every stage from 01 to 05 starts its `summary:` line with, in order.
pub const SUMMARY_KEYS: [&str; 11] = [
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

/// A stage's demo binary, by its path: `Demo::new(env!("CARGO_BIN_EXE_04-results"))`.
#[derive(Clone, Copy, Debug)]
pub struct Demo {
    path: &'static str,
}

impl Demo {
    /// The demo binary at `path`.
    pub const fn new(path: &'static str) -> Self {
        Self { path }
    }

    /// The command that runs the demo with `args`, for a test to adjust before it runs it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.path);
        command.args(args);
        command
    }

    /// Runs the demo with `args` to the end and returns what it printed.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("the demo binary runs")
    }

    /// Runs the demo with `args` and asserts that it succeeded.
    pub fn assert_runs(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        output
    }

    /// Runs the demo with `args` where no thread can start: std maps a stack of `RUST_MIN_STACK`
    /// bytes for every thread that sets no size of its own, and a petabyte cannot be mapped. For
    /// the checks that must stop a run before its first thread: if one breaks, the test fails
    /// without starting thousands of threads.
    pub fn run_without_threads(&self, args: &[&str]) -> Output {
        self.command(args)
            .env("RUST_MIN_STACK", (1_u64 << 50).to_string())
            .output()
            .expect("the demo binary runs")
    }

    /// Runs the demo with `args` where no thread can start (see
    /// [`run_without_threads`](Self::run_without_threads)), and asserts that it stopped at status
    /// 2 with a one-line error that contains each of `expected`, before printing anything and
    /// without a panic. Returns all of stderr, for the checks of the stage's own explanation.
    pub fn assert_refused(&self, args: &[&str], expected: &[&str]) -> String {
        let output = self.run_without_threads(args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{args:?}: {stderr}");
        for text in expected {
            assert!(first.contains(text), "{args:?}: {first}");
        }
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} ran anyway");
        stderr
    }

    /// Asserts that each of the counting `flags` (`--tasks`, `--queue`, `--workers`) is refused
    /// as [`assert_refused`](Self::assert_refused) does, naming the flag and its most, when its
    /// number parses but cannot run: `u64::MAX`, one more than the most (tasks and queue), and a
    /// queue of 10^11 slots, which crossbeam would allocate up front. Workers are tried with
    /// `--no-limit`, so that the most that refuses them is the same as for tasks.
    pub fn assert_counts_refused_above_their_limits(&self, flags: &[&str]) {
        for &flag in flags {
            let (most, also) = match flag {
                "--tasks" => (MAX_TASKS, vec![(MAX_TASKS + 1).to_string()]),
                "--queue" => (
                    MAX_QUEUE,
                    vec![(MAX_QUEUE + 1).to_string(), 10_u64.pow(11).to_string()],
                ),
                "--workers" => (MAX_TASKS, vec![]),
                _ => panic!("{flag} is not a count with a limit"),
            };
            for number in std::iter::once(u64::MAX.to_string()).chain(also) {
                let mut args = vec![flag, number.as_str()];
                if flag == "--workers" {
                    args.push("--no-limit");
                }
                let most = format!("at most {most}");
                self.assert_refused(&args, &[&format!("'{flag} <N>'"), &most]);
            }
        }
    }

    /// Asserts that the demo refuses `too_many` threads before any starts, as
    /// [`assert_refused`](Self::assert_refused) does: the error names `too_many`, the
    /// [`THREAD_LIMIT`] and `--no-limit`, and gives stage 01's explanation (see
    /// [`assert_thread_limit_explained`]). Then asserts that `escape`, which adds `--no-limit`
    /// (to few threads, so that nothing is at risk), runs.
    pub fn assert_limited_unless_no_limit(&self, too_many: &[&str], escape: &[&str]) {
        let named = too_many.join(" ");
        let limit = THREAD_LIMIT.to_string();
        let stderr = self.assert_refused(too_many, &[&named, &limit, "--no-limit"]);
        assert_thread_limit_explained(&stderr);
        assert!(escape.contains(&"--no-limit"), "{escape:?}");
        self.assert_runs(escape);
    }

    /// Runs the demo with `args` where the system refuses the first worker thread, as it does
    /// when the process ids run out, and asserts that the demo explains it (status 1, an `error:`
    /// line that names `kernel.pid_max`) instead of panicking.
    ///
    /// Meaningful on Linux only: elsewhere a stack of a petabyte is refused in other ways.
    pub fn assert_thread_refused(&self, args: &[&str]) {
        let output = self.run_without_threads(args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: the system refused to start a worker thread"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("kernel.pid_max"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }

    /// Runs the demo with stdout on a pipe that is closed after the first line, as `| head -1`
    /// does, and returns that line and the rest of the run. For a demo whose output is far larger
    /// than a pipe holds, so that it is still writing when the pipe closes.
    pub fn run_into_a_closed_pipe(&self, args: &[&str]) -> (String, Output) {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the demo binary starts");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        // The reader is dropped at the end of this statement, and the pipe with it.
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("a first line");
        (first, child.wait_with_output().expect("the demo ends"))
    }

    /// Runs the demo with `args` into a closed pipe (see
    /// [`run_into_a_closed_pipe`](Self::run_into_a_closed_pipe)) and asserts that the pipe only
    /// ended the output: the first line starts with `first`, the run ends with status 0, and
    /// stderr is empty but for the lines that end with one of `besides`, the stage's own. Returns
    /// stderr.
    pub fn assert_closed_pipe_ends_quietly(
        &self,
        args: &[&str],
        first: &str,
        besides: &[&str],
    ) -> String {
        let (line, output) = self.run_into_a_closed_pipe(args);
        assert!(line.starts_with(first), "{args:?}: {line}");
        let stderr = stderr(&output);
        let others = stderr
            .lines()
            .filter(|line| !besides.iter().any(|own| line.ends_with(own)));
        assert_eq!(others.count(), 0, "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        stderr
    }

    /// Runs the demo with stdout on `/dev/full`, where every write fails, and returns the run.
    #[cfg(target_os = "linux")]
    pub fn run_into_a_full_stdout(&self, args: &[&str]) -> Output {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full exists on Linux");
        self.command(args)
            .stdout(full)
            .output()
            .expect("the demo runs")
    }

    /// Runs the demo with `args` into a full stdout (see
    /// [`run_into_a_full_stdout`](Self::run_into_a_full_stdout)) and asserts that it ends with
    /// status 1 and reports the failed write once: no thread panicked in `println!`, and the
    /// summary's failure is not reported twice. Lines of stderr that end with one of `besides`
    /// are the stage's own, and not counted.
    #[cfg(target_os = "linux")]
    pub fn assert_full_stdout_reported_once(&self, args: &[&str], besides: &[&str]) {
        let output = self.run_into_a_full_stdout(args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| !besides.iter().any(|own| line.ends_with(own)))
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: could not write to stdout: "),
            "{args:?}: {stderr}"
        );
    }
}

/// Asserts that a refusal of too many threads (the `stderr` that
/// [`Demo::assert_refused`] returns) gives stage 01's explanation: the kernel's limit and the
/// measurements of IO at scale.
pub fn assert_thread_limit_explained(stderr: &str) {
    assert!(
        stderr.contains("kernel.pid_max") && stderr.contains("IO at scale"),
        "{stderr}"
    );
}

/// `args` split at spaces: `words("--tasks 2 --task sleep:0ns")`.
pub fn words(args: &str) -> Vec<&str> {
    args.split_whitespace().collect()
}

/// What the run printed on stdout, which must be UTF-8.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// What the run printed on stderr, with anything that is not UTF-8 replaced.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The last line the run printed on stdout (its `summary:` line), or `""` if there is none.
pub fn last_line(output: &Output) -> String {
    stdout(output)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// The keys of a `summary:` line, in order.
pub fn keys(summary: &str) -> Vec<&str> {
    summary
        .trim_start_matches("summary: ")
        .split(' ')
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .collect()
}

/// Asserts that the keys of `summary` are [`SUMMARY_KEYS`] followed by the stage's `own`.
pub fn assert_summary_keys(summary: &str, own: &[&str]) {
    let expected: Vec<&str> = SUMMARY_KEYS.iter().chain(own).copied().collect();
    assert_eq!(keys(summary), expected, "in {summary}");
}

/// The value of `key` in a `summary:` line; panics if the line has no such key.
pub fn value<'a>(summary: &'a str, key: &str) -> &'a str {
    summary
        .split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {summary}"))
}
