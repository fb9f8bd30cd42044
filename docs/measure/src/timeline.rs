//! Timelines: a run's [`Recording`], as the stages write it with `--trace FILE` and
//! [`Recording::read_trace`] reads it back, drawn as an SVG with a row per thread and
//! milliseconds across. A row at the top counts the tasks running at each moment.
//!
//! The drawing is a function of the recording alone, so the same trace always gives the same
//! SVG. Task bars are the only `<rect>` elements drawn in [`TASK`] or [`PANICKED`]'s colour (the
//! legend draws its swatches as polygons), which lets a test count them.

use std::io;
use std::time::Duration;

use harness::Recording;
use harness::record::{MOST_THREAD_ROWS, QUEUE_DEPTH, Shape, ThreadRecord};
use harness::record::{count_over_time, name_order};
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How many tasks ran at each moment, whichever thread ran them, as steps (see
/// [`count_over_time`]).
pub fn running(recording: &Recording) -> Vec<(Duration, usize)> {
    count_over_time(recording.all_tasks().map(|task| (task.start, task.end)))
}

/// The highest count of `steps`.
pub fn most(steps: &[(Duration, usize)]) -> usize {
    steps.iter().map(|&(_, count)| count).max().unwrap_or(0)
}

/// Milliseconds, the drawing's unit.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// What to draw beside the trace itself.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The line at the top.
    pub title: String,
    /// Where the time axis ends: timelines that are read side by side share one. `None` ends it
    /// at the recording's last event.
    pub until: Option<Duration>,
}

/// The colour of a task's bar.
pub const TASK: RGBColor = RGBColor(31, 119, 180);
/// The colour of a task that panicked.
pub const PANICKED: RGBColor = RGBColor(214, 39, 40);
/// The colour of the submitter's waits for a queue slot.
pub const WAIT: RGBColor = RGBColor(255, 127, 14);
const MARK: RGBColor = RGBColor(110, 0, 0);
const RUNNING_LINE: RGBColor = RGBColor(118, 82, 160);
const RUNNING_FILL: RGBColor = RGBColor(222, 211, 236);
const COUNTER_LINE: RGBColor = RGBColor(44, 140, 44);
const COUNTER_FILL: RGBColor = RGBColor(206, 236, 206);
const BAND: RGBColor = RGBColor(245, 245, 245);
const GRID: RGBColor = RGBColor(222, 222, 222);
const FAINT: RGBColor = RGBColor(100, 100, 100);

const WIDTH: i32 = 880;
/// The column of row labels on the left.
const LABELS: i32 = 160;
const RIGHT_MARGIN: i32 = 24;
const TITLE_HEIGHT: i32 = 34;
const LEVEL_HEIGHT: i32 = 46;
const ROW_HEIGHT: i32 = 22;
const GAP: i32 = 10;
/// The height that thin rows share, while each gets at least 2 pixels: beyond 100 threads the
/// drawing grows with them, as it should for a picture of a thread per task.
const GROUP_HEIGHT: i32 = 200;
const AXIS_HEIGHT: i32 = 42;
const LEGEND_ROW: i32 = 22;
const FONT: &str = "sans-serif";

/// A row of the drawing, top to bottom.
#[derive(Debug)]
enum Row<'a> {
    /// A step area: the running tasks, or the queue's depth.
    Level {
        label: &'static str,
        steps: Vec<(Duration, usize)>,
        line: RGBColor,
        fill: RGBColor,
        /// A bound drawn across it.
        capacity: Option<usize>,
    },
    /// One thread's spans; thin rows have no label of their own.
    Thread {
        label: Option<String>,
        thread: &'a ThreadRecord,
        height: i32,
    },
    /// Space between the levels and the threads.
    Gap,
}

impl Row<'_> {
    fn height(&self) -> i32 {
        match self {
            Row::Level { .. } => LEVEL_HEIGHT,
            Row::Thread { height, .. } => *height,
            Row::Gap => GAP,
        }
    }
}

/// The rows for `recording`: the running tasks, the queue's depth if it has one, then the
/// submitter and the other threads, sorted by name (`worker-2` before `worker-10`).
fn rows(recording: &Recording) -> Vec<Row<'_>> {
    let mut rows = vec![Row::Level {
        label: "running tasks",
        steps: running(recording),
        line: RUNNING_LINE,
        fill: RUNNING_FILL,
        capacity: None,
    }];
    let depth = recording.queue_depth();
    if !depth.is_empty() {
        rows.push(Row::Level {
            label: QUEUE_DEPTH,
            steps: depth,
            line: COUNTER_LINE,
            fill: COUNTER_FILL,
            // The recording knows the queue's capacity, if it has one.
            capacity: match recording.shape {
                Shape::Pool { queue, .. } => queue,
                Shape::ThreadPerTask => None,
            },
        });
    }
    rows.push(Row::Gap);
    if let Some(thread) = recording.submitter() {
        let label = Some("submitter".to_string());
        rows.push(Row::Thread {
            label,
            thread,
            height: ROW_HEIGHT,
        });
    }
    let mut others: Vec<&ThreadRecord> = recording.workers().collect();
    others.sort_by(|a, b| name_order(&a.name).cmp(&name_order(&b.name)));
    let thin = others.len() > MOST_THREAD_ROWS;
    let height = if thin {
        (GROUP_HEIGHT / others.len() as i32).clamp(2, ROW_HEIGHT)
    } else {
        ROW_HEIGHT
    };
    rows.extend(others.into_iter().map(|thread| Row::Thread {
        label: (!thin).then(|| thread.name.clone()),
        thread,
        height,
    }));
    rows
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Maps milliseconds to pixels across the plot.
#[derive(Debug, Clone, Copy)]
struct TimeAxis {
    until: f64,
}

impl TimeAxis {
    fn x(self, ms: f64) -> i32 {
        let width = f64::from(WIDTH - LABELS - RIGHT_MARGIN);
        LABELS + (ms.clamp(0.0, self.until) / self.until * width).round() as i32
    }

    /// Ticks at a round step (1, 2 or 5 times a power of ten), the shortest at least an eighth of
    /// the axis: that puts four to nine ticks on it, 0 included. Also the decimals their labels
    /// need.
    fn ticks(self) -> (Vec<f64>, usize) {
        let rough = self.until / 8.0;
        let power = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|factor| factor * power)
            .find(|&step| step >= rough)
            .unwrap_or(power * 10.0);
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        let count = (self.until / step).floor() as usize;
        (
            (0..=count).map(|tick| tick as f64 * step).collect(),
            decimals,
        )
    }
}

/// Draws `recording` as an SVG document: a row per thread, the running tasks and the queue's
/// depth as step rows above them, a time axis in milliseconds, and a legend of what appears.
///
/// # Errors
///
/// Returns an error if plotters fails to draw.
pub fn svg(recording: &Recording, frame: &Frame) -> io::Result<String> {
    let rows = rows(recording);
    let legend = legend(recording);
    let legend_lines = legend_lines(&legend);
    let rows_height: i32 = rows.iter().map(Row::height).sum();
    let height = TITLE_HEIGHT + rows_height + AXIS_HEIGHT + LEGEND_ROW * legend_lines.len() as i32;
    let until = ms(frame.until.unwrap_or_default().max(recording.end()));
    // A little room after the last event, so that it does not sit on the edge.
    let axis = TimeAxis {
        until: if until > 0.0 { until * 1.02 } else { 1.0 },
    };
    let mut document = String::new();
    {
        let root = SVGBackend::with_string(&mut document, (WIDTH as u32, height as u32))
            .into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let title = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
        text(&root, &frame.title, (10, 9), title)?;
        let top = TITLE_HEIGHT;
        let bottom = top + rows_height;
        draw_grid(&root, axis, top, bottom)?;
        let mut y = top;
        let mut thin: Option<(i32, i32, usize)> = None;
        for row in &rows {
            match row {
                Row::Level {
                    label,
                    steps,
                    line,
                    fill,
                    capacity,
                } => draw_level(&root, axis, y, label, steps, (*line, *fill), *capacity)?,
                Row::Thread {
                    label,
                    thread,
                    height,
                } => {
                    draw_thread(&root, axis, y, *height, label.as_deref(), thread)?;
                    if label.is_none() {
                        let (start, _, count) = thin.unwrap_or((y, y, 0));
                        thin = Some((start, y + height, count + 1));
                    }
                }
                Row::Gap => {}
            }
            y += row.height();
        }
        if let Some((start, end, count)) = thin {
            let label = format!("{count} threads, one per row");
            text(
                &root,
                &label,
                (LABELS - 10, (start + end) / 2),
                label_style(),
            )?;
        }
        draw_axis(&root, axis, bottom)?;
        draw_legend(&root, &legend_lines, bottom + AXIS_HEIGHT)?;
        root.present().map_err(drawing)?;
    }
    Ok(document)
}

fn draw<'a, E>(area: &Area<'a>, element: E) -> io::Result<()>
where
    for<'b> &'b E: PointCollection<'b, (i32, i32)>,
    E: Drawable<SVGBackend<'a>>,
{
    area.draw(&element).map_err(drawing)
}

fn text(area: &Area<'_>, text: &str, at: (i32, i32), style: TextStyle<'static>) -> io::Result<()> {
    draw(area, Text::new(text.to_string(), at, style))
}

/// A line across the plot at `y`.
fn across(area: &Area<'_>, axis: TimeAxis, y: i32, colour: RGBColor) -> io::Result<()> {
    draw(
        area,
        PathElement::new(vec![(LABELS, y), (axis.x(axis.until), y)], colour),
    )
}

/// A diamond of `size` pixels each way around `(x, y)`: a panic's marker.
fn diamond(x: i32, y: i32, size: i32) -> Vec<(i32, i32)> {
    vec![(x, y - size), (x + size, y), (x, y + size), (x - size, y)]
}

fn drawing<E: std::fmt::Debug>(error: E) -> io::Error {
    io::Error::other(format!("cannot draw the timeline: {error:?}"))
}

fn label_style() -> TextStyle<'static> {
    TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center))
}

fn small_style(h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FONT, 11).into_font())
        .color(&FAINT)
        .pos(Pos::new(h, v))
}

fn draw_grid(area: &Area<'_>, axis: TimeAxis, top: i32, bottom: i32) -> io::Result<()> {
    for tick in axis.ticks().0 {
        let x = axis.x(tick);
        draw(area, PathElement::new(vec![(x, top), (x, bottom)], GRID))?;
    }
    Ok(())
}

fn draw_axis(area: &Area<'_>, axis: TimeAxis, y: i32) -> io::Result<()> {
    let (ticks, decimals) = axis.ticks();
    across(area, axis, y, BLACK)?;
    for tick in ticks {
        let x = axis.x(tick);
        draw(area, PathElement::new(vec![(x, y), (x, y + 4)], BLACK))?;
        let style = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        text(area, &format!("{tick:.decimals$}"), (x, y + 6), style)?;
    }
    let caption = small_style(HPos::Center, VPos::Top);
    let middle = (LABELS + axis.x(axis.until)) / 2;
    let explained = "milliseconds since the trace's first event";
    text(area, explained, (middle, y + 24), caption)
}

/// A step area between a baseline and the level of `steps`, with its scale on the left.
fn draw_level(
    area: &Area<'_>,
    axis: TimeAxis,
    top: i32,
    label: &str,
    steps: &[(Duration, usize)],
    (line, fill): (RGBColor, RGBColor),
    capacity: Option<usize>,
) -> io::Result<()> {
    let base = top + LEVEL_HEIGHT - 6;
    let ceiling = top + 8;
    let highest = most(steps).max(capacity.unwrap_or(0)).max(1);
    let y = |value: usize| {
        let height = value as f64 / highest as f64 * f64::from(base - ceiling);
        base - height.round() as i32
    };
    let mut outline = vec![(axis.x(0.0), y(0))];
    let mut level = 0;
    for &(at, value) in steps {
        outline.push((axis.x(ms(at)), y(level)));
        outline.push((axis.x(ms(at)), y(value)));
        level = value;
    }
    outline.push((axis.x(axis.until), y(level)));
    outline.dedup();
    let mut shape = outline.clone();
    shape.push((axis.x(axis.until), base));
    shape.push((axis.x(0.0), base));
    draw(area, Polygon::new(shape, fill))?;
    draw(area, PathElement::new(outline, line.stroke_width(2)))?;
    across(area, axis, base, FAINT)?;
    if let Some(capacity) = capacity {
        let at = y(capacity);
        across(area, axis, at, BLACK)?;
        // Under the line, where the level rarely reaches for long.
        let style = small_style(HPos::Right, VPos::Top);
        let right = axis.x(axis.until) - 2;
        text(
            area,
            &format!("capacity {capacity}"),
            (right, at + 2),
            style,
        )?;
    }
    text(area, label, (LABELS - 30, (top + base) / 2), label_style())?;
    let scale = small_style(HPos::Right, VPos::Center);
    text(area, "0", (LABELS - 6, base), scale.clone())?;
    text(area, &highest.to_string(), (LABELS - 6, ceiling), scale)
}

/// One thread's row: a band, its label, a bar per task and per wait, and a marker per panic.
fn draw_thread(
    area: &Area<'_>,
    axis: TimeAxis,
    top: i32,
    height: i32,
    label: Option<&str>,
    thread: &ThreadRecord,
) -> io::Result<()> {
    // Bars leave a margin above and below in labelled rows, and a pixel between thin rows.
    let (upper, lower) = match label {
        Some(_) => (top + 3, top + height - 3),
        None => (top, top + (height - 1).max(1)),
    };
    if let Some(label) = label {
        let band = [(LABELS, top + 1), (axis.x(axis.until), top + height - 1)];
        draw(area, Rectangle::new(band, BAND.filled()))?;
        text(area, label, (LABELS - 10, top + height / 2), label_style())?;
    }
    let tasks = thread.tasks.iter().map(|task| {
        let colour = if task.panicked { PANICKED } else { TASK };
        (task.start, task.end, colour)
    });
    let waits = thread.waits.iter().map(|wait| (wait.start, wait.end, WAIT));
    for (start, end, colour) in tasks.chain(waits) {
        let start = axis.x(ms(start));
        // One pixel of white between spans that follow each other, and at least one of colour.
        let end = (axis.x(ms(end)) - 1).max(start + 1);
        draw(
            area,
            Rectangle::new([(start, upper), (end, lower)], colour.filled()),
        )?;
    }
    let size = (height / 2 - 1).clamp(2, 7);
    for task in thread.tasks.iter().filter(|task| task.panicked) {
        let marker = diamond(axis.x(ms(task.end)), top + height / 2, size);
        draw(area, Polygon::new(marker, MARK))?;
    }
    Ok(())
}

/// How a legend entry's swatch looks.
#[derive(Debug, Clone)]
enum Swatch {
    Bar(RGBColor),
    Diamond(RGBColor),
}

/// The legend's entries: the colours of the spans and markers this drawing shows. The step rows
/// need none: their labels say what they count.
fn legend(recording: &Recording) -> Vec<(String, Swatch)> {
    let tasks = || recording.all_tasks();
    let mut entries = Vec::new();
    if tasks().any(|task| !task.panicked) {
        entries.push(("task".to_string(), Swatch::Bar(TASK)));
    }
    if tasks().any(|task| task.panicked) {
        entries.push(("task that panicked".to_string(), Swatch::Bar(PANICKED)));
    }
    if let Some(wait) = recording
        .submitter()
        .and_then(|thread| thread.waits.first())
    {
        entries.push((wait.kind.label().to_string(), Swatch::Bar(WAIT)));
    }
    let first_panic = tasks()
        .filter(|task| task.panicked)
        .min_by_key(|task| task.end);
    if let Some(task) = first_panic {
        let name = format!("task {} panicked", task.id);
        entries.push((name, Swatch::Diamond(MARK)));
    }
    entries
}

/// About how wide a legend entry is: its swatch, its text (at about 7 pixels a character for
/// 13-pixel sans-serif), and the space before the next one.
fn entry_width(name: &str) -> i32 {
    22 + 7 * name.chars().count() as i32 + 24
}

/// The legend's entries, in lines that fit the width.
fn legend_lines(entries: &[(String, Swatch)]) -> Vec<Vec<(String, Swatch)>> {
    let mut lines: Vec<Vec<(String, Swatch)>> = Vec::new();
    let mut used = WIDTH;
    for entry in entries {
        let width = entry_width(&entry.0);
        if used + width > WIDTH - RIGHT_MARGIN {
            lines.push(Vec::new());
            used = 10;
        }
        used += width;
        lines
            .last_mut()
            .expect("a line was started")
            .push(entry.clone());
    }
    lines
}

fn draw_legend(area: &Area<'_>, lines: &[Vec<(String, Swatch)>], top: i32) -> io::Result<()> {
    for (number, line) in lines.iter().enumerate() {
        let middle = top + LEGEND_ROW * number as i32 + LEGEND_ROW / 2;
        let mut x = 10;
        for (name, swatch) in line {
            let (up, down) = (middle - 6, middle + 6);
            // Polygons, never rectangles: rectangles in the task colours are the task bars.
            let (shape, colour) = match *swatch {
                Swatch::Bar(colour) => (
                    vec![(x, up), (x + 16, up), (x + 16, down), (x, down)],
                    colour,
                ),
                Swatch::Diamond(colour) => (diamond(x + 8, middle, 6), colour),
            };
            draw(area, Polygon::new(shape, colour))?;
            let style =
                TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
            text(area, name, (x + 22, middle), style)?;
            x += entry_width(name);
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use harness::record::{TaskSpan, WaitSpan, Waiting};

    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn thread(name: &str, tasks: Vec<TaskSpan>) -> ThreadRecord {
        ThreadRecord {
            name: name.to_string(),
            submitter: false,
            tasks,
            waits: Vec::new(),
        }
    }

    /// A task of 10 ms, handed over at `handed` and started at `start`, in microseconds.
    fn task(id: usize, handed: u64, start: u64, panicked: bool) -> TaskSpan {
        TaskSpan {
            id,
            handed: us(handed),
            start: us(start),
            end: us(start + 10_000),
            panicked,
        }
    }

    /// A run of stage 03 under `caller-runs`: two workers, named out of order, a submitter that
    /// waits once for a slot and runs a task itself, and a task that panics on a worker that
    /// then runs one more.
    pub(crate) fn fixture() -> Recording {
        let main = ThreadRecord {
            submitter: true,
            waits: vec![WaitSpan {
                id: 3,
                start: us(1_040),
                end: us(11_010),
                kind: Waiting::ForSlot,
            }],
            ..thread("main", vec![task(4, 11_020, 11_020, false)])
        };
        Recording {
            title: "stage 03".to_string(),
            shape: Shape::Pool {
                workers: 2,
                queue: Some(1),
            },
            tasks: 5,
            threads: vec![
                main,
                thread(
                    "worker-1",
                    vec![task(1, 1_010, 1_020, false), task(3, 11_010, 11_030, false)],
                ),
                thread(
                    "worker-0",
                    vec![task(0, 1_000, 1_000, true), task(2, 1_030, 11_010, false)],
                ),
            ],
            missing_threads: 0,
        }
    }

    /// Task bars: the `<rect>` elements in a task colour.
    fn bars(svg: &str, colour: RGBColor) -> usize {
        let RGBColor(r, g, b) = colour;
        let fill = format!("fill=\"#{r:02X}{g:02X}{b:02X}\"");
        svg.lines()
            .filter(|line| line.starts_with("<rect") && line.contains(&fill))
            .count()
    }

    #[test]
    fn the_timeline_has_a_bar_per_task_its_rows_and_its_markers() {
        let recording = fixture();
        let frame = Frame {
            title: "03 crossbeam-bounded, caller-runs".to_string(),
            until: None,
        };
        let svg = svg(&recording, &frame).expect("the timeline draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(bars(&svg, TASK), 4, "one bar per task that did not panic");
        assert_eq!(
            bars(&svg, PANICKED),
            1,
            "one bar for the task that panicked"
        );
        assert_eq!(bars(&svg, WAIT), 1, "one bar for the submitter's wait");
        for text in [
            "03 crossbeam-bounded, caller-runs",
            "submitter",
            "worker-0",
            "worker-1",
            "running tasks",
            "queue depth",
            "capacity 1",
            "wait for a queue slot",
            "task that panicked",
            "task 0 panicked",
            "milliseconds since",
        ] {
            assert!(svg.contains(text), "the timeline lacks {text}");
        }
        // worker-0 is drawn above worker-1, whatever order the recording has them in.
        assert!(svg.find(">\nworker-0").unwrap() < svg.find(">\nworker-1").unwrap());
        assert_eq!(
            svg,
            super::svg(&recording, &frame).unwrap(),
            "deterministic"
        );
    }

    #[test]
    fn many_threads_share_thin_rows() {
        let recording = Recording {
            title: "stage 01".to_string(),
            shape: Shape::ThreadPerTask,
            tasks: 40,
            threads: (0..40)
                .map(|id| {
                    let start = 50 * id as u64;
                    thread(&format!("spawned-{id}"), vec![task(id, 0, start, false)])
                })
                .collect(),
            missing_threads: 0,
        };
        let svg = svg(&recording, &Frame::default()).unwrap();
        assert_eq!(bars(&svg, TASK), 40);
        assert!(svg.contains("40 threads, one per row"));
        assert!(
            !svg.contains("spawned-39"),
            "thin rows have no label of their own"
        );
        assert!(!svg.contains(QUEUE_DEPTH), "a thread per task has no queue");
        assert_eq!(most(&running(&recording)), 40);
    }

    #[test]
    fn ticks_are_round_numbers() {
        let axis = TimeAxis { until: 104.0 };
        let (ticks, decimals) = axis.ticks();
        assert_eq!(ticks, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(decimals, 0);
        let (ticks, decimals) = TimeAxis { until: 0.9 }.ticks();
        assert_eq!(ticks.len(), 5, "0 to 0.8 in steps of 0.2: {ticks:?}");
        assert_eq!(decimals, 1);
        // The fewest and the most: a step just over an eighth of the axis rounds up to 2.5 times
        // it, and an eighth that is round already is the step.
        assert_eq!(TimeAxis { until: 16.01 }.ticks().0, [0.0, 5.0, 10.0, 15.0]);
        assert_eq!(TimeAxis { until: 80.0 }.ticks().0.len(), 9);
    }
}
