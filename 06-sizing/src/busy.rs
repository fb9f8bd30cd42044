//! Are other programs using the cores? Checked from inside, the same on every operating system:
//! the same CPU work runs on one thread alone, then on one thread per core at once. On an idle
//! machine each thread has a core to itself and is as fast as the one alone; when other programs
//! keep cores busy, the threads take turns with them. The thread alone runs short pieces and
//! keeps the fastest, the speed of an idle core even on a busy machine (a piece that short
//! usually runs undisturbed); the threads together run long enough to take turns.

use std::thread;
use std::time::{Duration, Instant};

use harness::table::percent;
use harness::{TaskKind, TaskSpec, Work};

/// One piece of the work: long enough to time, short enough to run undisturbed.
const PIECE: TaskSpec = TaskSpec {
    kind: TaskKind::Cpu,
    duration: Duration::from_millis(1),
};

/// Pieces each thread runs beside the others: 10 ms, a few of the scheduler's time slices.
const PIECES: u32 = 10;

/// The efficiency below which the run warns. On a quiet two-core machine no run warned; beside
/// `yes > /dev/null`, one program that keeps a core busy, every run did, at 22% to 55%.
const BUSY_BELOW: f64 = 0.8;

/// The work the check runs, calibrated once.
#[derive(Debug)]
pub struct Probe {
    work: Work,
}

impl Probe {
    /// Calibrates the work on this machine.
    pub fn new() -> Self {
        Probe {
            work: Work::new(PIECE),
        }
    }

    /// How fast one thread per core runs, as a share of one thread alone: about 1.0 when nothing
    /// else runs. `None` if the system refused a thread (the experiment will say so).
    pub fn efficiency(&self) -> Option<f64> {
        let alone = (0..5).map(|_| self.time(1)).min()?;
        // The fastest of five: a moment of noise slows one down, a busy program all five.
        let mut together = Duration::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            thread::scope(|scope| {
                let threads: Vec<_> = (0..harness::cores())
                    .map(|_| thread::Builder::new().spawn_scoped(scope, || self.time(PIECES)))
                    .collect();
                threads.iter().all(Result::is_ok).then_some(())
            })?;
            together = together.min(start.elapsed());
        }
        Some((alone * PIECES).as_secs_f64() / together.as_secs_f64())
    }

    /// How long `pieces` pieces of the work take on this thread.
    fn time(&self, pieces: u32) -> Duration {
        let start = Instant::now();
        (0..pieces).for_each(|_| self.work.run());
        start.elapsed()
    }
}

/// The line to print when the lowest of `efficiencies` shows that other programs were using the
/// cores, or `None` when the machine looked quiet.
pub fn warning(efficiencies: &[Option<f64>]) -> Option<String> {
    let lowest = efficiencies.iter().flatten().copied().reduce(f64::min)?;
    (lowest < BUSY_BELOW).then(|| {
        format!(
            "warning: other programs are using the CPUs (one thread per core ran at {} of the \
             speed of a thread alone): the sizes above may be off; measure again when the \
             machine is quiet",
            percent(lowest)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_efficiency_decides_and_fits_on_one_line() {
        assert_eq!(warning(&[Some(0.81), None, Some(1.02)]), None);
        let busy = warning(&[Some(0.95), None, Some(0.62)]).expect("0.62 is busy");
        assert!(busy.contains(" 62% ") && !busy.contains('\n'), "{busy}");
    }
}
