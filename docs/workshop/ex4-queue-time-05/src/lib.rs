//! Workshop exercise 4: where a task's time goes, in stage 05's pool.
//!
//! Sizing a pool starts with a measurement: does a task spend its time waiting for a worker, or
//! running? [`TaskHandle::join_timed`] should answer that for each task, with the value: the
//! time from `submit` until a worker started the task, and the time it then ran. Tasks that wait
//! longer than they run say the pool is short of workers; tasks that never wait say it may have
//! some to spare.
//!
//! - `src/start.rs`: stage 05's pool plus a stub that reports zero for both. Edit it.
//! - `src/solution.rs`: a reference solution, built with `--features solution`.
//! - `tests/queue_time.rs`: the exercise test. It fails on the starting point.
//!
//! ```console
//! $ cargo test -p ex4-queue-time-05                     # your code: fails until you are done
//! $ cargo test -p ex4-queue-time-05 --features solution # the reference solution
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
