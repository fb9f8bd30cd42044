//! Plain-text tables for a demo's output, and the number formats their cells use.
//!
//! A measurement is easier to read as a table than as a list of sentences: one row per run, the
//! same columns in each. The columns are padded to their widest cell, words to the left and
//! numbers to the right so that their digits line up, and separated by two spaces, so that a
//! script can still split a row into cells when a title has a space in it (`ideal tasks/s`).
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
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Starts a table with these column titles and alignments.
    pub fn new(headers: &[(&str, Align)]) -> Self {
        let headers = headers
            .iter()
            .map(|&(title, align)| (title.to_string(), align))
            .collect();
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    ///
    /// # Panics
    ///
    /// Panics if the row does not have one cell per column: a mistake in the demo, not in its
    /// input.
    pub fn push_row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.headers.len(),
            "a row needs one cell per column"
        );
        self.rows.push(cells);
    }

    /// The width of each column: its widest cell, title included, in characters (not bytes, so
    /// that `µs` counts as two).
    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(title, _)| title.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }

    /// One line of the table, padded, without trailing spaces.
    fn line<'a>(&self, widths: &[usize], cells: impl Iterator<Item = &'a String>) -> String {
        let mut line = String::new();
        for ((cell, &width), (_, align)) in cells.zip(widths).zip(&self.headers) {
            if !line.is_empty() {
                line.push_str("  ");
            }
            match align {
                Align::Left => line.push_str(&format!("{cell:<width$}")),
                Align::Right => line.push_str(&format!("{cell:>width$}")),
            }
        }
        line.trim_end().to_string()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths = self.widths();
        let titles = self.headers.iter().map(|(title, _)| title);
        writeln!(f, "{}", self.line(&widths, titles))?;
        for row in &self.rows {
            writeln!(f, "{}", self.line(&widths, row.iter()))?;
        }
        Ok(())
    }
}

/// `n` and a noun, in the plural unless `n` is 1: "1 core", "2 cores".
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A throughput: whole tasks (or items) per second.
pub fn rate(per_s: f64) -> String {
    format!("{per_s:.0}")
}

/// A duration in milliseconds with one decimal: `20.2`.
pub fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

/// A duration with one decimal in the unit that suits it (`974.7µs`, `1.2ms`), so that short
/// tasks do not all show as `0.0` milliseconds.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_align_right_and_words_left() {
        let mut table = Table::new(&[
            ("setup", Align::Left),
            ("tasks/s", Align::Right),
            ("note", Align::Left),
        ]);
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
        let mut table = Table::new(&[("a", Align::Left), ("b", Align::Left)]);
        table.push_row(vec!["only one".into()]);
    }

    #[test]
    fn numbers_keep_the_precision_their_column_needs() {
        assert_eq!(count(1, "core"), "1 core");
        assert_eq!(count(2, "core"), "2 cores");
        assert_eq!(rate(1917.5), "1918");
        assert_eq!(millis(Duration::from_micros(20_240)), "20.2");
        assert_eq!(duration(Duration::from_nanos(974_700)), "974.7µs");
        assert_eq!(duration(Duration::from_micros(1_140)), "1.1ms");
        assert_eq!(percent(0.861), "86%");
        assert_eq!(fraction(0.926), "0.93");
    }
}
