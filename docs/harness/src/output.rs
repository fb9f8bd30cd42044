//! Standard output and standard error without `println!`'s panic on a closed pipe or a full disk,
//! which a task would be blamed for: a failed write ends that output, never the program.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

/// A demo's standard output, shared by its tasks and its `main`, remembering the first failed
/// write, after which it prints nothing more.
#[derive(Debug, Default)]
pub struct Output {
    failed: OnceLock<io::Error>,
}

impl Output {
    /// Prints `line` and a newline, like `println!`, but never panics.
    pub fn line(&self, line: impl fmt::Display) {
        self.print(format_args!("{line}\n"));
    }

    /// Prints `text` as it is, like `print!`, but never panics.
    pub fn print(&self, text: impl fmt::Display) {
        if self.failed.get().is_none() {
            // Locked for the whole write, so that lines from different threads never mix.
            let written = write!(io::stdout().lock(), "{text}");
            self.record(written);
        }
    }

    /// The exit status: 0 if the run `succeeded` and its output was written, else 1. A failed
    /// write is reported on stderr, unless it met a closed pipe (`demo | head -1`).
    pub fn exit_code(&self, succeeded: bool) -> ExitCode {
        self.record(io::stdout().flush());
        if let Some(error) = self.failure() {
            report(format_args!("error: could not write to stdout: {error}"));
        } else if succeeded {
            return ExitCode::SUCCESS;
        }
        ExitCode::FAILURE
    }

    /// Keeps the error of `written`, if it is the first: the ones after it are its consequences.
    fn record(&self, written: io::Result<()>) {
        if let Err(error) = written {
            let _ = self.failed.set(error);
        }
    }

    /// The failed write to report, if any: a closed pipe is not one.
    fn failure(&self) -> Option<&io::Error> {
        self.failed
            .get()
            .filter(|error| error.kind() != io::ErrorKind::BrokenPipe)
    }
}

/// Writes `message` and a newline to stderr, like `eprintln!`, but never panics: a message that
/// cannot be written is dropped, since there is nowhere left to say it. For every stderr line.
pub fn report(message: impl fmt::Display) {
    // Formatted first and written at once: stderr is unbuffered, so `writeln!` would write each
    // piece on its own, and a panic message, which takes no lock, could land between them.
    let line = format!("{message}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_error_is_kept_and_a_closed_pipe_is_not_reported() {
        let output = Output::default();
        output.record(Ok(()));
        assert!(output.failure().is_none());
        output.record(Err(io::Error::from(io::ErrorKind::StorageFull)));
        output.record(Err(io::Error::other("a consequence")));
        let failure = output.failure().expect("a full disk is reported");
        assert_eq!(failure.kind(), io::ErrorKind::StorageFull);

        let piped = Output::default();
        piped.record(Err(io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(piped.failure().is_none());
    }
}
