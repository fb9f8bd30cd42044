//! What one task does, how the command line describes it, how long a run of them must take, and
//! the [`Tracker`] that counts tasks as they run, laid out for workers to disturb one another as
//! little as exact counts allow (the README explains how).

use std::fmt;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// What a task spends its time on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// Blocks the thread without using the CPU, as a database call or an HTTP request would.
    Sleep,
    /// Does a fixed amount of arithmetic, so it needs a core for the whole duration.
    Cpu,
}

/// A task as given on the command line: `sleep:100ms` or `cpu:10us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpec {
    /// Sleep or compute.
    pub kind: TaskKind,
    /// How long one task takes on one idle core.
    pub duration: Duration,
}

impl FromStr for TaskSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, duration) = text
            .split_once(':')
            .ok_or_else(|| format!("expected KIND:DURATION such as sleep:100ms, got '{text}'"))?;
        let kind = match kind {
            "sleep" => TaskKind::Sleep,
            "cpu" => TaskKind::Cpu,
            other => {
                return Err(format!(
                    "unknown task kind '{other}' (expected sleep or cpu)"
                ));
            }
        };
        let duration = parse_duration(duration)?;
        Ok(TaskSpec { kind, duration })
    }
}

impl fmt::Display for TaskSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TaskKind::Sleep => "sleep",
            TaskKind::Cpu => "cpu",
        };
        write!(f, "{kind}:{}", format_duration(self.duration))
    }
}

/// Parses `250ms`-style durations: a whole number followed by `ns`, `us`, `ms` or `s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.is_empty() {
        return Err("missing duration after the kind, e.g. sleep:100ms".to_string());
    }
    let split = text.find(|c: char| !c.is_ascii_digit());
    let (number, unit) = text.split_at(split.unwrap_or(text.len()));
    if number.is_empty() {
        return Err(format!("duration '{text}' must start with a whole number"));
    }
    let nanos_per_unit: u64 = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "" => return Err(format!("duration '{text}' needs a unit: ns, us, ms or s")),
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}' (use ns, us, ms or s)"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(nanos_per_unit))
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("duration '{text}' is too large"))
}

/// A duration in the largest unit that shows it exactly, so `sleep:50ms` prints back as given.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    for (unit, size) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if nanos > 0 && nanos % size == 0 {
            return format!("{}{unit}", nanos / size);
        }
    }
    format!("{nanos}ns")
}

/// A task ready to run: for CPU work, a number of loop iterations calibrated on this machine.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    spec: TaskSpec,
    iterations: u64,
}

impl Work {
    /// Prepares `spec`, calibrating CPU work once, on this (assumed idle) core.
    pub fn new(spec: TaskSpec) -> Self {
        let iterations = match spec.kind {
            TaskKind::Sleep => 0,
            TaskKind::Cpu => {
                (spec.duration.as_nanos() as f64 / nanos_per_iteration()).round() as u64
            }
        };
        Work { spec, iterations }
    }

    /// Runs one task on the current thread.
    pub fn run(&self) {
        match self.spec.kind {
            TaskKind::Sleep => thread::sleep(self.spec.duration),
            TaskKind::Cpu => {
                black_box(spin(black_box(self.iterations)));
            }
        }
    }
}

/// A xorshift loop: cheap per iteration, and `black_box` keeps the compiler from removing it.
fn spin(iterations: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// Best of five timed runs: the fastest run is the one least disturbed by other processes.
fn nanos_per_iteration() -> f64 {
    const ITERATIONS: u64 = 2_000_000;
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(spin(black_box(ITERATIONS)));
            start.elapsed()
        })
        .min()
        .unwrap_or(Duration::from_millis(1));
    best.as_nanos().max(1) as f64 / ITERATIONS as f64
}

/// The shortest possible run of `tasks` tasks of `spec` on `workers` threads: sleep tasks run in
/// waves of `workers`, CPU tasks overlap only as far as there are cores to run them.
pub fn ideal(spec: TaskSpec, tasks: usize, workers: usize) -> Duration {
    let workers = workers.max(1);
    let waves = match spec.kind {
        TaskKind::Sleep => tasks.div_ceil(workers) as f64,
        TaskKind::Cpu => tasks as f64 / workers.min(cores()) as f64,
    };
    spec.duration.mul_f64(waves)
}

/// The number of cores this process may use (cgroup quotas and affinity included).
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many cache-padded slots the outcome counts are spread over; more threads share them.
const SLOTS: usize = 16;

/// Counts tasks as they run: how many ran at once, and how each ended; exact once all are joined.
#[derive(Debug, Default)]
pub struct Tracker {
    in_flight: CacheLine<InFlight>,
    outcomes: [CacheLine<Outcomes>; SLOTS],
}

/// The counters that every start and every end of a task update, whichever thread it runs on.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// How the tasks of the threads that share one slot ended.
#[derive(Debug, Default)]
struct Outcomes {
    completed: AtomicUsize,
    panicked: AtomicUsize,
}

/// A value alone on its cache line: aligned, and so padded, to 128 bytes (x86-64 fetches pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct CacheLine<T>(T);

impl Tracker {
    /// Marks a task as running until the returned guard is dropped.
    pub fn start(&self) -> Running<'_> {
        // `Relaxed` throughout: no update of one atomic is ever lost, and joining the tasks
        // orders every update before the read.
        let in_flight = &self.in_flight.0;
        let now = in_flight.now.fetch_add(1, Ordering::Relaxed) + 1;
        // A load leaves the line shared when the peak is not beaten; `fetch_max` keeps the
        // larger of two racing peaks.
        if now > in_flight.max.load(Ordering::Relaxed) {
            in_flight.max.fetch_max(now, Ordering::Relaxed);
        }
        Running { tracker: self }
    }

    /// The most tasks that were running at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.0.max.load(Ordering::Relaxed)
    }

    /// Tasks that returned normally.
    pub fn completed(&self) -> usize {
        self.sum(|outcomes| &outcomes.completed)
    }

    /// Tasks that panicked.
    pub fn panicked(&self) -> usize {
        self.sum(|outcomes| &outcomes.panicked)
    }

    fn sum(&self, count: impl Fn(&Outcomes) -> &AtomicUsize) -> usize {
        self.outcomes
            .iter()
            .map(|slot| count(&slot.0).load(Ordering::Relaxed))
            .sum()
    }
}

/// The slot of the current thread: threads take the slots in turn as they first count a task.
fn slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|slot| *slot)
}

/// One running task. A guard rather than a pair of calls, so that a task that panics is still
/// counted: `Drop` runs while the panic unwinds.
#[derive(Debug)]
pub struct Running<'a> {
    tracker: &'a Tracker,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let outcomes = &self.tracker.outcomes[slot()].0;
        let outcome = if thread::panicking() {
            &outcomes.panicked
        } else {
            &outcomes.completed
        };
        outcome.fetch_add(1, Ordering::Relaxed);
        self.tracker.in_flight.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    #[test]
    fn task_specs_round_trip_and_bad_ones_say_what_is_wrong() {
        let sleeps = ["sleep:100ms", "sleep:0ns", "sleep:1500us"];
        for text in sleeps.into_iter().chain(["cpu:10us", "cpu:2s"]) {
            assert_eq!(text.parse::<TaskSpec>().unwrap().to_string(), text);
        }
        for (text, expected) in [
            ("cpu:", "missing duration"),
            ("gpu:1ms", "unknown task kind 'gpu'"),
            ("sleep:10parsecs", "unknown unit 'parsecs'"),
            ("sleep:10", "needs a unit"),
            ("sleep", "KIND:DURATION"),
            ("sleep:ms", "whole number"),
            ("sleep:99999999999999999999s", "too large"),
        ] {
            let error = text.parse::<TaskSpec>().unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn ideal_time_follows_the_kind_of_work() {
        let sleep = "sleep:50ms".parse().unwrap();
        assert_eq!(ideal(sleep, 100, 4), Duration::from_millis(1250));
        assert_eq!(ideal(sleep, 101, 4), Duration::from_millis(1300));
        let cpu: TaskSpec = "cpu:10ms".parse().unwrap();
        let expected = Duration::from_millis(10).mul_f64(8.0 / 4.min(cores()) as f64);
        assert_eq!(ideal(cpu, 8, 4), expected);
    }

    #[test]
    fn counts_from_many_threads_and_panics_add_up_exactly() {
        // More threads than slots, so that some of them share a slot.
        const THREADS: usize = SLOTS + 4;
        const TASKS: usize = 1_000;
        let tracker = Tracker::default();
        let all_running = Barrier::new(THREADS);
        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    // Each thread holds its first task until every thread holds one: the peak
                    // is all of them, and no more, since a thread runs one at a time.
                    let first = tracker.start();
                    all_running.wait();
                    drop(first);
                    for _ in 1..TASKS {
                        drop(tracker.start());
                    }
                });
            }
        });
        // A task that panics is counted as the guard drops while it unwinds.
        let result = std::panic::catch_unwind(|| {
            let _running = tracker.start();
            panic!("task failed");
        });
        assert!(result.is_err());
        assert_eq!(tracker.completed(), THREADS * TASKS);
        assert_eq!(tracker.panicked(), 1);
        assert_eq!(tracker.max_in_flight(), THREADS);
    }
}
