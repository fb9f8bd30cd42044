//! What every stage's demo shares, so that each `main.rs` shows only its own pool.
//!
//! The stages are compared on exactly the same work, counted in exactly the same way, and each run
//! ends with the same `summary:` line, so that runs of different stages can be read side by side
//! (and `docs/measure` can parse them). That common ground lives here, once:
//!
//! - [`task`]: what one task does (`sleep:100ms` or `cpu:10us`), calibrated [`Work`], and the
//!   [`ideal`] time for a run;
//! - [`track`]: the [`Tracker`] that counts tasks as they run and end;
//! - [`demo`]: a run's [`Workload`], shared by its tasks ([`HandedTask`]), and the results of
//!   stages 04 and 05;
//! - [`record`]: what `--timeline` and `--trace` show, recorded per thread: the [`Recording`],
//!   drawn as text or written as a trace for Perfetto;
//! - [`args`]: the flags every demo takes, as clap structs to `#[command(flatten)]`, and the
//!   full-queue [`Policy`];
//! - [`limits`]: the most tasks, queue slots and threads a demo accepts, `--no-limit`, and
//!   [`or_exit_if_refused`], which explains a thread the system refused;
//! - [`output`]: the [`Output`] that prints lines without ever panicking, and decides at the end
//!   what a failed write means, and [`report`], which writes to stderr without ever panicking;
//! - [`summary`]: the [`Summary`] line;
//! - `testing` (with the cargo feature `testing`): what the stages' `tests/cli.rs` share.
//!
//! Nothing here knows about a pool: the demos bring their own.

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
