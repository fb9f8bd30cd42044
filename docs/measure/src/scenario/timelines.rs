//! `timelines`: one small job traced with `--trace FILE` through stages 01, 02, 03 (under
//! `block` and `caller-runs`) and 05 (with a task that panics), each drawn by [`crate::timeline`]
//! as `charts/timeline-*.svg` for two sections of `docs/README.md` ([`SAME_JOB`], [`POLICIES`]).

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harness::table;
use harness::{Policy, Recording};
use minijinja::{Value, context};

use super::{Job, Options, Run, Runner, Size, measured, problems, task};
use crate::prose;
use crate::stages::{Readiness, stage};
use crate::timeline::{self, most, running};

/// Workers of every pool in this scenario: few enough for a row each.
pub const WORKERS: usize = 4;
/// Queue capacity of the bounded stages: small enough to fill, so that the submitter waits.
pub const QUEUE: usize = 4;

/// The most a traced run may take: the longest takes well under a second.
const LIMIT: Duration = Duration::from_secs(30);

/// The generated block of `docs/README.md` (and `--out`'s file) for the "Same job" timelines.
pub const SAME_JOB: &str = "same-job-timelines";
/// The block for the "Policies" timelines: what a full queue makes the submitter do.
pub const POLICIES: &str = "policies-timelines";

/// One timeline to draw: a job, the chart it goes to, and where the docs show it.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    /// The run.
    pub job: Job,
    /// The chart's file name in `charts/`, without `.svg`.
    pub file: &'static str,
    /// The blocks that show it.
    pub blocks: &'static [&'static str],
}

/// The runs, in the order the sections show them.
pub fn plan(options: Options) -> Vec<Planned> {
    let (tasks, spec) = match options.size {
        // Ten tasks per worker: the queue fills and the submitter waits, and every bar shows.
        Size::Full => (40, task("sleep:10ms")),
        // As in `same-job`: sleeps long enough that stage 01 starts every thread before the
        // first one ends, which the quick run's tests check.
        Size::Quick => (16, task("sleep:50ms")),
    };
    use Policy::{Block, CallerRuns};
    // The blocks that show each timeline.
    const SAME: &[&str] = &[SAME_JOB];
    const BOTH: &[&str] = &[SAME_JOB, POLICIES];
    const POLICY: &[&str] = &[POLICIES];
    let planned = [
        ("01", None, "timeline-01", SAME),
        ("02", None, "timeline-02", SAME),
        ("03", Some(Block), "timeline-03-block", BOTH),
        ("03", Some(CallerRuns), "timeline-03-caller-runs", POLICY),
        // Stage 05's demo makes its first task panic, as the tutorial does.
        ("05", None, "timeline-05-panic", SAME),
    ];
    let planned = planned.into_iter().map(|(number, policy, file, blocks)| {
        let job = Job::new(Runner::Stage(stage(number)), tasks, spec, WORKERS, QUEUE);
        let job = policy.map_or(job, |policy| job.with_policy(policy));
        Planned { job, file, blocks }
    });
    planned.collect()
}

/// One traced run and what became of it.
#[derive(Debug)]
pub struct Timeline {
    /// What was planned.
    pub planned: Planned,
    /// The run, measured like any other.
    pub run: Run,
    /// The trace it wrote, read back, and its drawing; or why there is none.
    pub drawn: Result<(Recording, String), String>,
}

/// Every planned timeline, drawn or not: what the scenario hands back.
#[derive(Debug)]
pub struct Timelines(pub Vec<Timeline>);

/// Runs every planned job with `--trace`, reads the traces and draws them on one time axis.
pub fn run(ready: &Readiness, options: Options) -> Timelines {
    let folder = std::env::temp_dir().join(format!("measure-timelines-{}", std::process::id()));
    let traced: Vec<_> = plan(options)
        .into_iter()
        .map(|planned| {
            let path = folder.join(format!("{}.json", planned.file));
            (planned, traced(planned.job, ready, &path))
        })
        .collect();
    // Nothing else is in the folder; it is gone with the last trace, or was never made.
    let _ = fs::remove_dir_all(&folder);
    // One time axis for all, so that the lengths of the runs compare from picture to picture.
    let traces = traced
        .iter()
        .filter_map(|(_, (_, trace))| trace.as_ref().ok());
    let until = traces.map(Recording::end).max();
    let timelines = traced.into_iter().map(|(planned, (run, trace))| {
        let title = title(&planned.job);
        let drawn = trace.and_then(|trace| {
            let svg = timeline::svg(&trace, &title, until);
            Ok((trace, svg.map_err(|error| error.to_string())?))
        });
        Timeline {
            planned,
            run,
            drawn,
        }
    });
    Timelines(timelines.collect())
}

/// Runs `job` with `--trace path` and reads the trace back.
fn traced(job: Job, ready: &Readiness, path: &Path) -> (Run, Result<Recording, String>) {
    let run = measured(job, command(job, ready, path), LIMIT);
    let trace = match run.problem() {
        Some(problem) => Err(problem),
        None => fs::read_to_string(path)
            .map_err(|error| format!("no trace at {}: {error}", path.display()))
            .and_then(|json| {
                Recording::read_trace(&json)
                    .map_err(|error| format!("not a stage's trace: {error}"))
            }),
    };
    let _ = fs::remove_file(path);
    (run, trace)
}

/// The command that runs `job` with `--trace path`. A stage that is not built, or whose demo has
/// no `--trace` yet, is skipped like a stage that does not build.
fn command(job: Job, ready: &Readiness, path: &Path) -> Result<Command, String> {
    let Runner::Stage(stage) = job.runner else {
        return Err("only the stages write traces".to_string());
    };
    let mut command = job.command(ready)?;
    // A demo that takes `--trace` lists it in its help.
    let help = Command::new(command.get_program()).arg("--help").output();
    if !help.is_ok_and(|help| String::from_utf8_lossy(&help.stdout).contains("--trace")) {
        return Err(format!("{} has no --trace yet", stage.bin));
    }
    fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
        .map_err(|error| format!("cannot make a folder for the trace: {error}"))?;
    command.arg("--trace").arg(path);
    Ok(command)
}

/// `03 crossbeam-bounded, --policy block: 40 tasks of sleep:10ms, 4 workers, queue of 4`.
fn title(job: &Job) -> String {
    let policy = job.policy.map(|policy| format!(", --policy {policy}"));
    let policy = policy.unwrap_or_default();
    let threads = match (job.workers, job.queue) {
        (Some(workers), Some(queue)) => format!("{workers} workers, queue of {queue}"),
        (Some(workers), None) => format!("{workers} workers, unbounded queue"),
        _ => "a thread each".to_string(),
    };
    let (runner, tasks, task) = (job.runner.label(), job.tasks, job.task);
    format!("{runner}{policy}: {tasks} tasks of {task}, {threads}")
}

impl Timelines {
    /// The runs, for `--out`'s `timelines.tsv`.
    pub fn runs(&self) -> Vec<Run> {
        self.0.iter().map(|timeline| timeline.run.clone()).collect()
    }

    /// The markdown of the block `name` (without the line that says where it was measured):
    /// what the runs were, a line of what each trace shows, its problems, and the charts.
    pub fn block(&self, name: &str) -> String {
        let shows_it = |timeline: &&Timeline| timeline.planned.blocks.contains(&name);
        let mine: Vec<&Timeline> = self.0.iter().filter(shows_it).collect();
        let first = mine.first().map(|timeline| timeline.planned.job);
        let (mut traced, mut runs, mut shown) = (Vec::new(), Vec::new(), Vec::new());
        for timeline in mine {
            let (Planned { job, file, .. }, run) = (timeline.planned, &timeline.run);
            runs.push(run.clone());
            match &timeline.drawn {
                Ok((recording, _)) => {
                    traced.push(shows(&job, recording));
                    let title = title(&job);
                    shown.push(context! { title, file });
                }
                // A run that failed is already listed by `problems`; a trace that could not be
                // read or drawn is not.
                Err(reason) if run.problem().is_none() => {
                    let command = run.job.command_line();
                    shown.push(context! { command, reason });
                }
                Err(_) => {}
            }
        }
        let figures = context! {
            tasks => first.map(|job| job.tasks),
            task => first.map(|job| job.task.to_string()),
            workers => WORKERS,
            queue => QUEUE,
            traced,
            problems => problems(&runs).trim(),
            shown,
        };
        prose::render("timelines.md", figures)
    }
}

/// The figures of what a trace shows, for its line in `templates/timelines.md`.
fn shows(job: &Job, recording: &Recording) -> Value {
    let under = job.policy.map(|policy| format!(" under `{policy}`"));
    let under = under.unwrap_or_default();
    let label = format!("{}{under}", job.runner.label());
    let submitters: Vec<Value> = recording
        .submitter()
        .into_iter()
        .map(|submitter| {
            let waits = submitter.waits.first().map(|first| {
                let spent = submitter.waits.iter().map(|wait| wait.end - wait.start);
                context! {
                    ms => table::time(spent.sum()),
                    count => submitter.waits.len(),
                    name => first.kind.label(),
                }
            });
            context! { own => submitter.tasks.len(), waits }
        })
        .collect();
    let depth = recording.queue_depth();
    // What the threads that ran a panicking task did next: a resilient pool keeps using them.
    let (mut panicked, mut after) = (0, 0);
    for thread in &recording.threads {
        let tasks = &thread.tasks;
        for ended in tasks.iter().filter(|task| task.panicked) {
            panicked += 1;
            after += tasks.iter().filter(|task| task.start >= ended.end).count();
        }
    }
    context! {
        label,
        tasks => recording.recorded_tasks(),
        threads => recording.threads.iter().filter(|thread| !thread.tasks.is_empty()).count(),
        most => most(&running(recording)),
        submitters,
        queue => (!depth.is_empty()).then(|| most(&depth)),
        panicked,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::QUICK;
    use crate::timeline::tests::fixture;

    #[test]
    fn the_plan_covers_both_sections_with_the_timelines_the_docs_name() {
        let plan = plan(QUICK);
        let files = |block| -> Vec<&str> {
            plan.iter()
                .filter(|planned| planned.blocks.contains(&block))
                .map(|planned| planned.file)
                .collect()
        };
        assert_eq!(
            files(SAME_JOB).join(" "),
            "timeline-01 timeline-02 timeline-03-block timeline-05-panic"
        );
        assert_eq!(
            files(POLICIES).join(" "),
            "timeline-03-block timeline-03-caller-runs"
        );
        assert_eq!(
            plan[3].job.command_line(),
            "03-crossbeam-bounded --tasks 16 --task sleep:50ms --workers 4 --queue 4 --policy \
             caller-runs --quiet"
        );
    }

    #[test]
    fn a_trace_is_described_with_its_own_numbers() {
        let job = Job::new(Runner::Stage(stage("05")), 5, task("sleep:10ms"), 2, 1);
        let figures = context! {
            tasks => (),
            traced => vec![shows(&job, &fixture())],
            problems => "",
            shown => (),
        };
        let text = prose::render("timelines.md", figures);
        assert_eq!(
            text.trim(),
            "- 05 panic-resilient: 5 tasks on 3 threads, at most 3 running at once; the \
             submitter ran 1 task itself and spent 9.97 ms in 1 span of `wait for a queue \
             slot`; the queue held at most 1 task; 1 task panicked, and the thread that ran it \
             went on to run 1 more."
        );
    }
}
