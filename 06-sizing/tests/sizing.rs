//! The sizing arithmetic: Little's law, the knee, the search for the smallest pool, the sizes a
//! sweep tries, how a job is cut into tasks, and percentiles. All of it is checked on made-up
//! numbers, without a clock.

use std::ops::Range;
use std::time::Duration;

use stage06_sizing::{
    BATCH_KNEE_TOLERANCE, BATCH_SIZES, KNEE_TOLERANCE, Latencies, Sample, fastest, knee,
    littles_law_throughput, littles_law_workers, pool_sizes, smallest_passing, task_ranges,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sweep(points: &[(usize, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(size, throughput)| Sample { size, throughput })
        .collect()
}

#[test]
fn littles_law_multiplies_throughput_by_latency_and_rounds_up() {
    assert_eq!(littles_law_workers(400.0, ms(20)), 8);
    assert_eq!(littles_law_workers(500.0, ms(20)), 10);
    assert_eq!(littles_law_workers(1000.0, ms(100)), 100);
    // 2.5 workers busy on average cannot be served by 2.
    assert_eq!(littles_law_workers(250.0, ms(10)), 3);
    // Rounding noise in the product must not add a worker.
    assert_eq!(littles_law_workers(0.1 * 3.0, Duration::from_secs(10)), 3);
}

#[test]
fn littles_law_never_asks_for_an_empty_pool() {
    assert_eq!(littles_law_workers(0.0, ms(20)), 1);
    assert_eq!(littles_law_workers(0.5, ms(1)), 1);
    assert_eq!(littles_law_workers(400.0, Duration::ZERO), 1);
}

#[test]
#[should_panic(expected = "finite, non-negative")]
fn littles_law_rejects_a_negative_throughput() {
    littles_law_workers(-1.0, ms(20));
}

#[test]
#[should_panic(expected = "finite, non-negative")]
fn littles_law_rejects_nan() {
    littles_law_workers(f64::NAN, ms(20));
}

#[test]
fn littles_law_throughput_is_workers_over_latency() {
    assert_eq!(littles_law_throughput(8, ms(20)), 400.0);
    assert_eq!(littles_law_throughput(4, ms(50)), 80.0);
    // Both directions agree: the workers for a throughput reach at least that throughput.
    let workers = littles_law_workers(333.0, ms(7));
    assert!(littles_law_throughput(workers, ms(7)) >= 333.0);
    assert!(littles_law_throughput(workers - 1, ms(7)) < 333.0);
}

#[test]
fn the_knee_is_the_smallest_pool_close_to_the_best() {
    let samples = sweep(&[
        (1, 990.0),
        (2, 1900.0),
        (3, 1960.0),
        (4, 1980.0),
        (8, 1700.0),
    ]);
    assert_eq!(knee(&samples, 0.10).map(|s| s.size), Some(2));
    // 1900 is 4% below 1980: a 3% tolerance rejects it, and 3 workers (1% below) are the knee.
    assert_eq!(knee(&samples, 0.03).map(|s| s.size), Some(3));
    // With no tolerance the knee is the best size itself.
    assert_eq!(knee(&samples, 0.0).map(|s| s.size), Some(4));
}

#[test]
fn the_knee_ignores_the_order_of_the_samples() {
    let samples = sweep(&[
        (8, 1700.0),
        (3, 1960.0),
        (1, 990.0),
        (4, 1980.0),
        (2, 1900.0),
    ]);
    let found = knee(&samples, 0.10).expect("there are samples");
    assert_eq!(
        found,
        Sample {
            size: 2,
            throughput: 1900.0
        }
    );
}

#[test]
fn a_falling_curve_has_its_knee_at_the_peak() {
    // Oversubscription that costs throughput: everything past 2 is more than 10% slower.
    let samples = sweep(&[(1, 900.0), (2, 1800.0), (4, 1500.0), (8, 1000.0)]);
    assert_eq!(knee(&samples, 0.10).map(|s| s.size), Some(2));
}

#[test]
fn no_samples_no_knee() {
    assert_eq!(knee(&[], 0.10), None);
}

#[test]
#[should_panic(expected = "tolerance")]
fn the_knee_rejects_a_tolerance_of_100_percent() {
    knee(&sweep(&[(1, 1.0)]), 1.0);
}

/// Runs `smallest_passing` with a threshold and records every size it probed.
fn search(max: usize, threshold: usize) -> (Option<usize>, Vec<usize>) {
    let mut probes = Vec::new();
    let found = smallest_passing(max, |size| {
        probes.push(size);
        size >= threshold
    });
    (found, probes)
}

#[test]
fn smallest_passing_doubles_then_bisects() {
    let (found, probes) = search(64, 10);
    assert_eq!(found, Some(10));
    assert_eq!(probes, [1, 2, 4, 8, 16, 12, 10, 9]);
}

#[test]
fn smallest_passing_finds_every_threshold_in_few_distinct_probes() {
    for threshold in 1..=100 {
        let (found, probes) = search(100, threshold);
        assert_eq!(found, Some(threshold));
        assert!(probes.iter().all(|&size| (1..=100).contains(&size)));
        let mut distinct = probes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), probes.len(), "probed twice: {probes:?}");
        assert!(probes.len() <= 14, "{threshold}: {probes:?}");
    }
}

#[test]
fn smallest_passing_gives_up_at_max() {
    let (found, probes) = search(5, 10);
    assert_eq!(found, None);
    assert_eq!(probes, [1, 2, 4, 5]);
    assert_eq!(search(0, 1), (None, vec![]));
}

#[test]
fn pool_sizes_cover_every_small_size_then_grow() {
    assert_eq!(pool_sizes(2, 8), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(pool_sizes(16, 64), [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 48, 64]);
    // A core count off the grid is tried, and so are its multiples.
    assert_eq!(pool_sizes(5, 20), [1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 16, 20]);
    assert_eq!(pool_sizes(1, 4), [1, 2, 3, 4]);
    assert!(pool_sizes(4, 0).is_empty());
}

#[test]
fn pool_sizes_stay_few_on_a_big_machine() {
    let sizes = pool_sizes(64, 256);
    assert_eq!(sizes.first(), Some(&1));
    assert_eq!(sizes.last(), Some(&256));
    assert!(sizes.contains(&64) && sizes.contains(&128) && sizes.contains(&192));
    assert!(sizes.len() < 30, "{sizes:?}");
    assert!(sizes.windows(2).all(|pair| pair[0] < pair[1]));
}

#[test]
fn percentiles_use_the_nearest_rank() {
    // 1 ms to 100 ms, shuffled: the pth percentile is p ms.
    let samples: Vec<Duration> = (1..=100).map(|n| ms((n * 37) % 100 + 1)).collect();
    let latencies = Latencies::new(samples);
    assert_eq!(latencies.percentile(50.0), Some(ms(50)));
    assert_eq!(latencies.percentile(95.0), Some(ms(95)));
    assert_eq!(latencies.percentile(99.5), Some(ms(100)));
    assert_eq!(latencies.percentile(100.0), Some(ms(100)));
    assert_eq!(latencies.percentile(0.0), Some(ms(1)));
}

#[test]
fn a_percentile_is_always_a_recorded_latency() {
    let latencies = Latencies::new(vec![ms(10), ms(1000)]);
    assert_eq!(latencies.percentile(50.0), Some(ms(10)));
    assert_eq!(latencies.percentile(51.0), Some(ms(1000)));
    let single = Latencies::new(vec![ms(7)]);
    assert_eq!(single.percentile(1.0), Some(ms(7)));
    assert_eq!(single.percentile(99.0), Some(ms(7)));
}

#[test]
fn the_mean_and_the_tail_tell_different_stories() {
    let mut samples = vec![ms(1); 95];
    samples.extend([ms(100); 5]);
    let latencies = Latencies::new(samples);
    assert_eq!(latencies.mean(), Some(Duration::from_micros(5950)));
    assert_eq!(latencies.percentile(95.0), Some(ms(1)));
    assert_eq!(latencies.percentile(96.0), Some(ms(100)));
    assert_eq!(latencies.iter().collect::<Vec<_>>().first(), Some(&ms(1)));
}

#[test]
fn no_latencies_no_statistics() {
    let latencies = Latencies::default();
    assert_eq!(latencies.mean(), None);
    assert_eq!(latencies.percentile(95.0), None);
}

#[test]
#[should_panic(expected = "percentile")]
fn a_percentile_above_100_is_rejected() {
    Latencies::new(vec![ms(1)]).percentile(101.0);
}

#[test]
fn the_fastest_is_the_highest_throughput_in_any_order() {
    let samples = sweep(&[(4, 1980.0), (1, 990.0), (8, 1700.0)]);
    assert_eq!(fastest(&samples).map(|s| s.size), Some(4));
    assert_eq!(fastest(&[]), None);
}

#[test]
fn tasks_cover_every_item_once_with_the_remainder_last() {
    let ranges: Vec<Range<usize>> = task_ranges(10, 4).collect();
    assert_eq!(ranges, [0..4, 4..8, 8..10]);
    assert_eq!(task_ranges(8, 4).collect::<Vec<_>>(), [0..4, 4..8]);
    // Fewer items than a batch: one task with all of them.
    let one: Vec<Range<usize>> = task_ranges(3, 4096).collect();
    assert_eq!((one.len(), one[0].clone()), (1, 0..3));
    assert_eq!(task_ranges(3, 1).collect::<Vec<_>>(), [0..1, 1..2, 2..3]);
    for items in [1, 2, 999, 1000, 1001, 200_000] {
        for per_task in BATCH_SIZES {
            let ranges: Vec<Range<usize>> = task_ranges(items, per_task).collect();
            assert_eq!(ranges.len(), items.div_ceil(per_task), "{items}/{per_task}");
            // Back to back from 0 to `items`, none empty, none larger than a batch.
            assert_eq!(ranges.first().map(|r| r.start), Some(0));
            assert_eq!(ranges.last().map(|r| r.end), Some(items));
            assert!(ranges.windows(2).all(|pair| pair[0].end == pair[1].start));
            assert!(ranges.iter().all(|r| !r.is_empty() && r.len() <= per_task));
            // Only the last task may be short, and then it holds the remainder.
            let last = ranges.last().map_or(0, |r| r.len());
            let remainder = items % per_task;
            assert_eq!(last, if remainder == 0 { per_task } else { remainder });
        }
    }
}

#[test]
fn the_batch_knee_is_the_smallest_batch_within_5_percent_of_the_best() {
    let samples = sweep(&[
        (1, 600_000.0),
        (4, 1_200_000.0),
        (16, 1_600_000.0),
        (64, 1_790_000.0),
        (256, 1_880_000.0),
        (1024, 1_900_000.0),
        (4096, 1_870_000.0),
    ]);
    // 1,790,000 is 5.8% below the best; 1,880,000 is 1% below it.
    assert_eq!(
        knee(&samples, BATCH_KNEE_TOLERANCE).map(|s| s.size),
        Some(256)
    );
    // The pool sizes' 10% would settle for 64.
    assert_eq!(knee(&samples, KNEE_TOLERANCE).map(|s| s.size), Some(64));
}
