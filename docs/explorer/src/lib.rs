//! The explorer: a page, served on loopback, that runs the stages' real pools while a room
//! watches.
//!
//! `cargo run --release -p explorer` serves it on <http://127.0.0.1:7878/>. The learner picks a
//! stage and its flags and presses Run; the server runs that stage's pool, from the stage's own
//! library, through the harness, as the stage's demo does, and streams what the harness's
//! recorder sees as it happens. The page draws a lane per worker, each task as it starts and
//! ends, the submitter's waits, the queue's depth, and the counters; at the end, the time
//! against the ideal, the command line that runs the same in a terminal, and the trace for
//! Perfetto. `docs/explorer/README.md` says more.
//!
//! - [`params`]: what a page may ask for, checked as the demos check their flags;
//! - [`run`]: running a stage, cancellably;
//! - `stream`: the run's events to the page, batched;
//! - [`guard`]: what keeps other sites out;
//! - [`server`]: the routes.

pub mod guard;
mod page;
pub mod params;
pub mod run;
pub mod server;
mod stream;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::panic;

use stage05_panic_resilient::panic_message;
use tokio::net::TcpListener;

pub use server::Explorer;
pub use stream::{BATCH_EVERY, REJECTED};

/// The port the explorer serves on unless `--port` says otherwise.
pub const DEFAULT_PORT: u16 = 7878;

/// Listens on `port` of 127.0.0.1, and nowhere else: no other machine can reach the explorer.
/// Port 0 picks a free port.
///
/// # Errors
///
/// Returns the message to print: for a port in use, one that says so and names `--port`.
pub async fn bind(port: u16) -> Result<TcpListener, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(address).await.map_err(|error| {
        if error.kind() == io::ErrorKind::AddrInUse {
            format!(
                "error: port {port} of 127.0.0.1 is in use, by another explorer or another \
                 program: choose another one with --port, such as --port {}",
                port.wrapping_add(1)
            )
        } else {
            format!("error: cannot listen on {address}: {error} (choose another port with --port)")
        }
    })
}

/// Keeps the panics that tasks make on purpose (stages 04 and 05, `task N failed on purpose`)
/// off stderr, where a room would see a backtrace per panic; the page counts them instead. Any
/// other panic is reported as before. Call it once, from `main`: the panic hook belongs to the
/// whole process, so a library never sets it on its own.
pub fn quiet_planned_panics() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !panic_message(info.payload()).ends_with(harness::PLANNED_PANIC) {
            default_hook(info);
        }
    }));
}
