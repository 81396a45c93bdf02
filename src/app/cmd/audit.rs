//! `audit`: the hazards a capture shows, with their verdicts; exit 3 when
//! any is found (files, or `-i IFACE` through the same inputs as the
//! other commands).

use crate::app::config::{AuditConfig, InputConfig};
use crate::app::emit::{emit, write_stdout};
use crate::app::inputs::{damaged, open_vantages};
use crate::app::progress::Progress;
use meetgraph::error::{Error, Status};
use meetgraph::output::audit::{write_audit, write_audit_json};
use meetgraph::time::TimeSpec;

pub fn run(input: &InputConfig, cfg: &AuditConfig) -> Result<Status, Error> {
    let until = match cfg.until {
        None => None,
        Some(TimeSpec::Absolute(t)) => Some(t),
        // Relative to the first message: a first pass finds it.
        Some(spec) => {
            let (mut opened, acfg) = open_vantages(input, None)?;
            let first = meetgraph::run::analyze(&mut opened.inputs, acfg);
            Some(spec.resolve(first.t0_us().unwrap_or(0)))
        }
    };
    let (mut opened, mut acfg) = open_vantages(input, None)?;
    acfg.until_us = until;
    let progress = Progress::start(input, &opened.bytes_read, false);
    let analysis = meetgraph::run::analyze_inputs_with(&mut opened.inputs, acfg, input.threads).0.finish();
    drop(progress);
    let mut status = damaged(&opened.inputs);
    let au = &analysis.audit;
    match cfg.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => write_stdout(|w| write_audit_json(w, au))?,
        Some(p) => {
            emit(p, |w| write_audit_json(w, au))?;
            write_stdout(|w| write_audit(w, au))?;
        }
        None => write_stdout(|w| write_audit(w, au))?,
    }
    if !au.hazards.is_empty() {
        status = status.max(Status::Hazards);
    }
    Ok(status)
}
