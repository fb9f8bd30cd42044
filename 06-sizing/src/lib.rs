//! Stage 06: how many workers should a pool have, and how much work should each task carry?
//!
//! The pool is stage 05's [`ResilientPool`](stage05_panic_resilient::ResilientPool), used as a
//! library. This crate holds the arithmetic that turns measurements into a size, tested without a
//! clock: [`littles_law_workers`] for tasks that wait, the [`knee`] of a sweep over sizes,
//! [`smallest_passing`] to find a size in few probes, the sizes a sweep tries ([`pool_sizes`],
//! [`BATCH_SIZES`] with [`task_ranges`]), and the [`Latencies`] of tasks.
//!
//! ```
//! use std::time::Duration;
//! use stage06_sizing::{KNEE_TOLERANCE, Sample, knee, littles_law_workers};
//!
//! // 400 requests per second that each wait 20 ms on a database keep 8 workers busy.
//! assert_eq!(littles_law_workers(400.0, Duration::from_millis(20)), 8);
//!
//! // Two workers are within 10% of the best throughput: a third is not worth a thread.
//! let sweep = [(1, 980.0), (2, 1900.0), (3, 1950.0)];
//! let sweep = sweep.map(|(size, throughput)| Sample { size, throughput });
//! assert_eq!(knee(&sweep, KNEE_TOLERANCE).map(|s| s.size), Some(2));
//! ```

use std::iter;
use std::ops::Range;
use std::time::Duration;

/// How far below the best throughput a pool may be and still count as "as fast" in [`knee`].
///
/// Ten percent, because repeated runs on a shared two-core machine differ by about five: a
/// tighter tolerance would pick whichever size happened to be lucky, a looser one would call a
/// pool that is visibly slower good enough.
pub const KNEE_TOLERANCE: f64 = 0.10;

/// The same for the items per task: five percent. Tighter than for pools, because a larger
/// batch costs no thread and no memory, only latency.
pub const BATCH_KNEE_TOLERANCE: f64 = 0.05;

/// Items per task that the `batch` experiment tries: from one (a hand-over per item) to 4,096.
pub const BATCH_SIZES: [usize; 7] = [1, 4, 16, 64, 256, 1024, 4096];

/// The throughput measured at one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Worker threads in the pool, or for the `batch` experiment items per task.
    pub size: usize,
    /// Tasks (or items) completed per second of wall time.
    pub throughput: f64,
}

/// The number of workers that Little's law says `tasks_per_s` tasks of `latency` each keep busy,
/// rounded up, and never below 1.
///
/// Little's law: the average number of tasks in a system equals their arrival rate times the
/// time each one spends there (L = λ × W). A worker that waits on IO is occupied for the whole
/// latency, so a pool that must finish `tasks_per_s` tasks per second needs at least this many
/// workers. It is a lower bound at full utilisation: any latency above `latency` (scheduling,
/// timer slack, a slow disk) needs more.
///
/// # Panics
///
/// Panics if `tasks_per_s` is negative, infinite or NaN.
pub fn littles_law_workers(tasks_per_s: f64, latency: Duration) -> usize {
    assert!(
        tasks_per_s.is_finite() && tasks_per_s >= 0.0,
        "a throughput must be a finite, non-negative number, got {tasks_per_s}"
    );
    let busy = tasks_per_s * latency.as_secs_f64();
    // 400.0 * 0.02 may come out as 8.000000000000002; without the nudge that would ask for 9.
    (busy - 1e-9).ceil().max(1.0) as usize
}

/// The throughput Little's law allows `workers` workers when each task holds one for `latency`:
/// `workers / latency` tasks per second (infinite for a latency of zero).
pub fn littles_law_throughput(workers: usize, latency: Duration) -> f64 {
    workers as f64 / latency.as_secs_f64()
}

/// The sample with the highest throughput, or `None` if there are no samples.
pub fn fastest(samples: &[Sample]) -> Option<Sample> {
    let highest = |a: &&Sample, b: &&Sample| a.throughput.total_cmp(&b.throughput);
    samples.iter().max_by(highest).copied()
}

/// The smallest size whose throughput is within `tolerance` (0.10 is 10%) of the [`fastest`]
/// in `samples`, in any order, or `None` if there are no samples.
///
/// Throughput rises with workers until the cores are busy, then stays flat or falls. The knee is
/// where it stops rising: past it, more threads cost memory and context switches and buy nothing.
///
/// # Panics
///
/// Panics if `tolerance` is not in `0.0..1.0`.
pub fn knee(samples: &[Sample], tolerance: f64) -> Option<Sample> {
    assert!(
        (0.0..1.0).contains(&tolerance),
        "the tolerance is a fraction in 0.0..1.0, got {tolerance}"
    );
    let best = fastest(samples)?.throughput;
    samples
        .iter()
        .filter(|sample| sample.throughput >= best * (1.0 - tolerance))
        .min_by_key(|sample| sample.size)
        .copied()
}

/// The smallest size in `1..=max` for which `passes` returns true, or `None` if even `max` fails.
///
/// It assumes that a pool that passes keeps passing when it grows (a larger IO pool is never
/// slower), so it probes 1, 2, 4, 8, ... until one passes and then bisects between the last
/// failure and that success. Finding 100 takes 14 probes, not 100: each probe is a measurement
/// that takes real time. No size is probed twice.
pub fn smallest_passing(max: usize, mut passes: impl FnMut(usize) -> bool) -> Option<usize> {
    if max == 0 {
        return None;
    }
    let (mut failed, mut probe) = (0, 1);
    let mut passed = loop {
        if passes(probe) {
            break probe;
        }
        if probe == max {
            return None;
        }
        failed = probe;
        probe = probe.saturating_mul(2).min(max);
    };
    // `failed` fails (or is 0) and `passed` passes: bisect until they are neighbours.
    while passed - failed > 1 {
        let middle = failed + (passed - failed) / 2;
        if passes(middle) {
            passed = middle;
        } else {
            failed = middle;
        }
    }
    Some(passed)
}

/// The pool sizes a sweep of CPU-bound work tries: every size from 1 to 8, then 16, 32, 64, ...,
/// plus `cores` and its multiples up to 4 × `cores`, never above `max`.
///
/// Every small size, because that is where the knee of a laptop or a small VM lies; coarser steps
/// above, because a 64-core machine need not try all 256 sizes up to 4 × cores.
pub fn pool_sizes(cores: usize, max: usize) -> Vec<usize> {
    let small = 1..=max.min(8);
    let doubling = iter::successors(Some(16_usize), |&size| size.checked_mul(2));
    let coarse = doubling.take_while(|&size| size <= max);
    let cores = (1..=4)
        .map(|factor| cores.saturating_mul(factor))
        .filter(|&size| (1..=max).contains(&size));
    let mut sizes: Vec<usize> = small.chain(coarse).chain(cores).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The items of each task when `items` items go out `per_task` at a time: full tasks, then one
/// with the remainder, if there is one; `items.div_ceil(per_task)` ranges in all.
///
/// # Panics
///
/// Panics if `per_task` is 0.
pub fn task_ranges(items: usize, per_task: usize) -> impl Iterator<Item = Range<usize>> {
    (0..items)
        .step_by(per_task)
        .map(move |start| start..items.min(start + per_task))
}

/// Task latencies, sorted once so that any percentile is a lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    /// Collects `samples`, in any order.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Latencies { sorted: samples }
    }

    /// The samples, shortest first.
    pub fn iter(&self) -> impl Iterator<Item = Duration> + '_ {
        self.sorted.iter().copied()
    }

    /// The arithmetic mean, or `None` if there are no samples (or more than `u32::MAX`).
    pub fn mean(&self) -> Option<Duration> {
        let count = u32::try_from(self.sorted.len()).ok()?;
        self.sorted.iter().sum::<Duration>().checked_div(count)
    }

    /// The `p`th percentile by the nearest-rank method: the smallest sample that at least `p`
    /// percent of the samples do not exceed, so always a latency that some task really had.
    /// `percentile(50.0)` is the median, `percentile(100.0)` the maximum. `None` if there are no
    /// samples.
    ///
    /// # Panics
    ///
    /// Panics if `p` is not in `0.0..=100.0`.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        assert!(
            (0.0..=100.0).contains(&p),
            "a percentile is in 0.0..=100.0, got {p}"
        );
        let rank = (p / 100.0 * self.sorted.len() as f64).ceil() as usize;
        self.sorted.get(rank.saturating_sub(1)).copied()
    }
}
