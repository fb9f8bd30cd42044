//! Workshop exercise 1: a bounded queue for stage 02's pool, with `sync_channel`.
//!
//! Stage 02 fixed the number of threads, but not the queue: `std::sync::mpsc::channel` has no
//! bound, so [`ThreadPool::execute`] never waits, and a producer that is faster than the workers
//! piles up every task it has in memory. Here [`ThreadPool::new`] takes a queue capacity, and
//! `execute` should wait while that many tasks are queued, as stage 03's `submit` does. Then
//! [`ThreadPool::try_execute`], for callers that must not wait: it queues the task if there is
//! room, and otherwise hands it back at once, so the caller can run it itself or drop it. That is
//! the seed of stage 03's full-queue policies.
//!
//! - `src/start.rs`: stage 02's pool, taking the capacity but ignoring it, and with a
//!   `try_execute` that refuses every task. Edit it.
//! - `src/solution.rs`: a reference solution, built with `--features solution`.
//! - `tests/bounded.rs`: the exercise test. It fails on the starting point.
//!
//! ```console
//! $ cargo test -p ex1-bounded-02                     # your code: fails until you are done
//! $ cargo test -p ex1-bounded-02 --features solution # the reference solution
//! ```

// Both files are the stage's code without its doc comments (the stage has them), so the lint
// that asks for them is off here.
#[cfg(not(feature = "solution"))]
#[allow(missing_docs)]
mod start;
#[cfg(not(feature = "solution"))]
pub use start::*;

#[cfg(feature = "solution")]
#[allow(missing_docs)]
mod solution;
#[cfg(feature = "solution")]
pub use solution::*;
