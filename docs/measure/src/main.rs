//! `measure`: see the library's documentation, and `cargo run -p measure -- --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    measure::run()
}
