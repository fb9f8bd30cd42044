//! The demo's command line: every experiment ends with its summary line, `--quiet` leaves only
//! those lines, and bad input exits with status 2 and a one-line error naming the flag.
//!
//! The runs are tiny (a few threads, milliseconds of work) and nothing here checks a time or a
//! throughput: only keys, counts and the arithmetic that does not depend on the clock.

use std::process::Output;

use harness::testing::{Demo, assert_thread_limit_explained, keys, stderr, stdout, value, words};

const DEMO: Demo = Demo::new(env!("CARGO_BIN_EXE_06-sizing"));

/// Runs the demo with `args`, split at spaces.
fn run(args: &str) -> Output {
    DEMO.run(&words(args))
}

/// [`Demo::assert_refused`] with `args`, split at spaces.
fn assert_refused(args: &str, expected: &[&str]) -> String {
    DEMO.assert_refused(&words(args), expected)
}

/// Runs a tiny experiment with `--quiet` and returns its only line, the summary.
fn quiet_summary(args: &str) -> String {
    let output = run(&format!("{args} --quiet"));
    assert!(output.status.success(), "{args:?}: {output:?}");
    let stdout = stdout(&output);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "--quiet prints only the summary: {stdout}");
    assert!(lines[0].starts_with("summary: stage=06 tasks="), "{stdout}");
    // On stderr, at most the warning that other programs were using the CPUs.
    let stderr = stderr(&output);
    let busy = |line: &str| line.starts_with("warning: other programs are using the CPUs");
    assert!(stderr.lines().all(busy), "{stderr}");
    // Every task that was submitted was joined, and none panicked.
    assert_eq!(value(lines[0], "tasks"), value(lines[0], "completed"));
    assert_eq!(value(lines[0], "panicked"), "0");
    lines[0].to_string()
}

const COMMON: [&str; 5] = ["stage", "tasks", "completed", "panicked", "experiment"];

fn expect_keys(summary: &str, own: &[&str]) {
    let expected: Vec<&str> = COMMON.iter().chain(own).copied().collect();
    assert_eq!(keys(summary), expected, "in {summary}");
}

#[test]
fn cpu_summary_keys_and_task_count() {
    let summary = quiet_summary("cpu --tasks 3 --task cpu:100us --rounds 2");
    expect_keys(
        &summary,
        &[
            "task",
            "cores",
            "knee_workers",
            "knee_tasks_per_s",
            "best_workers",
            "best_tasks_per_s",
        ],
    );
    assert_eq!(value(&summary, "experiment"), "cpu");
    assert_eq!(value(&summary, "task"), "cpu:100us");
    // Two rounds over pools of 1 to 4 x cores workers: every size runs the 3 tasks twice.
    let cores: usize = value(&summary, "cores").parse().unwrap();
    let sizes = stage06_sizing::pool_sizes(cores, 4 * cores).len();
    assert_eq!(value(&summary, "tasks"), (2 * 3 * sizes).to_string());
    let knee: usize = value(&summary, "knee_workers").parse().unwrap();
    let best: usize = value(&summary, "best_workers").parse().unwrap();
    assert!(knee >= 1 && knee <= best && best <= 4 * cores, "{summary}");
}

#[test]
fn io_summary_reports_littles_law() {
    let summary = quiet_summary("io --target 150 --latency 20ms --max-workers 8");
    expect_keys(
        &summary,
        &[
            "task",
            "target_per_s",
            "littles_law",
            "measured",
            "mean_latency_ms",
            "littles_law_measured",
            "cores_x2",
        ],
    );
    assert_eq!(value(&summary, "task"), "sleep:20ms");
    // 150 tasks/s x 20 ms = 3 workers busy on average.
    assert_eq!(value(&summary, "littles_law"), "3");
    // A sleep lasts at least as long as asked, so the measured latency never asks for fewer.
    let corrected: usize = value(&summary, "littles_law_measured").parse().unwrap();
    assert!(corrected >= 3, "{summary}");
}

#[test]
fn io_says_when_no_pool_meets_the_target() {
    // Little's law asks for 100 workers; at most 2 are allowed.
    let summary = quiet_summary("io --target 10000 --latency 10ms --max-workers 2");
    assert_eq!(value(&summary, "littles_law"), "100");
    assert_eq!(value(&summary, "measured"), "-");
    // The search probed 1 and 2 workers, five waves each.
    assert_eq!(value(&summary, "tasks"), "15");
}

#[test]
fn mixed_summary_compares_both_setups() {
    let summary =
        quiet_summary("mixed --tasks 6 --cpu-task cpu:100us --io-task sleep:2ms --io-workers 3");
    expect_keys(
        &summary,
        &[
            "cpu_task",
            "io_task",
            "shared_workers",
            "shared_cpu_tasks_per_s",
            "shared_cpu_p95_ms",
            "split_workers",
            "split_cpu_tasks_per_s",
            "split_cpu_p95_ms",
        ],
    );
    // 6 CPU and 6 IO tasks, once per setup.
    assert_eq!(value(&summary, "tasks"), "24");
    let cores: usize = value(&summary, "split_workers")
        .split('+')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("split_workers is CORES+IO");
    assert_eq!(value(&summary, "split_workers"), format!("{cores}+3"));
    assert_eq!(value(&summary, "shared_workers"), (cores + 3).to_string());
}

/// The batch sizes of stage 06's `batch` experiment.
const BATCH_SIZES: [usize; 7] = [1, 4, 16, 64, 256, 1024, 4096];

#[test]
fn batch_summary_keys_and_task_count() {
    let summary = quiet_summary("batch --items 20 --rounds 2");
    expect_keys(
        &summary,
        &[
            "item",
            "items",
            "cores",
            "knee_batch",
            "knee_of_ideal",
            "best_batch",
            "best_of_ideal",
            "par_iter_of_ideal",
        ],
    );
    assert_eq!(value(&summary, "item"), "cpu:1us");
    // 20 items fit batches of 1, 4 and 16: 20 + 5 + 2 tasks on the pool, plus the 20 items of
    // par_iter, in each of 2 rounds. The sequential loop is no task.
    assert_eq!(
        value(&summary, "tasks"),
        (2 * (20 + 5 + 2 + 20)).to_string()
    );
    let knee: usize = value(&summary, "knee_batch").parse().unwrap();
    let best: usize = value(&summary, "best_batch").parse().unwrap();
    assert!(
        [1, 4, 16].contains(&knee) && knee <= best && best <= 16,
        "{summary}"
    );
    for key in ["knee_of_ideal", "best_of_ideal", "par_iter_of_ideal"] {
        // Not above zero for sure: at 20 items, a busy machine can round a share down to 0.00.
        let share: f64 = value(&summary, key).parse().unwrap();
        assert!(share.is_finite() && share >= 0.0, "{key} in {summary}");
        // A fraction with two decimals, such as 0.93.
        assert_eq!(
            value(&summary, key).split('.').nth(1).map(str::len),
            Some(2)
        );
    }
}

#[test]
fn batch_prints_one_row_per_batch_size_then_par_iter_and_the_loop() {
    let output = run("batch --items 5000 --rounds 1");
    assert!(output.status.success(), "{output:?}");
    let stdout = stdout(&output);
    let header = "items/task  tasks  hand-overs/s  items/s  of ideal  p99 task time";
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|line| !line.starts_with(header))
        .skip(1)
        .take_while(|line| !line.starts_with("of ideal:"))
        .map(|line| line.split_whitespace().collect())
        .collect();
    let first: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    // 4,096 is the largest batch size that fits in 5,000 items.
    assert_eq!(
        first,
        [
            "1",
            "4",
            "16",
            "64",
            "256",
            "1024",
            "4096",
            "par_iter",
            "sequential"
        ],
        "{stdout}"
    );
    for (row, per_task) in rows.iter().zip(BATCH_SIZES) {
        // The tasks: 5,000 items split into full batches plus one with the remainder.
        assert_eq!(
            row[1],
            5000_usize.div_ceil(per_task).to_string(),
            "{stdout}"
        );
    }
    // The loop is the yardstick: it scores exactly 1 / cores of the ideal.
    let last = stdout.lines().last().unwrap_or_default();
    let cores: f64 = value(last, "cores").parse().unwrap();
    assert_eq!(rows[8][4], format!("{:.2}", 1.0 / cores), "{stdout}");
    assert!(stdout.contains("\nknee: tasks of "), "{stdout}");
}

#[test]
fn without_quiet_a_table_comes_before_the_summary() {
    let output = run("cpu --tasks 2 --task cpu:100us --rounds 1");
    assert!(output.status.success());
    let stdout = stdout(&output);
    assert!(stdout.starts_with("parallelism:"), "{stdout}");
    for source in [
        "std::thread::available_parallelism()",
        "num_cpus::get()",
        "num_cpus::get_physical()",
    ] {
        assert!(stdout.contains(source), "{source} missing from {stdout}");
    }
    assert!(
        stdout.contains("workers  tasks/s  ideal tasks/s"),
        "{stdout}"
    );
    assert!(stdout.contains("knee: "), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("summary: stage=06 "), "{last}");
    assert_eq!(value(last, "experiment"), "cpu");
}

#[test]
fn without_a_subcommand_every_experiment_runs() {
    // `--quiet` is global, so it also works without a subcommand.
    let output = run("--quiet");
    assert!(output.status.success(), "{output:?}");
    let stdout = stdout(&output);
    let experiments: Vec<&str> = stdout
        .lines()
        .map(|line| value(line, "experiment"))
        .collect();
    assert_eq!(experiments, ["cpu", "io", "mixed", "batch"], "{stdout}");
}

#[test]
fn bad_input_exits_2_and_names_the_flag() {
    let cases = [
        ("cpu --tasks 0", "--tasks"),
        ("cpu --tasks -1", "--tasks"),
        ("cpu --tasks 99999999999999999999999", "--tasks"),
        ("cpu --task sleep:1ms", "--task"),
        ("cpu --task cpu:", "--task"),
        ("cpu --task cpu:0ms", "--task"),
        ("cpu --rounds 0", "--rounds"),
        ("io --target 0", "--target"),
        ("io --target fast", "--target"),
        ("io --target -5", "--target"),
        ("io --latency 0ms", "--latency"),
        ("io --latency 20parsecs", "--latency"),
        ("io --max-workers 0", "--max-workers"),
        ("mixed --io-task cpu:1ms", "--io-task"),
        ("mixed --cpu-task sleep:1ms", "--cpu-task"),
        ("batch --items 0", "--items"),
        ("batch --items many", "--items"),
        ("batch --item sleep:1us", "--item"),
        ("batch --item cpu:0ns", "--item"),
        ("batch --rounds 0", "--rounds"),
        ("cpu --bogus", "--bogus"),
    ];
    for (args, flag) in cases {
        assert_refused(args, &[flag]);
    }
}

#[test]
fn an_unknown_experiment_exits_2_and_names_it() {
    assert_refused("gpu", &["'gpu'"]);
}

#[test]
fn numbers_that_parse_but_cannot_run_are_refused_with_their_limit() {
    let max = "18446744073709551615";
    for experiment in ["cpu", "mixed"] {
        let args = format!("{experiment} --tasks {max}");
        assert_refused(&args, &["'--tasks <N>'", "at most 10000000"]);
    }
    // In tasks of one item, every item is a task.
    assert_refused(
        &format!("batch --items {max}"),
        &["'--items <N>'", "at most 10000000"],
    );
    // Once wrapped around: the shared pool has this many workers plus one per core.
    let wraps = "mixed --io-workers 18446744073709551614 --no-limit";
    assert_refused(wraps, &["'--io-workers <N>'", "at most 10000000"]);
}

#[test]
fn pools_above_the_thread_limit_need_no_limit() {
    // 1e9 tasks/s of 1 ms would grow the pool to 65,536 threads; refused before the first.
    let io = "io --target 1e9 --latency 1ms --max-workers 100000";
    let stderr = assert_refused(io, &["--max-workers 100000", "10000", "--no-limit"]);
    assert_thread_limit_explained(&stderr);
    assert_refused(
        "mixed --io-workers 10001",
        &["--io-workers 10001", "--no-limit"],
    );
    // `--no-limit` is global: before or after the experiment (with small pools, at no risk).
    let small = "--target 100 --latency 1ms --max-workers 2";
    quiet_summary(&format!("--no-limit io {small}"));
    quiet_summary(&format!("io {small} --no-limit"));
}

#[test]
fn the_thread_limit_counts_every_pool_of_an_experiment_together() {
    // 10,000 IO workers are within the limit on their own, but `mixed` also starts a CPU pool of
    // one worker per core and a thread that submits the IO tasks. Refused before any starts.
    let cores = harness::cores();
    let all = format!("would run {} threads at once", 10_000 + cores + 1);
    let stderr = assert_refused(
        "mixed --io-workers 10000",
        &[
            "--io-workers 10000",
            &all,
            "limit of 10000 threads",
            "--no-limit",
        ],
    );
    assert_thread_limit_explained(&stderr);
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_is_explained_not_a_panic() {
    DEMO.assert_thread_refused(&words("io --quiet --max-workers 2"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_once_instead_of_a_panic() {
    let args = words("cpu --tasks 2 --task cpu:100us --rounds 1");
    // The warning of a busy machine may come too: the tests run side by side.
    DEMO.assert_full_stdout_reported_once(&args, &["measure again when the machine is quiet"]);
}

/// Linux and Windows only: see `Demo::assert_thread_refused`.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_refused_worker_thread_with_an_unwritable_stderr_is_not_a_panic() {
    let args = words("cpu --quiet --tasks 2 --task cpu:100us --rounds 1");
    DEMO.assert_thread_refused_with_unwritable_stderr(&args, 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_and_stderr_end_with_status_1_not_a_panic() {
    let args = words("cpu --tasks 2 --task cpu:100us --rounds 1");
    DEMO.assert_full_stdout_and_stderr_end_with_status_1(&args);
}
