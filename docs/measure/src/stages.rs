//! The stage binaries: which exist, how to build them, and which are ready to be measured.

use std::collections::BTreeMap;
use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use harness::Summary;

use crate::probe;

/// The command-line flags a stage's demo accepts beyond `--tasks`, `--task` and `--quiet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flags {
    /// Stage 01: no pool, so no `--workers` or `--queue`; `--no-limit` above 10,000 tasks.
    Unbounded,
    /// Stage 02: `--workers`, but the queue is unbounded.
    Workers,
    /// Stages 04 and 05: `--workers` and `--queue`.
    WorkersAndQueue,
    /// Stage 03: `--workers`, `--queue`, and `--policy` for what to do when the queue is full.
    WorkersQueueAndPolicy,
    /// Stage 06: subcommands that print tables instead of a summary line.
    Sizing,
}

/// One stage of the workspace.
#[derive(Debug, PartialEq, Eq)]
pub struct Stage {
    /// Two-digit number, as in the `summary:` line.
    pub number: &'static str,
    /// Folder and binary name.
    pub bin: &'static str,
    /// Cargo package name.
    pub package: &'static str,
    /// Which flags its demo takes.
    pub flags: Flags,
}

/// A [`Stage`]: folder and binary `NUMBER-NAME`, package `stageNUMBER-NAME`.
macro_rules! stage {
    ($number:literal, $name:literal, $flags:ident) => {
        Stage {
            number: $number,
            bin: concat!($number, "-", $name),
            package: concat!("stage", $number, "-", $name),
            flags: Flags::$flags,
        }
    };
}

/// Every stage, in order.
pub static STAGES: [Stage; 6] = [
    stage!("01", "unbounded-spawn", Unbounded),
    stage!("02", "mutex-receiver-pool", Workers),
    stage!("03", "crossbeam-bounded", WorkersQueueAndPolicy),
    stage!("04", "results", WorkersAndQueue),
    stage!("05", "panic-resilient", WorkersAndQueue),
    stage!("06", "sizing", Sizing),
];

/// Looks a stage up by its number, which must exist.
pub fn stage(number: &str) -> &'static Stage {
    let found = STAGES.iter().find(|stage| stage.number == number);
    found.unwrap_or_else(|| panic!("no stage {number}"))
}

/// Which of cargo's builds of the stages to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `cargo build --release`: what the docs are measured with.
    Release,
    /// `cargo build`, as `cargo run --bin` and `cargo test` build the stages.
    Debug,
}

impl Profile {
    /// `release` or `debug`: its folder of the target directory.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

/// Where the workspace and its build output are.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The folder with the workspace's `Cargo.toml`.
    pub root: PathBuf,
    /// Cargo's target folder: `CARGO_TARGET_DIR` if set, else `<root>/target`.
    pub target: PathBuf,
    cargo: OsString,
}

impl Workspace {
    /// The workspace this tool was built in (two folders above its own manifest).
    pub fn locate() -> Self {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest
            .parent()
            .and_then(Path::parent)
            .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf);
        let target = match env::var_os("CARGO_TARGET_DIR") {
            // As cargo reads it; cargo gets the absolute path, so both agree wherever it runs.
            Some(dir) => std::path::absolute(dir).expect("a current directory"),
            None => root.join("target"),
        };
        // `cargo run` and `cargo test` tell their child which cargo they are.
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Workspace {
            root,
            target,
            cargo,
        }
    }

    /// Where the `profile` build of `bin` lands.
    pub fn binary(&self, bin: &str, profile: Profile) -> PathBuf {
        let file = format!("{bin}{}", env::consts::EXE_SUFFIX);
        self.target.join(profile.name()).join(file)
    }

    /// Builds `packages` in `profile`; returns cargo's first error line if that fails.
    fn build(&self, packages: &[&str], profile: Profile) -> Result<(), String> {
        let output = Command::new(&self.cargo)
            .args(["build", "--bins", "--quiet"])
            .args(packages.iter().flat_map(|package| ["-p", package]))
            .args((profile == Profile::Release).then_some("--release"))
            .env("CARGO_TARGET_DIR", &self.target)
            .current_dir(&self.root)
            .output()
            .map_err(|error| format!("cannot run cargo: {error}"))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first_error = stderr
            .lines()
            .find(|line| line.starts_with("error"))
            .unwrap_or("cargo build failed");
        Err(first_error.to_string())
    }

    /// Builds every stage in `profile` with one cargo invocation, and if that fails each on its
    /// own: a stage that is being edited must not stop the others. One result per stage.
    pub fn build_stages(&self, profile: Profile) -> Vec<Result<(), String>> {
        let packages: Vec<&str> = STAGES.iter().map(|stage| stage.package).collect();
        if self.build(&packages, profile).is_ok() {
            return vec![Ok(()); STAGES.len()];
        }
        let each = |stage: &Stage| self.build(&[stage.package], profile);
        STAGES.iter().map(each).collect()
    }

    /// Builds every stage and checks which are ready to be measured, calling `starting` before
    /// each check (for a progress display).
    pub fn prepare(&self, profile: Profile, mut starting: impl FnMut(&Stage)) -> Readiness {
        let mut ready = BTreeMap::new();
        for (stage, built) in STAGES.iter().zip(self.build_stages(profile)) {
            starting(stage);
            let built = built.map_err(|error| format!("does not build yet ({error})"));
            let checked = built.and_then(|()| self.check(stage, profile));
            ready.insert(stage.number, checked);
        }
        Readiness { ready }
    }

    fn check(&self, stage: &Stage, profile: Profile) -> Result<PathBuf, String> {
        let binary = self.binary(stage.bin, profile);
        if !binary.exists() {
            return Err(format!("has no binary at {}", binary.display()));
        }
        // The smallest run that shows whether a stage works: one instant task.
        let pool: &[&str] = match stage.flags {
            Flags::Sizing => return check_sizing(binary),
            Flags::Unbounded => &[],
            Flags::Workers => &["--workers", "1"],
            Flags::WorkersAndQueue | Flags::WorkersQueueAndPolicy => {
                &["--workers", "1", "--queue", "1"]
            }
        };
        let mut command = Command::new(&binary);
        command
            .args(["--tasks", "1", "--task", "sleep:0ns", "--quiet"])
            .args(pool);
        let smoke = probe::measure(command, Duration::from_secs(10))
            .map_err(|error| format!("cannot be started ({error})"))?;
        // Stage 05's demo makes its first task panic on purpose, so a panicked task counts.
        let ran = |s: &Summary| s.completed + s.panicked == 1;
        match smoke.failure() {
            None if smoke.summary.as_ref().is_some_and(ran) => Ok(binary),
            None => Err("ran one task but did not account for it".to_string()),
            Some(reason) => Err(format!("is not ready ({reason})")),
        }
    }
}

/// Stage 06 prints tables, not a summary line: it is ready once its help lists the two sweeps.
fn check_sizing(binary: PathBuf) -> Result<PathBuf, String> {
    let help = Command::new(&binary)
        .arg("--help")
        .output()
        .map_err(|error| format!("cannot be started ({error})"))?;
    let text = String::from_utf8_lossy(&help.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
    let has = |command| lines.iter().any(|line| line.starts_with(command));
    if help.status.success() && has("cpu") && has("io") {
        Ok(binary)
    } else {
        Err("is not ready (its --help lists no cpu and io subcommands)".to_string())
    }
}

/// Which stage binaries can be measured, and why the others cannot.
#[derive(Debug, Clone)]
pub struct Readiness {
    ready: BTreeMap<&'static str, Result<PathBuf, String>>,
}

impl Readiness {
    /// The binary of `stage`, or why it is not ready (e.g. it does not build yet).
    pub fn binary(&self, stage: &Stage) -> Result<&Path, &str> {
        match self.ready.get(stage.number) {
            Some(Ok(path)) => Ok(path),
            Some(Err(reason)) => Err(reason),
            None => Err("was not built"),
        }
    }

    /// One line per stage, for the start of a run.
    pub fn describe(&self) -> Vec<String> {
        STAGES
            .iter()
            .map(|stage| match self.binary(stage) {
                Ok(_) => format!("{}: ready", stage.bin),
                Err(reason) => format!("{}: not built yet: {reason}; skipped", stage.bin),
            })
            .collect()
    }
}
