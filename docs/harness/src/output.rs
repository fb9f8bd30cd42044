//! Standard output and standard error the way command-line tools treat them: a write that fails
//! ends nothing but that output, and never the program.
//!
//! `println!` panics when stdout is a closed pipe (`demo | head -1`) or a full disk
//! (`demo > /dev/full`). Called from a task, that panic is blamed on the task: it kills a worker,
//! or is counted as the task's own panic. Here a failed write is remembered instead, later lines
//! are skipped, and [`Output::exit_code`] decides at the end: a closed pipe means the reader has
//! seen enough, so the program ends quietly; any other error is reported once, with status 1.
//!
//! `eprintln!` panics the same way when stderr cannot be written (`demo 2>/dev/full`, or
//! `demo 2>&1 | head -1`), and a panic in `main` ends the demo with status 101 before its summary.
//! So the demos write to stderr only through [`report`], which drops what it cannot write.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

/// A demo's standard output, shared by its tasks and its `main`, remembering the first write that
/// failed.
#[derive(Debug, Default)]
pub struct Output {
    failed: OnceLock<io::Error>,
}

impl Output {
    /// Prints `line` and a newline, like `println!`, but never panics. After a failed write, prints
    /// nothing more.
    pub fn line(&self, line: impl fmt::Display) {
        self.print(format_args!("{line}\n"));
    }

    /// Prints `text` as it is, like `print!`, but never panics. After a failed write, prints
    /// nothing more.
    pub fn print(&self, text: impl fmt::Display) {
        if self.failed.get().is_none() {
            // Locked for the whole write, so that lines from different threads never mix.
            let written = write!(io::stdout().lock(), "{text}");
            self.record(written);
        }
    }

    /// The exit status of a run, once its output is checked: 0 if the run `succeeded` and its
    /// output was written, else 1. A write that failed for any reason but a closed pipe is
    /// reported on stderr, once.
    pub fn exit_code(&self, succeeded: bool) -> ExitCode {
        self.record(io::stdout().flush());
        if let Some(error) = self.failure() {
            report(format_args!("error: could not write to stdout: {error}"));
            return ExitCode::FAILURE;
        }
        if succeeded {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    /// Keeps the error of `written`, if it is the first.
    fn record(&self, written: io::Result<()>) {
        if let Err(error) = written {
            // Only the first error is kept: the ones after it are its consequences.
            let _ = self.failed.set(error);
        }
    }

    /// The failed write to report, if any. A closed pipe is not one: `demo | head -1` asked for it.
    fn failure(&self) -> Option<&io::Error> {
        self.failed
            .get()
            .filter(|error| error.kind() != io::ErrorKind::BrokenPipe)
    }
}

/// Writes `message` and a newline to stderr, like `eprintln!`, but never panics: a message that
/// cannot be written is dropped. Use it for every line a demo prints on stderr.
///
/// Dropped, because there is nowhere left to say it: stdout carries the demo's lines, whose last
/// must stay the summary. Nothing else is lost: the run goes on, still ends with its summary, and
/// with the exit status it would have had.
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
    fn only_the_first_error_is_kept() {
        let output = Output::default();
        output.record(Ok(()));
        assert!(output.failure().is_none());
        output.record(Err(io::Error::from(io::ErrorKind::StorageFull)));
        output.record(Err(io::Error::other("a consequence")));
        let failure = output.failure().expect("a full disk is reported");
        assert_eq!(failure.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_to_report() {
        let output = Output::default();
        output.record(Err(io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(output.failure().is_none());
    }
}
