//! The runs that `benches/pools.rs` and the cost ladder ([`ladder`](crate::ladder)) time,
//! written once so that both time the same code.
//!
//! Every run starts a pool of `workers` threads (a queue of [`QUEUE`] slots where it has a
//! bound), submits `tasks` tasks from the calling thread, and stops the pool once every task
//! has run. It returns the time from the first submit until then, as the demos time their runs:
//! over `tasks`, what one task cost. The pool's start is left out, so that it cannot dominate a
//! small run.

use std::hint::black_box;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use harness::{TaskArgs, Workload};
use stage03_crossbeam_bounded::{TrySubmitError, WorkerPool};

/// The queue of every bounded pool, in slots.
pub const QUEUE: usize = 1_024;

/// A task: called with the task's id, on whichever thread runs it. `Copy`, so that every
/// submitted closure gets its own.
pub trait Task: Fn(usize) + Copy + Send + 'static {}

impl<F: Fn(usize) + Copy + Send + 'static> Task for F {}

/// The workload of a demo run of `tasks` tasks of `task` (such as `cpu:0ns`) with `--quiet`, made
/// from the demos' own flags so that any flag they gain keeps its default here.
///
/// # Panics
///
/// Panics if `task` is not a task the demos accept.
pub fn quiet_workload(tasks: usize, task: &str) -> Workload {
    workload_with(&["--tasks", &tasks.to_string(), "--task", task, "--quiet"])
}

/// [`quiet_workload`] that also records each task as `--timeline` and `--trace` do. The events
/// stay in memory: they are shown or written when a demo finishes, which a measurement never does.
///
/// # Panics
///
/// Panics if `task` is not a task the demos accept.
pub fn recording_workload(tasks: usize, task: &str) -> Workload {
    let tasks = tasks.to_string();
    workload_with(&["--tasks", &tasks, "--task", task, "--quiet", "--timeline"])
}

fn workload_with(flags: &[&str]) -> Workload {
    /// The flags every demo takes, alone.
    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        run: TaskArgs,
    }
    let flags = std::iter::once("demo").chain(flags.iter().copied());
    let flags = Flags::try_parse_from(flags).expect("flags every demo accepts");
    Workload::new(&flags.run)
}

/// Times `submit_all` (every submit, then the pool's shutdown) on the pool that `start` starts.
fn timed<P>(start: impl FnOnce() -> P, submit_all: impl FnOnce(P)) -> Duration {
    let pool = start();
    let started = Instant::now();
    submit_all(pool);
    started.elapsed()
}

/// The floor: a bounded crossbeam channel of task ids, and workers that call one function, known
/// at compile time, for each id. Nothing is allocated per task.
pub fn bare_ids(workers: usize, tasks: usize, task: impl Task) -> Duration {
    bare_channel(workers, tasks, |id| id, task)
}

/// Boxed closures over a bounded crossbeam channel, in a few lines: what stage 03's pool does,
/// without the pool around it.
pub fn bare_boxed(workers: usize, tasks: usize, task: impl Task) -> Duration {
    type Job = Box<dyn FnOnce() + Send>;
    let job = move |id| -> Job { Box::new(move || task(id)) };
    bare_channel(workers, tasks, job, |job: Job| job())
}

/// A bounded crossbeam channel of whatever `message` makes of each task id, and `workers`
/// threads that hand each message they receive to `run`: a pool with nothing around it.
fn bare_channel<M: Send + 'static>(
    workers: usize,
    tasks: usize,
    message: impl Fn(usize) -> M,
    run: impl Fn(M) + Copy + Send + 'static,
) -> Duration {
    timed(
        || {
            let (sender, receiver) = crossbeam_channel::bounded::<M>(QUEUE);
            let threads: Vec<_> = (0..workers)
                .map(|_| {
                    let receiver = receiver.clone();
                    thread::spawn(move || receiver.into_iter().for_each(run))
                })
                .collect();
            (sender, threads)
        },
        |(sender, threads)| {
            for id in 0..tasks {
                sender.send(message(id)).expect("the workers are alive");
            }
            drop(sender);
            for thread in threads {
                thread.join().expect("no task panics");
            }
        },
    )
}

/// Stage 02's `ThreadPool`: boxed closures through an unbounded `mpsc` channel whose receiver
/// the workers share behind a mutex.
pub fn stage02(workers: usize, tasks: usize, task: impl Task) -> Duration {
    timed(
        || stage02_mutex_receiver_pool::ThreadPool::new(workers),
        |pool| {
            for id in 0..tasks {
                pool.execute(move || task(id));
            }
            drop(pool);
        },
    )
}

/// Stage 03's `WorkerPool`, `submit` only: the tutorial's pool, every task a boxed closure.
pub fn stage03(workers: usize, tasks: usize, task: impl Task) -> Duration {
    timed(
        || WorkerPool::new(workers, QUEUE),
        |pool| {
            for id in 0..tasks {
                pool.submit(move || task(id))
                    .expect("the workers are alive");
            }
            pool.shutdown();
        },
    )
}

/// Offers `task` with `try_submit`, and waits with `submit` only if the queue is full, as stage
/// 03's demo does under its default policy, `block`. Returns when the wait began, if it waited.
fn submit_blocking_when_full(
    pool: &WorkerPool,
    task: impl FnOnce() + Send + 'static,
) -> Option<Instant> {
    let job = match pool.try_submit(task) {
        Ok(()) => return None,
        Err(TrySubmitError::Full(job)) => job,
        Err(TrySubmitError::Closed(_)) => panic!("the workers are alive"),
    };
    let waiting = Instant::now();
    pool.submit(job).expect("the workers are alive");
    Some(waiting)
}

/// Stage 03's pool, each task offered with `try_submit` first and every wait timed: the path
/// of the demo's policies.
pub fn stage03_try_first(workers: usize, tasks: usize, task: impl Task) -> Duration {
    try_first_each(workers, tasks, move |id| move || task(id))
}

/// [`stage03_try_first`] with each task's closure made by `job(id)`, for the runs whose tasks
/// capture more than their id.
fn try_first_each<J>(workers: usize, tasks: usize, mut job: impl FnMut(usize) -> J) -> Duration
where
    J: FnOnce() + Send + 'static,
{
    timed(
        || WorkerPool::new(workers, QUEUE),
        |pool| {
            let mut waiting_time = Duration::ZERO;
            for id in 0..tasks {
                if let Some(since) = submit_blocking_when_full(&pool, job(id)) {
                    waiting_time += since.elapsed();
                }
            }
            pool.shutdown();
            black_box(waiting_time);
        },
    )
}

/// Runs `run` on `tasks` tasks of `workload`, and checks that its tracker counted every one: a
/// run that lost tasks would time less work.
fn counted(workload: &Workload, tasks: usize, run: impl FnOnce() -> Duration) -> Duration {
    let completed = workload.tracker().completed();
    let elapsed = run();
    let counted = workload.tracker().completed() - completed;
    assert_eq!(counted, tasks, "every task counted");
    elapsed
}

/// [`stage03_try_first`] with each task run by `workload` (its work, counted by its `Tracker`),
/// reached through a `&'static`: the tracker's cost alone.
pub fn stage03_tracked(workers: usize, tasks: usize, workload: &'static Workload) -> Duration {
    counted(workload, tasks, || {
        stage03_try_first(workers, tasks, move |id| workload.run(id))
    })
}

/// What stage 03's demo does for each task under its default policy: `workload.hand_over(id)`
/// (the workload borrowed for the whole program), `try_submit` first, `submit` when the queue is
/// full (the wait timed and noted by the workload), and the handed task's `run` on the worker.
pub fn stage03_demo(workers: usize, tasks: usize, workload: &'static Workload) -> Duration {
    let run = || {
        timed(
            || WorkerPool::new(workers, QUEUE),
            |pool| {
                let (mut waited, mut waiting_time) = (0_usize, Duration::ZERO);
                for id in 0..tasks {
                    let handed = workload.hand_over(id);
                    if let Some(since) = submit_blocking_when_full(&pool, move || handed.run()) {
                        waited += 1;
                        waiting_time += workload.waited_for_slot(id, since);
                    }
                }
                pool.shutdown();
                black_box((waited, waiting_time));
            },
        )
    };
    counted(workload, tasks, run)
}

/// [`stage03_tracked`] with the workload shared through an `Arc` cloned for each task, as a
/// demo would have to share it without `Workload::leak`: what the reference count costs.
pub fn stage03_arc_per_task(workers: usize, tasks: usize, workload: &Arc<Workload>) -> Duration {
    let job = |id| {
        let workload = Arc::clone(workload);
        move || workload.run(id)
    };
    counted(workload, tasks, || try_first_each(workers, tasks, job))
}

/// Submits tasks `0..tasks` with `submit`, which returns a handle, and joins the handles with
/// `join` after every `batch` submits: with a `batch` of [`QUEUE`], the memory for the handles
/// stays flat, and only the per-task cost of a result channel remains.
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

/// Stage 04's `WorkerPool`, a result channel per task behind a handle, the handles joined every
/// `batch` submits: each task's closure made by `job(id)`, and what it returned given to `check`.
fn stage04<J, T>(
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
    timed(
        || stage04_results::WorkerPool::new(workers, QUEUE),
        |pool| {
            in_batches(
                tasks,
                batch,
                |id| pool.submit(job(id)).expect("the workers are alive"),
                |handle| check(handle.join().expect("the worker survives")),
            );
            pool.shutdown();
        },
    )
}

/// Stage 04's pool, every handle kept until the last submit and joined then, as stage 04's demo
/// does.
pub fn stage04_join_each(workers: usize, tasks: usize, task: impl Task) -> Duration {
    stage04(workers, tasks, tasks, move |id| move || task(id), |()| {})
}

/// Stage 04's pool, the handles joined every [`QUEUE`] submits.
pub fn stage04_join_batch(workers: usize, tasks: usize, task: impl Task) -> Duration {
    stage04(workers, tasks, QUEUE, move |id| move || task(id), |()| {})
}

/// [`stage04_join_batch`] with each task inside `catch_unwind`, as stage 05's workers run
/// theirs: stage 05 without its counters.
pub fn stage04_catch_unwind(workers: usize, tasks: usize, task: impl Task) -> Duration {
    // `AssertUnwindSafe`: the task is consumed, and nothing of it is used after a panic, as in
    // stage 05.
    let job = move |id| move || panic::catch_unwind(AssertUnwindSafe(|| task(id)));
    stage04(workers, tasks, QUEUE, job, |outcome| {
        outcome.expect("no task panics");
    })
}

/// Stage 05's `ResilientPool` (result channel, `catch_unwind`, the pool's counters), the handles
/// joined every `batch` submits.
fn stage05(workers: usize, tasks: usize, batch: usize, task: impl Task) -> Duration {
    timed(
        || stage05_panic_resilient::ResilientPool::new(workers, QUEUE),
        |pool| {
            in_batches(
                tasks,
                batch,
                |id| pool.submit(move || task(id)),
                |handle| handle.join().expect("no task panics"),
            );
            pool.shutdown();
        },
    )
}

/// Stage 05's pool, every handle joined after the last submit, as stage 05's demo does.
pub fn stage05_join_each(workers: usize, tasks: usize, task: impl Task) -> Duration {
    stage05(workers, tasks, tasks, task)
}

/// Stage 05's pool, the handles joined every [`QUEUE`] submits.
pub fn stage05_join_batch(workers: usize, tasks: usize, task: impl Task) -> Duration {
    stage05(workers, tasks, QUEUE, task)
}
