//! Timelines: a run's [`Recording`] (a stage's `--trace FILE`, [`Recording::read_trace`]) drawn
//! as an SVG: a row per thread, milliseconds across, under rows that count the running tasks and
//! the queue's depth; the same trace, the same SVG. Task bars are the only `<rect>` elements in
//! [`TASK`] or [`PANICKED`]'s colour (the legend's swatches are polygons), so a test counts them.

use std::io;
use std::time::Duration;

use harness::Recording;
use harness::record::{MOST_THREAD_ROWS, QUEUE_DEPTH, Shape, ThreadRecord};
use harness::record::{count_over_time, name_order};
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How many tasks ran at each moment, on any thread, as steps (see [`count_over_time`]).
pub fn running(recording: &Recording) -> Vec<(Duration, usize)> {
    count_over_time(recording.all_tasks().map(|task| (task.start, task.end)))
}

/// The highest count of `steps`.
pub fn most(steps: &[(Duration, usize)]) -> usize {
    steps.iter().map(|&(_, count)| count).max().unwrap_or(0)
}

/// Milliseconds, the drawing's unit.
fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The colour of a task's bar.
pub const TASK: RGBColor = RGBColor(31, 119, 180);
/// The colour of a task that panicked.
pub const PANICKED: RGBColor = RGBColor(214, 39, 40);
/// The colour of the submitter's waits for a queue slot.
pub const WAIT: RGBColor = RGBColor(255, 127, 14);
const MARK: RGBColor = RGBColor(110, 0, 0);
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

/// A step row: the running tasks, or the queue's depth with its capacity drawn across it.
#[derive(Debug)]
struct Level {
    label: &'static str,
    steps: Vec<(Duration, usize)>,
    /// The line's colour and the fill's.
    colours: (RGBColor, RGBColor),
    capacity: Option<usize>,
}

/// The running tasks, and the queue's depth if the recording has one.
fn levels(recording: &Recording) -> Vec<Level> {
    let running = Level {
        label: "running tasks",
        steps: running(recording),
        colours: (RGBColor(118, 82, 160), RGBColor(222, 211, 236)),
        capacity: None,
    };
    let depth = Level {
        label: QUEUE_DEPTH,
        steps: recording.queue_depth(),
        colours: (RGBColor(44, 140, 44), RGBColor(206, 236, 206)),
        capacity: match recording.shape {
            Shape::Pool { queue, .. } => queue,
            Shape::ThreadPerTask => None,
        },
    };
    let mut levels = vec![running];
    levels.extend((!depth.steps.is_empty()).then_some(depth));
    levels
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

    /// The right edge of the plot.
    fn end(self) -> i32 {
        self.x(self.until)
    }

    /// Ticks at the shortest round step (1, 2 or 5 times a power of ten) of at least an eighth of
    /// the axis, four to nine of them with 0, and the decimals their labels need.
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
        let ticks = (0..=count).map(|tick| tick as f64 * step).collect();
        (ticks, decimals)
    }
}

/// Draws `recording` as an SVG document: `title`, the step rows, the submitter and the other
/// threads by name (`worker-2` before `worker-10`), a time axis, and a legend of what appears. The
/// axis ends at the last event, or at `until` if later, so that timelines side by side share one.
pub fn svg(recording: &Recording, title: &str, until: Option<Duration>) -> io::Result<String> {
    let levels = levels(recording);
    let submitter = recording.submitter();
    let mut others: Vec<&ThreadRecord> = recording.workers().collect();
    others.sort_by(|a, b| name_order(&a.name).cmp(&name_order(&b.name)));
    // Beyond a few threads, rows are thin and unlabelled.
    let thin = others.len() > MOST_THREAD_ROWS;
    let share = (GROUP_HEIGHT / others.len().max(1) as i32).clamp(2, ROW_HEIGHT);
    let height = if thin { share } else { ROW_HEIGHT };
    let legend = legend(recording);
    let legend_lines = legend.last().map_or(0, |&(line, ..)| line + 1);
    let rows_height = LEVEL_HEIGHT * levels.len() as i32
        + GAP
        + ROW_HEIGHT * i32::from(submitter.is_some())
        + height * others.len() as i32;
    let total = TITLE_HEIGHT + rows_height + AXIS_HEIGHT + LEGEND_ROW * legend_lines;
    let until = ms(until.unwrap_or_default().max(recording.end()));
    // A little room after the last event, so that it does not sit on the edge.
    let until = if until > 0.0 { until * 1.02 } else { 1.0 };
    let axis = TimeAxis { until };
    let mut document = String::new();
    {
        let root = SVGBackend::with_string(&mut document, (WIDTH as u32, total as u32))
            .into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let style = style(16, &BLACK, HPos::Left, VPos::Top);
        text(&root, title, (10, 9), style)?;
        let bottom = TITLE_HEIGHT + rows_height;
        for tick in axis.ticks().0 {
            let x = axis.x(tick);
            let line = vec![(x, TITLE_HEIGHT), (x, bottom)];
            draw(&root, PathElement::new(line, GRID))?;
        }
        let mut y = TITLE_HEIGHT;
        for level in &levels {
            draw_level(&root, axis, y, level)?;
            y += LEVEL_HEIGHT;
        }
        y += GAP;
        if let Some(thread) = submitter {
            draw_thread(&root, axis, y, ROW_HEIGHT, Some("submitter"), thread)?;
            y += ROW_HEIGHT;
        }
        let first = y;
        for thread in others.iter().copied() {
            let label = (!thin).then_some(thread.name.as_str());
            draw_thread(&root, axis, y, height, label, thread)?;
            y += height;
        }
        if thin {
            let label = format!("{} threads, one per row", others.len());
            text(&root, &label, (LABELS - 10, (first + y) / 2), label_style())?;
        }
        draw_axis(&root, axis, bottom)?;
        draw_legend(&root, &legend, bottom + AXIS_HEIGHT)?;
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
    let line = vec![(LABELS, y), (axis.end(), y)];
    draw(area, PathElement::new(line, colour))
}

/// A diamond of `size` pixels each way around `(x, y)`: a panic's marker.
fn diamond(x: i32, y: i32, size: i32) -> Vec<(i32, i32)> {
    vec![(x, y - size), (x + size, y), (x, y + size), (x - size, y)]
}

fn drawing<E: std::fmt::Debug>(error: E) -> io::Error {
    io::Error::other(format!("cannot draw the timeline: {error:?}"))
}

fn style(size: u32, colour: &'static RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
        .color(colour)
        .pos(Pos::new(h, v))
}

/// A row's label, right of the plot.
fn label_style() -> TextStyle<'static> {
    style(13, &BLACK, HPos::Right, VPos::Center)
}

fn small(h: HPos, v: VPos) -> TextStyle<'static> {
    style(11, &FAINT, h, v)
}

fn draw_axis(area: &Area<'_>, axis: TimeAxis, y: i32) -> io::Result<()> {
    let (ticks, decimals) = axis.ticks();
    across(area, axis, y, BLACK)?;
    for tick in ticks {
        let x = axis.x(tick);
        draw(area, PathElement::new(vec![(x, y), (x, y + 4)], BLACK))?;
        let style = style(12, &BLACK, HPos::Center, VPos::Top);
        text(area, &format!("{tick:.decimals$}"), (x, y + 6), style)?;
    }
    let explained = "milliseconds since the trace's first event";
    let at = ((LABELS + axis.end()) / 2, y + 24);
    text(area, explained, at, small(HPos::Center, VPos::Top))
}

/// A step area between a baseline and the level of its steps, with its scale on the left.
fn draw_level(area: &Area<'_>, axis: TimeAxis, top: i32, level: &Level) -> io::Result<()> {
    let base = top + LEVEL_HEIGHT - 6;
    let ceiling = top + 8;
    let highest = most(&level.steps).max(level.capacity.unwrap_or(0)).max(1);
    let y = |value: usize| {
        let height = value as f64 / highest as f64 * f64::from(base - ceiling);
        base - height.round() as i32
    };
    let mut outline = vec![(axis.x(0.0), y(0))];
    let mut now = 0;
    for &(at, value) in &level.steps {
        outline.push((axis.x(ms(at)), y(now)));
        outline.push((axis.x(ms(at)), y(value)));
        now = value;
    }
    outline.push((axis.end(), y(now)));
    outline.dedup();
    let mut shape = outline.clone();
    shape.extend([(axis.end(), base), (axis.x(0.0), base)]);
    let (line, fill) = level.colours;
    draw(area, Polygon::new(shape, fill))?;
    draw(area, PathElement::new(outline, line.stroke_width(2)))?;
    across(area, axis, base, FAINT)?;
    if let Some(capacity) = level.capacity {
        let at = y(capacity);
        across(area, axis, at, BLACK)?;
        // Under the line, where the level rarely reaches for long.
        let label = format!("capacity {capacity}");
        let right = (axis.end() - 2, at + 2);
        text(area, &label, right, small(HPos::Right, VPos::Top))?;
    }
    let middle = (top + base) / 2;
    text(area, level.label, (LABELS - 30, middle), label_style())?;
    let scale = small(HPos::Right, VPos::Center);
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
        let band = [(LABELS, top + 1), (axis.end(), top + height - 1)];
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
        let bar = Rectangle::new([(start, upper), (end, lower)], colour.filled());
        draw(area, bar)?;
    }
    let size = (height / 2 - 1).clamp(2, 7);
    for task in thread.tasks.iter().filter(|task| task.panicked) {
        let marker = diamond(axis.x(ms(task.end)), top + height / 2, size);
        draw(area, Polygon::new(marker, MARK))?;
    }
    Ok(())
}

/// How a legend entry's swatch looks: a bar of a colour, or the panic's diamond.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Bar(RGBColor),
    Diamond,
}

/// A legend entry: its line, where it starts on it, its name and its swatch.
type Entry = (i32, i32, String, Swatch);

/// The legend's entries, each with its line and where on it it starts: the colours of the spans
/// and markers this drawing shows (the step rows' labels say what they count).
fn legend(recording: &Recording) -> Vec<Entry> {
    let panics = || recording.all_tasks().filter(|task| task.panicked);
    let mut entries = Vec::new();
    if recording.all_tasks().any(|task| !task.panicked) {
        entries.push(("task".to_string(), Swatch::Bar(TASK)));
    }
    if panics().next().is_some() {
        entries.push(("task that panicked".to_string(), Swatch::Bar(PANICKED)));
    }
    let submitter = recording.submitter();
    if let Some(wait) = submitter.and_then(|thread| thread.waits.first()) {
        entries.push((wait.kind.label().to_string(), Swatch::Bar(WAIT)));
    }
    if let Some(task) = panics().min_by_key(|task| task.end) {
        entries.push((format!("task {} panicked", task.id), Swatch::Diamond));
    }
    let (mut line, mut used) = (-1, WIDTH);
    let placed = entries.into_iter().map(|(name, swatch)| {
        // Its swatch, its text (about 7 pixels a character for 13-pixel sans-serif), and space.
        let width = 22 + 7 * name.chars().count() as i32 + 24;
        if used + width > WIDTH - RIGHT_MARGIN {
            (line, used) = (line + 1, 10);
        }
        used += width;
        (line, used - width, name, swatch)
    });
    placed.collect()
}

fn draw_legend(area: &Area<'_>, entries: &[Entry], top: i32) -> io::Result<()> {
    for &(line, x, ref name, swatch) in entries {
        let middle = top + LEGEND_ROW * line + LEGEND_ROW / 2;
        let (up, down) = (middle - 6, middle + 6);
        // Polygons, never rectangles: rectangles in the task colours are the task bars.
        let (shape, colour) = match swatch {
            Swatch::Bar(colour) => (
                vec![(x, up), (x + 16, up), (x + 16, down), (x, down)],
                colour,
            ),
            Swatch::Diamond => (diamond(x + 8, middle, 6), MARK),
        };
        draw(area, Polygon::new(shape, colour))?;
        let style = style(13, &BLACK, HPos::Left, VPos::Center);
        text(area, name, (x + 22, middle), style)?;
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
        let one = vec![task(1, 1_010, 1_020, false), task(3, 11_010, 11_030, false)];
        let zero = vec![task(0, 1_000, 1_000, true), task(2, 1_030, 11_010, false)];
        Recording {
            title: "stage 03".to_string(),
            shape: Shape::Pool {
                workers: 2,
                queue: Some(1),
            },
            tasks: 5,
            threads: vec![main, thread("worker-1", one), thread("worker-0", zero)],
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
        let (recording, title) = (fixture(), "03 crossbeam-bounded, caller-runs");
        let svg = svg(&recording, title, None).expect("the timeline draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(bars(&svg, TASK), 4, "one bar per task that did not panic");
        assert_eq!(bars(&svg, PANICKED), 1, "one bar for the panicked task");
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
        let again = super::svg(&recording, title, None).unwrap();
        assert_eq!(svg, again, "deterministic");
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
        let svg = svg(&recording, "", None).unwrap();
        assert_eq!(bars(&svg, TASK), 40);
        assert!(svg.contains("40 threads, one per row"));
        assert!(!svg.contains("spawned-39"), "thin rows have no labels");
        assert!(!svg.contains(QUEUE_DEPTH), "a thread per task has no queue");
        assert_eq!(most(&running(&recording)), 40);
    }

    #[test]
    fn ticks_are_round_numbers() {
        let ticks = vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0];
        assert_eq!(TimeAxis { until: 104.0 }.ticks(), (ticks, 0));
        let (ticks, decimals) = TimeAxis { until: 0.9 }.ticks();
        assert_eq!(ticks.len(), 5, "0 to 0.8 in steps of 0.2: {ticks:?}");
        assert_eq!(decimals, 1);
        // The fewest and the most: a step just over an eighth of the axis rounds up to 2.5 times
        // it, and an eighth that is round already is the step.
        assert_eq!(TimeAxis { until: 16.01 }.ticks().0, [0.0, 5.0, 10.0, 15.0]);
        assert_eq!(TimeAxis { until: 80.0 }.ticks().0.len(), 9);
    }
}
