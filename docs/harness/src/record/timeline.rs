//! [`Recording::timeline`]: a run drawn as text, at most [`TIMELINE_WIDTH`] columns wide.

use std::borrow::Cow;
use std::collections::HashSet;
use std::mem;
use std::time::Duration;

use super::{MAX_RECORDED_TASKS, Recording, Shape, TaskSpan, Waiting, count_over_time};
use crate::table::count;

/// The widest line the timeline prints: it must fit a terminal, and read on a projector.
pub const TIMELINE_WIDTH: usize = 100;

/// With more worker threads than this, a timeline gives them no row each: the text one counts
/// the busy workers in one row, and `docs/measure`'s SVG draws thin rows with no labels.
pub const MOST_THREAD_ROWS: usize = 16;

/// The indent of a line's continuation, so that it reads as part of the line above.
const CONTINUED: &str = "  ";

/// Columns between two ticks of the time axis.
const TICK_EVERY: usize = 10;

/// Room kept right of the plot, for the label of the last tick (`1.25ms`) to fit.
const LAST_LABEL: usize = 8;

/// The symbols of a worker's row, and what each means in the legend.
const WORKER_SYMBOLS: [(char, &str); 3] = [
    ('#', "ran tasks for at least half of the column"),
    ('.', "ran some for less"),
    ('!', "a task panicked"),
];

/// One row of the timeline, before it is drawn.
enum Row<'a> {
    /// A worker thread (or several of the same name, such as a replaced worker), and its tasks.
    Worker(Cow<'a, str>, Vec<&'a TaskSpan>),
    /// How many workers ran a task, when there are too many for a row each.
    Busy(Vec<(Duration, usize)>),
    /// How many task threads were alive, for a thread per task.
    Threads(Vec<(Duration, usize)>),
    /// What the submitting thread did.
    Submitter,
    /// How many tasks waited in the queue.
    Queue(Vec<(Duration, usize)>),
}

impl Row<'_> {
    fn label(&self) -> &str {
        match self {
            Row::Worker(name, _) => name.as_ref(),
            Row::Busy(_) => "busy",
            Row::Threads(_) => "threads",
            Row::Submitter => "submitter",
            Row::Queue(_) => "queue",
        }
    }
}

impl Recording {
    /// The run drawn as text: a heading, a row per worker (or a count of them), the submitter and
    /// the queue, a time axis and a legend. Columns are equal round stretches of time; counts are
    /// the most in the column, as a digit. Longer lines go on over the next, indented.
    pub fn timeline(&self) -> String {
        let (title, recorded) = (&self.title, self.recorded_tasks());
        let heading = format!("timeline of {title}: {} ran", count(recorded, "task"));
        let mut text = String::new();
        if recorded == 0 {
            push_wrapped(&mut text, &heading);
            return text;
        }
        let rows = self.rows();
        let label_width = rows.iter().map(|row| row.label().len()).max().unwrap_or(0) + 1;
        let plot_width = TIMELINE_WIDTH.saturating_sub(label_width + LAST_LABEL);
        let scale = Scale::fit(self.end(), plot_width);
        let column = short_duration(scale.column);
        push_wrapped(&mut text, &format!("{heading}; 1 column = {column}"));
        if self.cut_off() {
            let (last, tasks) = (MAX_RECORDED_TASKS - 1, self.tasks);
            let note = format!(
                "(only tasks 0 to {last} of {tasks} were recorded: the timeline ends with the \
                 last of them)"
            );
            push_wrapped(&mut text, &note);
        }
        if self.missing_threads > 0 {
            let threads = count(self.missing_threads, "thread");
            let note = format!(
                "(the tasks of {threads} are missing: they did not hand their events over)"
            );
            push_wrapped(&mut text, &note);
        }
        let mut legend = Vec::new();
        // The worker rows share one line of the legend, the first, which explains any of them.
        let mut all_worker_cells = String::new();
        for row in &rows {
            let (cells, explained) = self.cells(row, &scale);
            if let Row::Worker(..) = row {
                all_worker_cells.push_str(&cells);
            }
            legend.extend(explained);
            text.push_str(format!("{:<label_width$}{cells}", row.label()).trim_end());
            text.push('\n');
        }
        if let Some(explained) = symbol_legend("workers", &WORKER_SYMBOLS, &all_worker_cells) {
            legend.insert(0, explained);
        }
        text.push_str(&scale.axis(label_width));
        // The legend's counts grow with the flags (`--queue 1000000`), so it may need more lines.
        for line in legend {
            push_wrapped(&mut text, &line);
        }
        text
    }

    /// Whether the run had more tasks than a recording keeps, so that the last ones are missing.
    fn cut_off(&self) -> bool {
        self.tasks > MAX_RECORDED_TASKS && self.tasks > self.recorded_tasks()
    }

    /// The rows to draw, in order: the workers, the submitter, the queue.
    fn rows(&self) -> Vec<Row<'_>> {
        // The threads come sorted by name, so threads of the same name are next to each other.
        let threads: Vec<_> = self.workers().collect();
        let named = threads.chunk_by(|a, b| a.name == b.name).map(|same| {
            let tasks = same.iter().flat_map(|&thread| &thread.tasks).collect();
            Row::Worker(Cow::Borrowed(&same[0].name), tasks)
        });
        let mut workers: Vec<Row<'_>> = named.collect();
        let worker_tasks = || self.workers().flat_map(|thread| &thread.tasks);
        let mut rows = match self.shape {
            Shape::ThreadPerTask => {
                // A task's thread is alive from the moment it is started for the task.
                let alive = worker_tasks().map(|task| (task.handed, task.end));
                vec![Row::Threads(count_over_time(alive))]
            }
            Shape::Pool { workers: pool, .. } if workers.len().max(pool) > MOST_THREAD_ROWS => {
                let running = worker_tasks().map(|task| (task.start, task.end));
                vec![Row::Busy(count_over_time(running))]
            }
            Shape::Pool { workers: pool, .. } => {
                add_idle_workers(&mut workers, pool);
                workers
            }
        };
        rows.push(Row::Submitter);
        if let Shape::Pool { .. } = self.shape {
            rows.push(Row::Queue(self.queue_depth()));
        }
        rows
    }

    /// The cells of a row, and the line of the legend that explains them (not a worker's).
    fn cells(&self, row: &Row<'_>, scale: &Scale) -> (String, Option<String>) {
        let (steps, what) = match row {
            Row::Worker(_, tasks) => return (worker_cells(tasks, scale), None),
            Row::Submitter => return self.submitter_row(scale),
            Row::Busy(steps) => {
                // The pool's size, not its threads: a replaced worker is one worker.
                let workers = match self.shape {
                    Shape::Pool { workers, .. } if workers > 0 => workers,
                    // A run that never said its size: the threads that ran tasks.
                    _ => self.workers().count(),
                };
                let what = format!("the most of the {workers} workers running tasks at once");
                (steps, what)
            }
            Row::Threads(steps) => (steps, "the most task threads alive at once".to_string()),
            Row::Queue(steps) => {
                let capacity = match self.shape {
                    Shape::Pool { queue: Some(n), .. } => format!("it holds {n}"),
                    _ => "it has no limit".to_string(),
                };
                // A run cut off at the limit of recorded tasks counts only those.
                let recorded = if self.cut_off() { "recorded " } else { "" };
                let what = format!("the most {recorded}tasks waiting in it at once ({capacity})");
                (steps, what)
            }
        };
        let (cells, explained) = count_cells(steps, scale, &format!("{}: {what}", row.label()));
        (cells, Some(explained))
    }

    /// The submitter's row and legend: `#` where it ran a task, `~` where it waited, for half of
    /// the column (or less, if it handed nothing over there), else `>` where it handed tasks over.
    fn submitter_row(&self, scale: &Scale) -> (String, Option<String>) {
        let submitter = self.submitter().into_iter();
        let tasks = submitter.clone().flat_map(|thread| &thread.tasks);
        let waits = submitter.flat_map(|thread| &thread.waits);
        let ran = scale.coverage(tasks.map(|task| (task.start, task.end)));
        let waited = scale.coverage(waits.map(|wait| (wait.start, wait.end)));
        let handed = scale.marks(self.all_tasks().map(|task| task.handed));
        let cells: String = (0..scale.columns)
            .map(|index| {
                let (ran, waited, handed) = (ran[index], waited[index], handed[index]);
                let most = ran.max(waited);
                if most * 2 >= scale.column || (most > 0 && !handed) {
                    if ran >= waited { '#' } else { '~' }
                } else if handed {
                    '>'
                } else {
                    ' '
                }
            })
            .collect();
        // A run waits in one way only: the way its stage submits.
        let first = self.submitter().and_then(|thread| thread.waits.first());
        let waited = match first.map(|wait| wait.kind) {
            Some(Waiting::InSubmit) => "inside submit, which waits while the queue is full",
            Some(Waiting::ForSlot) | None => "waited for a slot in the queue",
        };
        let symbols = match self.shape {
            Shape::ThreadPerTask => vec![('>', "started threads for tasks")],
            Shape::Pool { .. } => vec![
                ('>', "handed tasks over"),
                ('~', waited),
                ('#', "ran a task itself"),
            ],
        };
        let explained = symbol_legend("submitter", &symbols, &cells);
        (cells, explained)
    }
}

/// Adds an empty row, named as the pools name workers, for each of the `workers` that ran no task.
fn add_idle_workers<'a>(rows: &mut Vec<Row<'a>>, workers: usize) {
    let idle = workers.saturating_sub(rows.len());
    let named: HashSet<String> = rows.iter().map(|row| row.label().to_string()).collect();
    let names = (0..).map(|number| format!("worker-{number}"));
    let names = names.filter(|name| !named.contains(name)).take(idle);
    rows.extend(names.map(|name| Row::Worker(Cow::Owned(name), Vec::new())));
    rows.sort_by(|a, b| super::name_order(a.label()).cmp(&super::name_order(b.label())));
}

/// The line of the legend for `what`: the meaning of each of `symbols` that `cells` shows, if any.
fn symbol_legend(what: &str, symbols: &[(char, &str)], cells: &str) -> Option<String> {
    let shown: Vec<String> = symbols
        .iter()
        .filter(|(symbol, _)| cells.contains(*symbol))
        .map(|(symbol, meaning)| format!("{symbol} {meaning}"))
        .collect();
    (!shown.is_empty()).then(|| format!("{what}: {}", shown.join(", ")))
}

/// Appends `line` to `text`, broken at spaces (or in a longer word) into indented continuations.
fn push_wrapped(text: &mut String, line: &str) {
    let mut current = String::new();
    for word in line.split(' ') {
        let width = current.chars().count();
        if width > 0 && width + 1 + word.chars().count() > TIMELINE_WIDTH {
            text.push_str(&mem::replace(&mut current, CONTINUED.to_string()));
            text.push('\n');
        } else if width > 0 {
            current.push(' ');
        }
        current.push_str(word);
        while let Some((cut, _)) = current.char_indices().nth(TIMELINE_WIDTH) {
            let rest = format!("{CONTINUED}{}", &current[cut..]);
            text.push_str(&current[..cut]);
            text.push('\n');
            current = rest;
        }
    }
    text.push_str(&current);
    text.push('\n');
}

/// A worker's row, in the symbols of [`WORKER_SYMBOLS`]; blank where it ran no task.
fn worker_cells(tasks: &[&TaskSpan], scale: &Scale) -> String {
    let ran = scale.coverage(tasks.iter().map(|task| (task.start, task.end)));
    // A task too short for the clock to see still ran.
    let started = scale.marks(tasks.iter().map(|task| task.start));
    let panics = tasks.iter().filter(|task| task.panicked);
    let panicked = scale.marks(panics.map(|task| task.end));
    (0..scale.columns)
        .map(|index| {
            if panicked[index] {
                '!'
            } else if ran[index] * 2 >= scale.column {
                '#'
            } else if ran[index] > 0 || started[index] {
                '.'
            } else {
                ' '
            }
        })
        .collect()
}

/// A row of counts, the most in each column as a digit, `.` for none, and its line of the legend.
fn count_cells(steps: &[(Duration, usize)], scale: &Scale, what: &str) -> (String, String) {
    let most = scale.most(steps);
    let unit = digit_unit(most.iter().copied().max().unwrap_or(0));
    let cells = most
        .iter()
        .map(|&count| match count {
            0 => '.',
            // At most 9: the unit is chosen so.
            count => char::from_digit(count.div_ceil(unit).min(9) as u32, 10).unwrap_or('9'),
        })
        .collect();
    let units = (unit > 1).then(|| format!(", in units of {unit} rounded up"));
    let explained = format!("{what}{}, . for none", units.unwrap_or_default());
    (cells, explained)
}

/// The smallest round unit (1, 2, 5, 10, 20, ...) that shows `most` in one digit.
fn digit_unit(most: usize) -> usize {
    round_numbers()
        .map(|unit| unit as usize)
        .find(|unit| most.div_ceil(*unit) <= 9)
        .unwrap_or(usize::MAX)
}

/// 1, 2, 2.5 (from 25 on), 5, 10, 20, 25, 50, 100, ...: the steps a reader counts in easily.
fn round_numbers() -> impl Iterator<Item = u64> {
    (0..18).flat_map(|power| {
        let scale = 10_u64.pow(power);
        [10, 20, 25, 50]
            .into_iter()
            .filter(move |tenths| tenths * scale % 10 == 0)
            .map(move |tenths| tenths * scale / 10)
    })
}

/// How time maps to columns: `columns` columns of `column` nanoseconds each.
#[derive(Debug, PartialEq, Eq)]
struct Scale {
    column: u64,
    columns: usize,
}

impl Scale {
    /// The shortest round column (see [`round_numbers`]) that fits `end` into `most` columns.
    fn fit(end: Duration, most: usize) -> Scale {
        let end = nanos(end).max(1);
        let column = round_numbers()
            .find(|column| end.div_ceil(*column) <= most as u64)
            .unwrap_or(end);
        let columns = end.div_ceil(column) as usize;
        Scale { column, columns }
    }

    /// How many nanoseconds of each column the spans cover.
    fn coverage(&self, spans: impl Iterator<Item = (Duration, Duration)>) -> Vec<u64> {
        let mut covered = vec![0; self.columns];
        for (start, end) in spans {
            let (mut at, end) = (nanos(start), nanos(end));
            while at < end {
                let index = (at / self.column) as usize;
                let Some(cell) = covered.get_mut(index) else {
                    break;
                };
                let until = end.min((index as u64 + 1) * self.column);
                *cell += until - at;
                at = until;
            }
        }
        covered
    }

    /// Which columns hold at least one of `moments`.
    fn marks(&self, moments: impl Iterator<Item = Duration>) -> Vec<bool> {
        let mut marked = vec![false; self.columns];
        for moment in moments {
            // The end of the run falls on the right edge of the last column: it belongs to it.
            let index = ((nanos(moment) / self.column) as usize).min(self.columns - 1);
            marked[index] = true;
        }
        marked
    }

    /// The largest count in each column, from steps as [`count_over_time`] makes them.
    fn most(&self, steps: &[(Duration, usize)]) -> Vec<usize> {
        let mut steps = steps.iter().peekable();
        let mut count = 0;
        (0..self.columns)
            .map(|index| {
                let (start, end) = (index as u64 * self.column, (index as u64 + 1) * self.column);
                // The count as the column begins, then every count it takes inside the column.
                while let Some((_, next)) = steps.next_if(|(at, _)| nanos(*at) <= start) {
                    count = *next;
                }
                let mut most = count;
                while let Some((_, next)) = steps.next_if(|(at, _)| nanos(*at) < end) {
                    count = *next;
                    most = most.max(count);
                }
                most
            })
            .collect()
    }

    /// The time axis after `indent` spaces: `|` every [`TICK_EVERY`] columns, its time under it.
    fn axis(&self, indent: usize) -> String {
        let ticks: String = (0..self.columns)
            .map(|index| if index % TICK_EVERY == 0 { '|' } else { '-' })
            .collect();
        let mut labels = " ".repeat(indent);
        for index in (0..self.columns).step_by(TICK_EVERY) {
            let label = match index {
                0 => "0".to_string(),
                _ => short_duration(index as u64 * self.column),
            };
            // Saturating: a label wider than the space to the next tick pushes that one along.
            let gap = (indent + index).saturating_sub(labels.len());
            labels.push_str(&format!("{:gap$}{label}", ""));
        }
        format!("{:indent$}{ticks}\n{}\n", "", labels.trim_end())
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A round duration, short: `2.5ms`, `250us`, `1.25s`.
fn short_duration(nanos: u64) -> String {
    for (unit, size) in [("s", 1e9), ("ms", 1e6), ("us", 1e3)] {
        if nanos as f64 >= size {
            let value = format!("{:.2}", nanos as f64 / size);
            let value = value.trim_end_matches('0').trim_end_matches('.');
            return format!("{value}{unit}");
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{busy, pool, submitter, task, thread, us, wait};
    use super::super::{ThreadRecord, Waiting};
    use super::*;
    use crate::MAX_QUEUE;
    use crate::limits::MAX_TASKS;

    /// Stage 03 with `--policy block`: six tasks of 10 ms on two workers with a queue of 2.
    /// Tasks 4 and 5 find the queue full, and the submitter waits for a slot.
    fn blocked() -> Recording {
        let waits = vec![wait(4, 0, 10_000), wait(5, 10_000, 20_000)];
        let worker_0 = busy("worker-0", &[(0, 0), (2, 0), (4, 0)]);
        let worker_1 = busy("worker-1", &[(1, 0), (3, 0), (5, 10_000)]);
        pool(2, vec![submitter(vec![], waits), worker_0, worker_1])
    }

    const BLOCKED: &str = "\
timeline of stage 03: 6 tasks ran; 1 column = 500us
worker-0  ############################################################
worker-1  ############################################################
submitter ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
queue     2222222222222222222211111111111111111111....................
          |---------|---------|---------|---------|---------|---------
          0         5ms       10ms      15ms      20ms      25ms
workers: # ran tasks for at least half of the column
submitter: ~ waited for a slot in the queue
queue: the most tasks waiting in it at once (it holds 2), . for none
";

    /// Stage 03 with `--policy caller-runs`: the submitter runs a task itself when the queue of 2
    /// is full. Tasks 8 and 9 are handed over at 20 and 25 ms; 8 is short, and 9 panics.
    fn caller_runs() -> Recording {
        let own = vec![task(4, 0, 0, 10_000), task(7, 10_000, 10_000, 20_000)];
        let mut worker_0 = busy("worker-0", &[(0, 0), (2, 0), (5, 10_000)]);
        worker_0.tasks.push(task(8, 20_000, 30_000, 30_200));
        let mut worker_1 = busy("worker-1", &[(1, 0), (3, 0), (6, 10_000), (9, 25_000)]);
        worker_1.tasks[3].panicked = true;
        pool(2, vec![submitter(own, vec![]), worker_0, worker_1])
    }

    const CALLER_RUNS: &str = "\
timeline of stage 03: 10 tasks ran; 1 column = 500us
worker-0  ############################################################.
worker-1  ###############################################################################!
submitter ########################################>         >
queue     222222222222222222222222222222222222222211111111112222222222....................
          |---------|---------|---------|---------|---------|---------|---------|---------
          0         5ms       10ms      15ms      20ms      25ms      30ms      35ms
workers: # ran tasks for at least half of the column, . ran some for less, ! a task panicked
submitter: > handed tasks over, # ran a task itself
queue: the most tasks waiting in it at once (it holds 2), . for none
";

    /// Stage 01: a thread per task, started 100 us apart, each running 1 ms after it starts.
    fn thread_per_task(threads: usize) -> Recording {
        let thread = |id| {
            let handed = id as u64 * 100;
            let tasks = vec![task(id, handed, handed + 50, handed + 1_050)];
            thread(&format!("task-{id}"), tasks)
        };
        Recording {
            title: "stage 01".to_string(),
            shape: Shape::ThreadPerTask,
            ..pool(0, (0..threads).map(thread).collect())
        }
    }

    const THREAD_PER_TASK: &str = "\
timeline of stage 01: 30 tasks ran; 1 column = 50us
threads   1111222233334444555565656565656565656565656565656565656565655554444333322221111
submitter > > > > > > > > > > > > > > > > > > > > > > > > > > > > > >
          |---------|---------|---------|---------|---------|---------|---------|--------
          0         500us     1ms       1.5ms     2ms       2.5ms     3ms       3.5ms
threads: the most task threads alive at once, in units of 2 rounded up, . for none
submitter: > started threads for tasks
";

    #[test]
    fn whole_timelines_of_a_blocked_submitter_a_caller_that_runs_and_a_thread_per_task() {
        let mut nothing = blocked();
        nothing.threads.clear();
        let cases = [
            (blocked(), BLOCKED),
            (caller_runs(), CALLER_RUNS),
            (thread_per_task(30), THREAD_PER_TASK),
            (nothing, "timeline of stage 03: 0 tasks ran\n"),
        ];
        for (run, expected) in cases {
            assert_eq!(run.timeline(), expected);
        }
    }

    /// A pool of `workers` with a queue of `queue`, where `worker` ran the one task.
    fn one_task(worker: &str, workers: usize, queue: Option<usize>) -> Recording {
        let mut run = pool(0, vec![thread(worker, vec![task(0, 0, 0, 10_000)])]);
        run.threads.insert(0, submitter(vec![], vec![]));
        run.shape = Shape::Pool { workers, queue };
        run
    }

    /// `count` workers that each ran a task of 1 ms at once.
    fn workers(count: usize) -> Vec<ThreadRecord> {
        let worker = |n| thread(&format!("worker-{n}"), vec![task(n, 0, 0, 1_000)]);
        (0..count).map(worker).collect()
    }

    #[test]
    fn rows_and_legends_show_only_what_the_run_did() {
        // Stage 02: no bound on the queue, so the submitter only ever hands tasks over.
        let unbounded = one_task("worker-0", 1, None);
        // Stages 04 and 05 time each whole call to `submit`.
        let mut in_submit = blocked();
        for wait in &mut in_submit.threads[0].waits {
            wait.kind = Waiting::InSubmit;
        }
        let mut cut_off = blocked();
        cut_off.tasks = MAX_RECORDED_TASKS + 1;
        let mut many = pool(8, workers(20));
        many.threads.push(submitter(vec![], vec![]));
        let idle = one_task("worker-2", 3, Some(2));
        let note = "(only tasks 0 to 99999 of 100001 were recorded: the timeline ends with the \
                    last of them)";
        let in_submit_legend =
            "\nsubmitter: ~ inside submit, which waits while the queue is full\n";
        // Text each timeline holds, read after a newline: a `\n` first marks a line's start.
        let cases = [
            // Workers that ran no task get empty rows.
            (&idle, "200us\nworker-0\nworker-1\nworker-2  ####"),
            (&unbounded, "\ntimeline of stage 03: 1 task ran;"),
            (&unbounded, "\nsubmitter: > handed tasks over\n"),
            (&unbounded, "(it has no limit)"),
            (&in_submit, in_submit_legend),
            (&cut_off, note),
            (&cut_off, "queue: the most recorded tasks waiting in it"),
            (&many, "20us\nbusy      4444"),
            (&many, "busy: the most of the 20 workers"),
        ];
        for (run, expected) in cases {
            let timeline = format!("\n{}", run.timeline());
            assert!(timeline.contains(expected), "{expected:?} in {timeline}");
        }
    }

    /// A run at the largest counts the flags allow: every recorded task waits in the queue, then
    /// all run at once; the submitter shows all its symbols; all threads but one are missing.
    fn largest(shape: Shape) -> Recording {
        let ms = Duration::from_millis;
        let tasks = (1..MAX_RECORDED_TASKS).map(|id| TaskSpan {
            id,
            // One task is handed over late, where the submitter does nothing else.
            handed: if id == 1 { us(950) } else { Duration::ZERO },
            start: ms(1) + Duration::from_nanos(id as u64),
            end: ms(3),
            panicked: false,
        });
        let mut submitter = submitter(vec![task(0, 500, 500, 900)], vec![wait(0, 0, 500)]);
        submitter.waits[0].kind = Waiting::InSubmit;
        // Stage 01's submitter only starts threads.
        if shape == Shape::ThreadPerTask {
            (submitter.tasks, submitter.waits) = (Vec::new(), Vec::new());
        }
        Recording {
            title: "stage 04".to_string(),
            shape,
            tasks: MAX_TASKS,
            threads: vec![submitter, thread("worker-0", tasks.collect())],
            missing_threads: MAX_TASKS - 1,
        }
    }

    #[test]
    fn every_line_fits_with_long_names_long_runs_and_the_largest_counts_the_flags_allow() {
        let mut long = blocked();
        long.threads[1].name = "worker-123456789".to_string();
        long.threads[2].tasks[0].end = Duration::from_secs(3600);
        let mut many = pool(1_000_000, Vec::new());
        many.tasks = 10_000_000;
        many.threads = workers(10_000);
        let fits = |timeline: &str| {
            let widest = timeline.lines().map(|line| line.chars().count()).max();
            assert!(
                widest <= Some(TIMELINE_WIDTH),
                "{widest:?} columns:\n{timeline}"
            );
        };
        for run in [long, many, thread_per_task(10_000)] {
            fits(&run.timeline());
        }
        // Legends too long for one line go on over the next, and say all of it.
        let queue = "queue: the most recorded tasks waiting in it at once";
        let units = "in units of 20000 rounded up, . for none";
        let busy = format!("busy: the most of the 10000000 workers running tasks at once, {units}");
        let submitter = "submitter: > handed tasks over, ~ inside submit, which waits while the \
                         queue is full, # ran a task itself";
        let pool = |queue| Shape::Pool {
            workers: MAX_TASKS,
            queue,
        };
        let holds = format!("{queue} (it holds 1000000), {units}");
        let no_limit = format!("{queue} (it has no limit), {units}");
        let threads = "threads: the most task threads alive at once";
        let cases = [
            (pool(Some(MAX_QUEUE)), &*holds),
            (pool(None), &*no_limit),
            (Shape::ThreadPerTask, threads),
        ];
        for (shape, legend) in cases {
            let timeline = largest(shape).timeline();
            fits(&timeline);
            let unwrapped = timeline.replace(&format!("\n{CONTINUED}"), " ");
            assert!(unwrapped.contains(legend), "{timeline}");
            if shape != Shape::ThreadPerTask {
                assert!(unwrapped.contains(&busy), "{timeline}");
                assert!(unwrapped.contains(submitter), "{timeline}");
            }
        }
    }

    #[test]
    fn long_lines_go_on_indented_and_long_words_are_cut() {
        let mut text = String::new();
        push_wrapped(&mut text, &["word"; 30].join(" "));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0].len(), 99, "{text}");
        assert_eq!(lines[1], format!("{CONTINUED}{}", ["word"; 10].join(" ")));

        let mut text = String::new();
        push_wrapped(&mut text, &"x".repeat(2 * TIMELINE_WIDTH));
        let widths: Vec<usize> = text.lines().map(str::len).collect();
        assert_eq!(widths, [TIMELINE_WIDTH, TIMELINE_WIDTH, 4], "{text}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn columns_are_round_and_the_run_fits() {
        let fit = |ms| Scale::fit(Duration::from_millis(ms), 82);
        assert_eq!((fit(200).column, fit(200).columns), (2_500_000, 80));
        assert_eq!(Scale::fit(Duration::ZERO, 82).columns, 1);
        let round: Vec<u64> = round_numbers().take(8).collect();
        assert_eq!(round, [1, 2, 5, 10, 20, 25, 50, 100]);
        assert_eq!(
            [1_250_000_000, 250_000].map(short_duration),
            ["1.25s", "250us"]
        );
        assert_eq!([9, 10, 1_000].map(digit_unit), [1, 2, 200]);
    }
}
