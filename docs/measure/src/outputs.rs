//! `measure outputs`: what each stage prints at its defaults, recorded in its `output.txt` and
//! checked *in shape*: numbers vary and workers finish in any order, so both sides are compared
//! as sets of line [`shape`]s, and the summary must stay last.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::thread;

use crate::stages::{Profile, STAGES, Stage, Workspace};

/// The command that rewrites every `output.txt`; failures name it.
pub const REGENERATE: &str = "cargo run -p measure -- outputs";

/// Runs every stage at its defaults and rewrites its `output.txt`, or names the stage that failed.
pub fn record(workspace: &Workspace) -> Result<(), String> {
    build(workspace)?;
    // One stage at a time: a recording shows each stage on a machine it has to itself.
    for stage in &STAGES {
        let text = run_at_defaults(workspace, stage)?;
        let path = output_path(workspace, stage);
        fs::write(&path, text).map_err(|error| format!("{}: {error}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Runs every stage at its defaults and compares its output with its `output.txt` in shape; the
/// error names the lines that differ, a paragraph per stage.
pub fn check(workspace: &Workspace) -> Result<(), String> {
    build(workspace)?;
    // Every stage at once: the demos mostly wait, and only the shape of what they print is
    // compared, which sharing the cores does not change.
    let actual: Vec<Result<String, String>> = thread::scope(|scope| {
        let run = |stage| scope.spawn(move || run_at_defaults(workspace, stage));
        let runs: Vec<_> = STAGES.iter().map(run).collect();
        let panics = "running a stage does not panic";
        runs.into_iter().map(|r| r.join().expect(panics)).collect()
    });
    let mut problems = Vec::new();
    for (stage, actual) in STAGES.iter().zip(actual) {
        let path = output_path(workspace, stage);
        let recorded = fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error} (run `{REGENERATE}`)", path.display()))?;
        let actual = actual?;
        if let Some(difference) = compare(&recorded, &actual) {
            let (bin, shown) = (stage.bin, path.display());
            let problem = format!("{bin} no longer prints what {shown} shows:\n{difference}");
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.push(format!(
        "If the change is intended, record the outputs again with `{REGENERATE}`."
    ));
    Err(problems.join("\n\n"))
}

fn output_path(workspace: &Workspace, stage: &Stage) -> PathBuf {
    workspace.root.join(stage.bin).join("output.txt")
}

/// Builds every stage in debug mode, as `cargo run --bin` does.
fn build(workspace: &Workspace) -> Result<(), String> {
    let built = workspace.build_stages(Profile::Debug);
    STAGES
        .iter()
        .zip(built)
        .try_for_each(|(stage, built)| built.map_err(|error| format!("{}: {error}", stage.bin)))
}

/// What `cargo run --bin BIN` shows at the defaults: the command, stdout, then any stderr.
fn run_at_defaults(workspace: &Workspace, stage: &Stage) -> Result<String, String> {
    let binary = workspace.binary(stage.bin, Profile::Debug);
    let output = Command::new(&binary)
        .output()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    if !output.status.success() {
        return Err(format!("{} exited with {}", stage.bin, output.status));
    }
    // The two streams are read separately, so their relative order is lost; stderr goes last,
    // where a reader finds it in one piece.
    let mut text = format!("$ cargo run --bin {}\n", stage.bin);
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    // Stage 06 warns on stderr when other programs are using the CPUs, as the other stages do
    // while `check` runs them all at once: a line about the machine, not about the stage.
    let stderr: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| !line.starts_with("warning: other programs are using the CPUs"))
        .map(|line| format!("{line}\n"))
        .collect();
    if !stderr.is_empty() {
        text.push_str("--- stderr ---\n");
        text.push_str(&stderr);
    }
    Ok(text)
}

/// `None` if `actual` has the shape of `recorded`, else a description of what differs.
pub fn compare(recorded: &str, actual: &str) -> Option<String> {
    let shapes = |text: &str| -> BTreeSet<String> { text.lines().map(shape).collect() };
    let (expected, found) = (shapes(recorded), shapes(actual));
    let mut lines = Vec::new();
    for line in expected.difference(&found) {
        lines.push(format!("  missing: {line}"));
    }
    for line in found.difference(&expected) {
        lines.push(format!("  new: {line}"));
    }
    let last = |text: &str| text.lines().last().map(normalise);
    if last(recorded) != last(actual) {
        lines.push(format!(
            "  last line was `{}`, is now `{}`",
            last(recorded).unwrap_or_default(),
            last(actual).unwrap_or_default()
        ));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// What must stay the same about a line from run to run: a table row its numeric columns (the
/// notes after them move), a labelled line its label (the sentence may depend on timing), any
/// other line all of its words.
pub fn shape(line: &str) -> String {
    let line = normalise(line);
    if line.starts_with('#') {
        let end = line
            .find(|c: char| !matches!(c, '#' | '%' | ' ' | 'x' | '+' | '-'))
            .unwrap_or(line.len());
        return line[..end].trim_end().to_string();
    }
    match line.split_once(": ") {
        Some((label, _)) if label.len() < 40 => format!("{label}:"),
        _ => line,
    }
}

/// Replaces every number (with its decimals, separators and time unit) by `#` and the word it
/// counts by its singular, and folds spaces: `on 2 cores` and `on 1 core` become `on # core`.
pub fn normalise(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    // Whether the last thing written was a number: the word after it, past a space, counts.
    let mut after_number = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .next_if(|&c| c.is_ascii_digit() || c == '.' || c == ',')
                .is_some()
            {}
            skip_time_unit(&mut chars);
            out.push('#');
            after_number = true;
            continue;
        }
        if c.is_whitespace() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            out.push(' ');
            // `2 cores`: the space between a number and its word keeps them together.
            continue;
        }
        if after_number && c.is_alphabetic() && out.ends_with(' ') {
            let mut word = String::from(c);
            while let Some(c) = chars.next_if(|c| c.is_alphabetic()) {
                word.push(c);
            }
            // A key of the summary (`cores=2`) is a name, whatever number comes before it.
            let key = chars.peek() == Some(&'=');
            out.push_str(if key { &word } else { singular(&word) });
        } else {
            out.push(c);
        }
        after_number = false;
    }
    out.trim().to_string()
}

/// `word` without the `s` of a plural; short words (`is`) and words in `ss` are no plurals.
fn singular(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem,
        _ => word,
    }
}

/// Debug-formatted durations change unit with their size (`950µs`, `1.2ms`): part of the number.
fn skip_time_unit(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let rest: String = chars.clone().take(3).collect();
    for unit in ["ns", "µs", "us", "ms", "s"] {
        let ends_word = rest[unit.len().min(rest.len())..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if rest.starts_with(unit) && ends_word {
            for _ in 0..unit.chars().count() {
                chars.next();
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_hashes_and_the_words_they_count_singular() {
        assert_eq!(
            normalise("57 of 100 submits waited (1.0s in total): the queue of 16 was full"),
            normalise("81 of 100 submits waited (950.2ms in total): the queue of 16 was full"),
        );
        for (line, normalised) in [
            ("task 7 done on worker-2", "task # done on worker-#"),
            ("  2   1,760    88%", "# # #%"),
            ("10 workers busy", "# worker busy"),
            ("at 2 seconds", "at # second"),
            ("1 task was lost", "# task was lost"),
            ("2 was", "# was"),
            ("3 process", "# process"),
            // Only the word a number counts: the others keep their plural, and so do keys.
            ("tasks on 2 cores", "tasks on # core"),
            ("than 2 cores, the cores", "than # core, the cores"),
            ("items=5 cores=2", "items=# cores=#"),
        ] {
            assert_eq!(normalise(line), normalised, "{line}");
        }
    }

    #[test]
    fn reordered_lines_match_but_changed_ones_do_not() {
        let recorded = "$ run\ntask 1 done\ntask 0 done\nsummary: a=1\n";
        let reordered = "$ run\ntask 0 done\ntask 1 done\nsummary: a=2\n";
        assert_eq!(compare(recorded, reordered), None);

        let changed = "$ run\ntask 0 finished\nsummary: a=2\n";
        let difference = compare(recorded, changed).unwrap();
        assert!(difference.contains("missing: task # done"), "{difference}");
        assert!(difference.contains("new: task # finished"), "{difference}");
    }

    #[test]
    fn table_notes_and_labelled_sentences_may_change() {
        assert_eq!(
            shape("  2   1760  88%   = cores, knee"),
            shape("2 1698 85%")
        );
        assert_eq!(
            shape("backpressure: 3 of 11 submits waited (2.1µs in total)"),
            shape("backpressure: none, every submit found room in the queue")
        );
        assert_ne!(shape("one shared pool 10 446"), shape("two pools 10 446"));
    }

    #[test]
    fn the_summary_must_stay_last() {
        let recorded = "$ run\nresult\nsummary: a=1\n";
        let moved = "$ run\nsummary: a=1\nresult\n";
        assert!(compare(recorded, moved).unwrap().contains("last line"));
    }
}
