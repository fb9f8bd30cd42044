//! `costs`: what each feature of the stages costs per task, measured in-process.
//!
//! The measuring is done by `examples/costs.rs`, which links the stages' libraries and times a
//! ladder of runs on empty tasks, each run adding one feature to the run it builds on: boxed
//! closures, a result channel per task, `catch_unwind`, counters, the demo's submit path, its
//! `Tracker`, its hand-over, and, beside it, what an `Arc` per task would cost. This scenario builds that example, runs it once as a child
//! process, and turns the line it prints per step into a table, a bullet per feature that says
//! where its cost comes from, and a chart. No figure is graded against a target.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use super::{Options, Report, Scenario, Size};
use crate::chart::{Bar, BarPanel, Chart, Panel};
use crate::probe;
use crate::report::{self, Table};
use crate::stages::{Profile, Workspace};

/// The example that measures: `docs/measure/examples/costs.rs`.
const EXAMPLE: &str = "costs";

/// Tasks per run, and rounds. Each round runs every step once; a full round takes under half a
/// second, and the rounds are many, and short, because the machine's speed moves between them.
fn sizes(size: Size) -> (usize, usize) {
    match size {
        Size::Full => (100_000, 41),
        Size::Quick => (10_000, 3),
    }
}

/// Builds and runs the example, and reports what it measured, or why it could not.
pub fn run(workspace: &Workspace, options: Options) -> Report {
    let (tasks, rounds) = sizes(options.size);
    let sizes = ["--tasks".to_string(), tasks.to_string()]
        .into_iter()
        .chain(["--rounds".to_string(), rounds.to_string()]);
    let sizes: Vec<String> = sizes.collect();
    let command_line = format!(
        "cargo run --release -p measure --example {EXAMPLE} -- {}",
        sizes.join(" ")
    );
    let measured = workspace
        .build_example(EXAMPLE, Profile::Release)
        .map_err(|error| format!("not built yet: the example `{EXAMPLE}` does not build ({error})"))
        .and_then(|binary| {
            let mut command = Command::new(binary);
            command.args(&sizes).arg("--tsv");
            // Generous: a full run takes about half a minute.
            probe::measure(command, Duration::from_secs(600))
                .map_err(|error| format!("`{command_line}` cannot be started: {error}"))
        })
        .and_then(|measurement| {
            if measurement.status.is_some_and(|status| status.success()) {
                let ladder = parse(&measurement.stdout)?;
                Ok((ladder, measurement.disturbance()))
            } else {
                let reason = measurement.stderr.lines().find(|line| !line.is_empty());
                Err(format!(
                    "`{command_line}` failed: {}",
                    reason.unwrap_or("no message")
                ))
            }
        });
    let (body, chart) = match measured {
        Ok((ladder, disturbance)) => (body(&ladder, disturbance, &command_line), chart(&ladder)),
        Err(problem) => (format!("- {problem}\n"), None),
    };
    Report {
        scenario: Scenario::Costs,
        body,
        chart,
        runs: Vec::new(),
    }
}

/// One step of the ladder, as the example measured it.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// The example's name for it, such as `boxed`.
    key: String,
    /// The step it adds its feature to.
    built_on: Option<String>,
    /// Nanoseconds per task: the median over the rounds.
    per_task: f64,
    /// The middle half of the rounds: 25th and 75th percentile, in nanoseconds per task.
    quartiles: (f64, f64),
    /// Against `built_on` in the same round: the median difference in nanoseconds, and the
    /// median ratio.
    added: Option<(f64, f64)>,
    /// Against stage 03's pool alone in the same round: the median ratio.
    to_pool: f64,
}

/// What one run of the example measured.
#[derive(Debug, Clone, PartialEq)]
struct Ladder {
    steps: Vec<Step>,
    workers: usize,
    tasks: usize,
    rounds: usize,
}

impl Ladder {
    fn step(&self, key: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.key == key)
    }
}

/// Reads the example's `--tsv` output: a header, then a line per step.
fn parse(tsv: &str) -> Result<Ladder, String> {
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("the example printed nothing")?
        .split('\t')
        .collect();
    let mut ladder = Ladder {
        steps: Vec::new(),
        workers: 0,
        tasks: 0,
        rounds: 0,
    };
    for line in lines.filter(|line| !line.is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |name: &str| {
            header
                .iter()
                .position(|title| *title == name)
                .and_then(|column| cells.get(column).copied())
                .ok_or_else(|| format!("no column {name} in the example's line {line:?}"))
        };
        let number = |name: &str| -> Result<f64, String> {
            let text = cell(name)?;
            text.parse()
                .map_err(|_| format!("{name} is {text:?} in the example's line {line:?}"))
        };
        // `-` where a step builds on nothing.
        let optional = |name: &str| -> Result<Option<f64>, String> {
            match cell(name)? {
                "-" => Ok(None),
                _ => number(name).map(Some),
            }
        };
        let added = match (optional("added_ns")?, optional("added_ratio")?) {
            (Some(ns), Some(ratio)) => Some((ns, ratio)),
            _ => None,
        };
        ladder.steps.push(Step {
            key: cell("step")?.to_string(),
            built_on: Some(cell("built_on")?)
                .filter(|key| *key != "-")
                .map(str::to_string),
            per_task: number("ns_per_task")?,
            quartiles: (number("ns_q1")?, number("ns_q3")?),
            added,
            to_pool: number("to_pool_ratio")?,
        });
        ladder.workers = number("workers")? as usize;
        ladder.tasks = number("tasks")? as usize;
        ladder.rounds = number("rounds")? as usize;
    }
    if ladder.steps.is_empty() {
        return Err("the example printed no step".to_string());
    }
    Ok(ladder)
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
    format!("{sign}{}", report::nanos(ns.abs()))
}

/// The table, a bullet per step, and a bullet that puts the demo beside the pool alone.
fn body(ladder: &Ladder, disturbance: Option<f64>, command_line: &str) -> String {
    let mut table = Table::new(&[
        "run",
        "adds",
        "built on",
        "per task",
        "middle half of the rounds",
        "added",
        "x the run it builds on",
    ])
    .text_columns(3);
    for step in &ladder.steps {
        let description = describe(&step.key);
        let (added, ratio) = step.added.map_or_else(
            || ("-".to_string(), "-".to_string()),
            |(ns, ratio)| (signed_nanos(ns), format!("{ratio:.2}x")),
        );
        table.row(vec![
            name(&step.key),
            description.map_or_else(String::new, |description| description.adds.to_string()),
            step.built_on
                .as_deref()
                .map_or_else(|| "-".to_string(), name),
            report::nanos(step.per_task),
            format!(
                "{} to {}",
                report::nanos(step.quartiles.0),
                report::nanos(step.quartiles.1)
            ),
            added,
            ratio,
        ]);
    }
    let others = disturbance.map_or_else(String::new, |share| {
        format!(
            " Other programs used {} of the machine while it ran.",
            report::percent(Some(share))
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
        report::count(ladder.tasks as u64),
        ladder.workers,
        ladder.rounds,
    );
    text.push_str(&table.markdown());
    text.push('\n');
    for step in &ladder.steps {
        let Some(description) = describe(&step.key) else {
            continue;
        };
        let cost = match (&step.added, &step.built_on) {
            (Some((ns, ratio)), Some(base)) => format!(
                "{} per task over {}, {ratio:.2}x",
                signed_nanos(*ns),
                name(base)
            ),
            _ => format!("{} per task", report::nanos(step.per_task)),
        };
        let _ = writeln!(
            text,
            "- **{}** ({cost}): {}.",
            description.name, description.why
        );
    }
    if let (Some(demo), Some(shared)) = (ladder.step("demo"), ladder.step("arc-per-task")) {
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

fn chart(ladder: &Ladder) -> Option<Chart> {
    let bars: Vec<Bar> = ladder
        .steps
        .iter()
        .map(|step| Bar {
            // A chart shows no markdown: `catch_unwind` without its backticks.
            label: name(&step.key).replace('`', ""),
            key: describe(&step.key)
                .map_or("reference", |d| d.colour)
                .to_string(),
            value: step.per_task,
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

    const TSV: &str = "step\tbuilt_on\tns_per_task\tns_q1\tns_q3\tadded_ns\tadded_ratio\t\
                       to_pool_ratio\tworkers\ttasks\trounds\n\
                       ids\t-\t20.0\t18.0\t25.0\t-\t-\t0.080\t2\t200000\t31\n\
                       boxed\tids\t250.0\t200.0\t270.0\t228.0\t11.400\t1.000\t2\t200000\t31\n\
                       try-submit\tboxed\t245.0\t230.0\t260.0\t-4.5\t0.980\t0.980\t2\t200000\t31\n\
                       tracker\ttry-submit\t255.0\t240.0\t270.0\t8.0\t1.030\t1.010\t2\t200000\t31\n\
                       demo\ttracker\t258.0\t243.0\t272.0\t2.5\t1.010\t1.020\t2\t200000\t31\n\
                       arc-per-task\ttracker\t310.0\t290.0\t330.0\t55.0\t1.220\t1.240\t2\t200000\t31\n";

    #[test]
    fn the_example_output_is_read_step_by_step() {
        let ladder = parse(TSV).unwrap();
        assert_eq!(
            (ladder.workers, ladder.tasks, ladder.rounds),
            (2, 200_000, 31)
        );
        assert_eq!(ladder.steps.len(), 6);
        let ids = &ladder.steps[0];
        assert_eq!((ids.built_on.as_deref(), ids.added), (None, None));
        let boxed = ladder.step("boxed").unwrap();
        assert_eq!(boxed.built_on.as_deref(), Some("ids"));
        assert_eq!(boxed.added, Some((228.0, 11.4)));
        assert_eq!(boxed.quartiles, (200.0, 270.0));
        assert!(parse("").is_err());
        assert!(parse("step\tbuilt_on\n").is_err());
    }

    #[test]
    fn every_step_is_explained_beside_the_run_it_builds_on_and_graded_against_nothing() {
        let ladder = parse(TSV).unwrap();
        let body = body(&ladder, Some(0.02), "costs");
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
    fn every_step_of_the_example_has_a_description() {
        for key in [
            "ids",
            "boxed",
            "result-channel",
            "catch-unwind",
            "counters",
            "try-submit",
            "tracker",
            "demo",
            "recording",
            "arc-per-task",
        ] {
            assert!(describe(key).is_some(), "no description for {key}");
        }
        assert_eq!(name("something-new"), "something-new");
    }
}
