//! [`Recording::timeline`]: a run drawn as text, at most [`TIMELINE_WIDTH`] columns wide, with a row per
//! worker thread, one for the submitter and one for the queue, over a time axis.

use std::time::Duration;

use super::{Recording, Shape, TaskSpan, count_over_time};

/// The widest line the timeline prints: it must fit a terminal, and read on a projector.
pub const TIMELINE_WIDTH: usize = 100;

/// With more worker threads than this, one row counts the busy workers instead of a row each.
const MOST_THREAD_ROWS: usize = 16;

/// Columns between two ticks of the time axis.
const TICK_EVERY: usize = 10;

/// Room kept right of the plot, for the label of the last tick (`1.25ms`) to fit in [`TIMELINE_WIDTH`].
const LAST_LABEL: usize = 8;

/// One row of the timeline, before it is drawn.
enum Row<'a> {
    /// A worker thread (or several threads of the same name, such as a replaced worker): when it
    /// ran tasks.
    Worker(&'a str, Vec<&'a TaskSpan>),
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
            Row::Worker(name, _) => name,
            Row::Busy(_) => "busy",
            Row::Threads(_) => "threads",
            Row::Submitter => "submitter",
            Row::Queue(_) => "queue",
        }
    }
}

impl Recording {
    /// The run drawn as text: a heading, a row per worker thread, a row for the submitter and one
    /// for the queue, a time axis, and a legend. No line is wider than [`TIMELINE_WIDTH`], and
    /// every line ends with a newline.
    ///
    /// Each column stands for the same stretch of time, a round one (1, 2, 2.5 or 5 times a power
    /// of ten), chosen so that the whole run fits. A worker's row shows `#` where it ran a task
    /// for most of the column, `.` where it ran one for less, and `!` where a task panicked. The
    /// submitter's row shows `>` where it handed tasks over, `~` where it waited for a slot in the
    /// queue, and `#` where it ran a task itself. Counts (the queue, and the busy workers or the
    /// live threads when there are too many for a row each) are the most in each column, as a
    /// digit, `.` for none.
    ///
    /// A thread per task ([`Shape::ThreadPerTask`]) gets a row that counts the live threads
    /// instead of a row each, and no queue. Pure: the same recording always gives the same text.
    pub fn timeline(&self) -> String {
        let recorded = self.recorded_tasks();
        let mut text = format!("timeline of {}: {recorded} tasks ran", self.title);
        if recorded == 0 {
            text.push('\n');
            return text;
        }
        let rows = self.rows();
        let label_width = rows.iter().map(|row| row.label().len()).max().unwrap_or(0) + 1;
        let scale = Scale::fit(self.end(), TIMELINE_WIDTH - label_width - LAST_LABEL);
        text.push_str(&format!("; 1 column = {}\n", short_duration(scale.column)));
        if self.tasks > recorded && self.tasks > super::MAX_RECORDED_TASKS {
            let last = super::MAX_RECORDED_TASKS - 1;
            text.push_str(&format!(
                "(only tasks 0 to {last} of {} were recorded)\n",
                self.tasks
            ));
        }
        if self.missing_threads > 0 {
            text.push_str(&format!(
                "(the tasks of {} threads are missing: they did not hand their events over)\n",
                self.missing_threads
            ));
        }
        let mut legend = Vec::new();
        for row in &rows {
            let (cells, explained) = self.cells(row, &scale);
            let line = format!("{:<label_width$}{cells}", row.label());
            text.push_str(line.trim_end());
            text.push('\n');
            legend.push(explained);
        }
        // The worker rows share one line of the legend.
        legend.dedup();
        text.push_str(&" ".repeat(label_width));
        text.push_str(&scale.axis());
        text.push('\n');
        text.push_str(scale.axis_labels(label_width).trim_end());
        text.push('\n');
        for line in legend {
            text.push_str(&line);
            text.push('\n');
        }
        text
    }

    /// The rows to draw, in order: the workers, the submitter, the queue.
    fn rows(&self) -> Vec<Row<'_>> {
        let mut workers: Vec<Row<'_>> = Vec::new();
        // The threads come sorted by name, so threads of the same name are next to each other.
        for thread in self.workers() {
            match workers.last_mut() {
                Some(Row::Worker(name, tasks)) if *name == thread.name => {
                    tasks.extend(&thread.tasks);
                }
                _ => workers.push(Row::Worker(&thread.name, thread.tasks.iter().collect())),
            }
        }
        let worker_tasks = || self.workers().flat_map(|thread| &thread.tasks);
        let mut rows = match self.shape {
            Shape::ThreadPerTask => {
                // A task's thread is alive from the moment it is started for the task.
                let alive = worker_tasks().map(|task| (task.handed, task.end));
                vec![Row::Threads(count_over_time(alive))]
            }
            Shape::Pool { .. } if workers.len() > MOST_THREAD_ROWS => {
                let running = worker_tasks().map(|task| (task.start, task.end));
                vec![Row::Busy(count_over_time(running))]
            }
            Shape::Pool { .. } => workers,
        };
        rows.push(Row::Submitter);
        if let Shape::Pool { .. } = self.shape {
            rows.push(Row::Queue(self.queue_depth()));
        }
        rows
    }

    /// The cells of `row`, one per column, and the line of the legend that explains them.
    fn cells(&self, row: &Row<'_>, scale: &Scale) -> (String, String) {
        match row {
            Row::Worker(_, tasks) => {
                let explained = "workers: # ran a task for most of the column, . for part of it, \
                                 ! a task panicked";
                (worker_cells(tasks, scale), explained.to_string())
            }
            Row::Busy(steps) => {
                let workers = self.workers().count();
                let what = format!("busy: the most of the {workers} workers running tasks at once");
                count_cells(steps, scale, &what)
            }
            Row::Threads(steps) => {
                count_cells(steps, scale, "threads: the most task threads alive at once")
            }
            Row::Submitter => {
                let explained = match self.shape {
                    Shape::ThreadPerTask => "submitter: > started threads for tasks",
                    Shape::Pool { .. } => {
                        "submitter: > handed tasks over, ~ waited for a slot in the queue, \
                         # ran a task itself"
                    }
                };
                (self.submitter_cells(scale), explained.to_string())
            }
            Row::Queue(steps) => {
                let capacity = match self.shape {
                    Shape::Pool {
                        queue: Some(capacity),
                    } => format!("it holds {capacity}"),
                    _ => "it has no limit".to_string(),
                };
                let what = format!("queue: the most tasks waiting in it at once ({capacity})");
                count_cells(steps, scale, &what)
            }
        }
    }

    /// The submitter's row: `#` where it ran a task itself, `~` where it waited, for most of the
    /// column (or for part of it, if it handed nothing over there), else `>` where it handed tasks
    /// over.
    fn submitter_cells(&self, scale: &Scale) -> String {
        let (ran, waited) = match self.submitter() {
            Some(thread) => (
                scale.coverage(thread.tasks.iter().map(|task| (task.start, task.end))),
                scale.coverage(thread.waits.iter().map(|wait| (wait.start, wait.end))),
            ),
            None => (vec![0; scale.columns], vec![0; scale.columns]),
        };
        let handed = scale.marks(self.all_tasks().map(|task| task.handed));
        (0..scale.columns)
            .map(|index| {
                let busiest = if ran[index] >= waited[index] {
                    '#'
                } else {
                    '~'
                };
                let most = ran[index].max(waited[index]);
                if most * 2 >= scale.column || (most > 0 && !handed[index]) {
                    busiest
                } else if handed[index] {
                    '>'
                } else {
                    ' '
                }
            })
            .collect()
    }
}

/// A worker's row: `!` where a task panicked, `#` where it ran tasks for at least half of the
/// column, `.` where it ran any for less, blank where it ran none.
fn worker_cells(tasks: &[&TaskSpan], scale: &Scale) -> String {
    let ran = scale.coverage(tasks.iter().map(|task| (task.start, task.end)));
    // A task too short for the clock to see still ran.
    let started = scale.marks(tasks.iter().map(|task| task.start));
    let panicked = scale.marks(
        tasks
            .iter()
            .filter(|task| task.panicked)
            .map(|task| task.end),
    );
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

/// A row of counts, the most in each column as a digit, `.` for none, and its line of the
/// legend: `what`, with the unit of the digits if it is not 1.
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
    let explained = if unit == 1 {
        format!("{what}, . for none")
    } else {
        format!("{what}, in units of {unit} rounded up, . for none")
    };
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
    /// The shortest round column (see [`round_numbers`]) that fits a run of `end` into at most
    /// `most` columns, so that the axis counts in round numbers.
    fn fit(end: Duration, most: usize) -> Scale {
        let end = nanos(end).max(1);
        let column = round_numbers()
            .find(|column| end.div_ceil(*column) <= most as u64)
            .unwrap_or(end);
        Scale {
            column,
            columns: end.div_ceil(column) as usize,
        }
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

    /// The time axis: `|` every [`TICK_EVERY`] columns, `-` between.
    fn axis(&self) -> String {
        (0..self.columns)
            .map(|index| if index % TICK_EVERY == 0 { '|' } else { '-' })
            .collect()
    }

    /// The time of each tick of [`Scale::axis`], starting under it, after `indent` spaces.
    fn axis_labels(&self, indent: usize) -> String {
        let mut line = " ".repeat(indent);
        for index in (0..self.columns).step_by(TICK_EVERY) {
            let label = match index {
                0 => "0".to_string(),
                _ => short_duration(index as u64 * self.column),
            };
            line.push_str(&" ".repeat(indent + index - line.len()));
            line.push_str(&label);
        }
        line
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
    use super::super::{ThreadRecord, WaitSpan, Waiting};
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// A task handed over at `handed`, run from `start` to `end`, in microseconds.
    fn task(id: usize, handed: u64, start: u64, end: u64) -> TaskSpan {
        TaskSpan {
            id,
            handed: us(handed),
            start: us(start),
            end: us(end),
            panicked: false,
        }
    }

    fn panicked(mut task: TaskSpan) -> TaskSpan {
        task.panicked = true;
        task
    }

    fn thread(name: &str, tasks: Vec<TaskSpan>) -> ThreadRecord {
        ThreadRecord {
            name: name.to_string(),
            submitter: false,
            tasks,
            waits: Vec::new(),
        }
    }

    fn submitter(tasks: Vec<TaskSpan>, waits: Vec<WaitSpan>) -> ThreadRecord {
        ThreadRecord {
            name: "main".to_string(),
            submitter: true,
            tasks,
            waits,
        }
    }

    fn wait(id: usize, start: u64, end: u64) -> WaitSpan {
        WaitSpan {
            id,
            start: us(start),
            end: us(end),
            kind: Waiting::ForSlot,
        }
    }

    fn pool(queue: usize, threads: Vec<ThreadRecord>) -> Recording {
        Recording {
            title: "stage 03".to_string(),
            shape: Shape::Pool { queue: Some(queue) },
            tasks: threads.iter().map(|thread| thread.tasks.len()).sum(),
            threads,
            missing_threads: 0,
        }
    }

    /// Stage 03 with `--policy block`: six tasks of 10 ms on two workers with a queue of 2.
    /// Tasks 4 and 5 find the queue full, and the submitter waits for a slot.
    fn blocked() -> Recording {
        pool(
            2,
            vec![
                submitter(vec![], vec![wait(4, 0, 10_000), wait(5, 10_000, 20_000)]),
                thread(
                    "worker-0",
                    vec![
                        task(0, 0, 0, 10_000),
                        task(2, 0, 10_000, 20_000),
                        task(4, 0, 20_000, 30_000),
                    ],
                ),
                thread(
                    "worker-1",
                    vec![
                        task(1, 0, 0, 10_000),
                        task(3, 0, 10_000, 20_000),
                        task(5, 10_000, 20_000, 30_000),
                    ],
                ),
            ],
        )
    }

    #[test]
    fn a_submitter_that_waits_for_a_slot() {
        let expected = "\
timeline of stage 03: 6 tasks ran; 1 column = 500us
worker-0  ############################################################
worker-1  ############################################################
submitter ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
queue     2222222222222222222211111111111111111111....................
          |---------|---------|---------|---------|---------|---------
          0         5ms       10ms      15ms      20ms      25ms
workers: # ran a task for most of the column, . for part of it, ! a task panicked
submitter: > handed tasks over, ~ waited for a slot in the queue, # ran a task itself
queue: the most tasks waiting in it at once (it holds 2), . for none
";
        assert_eq!(blocked().timeline(), expected);
    }

    /// Stage 03 with `--policy caller-runs`: when the queue of 2 is full, the submitter runs the
    /// task itself. The last two tasks are handed over at 20 and 25 ms; task 8 is short, and
    /// task 9 panics.
    fn caller_runs() -> Recording {
        pool(
            2,
            vec![
                submitter(
                    vec![task(4, 0, 0, 10_000), task(7, 10_000, 10_000, 20_000)],
                    vec![],
                ),
                thread(
                    "worker-0",
                    vec![
                        task(0, 0, 0, 10_000),
                        task(2, 0, 10_000, 20_000),
                        task(5, 10_000, 20_000, 30_000),
                        task(8, 20_000, 30_000, 30_200),
                    ],
                ),
                thread(
                    "worker-1",
                    vec![
                        task(1, 0, 0, 10_000),
                        task(3, 0, 10_000, 20_000),
                        task(6, 10_000, 20_000, 30_000),
                        panicked(task(9, 25_000, 30_000, 40_000)),
                    ],
                ),
            ],
        )
    }

    #[test]
    fn a_submitter_that_runs_tasks_itself() {
        let expected = "\
timeline of stage 03: 10 tasks ran; 1 column = 500us
worker-0  ############################################################.
worker-1  ###############################################################################!
submitter ########################################>         >
queue     222222222222222222222222222222222222222211111111112222222222....................
          |---------|---------|---------|---------|---------|---------|---------|---------
          0         5ms       10ms      15ms      20ms      25ms      30ms      35ms
workers: # ran a task for most of the column, . for part of it, ! a task panicked
submitter: > handed tasks over, ~ waited for a slot in the queue, # ran a task itself
queue: the most tasks waiting in it at once (it holds 2), . for none
";
        assert_eq!(caller_runs().timeline(), expected);
    }

    /// Stage 01: a thread per task, started 100 us apart, each running 1 ms after it starts.
    fn thread_per_task(threads: usize) -> Recording {
        Recording {
            title: "stage 01".to_string(),
            shape: Shape::ThreadPerTask,
            tasks: threads,
            threads: (0..threads)
                .map(|id| {
                    let handed = id as u64 * 100;
                    thread(
                        &format!("task-{id}"),
                        vec![task(id, handed, handed + 50, handed + 1_050)],
                    )
                })
                .collect(),
            missing_threads: 0,
        }
    }

    #[test]
    fn a_thread_per_task_gets_a_count_of_live_threads_and_no_queue() {
        let expected = "\
timeline of stage 01: 30 tasks ran; 1 column = 50us
threads   1111222233334444555565656565656565656565656565656565656565655554444333322221111
submitter > > > > > > > > > > > > > > > > > > > > > > > > > > > > > >
          |---------|---------|---------|---------|---------|---------|---------|--------
          0         500us     1ms       1.5ms     2ms       2.5ms     3ms       3.5ms
threads: the most task threads alive at once, in units of 2 rounded up, . for none
submitter: > started threads for tasks
";
        assert_eq!(thread_per_task(30).timeline(), expected);
    }

    #[test]
    fn many_workers_share_one_row() {
        let workers = (0..20).map(|n| thread(&format!("worker-{n}"), vec![task(n, 0, 0, 1_000)]));
        let mut run = pool(8, workers.collect());
        run.threads.push(submitter(vec![], vec![]));
        let timeline = run.timeline();
        let busy = timeline.lines().nth(1).unwrap();
        assert!(busy.starts_with("busy      4444"), "{timeline}");
        assert!(
            timeline.contains("busy: the most of the 20 workers"),
            "{timeline}"
        );
    }

    #[test]
    fn every_line_fits_even_with_long_names_long_runs_and_many_threads() {
        let mut long = blocked();
        long.threads[1].name = "worker-123456789".to_string();
        long.threads[2].tasks[0].end = Duration::from_secs(3600);
        let mut many = pool(1_000_000, Vec::new());
        many.tasks = 10_000_000;
        many.threads = (0..10_000)
            .map(|n| thread(&format!("worker-{n}"), vec![task(n, 0, 0, 1_000)]))
            .collect();
        for run in [long, many, thread_per_task(10_000)] {
            let timeline = run.timeline();
            for line in timeline.lines() {
                assert!(
                    line.chars().count() <= TIMELINE_WIDTH,
                    "{} columns: {line}",
                    line.len()
                );
            }
        }
    }

    #[test]
    fn columns_are_round_and_the_run_fits() {
        let fit = |ms| Scale::fit(Duration::from_millis(ms), 82);
        assert_eq!((fit(200).column, fit(200).columns), (2_500_000, 80));
        assert_eq!(Scale::fit(Duration::ZERO, 82).columns, 1);
        let round: Vec<u64> = round_numbers().take(8).collect();
        assert_eq!(round, [1, 2, 5, 10, 20, 25, 50, 100]);
        assert_eq!(short_duration(1_250_000_000), "1.25s");
        assert_eq!(short_duration(250_000), "250us");
        assert_eq!(digit_unit(9), 1);
        assert_eq!(digit_unit(10), 2);
        assert_eq!(digit_unit(1_000), 200);
    }

    #[test]
    fn a_run_that_recorded_nothing_says_so() {
        let mut run = blocked();
        run.threads.clear();
        assert_eq!(run.timeline(), "timeline of stage 03: 0 tasks ran\n");
    }
}
