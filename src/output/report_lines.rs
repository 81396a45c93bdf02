//! Lines of `analyze`'s report that gather several facts: a first-screen
//! incident line (a collision with the handshakes through it) and the
//! damage as one time line.

use crate::analysis::Analysis;
use crate::analysis::NodeId;
use crate::analysis::screen::IncidentLine;
use crate::clusterbus::types::format_slot_ranges;
use crate::time::format_utc_us;

fn short_of(id: Option<&NodeId>, none: &str) -> String {
    id.map_or_else(|| none.to_string(), |x| x.short().into_owned())
}

pub(crate) fn evidence(e: &[crate::analysis::Evidence]) -> String {
    if e.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = e.iter().map(|x| format!("{}#{}", x.capture, x.frame)).collect();
    format!(" [{}]", parts.join(" "))
}

pub(crate) fn rel(a: &Analysis, ts: i64) -> String {
    let t0 = a.t0_us().unwrap_or(ts);
    format!("{} (+{:.3}s)", format_utc_us(ts), (ts - t0) as f64 / 1e6)
}

/// One first-screen incident line, its evidence cut to the frames kept.
pub fn incident_line(a: &Analysis, l: &IncidentLine) -> String {
    let handshakes = if l.handshakes.is_empty() {
        String::new()
    } else {
        format!("; handshake(s) through it: {}", l.handshakes.join("; "))
    };
    let ev = evidence(&l.evidence);
    let ev = if l.more_evidence > 0 { format!("{} +{} more]", ev.trim_end_matches(']'), l.more_evidence) } else { ev };
    format!("{}  {}: {}{handshakes}{ev}", rel(a, l.ts_us), l.kind, l.summary)
}

/// Role changes and slot moves, one time line.
pub fn damage_lines(a: &Analysis) -> Vec<String> {
    let mut lines: Vec<(i64, String)> = Vec::new();
    for r in &a.damage.role_changes {
        let of = r.replicaof.map(|x| format!(" of {}", x.short())).unwrap_or_default();
        lines.push((r.ts_us, format!("{} {} → {}{}{}", r.node.short(), r.from, r.to, of, evidence(&r.evidence))));
    }
    for m in &a.damage.slot_moves {
        let text = format!(
            "slots {} ({}) {} → {}{}",
            format_slot_ranges(&m.slots),
            m.count,
            short_of(m.from.as_ref(), "unassigned"),
            short_of(m.to.as_ref(), "nobody"),
            evidence(&m.evidence)
        );
        lines.push((m.ts_us, text));
    }
    lines.sort_by_key(|(ts, _)| *ts);
    lines.into_iter().map(|(ts, text)| format!("{}  {text}", rel(a, ts))).collect()
}
