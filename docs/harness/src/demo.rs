//! A run's tasks as the demos submit them, what stages 04 and 05 collect from them, and the
//! output they print to, which never panics: a failed write ends that output, never the program.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;

use crate::args::{BoundedPoolArgs, TaskArgs};
use crate::record::{Recorder, Shape, TaskRecording, Waiting, Watcher};
use crate::summary::Summary;
use crate::table::count;
use crate::task::{Tracker, Work, ideal};

/// The tasks of one run: their work, tracker and output, and the recorder if the run records.
#[derive(Debug)]
pub struct Workload {
    args: TaskArgs,
    work: Work,
    tracker: Tracker,
    output: Output,
    /// Only when the run records: otherwise recording costs a task two branches, no more.
    recorder: Option<Recorder>,
    /// The `--trace` file, created before the run so that a bad path stops the demo at once.
    trace: Option<File>,
}

impl Workload {
    /// Prepares the run `args` describe, calibrating CPU work; exits 2 on a bad `--trace` file.
    pub fn new(args: &TaskArgs) -> Self {
        let trace = args.trace.as_deref().map(|path| {
            create_trace(path).unwrap_or_else(|message| {
                clap::Error::raw(ErrorKind::ValueValidation, message).exit()
            })
        });
        Workload {
            args: args.clone(),
            work: Work::new(args.task),
            tracker: Tracker::default(),
            output: Output::default(),
            recorder: (args.timeline || trace.is_some()).then(Recorder::new),
            trace,
        }
    }

    /// Like [`Workload::new`] with no `args.trace`, but records, showing `watcher` each event live.
    pub fn watched(args: &TaskArgs, watcher: Watcher) -> Self {
        let mut workload = Workload::new(args);
        workload.recorder = Some(Recorder::watched(watcher));
        workload
    }

    /// The recorder, if the run records, for a program that does not call [`Workload::finish`].
    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    /// Gives the workload the program's lifetime, for `'static` tasks to borrow (see the README).
    pub fn leak(self) -> &'static Workload {
        Box::leak(Box::new(self))
    }

    /// Hands task `id` over, right before it goes to the pool: `move || task.run()`. A recording
    /// counts the task as queued from this moment until a worker starts it.
    pub fn hand_over(&'static self, id: usize) -> HandedTask {
        let handed = self.recorder.as_ref().and_then(|r| r.handed_over(id));
        HandedTask {
            workload: self,
            id,
            handed,
        }
    }

    /// Hands task `id` over through `submit`, a call that may wait for a slot, and returns what it
    /// returns: `|task| pool.submit(move || task.run())`. A recording notes the call as a wait.
    pub fn hand_over_with<R>(&'static self, id: usize, submit: impl FnOnce(HandedTask) -> R) -> R {
        let task = self.hand_over(id);
        let handed = task.handed;
        let submitted = submit(task);
        if let (Some(recorder), Some(handed)) = (&self.recorder, handed) {
            recorder.waited(id, handed, Instant::now(), Waiting::InSubmit);
        }
        submitted
    }

    /// How long the submitter waited for a slot for task `id` since `since`, noted if recording.
    pub fn waited_for_slot(&self, id: usize, since: Instant) -> Duration {
        let now = Instant::now();
        if let Some(recorder) = &self.recorder {
            recorder.waited(id, since, now, Waiting::ForSlot);
        }
        now.duration_since(since)
    }

    /// Runs task `id` on this thread: its work, counted, then (`--each`) a line naming the thread.
    pub fn run(&self, id: usize) {
        let _running = self.tracker.start();
        self.work.run();
        self.print_done(id);
    }

    /// How the tasks ran: how many ended each way, and how many ran at once.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Whether every task ran to its end, returning or panicking: success for stage 05.
    pub fn all_ran(&self) -> bool {
        self.tracker.completed() + self.tracker.panicked() == self.args.tasks
    }

    /// Prints `line` to the tasks' [`Output`], which never panics.
    pub fn line(&self, line: impl fmt::Display) {
        self.output.line(line);
    }

    /// Ends the run once every task has ended: prints the timeline and writes the trace if asked,
    /// then `last`; status 0 only if the run `succeeded` and its trace and output were written.
    pub fn finish(&self, last: impl fmt::Display, succeeded: bool) -> ExitCode {
        let recorded = self.show_recording();
        self.output.line(last);
        self.output.exit_code(succeeded && recorded)
    }

    /// Prints the timeline and writes the trace, if asked; false if the trace could not be written.
    fn show_recording(&self) -> bool {
        let Some(recorder) = &self.recorder else {
            return true;
        };
        let recording = recorder.finish(self.args.tasks);
        if recording.missing_threads > 0 {
            report(format_args!(
                "warning: {} did not hand their events over in time: the timeline and the trace \
                 lack their tasks",
                count(recording.missing_threads, "thread")
            ));
        }
        if self.args.timeline {
            self.output.print(recording.timeline());
        }
        let (Some(file), Some(path)) = (&self.trace, &self.args.trace) else {
            return true;
        };
        let path = path.display();
        let mut writer = BufWriter::new(file);
        // `flush`, because a `BufWriter` dropped unflushed would lose its error.
        let written = recording
            .write_trace(&mut writer)
            .and_then(|()| writer.flush());
        match &written {
            Ok(()) => self.output.line(format_args!(
                "trace: {} written to {path}: open it in https://ui.perfetto.dev or \
                 chrome://tracing",
                count(recording.recorded_tasks(), "task"),
            )),
            Err(error) => report(format_args!(
                "error: could not write the trace to {path}: {error}"
            )),
        }
        written.is_ok()
    }

    /// The summary of this run, which took `elapsed` on `workers` threads (`None`: one per task)
    /// fed by a queue of `queue` tasks (`None`: none, or unbounded); a recording notes the shape.
    pub fn summary(
        &self,
        stage: &'static str,
        elapsed: Duration,
        workers: Option<usize>,
        queue: Option<usize>,
    ) -> Summary {
        if let Some(recorder) = &self.recorder {
            let shape = match workers {
                None => Shape::ThreadPerTask,
                Some(workers) => Shape::Pool { workers, queue },
            };
            recorder.describe(format!("stage {stage}"), shape);
        }
        let TaskArgs { tasks, task, .. } = self.args;
        let tracker = &self.tracker;
        let ideal = ideal(task, tasks, workers.unwrap_or(tasks));
        Summary::new(stage, tasks, tracker, workers, queue, task, elapsed, ideal)
    }

    /// [`Workload::summary`] for a pool of fixed size with a bounded queue (stages 03 to 05).
    pub fn pool_summary(
        &self,
        stage: &'static str,
        elapsed: Duration,
        pool: &BoundedPoolArgs,
    ) -> Summary {
        self.summary(stage, elapsed, Some(pool.workers), Some(pool.queue))
    }

    /// Prints the values collected, unless quiet: `results in submission order: [0, 1, 4]`.
    pub fn print_results(&self, values: &[u64], as_completed: bool) {
        let order = if as_completed {
            "completion"
        } else {
            "submission"
        };
        if !self.args.quiet {
            self.line(format_args!("results in {order} order: {values:?}"));
        }
    }

    /// With `--each`, the line that says task `id` is done, and on which thread.
    pub fn print_done(&self, id: usize) {
        if self.args.each {
            let thread = thread::current();
            let name = thread.name().unwrap_or("?");
            self.output.line(format_args!("task {id} done on {name}"));
        }
    }
}

/// How the message of a planned panic ends (`task 3 failed on purpose`), for a panic hook that
/// keeps those quiet.
pub const PLANNED_PANIC: &str = "failed on purpose";

/// One task of a [`Workload`], to move into the `'static` closure that a pool or a thread runs.
#[derive(Debug)]
pub struct HandedTask {
    workload: &'static Workload,
    id: usize,
    /// When it was handed over, if the run records it.
    handed: Option<Instant>,
}

impl HandedTask {
    /// Runs the task on the current thread: see [`Workload::run`].
    pub fn run(self) {
        let _recording = self.recording();
        self.workload.run(self.id);
    }

    /// Runs the task and returns `id * id`, or panics after the work if `panics`, as a bug would.
    pub fn square(self, panics: bool) -> u64 {
        let (workload, id, recording) = (self.workload, self.id, self.recording());
        let _running = workload.tracker.start();
        workload.work.run();
        if panics {
            // Ended now, not when unwinding drops it: the panic hook runs first, and can take
            // longer than the task. The tracker's guard still counts the panic as it unwinds.
            if let Some(recording) = recording {
                recording.end(true);
            }
            panic!("task {id} {PLANNED_PANIC}");
        }
        workload.print_done(id);
        // Wrapping, so that any `--tasks` gives a defined checksum.
        (id as u64).wrapping_mul(id as u64)
    }

    /// Starts recording the task, if the run records: the guard ends it when dropped (after the
    /// tracker's, so also on a panic), unless the task ends it first.
    fn recording(&self) -> Option<TaskRecording<'_>> {
        let handed = self.handed?;
        let recorder = self.workload.recorder.as_ref()?;
        Some(recorder.start_task(self.id, handed))
    }
}

/// Creates the file that `--trace` names, or says why it cannot, as clap words a bad value.
fn create_trace(path: &Path) -> Result<File, String> {
    let invalid = |why: &dyn fmt::Display| {
        let path = path.display();
        format!("invalid value '{path}' for '--trace <FILE>': {why}\n")
    };
    // Many tools read `-` as stdout, which carries the demo's own lines.
    if path == Path::new("-") {
        return Err(invalid(
            &"the trace cannot go to stdout, which carries the demo's lines: name a file",
        ));
    }
    // Checked before `File::create`, which would empty the file that stdout writes to.
    if is_stdout(path) {
        return Err(invalid(
            &"it is the file that stdout goes to, which carries the demo's lines: name another file",
        ));
    }
    // Nor stderr's: its messages would land in the middle of the trace.
    if is_stderr(path) {
        return Err(invalid(
            &"it is the file that stderr goes to, which carries the demo's messages: name another \
              file",
        ));
    }
    File::create(path).map_err(|error| invalid(&format_args!("cannot create it: {error}")))
}

/// The demo's own output streams, which the trace may not share a file with.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Whether `path` is stdout's file by any name (`/dev/fd/1`, ...).
fn is_stdout(path: &Path) -> bool {
    is_file_of(path, Stream::Stdout)
}

/// Whether `path` is stderr's file by any name (`/dev/fd/2`, ...), if that is a regular file: a
/// device such as `/dev/full` or a terminal keeps nothing for the messages to spoil.
fn is_stderr(path: &Path) -> bool {
    path.is_file() && is_file_of(path, Stream::Stderr)
}

/// Whether `path` names the file that `stream` writes to: the same device and inode.
#[cfg(unix)]
fn is_file_of(path: &Path, stream: Stream) -> bool {
    use std::fs;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    // No file yet, or the stream closed: nothing can mix with the trace.
    let Ok(named) = fs::metadata(path) else {
        return false;
    };
    let stream = match stream {
        Stream::Stdout => io::stdout().as_fd().try_clone_to_owned(),
        Stream::Stderr => io::stderr().as_fd().try_clone_to_owned(),
    };
    let Ok(stream) = stream.and_then(|stream| File::from(stream).metadata()) else {
        return false;
    };
    (named.dev(), named.ino()) == (stream.dev(), stream.ino())
}

/// Whether `path` names the file that `stream` writes to: the same volume serial number and file
/// index. Stable std does not expose those on Windows, so the `same-file` crate reads them.
#[cfg(windows)]
fn is_file_of(path: &Path, stream: Stream) -> bool {
    use same_file::Handle;

    let stream = match stream {
        Stream::Stdout => Handle::stdout(),
        Stream::Stderr => Handle::stderr(),
    };
    // No file yet, or no such stream: nothing can mix with the trace.
    match (Handle::from_path(path), stream) {
        (Ok(named), Ok(stream)) => named == stream,
        _ => false,
    }
}

/// Never, on systems that are neither Unix nor Windows; [`create_trace`] still refuses `-`.
#[cfg(not(any(unix, windows)))]
fn is_file_of(_path: &Path, _stream: Stream) -> bool {
    false
}

/// What the tasks of stages 04 and 05 gave back: their values, and the tasks that gave none.
#[derive(Debug)]
pub struct Collected<E> {
    /// The values, in the order they were collected.
    pub values: Vec<u64>,
    /// The tasks that produced no value, by id, with the reason the pool gave.
    pub failed: Vec<(usize, E)>,
}

impl<E> Collected<E> {
    /// Sorts the outcomes of tasks `0, 1, 2, ...` into values and failures, keeping their order.
    pub fn in_order(outcomes: impl IntoIterator<Item = Result<u64, E>>) -> Self {
        let (mut values, mut failed) = (Vec::new(), Vec::new());
        for (id, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(value) => values.push(value),
                Err(error) => failed.push((id, error)),
            }
        }
        Collected { values, failed }
    }

    /// Keeps `values` as they arrived (through a channel, say), and the failures among `outcomes`.
    pub fn as_completed<T>(
        values: Vec<u64>,
        outcomes: impl IntoIterator<Item = Result<T, E>>,
    ) -> Self {
        let failed = outcomes.into_iter().enumerate();
        let failed = failed.filter_map(|(id, outcome)| Some((id, outcome.err()?)));
        Collected {
            values,
            failed: failed.collect(),
        }
    }

    /// The wrapping sum of the values: a lost or duplicated result changes it.
    pub fn checksum(&self) -> u64 {
        let values = self.values.iter();
        values.fold(0, |sum, &value| sum.wrapping_add(value))
    }
}

/// A demo's stdout, shared by its tasks and its `main`: after a failed write, it prints no more.
#[derive(Debug, Default)]
pub struct Output {
    failed: OnceLock<io::Error>,
}

impl Output {
    /// Prints `line` and a newline, like `println!`, but never panics.
    pub fn line(&self, line: impl fmt::Display) {
        self.print(format_args!("{line}\n"));
    }

    /// Prints `text` as it is, like `print!`, but never panics.
    pub fn print(&self, text: impl fmt::Display) {
        if self.failed.get().is_none() {
            // Locked for the whole write, so that lines from different threads never mix.
            let written = write!(io::stdout().lock(), "{text}");
            self.record(written);
        }
    }

    /// Status 0 if the run `succeeded` and its output was written, else 1; a failed write is
    /// reported, unless it met a closed pipe (`demo | head -1`).
    pub fn exit_code(&self, succeeded: bool) -> ExitCode {
        self.record(io::stdout().flush());
        if let Some(error) = self.failure() {
            report(format_args!("error: could not write to stdout: {error}"));
        } else if succeeded {
            return ExitCode::SUCCESS;
        }
        ExitCode::FAILURE
    }

    /// Keeps the error of `written`, if it is the first: the ones after it are its consequences.
    fn record(&self, written: io::Result<()>) {
        if let Err(error) = written {
            let _ = self.failed.set(error);
        }
    }

    /// The failed write to report, if any: a closed pipe is not one.
    fn failure(&self) -> Option<&io::Error> {
        let failed = self.failed.get();
        failed.filter(|error| error.kind() != io::ErrorKind::BrokenPipe)
    }
}

/// Writes `message` and a newline to stderr, like `eprintln!`, but drops what it cannot write.
pub fn report(message: impl fmt::Display) {
    // Formatted first and written at once: stderr is unbuffered, so `writeln!` would write each
    // piece on its own, and a panic message, which takes no lock, could land between them.
    let line = format!("{message}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
    use std::sync::Arc;

    use super::*;
    use crate::limits::with_panic_hook;

    fn workload_args() -> TaskArgs {
        TaskArgs::from_flags(["--tasks", "3", "--task", "sleep:0ns", "--quiet"]).unwrap()
    }

    #[test]
    fn tasks_are_counted_squares_returned_and_a_planned_panic_counted_once() {
        let workload = Workload::new(&workload_args()).leak();
        workload.run(0);
        assert_eq!(workload.hand_over(3).square(false), 9);
        // `AssertUnwindSafe`: the workload is only read after the panic, never left half-updated.
        let task = workload.hand_over(2);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| task.square(true)));
        assert!(outcome.is_err());
        let tracker = workload.tracker();
        assert_eq!((tracker.completed(), tracker.panicked()), (2, 1));
        assert!(workload.all_ran(), "3 tasks, 3 ended");
    }

    #[test]
    fn a_planned_panic_ends_its_recording_before_the_panic_hook_runs() {
        let mut args = workload_args();
        args.timeline = true;
        let workload = Workload::new(&args).leak();
        let task = workload.hand_over(0);
        let hook_ran = Arc::new(OnceLock::new());
        let hook_ran_then = Arc::clone(&hook_ran);
        // On a thread of its own, which the recorder hands its events over from as it ends.
        let outcome = thread::spawn(move || {
            let hook = move |_: &PanicHookInfo<'_>| {
                hook_ran_then.get_or_init(Instant::now);
            };
            with_panic_hook(hook, || {
                panic::catch_unwind(AssertUnwindSafe(|| task.square(true)))
            })
        });

        assert!(outcome.join().unwrap().is_err());
        let panicked = workload.tracker().panicked();
        assert_eq!(panicked, 1, "counted once, as it unwound");
        let recorder = workload.recorder.as_ref().unwrap();
        let hook_ran = hook_ran.get().expect("the panic hook ran");
        let hook_ran = hook_ran.saturating_duration_since(recorder.origin());
        let task = recorder.finish(1).all_tasks().next().unwrap().clone();
        assert!(task.panicked);
        assert!(
            task.end <= hook_ran,
            "its span ended at {:?}, after the hook ran at {hook_ran:?}",
            task.end
        );
    }

    #[test]
    fn a_trace_to_stdout_is_refused() {
        let error = create_trace(Path::new("-")).unwrap_err();
        let expected = "invalid value '-' for '--trace <FILE>'";
        assert!(error.starts_with(expected), "{error}");
        assert!(error.contains("stdout"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn stdout_is_known_by_any_of_its_names_and_other_files_are_not() {
        // Whatever this test's stdout is, a terminal, a pipe or a file, these name it.
        for name in ["/dev/stdout", "/dev/fd/1"] {
            assert!(is_stdout(Path::new(name)), "{name}");
        }
        let elsewhere = std::env::temp_dir().join(format!("trace-{}.json", std::process::id()));
        assert!(!is_stdout(&elsewhere), "a file that does not exist yet");
        File::create(&elsewhere).unwrap();
        let other = is_stdout(&elsewhere) || is_stderr(&elsewhere);
        std::fs::remove_file(&elsewhere).unwrap();
        assert!(!other, "a file of its own");
    }

    #[test]
    fn a_watched_workload_shows_its_tasks_as_they_run_and_records_them() {
        use crate::record::trace::Phase;
        use std::sync::mpsc;

        let (show, seen) = mpsc::channel();
        let watcher: Watcher = Arc::new(move |event| {
            let _ = show.send((event.ph, event.name.into_owned()));
        });
        let workload = Workload::watched(&workload_args(), watcher).leak();
        let task = workload.hand_over(0);
        thread::spawn(move || task.run()).join().unwrap();
        let shown: Vec<_> = seen.try_iter().collect();
        let expected = [
            (Phase::Metadata, "thread_name"),
            (Phase::Begin, "task 0"),
            (Phase::End, "task 0"),
        ]
        .map(|(ph, name)| (ph, name.to_string()));
        assert_eq!(shown, expected);
        let recorder = workload.recorder().expect("a watched workload records");
        assert!(recorder.origin() <= Instant::now());
        assert_eq!(recorder.finish(3).recorded_tasks(), 1);
    }

    #[test]
    fn a_summary_describes_the_run_and_its_ideal() {
        let workload = Workload::new(&workload_args());
        let line = |workers| workload.summary("02", Duration::ZERO, workers, None);
        let pool = line(Some(2)).to_string();
        let expected = "summary: stage=02 tasks=3 completed=0 panicked=0 workers=2 queue=- ";
        assert!(pool.starts_with(expected), "{pool}");
        // A thread per task: every task overlaps with every other one.
        let per_task = line(None).to_string();
        assert!(per_task.contains(" workers=- "), "{per_task}");
    }

    #[test]
    fn outcomes_are_sorted_into_values_and_failures_by_id_and_summed_wrapping() {
        let collected = Collected::in_order([Ok(u64::MAX), Err("lost"), Ok(2), Err("panicked")]);
        assert_eq!(collected.values, [u64::MAX, 2]);
        assert_eq!(collected.failed, [(1, "lost"), (3, "panicked")]);
        assert_eq!(collected.checksum(), 1, "wraps instead of overflowing");

        let collected = Collected::as_completed(vec![4, 0], [Ok(()), Err("lost"), Ok(())]);
        assert_eq!(collected.values, [4, 0]);
        assert_eq!(collected.failed, [(1, "lost")]);
    }

    #[test]
    fn only_the_first_error_is_kept_and_a_closed_pipe_is_not_reported() {
        let output = Output::default();
        output.record(Ok(()));
        assert!(output.failure().is_none());
        output.record(Err(io::Error::from(io::ErrorKind::StorageFull)));
        output.record(Err(io::Error::other("a consequence")));
        let failure = output.failure().expect("a full disk is reported");
        assert_eq!(failure.kind(), io::ErrorKind::StorageFull);

        let piped = Output::default();
        piped.record(Err(io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(piped.failure().is_none());
    }
}
