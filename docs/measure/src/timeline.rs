//! Timelines: the trace of one run, as the stages write it with `--trace FILE`, drawn as an SVG
//! with a row per thread and milliseconds across.
//!
//! The trace is read with the harness's own types ([`harness::record::trace`]), so a span is a
//! task or a wait, an instant is a panic and a thread is the submitter because the trace's
//! events say so ([`Meaning`]), not because of the words in their names. A row at the top
//! counts the tasks running at each moment.
//!
//! The drawing is a function of the trace alone, so the same trace always gives the same SVG.
//! Task bars are the only `<rect>` elements drawn in [`TASK`] or [`PANICKED`]'s colour (the legend
//! draws its swatches as polygons), which lets a test count them.

use std::collections::BTreeMap;
use std::io;

use harness::record::trace::{self, Meaning, Phase, TraceEvent};
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A run's trace: its threads and their spans, its counters and its panics. Times are
/// milliseconds since the trace's first timed event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Every named thread, in the trace's order: the submitter first.
    pub threads: Vec<Thread>,
    /// The counters, by name.
    pub counters: Vec<Counter>,
    /// The panics, in time order.
    pub marks: Vec<Mark>,
}

/// One thread of a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    /// Its name.
    pub name: String,
    /// Whether it submits the tasks.
    pub submitter: bool,
    /// Its spans, by start time.
    pub spans: Vec<Span>,
}

/// Something a thread did for a task, from `start` to `end`.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The event's name, such as `task 7` or `wait for a queue slot`.
    pub name: String,
    /// Whether it ran the task or waited to hand it over.
    pub kind: SpanKind,
    /// The task's number.
    pub task: usize,
    /// Milliseconds since the first event.
    pub start: f64,
    /// Milliseconds since the first event.
    pub end: f64,
    /// Whether the span is a task that panicked.
    pub panicked: bool,
}

/// What a span stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A task.
    Task,
    /// The submitter waiting to hand a task over.
    Wait,
}

impl Span {
    /// How long it lasted, in milliseconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

impl Thread {
    /// Its task spans.
    pub fn tasks(&self) -> impl Iterator<Item = &Span> {
        self.spans.iter().filter(|span| span.kind == SpanKind::Task)
    }
}

/// A counter's values over time: the level is `value` from `time` until the next point.
#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    /// The counter's name.
    pub name: String,
    /// `(milliseconds since the first event, value)`, in time order.
    pub points: Vec<(f64, f64)>,
}

impl Counter {
    /// The highest value it reached.
    pub fn max(&self) -> f64 {
        self.points
            .iter()
            .map(|&(_, value)| value)
            .fold(0.0, f64::max)
    }
}

/// A task's panic.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The event's name.
    pub name: String,
    /// Milliseconds since the first event.
    pub at: f64,
    /// The index in [`Trace::threads`] of the thread it happened on.
    pub thread: Option<usize>,
}

impl Trace {
    /// Reads a trace that a stage's `--trace` wrote (see [`trace::read`]).
    ///
    /// # Errors
    ///
    /// Returns a message if the text is not such a trace.
    pub fn parse(json: &str) -> Result<Trace, String> {
        let events = trace::read(json).map_err(|error| format!("not a stage's trace: {error}"))?;
        Ok(Trace::from_events(&events))
    }

    /// The trace of `events`, as [`Recording::write_trace`](harness::Recording::write_trace)
    /// wrote them.
    pub fn from_events(events: &[TraceEvent<'_>]) -> Trace {
        let first = events
            .iter()
            .filter(|event| event.ph != Phase::Metadata)
            .map(|event| event.ts)
            .fold(f64::INFINITY, f64::min);
        let first = if first.is_finite() { first } else { 0.0 };
        let ms = |us: f64| (us - first) / 1e3;
        // By thread id: the writer numbers the threads in the order they are drawn.
        let mut threads: BTreeMap<usize, Thread> = BTreeMap::new();
        let mut counters: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let mut marks = Vec::new();
        for event in events {
            let (start, end) = event.span_us();
            let span = |kind, task| Span {
                name: event.name.to_string(),
                kind,
                task,
                start: ms(start),
                end: ms(end),
                panicked: false,
            };
            match event.meaning() {
                // Thread 0 is the process.
                Meaning::Name { name, submitter } if event.tid != 0 => {
                    let thread = threads.entry(event.tid).or_default();
                    thread.name = name.to_string();
                    thread.submitter = submitter;
                }
                Meaning::Task(task) => threads
                    .entry(event.tid)
                    .or_default()
                    .spans
                    .push(span(SpanKind::Task, task)),
                Meaning::Wait(task) => threads
                    .entry(event.tid)
                    .or_default()
                    .spans
                    .push(span(SpanKind::Wait, task)),
                Meaning::Panic(task) => {
                    marks.push((event.name.to_string(), ms(start), event.tid, task));
                }
                Meaning::Count(tasks) => counters
                    .entry(event.name.to_string())
                    .or_default()
                    .push((ms(start), tasks as f64)),
                Meaning::Name { .. } | Meaning::Layout => {}
            }
        }
        let places: BTreeMap<usize, usize> =
            threads.keys().zip(0..).map(|(&t, i)| (t, i)).collect();
        let mut threads: Vec<Thread> = threads.into_values().collect();
        for (_, _, tid, task) in &marks {
            // A panic is written after its task's span: mark the span now that both are read.
            let ended = threads[places[tid]]
                .spans
                .iter_mut()
                .find(|span| span.kind == SpanKind::Task && span.task == *task);
            if let Some(span) = ended {
                span.panicked = true;
            }
        }
        for thread in &mut threads {
            thread
                .spans
                .sort_by(|a, b| a.start.total_cmp(&b.start).then(a.end.total_cmp(&b.end)));
        }
        let mut marks: Vec<Mark> = marks
            .into_iter()
            .map(|(name, at, tid, _)| Mark {
                name,
                at,
                thread: places.get(&tid).copied(),
            })
            .collect();
        marks.sort_by(|a, b| a.at.total_cmp(&b.at));
        let counters = counters
            .into_iter()
            .map(|(name, mut points)| {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Counter { name, points }
            })
            .collect();
        Trace {
            threads,
            counters,
            marks,
        }
    }

    /// Every task span, with the thread that ran it.
    pub fn tasks(&self) -> impl Iterator<Item = (&Thread, &Span)> {
        self.threads
            .iter()
            .flat_map(|thread| thread.tasks().map(move |span| (thread, span)))
    }
    /// How many tasks ran at each moment, as a step counter: one point wherever it changed.
    pub fn running(&self) -> Counter {
        let mut changes: Vec<(f64, f64)> = self
            .tasks()
            .flat_map(|(_, span)| [(span.start, 1.0), (span.end, -1.0)])
            .collect();
        // A task that ends at the moment another starts was not running beside it.
        changes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut level = 0.0;
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (at, change) in changes {
            level += change;
            match points.last_mut() {
                Some(last) if last.0 == at => last.1 = level,
                _ => points.push((at, level)),
            }
        }
        Counter {
            name: "running tasks".to_string(),
            points,
        }
    }

    /// The time of the last thing the trace records, in milliseconds.
    pub fn end(&self) -> f64 {
        let spans = self.threads.iter().flat_map(|t| &t.spans).map(|s| s.end);
        let counters = self.counters.iter().flat_map(|c| &c.points).map(|p| p.0);
        let marks = self.marks.iter().map(|mark| mark.at);
        spans.chain(counters).chain(marks).fold(0.0, f64::max)
    }
}

/// What to draw beside the trace itself.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The line at the top.
    pub title: String,
    /// Where the time axis ends, in milliseconds: timelines that are read side by side share
    /// one. `None` ends it at the trace's last event.
    pub until_ms: Option<f64>,
    /// A bound drawn across the counter rows, labelled "capacity": the queue's.
    pub capacity: Option<f64>,
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
/// Above this many threads besides the submitter, the rows are drawn thin and unlabelled.
const MAX_LABELLED_ROWS: usize = 16;
/// The height that thin rows share, while each gets at least 2 pixels: beyond 100 threads the
/// drawing grows with them, as it should for a picture of a thread per task.
const GROUP_HEIGHT: i32 = 200;
const AXIS_HEIGHT: i32 = 42;
const LEGEND_ROW: i32 = 22;
const FONT: &str = "sans-serif";

/// A row of the drawing, top to bottom.
#[derive(Debug)]
enum Row {
    /// A step area: the running tasks, or a counter.
    Level {
        label: String,
        counter: Counter,
        line: RGBColor,
        fill: RGBColor,
        /// A bound drawn across it.
        capacity: Option<f64>,
    },
    /// One thread's spans; thin rows have no label of their own.
    Thread {
        label: Option<String>,
        index: usize,
        height: i32,
    },
    /// Space between the levels and the threads.
    Gap,
}

impl Row {
    fn height(&self) -> i32 {
        match self {
            Row::Level { .. } => LEVEL_HEIGHT,
            Row::Thread { height, .. } => *height,
            Row::Gap => GAP,
        }
    }
}

/// The rows for `trace`: the running tasks, each counter, then the submitter and the other
/// threads, sorted by name (numbers in names in numeric order: `worker-2` before `worker-10`).
fn rows(trace: &Trace, frame: &Frame) -> Vec<Row> {
    let mut rows = vec![Row::Level {
        label: "running tasks".to_string(),
        counter: trace.running(),
        line: RUNNING_LINE,
        fill: RUNNING_FILL,
        capacity: None,
    }];
    for counter in &trace.counters {
        rows.push(Row::Level {
            label: counter.name.clone(),
            counter: counter.clone(),
            line: COUNTER_LINE,
            fill: COUNTER_FILL,
            capacity: frame.capacity,
        });
    }
    rows.push(Row::Gap);
    let (submitters, mut others): (Vec<usize>, Vec<usize>) =
        (0..trace.threads.len()).partition(|&index| trace.threads[index].submitter);
    for &index in &submitters {
        let label = match submitters.len() {
            1 => "submitter".to_string(),
            _ => format!("submitter ({})", trace.threads[index].name),
        };
        rows.push(Row::Thread {
            label: Some(label),
            index,
            height: ROW_HEIGHT,
        });
    }
    others.sort_by_cached_key(|&index| natural_key(&trace.threads[index].name));
    let thin = others.len() > MAX_LABELLED_ROWS;
    let height = if thin {
        (GROUP_HEIGHT / others.len() as i32).clamp(2, ROW_HEIGHT)
    } else {
        ROW_HEIGHT
    };
    rows.extend(others.into_iter().map(|index| Row::Thread {
        label: (!thin).then(|| trace.threads[index].name.clone()),
        index,
        height,
    }));
    rows
}

/// A part of a name: runs of digits compare as numbers.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NamePart {
    Text(String),
    Number(u64),
}

fn natural_key(name: &str) -> Vec<NamePart> {
    let mut parts = Vec::new();
    let mut rest = name;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        parts.push(match part.parse() {
            Ok(number) if digits => NamePart::Number(number),
            _ => NamePart::Text(part.to_string()),
        });
        rest = tail;
    }
    parts
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

/// Draws `trace` as an SVG document: a row per thread, the running tasks and each counter as
/// step rows above them, a time axis in milliseconds, and a legend of what appears.
///
/// # Errors
///
/// Returns an error if plotters fails to draw.
pub fn svg(trace: &Trace, frame: &Frame) -> io::Result<String> {
    let rows = rows(trace, frame);
    let legend = legend(trace);
    let legend_lines = legend_lines(&legend);
    let rows_height: i32 = rows.iter().map(Row::height).sum();
    let height = TITLE_HEIGHT + rows_height + AXIS_HEIGHT + LEGEND_ROW * legend_lines.len() as i32;
    let until = frame
        .until_ms
        .unwrap_or_else(|| trace.end())
        .max(trace.end());
    // A little room after the last event, so that it does not sit on the edge.
    let axis = TimeAxis {
        until: if until > 0.0 { until * 1.02 } else { 1.0 },
    };
    let mut text = String::new();
    {
        let root =
            SVGBackend::with_string(&mut text, (WIDTH as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let title = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
        draw(&root, Text::new(frame.title.clone(), (10, 9), title))?;
        let top = TITLE_HEIGHT;
        let bottom = top + rows_height;
        draw_grid(&root, axis, top, bottom)?;
        let mut y = top;
        let mut thin: Option<(i32, i32, usize)> = None;
        for row in &rows {
            match row {
                Row::Level {
                    label,
                    counter,
                    line,
                    fill,
                    capacity,
                } => draw_level(&root, axis, y, label, counter, (*line, *fill), *capacity)?,
                Row::Thread {
                    label,
                    index,
                    height,
                } => {
                    draw_thread(&root, axis, y, *height, label.as_deref(), trace, *index)?;
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
            draw(
                &root,
                Text::new(label, (LABELS - 10, (start + end) / 2), label_style()),
            )?;
        }
        draw_axis(&root, axis, bottom)?;
        draw_legend(&root, &legend_lines, bottom + AXIS_HEIGHT)?;
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

fn draw<'a, E>(area: &Area<'a>, element: E) -> io::Result<()>
where
    for<'b> &'b E: PointCollection<'b, (i32, i32)>,
    E: Drawable<SVGBackend<'a>>,
{
    area.draw(&element).map_err(drawing)
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
    draw(
        area,
        PathElement::new(vec![(LABELS, y), (axis.x(axis.until), y)], BLACK),
    )?;
    for tick in ticks {
        let x = axis.x(tick);
        draw(area, PathElement::new(vec![(x, y), (x, y + 4)], BLACK))?;
        let style = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        draw(
            area,
            Text::new(format!("{tick:.decimals$}"), (x, y + 6), style),
        )?;
    }
    let caption = small_style(HPos::Center, VPos::Top);
    let middle = (LABELS + axis.x(axis.until)) / 2;
    draw(
        area,
        Text::new(
            "milliseconds since the trace's first event",
            (middle, y + 24),
            caption,
        ),
    )
}

/// A step area between a baseline and the counter's level, with its scale on the left.
fn draw_level(
    area: &Area<'_>,
    axis: TimeAxis,
    top: i32,
    label: &str,
    counter: &Counter,
    (line, fill): (RGBColor, RGBColor),
    capacity: Option<f64>,
) -> io::Result<()> {
    let base = top + LEVEL_HEIGHT - 6;
    let ceiling = top + 8;
    let highest = counter.max().max(capacity.unwrap_or(0.0)).max(1.0);
    let y = |value: f64| base - ((value / highest) * f64::from(base - ceiling)).round() as i32;
    let mut outline = vec![(axis.x(0.0), y(0.0))];
    let mut level = 0.0;
    for &(at, value) in &counter.points {
        outline.push((axis.x(at), y(level)));
        outline.push((axis.x(at), y(value)));
        level = value;
    }
    outline.push((axis.x(axis.until), y(level)));
    outline.dedup();
    let mut shape = outline.clone();
    shape.push((axis.x(axis.until), base));
    shape.push((axis.x(0.0), base));
    draw(area, Polygon::new(shape, fill))?;
    draw(area, PathElement::new(outline, line.stroke_width(2)))?;
    draw(
        area,
        PathElement::new(vec![(LABELS, base), (axis.x(axis.until), base)], FAINT),
    )?;
    if let Some(capacity) = capacity {
        let at = y(capacity);
        draw(
            area,
            PathElement::new(vec![(LABELS, at), (axis.x(axis.until), at)], BLACK),
        )?;
        // Under the line, where the level rarely reaches for long.
        let style = small_style(HPos::Right, VPos::Top);
        draw(
            area,
            Text::new(
                format!("capacity {capacity}"),
                (axis.x(axis.until) - 2, at + 2),
                style,
            ),
        )?;
    }
    draw(
        area,
        Text::new(
            label.to_string(),
            (LABELS - 30, (top + base) / 2),
            label_style(),
        ),
    )?;
    let scale = small_style(HPos::Right, VPos::Center);
    draw(area, Text::new("0", (LABELS - 6, base), scale.clone()))?;
    draw(
        area,
        Text::new(format!("{highest}"), (LABELS - 6, ceiling), scale),
    )
}

/// One thread's row: a band, its label, a bar per span, and a marker per instant event.
fn draw_thread(
    area: &Area<'_>,
    axis: TimeAxis,
    top: i32,
    height: i32,
    label: Option<&str>,
    trace: &Trace,
    index: usize,
) -> io::Result<()> {
    let thread = &trace.threads[index];
    // Bars leave a margin above and below in labelled rows, and a pixel between thin rows.
    let (upper, lower) = match label {
        Some(_) => (top + 3, top + height - 3),
        None => (top, top + (height - 1).max(1)),
    };
    if let Some(label) = label {
        draw(
            area,
            Rectangle::new(
                [(LABELS, top + 1), (axis.x(axis.until), top + height - 1)],
                BAND.filled(),
            ),
        )?;
        draw(
            area,
            Text::new(
                label.to_string(),
                (LABELS - 10, top + height / 2),
                label_style(),
            ),
        )?;
    }
    for span in &thread.spans {
        let colour = match span.kind {
            SpanKind::Task if span.panicked => PANICKED,
            SpanKind::Task => TASK,
            SpanKind::Wait => WAIT,
        };
        let start = axis.x(span.start);
        // One pixel of white between spans that follow each other, and at least one of colour.
        let end = (axis.x(span.end) - 1).max(start + 1);
        draw(
            area,
            Rectangle::new([(start, upper), (end, lower)], colour.filled()),
        )?;
    }
    let middle = top + height / 2;
    for mark in trace.marks.iter().filter(|mark| mark.thread == Some(index)) {
        let x = axis.x(mark.at);
        let size = (height / 2 - 1).clamp(2, 7);
        let diamond = vec![
            (x, middle - size),
            (x + size, middle),
            (x, middle + size),
            (x - size, middle),
        ];
        draw(area, Polygon::new(diamond, MARK))?;
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
fn legend(trace: &Trace) -> Vec<(String, Swatch)> {
    let spans = || trace.threads.iter().flat_map(|thread| &thread.spans);
    let mut entries = Vec::new();
    if spans().any(|span| span.kind == SpanKind::Task && !span.panicked) {
        entries.push(("task".to_string(), Swatch::Bar(TASK)));
    }
    if spans().any(|span| span.kind == SpanKind::Task && span.panicked) {
        entries.push(("task that panicked".to_string(), Swatch::Bar(PANICKED)));
    }
    if let Some(wait) = spans().find(|span| span.kind == SpanKind::Wait) {
        entries.push((wait.name.clone(), Swatch::Bar(WAIT)));
    }
    let on_a_row = |mark: &&Mark| mark.thread.is_some();
    if let Some(panic) = trace.marks.iter().find(on_a_row) {
        entries.push((panic.name.clone(), Swatch::Diamond(MARK)));
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
            let (left, right, up, down) = (x, x + 16, middle - 6, middle + 6);
            // Polygons, never rectangles: rectangles in the task colours are the task bars.
            let square = vec![(left, up), (right, up), (right, down), (left, down)];
            match swatch {
                Swatch::Bar(colour) => draw(area, Polygon::new(square, *colour))?,
                Swatch::Diamond(colour) => {
                    let diamond = vec![
                        (x + 8, middle - 6),
                        (x + 14, middle),
                        (x + 8, middle + 6),
                        (x + 2, middle),
                    ];
                    draw(area, Polygon::new(diamond, *colour))?;
                }
            }
            let style =
                TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
            draw(area, Text::new(name.clone(), (x + 22, middle), style))?;
            x += entry_width(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use harness::Recording;
    use harness::record::{Shape, TaskSpan, ThreadRecord, WaitSpan, Waiting};

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

    fn task(id: usize, handed: u64, start: u64, panicked: bool) -> TaskSpan {
        TaskSpan {
            id,
            handed: us(handed),
            start: us(start),
            end: us(start + 10_000),
            panicked,
        }
    }

    /// The trace that `recording` writes, read back.
    fn traced(recording: &Recording) -> Trace {
        let mut json = Vec::new();
        recording.write_trace(&mut json).unwrap();
        Trace::parse(std::str::from_utf8(&json).unwrap()).expect("a stage's trace")
    }

    /// A run of stage 03: two workers, named out of order, a submitter that waits once for a
    /// slot, the queue's depth, and a task that panics.
    fn fixture() -> Trace {
        let main = ThreadRecord {
            submitter: true,
            waits: vec![WaitSpan {
                id: 3,
                start: us(1_040),
                end: us(11_010),
                kind: Waiting::ForSlot,
            }],
            ..thread("main", Vec::new())
        };
        traced(&Recording {
            title: "stage 03".to_string(),
            shape: Shape::Pool {
                workers: 2,
                queue: Some(1),
            },
            tasks: 4,
            threads: vec![
                main,
                thread(
                    "worker-1",
                    vec![task(1, 1_010, 1_020, false), task(3, 11_010, 11_030, false)],
                ),
                thread(
                    "worker-0",
                    vec![task(0, 1_000, 1_000, false), task(2, 1_030, 11_010, true)],
                ),
            ],
            missing_threads: 0,
        })
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
    fn threads_are_named_and_times_start_at_the_first_event() {
        let trace = fixture();
        let names: Vec<&str> = trace.threads.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["main", "worker-1", "worker-0"]);
        let main = &trace.threads[0];
        assert!(main.submitter);
        assert!(!trace.threads[1].submitter);
        assert_eq!(main.spans.len(), 1);
        assert_eq!(main.spans[0].kind, SpanKind::Wait);
        assert_eq!(main.spans[0].start, 0.04);
        let task_0 = &trace.threads[2].spans[0];
        assert_eq!((task_0.start, task_0.end), (0.0, 10.0));
        assert_eq!(trace.tasks().count(), 4);
    }

    #[test]
    fn a_panic_marks_the_task_it_ended() {
        let trace = fixture();
        let panicked: Vec<&str> = trace
            .tasks()
            .filter(|(_, span)| span.panicked)
            .map(|(_, span)| span.name.as_str())
            .collect();
        assert_eq!(panicked, ["task 2"]);
        assert_eq!(trace.marks.len(), 1);
        assert_eq!(trace.marks[0].thread, Some(2));
    }

    #[test]
    fn counters_and_running_tasks_are_steps() {
        let trace = fixture();
        assert_eq!(trace.counters.len(), 1);
        assert_eq!(trace.counters[0].name, "queue depth");
        assert_eq!(trace.counters[0].max(), 1.0);
        let running = trace.running();
        assert_eq!(running.max(), 2.0);
        assert_eq!(running.points.last(), Some(&(20.03, 0.0)));
        // Task 2 starts as task 0 ends: never three at once.
        assert!(running.points.iter().all(|&(_, level)| level <= 2.0));
    }

    #[test]
    fn only_a_stage_s_trace_is_read() {
        assert!(Trace::parse("[]").is_err(), "a bare array");
        assert!(
            Trace::parse(r#"{"traceEvents":[]}"#).is_err(),
            "no time unit"
        );
        assert!(Trace::parse("not json").is_err());
    }

    #[test]
    fn the_timeline_has_a_bar_per_task_its_rows_and_its_markers() {
        let trace = fixture();
        let frame = Frame {
            title: "03 crossbeam-bounded, block".to_string(),
            until_ms: None,
            capacity: Some(1.0),
        };
        let svg = svg(&trace, &frame).expect("the timeline draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(bars(&svg, TASK), 3, "one bar per task that did not panic");
        assert_eq!(
            bars(&svg, PANICKED),
            1,
            "one bar for the task that panicked"
        );
        assert_eq!(bars(&svg, WAIT), 1, "one bar for the submitter's wait");
        for text in [
            "03 crossbeam-bounded, block",
            "submitter",
            "worker-0",
            "worker-1",
            "running tasks",
            "queue depth",
            "capacity 1",
            "wait for a queue slot",
            "task that panicked",
            "task 2 panicked",
            "milliseconds since",
        ] {
            assert!(svg.contains(text), "the timeline lacks {text}");
        }
        // worker-0 is drawn above worker-1, whatever order the trace named them in.
        assert!(svg.find(">\nworker-0").unwrap() < svg.find(">\nworker-1").unwrap());
        assert_eq!(svg, super::svg(&trace, &frame).unwrap(), "deterministic");
    }

    #[test]
    fn many_threads_share_thin_rows() {
        let trace = traced(&Recording {
            title: "stage 01".to_string(),
            shape: Shape::ThreadPerTask,
            tasks: 40,
            threads: (0..40)
                .map(|id| {
                    thread(
                        &format!("spawned-{id}"),
                        vec![task(id, 0, 50 * id as u64, false)],
                    )
                })
                .collect(),
            missing_threads: 0,
        });
        let svg = svg(&trace, &Frame::default()).unwrap();
        assert_eq!(bars(&svg, TASK), 40);
        assert!(svg.contains("40 threads, one per row"));
        assert!(
            !svg.contains("spawned-39"),
            "thin rows have no label of their own"
        );
        assert_eq!(trace.running().max(), 40.0);
    }

    #[test]
    fn names_sort_with_their_numbers() {
        let mut names = vec!["worker-10", "worker-2", "worker-1", "main"];
        names.sort_by_key(|name| natural_key(name));
        assert_eq!(names, ["main", "worker-1", "worker-2", "worker-10"]);
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
