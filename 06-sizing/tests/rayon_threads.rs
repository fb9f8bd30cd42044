//! `batch` runs `par_iter` on rayon's global pool, which the thread limit counts as a thread per
//! core (`Experiment::threads` in `src/main.rs`). Left to itself, rayon starts as many threads as
//! the environment variable `RAYON_NUM_THREADS` asks for, up to 65,535, past the limit and without
//! `--no-limit`. The experiment's own code is compiled in here, since a binary's modules cannot
//! be imported, and run in a child process that sets the variable before rayon reads it.

// Only `batch` is used, but its siblings come with it.
#![allow(dead_code)]

#[path = "../src/cli.rs"]
mod cli;
#[path = "../src/experiments/mod.rs"]
mod experiments;

use std::env;
use std::process::Command;

use clap::Parser;
use experiments::batch::{self, BatchArgs};

/// The environment variable that tells the test it runs in the child process.
const IN_CHILD: &str = "STAGE06_RAYON_THREADS_CHILD";

/// `batch`'s flags, parsed as the demo parses them.
#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    batch: BatchArgs,
}

/// Run only in a child process, by the test after it, with `RAYON_NUM_THREADS` set.
#[test]
#[ignore = "needs RAYON_NUM_THREADS set: run by rayon_gets_a_thread_per_core_whatever_rayon_num_threads_says"]
fn run_a_tiny_batch_and_count_rayons_threads() {
    if env::var_os(IN_CHILD).is_none() {
        return;
    }
    let flags = Flags::parse_from(["batch", "--items", "64", "--rounds", "1"]);
    batch::run(&flags.batch);
    assert_eq!(rayon::current_num_threads(), harness::cores());
}

#[test]
fn rayon_gets_a_thread_per_core_whatever_rayon_num_threads_says() {
    // One more than the cores, so that the variable, if it were obeyed, would show.
    let asked = harness::cores() + 1;
    let output = Command::new(env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--nocapture"])
        .arg("run_a_tiny_batch_and_count_rayons_threads")
        .env(IN_CHILD, "1")
        .env("RAYON_NUM_THREADS", asked.to_string())
        .output()
        .expect("the test binary runs");
    assert!(
        output.status.success(),
        "rayon should have a thread per core, not {asked}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
