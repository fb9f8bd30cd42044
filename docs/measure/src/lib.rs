//! `measure` runs every stage of the workspace (and a few well-known peers) as a child process,
//! measures each run from outside in the same way, prints the tables, and rewrites the generated
//! parts of `docs/README.md` and the charts in `docs/charts/`.
//! A library too, so that the bench, the cost ladder and the binary ([`run`]) time the same code.

mod chart;
mod cli;
pub mod ladder;
mod outputs;
mod peer;
mod probe;
mod prose;
mod report;
pub mod runs;
mod scenario;
mod stages;
mod timeline;

pub use cli::run;
