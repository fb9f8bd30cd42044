//! Stage 01: one OS thread per task, with nothing to limit how many run at once.
//!
//! This is the code the rest of the workspace replaces. Every task gets its own thread, so all
//! of them start immediately and the number of threads grows with the input. With a handful of
//! tasks that is fast and simple. With tens of thousands, the process runs into the operating
//! system's limits on threads, and `thread::Builder::spawn` starts returning errors.
//!
//! Spawning goes through a seam: [`spawn_all`] takes the function that starts one thread as a
//! parameter. The demo passes [`spawn_thread`], the real thing. A test can pass a function that
//! refuses after a few threads, and so exercise the failure path without exhausting the machine.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use stage01_unbounded_spawn::{spawn_all, spawn_thread, Task};
//!
//! let done = Arc::new(AtomicUsize::new(0));
//! let tasks = (0..10).map(|_| -> Task {
//!     let done = Arc::clone(&done);
//!     Box::new(move || {
//!         done.fetch_add(1, Ordering::SeqCst);
//!     })
//! });
//! let spawned = spawn_all(tasks, spawn_thread);
//! assert_eq!(spawned.started(), 10);
//! assert!(spawned.error().is_none());
//! assert_eq!(spawned.join(), 0, "no thread panicked");
//! assert_eq!(done.load(Ordering::SeqCst), 10);
//! ```

use std::io;
use std::thread::{self, JoinHandle};

/// A task as its thread runs it: any closure that can move to another thread.
pub type Task = Box<dyn FnOnce() + Send + 'static>;

/// Starts a thread called `name` that runs `task`: the spawner the demo gives to [`spawn_all`].
///
/// `thread::Builder` rather than `thread::spawn`, because `thread::spawn` panics when the
/// operating system refuses a thread, and that refusal is exactly what this stage is about.
///
/// # Errors
///
/// Returns the operating system's error when it cannot start another thread; see
/// [`likely_limit`] for what the common ones mean.
pub fn spawn_thread(name: String, task: Task) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name(name).spawn(task)
}

/// Starts one thread per task, named `task-0`, `task-1`, ..., using `spawn` to start each one.
///
/// Stops at the first error: once the operating system has refused a thread, asking again in
/// a tight loop only makes the shortage worse for every other process. The task that was
/// refused and the ones after it never run; [`Spawned`] says how many threads did start.
pub fn spawn_all<I, S>(tasks: I, mut spawn: S) -> Spawned
where
    I: IntoIterator<Item = Task>,
    S: FnMut(String, Task) -> io::Result<JoinHandle<()>>,
{
    let mut threads = Vec::new();
    for (id, task) in tasks.into_iter().enumerate() {
        match spawn(format!("task-{id}"), task) {
            Ok(thread) => threads.push(thread),
            Err(error) => {
                return Spawned {
                    threads,
                    error: Some(error),
                };
            }
        }
    }
    Spawned {
        threads,
        error: None,
    }
}

/// The outcome of [`spawn_all`]: the threads that started and, if the operating system refused
/// one, its error.
///
/// The threads keep running until [`Spawned::join`] waits for them. Dropping a `Spawned`
/// without joining detaches them instead: they still run, but nobody waits for them.
#[derive(Debug)]
#[must_use = "join the threads, or they may still be running when the program exits"]
pub struct Spawned {
    threads: Vec<JoinHandle<()>>,
    error: Option<io::Error>,
}

impl Spawned {
    /// How many threads started, one per task from the first.
    pub fn started(&self) -> usize {
        self.threads.len()
    }

    /// The error that stopped the spawning, if any.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Waits for every thread that started, and returns how many of them panicked.
    ///
    /// A panic ends only the thread it happens in, so the other threads are still joined.
    ///
    /// # Panics
    ///
    /// Panics, once every thread has been joined, if dropping a panicked thread's payload
    /// panics: a panic can carry any value, and that value's `Drop` runs here. Should a second
    /// payload panic too, it does so while the first panic unwinds, and the process aborts.
    pub fn join(self) -> usize {
        // Every thread is joined before any payload is dropped, so that such a panic cannot
        // leave the remaining threads unjoined.
        let outcomes: Vec<_> = self.threads.into_iter().map(JoinHandle::join).collect();
        outcomes.iter().filter(|outcome| outcome.is_err()).count()
    }
}

/// Which limit a thread-spawning error usually means on Linux, or `None` for an unusual error.
///
/// ```
/// use std::io;
/// use stage01_unbounded_spawn::likely_limit;
///
/// let refused = io::Error::from(io::ErrorKind::WouldBlock);
/// assert!(likely_limit(&refused).unwrap().contains("kernel.pid_max"));
/// ```
pub fn likely_limit(error: &io::Error) -> Option<&'static str> {
    // Rust reports EAGAIN as `WouldBlock` and ENOMEM as `OutOfMemory`. glibc turns a failed
    // stack allocation into EAGAIN as well, which is why the mapping count shows up there.
    match error.kind() {
        io::ErrorKind::WouldBlock => Some(
            "EAGAIN usually means a limit on threads was reached: the pid space \
             (kernel.pid_max), the system-wide thread count (kernel.threads-max), the per-user \
             process limit (ulimit -u), or the number of memory mappings, which every thread \
             stack adds to (vm.max_map_count)",
        ),
        io::ErrorKind::OutOfMemory => Some(
            "ENOMEM usually means memory ran out: the kernel would not commit memory for \
             another thread (RAM plus swap, under the vm.overcommit_memory policy)",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_common_spawn_error_names_its_limits() {
        let hint = |kind| likely_limit(&io::Error::from(kind));
        let eagain = hint(io::ErrorKind::WouldBlock).unwrap();
        for limit in [
            "kernel.pid_max",
            "kernel.threads-max",
            "ulimit -u",
            "vm.max_map_count",
        ] {
            assert!(eagain.contains(limit), "EAGAIN hint lacks {limit}");
        }
        assert!(
            hint(io::ErrorKind::OutOfMemory)
                .unwrap()
                .contains("overcommit")
        );
        assert_eq!(hint(io::ErrorKind::PermissionDenied), None);
    }
}
