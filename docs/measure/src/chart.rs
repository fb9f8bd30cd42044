//! SVG charts drawn with plotters: horizontal bars for comparing runners, lines for sweeps.

use std::io;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// A chart: a title over a grid of panels.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Over all panels.
    pub title: String,
    /// The panels, filled row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
}

/// One plot inside a chart.
#[derive(Debug, Clone)]
pub enum Panel {
    /// One horizontal bar per runner.
    Bars(BarPanel),
    /// One line per runner over a numeric x axis.
    Lines(LinePanel),
}

/// Horizontal bars, one per label.
#[derive(Debug, Clone)]
pub struct BarPanel {
    /// Over the panel.
    pub title: String,
    /// What the bars measure, with the unit.
    pub axis: String,
    /// Whether the value axis is logarithmic.
    pub log: bool,
    /// Top to bottom.
    pub bars: Vec<Bar>,
}

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Shown on the category axis.
    pub label: String,
    /// Picks the colour.
    pub key: String,
    /// Its length.
    pub value: f64,
}

/// Lines over a numeric x axis.
#[derive(Debug, Clone)]
pub struct LinePanel {
    /// Panel title.
    pub title: String,
    /// The x axis, with the unit.
    pub x_axis: String,
    /// The y axis, with the unit.
    pub y_axis: String,
    /// Whether x is logarithmic.
    pub x_log: bool,
    /// Whether y is logarithmic.
    pub y_log: bool,
    /// The lines.
    pub series: Vec<Series>,
}

/// One line.
#[derive(Debug, Clone)]
pub struct Series {
    /// Shown in the legend under the panels.
    pub name: String,
    /// Picks the colour.
    pub key: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
}

const PANEL_WIDTH: u32 = 520;
const PANEL_HEIGHT: u32 = 360;
const TITLE_HEIGHT: u32 = 40;
const LEGEND_COLUMNS: usize = 3;
const LEGEND_ROW: u32 = 20;

/// Draws `chart` as an SVG document, or fails if plotters cannot lay it out.
pub fn svg(chart: &Chart) -> io::Result<String> {
    let columns = chart.columns.max(1);
    let rows = chart.panels.len().div_ceil(columns).max(1);
    let legend = legend_entries(chart);
    let legend_height = match legend.len() {
        0 => 0,
        n => 12 + LEGEND_ROW * n.div_ceil(LEGEND_COLUMNS) as u32,
    };
    let height = TITLE_HEIGHT + PANEL_HEIGHT * rows as u32 + legend_height;
    let size = (PANEL_WIDTH * columns as u32, height);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (title, rest) = root.split_vertically(TITLE_HEIGHT);
        let (body, legend_area) = rest.split_vertically(PANEL_HEIGHT * rows as u32);
        let font = ("sans-serif", 22);
        title.titled(&chart.title, font).map_err(drawing)?;
        for (area, panel) in body.split_evenly((rows, columns)).iter().zip(&chart.panels) {
            match panel {
                Panel::Bars(bars) => draw_bars(area, bars)?,
                Panel::Lines(lines) => draw_lines(area, lines)?,
            }
        }
        draw_legend(&legend_area, &legend)?;
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

/// Every line's name and colour, once each: one legend under all panels never hides a line.
fn legend_entries(chart: &Chart) -> Vec<(&str, &str)> {
    let mut entries: Vec<(&str, &str)> = Vec::new();
    for panel in &chart.panels {
        let Panel::Lines(lines) = panel else { continue };
        for series in &lines.series {
            let entry = (series.name.as_str(), series.key.as_str());
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
    }
    entries
}

fn draw_legend(area: &Area<'_>, entries: &[(&str, &str)]) -> io::Result<()> {
    let width = area.dim_in_pixel().0 as i32 / LEGEND_COLUMNS as i32;
    for (index, (name, key)) in entries.iter().enumerate() {
        let x = 60 + width * (index % LEGEND_COLUMNS) as i32;
        let y = 10 + LEGEND_ROW as i32 * (index / LEGEND_COLUMNS) as i32;
        let style = colour(key).stroke_width(3);
        let line = PathElement::new(vec![(x, y + 7), (x + 24, y + 7)], style);
        area.draw(&line).map_err(drawing)?;
        let name = Text::new(name.to_string(), (x + 32, y), ("sans-serif", 13));
        area.draw(&name).map_err(drawing)?;
    }
    Ok(())
}

fn drawing<E: std::fmt::Debug>(error: E) -> io::Error {
    io::Error::other(format!("cannot draw the chart: {error:?}"))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn draw_bars(area: &Area<'_>, panel: &BarPanel) -> io::Result<()> {
    let values = panel.bars.iter().map(|bar| bar.value);
    if panel.log {
        let range = log_range(values);
        bars_on(area, panel, range.clone().log_scale(), range.start)
    } else {
        bars_on(area, panel, linear_range(values), 0.0)
    }
}

fn bars_on<X>(area: &Area<'_>, panel: &BarPanel, x: X, floor: f64) -> io::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let labels: Vec<&str> = panel.bars.iter().map(|bar| bar.label.as_str()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(150)
        // Discrete ranges include their end, so n bars need 0..n-1; plotters labels no axis
        // of a single value, so one bar gets an empty row above it.
        .build_cartesian_2d(x, (0..labels.len().max(2) - 1).into_segmented())
        .map_err(drawing)?;
    let category = |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(index) => labels.get(*index).copied().unwrap_or("").to_string(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(&panel.axis)
        .x_labels(6)
        .x_label_formatter(&|value| axis_number(*value))
        .y_labels(labels.len().max(2))
        .y_label_formatter(&category)
        .draw()
        .map_err(drawing)?;
    let bars = panel.bars.iter().enumerate().map(|(index, bar)| {
        let (from, to) = (SegmentValue::Exact(index), SegmentValue::Exact(index + 1));
        let corners = [(floor, from), (bar.value.max(floor), to)];
        let mut rectangle = Rectangle::new(corners, colour(&bar.key).filled());
        rectangle.set_margin(3, 3, 0, 0);
        rectangle
    });
    chart.draw_series(bars).map_err(drawing)?;
    Ok(())
}

fn draw_lines(area: &Area<'_>, panel: &LinePanel) -> io::Result<()> {
    let points = || panel.series.iter().flat_map(|series| series.points.iter());
    let (xs, ys) = (points().map(|point| point.0), points().map(|point| point.1));
    let (x, y) = (log_range(xs.clone()), log_range(ys.clone()));
    match (panel.x_log, panel.y_log) {
        (true, true) => lines_on(area, panel, x.log_scale(), y.log_scale()),
        (true, false) => lines_on(area, panel, x.log_scale(), linear_range(ys)),
        (false, true) => lines_on(area, panel, linear_range(xs), y.log_scale()),
        (false, false) => lines_on(area, panel, linear_range(xs), linear_range(ys)),
    }
}

fn lines_on<X, Y>(area: &Area<'_>, panel: &LinePanel, x: X, y: Y) -> io::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_axis)
        .y_desc(&panel.y_axis)
        .x_label_formatter(&|value| axis_number(*value))
        .y_label_formatter(&|value| axis_number(*value))
        .draw()
        .map_err(drawing)?;
    for series in &panel.series {
        let style = colour(&series.key).stroke_width(2);
        let points = series.points.iter().copied();
        let line = LineSeries::new(points.clone(), style);
        let dots = points.map(|point| Circle::new(point, 3, style.filled()));
        chart.draw_series(line).map_err(drawing)?;
        chart.draw_series(dots).map_err(drawing)?;
    }
    Ok(())
}

/// From the power of ten below the smallest positive value to the one above the largest.
fn log_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let positive: Vec<f64> = values.filter(|value| *value > 0.0).collect();
    let low = positive.iter().copied().fold(f64::MAX, f64::min);
    let high = positive.iter().copied().fold(f64::MIN, f64::max);
    if low > high {
        return 1.0..10.0;
    }
    let low = 10f64.powf(low.log10().floor());
    let high = 10f64.powf(high.log10().ceil()).max(low * 10.0);
    low..high
}

/// From zero to a little above the largest value.
fn linear_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let high = values.fold(0.0, f64::max);
    0.0..if high > 0.0 { high * 1.1 } else { 1.0 }
}

/// Axis numbers with `k`, `M` and `G`, so that log axes stay readable.
fn axis_number(value: f64) -> String {
    let units = [(1e9, "G"), (1e6, "M"), (1e3, "k")];
    let big = units.into_iter().find(|&(unit, _)| value.abs() >= unit);
    let (unit, suffix) = big.unwrap_or((1.0, ""));
    let text = format!("{:.2}", value / unit);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// The same colour for the same runner in every chart (the "category10" palette).
fn colour(key: &str) -> RGBColor {
    match key {
        "01" => RGBColor(214, 39, 40),
        "02" => RGBColor(255, 127, 14),
        "03" => RGBColor(31, 119, 180),
        "03/large-queue" => RGBColor(120, 170, 220),
        "03/never-full" => RGBColor(10, 50, 100),
        "04" => RGBColor(23, 190, 207),
        "05" => RGBColor(44, 160, 44),
        "sequential" => RGBColor(60, 60, 60),
        "threadpool" => RGBColor(148, 103, 189),
        "rayon-scope" => RGBColor(140, 86, 75),
        "rayon-par-iter" => RGBColor(227, 119, 194),
        "tokio" => RGBColor(188, 189, 34),
        "06" => RGBColor(31, 119, 180),
        "reference" => RGBColor(150, 150, 150),
        "target" => RGBColor(214, 39, 40),
        _ => RGBColor(127, 127, 127),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ranges_cover_whole_decades() {
        assert_eq!(log_range([3.0, 4_000.0].into_iter()), 1.0..10_000.0);
        assert_eq!(log_range([0.0, 100.0].into_iter()), 100.0..1_000.0);
        assert_eq!(log_range(std::iter::empty()), 1.0..10.0);
    }

    #[test]
    fn axis_numbers_use_suffixes() {
        assert_eq!(axis_number(1_000_000.0), "1M");
        assert_eq!(axis_number(2_500.0), "2.5k");
        assert_eq!(axis_number(0.25), "0.25");
        assert_eq!(axis_number(40.0), "40");
    }

    #[test]
    fn a_chart_renders_to_svg_with_its_labels() {
        let chart = Chart {
            title: "Peak threads".to_string(),
            columns: 2,
            panels: vec![
                Panel::Bars(BarPanel {
                    title: "threads".to_string(),
                    axis: "threads (log)".to_string(),
                    log: true,
                    bars: vec![Bar {
                        label: "01 unbounded-spawn".to_string(),
                        key: "01".to_string(),
                        value: 1_000.0,
                    }],
                }),
                Panel::Lines(LinePanel {
                    title: "memory".to_string(),
                    x_axis: "tasks".to_string(),
                    y_axis: "MiB".to_string(),
                    x_log: true,
                    y_log: false,
                    series: vec![Series {
                        name: "03 crossbeam-bounded".to_string(),
                        key: "03".to_string(),
                        points: vec![(1e3, 2.5), (1e6, 2.6)],
                    }],
                }),
            ],
        };
        let svg = svg(&chart).expect("the chart draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for text in [
            "Peak threads",
            "01 unbounded-spawn",
            "threads (log)",
            "03 crossbeam-bounded",
        ] {
            assert!(svg.contains(text), "the chart lacks {text}");
        }
    }
}
