//! What the stages' `tests/cli.rs` share (behind the feature `testing`): running a demo, abusing
//! it (no thread can start, a closed pipe, a full disk), and what it promises when abused:
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

use crate::limits::{MAX_QUEUE, MAX_TASKS, THREAD_LIMIT};
use crate::record::{Recording, TIMELINE_WIDTH, ThreadRecord};
use crate::summary::{self, Summary};

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

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.path);
        command.args(args);
        command
    }

    /// Runs the demo with `args` to the end and returns what it printed.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_into(self.command(args), Stream::Read, Stream::Read)
    }

    /// Runs `command`, one of this demo's, with its stdout and stderr on these streams.
    pub fn run_into(&self, mut command: Command, stdout: Stream, stderr: Stream) -> Output {
        command.stdout(stdout.stdio(self));
        command.stderr(stderr.stdio(self));
        command.output().expect("the demo binary runs")
    }

    /// A path in the temporary directory for a file of this demo's run, ending with `.{ext}`.
    fn temporary_file(&self, ext: &str) -> PathBuf {
        // Tests run in parallel processes: the demo, the process and a count make the name unique.
        static FILES: AtomicUsize = AtomicUsize::new(0);
        let demo = Path::new(self.path).file_stem().unwrap_or_default();
        let file = FILES.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{}-{file}.{ext}", demo.to_string_lossy(), process::id());
        std::env::temp_dir().join(name)
    }

    /// Runs the demo with `args` and `--trace`, asserts that it succeeded, and returns both.
    pub fn run_traced(&self, args: &[&str]) -> (Output, Trace) {
        let path = self.temporary_file("json");
        let output = self.assert_runs(&[args, &["--trace", utf8(&path)]].concat());
        let text = fs::read_to_string(&path).expect("the trace file was written");
        // A trace left behind is only a file in the temporary directory.
        let _ = fs::remove_file(&path);
        let recording = Recording::read_trace(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (output, Trace(recording))
    }

    /// Runs the demo with `args` and asserts that it succeeded.
    pub fn assert_runs(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        output
    }

    /// The demo with `args` where no thread can start (a petabyte stack can't be mapped).
    pub fn command_without_threads(&self, args: &[&str]) -> Command {
        let mut command = self.command(args);
        command.env("RUST_MIN_STACK", (1_u64 << 50).to_string());
        command
    }

    /// Asserts that `--trace` into a directory, or `-`, is refused, naming the flag and the path.
    pub fn assert_unwritable_trace_refused(&self, args: &[&str]) {
        let directory = std::env::temp_dir();
        let directory = utf8(&directory);
        let into_directory = [args, &["--trace", directory]].concat();
        self.assert_refused(&into_directory, &["'--trace <FILE>'", directory]);
        let to_stdout = [args, &["--trace", "-"]].concat();
        self.assert_refused(&to_stdout, &["'--trace <FILE>'", "'-'", "stdout"]);
    }

    /// Asserts that `--trace` into the file that stdout goes to is refused, naming the flag, the
    /// path and stdout: the file stdout is redirected to, which stays empty, and on Unix
    /// `/dev/stdout` too.
    pub fn assert_trace_into_stdout_refused(&self, args: &[&str]) {
        if cfg!(unix) {
            let to_dev_stdout = [args, &["--trace", "/dev/stdout"]].concat();
            let named = ["'--trace <FILE>'", "'/dev/stdout'", "stdout"];
            self.assert_refused(&to_dev_stdout, &named);
        }

        // As `demo --trace out.txt > out.txt`.
        let path = self.temporary_file("txt");
        let stdout = fs::File::create(&path).expect("a file in the temporary directory");
        let path_text = utf8(&path);
        let to_its_file = [args, &["--trace", path_text]].concat();
        let mut command = self.command_without_threads(&to_its_file);
        let output = command.stdout(stdout).output().expect("the demo runs");
        let written = fs::read_to_string(&path).expect("stdout's file is still there");
        // Only a file in the temporary directory, if it is left behind.
        let _ = fs::remove_file(&path);
        let named = ["'--trace <FILE>'", path_text, "stdout"];
        assert_error(&output, 2, &to_its_file, &named);
        assert!(written.is_empty(), "{to_its_file:?} ran anyway: {written}");
    }

    /// Asserts that `--trace` into the file that stderr goes to is refused, as
    /// `demo --trace err.txt 2> err.txt`: status 2, nothing on stdout, and in that file only the
    /// error, naming the flag, the path and stderr. Taken, it would mix messages into the trace.
    pub fn assert_trace_into_stderr_refused(&self, args: &[&str]) {
        let path = self.temporary_file("txt");
        let stderr = fs::File::create(&path).expect("a file in the temporary directory");
        let path_text = utf8(&path);
        let to_its_file = [args, &["--trace", path_text]].concat();
        let mut command = self.command_without_threads(&to_its_file);
        let output = command.stderr(stderr).output().expect("the demo runs");
        let written = fs::read_to_string(&path).expect("stderr's file is still there");
        // Only a file in the temporary directory, if it is left behind.
        let _ = fs::remove_file(&path);
        assert_eq!(output.status.code(), Some(2), "{to_its_file:?}: {written}");
        assert!(
            output.stdout.is_empty(),
            "{to_its_file:?} printed: {output:?}"
        );
        let first = written.lines().next().unwrap_or_default();
        for text in ["error: ", "'--trace <FILE>'", path_text, "stderr"] {
            assert!(first.contains(text), "{to_its_file:?}: {written}");
        }
    }

    /// Asserts that `args`, where no thread can start, stop the demo with status 2, printing
    /// nothing, and a first line `error:` with each of `expected` and no panic; returns stderr.
    pub fn assert_refused(&self, args: &[&str], expected: &[&str]) -> String {
        let command = self.command_without_threads(args);
        let output = self.run_into(command, Stream::Read, Stream::Read);
        let stderr = assert_error(&output, 2, args, expected);
        assert!(output.stdout.is_empty(), "{args:?} ran anyway");
        stderr
    }

    /// Asserts that each counting flag of `flags` is refused above its most, naming both.
    pub fn assert_counts_refused_above_their_limits(&self, flags: &[&str]) {
        for &flag in flags {
            let (most, above) = match flag {
                "--tasks" => (MAX_TASKS, vec![MAX_TASKS as u64 + 1]),
                "--queue" => (MAX_QUEUE, vec![MAX_QUEUE as u64 + 1, 10_u64.pow(11)]),
                "--workers" => (MAX_TASKS, vec![]),
                _ => panic!("{flag} is not a count with a limit"),
            };
            for number in [u64::MAX].into_iter().chain(above) {
                let number = number.to_string();
                let mut args = vec![flag, &number];
                if flag == "--workers" {
                    args.push("--no-limit");
                }
                let most = format!("at most {most}");
                self.assert_refused(&args, &[&format!("'{flag} <N>'"), &most]);
            }
        }
    }

    /// Asserts that `too_many` threads are refused, naming them, [`THREAD_LIMIT`] and `--no-limit`,
    /// with the explanation; and that `escape`, `--no-limit` with few threads, runs.
    pub fn assert_limited_unless_no_limit(&self, too_many: &[&str], escape: &[&str]) {
        let named = too_many.join(" ");
        let limit = THREAD_LIMIT.to_string();
        let stderr = self.assert_refused(too_many, &[&named, &limit, "--no-limit"]);
        assert_thread_limit_explained(&stderr);
        assert!(escape.contains(&"--no-limit"), "{escape:?}");
        self.assert_runs(escape);
    }

    /// Asserts that the demo with `args`, refused a thread, says why (status 1). Linux and Windows
    /// only (Windows shown under Wine): there the petabyte stack makes the spawn return an error,
    /// and elsewhere a stack that size may be refused in other ways.
    pub fn assert_thread_refused(&self, args: &[&str]) {
        let command = self.command_without_threads(args);
        let output = self.run_into(command, Stream::Read, Stream::Read);
        let stderr = assert_error(&output, 1, args, &[]);
        let refused = "error: the system refused to start a worker thread";
        assert!(stderr.starts_with(refused), "{args:?}: {stderr}");
        assert!(stderr.contains("kernel.pid_max"), "{args:?}: {stderr}");
    }

    /// Asserts that the demo with `args`, which writes on stderr and ends with `status`, ends so
    /// (not with a panic's 101) when stderr is unwritable, its summary last unless stdout is too.
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

    /// Asserts that `args` with no thread and an unwritable stderr still end with `status`.
    pub fn assert_thread_refused_with_unwritable_stderr(&self, args: &[&str], status: i32) {
        for &stream in Stream::UNWRITABLE {
            let command = self.command_without_threads(args);
            let output = self.run_into(command, Stream::Read, stream);
            assert_eq!(output.status.code(), Some(status), "{args:?}, {stream:?}");
        }
    }

    /// Asserts that the demo with `args`, its stdout closed after a first line that starts with
    /// `first` (`| head -1`), ends with status 0 and only the stderr lines that end with one of
    /// `besides`, which it returns. The output must outgrow a pipe.
    pub fn assert_closed_pipe_ends_quietly(
        &self,
        args: &[&str],
        first: &str,
        besides: &[&str],
    ) -> String {
        let mut command = self.command(args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the demo binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        // The reader is dropped at the end of this statement, and the pipe with it.
        let read = BufReader::new(stdout).read_line(&mut line);
        read.expect("a first line");
        let output = child.wait_with_output().expect("the demo ends");
        assert!(line.starts_with(first), "{args:?}: {line}");
        let stderr = assert_status(&output, 0, args);
        assert!(others(&stderr, besides).is_empty(), "{args:?}: {stderr}");
        stderr
    }

    /// Asserts that the demo with `args`, stdout and stderr on `/dev/full`, ends with status 1.
    #[cfg(target_os = "linux")]
    pub fn assert_full_stdout_and_stderr_end_with_status_1(&self, args: &[&str]) {
        let output = self.run_into(self.command(args), Stream::Full, Stream::Full);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
    }

    /// Asserts that a full stdout ends the demo with status 1, said once in stderr but `besides`.
    #[cfg(target_os = "linux")]
    pub fn assert_full_stdout_reported_once(&self, args: &[&str], besides: &[&str]) {
        let output = self.run_into(self.command(args), Stream::Full, Stream::Read);
        let stderr = assert_status(&output, 1, args);
        let lines = others(&stderr, besides);
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        let reported = lines[0].starts_with("error: could not write to stdout: ");
        assert!(reported, "{args:?}: {stderr}");
    }
}

/// Where a test points one of a demo's output streams: see [`Demo::run_into`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// A pipe that the test reads to the end, into the [`Output`].
    Read,
    /// A pipe that nobody reads any more, as after `| head -1`: every write fails.
    Closed,
    /// `/dev/full`, where every write fails with "no space left on device".
    #[cfg(target_os = "linux")]
    Full,
}

impl Stream {
    /// Every stream here that fails every write.
    const UNWRITABLE: &[Stream] = &[
        Stream::Closed,
        #[cfg(target_os = "linux")]
        Stream::Full,
    ];

    fn stdio(self, demo: &Demo) -> Stdio {
        match self {
            Stream::Read => Stdio::piped(),
            Stream::Closed => closed_pipe(demo),
            #[cfg(target_os = "linux")]
            Stream::Full => Stdio::from(fs::File::create("/dev/full").expect("/dev/full on Linux")),
        }
    }
}

fn assert_status(output: &Output, status: i32, args: &[&str]) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
    stderr
}

/// [`assert_status`], and a first line `error: ...` with each of `expected`, and no panic.
fn assert_error(output: &Output, status: i32, args: &[&str], expected: &[&str]) -> String {
    let stderr = assert_status(output, status, args);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{args:?}: {stderr}");
    for text in expected {
        assert!(first.contains(text), "{args:?}: {first}");
    }
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

/// The lines of `stderr` but the stage's own, which end with one of `besides`.
fn others<'a>(stderr: &'a str, besides: &[&str]) -> Vec<&'a str> {
    let own = |line: &str| besides.iter().any(|own| line.ends_with(own));
    stderr.lines().filter(|line| !own(line)).collect()
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("a temporary path in UTF-8")
}

/// A pipe whose reader, the demo asked for its version (std pipes only to a child), has gone.
fn closed_pipe(demo: &Demo) -> Stdio {
    let mut reader = demo.command(&["--version"]);
    reader.stdin(Stdio::piped()).stdout(Stdio::null());
    let mut reader = reader.spawn().expect("the demo binary starts");
    let writer = reader.stdin.take().expect("stdin is piped");
    reader.wait().expect("the demo exits");
    Stdio::from(writer)
}

/// Asserts that `stderr` explains the thread limit: the kernel's limit and IO at scale.
pub fn assert_thread_limit_explained(stderr: &str) {
    let explained = stderr.contains("kernel.pid_max") && stderr.contains("IO at scale");
    assert!(explained, "{stderr}");
}

/// A trace that `--trace` wrote, read back strictly by [`Recording::read_trace`].
#[derive(Debug)]
pub struct Trace(Recording);

impl Trace {
    fn threads_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ThreadRecord> {
        let threads = self.0.threads.iter();
        threads.filter(move |thread| thread.name == name)
    }

    /// How many tasks ran on the thread named `thread`.
    pub fn tasks_on(&self, thread: &str) -> usize {
        self.threads_named(thread).map(|t| t.tasks.len()).sum()
    }

    /// The labels of the waits of the thread named `thread`: the submitter's.
    pub fn waits_on(&self, thread: &str) -> Vec<String> {
        let waits = self.threads_named(thread).flat_map(|named| &named.waits);
        waits.map(|wait| wait.kind.label().to_string()).collect()
    }

    /// The tasks that panicked, in order, each with the name of the thread it panicked on.
    pub fn panics(&self) -> Vec<(usize, String)> {
        let mut panics = Vec::new();
        for thread in &self.0.threads {
            let panicked = thread.tasks.iter().filter(|task| task.panicked);
            panics.extend(panicked.map(|task| (task.id, thread.name.clone())));
        }
        panics.sort();
        panics
    }

    /// The queue's depth after each change, in order: the trace's
    /// [`QUEUE_DEPTH`](crate::record::QUEUE_DEPTH) counter.
    pub fn queue_depth(&self) -> Vec<usize> {
        let depths = self.0.queue_depth().into_iter();
        depths.map(|(_, depth)| depth).collect()
    }

    /// Asserts one span for each of tasks `0..tasks`, none overlapping on a thread, and at most
    /// `most_threads` threads with tasks, whose names it returns.
    pub fn assert_tasks(&self, tasks: usize, most_threads: usize) -> BTreeSet<String> {
        let mut ids: Vec<usize> = self.0.all_tasks().map(|task| task.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..tasks).collect::<Vec<_>>(), "one span per task");
        for thread in &self.0.threads {
            let mut spans: Vec<_> = thread.tasks.iter().map(|t| (t.start, t.end)).collect();
            spans.sort_unstable();
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "{} overlaps: {pair:?}", thread.name);
            }
        }
        let ran = self.0.threads.iter().filter(|t| !t.tasks.is_empty());
        let threads: BTreeSet<String> = ran.map(|thread| thread.name.clone()).collect();
        assert!(threads.len() <= most_threads, "{threads:?}");
        threads
    }
}

/// The lines of the `--timeline` in what a run printed, from its heading to the end of its
/// legend. Asserts that there is one, and that no line is wider than the timeline's 100 columns.
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

/// The labels of the rows of a [`timeline`]: `worker-0`, ..., `submitter`, `queue`.
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
    let stdout = stdout(output);
    stdout.lines().last().unwrap_or_default().to_string()
}

/// The keys of any `summary:` line, in order (stage 06's too); none if `summary` is not one.
pub fn keys(summary: &str) -> Vec<&str> {
    let pairs = summary::pairs(summary).into_iter().flatten();
    pairs.map(|(key, _)| key).collect()
}

/// Asserts that `line` reads as a [`Summary`] whose shared keys are followed by the stage's `own`.
pub fn assert_summary_keys(line: &str, own: &[&str]) {
    let summary: Summary = line.parse().unwrap_or_else(|error| panic!("{error}"));
    let extra: Vec<String> = summary.extra.into_iter().map(|(key, _)| key).collect();
    assert_eq!(extra, own, "in {line}");
}

/// The value of `key` in any `summary:` line (stage 06's too); panics if it has no such key.
pub fn value<'a>(summary: &'a str, key: &str) -> &'a str {
    let mut pairs = summary::pairs(summary).into_iter().flatten();
    let found = pairs.find_map(|(found, value)| (found == key).then_some(value));
    found.unwrap_or_else(|| panic!("no {key} in {summary}"))
}
