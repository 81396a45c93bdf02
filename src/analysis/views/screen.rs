//! The first screen's incident findings: one line per event. A
//! `sender_mismatch` (a node dialled an address expecting one node and
//! another answered) and the `address_collision` on that address that
//! names both nodes describe one handshake: they become one line, the
//! collision's, listing the handshakes through it. Each line keeps its
//! first few evidence frames (every frame is in `--all` and the JSON).

use crate::analysis::model::{Analysis, Evidence, Finding, FindingKind, Severity};

/// Evidence frames kept on one first-screen line.
pub const EVIDENCE_SHOWN: usize = 4;

/// One line of the first screen's incident findings.
#[derive(Clone, Debug)]
pub struct IncidentLine {
    pub ts_us: i64,
    pub kind: FindingKind,
    pub summary: String,
    /// The handshakes folded into it (`dialler expecting X: Y answered`).
    pub handshakes: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// Frames not shown.
    pub more_evidence: usize,
}

/// `ip:port@cport` → `ip:cport`: the bus address a dial reached.
fn bus_address(dialled: &str) -> Option<String> {
    let (host, cport) = dialled.rsplit_once('@')?;
    let (ip, _) = host.rsplit_once(':')?;
    Some(format!("{ip}:{cport}"))
}

/// The collision (its index in `incident`) a mismatch is one handshake
/// with: same bus address, naming both the node expected and the node
/// that answered.
fn collision_of(m: &Finding, incident: &[&Finding]) -> Option<usize> {
    let (Some(expected), Some(answered)) = (m.nodes.get(1), m.nodes.get(2)) else { return None };
    let at = m.addresses.first().and_then(|a| bus_address(a))?;
    incident.iter().position(|c| {
        c.kind == FindingKind::AddressCollision
            && c.addresses.contains(&at)
            && c.nodes.contains(expected)
            && c.nodes.contains(answered)
    })
}

/// The incident-level findings, pairs that describe one handshake as one
/// line, in time order (a collision dated by its earliest handshake).
pub fn incident_lines(a: &Analysis) -> Vec<IncidentLine> {
    let incident: Vec<&Finding> = a.findings.iter().filter(|f| f.severity == Severity::Incident).collect();
    let line = |f: &Finding| IncidentLine {
        ts_us: f.ts_us,
        kind: f.kind,
        summary: f.summary.clone(),
        handshakes: Vec::new(),
        evidence: f.evidence.clone(),
        more_evidence: 0,
    };
    // (index of the finding in `incident`, its line).
    let mut lines: Vec<(usize, IncidentLine)> = Vec::new();
    for (i, f) in incident.iter().enumerate() {
        let folded = if f.kind == FindingKind::SenderMismatch { collision_of(f, &incident) } else { None };
        let Some(c) = folded else {
            if !lines.iter().any(|(k, _)| *k == i) {
                lines.push((i, line(f)));
            }
            continue;
        };
        let at = match lines.iter().position(|(k, _)| *k == c) {
            Some(p) => p,
            None => {
                lines.push((c, line(incident[c])));
                lines.len() - 1
            }
        };
        if let Some((_, l)) = lines.get_mut(at) {
            let n = |k: usize| f.nodes.get(k).map(|x| x.short().into_owned()).unwrap_or_default();
            l.handshakes.push(format!("{} expecting {}: {} answered", n(0), n(1), n(2)));
            l.ts_us = l.ts_us.min(f.ts_us);
            for e in &f.evidence {
                if !l.evidence.contains(e) {
                    l.evidence.push(e.clone());
                }
            }
        }
    }
    let mut out: Vec<IncidentLine> = lines.into_iter().map(|(_, l)| l).collect();
    for l in &mut out {
        l.more_evidence = l.evidence.len().saturating_sub(EVIDENCE_SHOWN);
        l.evidence.truncate(EVIDENCE_SHOWN);
    }
    out.sort_by_key(|l| l.ts_us);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::NodeId;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn f(kind: FindingKind, ts: i64, nodes: Vec<NodeId>, addr: &str) -> Finding {
        let mut f = Finding::about(kind, ts, nodes, format!("{kind} {ts}"), vec![]);
        f.addresses = vec![addr.into()];
        f.severity = Severity::Incident;
        f
    }

    #[test]
    fn a_mismatch_and_the_collision_naming_both_nodes_are_one_line() {
        let (d, x, y) = (id(b'd'), id(b'x'), id(b'y'));
        let c = f(FindingKind::AddressCollision, 20, vec![x, y], "10.0.0.5:17000");
        let m = f(FindingKind::SenderMismatch, 10, vec![d, x, y], "10.0.0.5:7000@17000");
        // Another address: its own line.
        let other = f(FindingKind::SenderMismatch, 30, vec![d, x, y], "10.0.0.6:7000@17000");
        assert_eq!(bus_address("10.0.0.5:7000@17000").as_deref(), Some("10.0.0.5:17000"));
        assert_eq!(collision_of(&m, &[&m, &c]), Some(1));
        assert!(collision_of(&other, &[&c]).is_none());
        let z = id(b'z');
        let not_named = f(FindingKind::SenderMismatch, 31, vec![d, x, z], "10.0.0.5:7000@17000");
        assert!(collision_of(&not_named, &[&c]).is_none());
    }
}
