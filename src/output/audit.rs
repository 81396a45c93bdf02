//! `audit`'s text and JSON, and "What to do now" as the report and the
//! HTML end with (formatting only: the analysis decided every word).

use crate::analysis::{Analysis, Audit, Evidence, WhatToDo};
use crate::output::printable::{printable, xml_escape};
use crate::time::format_utc_us;
use serde::Serialize;
use std::io::{self, Write};

fn evidence(e: &[Evidence]) -> String {
    e.iter().map(|x| format!("{}#{}", x.capture, x.frame)).collect::<Vec<_>>().join(" ")
}

/// `audit`'s report: every hazard with its verdict, then the notes.
pub fn write_audit(w: &mut dyn Write, au: &Audit) -> io::Result<()> {
    let versions: Vec<String> = au.versions_seen.iter().map(|(g, n)| format!("{g} ({n} node(s))")).collect();
    writeln!(w, "Server versions seen: {}", if versions.is_empty() { "none".into() } else { versions.join(", ") })?;
    if au.hazards.is_empty() {
        writeln!(w, "No hazard found.")?;
    } else {
        writeln!(w, "{} hazard(s):", au.hazards.len())?;
    }
    for (k, h) in au.hazards.iter().enumerate() {
        writeln!(w)?;
        writeln!(w, "{}. [{}] {} since {}", k + 1, h.severity, h.kind, format_utc_us(h.since_us))?;
        writeln!(w, "   {}", printable(&h.summary))?;
        writeln!(w, "   verdict on the versions seen: {}: {}", h.verdict, printable(&h.verdict_why))?;
        writeln!(w, "   can merge on: {}", h.applies_to)?;
        for (i, f) in h.fix.iter().enumerate() {
            let lead = if i == 0 { "   fix: " } else { "        " };
            writeln!(w, "{lead}{}", printable(f))?;
        }
        writeln!(w, "   evidence: {}", evidence(&h.evidence))?;
    }
    for n in &au.notes {
        writeln!(w)?;
        writeln!(w, "Note: {}", printable(n))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct AuditJson<'a> {
    schema_version: u32,
    #[serde(flatten)]
    audit: &'a Audit,
}

pub fn write_audit_json(w: &mut dyn Write, au: &Audit) -> io::Result<()> {
    let doc = AuditJson { schema_version: crate::analysis::SCHEMA_VERSION, audit: au };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}

/// The report's last section (after its heading).
pub fn write_what_to_do(w: &mut dyn Write, t: &WhatToDo) -> io::Result<()> {
    for (k, s) in t.steps.iter().enumerate() {
        writeln!(w, "{}. {}", k + 1, printable(&s.what))?;
        for c in &s.commands {
            writeln!(w, "     {}", printable(c))?;
        }
    }
    if !t.cannot_undo.is_empty() {
        writeln!(w, "What cannot be undone:")?;
        for c in &t.cannot_undo {
            writeln!(w, "- {}", printable(c))?;
        }
    }
    Ok(())
}

/// The HTML report's last section.
pub fn write_what_to_do_html(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let t = &a.what_to_do_now;
    writeln!(w, "<h2>What to do now</h2><ol id=\"what-to-do\">")?;
    for s in &t.steps {
        write!(w, "<li>{}", xml_escape(&s.what))?;
        if !s.commands.is_empty() {
            let cmds: Vec<String> = s.commands.iter().map(|c| xml_escape(c)).collect();
            write!(w, "<pre style=\"white-space:pre-wrap;overflow-wrap:anywhere\">{}</pre>", cmds.join("\n"))?;
        }
        writeln!(w, "</li>")?;
    }
    writeln!(w, "</ol>")?;
    if !t.cannot_undo.is_empty() {
        writeln!(w, "<h3>What cannot be undone</h3><ul>")?;
        for c in &t.cannot_undo {
            writeln!(w, "<li>{}</li>", xml_escape(c))?;
        }
        writeln!(w, "</ul>")?;
    }
    Ok(())
}
