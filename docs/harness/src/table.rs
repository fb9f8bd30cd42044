//! Tables, as plain text ([`Display`](fmt::Display)) or Markdown ([`Table::markdown`]), and the
//! number formats of their cells. Columns are padded to their widest cell, words left and numbers
//! right, two spaces apart, so that a script can still split a row when a title has a space in it.
//!
//! ```
//! use harness::table::{Align, Table, rate};
//!
//! let mut table = Table::new(&[("workers", Align::Right), ("tasks/s", Align::Right)]);
//! table.push_row(vec!["2".to_string(), rate(1917.6)]);
//! table.push_row(vec!["16".to_string(), rate(1893.2)]);
//! assert_eq!(table.to_string(), "workers  tasks/s\n      2     1918\n     16     1893\n");
//! ```

use std::fmt;
use std::iter;
use std::time::Duration;

/// Which side of its column a cell sticks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// For words.
    Left,
    /// For numbers, so that their digits line up.
    Right,
}

/// A plain-text table: a header row, then one row per measurement.
#[derive(Debug, Clone)]
pub struct Table {
    titles: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Starts a table with these column titles and alignments.
    pub fn new(headers: &[(&str, Align)]) -> Self {
        Table {
            titles: headers.iter().map(|(title, _)| title.to_string()).collect(),
            aligns: headers.iter().map(|&(_, align)| align).collect(),
            rows: Vec::new(),
        }
    }

    /// Starts a table with these titles: the first `text` columns hold words, the others numbers.
    pub fn titled<S: AsRef<str>>(titles: &[S], text: usize) -> Self {
        let (words, numbers) = titles.split_at(text.min(titles.len()));
        let words = words.iter().map(|title| (title.as_ref(), Align::Left));
        let numbers = numbers.iter().map(|title| (title.as_ref(), Align::Right));
        Table::new(&words.chain(numbers).collect::<Vec<_>>())
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends a row. Panics if it does not have one cell per column.
    pub fn push_row(&mut self, cells: Vec<String>) {
        let columns = self.titles.len();
        assert_eq!(cells.len(), columns, "a row needs one cell per column");
        self.rows.push(cells);
    }

    /// The table as Markdown, padded (at least 3 wide) to read well in a terminal too.
    pub fn markdown(&self) -> String {
        let widths: Vec<usize> = self.widths().into_iter().map(|w| w.max(3)).collect();
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let columns = widths.iter().zip(&self.aligns);
        let rule = columns.map(|(&width, align)| match align {
            Align::Left => "-".repeat(width),
            Align::Right => format!("{}:", "-".repeat(width - 1)),
        });
        let mut text = line(self.padded(&widths, &self.titles));
        text.push_str(&line(rule.collect()));
        for row in &self.rows {
            text.push_str(&line(self.padded(&widths, row)));
        }
        text
    }

    /// Each column's widest cell, title included, in characters (`µs` counts as two).
    fn widths(&self) -> Vec<usize> {
        let mut widths = vec![0; self.titles.len()];
        for row in iter::once(&self.titles).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }

    fn padded(&self, widths: &[usize], cells: &[String]) -> Vec<String> {
        let columns = cells.iter().zip(widths).zip(&self.aligns);
        columns
            .map(|((cell, &width), align)| match align {
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths = self.widths();
        for row in iter::once(&self.titles).chain(&self.rows) {
            // Two spaces between cells, but none before a first column with nothing in it.
            let cells = self.padded(&widths, row).into_iter();
            let cells: Vec<String> = cells.skip_while(String::is_empty).collect();
            writeln!(f, "{}", cells.join("  ").trim_end())?;
        }
        Ok(())
    }
}

/// `n` and a noun, in the plural unless `n` is 1: "1 core", "2 cores".
pub fn count(n: usize, noun: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {noun}{plural}")
}

/// A throughput: whole tasks (or items) per second.
pub fn rate(per_s: f64) -> String {
    format!("{per_s:.0}")
}

/// A duration in milliseconds with one decimal: `20.2`.
pub fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

/// A duration with one decimal in the unit that suits it: `974.7µs`, `1.2ms`.
pub fn duration(duration: Duration) -> String {
    format!("{duration:.1?}")
}

/// A fraction as a whole percentage: `0.861` as `86%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// A fraction with two decimals: `0.93`.
pub fn fraction(fraction: f64) -> String {
    format!("{fraction:.2}")
}

/// What a cell shows when the value was not measured on this system.
pub const NOT_AVAILABLE: &str = "n/a";

/// A formatted value, or [`NOT_AVAILABLE`]: `or_na(peak.map(thousands))`.
pub fn or_na(value: Option<String>) -> String {
    value.unwrap_or_else(|| NOT_AVAILABLE.to_string())
}

/// A whole number with thousands separators: `1234567` as `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A number with one decimal: `2.5`.
pub fn tenths(value: f64) -> String {
    format!("{value:.1}")
}

/// Three significant digits below 1,000 (2.61, 26.1, 261), whole numbers with commas above.
pub fn significant(value: f64) -> String {
    if value.abs() >= 1_000.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}{}", thousands(value.abs().round() as u64));
    }
    let decimals = match value.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    format!("{value:.decimals$}")
}

/// `value`, counted in `units[0]`, in the largest of `units` that it reaches (each `step` times
/// the one before), with three [`significant`] digits.
fn scaled(value: f64, step: f64, units: &[&str]) -> String {
    let (size, unit) = (0..units.len())
        .rev()
        .map(|power| (step.powi(power as i32), units[power]))
        .find(|&(size, _)| value >= size)
        .unwrap_or((1.0, units[0]));
    format!("{}{unit}", significant(value / size))
}

/// KiB as MiB or GiB, with three [`significant`] digits.
pub fn memory(kib: u64) -> String {
    scaled(kib as f64 / 1024.0, 1024.0, &[" MiB", " GiB"])
}

/// Milliseconds in the unit that reads best, with three [`significant`] digits: `12.3 s`.
pub fn time_ms(ms: f64) -> String {
    scaled(ms, 1000.0, &[" ms", " s"])
}

/// A duration as [`time_ms`] shows it.
pub fn time(duration: Duration) -> String {
    time_ms(duration.as_secs_f64() * 1e3)
}

/// Nanoseconds in the unit that reads best: `95.3 ns`, `1.05 µs`.
pub fn time_ns(ns: f64) -> String {
    scaled(ns, 1000.0, &[" ns", " µs"])
}

/// Tasks per second with a `k` or `M` suffix and three [`significant`] digits: `1.92k/s`.
pub fn per_second(per_second: f64) -> String {
    scaled(per_second, 1000.0, &["/s", "k/s", "M/s"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use Align::{Left, Right};

    #[test]
    fn numbers_align_right_and_words_left() {
        let mut table = Table::new(&[("setup", Left), ("tasks/s", Right), ("note", Left)]);
        table.push_row(vec!["shared".into(), "441".into(), "slow".into()]);
        table.push_row(vec!["split µs".into(), "1365".into(), String::new()]);
        assert_eq!(
            table.to_string(),
            "setup     tasks/s  note\n\
             shared        441  slow\n\
             split µs     1365\n"
        );
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_row_with_a_missing_cell_is_rejected() {
        let mut table = Table::new(&[("a", Left), ("b", Left)]);
        table.push_row(vec!["only one".into()]);
    }

    #[test]
    fn a_table_is_also_markdown_with_its_numbers_aligned_right() {
        let mut table = Table::titled(&["run", "tasks/s"], 1);
        assert!(table.is_empty());
        table.push_row(vec!["stage 03".into(), per_second(1917.6)]);
        assert_eq!(
            table.markdown(),
            "| run      | tasks/s |\n\
             | -------- | ------: |\n\
             | stage 03 | 1.92k/s |\n"
        );
    }

    #[test]
    fn numbers_keep_the_precision_their_column_needs() {
        for (formatted, expected) in [
            (count(1, "core"), "1 core"),
            (count(2, "core"), "2 cores"),
            (count(0, "task"), "0 tasks"),
            (rate(1917.5), "1918"),
            (millis(Duration::from_micros(20_240)), "20.2"),
            (duration(Duration::from_nanos(974_700)), "974.7µs"),
            (duration(Duration::from_micros(1_140)), "1.1ms"),
            (percent(0.861), "86%"),
            (fraction(0.926), "0.93"),
            (thousands(1_234_567), "1,234,567"),
            (significant(2.613), "2.61"),
            (significant(26.13), "26.1"),
            (significant(-2_613.0), "-2,613"),
            (memory(2_676), "2.61 MiB"),
            (memory(3 * 1024 * 1024), "3.00 GiB"),
            (time_ms(850.0), "850 ms"),
            (time(Duration::from_millis(12_340)), "12.3 s"),
            (time_ns(95.3), "95.3 ns"),
            (time_ns(1_050.0), "1.05 µs"),
            (per_second(950.0), "950/s"),
            (per_second(2.5e6), "2.50M/s"),
            (or_na(None), NOT_AVAILABLE),
            (or_na(Some(tenths(2.54))), "2.5"),
        ] {
            assert_eq!(formatted, expected);
        }
    }
}
