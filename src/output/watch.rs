//! `watch` output: one line per event (colour for alerts on a terminal),
//! or one JSON object per line. Formatting only: the events come from
//! `analysis::alerts`.

use super::printable::printable;
use crate::analysis::Severity;
use crate::analysis::alerts::{Alert, RevisionKind};
use crate::time::format_utc_us;
use std::io::{self, Write};

/// Whether to colour: a terminal, and `NO_COLOR` unset or empty.
pub fn use_colour(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One line: time, severity, kind, summary, evidence. A correction of an
/// event told before is a `REVISED` line: the event as it now stands and
/// what changed, or `withdrawn:` and the event as it was told.
pub fn write_alert(w: &mut dyn Write, a: &Alert, colour: bool) -> io::Result<()> {
    let (label, on) = match (&a.revised, a.severity) {
        (Some(_), _) => ("REVISED ", "\x1b[1;35m"),
        (None, Severity::Incident) => ("INCIDENT", "\x1b[1;31m"),
        (None, Severity::Warning) => ("warning ", "\x1b[33m"),
        (None, Severity::Info) => ("info    ", "\x1b[2m"),
    };
    let evidence: Vec<String> =
        a.evidence.iter().take(6).map(|e| format!("{}#{}", printable(e.capture), e.frame)).collect();
    let evidence = if evidence.is_empty() { String::new() } else { format!(" [{}]", evidence.join(" ")) };
    let (on, off) = if colour { (on, "\x1b[0m") } else { ("", "") };
    let summary = match &a.revised {
        None => printable(&a.summary).into_owned(),
        Some(r) if r.what == RevisionKind::Withdrawn => {
            format!("withdrawn: {} (told at {})", printable(&a.summary), when(r.was_ts_us))
        }
        Some(r) if r.what == RevisionKind::Cleared => {
            format!("cleared: {} (told at {})", printable(&a.summary), when(r.was_ts_us))
        }
        Some(r) => format!(
            "{} (told at {}; now {}: {})",
            printable(&a.summary),
            when(r.was_ts_us),
            a.severity,
            printable(&r.changes.join("; "))
        ),
    };
    let kind = a.kind;
    writeln!(w, "{}  {on}{label}  {kind}{off}  {summary}{evidence}", when(a.ts_us))
}

/// A time, or `-` for an event the captures show no time for.
fn when(ts_us: Option<i64>) -> String {
    ts_us.map_or_else(|| "-".into(), format_utc_us)
}

/// One JSON object per line (`--json-events`).
pub fn write_alert_json(w: &mut dyn Write, a: &Alert) -> io::Result<()> {
    let line = serde_json::to_string(a).map_err(io::Error::other)?;
    writeln!(w, "{line}")
}
