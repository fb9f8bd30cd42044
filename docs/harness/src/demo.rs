//! A run's tasks as the demos submit them, and what stages 04 and 05 collect from them.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;

use crate::args::{BoundedPoolArgs, TaskArgs};
use crate::output::{Output, report};
use crate::record::{Recorder, Shape, TaskRecording, Waiting, Watcher, counted};
use crate::summary::Summary;
use crate::task::{TaskSpec, Work, ideal};
use crate::track::Tracker;

/// The tasks of one run: how many, the calibrated work each one does, the tracker that counts
/// them, whether each prints a line when it is done, and the output they print it to; and, if
/// `--timeline` or `--trace` asked for it, the recorder that notes when each task ran. The tasks
/// borrow it for the whole program: see [`Workload::leak`] and [`Workload::hand_over`].
#[derive(Debug)]
pub struct Workload {
    tasks: usize,
    spec: TaskSpec,
    work: Work,
    tracker: Tracker,
    quiet: bool,
    /// `--each`: a line per task as it ends.
    each: bool,
    output: Output,
    /// Present only when the run records: otherwise recording costs a task a branch where it is
    /// handed over and one where it runs, no more.
    recorder: Option<Recorder>,
    timeline: bool,
    trace: Option<TraceFile>,
}

/// Where `--trace` writes: the file, created before the run so that a path that cannot be
/// written stops the demo before it starts, and its path, for the messages.
#[derive(Debug)]
struct TraceFile {
    path: PathBuf,
    file: File,
}

impl Workload {
    /// Prepares the run that `args` describe, calibrating CPU work once (see [`Work::new`]).
    ///
    /// With `--trace`, creates the trace file first: if it cannot be created, or is stdout (`-`, or
    /// any name of the file that stdout goes to, such as `/dev/stdout`), where the demo prints its
    /// own lines, the demo exits with status 2 and a one-line `error:` that names the flag and the
    /// path, as for any bad value, before any task runs.
    pub fn new(args: &TaskArgs) -> Self {
        let trace = args.trace.as_deref().map(|path| {
            create_trace(path).unwrap_or_else(|message| {
                clap::Error::raw(ErrorKind::ValueValidation, message).exit()
            })
        });
        Workload {
            tasks: args.tasks,
            spec: args.task,
            work: Work::new(args.task),
            tracker: Tracker::default(),
            quiet: args.quiet,
            each: args.each,
            output: Output::default(),
            recorder: (args.timeline || trace.is_some()).then(Recorder::new),
            timeline: args.timeline,
            trace,
        }
    }

    /// Prepares the run that `args` describe, like [`Workload::new`], and records it with a
    /// recorder that shows `watcher` each event as it happens (see [`Recorder::watched`]),
    /// whatever `--timeline` and `--trace` say: for a program that watches the run live, and
    /// takes the recording itself at the end, from [`Workload::recorder`].
    ///
    /// `args.trace` must be `None`: the file it names would be created, and never written.
    pub fn watched(args: &TaskArgs, watcher: Watcher) -> Self {
        Workload {
            recorder: Some(Recorder::watched(watcher)),
            ..Workload::new(args)
        }
    }

    /// The recorder, if the run records: for [`Recorder::origin`], and for
    /// [`Recorder::finish`], which a program that does not call [`Workload::finish`] calls once
    /// every task has ended, after [`Workload::summary`] has described the run.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    /// Gives the workload the program's lifetime, so that every task can borrow it.
    ///
    /// A pool's tasks must be `'static`. Sharing the workload through an `Arc` would do, but a
    /// clone per task, dropped on the worker, costs more than all of the demo's bookkeeping (see
    /// "What each feature costs" in `docs/README.md`). A demo runs one workload until it exits,
    /// so it is leaked on purpose, once: nothing is lost that the exit would not free anyway.
    pub fn leak(self) -> &'static Workload {
        Box::leak(Box::new(self))
    }

    /// Hands task `id` over: returns what it needs to run, to move into the pool's closure,
    /// `move || task.run()`. When the run records, it notes this moment too: the task waits
    /// in the queue from here until a worker starts it.
    ///
    /// Call it right before handing the task to the pool (or, in stage 01, to its thread).
    pub fn hand_over(&'static self, id: usize) -> HandedTask {
        let handed = self
            .recorder
            .as_ref()
            .and_then(|recorder| recorder.handed_over(id));
        HandedTask {
            workload: self,
            id,
            handed,
        }
    }

    /// Hands task `id` over (see [`Workload::hand_over`]) through `submit`, a pool's submit call
    /// that may wait while the queue is full: `|task| pool.submit(move || task.run())`. Returns
    /// what `submit` returns. When the run records, the whole call is noted as a wait of the
    /// submitter, and the task enters the queue when it returns.
    pub fn hand_over_with<R>(&'static self, id: usize, submit: impl FnOnce(HandedTask) -> R) -> R {
        let task = self.hand_over(id);
        let handed = task.handed;
        let submitted = submit(task);
        if let (Some(recorder), Some(handed)) = (&self.recorder, handed) {
            recorder.waited(id, handed, Instant::now(), Waiting::InSubmit);
        }
        submitted
    }

    /// How long the submitter has waited for a slot in the queue for task `id`, since `since`.
    /// When the run records, notes the wait, which has just ended.
    pub fn waited_for_slot(&self, id: usize, since: Instant) -> Duration {
        let now = Instant::now();
        if let Some(recorder) = &self.recorder {
            recorder.waited(id, since, now, Waiting::ForSlot);
        }
        now.duration_since(since)
    }

    /// Runs task `id` on the current thread: the work, counted by the tracker, then (with
    /// `--each`) a line that names the thread it ran on. Never panics: a line that cannot be
    /// written is the output's failure, not the task's (see [`Output`]).
    pub fn run(&self, id: usize) {
        let _running = self.tracker.start();
        self.work.run();
        self.print_done(id);
    }

    /// Runs task `id` like [`Workload::run`], then returns `id * id`, the value stages 04 and 05
    /// collect. If `panics` is true the task panics after its work instead, as a buggy task
    /// would: the tracker counts it as panicked, and no line is printed.
    ///
    /// # Panics
    ///
    /// Panics if `panics` is true: that is what it is for.
    pub fn square(&self, id: usize, panics: bool) -> u64 {
        self.square_recorded(id, panics, None)
    }

    /// [`Workload::square`], for a task whose run is being recorded, if `recording`.
    fn square_recorded(
        &self,
        id: usize,
        panics: bool,
        recording: Option<TaskRecording<'_>>,
    ) -> u64 {
        let _running = self.tracker.start();
        self.work.run();
        if panics {
            // The task ends here. Its recording notes so now: the panic hook runs before the
            // unwinding that would drop the recording, and a hook that prints a backtrace takes
            // longer than many a task. The tracker's guard still counts the panic as it unwinds.
            if let Some(recording) = recording {
                recording.end(true);
            }
            panic!("task {id} failed on purpose");
        }
        self.print_done(id);
        // Wrapping, so that any `--tasks` gives a defined checksum.
        let id = id as u64;
        id.wrapping_mul(id)
    }

    /// How the tasks ran: how many ended each way, and how many ran at once.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Whether every task of the run has run to its end, returning or panicking: false if a task
    /// was never submitted, or never run. For a demo whose panics are planned (stage 05), this is
    /// what success means.
    pub fn all_ran(&self) -> bool {
        self.tracker.completed() + self.tracker.panicked() == self.tasks
    }

    /// Prints `line` to the output the tasks print to, which never panics (see [`Output`]).
    pub fn line(&self, line: impl fmt::Display) {
        self.output.line(line);
    }

    /// Ends the run: prints the timeline and writes the trace if the flags asked for them, then
    /// prints `last`, the summary line with any keys the stage appends to it, and returns the exit
    /// status, 0 only if the run `succeeded`, its trace (if any) was written, and its output could
    /// be written (see [`Output::exit_code`]). Every run that started tasks ends here, on the
    /// thread that submitted them, once every task has ended.
    pub fn finish(&self, last: impl fmt::Display, succeeded: bool) -> ExitCode {
        let recorded = self.show_recording();
        self.output.line(last);
        self.output.exit_code(succeeded && recorded)
    }

    /// Prints the timeline (`--timeline`) and writes the trace (`--trace`), if asked. Returns
    /// false if the trace could not be written, once that is said on stderr.
    fn show_recording(&self) -> bool {
        let Some(recorder) = &self.recorder else {
            return true;
        };
        let recording = recorder.finish(self.tasks);
        if recording.missing_threads > 0 {
            report(format_args!(
                "warning: {} did not hand their events over in time: the timeline and the trace \
                 lack their tasks",
                counted(recording.missing_threads, "thread")
            ));
        }
        if self.timeline {
            self.output.print(recording.timeline());
        }
        let Some(trace) = &self.trace else {
            return true;
        };
        let mut writer = BufWriter::new(&trace.file);
        // `flush`, because a `BufWriter` dropped unflushed would lose its error.
        match recording
            .write_trace(&mut writer)
            .and_then(|()| writer.flush())
        {
            Ok(()) => {
                self.output.line(format_args!(
                    "trace: {} written to {}: open it in https://ui.perfetto.dev or \
                     chrome://tracing",
                    counted(recording.recorded_tasks(), "task"),
                    trace.path.display()
                ));
                true
            }
            Err(error) => {
                report(format_args!(
                    "error: could not write the trace to {}: {error}",
                    trace.path.display()
                ));
                false
            }
        }
    }

    /// The summary line of this run, which took `elapsed` on `workers` threads (`None`: a thread
    /// per task) fed by a queue of `queue` tasks (`None`: no queue, or one without a limit).
    ///
    /// When the run records, this is also how its timeline and trace learn what `stage` it was,
    /// how many workers it had, and whether it had a queue.
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
        Summary::new(
            stage,
            self.tasks,
            &self.tracker,
            workers,
            queue,
            self.spec,
            elapsed,
            ideal(self.spec, self.tasks, workers.unwrap_or(self.tasks)),
        )
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

    /// From stage 04 on: prints the values collected (unless quiet), saying in which order they
    /// came: `results in submission order: [0, 1, 4]`, or `completion` order for `--as-completed`.
    pub fn print_results(&self, values: &[u64], as_completed: bool) {
        if self.quiet {
            return;
        }
        let order = if as_completed {
            "completion"
        } else {
            "submission"
        };
        self.output
            .line(format_args!("results in {order} order: {values:?}"));
    }

    fn print_done(&self, id: usize) {
        if self.each {
            let thread = thread::current();
            let name = thread.name().unwrap_or("?");
            self.output.line(format_args!("task {id} done on {name}"));
        }
    }
}

/// One task of a [`Workload`], handed over to run: made by [`Workload::hand_over`], and moved
/// into the closure that a pool (or, in stage 01, a thread) runs.
///
/// It borrows the workload for the whole program (see [`Workload::leak`]), so that the closure
/// is `'static`, as a pool's tasks must be: the pool's threads may outlive any shorter borrow.
#[derive(Debug)]
pub struct HandedTask {
    workload: &'static Workload,
    id: usize,
    /// When it was handed over, if the run records it.
    handed: Option<Instant>,
}

impl HandedTask {
    /// The task's number.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Runs the task on the current thread: see [`Workload::run`].
    pub fn run(self) {
        let _recording = self.recording();
        self.workload.run(self.id);
    }

    /// Runs the task on the current thread and returns `id * id`, or panics if `panics` is true:
    /// see [`Workload::square`].
    ///
    /// # Panics
    ///
    /// Panics if `panics` is true: that is what it is for.
    pub fn square(self, panics: bool) -> u64 {
        self.workload
            .square_recorded(self.id, panics, self.recording())
    }

    /// Starts recording the task if the run records it. The guard records the task as it is
    /// dropped (after the task's own guard, the tracker's, so also when the task panics), unless
    /// the task ends it first.
    fn recording(&self) -> Option<TaskRecording<'_>> {
        let handed = self.handed?;
        let recorder = self.workload.recorder.as_ref()?;
        Some(recorder.start_task(self.id, handed))
    }
}

/// Creates the file that `--trace` names, or says why it cannot, as clap words a bad value.
fn create_trace(path: &Path) -> Result<TraceFile, String> {
    let invalid = |why: String| {
        let path = path.display();
        format!("invalid value '{path}' for '--trace <FILE>': {why}\n")
    };
    // Many tools read `-` as stdout; created as a file it would surprise, and stdout carries the
    // demo's own lines, which a trace must not mix with.
    if path == Path::new("-") {
        return Err(invalid(
            "the trace cannot go to stdout, which carries the demo's lines: name a file"
                .to_string(),
        ));
    }
    // Checked before `File::create`, which would empty the file that stdout writes to.
    if is_stdout(path) {
        return Err(invalid(
            "it is the file that stdout goes to, which carries the demo's lines: name another \
             file"
                .to_string(),
        ));
    }
    match File::create(path) {
        Ok(file) => Ok(TraceFile {
            path: path.to_path_buf(),
            file,
        }),
        Err(error) => Err(invalid(format!("cannot create it: {error}"))),
    }
}

/// Whether `path` is the file that stdout writes to, however it is spelled: `/dev/stdout`,
/// `/dev/fd/1`, or the file that stdout was redirected to, by any of its names. Two names are
/// the same file when they have the same device and inode, which is what this compares.
#[cfg(unix)]
fn is_stdout(path: &Path) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    use std::{fs, io};

    // Nothing there yet: a file still to be created cannot be stdout.
    let Ok(named) = fs::metadata(path) else {
        return false;
    };
    // A copy of stdout's descriptor, to ask what it points at. None: stdout is closed, so
    // nothing can mix with the trace.
    let Ok(stdout) = io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(stdout) = File::from(stdout).metadata() else {
        return false;
    };
    (named.dev(), named.ino()) == (stdout.dev(), stdout.ino())
}

/// Whether `path` is the file that stdout writes to: never, here. Windows has no device and inode
/// to compare, nor a path for stdout; `-` is the one name for it that [`create_trace`] refuses.
#[cfg(not(unix))]
fn is_stdout(_path: &Path) -> bool {
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
    /// `outcomes` may be lazy, such as handles being joined one by one: each is taken in turn.
    pub fn in_order(outcomes: impl IntoIterator<Item = Result<u64, E>>) -> Self {
        let mut collected = Collected {
            values: Vec::new(),
            failed: Vec::new(),
        };
        for (id, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(value) => collected.values.push(value),
                Err(error) => collected.failed.push((id, error)),
            }
        }
        collected
    }

    /// Keeps `values` as they arrived by another way, such as a channel, and takes only the
    /// failures from the outcomes of tasks `0, 1, 2, ...`.
    pub fn as_completed<T>(
        values: Vec<u64>,
        outcomes: impl IntoIterator<Item = Result<T, E>>,
    ) -> Self {
        let failed = outcomes
            .into_iter()
            .enumerate()
            .filter_map(|(id, outcome)| Some((id, outcome.err()?)))
            .collect();
        Collected { values, failed }
    }

    /// The wrapping sum of the values: a lost or duplicated result changes it.
    pub fn checksum(&self) -> u64 {
        self.values
            .iter()
            .fold(0, |sum, &value| sum.wrapping_add(value))
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
    use std::sync::Arc;

    use super::*;

    fn workload_args() -> TaskArgs {
        TaskArgs {
            tasks: 3,
            task: "sleep:0ns".parse().unwrap(),
            quiet: true,
            each: false,
            timeline: false,
            trace: None,
        }
    }

    fn workload() -> Workload {
        Workload::new(&workload_args())
    }

    #[test]
    fn tasks_are_counted_and_squares_returned() {
        let workload = workload();
        workload.run(0);
        assert_eq!(workload.square(3, false), 9);
        assert_eq!(workload.tracker().completed(), 2);
        assert_eq!(workload.tracker().panicked(), 0);
    }

    #[test]
    fn a_planned_panic_is_counted_as_one() {
        let workload = workload();
        // `AssertUnwindSafe`: the workload is only read after the panic, never left half-updated.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| workload.square(2, true)));
        assert!(outcome.is_err());
        assert_eq!(workload.tracker().panicked(), 1);
        assert_eq!(workload.tracker().completed(), 0);
    }

    #[test]
    fn a_planned_panic_ends_its_recording_before_the_panic_hook_runs() {
        // Far longer than the task, which does nothing before it panics.
        const HOOK_DELAY: Duration = Duration::from_millis(250);
        const THREAD: &str = "worker-with-a-slow-panic-hook";
        // The panic hook is the whole process's: this one is slow only for the panics of the
        // thread below, and hands every other panic to the hook it replaces, as it was.
        let previous: Arc<dyn Fn(&PanicHookInfo<'_>) + Send + Sync> = Arc::from(panic::take_hook());
        let others = Arc::clone(&previous);
        panic::set_hook(Box::new(move |info| {
            if thread::current().name() == Some(THREAD) {
                thread::sleep(HOOK_DELAY);
            } else {
                others(info);
            }
        }));
        let args = TaskArgs {
            timeline: true,
            ..workload_args()
        };
        let workload = Workload::new(&args).leak();
        let task = workload.hand_over(0);
        let outcome = thread::Builder::new()
            .name(THREAD.to_string())
            .spawn(move || task.square(true))
            .unwrap()
            .join();
        drop(panic::take_hook());
        panic::set_hook(Box::new(move |info| previous(info)));

        assert!(outcome.is_err());
        assert_eq!(
            workload.tracker().panicked(),
            1,
            "counted once, as it unwound"
        );
        let recording = workload.recorder.as_ref().unwrap().finish(1);
        let task = recording.all_tasks().next().unwrap();
        assert!(task.panicked);
        let ran = task.end - task.start;
        assert!(
            ran < HOOK_DELAY,
            "the task's span took in the hook: {ran:?}"
        );
    }

    #[test]
    fn a_trace_to_stdout_is_refused() {
        let error = create_trace(Path::new("-")).unwrap_err();
        assert!(
            error.starts_with("invalid value '-' for '--trace <FILE>'"),
            "{error}"
        );
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
        let other = is_stdout(&elsewhere);
        std::fs::remove_file(&elsewhere).unwrap();
        assert!(!other, "a file of its own");
    }

    #[test]
    fn a_watched_workload_shows_its_tasks_as_they_run_and_records_them() {
        use crate::record::trace::Phase;
        use std::sync::Mutex;

        let seen: Arc<Mutex<Vec<(Phase, String)>>> = Arc::default();
        let watcher: Watcher = {
            let seen = Arc::clone(&seen);
            Arc::new(move |event| {
                let shown = (event.ph, event.name.into_owned());
                seen.lock().unwrap().push(shown);
            })
        };
        let workload = Workload::watched(&workload_args(), watcher).leak();
        let task = workload.hand_over(0);
        thread::spawn(move || task.run()).join().unwrap();
        let shown = seen.lock().unwrap().clone();
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
        let workload = workload();
        let line = workload
            .summary("02", Duration::ZERO, Some(2), None)
            .to_string();
        assert!(
            line.starts_with("summary: stage=02 tasks=3 completed=0 panicked=0 workers=2 queue=- "),
            "{line}"
        );
        // A thread per task: every task overlaps with every other one.
        let line = workload
            .summary("01", Duration::ZERO, None, None)
            .to_string();
        assert!(line.contains(" workers=- "), "{line}");
    }

    #[test]
    fn outcomes_are_sorted_into_values_and_failures_by_id() {
        let outcomes = [Ok(0), Err("lost"), Ok(4), Err("panicked")];
        let collected = Collected::in_order(outcomes);
        assert_eq!(collected.values, [0, 4]);
        assert_eq!(collected.failed, [(1, "lost"), (3, "panicked")]);

        let outcomes = [Ok(()), Err("lost"), Ok(())];
        let collected = Collected::as_completed(vec![4, 0], outcomes);
        assert_eq!(collected.values, [4, 0]);
        assert_eq!(collected.failed, [(1, "lost")]);
    }

    #[test]
    fn the_checksum_wraps_instead_of_overflowing() {
        let collected = Collected::<()>::in_order([Ok(u64::MAX), Ok(2), Ok(9)]);
        assert_eq!(collected.checksum(), 10);
    }
}
