//! What every stage's demo shares, so that each `main.rs` shows only its own pool: the same work,
//! counted the same way, ending with the same `summary:` line, so that runs of different stages can
//! be compared (and `docs/measure` can parse them). The README says which module holds what;
//! `testing` (with the cargo feature `testing`) is what the stages' `tests/cli.rs` share.

pub mod args;
pub mod demo;
pub mod limits;
pub mod output;
pub mod record;
pub mod summary;
pub mod table;
pub mod task;
#[cfg(feature = "testing")]
pub mod testing;
pub mod track;

pub use args::{BoundedPoolArgs, CollectArgs, Policy, PoolArgs, TaskArgs, exit_invalid};
pub use demo::{Collected, HandedTask, Workload};
pub use limits::{
    LimitArgs, MAX_QUEUE, THREAD_LIMIT, THREADS_EXPLAINED, or_exit_if_refused, parse_count,
    parse_positive, parse_tasks, parse_workers,
};
pub use output::{Output, report};
pub use record::Recording;
pub use summary::Summary;
pub use table::{Align, Table};
pub use task::{TaskKind, TaskSpec, Work, cores, format_duration, ideal, parse_duration};
pub use track::Tracker;
