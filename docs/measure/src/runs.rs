//! The runs that `benches/pools.rs` and the cost ladder ([`ladder`](crate::ladder)) time: each
//! starts a pool of `workers` threads (a queue of [`QUEUE`] slots where it has a bound), and
//! returns the time from its first submit until the pool stopped after running `tasks` tasks.

use std::hint::black_box;
use std::io;
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use harness::{TaskArgs, Workload};
use rayon::prelude::*;
use stage03_crossbeam_bounded::{TrySubmitError, WorkerPool};

/// The queue of every bounded pool, in slots.
pub const QUEUE: usize = 1_024;

/// A task: called with the task's id. `Copy`, so that every submitted closure gets its own.
pub trait Task: Fn(usize) + Copy + Send + Sync + 'static {}

impl<F: Fn(usize) + Copy + Send + Sync + 'static> Task for F {}

/// The workload of a demo run of `tasks` tasks of `task` (such as `cpu:0ns`) with `--quiet`, and
/// `--timeline` if `recording`: parsed from the demos' own flags, so that any flag they gain keeps
/// its default.
pub fn workload(tasks: usize, task: &str, recording: bool) -> Workload {
    let tasks = tasks.to_string();
    let flags = ["--tasks", &tasks, "--task", task, "--quiet"];
    let flags = flags.into_iter().chain(recording.then_some("--timeline"));
    Workload::new(&TaskArgs::from_flags(flags).expect("a task that the demos accept"))
}

/// What a submit that cannot fail unless the workers died expects.
const ALIVE: &str = "the workers are alive";

/// Times `submit_all`: every submit, then the shutdown of a pool started before.
fn timed(submit_all: impl FnOnce()) -> Duration {
    let started = Instant::now();
    submit_all();
    started.elapsed()
}

/// Boxed closures over a bounded crossbeam channel: stage 03's pool without the pool around it.
pub fn bare_boxed(workers: usize, tasks: usize, task: impl Task) -> Duration {
    type Job = Box<dyn FnOnce() + Send>;
    let job = move |id| -> Job { Box::new(move || task(id)) };
    bare_channel(workers, tasks, job, |job: Job| job())
}

/// A bounded crossbeam channel of `message(id)` per task, and `workers` threads that `run` each:
/// with the task ids as the messages, the floor, which allocates nothing per task.
pub(crate) fn bare_channel<M: Send + 'static>(
    workers: usize,
    tasks: usize,
    message: impl Fn(usize) -> M,
    run: impl Fn(M) + Copy + Send + 'static,
) -> Duration {
    let (sender, receiver) = crossbeam_channel::bounded::<M>(QUEUE);
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let receiver = receiver.clone();
            thread::spawn(move || receiver.into_iter().for_each(run))
        })
        .collect();
    timed(move || {
        (0..tasks).for_each(|id| sender.send(message(id)).expect(ALIVE));
        drop(sender);
        for thread in threads {
            thread.join().expect("no task panics");
        }
    })
}

/// Stage 02's `ThreadPool`: an unbounded `mpsc` channel, its receiver behind a mutex.
pub fn stage02(workers: usize, tasks: usize, task: impl Task) -> Duration {
    let pool = stage02_mutex_receiver_pool::ThreadPool::new(workers);
    timed(move || {
        (0..tasks).for_each(|id| pool.execute(move || task(id)));
        drop(pool);
    })
}

/// Stage 03's `WorkerPool`, `submit` only: the tutorial's pool, every task a boxed closure.
pub fn stage03(workers: usize, tasks: usize, task: impl Task) -> Duration {
    let pool = WorkerPool::new(workers, QUEUE);
    timed(move || {
        (0..tasks).for_each(|id| pool.submit(move || task(id)).expect(ALIVE));
        pool.shutdown();
    })
}

/// Stage 03's pool, each task offered with `try_submit` first: the path of the demo's policies.
pub(crate) fn stage03_try_first(workers: usize, tasks: usize, task: impl Task) -> Duration {
    let job = move |id| move || task(id);
    try_first_each(workers, tasks, job, |_, since| since.elapsed())
}

/// [`stage03_try_first`] with each task's closure made by `job(id)`: `try_submit` first, `submit`
/// if the queue is full (stage 03's default policy, `block`), each wait timed by `waited`.
fn try_first_each<J>(
    workers: usize,
    tasks: usize,
    mut job: impl FnMut(usize) -> J,
    waited: impl Fn(usize, Instant) -> Duration,
) -> Duration
where
    J: FnOnce() + Send + 'static,
{
    let pool = WorkerPool::new(workers, QUEUE);
    timed(move || {
        let (mut waits, mut waiting_time) = (0_usize, Duration::ZERO);
        for id in 0..tasks {
            let job = match pool.try_submit(job(id)) {
                Ok(()) => continue,
                Err(TrySubmitError::Full(job)) => job,
                Err(TrySubmitError::Closed(_)) => panic!("{ALIVE}"),
            };
            let since = Instant::now();
            pool.submit(job).expect(ALIVE);
            waits += 1;
            waiting_time += waited(id, since);
        }
        pool.shutdown();
        black_box((waits, waiting_time));
    })
}

/// Runs `run`, and checks that `workload`'s tracker counted every one of `tasks`.
fn counted(workload: &Workload, tasks: usize, run: impl FnOnce() -> Duration) -> Duration {
    let completed = workload.tracker().completed();
    let elapsed = run();
    let counted = workload.tracker().completed() - completed;
    assert_eq!(counted, tasks, "every task counted");
    elapsed
}

/// [`stage03_try_first`] with each task run (and counted) by `workload`: borrowed for good, as the
/// demos borrow it, or an `Arc` cloned per task, to show what borrowing saves.
pub(crate) fn stage03_tracked<W>(workers: usize, tasks: usize, workload: W) -> Duration
where
    W: Deref<Target = Workload> + Clone + Send + 'static,
{
    let job = |id| {
        let workload = workload.clone();
        move || workload.run(id)
    };
    counted(&workload, tasks, || {
        try_first_each(workers, tasks, job, |_, since| since.elapsed())
    })
}

/// Stage 03's demo under its default policy: each task handed over by `workload`, `try_submit`
/// first, `submit` when the queue is full (the wait noted by the workload), and run on a worker.
pub fn stage03_demo(workers: usize, tasks: usize, workload: &'static Workload) -> Duration {
    let job = |id| {
        let handed = workload.hand_over(id);
        move || handed.run()
    };
    let waited = |id, since| workload.waited_for_slot(id, since);
    counted(workload, tasks, || {
        try_first_each(workers, tasks, job, waited)
    })
}

/// Submits tasks `0..tasks` with `submit`, and joins the handles it returns after every `batch`
/// submits: with a `batch` of [`QUEUE`], the memory for the handles stays flat.
fn in_batches<H>(tasks: usize, batch: usize, mut submit: impl FnMut(usize) -> H, join: impl Fn(H)) {
    let mut handles = Vec::with_capacity(batch.min(tasks));
    for id in 0..tasks {
        handles.push(submit(id));
        if handles.len() == batch {
            handles.drain(..).for_each(&join);
        }
    }
    handles.into_iter().for_each(join);
}

/// [`stage04`] with each task's closure made by `job(id)`, and what it returned given to `check`.
fn stage04_with<J, T>(
    workers: usize,
    tasks: usize,
    batch: usize,
    job: impl Fn(usize) -> J,
    check: impl Fn(T),
) -> Duration
where
    J: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let pool = stage04_results::WorkerPool::new(workers, QUEUE);
    timed(|| {
        let submit = |id| pool.submit(job(id)).expect(ALIVE);
        in_batches(tasks, batch, submit, |handle| {
            check(handle.join().expect("the worker survives"));
        });
        pool.shutdown();
    })
}

/// Stage 04's `WorkerPool` (a result channel per task), the handles joined every `batch` submits:
/// with a `batch` of `tasks` after the last submit, as stage 04's demo does.
pub fn stage04(workers: usize, tasks: usize, batch: usize, task: impl Task) -> Duration {
    stage04_with(workers, tasks, batch, move |id| move || task(id), |()| {})
}

/// [`stage04`] with the handles joined every [`QUEUE`] submits, and each task inside
/// `catch_unwind`: stage 05 without its counters.
pub(crate) fn stage04_catch_unwind(workers: usize, tasks: usize, task: impl Task) -> Duration {
    // `AssertUnwindSafe`: nothing of the consumed task is used after a panic, as in stage 05.
    let job = move |id| move || panic::catch_unwind(AssertUnwindSafe(|| task(id)));
    stage04_with(workers, tasks, QUEUE, job, |outcome| {
        outcome.expect("no task panics");
    })
}

/// Stage 05's `ResilientPool`, the handles joined every `batch` submits, as [`stage04`]'s.
pub fn stage05(workers: usize, tasks: usize, batch: usize, task: impl Task) -> Duration {
    let pool = stage05_panic_resilient::ResilientPool::new(workers, QUEUE);
    timed(|| {
        let submit = |id| pool.submit(move || task(id));
        in_batches(tasks, batch, submit, |handle| {
            handle.join().expect("no task panics")
        });
        pool.shutdown();
    })
}

/// The `threadpool` crate (unbounded queue), waited for with `join` (dropping it would not wait).
pub fn threadpool(workers: usize, tasks: usize, task: impl Task) -> Duration {
    let pool = threadpool::ThreadPool::new(workers);
    timed(|| {
        (0..tasks).for_each(|id| pool.execute(move || task(id)));
        pool.join();
    })
}

/// A rayon pool, `scope` with one `spawn` per task.
pub fn rayon_scope(workers: usize, tasks: usize, task: impl Task) -> io::Result<Duration> {
    let pool = rayon_pool(workers)?;
    Ok(timed(|| {
        pool.scope(|scope| (0..tasks).for_each(|id| scope.spawn(move |_| task(id))))
    }))
}

/// A rayon pool, `into_par_iter().for_each` over the task numbers: rayon splits them into chunks.
pub fn rayon_par_iter(workers: usize, tasks: usize, task: impl Task) -> io::Result<Duration> {
    let pool = rayon_pool(workers)?;
    Ok(timed(|| {
        pool.install(|| (0..tasks).into_par_iter().for_each(task))
    }))
}

/// A rayon pool of `workers` threads, or the error of the thread the system refused.
fn rayon_pool(workers: usize) -> io::Result<rayon::ThreadPool> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(workers).build();
    pool.map_err(io::Error::other)
}
