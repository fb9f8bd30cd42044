//! What each thread of a run did, and when, for `--timeline` and `--trace`: each thread notes its
//! events in a buffer of its own (no lock or shared counter, the costs the stages compare), which
//! [`Recorder::finish`] collects into a [`Recording`]; [`Recorder::watched`] also shows them live.

mod timeline;
pub mod trace;

pub use timeline::{MOST_THREAD_ROWS, TIMELINE_WIDTH};
pub use trace::QUEUE_DEPTH;

use trace::{Phase, TraceEvent};

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::mem;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The most tasks a run records (ids from 0): a trace of at most about 41 MB, which viewers open.
pub const MAX_RECORDED_TASKS: usize = 100_000;

/// How long [`Recorder::finish`] waits for the threads' events: a stuck thread can't hang it.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(5);

/// How the tasks of a run got their threads, which decides what the timeline draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Shape {
    /// A thread per task (stage 01): no queue, and too many threads for a row each.
    ThreadPerTask,
    /// A pool of `workers` threads fed by a queue of at most `queue` tasks (`None`: no limit).
    Pool {
        /// How many worker threads the pool has: those that ran no task get an empty row too.
        workers: usize,
        /// The queue's capacity, if it has one.
        queue: Option<usize>,
    },
}

/// One task, as the thread that ran it recorded it. Times are from the start of the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpan {
    /// The task's number, from 0.
    pub id: usize,
    /// When the submitter handed the task to the pool (or, in stage 01, to a new thread).
    pub handed: Duration,
    /// When the task started on its thread.
    pub start: Duration,
    /// When it returned or panicked.
    pub end: Duration,
    /// Whether it panicked.
    pub panicked: bool,
}

/// What kept the submitter from handing task `id` over at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// A wait for a slot in the full queue, and nothing else (stage 03).
    ForSlot,
    /// A whole call to `submit`, which waits inside while the queue is full (stages 04 and 05).
    InSubmit,
}

/// A stretch of time the submitter spent getting one task into the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitSpan {
    /// The task it was for.
    pub id: usize,
    /// When the wait began, from the start of the recording.
    pub start: Duration,
    /// When the task was in the queue (or given up, under a timeout).
    pub end: Duration,
    /// What the span measures.
    pub kind: Waiting,
}

/// What one thread recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadRecord {
    /// The thread's name (`worker-0`, `task-7`, `main`), or `unnamed`.
    pub name: String,
    /// Whether this is the thread that submits the tasks: the one that made the recorder.
    pub submitter: bool,
    /// The tasks it ran, in the order it ran them.
    pub tasks: Vec<TaskSpan>,
    /// Its waits to hand tasks over: only the submitter has any.
    pub waits: Vec<WaitSpan>,
}

/// Everything a run recorded, as plain data: what the timeline draws and the trace holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// What the run was, for headings: `stage 03`.
    pub title: String,
    /// How its tasks got their threads.
    pub shape: Shape,
    /// How many tasks the run was asked to do, recorded or not.
    pub tasks: usize,
    /// Each thread that recorded something: the submitter first, then by name (`worker-2` before
    /// `worker-10`). Times start at 0, the moment the first task was handed over.
    pub threads: Vec<ThreadRecord>,
    /// Threads whose events (and tasks) were not handed over in time.
    pub missing_threads: usize,
}

impl Recording {
    /// The threads in order, the submitter first, with times counted from the run's first event.
    fn new(
        title: String,
        shape: Shape,
        tasks: usize,
        mut threads: Vec<ThreadRecord>,
        missing_threads: usize,
    ) -> Self {
        // Stable: threads of the same name stay in the order they handed their events over.
        threads.sort_by(|a, b| {
            let submitter_first = b.submitter.cmp(&a.submitter);
            submitter_first.then_with(|| name_order(&a.name).cmp(&name_order(&b.name)))
        });
        let all_tasks = threads.iter().flat_map(|thread| &thread.tasks);
        let all_waits = threads.iter().flat_map(|thread| &thread.waits);
        let starts = all_tasks.map(|task| task.handed.min(task.start));
        let first = starts.chain(all_waits.map(|wait| wait.start)).min();
        let first = first.unwrap_or_default();
        for thread in &mut threads {
            let (tasks, waits) = (thread.tasks.iter_mut(), thread.waits.iter_mut());
            let tasks = tasks.flat_map(|t| [&mut t.handed, &mut t.start, &mut t.end]);
            let waits = waits.flat_map(|w| [&mut w.start, &mut w.end]);
            for time in tasks.chain(waits) {
                *time -= first;
            }
        }
        Recording {
            title,
            shape,
            tasks,
            threads,
            missing_threads,
        }
    }

    /// The thread that submitted the tasks, if it recorded anything.
    pub fn submitter(&self) -> Option<&ThreadRecord> {
        self.threads.iter().find(|thread| thread.submitter)
    }

    /// The threads other than the submitter: the workers, or stage 01's thread per task.
    pub fn workers(&self) -> impl Iterator<Item = &ThreadRecord> {
        self.threads.iter().filter(|thread| !thread.submitter)
    }

    /// Every task recorded, whichever thread ran it.
    pub fn all_tasks(&self) -> impl Iterator<Item = &TaskSpan> {
        self.threads.iter().flat_map(|thread| &thread.tasks)
    }

    /// How many tasks were recorded.
    pub fn recorded_tasks(&self) -> usize {
        self.threads.iter().map(|thread| thread.tasks.len()).sum()
    }

    /// The moment the last recorded event ended.
    pub fn end(&self) -> Duration {
        let waits = self.threads.iter().flat_map(|thread| &thread.waits);
        let ends = self.all_tasks().map(|task| task.end);
        let ends = ends.chain(waits.map(|wait| wait.end));
        ends.max().unwrap_or_default()
    }

    /// How many recorded tasks waited in the queue over time, as [`count_over_time`] steps (none
    /// for a thread per task): each from its hand-over, or the end of the wait for it, until it
    /// starts; capped at the capacity, as each worker can leave one counted too long.
    pub fn queue_depth(&self) -> Vec<(Duration, usize)> {
        let capacity = match self.shape {
            Shape::ThreadPerTask => return Vec::new(),
            Shape::Pool { queue, .. } => queue.unwrap_or(usize::MAX),
        };
        let waits = self.threads.iter().flat_map(|thread| &thread.waits);
        let queued_at: HashMap<usize, Duration> = waits.map(|wait| (wait.id, wait.end)).collect();
        let in_queue = self.workers().flat_map(|thread| &thread.tasks).map(|task| {
            let entered = queued_at.get(&task.id).copied().unwrap_or_default();
            (entered.max(task.handed), task.start)
        });
        let steps = count_over_time(in_queue).into_iter();
        let mut steps: Vec<_> = steps.map(|(at, depth)| (at, depth.min(capacity))).collect();
        // Capped, two steps in a row can hold the same depth: the second changes nothing.
        steps.dedup_by_key(|(_, depth)| *depth);
        steps
    }
}

/// How many of `intervals` (empty ones left out) are open over time, as `(time, count)` steps.
pub fn count_over_time(
    intervals: impl Iterator<Item = (Duration, Duration)>,
) -> Vec<(Duration, usize)> {
    // Each interval opens (+1) and closes (-1). By time, then closes first: an interval that
    // closes as another opens is never counted with it.
    let mut changes: Vec<(Duration, isize)> = intervals
        .filter(|(open, close)| open < close)
        .flat_map(|(open, close)| [(open, 1), (close, -1)])
        .collect();
    changes.sort_unstable();
    let mut steps: Vec<(Duration, usize)> = Vec::new();
    let mut count = 0_usize;
    for (at, change) in changes {
        count = count.saturating_add_signed(change);
        match steps.last_mut() {
            // Several changes at one moment make one step.
            Some((last, last_count)) if *last == at => *last_count = count,
            _ => steps.push((at, count)),
        }
    }
    steps
}

/// The key that sorts `worker-2` before `worker-10`: the name's prefix, then its trailing number.
pub fn name_order(name: &str) -> (&str, u64) {
    let prefix = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let number = name[prefix.len()..].parse().unwrap_or(0);
    (prefix, number)
}

/// Collects a run's events from every thread into a [`Recording`]; made on the submitting thread.
#[derive(Debug)]
pub struct Recorder {
    /// Event times are noted relative to this moment, when the recorder was made.
    origin: Instant,
    /// The thread that made the recorder, and submits the tasks.
    submitter: ThreadId,
    collector: Arc<Collector>,
    described: OnceLock<(String, Shape)>,
    live: Option<Live>,
}

/// Receives each event of a [`Recorder::watched`] recording on its thread: quick, never panicking.
pub type Watcher = Arc<dyn Fn(TraceEvent<'static>) + Send + Sync>;

/// What a recorder that is watched adds: the watcher, and the live thread ids it hands out.
struct Live {
    /// `AssertUnwindSafe` keeps a recorder `RefUnwindSafe`: it holds no state a panic could break.
    watcher: AssertUnwindSafe<Watcher>,
    next_tid: AtomicUsize,
}

// By hand: a closure has no `Debug`.
impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Live {{ next_tid: {:?}, .. }}", self.next_tid)
    }
}

/// Where the threads' buffers end up.
#[derive(Debug, Default)]
struct Collector {
    state: Mutex<Collected>,
    /// Signalled each time a thread hands its buffer over.
    handed_over: Condvar,
}

#[derive(Debug, Default)]
struct Collected {
    /// Whether [`Recorder::finish`] has been called: it takes the buffers only once.
    finished: bool,
    /// How many threads have started a buffer.
    counted: usize,
    threads: Vec<ThreadRecord>,
}

impl Collector {
    /// The lock, even if poisoned: a panic cannot leave the lists half-updated.
    fn lock(&self) -> MutexGuard<'_, Collected> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The events of one thread, on their way to one recorder. Handed over when dropped: when its
/// thread ends, or when the thread starts recording for another recorder.
struct ThreadBuffer {
    collector: Arc<Collector>,
    record: ThreadRecord,
    /// The thread's id in a live recording's events; 0 when the recorder is not watched.
    live_tid: usize,
}

impl ThreadBuffer {
    /// Starts the current thread's buffer, counts the thread in, and names it to any watcher.
    fn start(recorder: &Recorder) -> Self {
        let collector = &recorder.collector;
        collector.lock().counted += 1;
        let thread = thread::current();
        let record = ThreadRecord {
            name: thread.name().unwrap_or("unnamed").to_string(),
            submitter: thread.id() == recorder.submitter,
            ..ThreadRecord::default()
        };
        let live_tid = recorder.live.as_ref().map_or(0, |live| {
            let tid = live.next_tid.fetch_add(1, Ordering::Relaxed);
            let name = TraceEvent::thread_name(tid, record.name.clone(), record.submitter);
            (live.watcher)(name);
            tid
        });
        ThreadBuffer {
            collector: Arc::clone(collector),
            record,
            live_tid,
        }
    }
}

impl Drop for ThreadBuffer {
    fn drop(&mut self) {
        let record = mem::take(&mut self.record);
        self.collector.lock().threads.push(record);
        self.collector.handed_over.notify_all();
    }
}

thread_local! {
    /// The current thread's events, if it has recorded any.
    static BUFFER: RefCell<Option<ThreadBuffer>> = const { RefCell::new(None) };
}

impl Recorder {
    /// Starts a recording, on the thread that will submit the tasks.
    pub(crate) fn new() -> Self {
        Recorder {
            origin: Instant::now(),
            submitter: thread::current().id(),
            collector: Arc::default(),
            described: OnceLock::new(),
            live: None,
        }
    }

    /// Starts a recording that also shows `watcher` each event live, timed from its origin: a
    /// thread's name (`M`, a live id from 1), a task's `B`, `i` (panic) and `E`, each wait (`X`).
    pub fn watched(watcher: Watcher) -> Self {
        Recorder {
            live: Some(Live {
                watcher: AssertUnwindSafe(watcher),
                next_tid: AtomicUsize::new(1),
            }),
            ..Recorder::new()
        }
    }

    /// The moment the recorder was made, which its live events are timed from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Notes the run's `title` (`stage 03`) and shape, for headings; the first description counts.
    pub fn describe(&self, title: String, shape: Shape) {
        let _ = self.described.set((title, shape));
    }

    /// The moment task `id` is handed over, if it is one of the tasks recorded.
    pub(crate) fn handed_over(&self, id: usize) -> Option<Instant> {
        (id < MAX_RECORDED_TASKS).then(Instant::now)
    }

    /// Starts recording task `id`, handed over at `handed`, on the current thread: the guard
    /// records the task when dropped, or when [`TaskRecording::end`] ends it.
    pub(crate) fn start_task(&self, id: usize, handed: Instant) -> TaskRecording<'_> {
        let task = TaskRecording {
            recorder: self,
            id,
            handed,
            start: Instant::now(),
        };
        self.show(|tid| TraceEvent::task(Phase::Begin, tid, &task.span(task.start, false)));
        task
    }

    /// Records that the submitter spent `start` to `end` getting task `id` into the queue.
    pub fn waited(&self, id: usize, start: Instant, end: Instant, kind: Waiting) {
        if id < MAX_RECORDED_TASKS {
            let wait = WaitSpan {
                id,
                start: self.since_origin(start),
                end: self.since_origin(end),
                kind,
            };
            self.show(|tid| TraceEvent::wait(tid, &wait));
            self.with_thread(|buffer| buffer.record.waits.push(wait));
        }
    }

    /// Collects every thread's events into the recording of a run of `tasks` tasks, once they have
    /// ended, on the thread that made the recorder; a second call returns one with no threads.
    pub fn finish(&self, tasks: usize) -> Recording {
        debug_assert_eq!(
            thread::current().id(),
            self.submitter,
            "a recording is finished on the thread that made its recorder"
        );
        let (title, shape) = self.described.get().cloned().unwrap_or_else(|| {
            let shape = Shape::Pool {
                workers: 0,
                queue: None,
            };
            ("a run".to_string(), shape)
        });
        if mem::replace(&mut self.collector.lock().finished, true) {
            return Recording::new(title, shape, tasks, Vec::new(), 0);
        }
        // This thread is still running, so its buffer is handed over here, by dropping it.
        let _ = BUFFER.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.as_ref().is_some_and(|buffer| self.owns(buffer)) {
                *slot = None;
            }
        });
        let collector = &self.collector;
        let (mut state, _) = collector
            .handed_over
            .wait_timeout_while(collector.lock(), HAND_OVER_TIMEOUT, |state| {
                state.threads.len() < state.counted
            })
            .unwrap_or_else(PoisonError::into_inner);
        let missing = state.counted - state.threads.len();
        let threads = mem::take(&mut state.threads);
        drop(state);
        Recording::new(title, shape, tasks, threads, missing)
    }

    fn since_origin(&self, moment: Instant) -> Duration {
        moment.saturating_duration_since(self.origin)
    }

    fn owns(&self, buffer: &ThreadBuffer) -> bool {
        Arc::ptr_eq(&buffer.collector, &self.collector)
    }

    /// Runs `f` on the current thread's buffer, started if need be; `None` if the thread is ending.
    fn with_thread<R>(&self, f: impl FnOnce(&mut ThreadBuffer) -> R) -> Option<R> {
        // `try_with`: a thread whose thread-locals are already being torn down records nothing.
        BUFFER
            .try_with(|slot| {
                let mut slot = slot.borrow_mut();
                let buffer = match slot.as_mut() {
                    Some(buffer) if self.owns(buffer) => buffer,
                    // The first event for this recorder: another recorder's buffer is handed over.
                    _ => slot.insert(ThreadBuffer::start(self)),
                };
                f(buffer)
            })
            .ok()
    }

    /// Shows any watcher the `event` of the current thread's live id; unwatched, does nothing.
    fn show(&self, event: impl FnOnce(usize) -> TraceEvent<'static>) {
        let Some(live) = &self.live else {
            return;
        };
        // The watcher is called after the borrow, so that it could record something itself.
        if let Some(tid) = self.with_thread(|buffer| buffer.live_tid) {
            (live.watcher)(event(tid));
        }
    }
}

/// A task being recorded: see [`Recorder::start_task`].
pub(crate) struct TaskRecording<'a> {
    recorder: &'a Recorder,
    id: usize,
    handed: Instant,
    start: Instant,
}

impl TaskRecording<'_> {
    /// Records the task as ending now, `panicked` or not: right before a planned `panic!`, whose
    /// hook runs before unwinding drops the guard, and can take far longer than the task.
    pub fn end(self, panicked: bool) {
        self.record(panicked);
        // Skips `Drop`, which would record the task again; the guard holds nothing to drop.
        mem::forget(self);
    }

    fn span(&self, end: Instant, panicked: bool) -> TaskSpan {
        let since = |moment| self.recorder.since_origin(moment);
        TaskSpan {
            id: self.id,
            handed: since(self.handed),
            start: since(self.start),
            end: since(end),
            panicked,
        }
    }

    fn record(&self, panicked: bool) {
        let (recorder, task) = (self.recorder, self.span(Instant::now(), panicked));
        if panicked {
            recorder.show(|tid| TraceEvent::panic(tid, task.id, task.end));
        }
        recorder.show(|tid| TraceEvent::task(Phase::End, tid, &task));
        recorder.with_thread(|buffer| buffer.record.tasks.push(task));
    }
}

impl Drop for TaskRecording<'_> {
    fn drop(&mut self) {
        // Dropped while unwinding: the task panicked, and its end includes the panic hook's time.
        self.record(thread::panicking());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Microseconds: the unit of the fixtures, here and in `record`'s other tests.
    pub(crate) fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// A task handed over at `handed`, run from `start` to `end`, in microseconds.
    pub(crate) fn task(id: usize, handed: u64, start: u64, end: u64) -> TaskSpan {
        TaskSpan {
            id,
            handed: us(handed),
            start: us(start),
            end: us(end),
            panicked: false,
        }
    }

    pub(crate) fn thread(name: &str, tasks: Vec<TaskSpan>) -> ThreadRecord {
        ThreadRecord {
            name: name.to_string(),
            tasks,
            ..ThreadRecord::default()
        }
    }

    /// A worker that ran tasks of 10 ms back to back from 0: each `(id, handed)`, in microseconds.
    pub(crate) fn busy(name: &str, tasks: &[(usize, u64)]) -> ThreadRecord {
        let slots = tasks.iter().zip(0..);
        let tasks =
            slots.map(|(&(id, handed), slot)| task(id, handed, slot * 10_000, (slot + 1) * 10_000));
        thread(name, tasks.collect())
    }

    pub(crate) fn submitter(tasks: Vec<TaskSpan>, waits: Vec<WaitSpan>) -> ThreadRecord {
        ThreadRecord {
            submitter: true,
            waits,
            ..thread("main", tasks)
        }
    }

    /// A wait for a queue slot from `start` to `end`, in microseconds.
    pub(crate) fn wait(id: usize, start: u64, end: u64) -> WaitSpan {
        WaitSpan {
            id,
            start: us(start),
            end: us(end),
            kind: Waiting::ForSlot,
        }
    }

    /// Stage 03, with a queue of `queue`, the workers among `threads`, and every task recorded.
    pub(crate) fn pool(queue: usize, threads: Vec<ThreadRecord>) -> Recording {
        Recording {
            title: "stage 03".to_string(),
            shape: Shape::Pool {
                workers: threads.iter().filter(|thread| !thread.submitter).count(),
                queue: Some(queue),
            },
            tasks: threads.iter().map(|thread| thread.tasks.len()).sum(),
            threads,
            missing_threads: 0,
        }
    }

    #[test]
    fn events_from_several_threads_come_back_in_order_and_only_once() {
        let recorder = Recorder::new();
        recorder.describe("test".to_string(), Shape::ThreadPerTask);
        // The threads hand their events over as they end, which `finish` waits for.
        thread::scope(|scope| {
            for n in [10, 2] {
                let handed = recorder.handed_over(n).unwrap();
                let worker = thread::Builder::new().name(format!("worker-{n}"));
                let recorder = &recorder;
                worker
                    .spawn_scoped(scope, move || drop(recorder.start_task(n, handed)))
                    .unwrap();
            }
        });
        let before = Instant::now();
        recorder.waited(7, before, Instant::now(), Waiting::ForSlot);
        let recording = recorder.finish(11);
        let names: Vec<&str> = recording.threads.iter().map(|t| t.name.as_str()).collect();
        let main = thread::current();
        assert_eq!(names, [main.name().unwrap(), "worker-2", "worker-10"]);
        assert_eq!(
            (&*recording.title, recording.shape),
            ("test", Shape::ThreadPerTask)
        );
        assert!(recording.threads[0].submitter);
        assert_eq!(recording.threads[0].waits[0].id, 7);
        assert_eq!(recording.threads[2].tasks[0].id, 10);
        assert_eq!(recording.missing_threads, 0);
        assert_eq!((recording.tasks, recording.recorded_tasks()), (11, 2));
        // Times start at the first event.
        let first = recording.all_tasks().map(|t| t.handed).min();
        assert_eq!(first, Some(Duration::ZERO));
        // A second `finish` returns at once, with nothing.
        let before = Instant::now();
        let again = recorder.finish(11);
        assert!(before.elapsed() < HAND_OVER_TIMEOUT / 2);
        assert_eq!((again.threads.len(), again.missing_threads), (0, 0));
    }

    #[test]
    fn a_task_that_panics_is_recorded_once_as_panicked() {
        let recorder = Recorder::new();
        // Task 0 is recorded as its panic unwinds; task 1 ends its recording before it panics.
        for (id, ended_first) in [(0, false), (1, true)] {
            let handed = recorder.handed_over(id).unwrap();
            let outcome = std::panic::catch_unwind(|| {
                let recording = recorder.start_task(id, handed);
                if ended_first {
                    recording.end(true);
                }
                panic!("on purpose");
            });
            assert!(outcome.is_err());
        }
        recorder.start_task(2, Instant::now()).end(false);
        let recording = recorder.finish(3);
        let ended: Vec<_> = recording.all_tasks().map(|t| (t.id, t.panicked)).collect();
        assert_eq!(ended, [(0, true), (1, true), (2, false)]);
    }

    #[test]
    fn a_watched_recorder_shows_each_event_as_it_happens() {
        let (sender, seen) = mpsc::channel();
        let recorder = Recorder::watched(Arc::new(move |event| sender.send(event).unwrap()));
        let handed = recorder.handed_over(0).unwrap();
        thread::scope(|scope| {
            let worker = thread::Builder::new().name("worker-0".to_string());
            let run = || {
                drop(recorder.start_task(0, handed));
                recorder.start_task(1, handed).end(true);
            };
            worker.spawn_scoped(scope, run).unwrap();
        });
        recorder.waited(2, handed, Instant::now(), Waiting::ForSlot);
        let events: Vec<_> = seen.try_iter().collect();
        let shown: Vec<_> = events.iter().map(|e| (e.tid, e.ph, &*e.name)).collect();
        assert_eq!(
            shown,
            [
                (1, Phase::Metadata, "thread_name"),
                (1, Phase::Begin, "task 0"),
                (1, Phase::End, "task 0"),
                (1, Phase::Begin, "task 1"),
                (1, Phase::Instant, "task 1 panicked"),
                (1, Phase::End, "task 1"),
                (2, Phase::Metadata, "thread_name"),
                (2, Phase::Complete, "wait for a queue slot"),
            ]
        );
        // The recording is the same as an unwatched recorder's.
        let recording = recorder.finish(3);
        let counts = (recording.recorded_tasks(), recording.threads.len());
        assert_eq!(counts, (2, 2));
        assert!(recording.submitter().is_some_and(|s| s.waits.len() == 1));
    }

    #[test]
    fn tasks_beyond_the_limit_are_not_recorded() {
        let recorder = Recorder::new();
        assert!(recorder.handed_over(MAX_RECORDED_TASKS).is_none());
        let now = Instant::now();
        recorder.waited(MAX_RECORDED_TASKS, now, now, Waiting::InSubmit);
        assert!(recorder.finish(1).threads.is_empty());
    }

    #[test]
    fn the_queue_holds_each_task_from_its_hand_over_or_wait_until_it_starts() {
        // Task 3 ran on the submitter: never queued.
        let submitter = submitter(vec![task(3, 5_000, 5_000, 15_000)], vec![wait(2, 0, 4_000)]);
        let worker = busy("worker-0", &[(0, 0), (1, 0), (2, 0)]);
        let recording = pool(1, vec![submitter, worker]);
        // Task 1 waits from 0 to 10, task 2 from the end of its wait (4) to 20; the count of two
        // from 4 to 10 is capped at the capacity of 1, which leaves one step from 0 to 20.
        assert_eq!(recording.queue_depth(), [(us(0), 1), (us(20_000), 0)]);
    }

    #[test]
    fn counts_close_before_they_open_at_the_same_moment() {
        let steps = count_over_time([(us(0), us(5)), (us(5), us(9)), (us(7), us(7))].into_iter());
        assert_eq!(steps, [(us(0), 1), (us(5), 1), (us(9), 0)]);
    }

    #[test]
    fn names_sort_by_their_number() {
        let mut names = ["worker-10", "worker-2", "main", "worker-1"];
        names.sort_by_key(|name| name_order(name));
        assert_eq!(names, ["main", "worker-1", "worker-2", "worker-10"]);
    }
}
