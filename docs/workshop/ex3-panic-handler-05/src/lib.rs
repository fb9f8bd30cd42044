//! Workshop exercise 3: a panic handler for stage 05's pool.
//!
//! Stage 05 catches every task's panic and hands it to the task's handle. But a handle that is
//! dropped or joined late hides the panic, and every caller has to report failures on its own.
//! Give the pool one place that sees them all, as rayon's `ThreadPoolBuilder::panic_handler` does:
//! [`ResilientPool::with_panic_handler`] takes a closure that the worker calls with each task's
//! panic, before the task's handle receives the error.
//!
//! - `src/start.rs`: stage 05's pool plus a stub that drops the handler unused. Edit it.
//! - `src/solution.rs`: a reference solution, built with `--features solution`.
//! - `tests/panic_handler.rs`: the exercise test. It fails on the starting point.
//!
//! ```console
//! $ cargo test -p ex3-panic-handler-05                     # your code: fails until you are done
//! $ cargo test -p ex3-panic-handler-05 --features solution # the reference solution
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
