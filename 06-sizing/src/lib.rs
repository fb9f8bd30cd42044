//! Stage 06: how many workers should a pool have?
//!
//! The pool itself is stage 05's [`ResilientPool`](stage05_panic_resilient::ResilientPool), used
//! here as a library: this stage is about choosing its size from numbers instead of folklore.
//! This crate holds the arithmetic that turns measurements into a size, so that it can be tested
//! without a clock:
//!
//! - [`littles_law_workers`]: how many workers IO-bound tasks need to reach a throughput.
//! - [`knee`]: the smallest pool that is nearly as fast as the fastest one measured.
//! - [`smallest_passing`]: the smallest pool size that passes a test, in few probes.
//! - [`pool_sizes`]: which sizes a sweep over CPU-bound pools should try.
//! - [`Latencies`]: mean and percentiles of task latencies.
//! - [`Table`]: the aligned tables the demo prints.
//!
//! ```
//! use std::time::Duration;
//! use stage06_sizing::{knee, littles_law_workers, Sample};
//!
//! // 400 requests per second that each wait 20 ms on a database keep 8 workers busy.
//! assert_eq!(littles_law_workers(400.0, Duration::from_millis(20)), 8);
//!
//! // Two workers are within 10% of the best throughput, so a third one is not worth a thread.
//! let sweep = [
//!     Sample { workers: 1, tasks_per_s: 980.0 },
//!     Sample { workers: 2, tasks_per_s: 1900.0 },
//!     Sample { workers: 3, tasks_per_s: 1950.0 },
//! ];
//! assert_eq!(knee(&sweep, 0.10).map(|sample| sample.workers), Some(2));
//! ```

use std::fmt;
use std::iter;
use std::time::Duration;

/// How far below the best throughput a pool may be and still count as "as fast" in [`knee`].
///
/// Ten percent, because repeated runs on a shared two-core machine differ by about five: a
/// tighter tolerance would pick whichever size happened to be lucky, a looser one would call a
/// pool that is visibly slower good enough.
pub const KNEE_TOLERANCE: f64 = 0.10;

/// The throughput measured for one pool size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Worker threads in the pool.
    pub workers: usize,
    /// Tasks completed per second of wall time.
    pub tasks_per_s: f64,
}

/// The number of workers that Little's law says `tasks_per_s` tasks of `latency` each keep busy,
/// rounded up.
///
/// Little's law: the average number of tasks in a system equals their arrival rate times the
/// time each one spends there (L = λ × W). A worker that waits on IO is occupied for the whole
/// latency, so a pool that must finish `tasks_per_s` tasks per second needs at least this many
/// workers. It is a lower bound at full utilisation: any latency above `latency` (scheduling,
/// timer slack, a slow disk) needs more, and the result is never below 1.
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
    let workers = (busy - 1e-9).ceil().max(1.0);
    workers as usize
}

/// The throughput Little's law allows `workers` workers when each task holds one for `latency`:
/// `workers / latency` tasks per second (infinite for a latency of zero).
pub fn littles_law_throughput(workers: usize, latency: Duration) -> f64 {
    workers as f64 / latency.as_secs_f64()
}

/// The smallest pool whose throughput is within `tolerance` (a fraction: 0.10 is 10%) of the best
/// in `samples`, or `None` if there are no samples.
///
/// Throughput rises with workers until the cores are busy, then stays flat or falls. The knee is
/// where it stops rising: past it, more threads cost memory and context switches and buy nothing.
/// The samples may come in any order. The `batch` experiment uses it for the items per task too:
/// `workers` is then the batch size, the other size worth keeping small.
///
/// # Panics
///
/// Panics if `tolerance` is not in `0.0..1.0`.
pub fn knee(samples: &[Sample], tolerance: f64) -> Option<Sample> {
    assert!(
        (0.0..1.0).contains(&tolerance),
        "the tolerance is a fraction in 0.0..1.0, got {tolerance}"
    );
    let best = samples
        .iter()
        .map(|s| s.tasks_per_s)
        .fold(f64::NAN, f64::max);
    let good_enough = best * (1.0 - tolerance);
    samples
        .iter()
        .filter(|sample| sample.tasks_per_s >= good_enough)
        .min_by_key(|sample| sample.workers)
        .copied()
}

/// The smallest size in `1..=max` for which `passes` returns true, or `None` if even `max` fails.
///
/// It assumes that a pool that passes keeps passing when it grows (a larger IO pool is never
/// slower), so it can probe 1, 2, 4, 8, ... until one passes and then bisect between the last
/// failure and that success. Finding 100 takes 14 probes, not 100: each probe is a measurement
/// that takes real time. No size is probed twice.
pub fn smallest_passing(max: usize, mut passes: impl FnMut(usize) -> bool) -> Option<usize> {
    if max == 0 {
        return None;
    }
    let mut failed = 0;
    let mut probe = 1;
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
    // Invariant: `failed` fails (or is 0) and `passed` passes; bisect until they are neighbours.
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

/// The pool sizes a sweep of CPU-bound work tries: every size from 1 to 8, then 12, 16, 24, 32,
/// ... (each power of two and the point halfway to the next), plus `cores` and its multiples,
/// never above `max`.
///
/// Every small size, because that is where the knee of a laptop or a small VM lies; coarser steps
/// above, because a 64-core machine need not try all 256 sizes up to 4 × cores.
pub fn pool_sizes(cores: usize, max: usize) -> Vec<usize> {
    let small = 1..=max.min(8);
    // 12, 16, 24, 32, ...: half a step after a power of two, then the next power of two.
    let coarse = iter::successors(Some(12_usize), |&size| {
        if size.is_power_of_two() {
            size.checked_add(size / 2)
        } else {
            (size / 3).checked_mul(4)
        }
    })
    .take_while(|&size| size <= max);
    let cores = (1..=4)
        .map(|factor| cores.saturating_mul(factor))
        .filter(|&size| (1..=max).contains(&size));
    let mut sizes: Vec<usize> = small.chain(coarse).chain(cores).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
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

    /// How many latencies were recorded.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no latency was recorded.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The samples, shortest first.
    pub fn iter(&self) -> impl Iterator<Item = Duration> + '_ {
        self.sorted.iter().copied()
    }

    /// The arithmetic mean, or `None` if there are no samples.
    pub fn mean(&self) -> Option<Duration> {
        if self.sorted.is_empty() {
            return None;
        }
        // Whole nanoseconds, so that the mean of 1 ms and 2 ms is exactly 1.5 ms.
        let total: Duration = self.sorted.iter().sum();
        let nanos = total.as_nanos() / self.sorted.len() as u128;
        Some(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }

    /// The `p`th percentile by the nearest-rank method: the smallest sample that at least `p`
    /// percent of the samples do not exceed. `percentile(50.0)` is the median, `percentile(100.0)`
    /// the maximum, `percentile(0.0)` the minimum. `None` if there are no samples.
    ///
    /// Nearest rank rather than interpolation, so the answer is always a latency that some task
    /// really had.
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

impl FromIterator<Duration> for Latencies {
    fn from_iter<I: IntoIterator<Item = Duration>>(samples: I) -> Self {
        Latencies::new(samples.into_iter().collect())
    }
}

/// Which side of its column a cell sticks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// For words.
    Left,
    /// For numbers, so that their digits line up.
    Right,
}

/// A plain-text table: a header row, then one row per measurement, columns padded to their widest
/// cell and separated by two spaces.
///
/// ```
/// use stage06_sizing::{Align, Table};
///
/// let mut table = Table::new(&[("workers", Align::Right), ("note", Align::Left)]);
/// table.push_row(vec!["2".to_string(), "knee".to_string()]);
/// table.push_row(vec!["16".to_string(), String::new()]);
/// assert_eq!(table.to_string(), "workers  note\n      2  knee\n     16\n");
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Starts a table with these column titles and alignments.
    pub fn new(headers: &[(&str, Align)]) -> Self {
        let headers = headers
            .iter()
            .map(|&(title, align)| (title.to_string(), align))
            .collect();
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    ///
    /// # Panics
    ///
    /// Panics if the row does not have one cell per column.
    pub fn push_row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.headers.len(),
            "a row needs one cell per column"
        );
        self.rows.push(cells);
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(title, _)| title.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }

    fn write_line<'a>(
        &self,
        f: &mut fmt::Formatter<'_>,
        widths: &[usize],
        cells: impl Iterator<Item = &'a String>,
    ) -> fmt::Result {
        let mut line = String::new();
        for ((cell, width), (_, align)) in cells.zip(widths).zip(&self.headers) {
            if !line.is_empty() {
                line.push_str("  ");
            }
            match align {
                Align::Left => line.push_str(&format!("{cell:<width$}")),
                Align::Right => line.push_str(&format!("{cell:>width$}")),
            }
        }
        writeln!(f, "{}", line.trim_end())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths = self.widths();
        self.write_line(f, &widths, self.headers.iter().map(|(title, _)| title))?;
        for row in &self.rows {
            self.write_line(f, &widths, row.iter())?;
        }
        Ok(())
    }
}
