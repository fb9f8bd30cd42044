//! `cargo run --release -p explorer`: serves the explorer's page on 127.0.0.1, port 7878 unless
//! `--port` says otherwise, until Ctrl-C.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use explorer::Explorer;

/// Serves a page that runs the stages' pools and draws what they do, as they do it.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The port to serve on, on 127.0.0.1 only; 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = explorer::DEFAULT_PORT)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    explorer::quiet_planned_panics();
    let listener = match explorer::bind(args.port).await {
        Ok(listener) => listener,
        Err(message) => {
            harness::report(message);
            return ExitCode::FAILURE;
        }
    };
    // The port actually bound: with `--port 0`, the one the system picked.
    let port = match listener.local_addr() {
        Ok(address) => address.port(),
        Err(_) => args.port,
    };
    // Written and flushed at once, for whoever waits for this line; a closed stdout only loses it.
    let mut stdout = io::stdout().lock();
    let _ = writeln!(
        stdout,
        "explorer: http://127.0.0.1:{port}/ (Ctrl-C stops it)"
    );
    let _ = stdout.flush();
    drop(stdout);
    match axum::serve(listener, Explorer::new(port).router()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            harness::report(format_args!("error: the server stopped: {error}"));
            ExitCode::FAILURE
        }
    }
}
