//! The sizing arithmetic: Little's law, the knee, the search for the smallest pool, the sizes a
//! sweep tries, percentiles and tables. All of it is checked on made-up numbers, without a clock.

use std::time::Duration;

use stage06_sizing::{
    Align, Latencies, Sample, Table, knee, littles_law_throughput, littles_law_workers, pool_sizes,
    smallest_passing,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sweep(points: &[(usize, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(workers, tasks_per_s)| Sample {
            workers,
            tasks_per_s,
        })
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
    assert_eq!(knee(&samples, 0.10).map(|s| s.workers), Some(2));
    // 1900 is 4% below 1980: a 3% tolerance rejects it, and 3 workers (1% below) are the knee.
    assert_eq!(knee(&samples, 0.03).map(|s| s.workers), Some(3));
    // With no tolerance the knee is the best size itself.
    assert_eq!(knee(&samples, 0.0).map(|s| s.workers), Some(4));
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
            workers: 2,
            tasks_per_s: 1900.0
        }
    );
}

#[test]
fn a_falling_curve_has_its_knee_at_the_peak() {
    // Oversubscription that costs throughput: everything past 2 is more than 10% slower.
    let samples = sweep(&[(1, 900.0), (2, 1800.0), (4, 1500.0), (8, 1000.0)]);
    assert_eq!(knee(&samples, 0.10).map(|s| s.workers), Some(2));
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
    assert_eq!(
        pool_sizes(16, 64),
        [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64]
    );
    // A core count off the grid is tried, and so are its multiples.
    assert_eq!(
        pool_sizes(5, 20),
        [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 16, 20]
    );
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
    assert_eq!(latencies.len(), 100);
    assert_eq!(latencies.percentile(50.0), Some(ms(50)));
    assert_eq!(latencies.percentile(95.0), Some(ms(95)));
    assert_eq!(latencies.percentile(99.5), Some(ms(100)));
    assert_eq!(latencies.percentile(100.0), Some(ms(100)));
    assert_eq!(latencies.percentile(0.0), Some(ms(1)));
}

#[test]
fn a_percentile_is_always_a_recorded_latency() {
    let latencies: Latencies = [ms(10), ms(1000)].into_iter().collect();
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
    assert!(latencies.is_empty());
    assert_eq!(latencies.mean(), None);
    assert_eq!(latencies.percentile(95.0), None);
}

#[test]
#[should_panic(expected = "percentile")]
fn a_percentile_above_100_is_rejected() {
    Latencies::new(vec![ms(1)]).percentile(101.0);
}

#[test]
fn tables_align_numbers_right_and_words_left() {
    let mut table = Table::new(&[
        ("setup", Align::Left),
        ("tasks/s", Align::Right),
        ("note", Align::Left),
    ]);
    table.push_row(vec!["shared".into(), "441".into(), "slow".into()]);
    table.push_row(vec!["split µs".into(), "1365".into(), String::new()]);
    assert_eq!(
        table.to_string(),
        "setup     tasks/s  note\n\
         shared        441  slow\n\
         split µs     1365\n"
    );
}

#[test]
#[should_panic(expected = "one cell per column")]
fn a_row_with_a_missing_cell_is_rejected() {
    let mut table = Table::new(&[("a", Align::Left), ("b", Align::Left)]);
    table.push_row(vec!["only one".into()]);
}
