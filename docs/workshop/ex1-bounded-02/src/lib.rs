//! Workshop exercise 1: a bounded queue for stage 02's pool, with `sync_channel`.
//!
//! Stage 02 fixed the number of threads, but not the queue: `std::sync::mpsc::channel` has no
//! bound, so [`ThreadPool::execute`] never waits, and a producer that is faster than the workers
//! piles up every task it has in memory. Here [`ThreadPool::new`] takes a queue capacity, and
//! `execute` should wait while that many tasks are queued, as stage 03's `submit` does.
//!
//! - `src/start.rs`: stage 02's pool, taking the capacity but ignoring it. Edit it.
//! - `src/solution.rs`: a reference solution, built with `--features solution`.
//! - `tests/bounded.rs`: the exercise test. It fails on the starting point.
//!
//! ```console
//! $ cargo test -p ex1-bounded-02                     # your code: fails until you are done
//! $ cargo test -p ex1-bounded-02 --features solution # the reference solution
//! ```

#[cfg(not(feature = "solution"))]
mod start;
#[cfg(not(feature = "solution"))]
pub use start::*;

#[cfg(feature = "solution")]
mod solution;
#[cfg(feature = "solution")]
pub use solution::*;
