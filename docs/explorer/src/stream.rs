//! A run's way to its page: server-sent events, in batches.
//!
//! The run's threads send their [`Note`]s as they happen, on a channel that never blocks them. A
//! task of the server, the pump, gathers the recorder's events and sends them on as one event
//! every [`BATCH_EVERY`]: a page that redraws at most about 60 times a second gains nothing from an
//! event per task, and a run of ten thousand tiny tasks would send tens of thousands of them. A
//! run's start and end go out at once.
//!
//! The page reads these events, by their `event:` name:
//!
//! - `run`: a run starts; its data is [`RunInfo`];
//! - `events`: `{"run": 0, "events": [...]}`, what the recorder saw since the last batch, as the
//!   harness's own [`TraceEvent`]s (see [`Recorder::watched`](harness::record::Recorder::watched)),
//!   with two counters that the pump adds: [`QUEUE_DEPTH`] and [`REJECTED`];
//! - `end`: a run ended; its data is the `RunEnd`, with the run's whole trace;
//! - `error`: `{"message": ...}`, a run that could not go on;
//! - `cancelled`: `{"reason": ...}`, when the runs were cancelled;
//! - `done`: nothing more comes, and the stream ends.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::sse::Event;
use futures_core::Stream;
use harness::record::QUEUE_DEPTH;
use harness::record::trace::{Meaning, Phase, TraceEvent};
use serde::Serialize;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::time::{self, Instant, MissedTickBehavior};

use crate::params::{MAX_RUN_TIME, RunInfo};
use crate::run::{Cancel, Note};

/// How often the pump sends what arrived: often enough to look continuous, seldom enough to be
/// cheap.
pub const BATCH_EVERY: Duration = Duration::from_millis(40);

/// The name of the counter of tasks that the full-queue policy gave up (stage 03).
pub const REJECTED: &str = "rejected";

/// How many events may wait for a page that reads slowly, before the pump waits for it.
const BACKLOG: usize = 64;

/// Starts the pump for a run whose notes arrive on `notes`, and returns the stream of events
/// for its page. Dropping the stream, as the server does when the page goes away, cancels the
/// run.
pub(crate) fn start(notes: UnboundedReceiver<Note>, cancel: Arc<Cancel>) -> RunStream {
    let (sender, events) = mpsc::channel(BACKLOG);
    tokio::spawn(pump(notes, sender, Arc::clone(&cancel)));
    RunStream { events, cancel }
}

/// The events of a run, as the response to the request that started it.
#[derive(Debug)]
pub(crate) struct RunStream {
    events: mpsc::Receiver<Event>,
    cancel: Arc<Cancel>,
}

impl Stream for RunStream {
    type Item = Result<Event, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // `RunStream` is `Unpin`: its fields are, so it needs no pinning of its own.
        self.get_mut()
            .events
            .poll_recv(cx)
            .map(|event| event.map(Ok))
    }
}

impl Drop for RunStream {
    fn drop(&mut self) {
        // The page is gone (a closed tab, an aborted request) or the stream has ended. In the
        // first case the run must stop; in the second it is over, and this changes nothing.
        self.cancel.cancel("the page closed the stream");
    }
}

/// Sends the page what the run notes: a run's start and end at once, the recorder's events in a
/// batch every [`BATCH_EVERY`], until the run closes its outbox. Cancels the run if it goes past
/// [`MAX_RUN_TIME`]. Stops early if the page is gone, which has cancelled the run already.
async fn pump(mut notes: UnboundedReceiver<Note>, page: mpsc::Sender<Event>, cancel: Arc<Cancel>) {
    let mut batcher = Batcher::default();
    let mut ticks = time::interval(BATCH_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let mut out = Vec::new();
        let open = tokio::select! {
            note = notes.recv() => match note {
                // A recorder's event joins the batch; anything else goes out now, after it.
                Some(note) => {
                    batcher.take(note, &mut out);
                    true
                }
                None => false,
            },
            _ = ticks.tick() => {
                batcher.flush(&mut out);
                if batcher.running_for().is_some_and(|time| time > MAX_RUN_TIME) {
                    cancel.cancel(format!(
                        "the run went past the explorer's cap of {} s per run",
                        MAX_RUN_TIME.as_secs()
                    ));
                }
                true
            }
        };
        if !open {
            batcher.flush(&mut out);
            if let Some(reason) = cancel.reason() {
                out.push(event("cancelled", &Reason { reason }));
            }
            out.push(Event::default().event("done").data("{}"));
        }
        for event in out {
            if page.send(event).await.is_err() {
                return;
            }
        }
        if !open {
            return;
        }
    }
}

/// The data of a `cancelled` event.
#[derive(Serialize)]
struct Reason<'a> {
    reason: &'a str,
}

/// The data of an `error` event.
#[derive(Serialize)]
struct Failure {
    message: String,
}

/// The data of an `events` event: a batch of what the recorder saw.
#[derive(Serialize)]
struct Batch<'a> {
    run: usize,
    events: &'a [TraceEvent<'static>],
}

/// Turns a run's notes into the page's events, gathering the recorder's into batches.
#[derive(Debug, Default)]
struct Batcher {
    /// The run the batch is of.
    run: usize,
    batch: Vec<TraceEvent<'static>>,
    queue: QueueCount,
    /// When the run that is going started, if one is.
    started: Option<Instant>,
}

/// How many tasks wait in the queue, followed from the notes: each task that entered it, less
/// each that a worker started. That is how the recording counts it after a run, too (see
/// [`Recording::queue_depth`](harness::Recording::queue_depth)), and as there, the count is
/// capped at the capacity: a worker may note its start before the submitter notes the entry.
#[derive(Debug, Default)]
struct QueueCount {
    /// Whether the run has a queue at all (not stage 01).
    queued: bool,
    capacity: Option<usize>,
    /// The submitter's live thread id, once its name has come: its tasks never were queued.
    submitter: Option<usize>,
    entered: usize,
    started: usize,
    /// The depth last sent.
    shown: usize,
    rejected: usize,
}

impl Batcher {
    /// Takes one note: a recorder's event joins the batch; anything else sends the batch first,
    /// then its own event, into `out`.
    fn take(&mut self, note: Note, out: &mut Vec<Event>) {
        match note {
            Note::Started(info) => {
                self.flush(out);
                self.begin(&info);
                out.push(event("run", &info));
            }
            Note::Event(recorded) => self.recorded(recorded),
            Note::Queued(at) => {
                self.queue.entered += 1;
                self.show_depth(at);
            }
            Note::Rejected(at) => {
                self.queue.rejected += 1;
                let counter = TraceEvent::counter(REJECTED, at, self.queue.rejected);
                self.batch.push(counter);
            }
            Note::Ended(end) => {
                self.flush(out);
                self.started = None;
                out.push(event("end", &end));
            }
            Note::Failed(message) => {
                self.flush(out);
                self.started = None;
                out.push(event("error", &Failure { message }));
            }
        }
    }

    /// Starts counting a new run.
    fn begin(&mut self, info: &RunInfo) {
        self.run = info.run;
        self.started = Some(Instant::now());
        self.queue = QueueCount {
            queued: info.queued,
            capacity: info.queue,
            ..QueueCount::default()
        };
    }

    /// Adds an event of the recorder to the batch, and follows the queue's depth with it.
    fn recorded(&mut self, recorded: TraceEvent<'static>) {
        let (ph, tid, ts) = (recorded.ph, recorded.tid, recorded.ts);
        let meaning = recorded.meaning();
        let started_from_queue = match meaning {
            Meaning::Name {
                submitter: true, ..
            } => {
                self.queue.submitter = Some(tid);
                false
            }
            Meaning::Task(_) => ph == Phase::Begin && self.queue.submitter != Some(tid),
            _ => false,
        };
        self.batch.push(recorded);
        if started_from_queue {
            self.queue.started += 1;
            self.show_depth(Duration::from_secs_f64(ts / 1e6));
        }
    }

    /// Adds the queue's depth at `at` to the batch, if the run has a queue and the depth changed.
    fn show_depth(&mut self, at: Duration) {
        let queue = &mut self.queue;
        if !queue.queued {
            return;
        }
        let depth = queue
            .entered
            .saturating_sub(queue.started)
            .min(queue.capacity.unwrap_or(usize::MAX));
        if depth != queue.shown {
            queue.shown = depth;
            self.batch.push(TraceEvent::counter(QUEUE_DEPTH, at, depth));
        }
    }

    /// Sends the batch, if it has anything, into `out`.
    fn flush(&mut self, out: &mut Vec<Event>) {
        if !self.batch.is_empty() {
            let batch = Batch {
                run: self.run,
                events: &self.batch,
            };
            out.push(event("events", &batch));
            self.batch.clear();
        }
    }

    /// How long the run that is going has been going.
    fn running_for(&self) -> Option<Duration> {
        self.started.map(|started| started.elapsed())
    }
}

/// A server-sent event named `name` whose data is `value` in JSON.
fn event(name: &str, value: &impl Serialize) -> Event {
    // The values are plain data that always serialize; should one ever fail, the page is told.
    Event::default()
        .event(name)
        .json_data(value)
        .unwrap_or_else(|error| {
            let failure = Failure {
                message: format!("the server could not write a '{name}' event: {error}"),
            };
            Event::default()
                .event("error")
                .json_data(&failure)
                .unwrap_or_default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(queue: Option<usize>) -> RunInfo {
        RunInfo {
            run: 0,
            stage: "03",
            tasks: 4,
            task: "sleep:1ms".to_string(),
            workers: Some(1),
            queue,
            queued: true,
            policy: None,
            ideal_ms: 4.0,
            command: String::new(),
        }
    }

    /// An event of the recorder, as JSON writes it.
    fn recorded(json: &str) -> Note {
        Note::Event(serde_json::from_str(json).unwrap())
    }

    fn name(tid: usize, name: &str, submitter: bool) -> Note {
        recorded(&format!(
            r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{tid},"ts":0,"args":{{"name":"{name}","submitter":{submitter}}}}}"#
        ))
    }

    fn begins(tid: usize, task: usize, ts: u64) -> Note {
        recorded(&format!(
            r#"{{"name":"task {task}","ph":"B","pid":1,"tid":{tid},"ts":{ts},"args":{{"task":{task},"waited_to_start_us":0}}}}"#
        ))
    }

    /// The depths the batch holds, in order.
    fn depths(batcher: &Batcher) -> Vec<usize> {
        batcher
            .batch
            .iter()
            .filter_map(|event| match event.meaning() {
                Meaning::Count(tasks) if event.name == QUEUE_DEPTH => Some(tasks),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_depth_counts_tasks_queued_less_those_a_worker_started_up_to_the_capacity() {
        let mut batcher = Batcher::default();
        let mut out = Vec::new();
        batcher.take(Note::Started(info(Some(2))), &mut out);
        batcher.take(name(1, "submitter", true), &mut out);
        batcher.take(name(2, "worker-0", false), &mut out);
        for at in 0..3 {
            batcher.take(Note::Queued(Duration::from_micros(at)), &mut out);
        }
        // A task the submitter ran itself was never queued; a worker's start takes one out.
        batcher.take(begins(1, 3, 5), &mut out);
        batcher.take(begins(2, 0, 6), &mut out);
        batcher.take(begins(2, 1, 7), &mut out);
        // 1, 2, then 3 capped at the capacity of 2; the submitter's task changes nothing, the
        // first worker's start leaves 2, the second 1.
        assert_eq!(depths(&batcher), [1, 2, 1]);
        assert_eq!(out.len(), 1, "only the run's start went out at once");
        batcher.flush(&mut out);
        assert_eq!((out.len(), batcher.batch.len()), (2, 0));
    }

    #[test]
    fn a_thread_per_task_has_no_depth() {
        let mut batcher = Batcher::default();
        let mut out = Vec::new();
        let info = RunInfo {
            queued: false,
            ..info(None)
        };
        batcher.take(Note::Started(info), &mut out);
        batcher.take(Note::Queued(Duration::ZERO), &mut out);
        assert!(depths(&batcher).is_empty());
    }
}
