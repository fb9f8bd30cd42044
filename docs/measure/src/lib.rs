//! `measure` runs every stage of the workspace (and a few well-known peers) as a child process,
//! measures each run from outside in the same way, prints the tables, and rewrites the generated
//! parts of `docs/README.md` and the charts in `docs/charts/`.
//!
//! ```text
//! cargo run --release -p measure                       # every scenario, rewrites docs/
//! cargo run --release -p measure -- --quick            # small sizes, prints only
//! cargo run --release -p measure -- --scenario scaling # one scenario
//! cargo run --release -p measure -- peer tokio --tasks 1000 --task sleep:100ms --workers 2
//! ```
//!
//! A library as well as the binary, so that the bench (`benches/pools.rs`), the cost ladder
//! (`examples/costs.rs`) and the `costs` scenario time the same code: [`runs`] and [`ladder`].
//! The binary is [`run`].

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
