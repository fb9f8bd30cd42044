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

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{self, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::Recording;
use crate::limits::MAX_TASKS;
use crate::record::{QUEUE_DEPTH, TIMELINE_WIDTH};
use crate::summary::{self, Summary};
use crate::{MAX_QUEUE, THREAD_LIMIT};

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

    /// Runs `command`, one of this demo's, with its stdout and stderr where `stdout` and `stderr`
    /// say, and returns the run: what it printed on the streams that are [`Stream::Read`].
    pub fn run_into(&self, mut command: Command, stdout: Stream, stderr: Stream) -> Output {
        command
            .stdout(stdout.stdio(self))
            .stderr(stderr.stdio(self))
            .output()
            .expect("the demo binary runs")
    }

    /// A path in the temporary directory for a file of this demo's run, ending with `.{ext}`.
    fn temporary_file(&self, ext: &str) -> PathBuf {
        // Tests run in parallel, in several processes: the demo, the process and a count make
        // the file's name unique.
        static FILES: AtomicUsize = AtomicUsize::new(0);
        let demo = Path::new(self.path).file_stem().unwrap_or_default();
        let file = FILES.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{}-{file}.{ext}", demo.to_string_lossy(), process::id());
        std::env::temp_dir().join(name)
    }

    /// Runs the demo with `args` and `--trace` into a file of its own, asserts that it succeeded,
    /// and returns what it printed and the trace, read back (see [`Trace::read`]).
    pub fn run_traced(&self, args: &[&str]) -> (Output, Trace) {
        let path = self.temporary_file("json");
        let output = self.assert_runs(&[args, &["--trace", utf8(&path)]].concat());
        let trace = Trace::read(&path);
        // A trace left behind is only a file in the temporary directory.
        let _ = fs::remove_file(&path);
        (output, trace)
    }

    /// Runs the demo with `args` and asserts that it succeeded.
    pub fn assert_runs(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        output
    }

    /// Runs the demo with `args` where no thread can start (see
    /// [`command_without_threads`](Self::command_without_threads)).
    fn run_without_threads(&self, args: &[&str]) -> Output {
        self.command_without_threads(args)
            .output()
            .expect("the demo binary runs")
    }

    /// The command that runs the demo with `args` where no thread can start: std maps a stack of
    /// `RUST_MIN_STACK` bytes for every thread that sets no size of its own, and a petabyte cannot
    /// be mapped. For the checks that must stop a run before its first thread: if one breaks, the
    /// test fails without starting thousands of threads.
    pub fn command_without_threads(&self, args: &[&str]) -> Command {
        let mut command = self.command(args);
        command.env("RUST_MIN_STACK", (1_u64 << 50).to_string());
        command
    }

    /// Asserts that `--trace` into a directory, or into `-` (stdout, to many tools), is refused
    /// as [`assert_refused`](Self::assert_refused) says, naming the flag and the path.
    pub fn assert_unwritable_trace_refused(&self, args: &[&str]) {
        let directory = std::env::temp_dir();
        let directory = utf8(&directory);
        let into_directory = [args, &["--trace", directory]].concat();
        self.assert_refused(&into_directory, &["'--trace <FILE>'", directory]);
        let to_stdout = [args, &["--trace", "-"]].concat();
        self.assert_refused(&to_stdout, &["'--trace <FILE>'", "'-'", "stdout"]);
    }

    /// Asserts that `--trace` into the file that stdout goes to is refused before any task runs,
    /// naming the flag, the path and stdout: `/dev/stdout`, and the plain path of the file that
    /// stdout is redirected to, which stays empty. Unix only: elsewhere a demo cannot tell.
    #[cfg(unix)]
    pub fn assert_trace_into_stdout_refused(&self, args: &[&str]) {
        let to_dev_stdout = [args, &["--trace", "/dev/stdout"]].concat();
        let named = ["'--trace <FILE>'", "'/dev/stdout'", "stdout"];
        self.assert_refused(&to_dev_stdout, &named);

        // As `demo --trace out.txt > out.txt`.
        let path = self.temporary_file("txt");
        let stdout = fs::File::create(&path).expect("a file in the temporary directory");
        let path_text = utf8(&path);
        let to_its_file = [args, &["--trace", path_text]].concat();
        let output = self
            .command_without_threads(&to_its_file)
            .stdout(stdout)
            .output()
            .expect("the demo binary runs");
        let written = fs::read_to_string(&path).expect("stdout's file is still there");
        // Only a file in the temporary directory, if it is left behind.
        let _ = fs::remove_file(&path);
        let stderr = assert_status(&output, 2, &to_its_file);
        let first = stderr.lines().next().unwrap_or_default();
        for expected in ["error: ", "'--trace <FILE>'", path_text, "stdout"] {
            assert!(first.contains(expected), "{to_its_file:?}: {stderr}");
        }
        assert!(written.is_empty(), "{to_its_file:?} ran anyway: {written}");
    }

    /// Runs the demo with `args` where no thread can start, and asserts that it stopped at status
    /// 2 with a one-line error that contains each of `expected`, before printing anything and
    /// without a panic. Returns all of stderr, for the checks of the stage's own explanation.
    pub fn assert_refused(&self, args: &[&str], expected: &[&str]) -> String {
        let output = self.run_without_threads(args);
        let stderr = assert_status(&output, 2, args);
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

    /// Asserts that `too_many` threads are refused (see [`assert_refused`](Self::assert_refused))
    /// with an error that names them, the [`THREAD_LIMIT`] and `--no-limit`, and explains (see
    /// [`assert_thread_limit_explained`]); then that `escape`, which adds `--no-limit` to few
    /// threads, runs.
    pub fn assert_limited_unless_no_limit(&self, too_many: &[&str], escape: &[&str]) {
        let named = too_many.join(" ");
        let limit = THREAD_LIMIT.to_string();
        let stderr = self.assert_refused(too_many, &[&named, &limit, "--no-limit"]);
        assert_thread_limit_explained(&stderr);
        assert!(escape.contains(&"--no-limit"), "{escape:?}");
        self.assert_runs(escape);
    }

    /// Runs the demo with `args` where the system refuses the first worker thread, as when the
    /// process ids run out, and asserts that it explains it (status 1, an `error:` line, and
    /// `kernel.pid_max`) instead of panicking. Meaningful on Linux only.
    pub fn assert_thread_refused(&self, args: &[&str]) {
        let stderr = assert_status(&self.run_without_threads(args), 1, args);
        let refused = "error: the system refused to start a worker thread";
        assert!(stderr.starts_with(refused), "{args:?}: {stderr}");
        assert!(stderr.contains("kernel.pid_max"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }

    /// Asserts that a stderr that cannot be written loses the demo with `args` nothing but its
    /// messages. `args` must make the demo write on stderr, and end with `status`, which this
    /// checks first. Then, with stderr on a closed pipe, and on Linux on `/dev/full`, the run
    /// still ends with `status`, not with a panic's 101, and its summary is still the last line
    /// of stdout; with stdout closed too, as after `2>&1 | head -1`, it still ends with `status`.
    pub fn assert_unwritable_stderr_loses_only_messages(&self, args: &[&str], status: i32) {
        let said = assert_status(&self.run(args), status, args);
        assert!(!said.is_empty(), "{args:?} wrote nothing on stderr");
        for &stream in Stream::UNWRITABLE {
            let output = self.run_into(self.command(args), Stream::Read, stream);
            let summary = last_line(&output);
            assert_eq!(output.status.code(), Some(status), "{args:?}, {stream:?}");
            assert!(summary.starts_with(summary::PREFIX), "{args:?}, {stream:?}");
        }
        let output = self.run_into(self.command(args), Stream::Closed, Stream::Closed);
        assert_eq!(output.status.code(), Some(status), "{args:?}, both closed");
    }

    /// Asserts that the demo with `args` where no thread can start still ends with `status` when
    /// its stderr is a closed pipe, or on Linux `/dev/full`, and not with a panic's 101.
    pub fn assert_thread_refused_with_unwritable_stderr(&self, args: &[&str], status: i32) {
        for &stream in Stream::UNWRITABLE {
            let command = self.command_without_threads(args);
            let output = self.run_into(command, Stream::Read, stream);
            assert_eq!(output.status.code(), Some(status), "{args:?}, {stream:?}");
        }
    }

    /// Runs the demo with stdout on a pipe that is closed after the first line, as `| head -1`
    /// does, and returns that line and the run. The demo's output must be larger than a pipe
    /// holds, so that it is still writing when the pipe closes.
    fn run_into_a_closed_pipe(&self, args: &[&str]) -> (String, Output) {
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

    /// Runs the demo with `args` into a pipe closed after the first line, and asserts that the
    /// pipe only ended the output: the first line starts with `first`, the status is 0, and
    /// stderr is empty but for the stage's own lines, which end with one of `besides`. Returns
    /// stderr.
    pub fn assert_closed_pipe_ends_quietly(
        &self,
        args: &[&str],
        first: &str,
        besides: &[&str],
    ) -> String {
        let (line, output) = self.run_into_a_closed_pipe(args);
        assert!(line.starts_with(first), "{args:?}: {line}");
        let stderr = assert_status(&output, 0, args);
        assert!(others(&stderr, besides).is_empty(), "{args:?}: {stderr}");
        stderr
    }

    /// Runs the demo with `args` with stdout and stderr both on `/dev/full`, as
    /// `demo > /dev/full 2>&1` does, and asserts that it ends with status 1, for the output it
    /// could not write, and not with a panic's 101 as it fails to say so.
    #[cfg(target_os = "linux")]
    pub fn assert_full_stdout_and_stderr_end_with_status_1(&self, args: &[&str]) {
        let output = self.run_into(self.command(args), Stream::Full, Stream::Full);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
    }

    /// Runs the demo with `args` with stdout on `/dev/full` and asserts that it ends with status
    /// 1 and reports the failed write once: no thread panicked in `println!`, and the summary's
    /// failure is not reported twice. Lines of stderr that end with one of `besides` are the
    /// stage's own, and not counted.
    #[cfg(target_os = "linux")]
    pub fn assert_full_stdout_reported_once(&self, args: &[&str], besides: &[&str]) {
        let output = self.run_into(self.command(args), Stream::Full, Stream::Read);
        let stderr = assert_status(&output, 1, args);
        let lines = others(&stderr, besides);
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: could not write to stdout: "),
            "{args:?}: {stderr}"
        );
    }
}

/// Where a test points one of a demo's output streams: see [`Demo::run_into`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// A pipe that the test reads to the end: what the demo writes comes back in the [`Output`].
    Read,
    /// A pipe that nobody reads any more, as after `| head -1` has read its line: every write
    /// fails with a broken pipe.
    Closed,
    /// `/dev/full`, where every write fails with "no space left on device".
    #[cfg(target_os = "linux")]
    Full,
}

impl Stream {
    /// Every stream here that fails every write: [`Stream::Closed`], and on Linux
    /// `Stream::Full`.
    const UNWRITABLE: &[Stream] = &[
        Stream::Closed,
        #[cfg(target_os = "linux")]
        Stream::Full,
    ];

    /// The stream, for `demo`'s command.
    fn stdio(self, demo: &Demo) -> Stdio {
        match self {
            Stream::Read => Stdio::piped(),
            Stream::Closed => closed_pipe(demo),
            #[cfg(target_os = "linux")]
            Stream::Full => {
                let full = fs::File::options().write(true).open("/dev/full");
                Stdio::from(full.expect("/dev/full exists on Linux"))
            }
        }
    }
}

/// Asserts that the run with `args` ended with `status`, and returns its stderr.
fn assert_status(output: &Output, status: i32, args: &[&str]) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
    stderr
}

/// The lines of `stderr` but the stage's own, which end with one of `besides`.
fn others<'a>(stderr: &'a str, besides: &[&str]) -> Vec<&'a str> {
    let own = |line: &str| besides.iter().any(|own| line.ends_with(own));
    stderr.lines().filter(|line| !own(line)).collect()
}

/// A path in the temporary directory, as text.
fn utf8(path: &Path) -> &str {
    path.to_str()
        .expect("the temporary directory has a UTF-8 path")
}

/// The writing end of a pipe whose reader has gone, so that every write to it fails.
///
/// std makes pipes only to a child process, so the reader is the demo itself, asked for its
/// version: it exits without reading its stdin, which closes the pipe's reading end before the
/// demo under test starts.
fn closed_pipe(demo: &Demo) -> Stdio {
    let mut reader = demo
        .command(&["--version"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the demo binary starts");
    let writer = reader.stdin.take().expect("stdin is piped");
    reader
        .wait()
        .expect("the demo prints its version and exits");
    Stdio::from(writer)
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

/// A trace that `--trace` wrote, read back strictly by [`Recording::read_trace`].
#[derive(Debug)]
pub struct Trace {
    /// The recording the trace was written from.
    pub recording: Recording,
}

/// A task's span in a [`Trace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSpan {
    /// The task's number.
    pub task: usize,
    /// The name of the thread it ran on.
    pub thread: String,
    /// When it started.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
}

impl Trace {
    /// Reads the trace at `path`, and asserts that it is what the demos write.
    pub fn read(path: &Path) -> Trace {
        let text = fs::read_to_string(path).expect("the trace file was written");
        let recording =
            Recording::read_trace(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
        Trace { recording }
    }

    /// The tasks' spans: one per task that ran, as the trace says.
    pub fn task_spans(&self) -> Vec<TraceSpan> {
        let threads = self.recording.threads.iter();
        threads
            .flat_map(|thread| {
                thread.tasks.iter().map(|task| TraceSpan {
                    task: task.id,
                    thread: thread.name.clone(),
                    start: task.start,
                    end: task.end,
                })
            })
            .collect()
    }

    /// The labels of the waits of the thread named `thread`: the submitter's.
    pub fn waits_on(&self, thread: &str) -> Vec<String> {
        let threads = self.recording.threads.iter();
        let waits = threads
            .filter(|named| named.name == thread)
            .flat_map(|named| &named.waits);
        waits.map(|wait| wait.kind.label().to_string()).collect()
    }

    /// The tasks that panicked, in order, each with the name of the thread it panicked on.
    pub fn panics(&self) -> Vec<(usize, String)> {
        let threads = self.recording.threads.iter();
        let mut panics: Vec<(usize, String)> = threads
            .flat_map(|thread| {
                let panicked = thread.tasks.iter().filter(|task| task.panicked);
                panicked.map(|task| (task.id, thread.name.clone()))
            })
            .collect();
        panics.sort();
        panics
    }

    /// The values of the counter named `name`, in order: only [`QUEUE_DEPTH`] has any, which
    /// [`Recording::read_trace`] checked against the tasks.
    pub fn counter(&self, name: &str) -> Vec<usize> {
        let depths = match name {
            QUEUE_DEPTH => self.recording.queue_depth(),
            _ => Vec::new(),
        };
        depths.into_iter().map(|(_, depth)| depth).collect()
    }

    /// Asserts what every run's trace promises: one span for each of tasks `0..tasks`, spans
    /// that never overlap on one thread, and tasks on at most `most_threads` threads. Returns
    /// the names of the threads that ran tasks.
    pub fn assert_tasks(&self, tasks: usize, most_threads: usize) -> BTreeSet<String> {
        let mut ids: Vec<usize> = self.recording.all_tasks().map(|task| task.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..tasks).collect::<Vec<_>>(), "one span per task");
        for thread in &self.recording.threads {
            let mut spans: Vec<_> = thread.tasks.iter().map(|t| (t.start, t.end)).collect();
            spans.sort_unstable();
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "{} overlaps: {pair:?}", thread.name);
            }
        }
        let ran = self
            .recording
            .threads
            .iter()
            .filter(|t| !t.tasks.is_empty());
        let threads: BTreeSet<String> = ran.map(|thread| thread.name.clone()).collect();
        assert!(threads.len() <= most_threads, "{threads:?}");
        threads
    }
}

/// The lines of the `--timeline` in what a run printed: from its heading to the last line of
/// its legend. Asserts that there is one, and that none is wider than the timeline's 100 columns.
pub fn timeline(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("timeline of "))
        .take_while(|line| !line.starts_with(summary::PREFIX) && !line.starts_with("trace: "))
        .collect();
    assert!(!lines.is_empty(), "no timeline in {stdout}");
    for line in &lines {
        let width = line.chars().count();
        assert!(width <= TIMELINE_WIDTH, "{width} columns: {line}");
    }
    lines
}

/// The labels of the timeline's rows, from the lines [`timeline`] returns: `worker-0`, ...,
/// `submitter`, `queue`.
pub fn timeline_rows<'a>(timeline: &[&'a str]) -> Vec<&'a str> {
    timeline
        .iter()
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('|'))
        // Not the notes in parentheses, nor the indented rest of a line too long for one.
        .filter(|line| !line.starts_with('(') && !line.starts_with(' '))
        .filter_map(|line| line.split(' ').next())
        .collect()
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

/// The keys of any `summary:` line, in order (stage 06's too); none if `summary` is not one.
pub fn keys(summary: &str) -> Vec<&str> {
    summary::pairs(summary)
        .into_iter()
        .flatten()
        .map(|(key, _)| key)
        .collect()
}

/// Reads a `summary:` line of stages 01 to 05 (see [`Summary`]); panics if it is not one.
pub fn summary(line: &str) -> Summary {
    line.parse().unwrap_or_else(|error| panic!("{error}"))
}

/// Asserts that `summary` reads as a [`Summary`], whose shared keys come first, followed by the
/// stage's `own`.
pub fn assert_summary_keys(line: &str, own: &[&str]) {
    let extra: Vec<String> = summary(line)
        .extra
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(extra, own, "in {line}");
}

/// The value of `key` in any `summary:` line (stage 06's too); panics if the line has no such
/// key.
pub fn value<'a>(summary: &'a str, key: &str) -> &'a str {
    summary::pairs(summary)
        .into_iter()
        .flatten()
        .find_map(|(found, value)| (found == key).then_some(value))
        .unwrap_or_else(|| panic!("no {key} in {summary}"))
}
