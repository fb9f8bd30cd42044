//! Exercise 3's starting point: stage 05's `src/lib.rs` without its doc comments, plus a
//! `with_panic_handler` that drops its handler. Edit this file until `cargo test` passes; every
//! place to change is marked `Exercise:`. `New:` and `Changed:` mark what stage 05 added to stage
//! 04 and what it changed there.

use std::any::Any;
use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::io;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crossbeam_channel::{Receiver, Sender};

type Job = Box<dyn FnOnce() + Send + 'static>;

// New: each pool gets an id, and each worker thread records its pool's id, so that `Drop` can
// tell when it runs on one of the pool's own workers (see `ResilientPool`'s `Drop`).
static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static WORKER_OF: Cell<Option<usize>> = const { Cell::new(None) };
}

// Changed: `ResilientPool`, the tutorial's name for it.
#[derive(Debug)]
pub struct ResilientPool {
    // An `Option` so that `Drop` can close the channel before waiting for the workers.
    sender: Option<Sender<Job>>,
    // New: what the pool shares with its workers.
    shared: Arc<Shared>,
    // Changed: no `JoinHandle`s. Replacement threads are started by the workers, so the pool
    // could not join them; it watches this channel instead. It never carries a message, and it
    // disconnects when the last worker thread, replacements included, has exited.
    workers_alive: Receiver<()>,
}

// New: the pool's id, the workers' stack size and the counters, for every worker thread. The
// counters use `SeqCst`, the ordering that needs no argument. `Relaxed` would do: each counter is
// read on its own, and a task's result channel already orders its count before its `join`.
#[derive(Debug, Default)]
struct Shared {
    pool_id: usize,
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

    // New: a task's locals live on its worker's stack, and a stack overflow aborts the process.
    pub fn with_stack_size(workers: usize, queue_capacity: usize, stack_size: usize) -> Self {
        Self::start(workers, queue_capacity, Some(stack_size))
    }

    // Changed: stage 04's `new`, shared by both constructors; the stack size is what is new.
    // Exercise: `with_panic_handler` needs `start` too: one more parameter, the handler (`new` and
    // `with_stack_size` have none to give).
    fn start(workers: usize, queue_capacity: usize, stack_size: Option<usize>) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        // New: every worker holds a clone of `alive`; the pool keeps only the receiving end.
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        // New: the pool's id, from a counter that every pool shares. `Relaxed` is enough: only
        // the ids' uniqueness matters, and `fetch_add` gives that under any ordering.
        let shared = Arc::new(Shared {
            pool_id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            stack_size,
            // Exercise: `with_panic_handler` needs `start` to keep its handler in `Shared` too.
            ..Shared::default()
        });
        for id in 0..workers {
            // New: counted as it starts; `run_worker` uncounts it when it ends for good.
            shared.active_workers.fetch_add(1, Ordering::SeqCst);
            // Changed: each thread gets a whole `Worker`, the parts a replacement needs too.
            let worker = Worker {
                id,
                shared: Arc::clone(&shared),
                jobs: receiver.clone(),
                alive: alive.clone(),
            };
            spawn_worker(worker).expect("failed to spawn a worker thread");
        }
        // Changed: the pool keeps no receiver of its own, nor an `alive` sender. When every
        // worker has exited, the channel is disconnected and a send fails instead of waiting.
        drop(receiver);
        drop(alive);
        Self {
            sender: Some(sender),
            shared,
            workers_alive,
        }
    }

    /// Like `new`, and the workers call `handler` with every task's panic that `run_task` catches:
    /// after counting it, before the task's handle gets the error. A panicking handler costs
    /// neither worker nor task.
    pub fn with_panic_handler<H>(workers: usize, queue_capacity: usize, handler: H) -> Self
    where
        H: Fn(&TaskPanicked) + Send + Sync + 'static,
    {
        // Exercise: this stub drops the handler unused.
        drop(handler);
        Self::new(workers, queue_capacity)
    }

    // Changed: no `Result`. Stage 04 needed `SubmitError` because panics could kill every worker.
    pub fn submit<F, R>(&self, task: F) -> TaskHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // A channel per task, with room for its one outcome: the worker never waits to send it.
        let (result_sender, result) = crossbeam_channel::bounded(1);
        // Changed: `run_task` catches the panic and counts the outcome.
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

    // New: the counters, for the caller to watch; the demo's summary prints them.
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
        // New: when a task drops the last `Arc<ResilientPool>`, this runs on one of the pool's
        // workers, which cannot wait for itself; the workers, that one too once its task
        // returns, still drain the queue. Anywhere else, wait until the last worker,
        // replacements included, has dropped its `alive` sender.
        if WORKER_OF.get() != Some(self.shared.pool_id) {
            let _ = self.workers_alive.recv();
        }
    }
}

// Changed: the task runs under `catch_unwind`, and its outcome is counted.
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
            // If the handle is gone, `send` hands the value back and it is dropped here. Should
            // its `Drop` panic, nothing catches that in this function: the worker dies of it,
            // and `run_worker` replaces it.
            let _ = result.send(Ok(value));
        }
        Err(payload) => {
            shared.panicked.fetch_add(1, Ordering::SeqCst);
            // Exercise: call the pool's handler, if it has one, before the send.
            let _ = result.send(Err(TaskPanicked(panic_message(&*payload).to_string())));
            // `payload` is dropped here, after its message went out. Its `Drop` can panic in
            // turn, like the value's above, and `run_worker` deals with that.
        }
    }
}

#[derive(Debug)]
#[must_use = "dropping a TaskHandle discards the task's value (the task still runs)"]
pub struct TaskHandle<R> {
    // Changed: the outcome, not only the value, so that a panic arrives with its message.
    result: Receiver<Result<R, TaskPanicked>>,
    // New: a task still queued when the last worker thread exits is never run, and not dropped
    // while the pool lives.
    workers_alive: Receiver<()>,
}

impl<R> TaskHandle<R> {
    pub fn join(self) -> Result<R, TaskPanicked> {
        const NEVER_RAN: &str = "the task never ran: no worker was left to run it";
        // Changed: wait for the outcome or for the last worker to exit, whichever comes first.
        // Each worker sends the outcome of every task it took before it exits, so an outcome
        // that has not arrived by then never will.
        let value = crossbeam_channel::select! {
            recv(self.result) -> value => value.ok(),
            recv(self.workers_alive) -> _ => self.result.try_recv().ok(),
        };
        value.unwrap_or_else(|| Err(TaskPanicked(NEVER_RAN.to_string())))
    }
}

// Changed: replaces stage 04's `TaskLost`, and carries the panic message.
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

// New: what a worker thread holds, and what it takes to start a replacement.
#[derive(Clone)]
struct Worker {
    id: usize,
    shared: Arc<Shared>,
    // Fields drop in order: the receiver before `alive`. So once a handle sees no worker alive,
    // the `send` in `submit` already fails, and the new task's `join` says it never ran.
    jobs: Receiver<Job>,
    // Held, never read: dropping it is how a worker says it has exited.
    #[expect(dead_code, reason = "dropped when the worker exits")]
    alive: Sender<()>,
}

// Changed: takes a whole `Worker`, sets the stack size when one was given, and returns the
// system's refusal instead of panicking: for a replacement, `run_worker` decides what it means.
fn spawn_worker(worker: Worker) -> io::Result<()> {
    let mut builder = thread::Builder::new().name(format!("worker-{}", worker.id));
    if let Some(bytes) = worker.shared.stack_size {
        builder = builder.stack_size(bytes);
    }
    // New: the handle is dropped, which detaches the thread: the pool waits on `workers_alive`,
    // and the system frees a dead worker's stack at once, however many die.
    builder.spawn(move || run_worker(worker)).map(drop)
}

// New: the loop of stage 04's `spawn_worker`, under `catch_unwind`.
fn run_worker(worker: Worker) {
    WORKER_OF.set(Some(worker.shared.pool_id));
    let ended = panic::catch_unwind(AssertUnwindSafe(|| {
        while let Ok(job) = worker.jobs.recv() {
            job();
        }
    }));
    // A panic is caught rather than left to end the thread: the standard library would drop the
    // payload of a detached thread itself, and a payload that panics when dropped aborts there.
    // A fresh thread rather than the same loop again: the panic may have left this thread's
    // thread-locals half-updated.
    if let Err(payload) = ended {
        // That panic's payload can panic when dropped as well: caught, and its own payload
        // leaked rather than dropped, since that one could panic again, and so on.
        if let Err(nested) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            mem::forget(nested);
        }
        if spawn_worker(worker.clone()).is_ok() {
            return;
        }
    }
    // Ended for good: the queue is closed and empty, or the system refused a replacement.
    worker.shared.active_workers.fetch_sub(1, Ordering::SeqCst);
}
