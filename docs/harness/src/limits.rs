//! The limits on what the demos' flags may ask for (see the README for where each comes from),
//! and what a demo does when the system refuses a thread anyway.

use std::fmt;
use std::num::IntErrorKind;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::process;
use std::sync::Arc;
use std::thread;

use clap::{Args, CommandFactory};

use crate::args::exit_invalid;
use crate::demo::report;

/// The most tasks a demo runs (`--tasks`), and the most threads it starts even with `--no-limit`:
/// near it, stages 04 and 05 already hold gigabytes of handles.
pub const MAX_TASKS: usize = 10_000_000;

/// The most slots a bounded queue may have (`--queue`): crossbeam allocates every slot up front.
pub const MAX_QUEUE: usize = 1_000_000;

/// The most threads a demo starts at once without `--no-limit` (in stage 06, every thread of an
/// experiment's pools together). Why: see [`THREADS_EXPLAINED`].
pub const THREAD_LIMIT: usize = 10_000;

/// Why [`THREAD_LIMIT`] exists: printed when the demo or the system refuses a thread.
pub const THREADS_EXPLAINED: &str = "\
Each OS thread takes a process id from a pool that the whole machine shares (kernel.pid_max), \
counts against the limits on threads (kernel.threads-max, ulimit -u), and maps a stack of its own \
(vm.max_map_count). Reported from one run on a 2-core Linux VM (pid_max 32,768), the tutorial's \
50,000 threads ran out at spawn 31,705: other programs could no longer start processes, and the \
process then aborted. docs/README.md measures what 10,000 threads cost under \"IO at scale\", and \
stage 01's README tells that run. --no-limit lifts the limit, for a machine nobody else depends on.";

/// The escape from [`THREAD_LIMIT`], taken by every demo that starts threads.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Allow more than 10000 threads. They can use up the process ids of the whole machine and
    /// stop other programs from starting: read stage 01's README first.
    // Global, so that stage 06 takes it before or after its subcommand.
    #[arg(long, global = true)]
    pub no_limit: bool,
}

impl LimitArgs {
    /// Exits with status 2 if `flag` asks for over [`THREAD_LIMIT`] `threads` without `--no-limit`.
    pub fn check<A: CommandFactory>(&self, flag: &str, threads: usize) {
        self.check_described::<A>(threads, format_args!("{flag} {threads} is"));
    }

    /// [`LimitArgs::check`] for `threads` that `what` describes, as the error's first words.
    pub fn check_described<A: CommandFactory>(&self, threads: usize, what: impl fmt::Display) {
        if threads > THREAD_LIMIT && !self.no_limit {
            exit_invalid::<A>(format!(
                "{what} above the safety limit of {THREAD_LIMIT} threads without --no-limit\n\n\
                 {THREADS_EXPLAINED}"
            ));
        }
    }
}

/// Parses `--tasks`: from 1 to [`MAX_TASKS`]. Every parser here names the bound a number breaks.
pub fn parse_tasks(text: &str) -> Result<usize, String> {
    parse_between(text, 1, MAX_TASKS, "the most tasks a demo runs")
}

/// Parses `--workers`: from 1 to [`MAX_TASKS`]; [`LimitArgs::check`] applies [`THREAD_LIMIT`].
pub fn parse_workers(text: &str) -> Result<usize, String> {
    let why = "the most threads a demo starts, even with --no-limit";
    parse_between(text, 1, MAX_TASKS, why)
}

/// Parses `--queue`: from 0 (hand each task straight to a worker) to [`MAX_QUEUE`].
pub fn parse_queue(text: &str) -> Result<usize, String> {
    let why = "a bounded queue allocates all of its slots when the pool starts";
    parse_between(text, 0, MAX_QUEUE, why)
}

/// Parses a count of at least one with no limit of its own (`--rounds`, `--panic-every`).
pub fn parse_positive(text: &str) -> Result<usize, String> {
    parse_between(text, 1, usize::MAX, NO_LIMIT)
}

/// Parses a count that may be zero, with no limit of its own (`--panic-task`).
pub fn parse_count(text: &str) -> Result<usize, String> {
    parse_between(text, 0, usize::MAX, NO_LIMIT)
}

/// Why a count with no limit of its own still has a largest value.
const NO_LIMIT: &str = "the largest number a usize holds";

/// Parses a whole number from `min` to `max`; `why` says where `max` comes from.
fn parse_between(text: &str, min: usize, max: usize, why: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n < min => Err(format!("must be at least {min}")),
        Ok(n) if n <= max => Ok(n),
        // A number too large for a `usize` is above `max` as well.
        Err(error) if *error.kind() != IntErrorKind::PosOverflow => {
            Err(format!("expected a whole number, got '{text}'"))
        }
        _ => Err(format!("must be at most {max} ({why})")),
    }
}

/// Runs `start`, such as `|| WorkerPool::new(workers, queue)`, and returns what it made; if it
/// panics because the system refused a thread, says why and exits with status 1 instead of 101.
pub fn or_exit_if_refused<P>(start: impl FnOnce() -> P) -> P {
    catch_quietly(start).unwrap_or_else(|message| {
        report(format_args!(
            "error: the system refused to start a worker thread, so the pool cannot run\n\
             note: the pool's own message: {message}\n\
             {THREADS_EXPLAINED}"
        ));
        process::exit(1)
    })
}

/// Runs `f`, and returns the message of its panic instead of letting the panic hook print it.
fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    // Nothing `f` touched is used after a panic: the demo exits.
    let outcome = with_panic_hook(|_| {}, || panic::catch_unwind(AssertUnwindSafe(f)));
    outcome.map_err(|payload| {
        let owned = payload.downcast_ref::<String>().map(String::as_str);
        let message = owned.or_else(|| payload.downcast_ref::<&str>().copied());
        message.unwrap_or("a panic without a message").to_string()
    })
}

/// Runs `f` with `hook` as the panic hook for this thread's panics; other threads' go as before.
pub(crate) fn with_panic_hook<T>(
    hook: impl Fn(&PanicHookInfo<'_>) + Send + Sync + 'static,
    f: impl FnOnce() -> T,
) -> T {
    let caller = thread::current().id();
    let previous = Arc::new(panic::take_hook());
    let for_others = Arc::clone(&previous);
    panic::set_hook(Box::new(move |info| {
        if thread::current().id() == caller {
            hook(info);
        } else {
            for_others(info);
        }
    }));
    let result = f();
    // Taking our hook back drops it, and its clone of `previous` with it.
    drop(panic::take_hook());
    if let Ok(previous) = Arc::try_unwrap(previous) {
        panic::set_hook(previous);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stop_at_their_limit_and_say_which() {
        type Parse = fn(&str) -> Result<usize, String>;
        for (parse, text, expected) in [
            (parse_tasks as Parse, "10000000", Ok(MAX_TASKS)),
            (parse_queue, "0", Ok(0)),
            (parse_queue, "1000000", Ok(MAX_QUEUE)),
            (parse_workers, "1", Ok(1)),
            (parse_positive, "4", Ok(4)),
            (parse_count, "0", Ok(0)),
        ] {
            assert_eq!(parse(text), expected, "{text}");
        }
        for (parse, text, expected) in [
            (parse_tasks as Parse, "10000001", "at most 10000000 ("),
            (parse_tasks, "18446744073709551615", "at most 10000000 ("),
            (parse_tasks, "99999999999999999999999", "at most 10000000 ("),
            (parse_tasks, "0", "at least 1"),
            (parse_workers, "18446744073709551614", "--no-limit"),
            (
                parse_queue,
                "100000000000",
                "at most 1000000 (a bounded queue",
            ),
            (parse_queue, "-1", "whole number"),
            (parse_queue, "8 slots", "whole number"),
            (parse_positive, "0", "at least 1"),
            (parse_positive, "-1", "whole number"),
            (parse_positive, "abc", "whole number"),
            (parse_count, "99999999999999999999999", "at most"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn the_explanation_points_at_the_evidence() {
        assert!(THREADS_EXPLAINED.contains("IO at scale"));
        assert!(THREADS_EXPLAINED.contains("--no-limit"));
        // Never a command that would run the harmful case, ready to paste.
        assert!(!THREADS_EXPLAINED.contains("--tasks"));
    }

    #[test]
    fn a_pool_that_starts_is_returned_and_a_refused_thread_comes_back_as_its_message() {
        assert_eq!(catch_quietly(|| 4), Ok(4));
        let refused = catch_quietly(|| -> u8 { panic!("failed to spawn: {}", "os error 11") });
        assert_eq!(refused, Err("failed to spawn: os error 11".to_string()));
        let literal = catch_quietly(|| -> u8 { panic!("no workers") });
        assert_eq!(literal, Err("no workers".to_string()));
    }
}
