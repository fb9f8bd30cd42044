//! A run's trace in the Chrome Trace Event Format, which the Perfetto UI and `chrome://tracing`
//! open (<https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU>).
//! An event's meaning is in its phase and arguments ([`TraceEvent::meaning`]), not in its name,
//! a label for people; only a wait's kind is read from its label.

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Serialize, Serializer};

use super::{Recording, Shape, TaskSpan, ThreadRecord, WaitSpan, Waiting};

/// The one process of the trace: the demo.
const PID: u32 = 1;

/// The name of the counter of tasks waiting in the queue.
pub const QUEUE_DEPTH: &str = "queue depth";

/// The trace file, around the events: an [`EventList`] when written, a `Vec` when read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceFile<E> {
    /// How the viewer shows times; the events' own unit is always the microsecond.
    #[serde(rename = "displayTimeUnit")]
    display_time_unit: Cow<'static, str>,
    #[serde(rename = "traceEvents")]
    trace_events: E,
}

/// The events of a recording, written one by one as they are made, never all in memory at once.
struct EventList<'a>(&'a Recording);

impl Serialize for EventList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.trace_events())
    }
}

/// One event of the trace. The fields a phase does not use are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceEvent<'a> {
    /// A label for people: `task 7`, `wait for a queue slot`, `thread_name`.
    pub name: Cow<'a, str>,
    /// What kind of event this is.
    pub ph: Phase,
    /// The process: always the demo's.
    pub pid: u32,
    /// The thread: its place in the recording, from 1; 0 for the process's own events.
    pub tid: usize,
    /// When it happened, or began: microseconds from the start of the recording.
    pub ts: f64,
    /// How long a span (`X`) lasted, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dur: Option<f64>,
    /// The scope of an instant (`i`): its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<Scope>,
    /// What the event carries besides its time and place: see [`TraceEvent::meaning`].
    pub(crate) args: EventArgs<'a>,
}

/// The phase of a [`TraceEvent`]: the ones this trace uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// `M`: names a process or a thread, or places a thread's track.
    #[serde(rename = "M")]
    Metadata,
    /// `X`: a span of time on a thread.
    #[serde(rename = "X")]
    Complete,
    /// `i`: a moment on a thread.
    #[serde(rename = "i")]
    Instant,
    /// `C`: a counter's value from this moment on.
    #[serde(rename = "C")]
    Counter,
    /// `B`: a span begins, until the thread's next `E`; sent live only (a file has whole `X`s).
    #[serde(rename = "B")]
    Begin,
    /// `E`: the span that the last `B` on the thread began ends here. Live only, like `B`.
    #[serde(rename = "E")]
    End,
}

/// The scope of an instant event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// `t`: it happened on its thread.
    #[serde(rename = "t")]
    Thread,
}

/// What an event carries besides its time and place. Untagged: variants are tried in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub(crate) enum EventArgs<'a> {
    /// The process's name (`M`), and the rest of what its [`Recording`] says about the run.
    Run {
        name: Cow<'a, str>,
        shape: Shape,
        tasks: usize,
        missing_threads: usize,
    },
    /// A thread's name (`M`), and whether it submits the tasks (only then written).
    Name {
        name: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        submitter: bool,
    },
    /// Where a thread's track goes among the others (`M`), from 1.
    SortIndex { sort_index: usize },
    /// A task's span (`X`), and its wait from being handed over to starting.
    Task {
        task: usize,
        waited_to_start_us: f64,
    },
    /// A submitter's wait (`X`), or a panic (`i`): which task.
    ForTask { task: usize },
    /// A counter's value (`C`).
    Count { tasks: usize },
}

/// What a [`TraceEvent`] stands for, from its phase and arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meaning<'e> {
    /// The name of the process (thread 0) or of a thread.
    Name {
        /// The name.
        name: &'e str,
        /// Whether the thread submits the tasks.
        submitter: bool,
    },
    /// Task `task` ran on the event's thread for the event's span.
    Task(usize),
    /// The submitter spent the event's span getting task `task` into the queue.
    Wait(usize),
    /// Task `task` panicked at the event's time.
    Panic(usize),
    /// The counter named after the event held `tasks` from the event's time on.
    Count(usize),
    /// Nothing a reader of the trace needs: where a track goes.
    Layout,
}

impl TraceEvent<'_> {
    /// What the event stands for.
    pub fn meaning(&self) -> Meaning<'_> {
        match (&self.args, self.ph) {
            (EventArgs::Run { name, .. }, _) => Meaning::Name {
                name,
                submitter: false,
            },
            (EventArgs::Name { name, submitter }, _) => Meaning::Name {
                name,
                submitter: *submitter,
            },
            (EventArgs::Task { task, .. }, _) => Meaning::Task(*task),
            (EventArgs::ForTask { task }, Phase::Instant) => Meaning::Panic(*task),
            (EventArgs::ForTask { task }, _) => Meaning::Wait(*task),
            (EventArgs::Count { tasks }, _) => Meaning::Count(*tasks),
            (EventArgs::SortIndex { .. }, _) => Meaning::Layout,
        }
    }
}

/// Reads the events of a trace [`Recording::write_trace`] wrote; other events or keys are errors.
pub fn read(json: &str) -> serde_json::Result<Vec<TraceEvent<'static>>> {
    let file: TraceFile<Vec<TraceEvent<'static>>> = serde_json::from_str(json)?;
    Ok(file.trace_events)
}

impl Recording {
    /// Writes the recording as a trace: the process, named after the run; a track per thread,
    /// the submitter's first, with a span (`X`) per task and wait and an instant (`i`) per panic;
    /// for a pool, [`QUEUE_DEPTH`]. Pass a [`BufWriter`](std::io::BufWriter), flushed after.
    pub fn write_trace(&self, writer: impl Write) -> io::Result<()> {
        let file = TraceFile {
            display_time_unit: "ms".into(),
            trace_events: EventList(self),
        };
        serde_json::to_writer(writer, &file)?;
        Ok(())
    }

    /// Reads back the recording that [`Recording::write_trace`] wrote as `json`. Besides what
    /// [`read`] refuses, a live event, an event on a thread not named before it, a panic of no
    /// task of its thread, or a queue depth other than its tasks give is an error.
    pub fn read_trace(json: &str) -> serde_json::Result<Recording> {
        let events = read(json)?;
        let process = events.first().map(|event| &event.args);
        let Some(EventArgs::Run {
            name,
            shape,
            tasks,
            missing_threads,
        }) = process
        else {
            return Err(serde_json::Error::custom("no process first"));
        };
        let mut recording = Recording {
            title: name.to_string(),
            shape: *shape,
            tasks: *tasks,
            threads: Vec::new(),
            missing_threads: *missing_threads,
        };
        let mut depths = Vec::new();
        for event in &events[1..] {
            let unexpected = || serde_json::Error::custom(format!("unexpected event: {event:?}"));
            let threads = &mut recording.threads;
            let named_next = event.tid == threads.len() + 1;
            let start = from_micros(event.ts);
            let end = start + from_micros(event.dur.unwrap_or(0.0));
            let thread = event.tid.checked_sub(1).and_then(|at| threads.get_mut(at));
            match (event.ph, &event.args, thread) {
                (Phase::Metadata, EventArgs::Name { name, submitter }, None) if named_next => {
                    threads.push(ThreadRecord {
                        name: name.to_string(),
                        submitter: *submitter,
                        ..ThreadRecord::default()
                    });
                }
                (Phase::Counter, &EventArgs::Count { tasks }, None)
                    if event.tid == 0 && event.name == QUEUE_DEPTH =>
                {
                    depths.push((start, tasks));
                }
                (Phase::Metadata, EventArgs::SortIndex { .. }, Some(_)) => {}
                (
                    Phase::Complete,
                    &EventArgs::Task {
                        task,
                        waited_to_start_us,
                    },
                    Some(thread),
                ) => {
                    thread.tasks.push(TaskSpan {
                        id: task,
                        handed: start.saturating_sub(from_micros(waited_to_start_us)),
                        start,
                        end,
                        panicked: false,
                    });
                }
                (Phase::Complete, &EventArgs::ForTask { task }, Some(thread)) => {
                    let kinds = [Waiting::ForSlot, Waiting::InSubmit];
                    let kind = kinds.into_iter().find(|kind| kind.label() == event.name);
                    let kind = kind.ok_or_else(unexpected)?;
                    thread.waits.push(WaitSpan {
                        id: task,
                        start,
                        end,
                        kind,
                    });
                }
                (Phase::Instant, &EventArgs::ForTask { task }, Some(thread)) => {
                    let ended = thread.tasks.iter_mut().rfind(|ended| ended.id == task);
                    ended.ok_or_else(unexpected)?.panicked = true;
                }
                _ => return Err(unexpected()),
            }
        }
        if depths != recording.queue_depth() {
            let error = format!("a queue depth other than its tasks': {depths:?}");
            return Err(serde_json::Error::custom(error));
        }
        Ok(recording)
    }

    /// The events of the trace, in the order they are written.
    fn trace_events(&self) -> impl Iterator<Item = TraceEvent<'static>> {
        let run = EventArgs::Run {
            name: self.title.clone().into(),
            shape: self.shape,
            tasks: self.tasks,
            missing_threads: self.missing_threads,
        };
        let process = TraceEvent::metadata("process_name", 0, run);
        // Thread ids are places in the recording, from 1; `thread_sort_index` keeps that order.
        let threads = self.threads.iter().zip(1..).flat_map(|(thread, tid)| {
            let sort_index = EventArgs::SortIndex { sort_index: tid };
            let named = [
                TraceEvent::thread_name(tid, thread.name.clone(), thread.submitter),
                TraceEvent::metadata("thread_sort_index", tid, sort_index),
            ];
            let tasks = thread.tasks.iter().flat_map(move |task| {
                let span = TraceEvent::task(Phase::Complete, tid, task);
                let panic = task.panicked;
                let panic = panic.then(|| TraceEvent::panic(tid, task.id, task.end));
                [Some(span), panic].into_iter().flatten()
            });
            let waits = thread.waits.iter();
            let waits = waits.map(move |wait| TraceEvent::wait(tid, wait));
            named.into_iter().chain(tasks).chain(waits)
        });
        // A thread per task has no queue, and no depth.
        let counter = self.queue_depth().into_iter();
        let counter = counter.map(|(at, tasks)| TraceEvent::counter(QUEUE_DEPTH, at, tasks));
        std::iter::once(process).chain(threads).chain(counter)
    }
}

/// The events a [`Recording`] is written as, which a live recording also sends as they happen.
impl TraceEvent<'static> {
    fn new(
        name: impl Into<Cow<'static, str>>,
        ph: Phase,
        tid: usize,
        ts: Duration,
        args: EventArgs<'static>,
    ) -> Self {
        TraceEvent {
            name: name.into(),
            ph,
            pid: PID,
            tid,
            ts: micros(ts),
            dur: None,
            s: None,
            args,
        }
    }

    /// A metadata event (`M`) on thread `tid`: a name or a place.
    fn metadata(name: &'static str, tid: usize, args: EventArgs<'static>) -> Self {
        TraceEvent::new(name, Phase::Metadata, tid, Duration::ZERO, args)
    }

    /// A counter (`C`) of the process (thread 0), such as [`QUEUE_DEPTH`], at `tasks` from `at`.
    pub fn counter(name: impl Into<Cow<'static, str>>, at: Duration, tasks: usize) -> Self {
        TraceEvent::new(name, Phase::Counter, 0, at, EventArgs::Count { tasks })
    }

    /// Names thread `tid` (`M`).
    pub(super) fn thread_name(tid: usize, name: String, submitter: bool) -> Self {
        let name = name.into();
        TraceEvent::metadata("thread_name", tid, EventArgs::Name { name, submitter })
    }

    /// `task` on thread `tid`: its span (`X`), or live, as it begins (`B`) or ends (`E`).
    pub(super) fn task(ph: Phase, tid: usize, task: &TaskSpan) -> Self {
        let waited_to_start_us = micros(task.start.saturating_sub(task.handed));
        let args = EventArgs::Task {
            task: task.id,
            waited_to_start_us,
        };
        let at = if ph == Phase::End {
            task.end
        } else {
            task.start
        };
        let span = (ph == Phase::Complete).then(|| micros(task.end.saturating_sub(task.start)));
        TraceEvent {
            dur: span,
            ..TraceEvent::new(format!("task {}", task.id), ph, tid, at, args)
        }
    }

    /// Task `task` panicked at `at` on thread `tid` (`i`).
    pub(super) fn panic(tid: usize, task: usize, at: Duration) -> Self {
        let name = format!("task {task} panicked");
        TraceEvent {
            s: Some(Scope::Thread),
            ..TraceEvent::new(name, Phase::Instant, tid, at, EventArgs::ForTask { task })
        }
    }

    /// The submitter's `wait`, on its thread `tid` (`X`); sent live as the wait ends.
    pub(super) fn wait(tid: usize, wait: &WaitSpan) -> Self {
        let args = EventArgs::ForTask { task: wait.id };
        TraceEvent {
            dur: Some(micros(wait.end.saturating_sub(wait.start))),
            ..TraceEvent::new(wait.kind.label(), Phase::Complete, tid, wait.start, args)
        }
    }
}

impl Waiting {
    /// The label of a submitter's wait of this kind, in the trace and in the timelines' legends.
    pub fn label(self) -> &'static str {
        match self {
            Waiting::ForSlot => "wait for a queue slot",
            Waiting::InSubmit => "submit (waits while the queue is full)",
        }
    }
}

/// Microseconds, the trace's unit, to the nanosecond.
fn micros(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1_000.0
}

fn from_micros(micros: f64) -> Duration {
    Duration::from_nanos((micros * 1_000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{pool, submitter, task, thread, wait};
    use super::*;

    /// Stage 03: a worker whose second task panics, and a submitter that waits once and runs one.
    fn recording() -> Recording {
        let mut worker = thread("worker-0", vec![task(0, 0, 0, 10), task(1, 0, 10, 20)]);
        worker.tasks[1].panicked = true;
        let submitter = submitter(vec![task(2, 0, 1, 11)], vec![wait(1, 0, 1)]);
        pool(1, vec![submitter, worker])
    }

    fn written(recording: &Recording) -> String {
        let mut json = Vec::new();
        recording.write_trace(&mut json).unwrap();
        String::from_utf8(json).unwrap()
    }

    #[test]
    fn the_trace_names_every_track_and_holds_spans_panics_and_the_queue_depth() {
        // In microseconds: task 1 waited in the queue from the end of the wait (1) to 10.
        let events = [
            r#"{"name":"process_name","ph":"M","pid":1,"tid":0,"ts":0.0,"args":{"name":"stage 03","shape":{"pool":{"workers":1,"queue":1}},"tasks":3,"missing_threads":0}}"#,
            r#"{"name":"thread_name","ph":"M","pid":1,"tid":1,"ts":0.0,"args":{"name":"main","submitter":true}}"#,
            r#"{"name":"thread_sort_index","ph":"M","pid":1,"tid":1,"ts":0.0,"args":{"sort_index":1}}"#,
            r#"{"name":"task 2","ph":"X","pid":1,"tid":1,"ts":1.0,"dur":10.0,"args":{"task":2,"waited_to_start_us":1.0}}"#,
            r#"{"name":"wait for a queue slot","ph":"X","pid":1,"tid":1,"ts":0.0,"dur":1.0,"args":{"task":1}}"#,
            r#"{"name":"thread_name","ph":"M","pid":1,"tid":2,"ts":0.0,"args":{"name":"worker-0"}}"#,
            r#"{"name":"thread_sort_index","ph":"M","pid":1,"tid":2,"ts":0.0,"args":{"sort_index":2}}"#,
            r#"{"name":"task 0","ph":"X","pid":1,"tid":2,"ts":0.0,"dur":10.0,"args":{"task":0,"waited_to_start_us":0.0}}"#,
            r#"{"name":"task 1","ph":"X","pid":1,"tid":2,"ts":10.0,"dur":10.0,"args":{"task":1,"waited_to_start_us":10.0}}"#,
            r#"{"name":"task 1 panicked","ph":"i","pid":1,"tid":2,"ts":20.0,"s":"t","args":{"task":1}}"#,
            r#"{"name":"queue depth","ph":"C","pid":1,"tid":0,"ts":1.0,"args":{"tasks":1}}"#,
            r#"{"name":"queue depth","ph":"C","pid":1,"tid":0,"ts":10.0,"args":{"tasks":0}}"#,
        ];
        let events = events.join(",");
        let expected = format!(r#"{{"displayTimeUnit":"ms","traceEvents":[{events}]}}"#);
        assert_eq!(written(&recording()), expected);
    }

    #[test]
    fn a_trace_reads_back_into_the_recording_it_was_written_from() {
        let mut thread_per_task = recording();
        thread_per_task.shape = Shape::ThreadPerTask;
        thread_per_task.threads[0].waits[0].kind = Waiting::InSubmit;
        thread_per_task.missing_threads = 2;
        for recording in [recording(), thread_per_task] {
            let json = written(&recording);
            assert_eq!(Recording::read_trace(&json).unwrap(), recording);
            // A thread per task has no queue, and no depth.
            let pool = recording.shape != Shape::ThreadPerTask;
            assert_eq!(json.contains(QUEUE_DEPTH), pool);
        }
        let events = read(&written(&recording())).unwrap();
        let meanings = events.iter().map(TraceEvent::meaning);
        let meanings: Vec<_> = meanings.filter(|m| *m != Meaning::Layout).collect();
        let name = |name, submitter| Meaning::Name { name, submitter };
        assert_eq!(
            meanings,
            [
                name("stage 03", false),
                name("main", true),
                Meaning::Task(2),
                Meaning::Wait(1),
                name("worker-0", false),
                Meaning::Task(0),
                Meaning::Task(1),
                Meaning::Panic(1),
                Meaning::Count(1),
                Meaning::Count(0),
            ]
        );
    }

    #[test]
    fn only_a_trace_the_recording_wrote_is_read() {
        let event = r#"{"name":"task 0","ph":"X","pid":1,"tid":1,"ts":0,"dur":1,"args":{"task":0,"waited_to_start_us":0},"cat":"task"}"#;
        let json = format!(r#"{{"displayTimeUnit":"ms","traceEvents":[{event}]}}"#);
        assert!(read(&json).is_err(), "a key the trace never writes");
        let json = json.replace(r#","cat":"task""#, "");
        assert_eq!(read(&json).unwrap()[0].meaning(), Meaning::Task(0));
        assert!(Recording::read_trace(&json).is_err(), "no process");
        let whole = written(&recording());
        let broken = [
            "not json".to_string(),
            "[]".to_string(),
            r#"{"traceEvents":[]}"#.to_string(),
            whole.replace(r#""tasks":0}"#, r#""tasks":5}"#),
            whole.replacen(r#""tid":1"#, r#""tid":3"#, 1),
            whole.replace("wait for a queue slot", "a wait"),
            whole.replace(r#""ph":"X""#, r#""ph":"B""#),
        ];
        for json in broken {
            assert_ne!(json, whole);
            assert!(Recording::read_trace(&json).is_err(), "{json}");
        }
    }
}
