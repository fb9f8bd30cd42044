//! Workshop exercise 2: a high-water mark for stage 03's bounded queue.
//!
//! Stage 03's demo counts the submits that waited, but the pool itself cannot say how much of
//! its queue a run used. [`WorkerPool::high_water_mark`] should: the most tasks that waited in the
//! queue at the same moment since the pool started. It is the number to compare with the
//! capacity when choosing one.
//!
//! - `src/start.rs`: stage 03's pool plus a stub that returns the current depth instead. Edit it.
//! - `src/solution.rs`: a reference solution, built with `--features solution`.
//! - `tests/high_water.rs`: the exercise test. It fails on the starting point.
//!
//! ```console
//! $ cargo test -p ex2-high-water-03                     # your code: fails until you are done
//! $ cargo test -p ex2-high-water-03 --features solution # the reference solution
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
