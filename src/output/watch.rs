//! `watch` output: one line per event (colour for alerts on a terminal),
//! or one JSON object per line. Formatting only: the events come from
//! `analysis::alerts`.

use super::printable::printable;
use crate::analysis::Severity;
use crate::analysis::alerts::Alert;
use crate::time::format_utc_us;
use std::io::{self, Write};

/// Whether to colour: a terminal, and `NO_COLOR` unset or empty.
pub fn use_colour(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One line: time, severity, kind, summary, evidence.
pub fn write_alert(w: &mut dyn Write, a: &Alert, colour: bool) -> io::Result<()> {
    let (label, on) = match a.severity {
        Severity::Incident => ("INCIDENT", "\x1b[1;31m"),
        Severity::Warning => ("warning ", "\x1b[33m"),
        Severity::Info => ("info    ", "\x1b[2m"),
    };
    let evidence: Vec<String> =
        a.evidence.iter().take(6).map(|e| format!("{}#{}", printable(&e.capture), e.frame)).collect();
    let evidence = if evidence.is_empty() { String::new() } else { format!(" [{}]", evidence.join(" ")) };
    let (on, off) = if colour { (on, "\x1b[0m") } else { ("", "") };
    writeln!(w, "{}  {on}{label}  {}{off}  {}{evidence}", format_utc_us(a.ts_us), a.kind, printable(&a.summary))
}

/// One JSON object per line (`--json-events`).
pub fn write_alert_json(w: &mut dyn Write, a: &Alert) -> io::Result<()> {
    let line = serde_json::to_string(a).map_err(io::Error::other)?;
    writeln!(w, "{line}")
}
