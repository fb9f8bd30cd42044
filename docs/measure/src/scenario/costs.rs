//! `costs`: what each feature of the stages costs per task, measured in-process by
//! [`ladder::measure`]: a ladder of runs on empty tasks, each run adding one feature to the run it
//! builds on: boxed closures, a result channel per task, `catch_unwind`, counters, the demo's
//! submit path, its `Tracker`, its hand-over, and, beside it, what an `Arc` per task would cost.
//! This scenario turns what the ladder measured into a table, a bullet per feature that says
//! where its cost comes from, and a chart. No figure is graded against a target.

use std::fmt::Write as _;

use harness::table;

use super::{Options, Report, Scenario, Size};
use crate::chart::{Bar, BarPanel, Chart, Panel};
use crate::ladder::{self, Measured, Step};
use crate::probe;
use harness::table::Table;

/// Tasks per run, and rounds. Each round runs every step once; a full round takes under half a
/// second, and the rounds are many, and short, because the machine's speed moves between them.
fn sizes(size: Size) -> (usize, usize) {
    match size {
        Size::Full => (100_000, 41),
        Size::Quick => (10_000, 3),
    }
}

/// Runs the ladder, and reports what it measured.
pub fn run(options: Options) -> Report {
    let (tasks, rounds) = sizes(options.size);
    // The example runs the same ladder: the way to measure it again, alone.
    let command_line = format!(
        "cargo run --release -p measure --example costs -- --tasks {tasks} --rounds {rounds}"
    );
    let (ladder, disturbance) = probe::in_process(|| ladder::measure(tasks, rounds));
    Report {
        scenario: Scenario::Costs,
        body: body(&ladder, disturbance, &command_line),
        chart: chart(&ladder),
        runs: Vec::new(),
    }
}

/// How the docs present a step: its name in the table, the feature it adds, why that costs what
/// it costs, and the colour of its bar (the stage whose code it runs).
struct Description {
    name: &'static str,
    adds: &'static str,
    why: &'static str,
    colour: &'static str,
}

fn describe(key: &str) -> Option<Description> {
    let (name, adds, colour, why) = match key {
        "ids" => (
            "bare pool",
            "a bounded crossbeam channel of task ids; workers call one function",
            "reference",
            "the floor. Each task is a number written into a slot of the channel's ring buffer \
             and read by a worker, which calls a function the compiler knows; nothing is \
             allocated. What remains is the channel's own synchronisation, and waking a worker \
             that found the queue empty",
        ),
        "boxed" => (
            "stage 03's pool",
            "a boxed closure per task",
            "03",
            "each task becomes a `Box<dyn FnOnce() + Send>`: allocated on the submitting \
             thread, called through a pointer, and freed on a worker thread. Freeing memory on \
             another thread than the one that allocated it is what costs: with glibc's \
             `malloc` (Linux), the memory goes back to the allocating thread's arena, so the \
             submitter's allocations and the workers' frees share free lists and cache lines, \
             task after task. How much that costs depends on the allocator and on which cores \
             the threads share, which is also why this row moves most from round to round. (A \
             closure that captures nothing is zero-sized, and boxing it allocates nothing; \
             these capture the task's id, as real tasks capture their input)",
        ),
        "result-channel" => (
            "stage 04's pool",
            "a result channel per task",
            "04",
            "stage 04 makes a channel of one slot per task for its value: a second allocation, \
             shared by the handle and the worker and freed by whichever lets go last; a bigger \
             job; a `send` on the worker; and a `join` that waits for the value. The handles here are joined every 1,024 submits, so that their \
             memory stays flat; stage 04's demo keeps every handle until the end",
        ),
        "catch-unwind" => (
            "stage 04 + `catch_unwind`",
            "`catch_unwind` around each task",
            "04",
            "nothing, while no task panics: Rust unwinds with tables that are read only when a \
             panic happens, so `catch_unwind` sets nothing up on the way in. This row should \
             differ from the one it builds on by no more than the rounds vary (compare their \
             middle halves)",
        ),
        "counters" => (
            "stage 05's pool",
            "the pool's counters (`Shared`)",
            "05",
            "stage 05 counts each outcome with a `fetch_add` on counters that every worker \
             updates, and gives every job an `Arc` clone of them, which the worker drops when \
             the task ends: the reference count's cache line moves between the submitter and \
             a worker for every task, as in the row of an `Arc` per task above (compare what \
             each of the two rows adds). Each handle also clones the receiver of the channel \
             that says whether any worker is alive, and `join` waits with `select!` on it and \
             on the value",
        ),
        "try-submit" => (
            "stage 03, `try_submit` first",
            "`try_submit` first, as the demo's policies do",
            "03",
            "stage 03's demo offers each task with `try_submit` and calls `submit` only when \
             the queue is full, so that it can count and time the waits its policies report: \
             a second attempt and two clock reads for the tasks that found the queue full, \
             and for the others only a `Result` to look at",
        ),
        "tracker" => (
            "stage 03 + `Tracker`",
            "the demo's `Tracker`, the workload borrowed",
            "03",
            "`Workload::run`, as every demo runs its tasks: the `Tracker`'s guard counts the \
             task as running and then as ended, on a counter of running tasks that every \
             worker updates (kept on a cache line of its own, and exact, because the peak of \
             running tasks needs one count that every start and end updates in turn); reads \
             the peak, which it writes only when it rises; and counts the outcome in a slot of \
             the worker's own. Here the workload is reached through a `&'static` reference, so \
             this row adds the tracker alone",
        ),
        "demo" => (
            "stage 03's demo",
            "the demo's hand-over of each task",
            "03",
            "the demo hands each task over with `Workload::hand_over`, which gives the closure \
             the task's id and a `&'static` reference to the workload (leaked once, on \
             purpose, see `Workload::leak`), and looks at whether the run records \
             (`--timeline`, `--trace`; off here): a branch where the task is handed over and \
             one where it runs",
        ),
        "recording" => (
            "stage 03's demo, recording",
            "recording each task, as `--timeline` and `--trace` do",
            "03",
            "the demo with its recording on: three readings of the clock per task (handed \
             over, started, ended), one on the submitting thread and two on the worker, and a \
             push of the task's times onto a buffer of the worker's own, with no lock or \
             shared counter per task. The buffers are handed over once per thread, when it \
             ends; the timeline and the trace are made after the run, outside the time \
             measured. Off, recording costs the demo's row a branch where each task is handed \
             over and one where it runs",
        ),
        "arc-per-task" => (
            "stage 03 + `Tracker`, an `Arc` per task",
            "an `Arc` of the workload per task, instead of a borrow",
            "03",
            "what the demo would pay to share its workload through an `Arc`, the usual way to \
             give `'static` tasks something to share: the submitter increments the reference \
             count for each task, and the worker decrements it when the task ends, so the \
             count's cache line moves between cores twice per task, and the submitting \
             thread, whose pace sets the throughput here, waits for it. A workload borrowed \
             for the whole program needs no count, which is why the demos leak theirs",
        ),
        _ => return None,
    };
    Some(Description {
        name,
        adds,
        why,
        colour,
    })
}

/// The name of the step `key` in the table, or its key if it has none.
fn name(key: &str) -> String {
    describe(key).map_or_else(
        || key.to_string(),
        |description| description.name.to_string(),
    )
}

/// `12.3 ns` with its sign: `+12.3 ns`, `-4.00 ns`.
fn signed_nanos(ns: f64) -> String {
    let sign = if ns < 0.0 { "-" } else { "+" };
    format!("{sign}{}", table::time_ns(ns.abs()))
}

/// The table, a bullet per step, and a bullet that puts the demo beside the pool alone.
fn body(ladder: &Measured, disturbance: Option<f64>, command_line: &str) -> String {
    let mut table = Table::titled(
        &[
            "run",
            "adds",
            "built on",
            "per task",
            "middle half of the rounds",
            "added",
            "x the run it builds on",
        ],
        3,
    );
    for step in &ladder.rows {
        let description = describe(step.step.key());
        let (added, ratio) = step.added.map_or_else(
            || ("-".to_string(), "-".to_string()),
            |(ns, ratio)| (signed_nanos(ns), format!("{ratio:.2}x")),
        );
        table.push_row(vec![
            name(step.step.key()),
            description.map_or_else(String::new, |description| description.adds.to_string()),
            step.step
                .base()
                .map_or_else(|| "-".to_string(), |base| name(base.key())),
            table::time_ns(step.median),
            format!(
                "{} to {}",
                table::time_ns(step.quartiles.0),
                table::time_ns(step.quartiles.1)
            ),
            added,
            ratio,
        ]);
    }
    let others = disturbance.map_or_else(String::new, |share| {
        format!(
            " Other programs used {} of the machine while it ran.",
            table::percent(share)
        )
    });
    let mut text = format!(
        "Every run: {} empty tasks on {} workers (as many as cores), bounded queues of 1,024, \
         timed from the first submit until the pool has stopped, inside one process \
         (`{command_line}`). {} rounds; each round runs every row once, in the table's order, every other round \
         backwards. \
         \"Per task\" is the median over the rounds. \"Added\" compares each row with the run it \
         builds on *in the same round*, a few milliseconds apart: the median of the \
         differences, and of the ratios. The machine's speed moves between rounds (see the \
         middle halves), and comparing neighbours in time takes most of that out, so \"added\" \
         need not equal the difference of the two medians.{others}\n\n",
        table::thousands(ladder.tasks as u64),
        ladder.workers,
        ladder.rounds,
    );
    text.push_str(&table.markdown());
    text.push('\n');
    for step in &ladder.rows {
        let Some(description) = describe(step.step.key()) else {
            continue;
        };
        let cost = match (&step.added, step.step.base()) {
            (Some((ns, ratio)), Some(base)) => format!(
                "{} per task over {}, {ratio:.2}x",
                signed_nanos(*ns),
                name(base.key())
            ),
            _ => format!("{} per task", table::time_ns(step.median)),
        };
        let _ = writeln!(
            text,
            "- **{}** ({cost}): {}.",
            description.name, description.why
        );
    }
    if let (Some(demo), Some(shared)) = (ladder.row(Step::Demo), ladder.row(Step::ArcPerTask)) {
        let _ = writeln!(
            text,
            "- Stage 03's demo, as it runs each task, spent {:.2}x what stage 03's pool alone \
             spent per empty task in the same rounds; with an `Arc` of the workload per task \
             instead of a borrow, {:.2}x.",
            demo.to_pool, shared.to_pool
        );
    }
    text
}

fn chart(ladder: &Measured) -> Option<Chart> {
    let bars: Vec<Bar> = ladder
        .rows
        .iter()
        .map(|row| Bar {
            // A chart shows no markdown: `catch_unwind` without its backticks.
            label: name(row.step.key()).replace('`', ""),
            key: describe(row.step.key())
                .map_or("reference", |d| d.colour)
                .to_string(),
            value: row.median,
        })
        .collect();
    (!bars.is_empty()).then(|| Chart {
        title: format!(
            "costs: empty tasks on {} workers, one feature at a time",
            ladder.workers
        ),
        columns: 1,
        panels: vec![Panel::Bars(BarPanel {
            title: "Time per empty task (median over the rounds)".to_string(),
            axis: "ns per task".to_string(),
            log: false,
            bars,
        })],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ladder as it might measure, with six of its steps.
    fn measured() -> Measured {
        let row = |step, median, quartiles, added, to_pool| ladder::Row {
            step,
            median,
            quartiles,
            added,
            to_pool,
        };
        Measured {
            rows: vec![
                row(Step::Ids, 20.0, (18.0, 25.0), None, 0.08),
                row(Step::Boxed, 250.0, (200.0, 270.0), Some((228.0, 11.4)), 1.0),
                row(
                    Step::TrySubmit,
                    245.0,
                    (230.0, 260.0),
                    Some((-4.5, 0.98)),
                    0.98,
                ),
                row(
                    Step::Tracker,
                    255.0,
                    (240.0, 270.0),
                    Some((8.0, 1.03)),
                    1.01,
                ),
                row(Step::Demo, 258.0, (243.0, 272.0), Some((2.5, 1.01)), 1.02),
                row(
                    Step::ArcPerTask,
                    310.0,
                    (290.0, 330.0),
                    Some((55.0, 1.22)),
                    1.24,
                ),
            ],
            workers: 2,
            tasks: 200_000,
            rounds: 31,
        }
    }

    #[test]
    fn every_step_is_explained_beside_the_run_it_builds_on_and_graded_against_nothing() {
        let body = body(&measured(), Some(0.02), "costs");
        for word in ["target", "missed", "verdict"] {
            assert!(
                !body.to_lowercase().contains(word),
                "'{word}' in the costs report:\n{body}"
            );
        }
        for expected in [
            "| stage 03's pool ",
            "| bare pool ",
            " +228 ns |",
            " -4.50 ns |",
            " 11.40x |",
            " 200 ns to 270 ns |",
            "- **bare pool** (20.0 ns per task): the floor.",
            "- **stage 03's pool** (+228 ns per task over bare pool, 11.40x): each task becomes",
            "- **stage 03's demo** (+2.50 ns per task over stage 03 + `Tracker`, 1.01x): the demo",
            "- **stage 03 + `Tracker`, an `Arc` per task** (+55.0 ns per task over stage 03 + \
             `Tracker`, 1.22x): what the demo would pay",
            "spent 1.02x what stage 03's pool alone spent per empty task in the same rounds; \
             with an `Arc` of the workload per task instead of a borrow, 1.24x.",
            "Other programs used 2% of the machine",
        ] {
            assert!(body.contains(expected), "no {expected:?} in:\n{body}");
        }
    }

    #[test]
    fn every_step_of_the_ladder_has_a_description() {
        for step in Step::ALL {
            assert!(
                describe(step.key()).is_some(),
                "no description for {step:?}"
            );
        }
        assert_eq!(name("something-new"), "something-new");
    }
}
