//! What each feature of the stages costs per task, in-process: [`measure::ladder`] as a table.
//! `cargo run --release -p measure --example costs -- --rounds 5` is a shorter run.

use clap::Parser;
use measure::ladder::{self, Step};
use measure::runs;

/// Times a ladder of pools on empty tasks: what each feature of the stages costs per task.
#[derive(Debug, Parser)]
struct Args {
    /// Tasks per run.
    #[arg(long, default_value = "100000", value_parser = harness::parse_positive)]
    tasks: usize,

    /// Rounds: each runs every step once; the medians are over the rounds.
    #[arg(long, default_value = "41", value_parser = harness::parse_positive)]
    rounds: usize,
}

fn main() {
    let Args { tasks, rounds } = Args::parse();
    let ladder = ladder::measure(tasks, rounds);
    let (workers, queue) = (ladder.workers, runs::QUEUE);
    println!(
        "{rounds} rounds of {tasks} empty tasks on {workers} workers (queue {queue}); medians \
         over the rounds."
    );
    println!(
        "{:<16} {:<16} {:>10} {:>17} {:>20} {:>9}",
        "step", "built on", "per task", "middle half", "added (same round)", "x boxed"
    );
    for row in &ladder.rows {
        let added = row.added.map_or(String::new(), |(ns, ratio)| {
            format!("{ns:+.0} ns ({ratio:.2}x)")
        });
        println!(
            "{:<16} {:<16} {:>7.0} ns {:>7.0} - {:>4.0} ns {added:>20} {:>8.2}x",
            row.step.key(),
            row.step.base().map_or("-", Step::key),
            row.median,
            row.quartiles.0,
            row.quartiles.1,
            row.to_pool,
        );
    }
}
