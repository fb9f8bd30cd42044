//! `sizing`: stage 06's own sweeps over pool sizes, one for CPU work and one for IO work, drawn
//! as curves.

use super::{Options, Report, Scenario};
use crate::stages::{Readiness, stage};

/// Runs stage 06's sweeps, or says why it cannot yet.
pub fn run(ready: &Readiness, _options: Options) -> Report {
    let sizing = stage("06");
    let body = match ready.binary(sizing) {
        Err(reason) => format!("- `{}`: not built yet: {reason}; skipped\n", sizing.bin),
        Ok(_) => "- stage 06 is built, but this version of measure cannot read its tables yet\n"
            .to_string(),
    };
    Report {
        scenario: Scenario::Sizing,
        body,
        chart: None,
        runs: Vec::new(),
    }
}
