//! Stage 05: a pool that survives panicking tasks.
//!
//! In stage 04 a panicking task ends its worker thread, and once every worker is gone the pool can
//! only refuse work. Here each task runs under [`std::panic::catch_unwind`]: a panic costs the
//! task, never the worker. [`TaskHandle::join`] returns [`TaskPanicked`] with the panic message,
//! the pool counts it, and the worker takes the next task. A worker thread that dies anyway (see
//! [`ResilientPool`]) is replaced by one with the same name.
//!
//! ```
//! use stage05_panic_resilient::ResilientPool;
//!
//! let pool = ResilientPool::new(2, 4);
//! let answer = pool.submit(|| 6 * 7);
//! let failure = pool.submit(|| -> u32 { panic!("bad input") });
//! assert_eq!(answer.join(), Ok(42));
//! assert_eq!(failure.join().unwrap_err().message(), "bad input");
//! // The worker that caught the panic is still there, and both outcomes were counted.
//! assert_eq!(pool.active_workers(), 2);
//! assert_eq!((pool.completed_tasks(), pool.panicked_tasks()), (1, 1));
//! pool.shutdown();
//! ```

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

/// A task as the workers receive it: any closure that can move to another thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The id the next pool gets, so that a worker thread can tell which pool it works for.
static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// On a worker thread, the id of its pool; `None` on every other thread.
    static WORKER_OF: Cell<Option<usize>> = const { Cell::new(None) };
}

/// A fixed number of worker threads fed by a bounded queue, isolated from the tasks' panics. A
/// worker thread can still die, from a panic outside any `catch_unwind` (in the `Drop` of the value
/// a task panicked with, say); then a replacement with the same name takes its place. Dropping the
/// pool runs every task already queued first, as [`ResilientPool::shutdown`] does.
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
/// What the pool and its worker threads share: the counters, and the workers' stack size.
#[derive(Debug, Default)]
struct Shared {
    stack_size: Option<usize>,
    active_workers: AtomicUsize,
    completed: AtomicUsize,
    panicked: AtomicUsize,
}

impl ResilientPool {
    /// Starts `workers` threads, named `worker-0`, `worker-1`, ..., sharing a queue that holds
    /// at most `queue_capacity` waiting tasks; with 0, each `submit` waits for a free worker.
    ///
    /// # Panics
    ///
    /// Panics if `workers` is 0 (such a pool could never run a task), if crossbeam cannot
    /// allocate `queue_capacity` slots, or if the operating system refuses to start a thread.
    pub fn new(workers: usize, queue_capacity: usize) -> Self {
        Self::start(workers, queue_capacity, None)
    }

    /// Like [`ResilientPool::new`], with a stack of at least `stack_size` bytes for each worker
    /// instead of the standard library's default (2 MiB, or `RUST_MIN_STACK` if set).
    ///
    /// # Panics
    ///
    /// As [`ResilientPool::new`]; a stack too large for the system to reserve is a refused thread.
    pub fn with_stack_size(workers: usize, queue_capacity: usize, stack_size: usize) -> Self {
        Self::start(workers, queue_capacity, Some(stack_size))
    }

    fn start(workers: usize, queue_capacity: usize, stack_size: Option<usize>) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let (alive, workers_alive) = crossbeam_channel::bounded(0);
        let pool_id = NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed);
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

    // New: no `Result`. Stage 04 needed `SubmitError` because panics could kill every worker.
    /// Queues `task` for the workers, waiting while the queue is full, and returns a handle to its
    /// outcome. Dead workers are replaced, so the task finds one (if the system refuses to start
    /// replacements, `join` says the task never ran).
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
    /// How many worker threads the pool has, replacements included; fewer if one was refused.
    pub fn active_workers(&self) -> usize {
        self.shared.active_workers.load(Ordering::SeqCst)
    }

    /// How many tasks have returned normally so far, counted before `join` can see their values.
    pub fn completed_tasks(&self) -> usize {
        self.shared.completed.load(Ordering::SeqCst)
    }

    /// How many tasks have panicked so far, counted as [`ResilientPool::completed_tasks`] counts.
    pub fn panicked_tasks(&self) -> usize {
        self.shared.panicked.load(Ordering::SeqCst)
    }

    /// Runs every queued task, then waits for every worker thread. Handles stay valid afterwards.
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
/// Runs one task on a worker, counts how it ended, and sends the outcome to its handle.
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
            let _ = result.send(Err(TaskPanicked(panic_message(&*payload).to_string())));
            // `payload` is dropped here, after its message went out. Its destructor can panic in
            // turn: uncaught, that panic ends this worker, and `Worker`'s `Drop` replaces it.
        }
    }
}

/// The caller's side of one submitted task: [`TaskHandle::join`] waits for its outcome. Dropping
/// a handle neither cancels the task nor blocks.
#[derive(Debug)]
#[must_use = "dropping a TaskHandle discards the task's value (the task still runs)"]
pub struct TaskHandle<R> {
    // New: the outcome, not only the value, so that a panic arrives with its message.
    result: Receiver<Result<R, TaskPanicked>>,
    workers_alive: Receiver<()>,
}

impl<R> TaskHandle<R> {
    /// Waits until the task has finished and returns its value.
    ///
    /// # Errors
    ///
    /// Returns [`TaskPanicked`] with the panic message if the task panicked, or saying that it
    /// never ran if no worker was left (the system refused to start replacements).
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
/// The error [`TaskHandle::join`] returns when the task panicked, with the panic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPanicked(String);

impl TaskPanicked {
    /// The message the task panicked with, as [`panic_message`] reads it.
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
/// The text of a panic payload: the `&'static str` or `String` that `panic!` carries, or
/// `"<non-string panic payload>"` for anything else (from `std::panic::panic_any`, say).
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "<non-string panic payload>"
    }
}

/// What a worker thread holds. It lives on that thread's stack: its `Drop` runs when the thread
/// ends, also when a panic ends it.
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
