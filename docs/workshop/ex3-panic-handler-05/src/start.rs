//! Exercise 3's starting point: stage 05's `src/lib.rs` without its doc comments, plus a
//! `with_panic_handler` that drops its handler. Edit this file until `cargo test` passes; every
//! place to change is marked `Exercise:`. `New:` marks what stage 05 added to stage 04.

use std::any::Any;
use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crossbeam_channel::{Receiver, Sender};

type Job = Box<dyn FnOnce() + Send + 'static>;

static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static WORKER_OF: Cell<Option<usize>> = const { Cell::new(None) };
}

#[derive(Debug)]
pub struct ResilientPool {
    // An `Option` so that `Drop` can close the channel before waiting for the workers.
    sender: Option<Sender<Job>>,
    // New: the counters and the stack size, shared with the workers.
    shared: Arc<Shared>,
    // Never carries a message: it disconnects when the last worker thread has exited.
    workers_alive: Receiver<()>,
    // Which pool this is, for `Drop` to tell when it runs on one of these workers.
    pool_id: usize,
}

// New: this item.
#[derive(Debug, Default)]
struct Shared {
    stack_size: Option<usize>,
    active_workers: AtomicUsize,
    completed: AtomicUsize,
    panicked: AtomicUsize,
    // Exercise: the handler, where `run_task` can reach it. A boxed closure implements neither
    // `Debug` nor `Default`, which `Shared` derives.
}

impl ResilientPool {
    pub fn new(workers: usize, queue_capacity: usize) -> Self {
        Self::start(workers, queue_capacity, None)
    }

    pub fn with_stack_size(workers: usize, queue_capacity: usize, stack_size: usize) -> Self {
        Self::start(workers, queue_capacity, Some(stack_size))
    }

    fn start(workers: usize, queue_capacity: usize, stack_size: Option<usize>) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        let pool_id = NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed);
        // Exercise: `with_panic_handler` needs `start` to keep its handler in `Shared` too.
        let shared = Arc::new(Shared {
            stack_size,
            ..Shared::default()
        });
        for id in 0..workers {
            // New: counted as it starts; see `Worker`'s `Drop` for when it is uncounted.
            shared.active_workers.fetch_add(1, Ordering::SeqCst);
            spawn_worker(id, pool_id, &receiver, &alive, &shared)
                .expect("failed to spawn a worker thread");
        }
        // As in stage 04, the pool keeps neither a receiver nor an `alive` sender of its own.
        drop(receiver);
        drop(alive);
        Self {
            sender: Some(sender),
            shared,
            workers_alive,
            pool_id,
        }
    }

    /// Like `new`, and the workers call `handler` with every panic they catch: after counting it,
    /// before the task's handle gets the error. A panicking handler costs neither worker nor task.
    pub fn with_panic_handler<H>(workers: usize, queue_capacity: usize, handler: H) -> Self
    where
        H: Fn(&TaskPanicked) + Send + Sync + 'static,
    {
        // Exercise: this stub drops the handler unused.
        drop(handler);
        Self::new(workers, queue_capacity)
    }

    // New: no `Result`. Stage 04 needed `SubmitError` because panics could kill every worker.
    pub fn submit<F, R>(&self, task: F) -> TaskHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // A channel per task, with room for its one outcome: the worker never waits to send it.
        let (result_sender, result) = crossbeam_channel::bounded(1);
        // New: `run_task` catches the panic and counts the outcome.
        let shared = Arc::clone(&self.shared);
        let job = Box::new(move || run_task(task, &result_sender, &shared));
        // `send` blocks while the queue is full. This is the backpressure. It fails only when
        // no worker thread is left at all; then the job is dropped, and `join` says it never ran.
        let _ = self.sender().send(job);
        TaskHandle {
            result,
            workers_alive: self.workers_alive.clone(),
        }
    }

    fn sender(&self) -> &Sender<Job> {
        self.sender.as_ref().expect("the sender lives until drop")
    }

    // New: this method and the two below.
    pub fn active_workers(&self) -> usize {
        self.shared.active_workers.load(Ordering::SeqCst)
    }

    pub fn completed_tasks(&self) -> usize {
        self.shared.completed.load(Ordering::SeqCst)
    }

    pub fn panicked_tasks(&self) -> usize {
        self.shared.panicked.load(Ordering::SeqCst)
    }

    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ResilientPool {
    fn drop(&mut self) {
        // Closing the channel keeps the queued tasks: `recv` fails only once the queue is empty.
        drop(self.sender.take());
        // When a task drops the last handle, this runs on one of the pool's workers, which cannot
        // wait for itself; the workers, that one too once its task returns, still drain the queue.
        if WORKER_OF.get() == Some(self.pool_id) {
            return;
        }
        // Wait until the last worker, replacements included, has dropped its `alive` sender.
        let _ = self.workers_alive.recv();
    }
}

// New: this item.
fn run_task<F, R>(task: F, result: &Sender<Result<R, TaskPanicked>>, shared: &Shared)
where
    F: FnOnce() -> R,
{
    // `AssertUnwindSafe` vouches that no one sees state the panic left half-updated: the task is
    // consumed, and nothing of it is used after a panic. (The README says more.)
    match panic::catch_unwind(AssertUnwindSafe(task)) {
        Ok(value) => {
            // Counted before the value is sent, so that `join` returns after the count.
            shared.completed.fetch_add(1, Ordering::SeqCst);
            let _ = result.send(Ok(value));
        }
        Err(payload) => {
            shared.panicked.fetch_add(1, Ordering::SeqCst);
            // Exercise: call the pool's handler, if it has one, before the send.
            let _ = result.send(Err(TaskPanicked(panic_message(&*payload).to_string())));
            // `payload` is dropped here, after its message went out. Its destructor can panic in
            // turn: uncaught, that panic ends this worker, and `Worker`'s `Drop` replaces it.
        }
    }
}

#[derive(Debug)]
#[must_use = "dropping a TaskHandle discards the task's value (the task still runs)"]
pub struct TaskHandle<R> {
    // New: the outcome, not only the value, so that a panic arrives with its message.
    result: Receiver<Result<R, TaskPanicked>>,
    workers_alive: Receiver<()>,
}

impl<R> TaskHandle<R> {
    pub fn join(self) -> Result<R, TaskPanicked> {
        const NEVER_RAN: &str = "the task never ran: no worker was left to run it";
        // As in stage 04, watch the workers too: a task queued after the last one left never runs.
        let value = crossbeam_channel::select! {
            recv(self.result) -> value => value.ok(),
            recv(self.workers_alive) -> _ => self.result.try_recv().ok(),
        };
        value.unwrap_or_else(|| Err(TaskPanicked(NEVER_RAN.to_string())))
    }
}

// New: replaces stage 04's `TaskLost`, and carries the panic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPanicked(String);

impl TaskPanicked {
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task panicked: {}", self.0)
    }
}

impl Error for TaskPanicked {}

// New: shared by `run_task` and any panic hook.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "<non-string panic payload>"
    }
}

struct Worker {
    // New: what it takes to start a replacement.
    id: usize,
    pool_id: usize,
    shared: Arc<Shared>,
    // Fields drop in order, `jobs` before `alive`, as in stage 04.
    jobs: Receiver<Job>,
    alive: Sender<()>,
}

// New: the moment a worker thread ends is the moment to start its replacement.
impl Drop for Worker {
    fn drop(&mut self) {
        // A worker leaves `active_workers` unless a replacement takes its place.
        if !thread::panicking()
            || spawn_worker(self.id, self.pool_id, &self.jobs, &self.alive, &self.shared).is_err()
        {
            self.shared.active_workers.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn spawn_worker(
    id: usize,
    pool_id: usize,
    jobs: &Receiver<Job>,
    alive: &Sender<()>,
    shared: &Arc<Shared>,
) -> io::Result<()> {
    let (jobs, alive, shared) = (jobs.clone(), alive.clone(), Arc::clone(shared));
    let mut builder = thread::Builder::new().name(format!("worker-{id}"));
    if let Some(bytes) = shared.stack_size {
        builder = builder.stack_size(bytes);
    }
    builder
        .spawn(move || {
            WORKER_OF.set(Some(pool_id));
            // New: built on the new thread, so that its `Drop` runs there, and only if it started.
            let worker = Worker {
                id,
                pool_id,
                shared,
                jobs,
                alive,
            };
            while let Ok(job) = worker.jobs.recv() {
                job();
            }
        })
        // Detached, as in stage 04: a pool whose workers die again and again piles up nothing.
        .map(drop)
}
