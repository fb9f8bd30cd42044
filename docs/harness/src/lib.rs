//! What every stage's demo shares, so that each `main.rs` shows only its own pool: the same work,
//! counted the same way, ending with the same `summary:` line. The README says what is where.

pub mod args;
pub mod demo;
pub mod limits;
pub mod record;
pub mod summary;
pub mod table;
pub mod task;
#[cfg(feature = "testing")]
pub mod testing;

pub use args::{BoundedPoolArgs, CollectArgs, Policy, PoolArgs, TaskArgs, exit_invalid};
pub use demo::{Collected, HandedTask, Output, PLANNED_PANIC, Workload, report};
pub use limits::{
    LimitArgs, MAX_QUEUE, THREAD_LIMIT, THREADS_EXPLAINED, or_exit_if_refused, parse_count,
    parse_positive, parse_tasks, parse_workers,
};
pub use record::Recording;
pub use summary::Summary;
pub use task::{TaskKind, TaskSpec, Work, cores, format_duration, ideal, parse_duration};
