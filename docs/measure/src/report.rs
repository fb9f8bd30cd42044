//! Turning runs into text: the machine line, the raw data file, and rewriting the generated
//! blocks of the docs. Tables and number formats are the harness's ([`harness::table`]).

use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use harness::Summary;
use harness::table::{NOT_AVAILABLE, millis, or_na};

use crate::scenario::Run;

/// The line over each table: the machine it was measured on, and the `command` that measured it.
pub fn machine(command: &str) -> String {
    format!(
        "Measured on {} cores, {} (kernel {}), {}, {}, with `{command}`.",
        harness::cores(),
        os_name(),
        kernel_release(),
        rustc_version(),
        utc_now()
    )
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
    let release = fs::read_to_string("/proc/sys/kernel/osrelease");
    release.map_or_else(|_| NOT_AVAILABLE.into(), |text| text.trim().into())
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

/// The current time as `2025-01-31 14:05 UTC`.
fn utc_now() -> String {
    let now = jiff::Timestamp::now();
    now.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Replaces the text between `<!-- measure:begin NAME -->` and `<!-- measure:end NAME -->`, or
/// returns `None` if the markers are missing.
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

/// Rewrites the block `name` in every file of `documents`; returns how many files had it.
pub fn rewrite_blocks(documents: &[PathBuf], name: &str, body: &str) -> io::Result<usize> {
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

/// The raw runs as tab-separated values, `n/a` where a value was not measured.
pub fn tsv(scenario: &str, runs: &[Run]) -> String {
    let mut text = String::from(
        "scenario\trunner\ttasks\ttask\tworkers\tqueue\tpolicy\tstatus\tcompleted\tpanicked\t\
         rejected\tran_in_caller\telapsed_ms\tideal_ms\tmax_in_flight\twall_ms\tpeak_threads\t\
         peak_rss_kib\tpeak_vm_kib\tcpu_ms\tmain_thread_cpu_ms\tvoluntary_switches\t\
         involuntary_switches\tsamples\tcommand\n",
    );
    let count = |value: Option<u64>| or_na(value.map(|value| value.to_string()));
    let ms = |time: Option<Duration>| or_na(time.map(millis));
    for run in runs {
        let job = &run.job;
        let summary = run.ok().and_then(|m| m.summary.as_ref());
        let from_summary = |field: fn(&Summary) -> String| or_na(summary.map(field));
        let own = |key| count(summary.and_then(|s| s.own::<u64>(key)));
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
            from_summary(|s| s.completed.to_string()),
            from_summary(|s| s.panicked.to_string()),
            own("rejected"),
            own("ran_in_caller"),
            from_summary(|s| s.elapsed_ms.to_string()),
            from_summary(|s| s.ideal_ms.to_string()),
            from_summary(|s| s.max_in_flight.to_string()),
            ms(run.ok().map(|m| m.wall)),
            count(run.peak_threads()),
            count(run.peak_rss_kib()),
            count(run.peak_vm_kib()),
            ms(run.cpu()),
            ms(run.main_thread_cpu()),
            count(run.switches().map(|(voluntary, _)| voluntary)),
            count(run.switches().map(|(_, involuntary)| involuntary)),
            count(run.ok().and_then(|m| m.peaks).map(|p| p.samples)),
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
    fn the_date_is_a_utc_minute() {
        let now = utc_now();
        assert_eq!(now.len(), "2025-01-31 14:05 UTC".len(), "{now}");
        assert!(now.starts_with("20") && now.ends_with(" UTC"), "{now}");
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
}
