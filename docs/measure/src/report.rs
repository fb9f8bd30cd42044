//! Turning runs into text: markdown tables, number formats, the machine line, the raw data
//! file, and rewriting the generated blocks of the docs.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::scenario::Run;

/// A markdown table whose columns are padded so that it also reads well in a terminal.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// How many columns, from the first, hold text rather than numbers.
    text_columns: usize,
}

impl Table {
    /// A table with these column titles. The first column is left-aligned, the others (numbers)
    /// right-aligned.
    pub fn new<S: AsRef<str>>(header: &[S]) -> Self {
        Table {
            header: header
                .iter()
                .map(|title| title.as_ref().to_string())
                .collect(),
            rows: Vec::new(),
            text_columns: 1,
        }
    }

    /// The same table with its first `count` columns left-aligned, for text, and the others
    /// right-aligned, for numbers.
    pub fn text_columns(self, count: usize) -> Self {
        Table {
            text_columns: count,
            ..self
        }
    }

    /// Adds a row; missing cells are left empty.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as markdown.
    pub fn markdown(&self) -> String {
        let columns = self.header.len();
        let cell = |row: &[String], column: usize| row.get(column).cloned().unwrap_or_default();
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                self.rows
                    .iter()
                    .map(|row| cell(row, column).chars().count())
                    .chain([self.header[column].chars().count(), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(column, text)| {
                    if column < self.text_columns {
                        format!("{text:<width$}", width = widths[column])
                    } else {
                        format!("{text:>width$}", width = widths[column])
                    }
                })
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut text = line(self.header.clone());
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(column, width)| {
                if column < self.text_columns {
                    "-".repeat(*width)
                } else {
                    format!("{}:", "-".repeat(width - 1))
                }
            })
            .collect();
        let _ = writeln!(text, "| {} |", rule.join(" | "));
        for row in &self.rows {
            text.push_str(&line(
                (0..columns).map(|column| cell(row, column)).collect(),
            ));
        }
        text
    }
}

/// What a cell shows when the value was not measured on this system.
pub const NOT_AVAILABLE: &str = "n/a";

/// `1234567` as `1,234,567`.
pub fn count(value: u64) -> String {
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

/// A count, or `n/a`.
pub fn opt_count(value: Option<u64>) -> String {
    value.map_or_else(|| NOT_AVAILABLE.to_string(), count)
}

/// A share as a whole percentage, or `n/a`.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(
        || NOT_AVAILABLE.to_string(),
        |share| format!("{:.0}%", share * 100.0),
    )
}

/// A number with one decimal, or `n/a`.
pub fn tenths(value: Option<f64>) -> String {
    value.map_or_else(|| NOT_AVAILABLE.to_string(), |value| format!("{value:.1}"))
}

/// KiB as MiB or GiB with three significant digits.
pub fn memory(kib: Option<u64>) -> String {
    let Some(kib) = kib else {
        return NOT_AVAILABLE.to_string();
    };
    let mib = kib as f64 / 1024.0;
    if mib >= 1024.0 {
        format!("{} GiB", significant(mib / 1024.0))
    } else {
        format!("{} MiB", significant(mib))
    }
}

/// Three significant digits below 1,000 (2.61, 26.1, 261), whole numbers with thousands
/// separators above (2,610).
pub fn significant(value: f64) -> String {
    if value.abs() >= 1_000.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}{}", count(value.abs().round() as u64));
    }
    let decimals = match value.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    format!("{value:.decimals$}")
}

/// A duration in the unit that reads best: `850 ms`, `12.3 s`.
pub fn duration(value: Option<Duration>) -> String {
    value.map_or_else(
        || NOT_AVAILABLE.to_string(),
        |d| millis(d.as_secs_f64() * 1e3),
    )
}

/// Milliseconds in the unit that reads best.
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", significant(ms / 1000.0))
    } else {
        format!("{} ms", significant(ms))
    }
}

/// Nanoseconds in the unit that reads best: `95.3 ns`, `1.05 µs`.
pub fn nanos(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{} µs", significant(ns / 1000.0))
    } else {
        format!("{} ns", significant(ns))
    }
}

/// Tasks per second with a `k` or `M` suffix.
pub fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{}M/s", significant(per_second / 1e6))
    } else if per_second >= 1e3 {
        format!("{}k/s", significant(per_second / 1e3))
    } else {
        format!("{}/s", significant(per_second))
    }
}

/// The machine a table was measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Cores this process may use.
    pub cores: usize,
    /// Operating system, with its distribution where known.
    pub os: String,
    /// Kernel release, where known.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// When the run started, UTC.
    pub date: String,
}

impl Machine {
    /// Looks at the machine this process runs on.
    pub fn detect() -> Self {
        Machine {
            cores: harness::cores(),
            os: os_name(),
            kernel: kernel_release(),
            rustc: rustc_version(),
            date: utc_now(),
        }
    }

    /// One markdown line for the top of each table.
    pub fn markdown(&self, command: &str) -> String {
        format!(
            "Measured on {} cores, {} (kernel {}), {}, {}, with `{command}`.",
            self.cores, self.os, self.kernel, self.rustc, self.date
        )
    }
}

fn os_name() -> String {
    let pretty = fs::read_to_string("/etc/os-release").ok().and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map(|name| name.trim_matches('"').to_string())
    });
    match pretty {
        Some(name) => format!("{} {name}", std::env::consts::OS),
        None => std::env::consts::OS.to_string(),
    }
}

fn kernel_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|_| NOT_AVAILABLE.to_string())
}

fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc (version unknown)".to_string())
}

/// The current time as `2025-01-31 14:05 UTC`, without a date crate.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (year, month, day) = civil_date(seconds / 86_400);
    let minutes = seconds % 86_400 / 60;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Replaces the text between `<!-- measure:begin NAME -->` and `<!-- measure:end NAME -->` in
/// `document`, keeping the markers. Returns `None` if the markers are missing.
pub fn replace_block(document: &str, name: &str, body: &str) -> Option<String> {
    let begin = format!("<!-- measure:begin {name} -->");
    let end = format!("<!-- measure:end {name} -->");
    let start = document.find(&begin)? + begin.len();
    let stop = start + document[start..].find(&end)?;
    Some(format!(
        "{}\n{}\n{}",
        &document[..start],
        body.trim_end(),
        &document[stop..]
    ))
}

/// Rewrites the block `name` in every file of `documents` that has its markers; returns how many
/// files had it.
///
/// # Errors
///
/// Returns an error if a file exists but cannot be read or written.
pub fn rewrite_blocks(documents: &[&Path], name: &str, body: &str) -> io::Result<usize> {
    let mut rewritten = 0;
    for path in documents {
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        if let Some(updated) = replace_block(&text, name, body) {
            if updated != text {
                fs::write(path, updated)?;
            }
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

/// The raw runs as tab-separated values: one line per run, `n/a` where a value was not
/// measured, and a `status` column that says why a run has no numbers.
pub fn tsv(scenario: &str, runs: &[Run]) -> String {
    let mut text = String::from(
        "scenario\trunner\ttasks\ttask\tworkers\tqueue\tpolicy\tstatus\tcompleted\tpanicked\t\
         rejected\tran_in_caller\telapsed_ms\tideal_ms\tmax_in_flight\twall_ms\tpeak_threads\t\
         peak_rss_kib\tpeak_vm_kib\tcpu_ms\tmain_thread_cpu_ms\tvoluntary_switches\tinvoluntary_switches\tsamples\tcommand\n",
    );
    let or_na = |value: Option<String>| value.unwrap_or_else(|| NOT_AVAILABLE.to_string());
    for run in runs {
        let job = &run.job;
        let summary = run.ok().and_then(|m| m.summary.clone());
        let status = run.problem().unwrap_or_else(|| "ok".to_string());
        let fields = [
            scenario.to_string(),
            job.runner.key().to_string(),
            job.tasks.to_string(),
            job.task.to_string(),
            or_na(job.workers.map(|w| w.to_string())),
            or_na(job.queue.map(|q| q.to_string())),
            or_na(job.policy.map(|p| p.to_string())),
            status.replace(['\t', '\n'], " "),
            or_na(summary.as_ref().map(|s| s.completed.to_string())),
            or_na(summary.as_ref().map(|s| s.panicked.to_string())),
            or_na(
                summary
                    .as_ref()
                    .and_then(|s| s.own::<u64>("rejected").map(|r| r.to_string())),
            ),
            or_na(
                summary
                    .as_ref()
                    .and_then(|s| s.own::<u64>("ran_in_caller").map(|r| r.to_string())),
            ),
            or_na(summary.as_ref().map(|s| s.elapsed_ms.to_string())),
            or_na(summary.as_ref().map(|s| s.ideal_ms.to_string())),
            or_na(summary.as_ref().map(|s| s.max_in_flight.to_string())),
            or_na(
                run.ok()
                    .map(|m| format!("{:.1}", m.wall.as_secs_f64() * 1e3)),
            ),
            or_na(run.peak_threads().map(|v| v.to_string())),
            or_na(run.peak_rss_kib().map(|v| v.to_string())),
            or_na(run.peak_vm_kib().map(|v| v.to_string())),
            or_na(
                run.cpu()
                    .map(|cpu| format!("{:.1}", cpu.as_secs_f64() * 1e3)),
            ),
            or_na(
                run.main_thread_cpu()
                    .map(|cpu| format!("{:.1}", cpu.as_secs_f64() * 1e3)),
            ),
            or_na(run.switches().map(|(voluntary, _)| voluntary.to_string())),
            or_na(
                run.switches()
                    .map(|(_, involuntary)| involuntary.to_string()),
            ),
            or_na(
                run.ok()
                    .and_then(|m| m.peaks)
                    .map(|p| p.samples.to_string()),
            ),
            job.command_line(),
        ];
        text.push_str(&fields.join("\t"));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(memory(Some(2_672)), "2.61 MiB");
        assert_eq!(memory(Some(20 * 1024 * 1024)), "20.0 GiB");
        assert_eq!(memory(None), "n/a");
        assert_eq!(millis(850.0), "850 ms");
        assert_eq!(millis(12_345.0), "12.3 s");
        assert_eq!(millis(1_252_000.0), "1,252 s");
        assert_eq!(nanos(95.34), "95.3 ns");
        assert_eq!(nanos(1_050.0), "1.05 µs");
        assert_eq!(rate(1_500_000.0), "1.50M/s");
        assert_eq!(rate(198.1), "198/s");
    }

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_454), (2026, 1, 1));
    }

    #[test]
    fn blocks_are_replaced_between_their_markers_only() {
        let document = "intro\n<!-- measure:begin a -->\nold\n<!-- measure:end a -->\nprose\n\
                        <!-- measure:begin b -->\nkeep\n<!-- measure:end b -->\n";
        let updated = replace_block(document, "a", "new\n").unwrap();
        assert_eq!(
            updated,
            "intro\n<!-- measure:begin a -->\nnew\n<!-- measure:end a -->\nprose\n\
             <!-- measure:begin b -->\nkeep\n<!-- measure:end b -->\n"
        );
        assert_eq!(replace_block(document, "c", "x"), None);
    }

    #[test]
    fn tables_are_aligned_markdown() {
        let mut table = Table::new(&["run", "threads"]);
        table.row(vec!["01".to_string(), "1,000".to_string()]);
        assert_eq!(
            table.markdown(),
            "| run | threads |\n| --- | ------: |\n| 01  |   1,000 |\n"
        );
        let mut table = Table::new(&["run", "on", "ns"]).text_columns(2);
        table.row(vec!["a".to_string(), "b".to_string(), "1".to_string()]);
        assert_eq!(
            table.markdown(),
            "| run | on  |  ns |\n| --- | --- | --: |\n| a   | b   |   1 |\n"
        );
    }
}
