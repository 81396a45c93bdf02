//! The incident as the timeline draws it, whatever its kind: its window
//! (first evidence of trouble to last damage), one note per incident
//! finding (the chart's lettered list), and the shapes that tell each kind
//! (a failed master's unserved slots, a reused address, a cloned id's
//! flapping address, an encrypted bus's bursts of new connections). Read
//! from the model's typed facts only.

use crate::analysis::model::{Analysis, FindingKind, NodeId, Phase, Severity};
use crate::clusterbus::types::format_slot_ranges;
use crate::time::format_utc_us;
use serde::Serialize;

/// `HH:MM:SS.mmm` (UTC) of `ts`.
pub fn hms(ts: i64) -> String {
    let s = format_utc_us(ts);
    s.get(11..23).unwrap_or(&s).to_string()
}

/// One moment that bounds the incident, and what happened then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Moment {
    pub ts_us: i64,
    pub what: String,
}

/// The incident's extent: its first evidence of trouble and its last
/// damage (`None` when the captures hold no incident).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentSpan {
    pub first: Moment,
    pub last: Moment,
}

/// Every moment of the incident, as (ts, what, may start it, may end it).
fn moments(a: &Analysis) -> Vec<(i64, String, bool, bool)> {
    let short = |n: &NodeId| n.short().into_owned();
    let heard = |n: &NodeId| a.nodes.iter().find(|x| x.id == *n).map(|x| x.last_seen_us);
    let mut v: Vec<(i64, String, bool, bool)> = Vec::new();
    for (k, m) in a.merges.iter().enumerate() {
        let label = if a.merges.len() > 1 { format!("merge {}", k + 1) } else { "the merge".into() };
        if let Some(i) = m.chain.first() {
            v.push((i.ts_us, format!("the first step of {label}'s chain"), true, false));
        }
        for i in &m.chain {
            v.push((i.ts_us, format!("a step of {label}'s chain"), false, true));
        }
        v.push((m.ts_us, label, true, true));
    }
    let mut generic = Vec::new();
    for f in a.findings.iter().filter(|f| f.phase != Phase::Setup) {
        let who = f.nodes.first().map(short).unwrap_or_default();
        let specific = matches!(
            f.kind,
            FindingKind::NodeFailed | FindingKind::Failover | FindingKind::IdConflict | FindingKind::AddressReuse
        );
        let what = match f.kind {
            FindingKind::NodeFailed => format!("{who} declared FAIL"),
            FindingKind::Failover => format!("{who} promoted"),
            FindingKind::IdConflict => format!("a second instance of {who} speaks"),
            FindingKind::AddressReuse => {
                format!("{} answers at {}", f.nodes.get(1).map(short).unwrap_or_default(), f.addresses.join(", "))
            }
            k => match f.nodes.as_slice() {
                [] => k.to_string(),
                [n, ..] => format!("{k} of {}", short(n)),
            },
        };
        if specific { &mut v } else { &mut generic }.push((f.ts_us, what, true, true));
        match f.kind {
            // Trouble began when the node fell silent.
            FindingKind::NodeFailed | FindingKind::AddressReuse => {
                if let Some(n) = f.nodes.first()
                    && let Some(t) = heard(n).filter(|t| *t < f.ts_us)
                {
                    v.push((t, format!("{who}'s last message"), true, false));
                }
            }
            FindingKind::IdConflict if f.severity == Severity::Incident => {
                v.push((f.last_ts_us, format!("{who}'s address still flapping"), false, true));
            }
            _ => {}
        }
    }
    v.extend(generic);
    for r in a.damage.role_changes.iter().filter(|r| r.phase != Phase::Setup) {
        v.push((r.ts_us, format!("{} became {}", short(&r.node), r.to), true, true));
    }
    for m in a.damage.slot_moves.iter().filter(|m| m.phase != Phase::Setup) {
        let to = m.to.as_ref().map_or_else(|| "nobody".into(), short);
        v.push((m.ts_us, format!("slots {} went to {to}", format_slot_ranges(&m.slots)), true, true));
    }
    let after_quiet = a.coverage.bursts.iter().any(|b| b.quiet_before_us.is_some());
    for b in a.coverage.bursts.iter().filter(|b| !after_quiet || b.quiet_before_us.is_some()) {
        v.push((b.ts_us, "new encrypted bus connections".into(), true, false));
        v.push((b.last_ts_us, "the last of those connections".into(), false, true));
    }
    v
}

/// The incident's first evidence of trouble and last damage.
pub fn incident_span(a: &Analysis) -> Option<IncidentSpan> {
    let v = moments(a);
    // At one moment, the first listed says it best (merges, failures,
    // conflicts before the generic kinds).
    let first = v.iter().filter(|m| m.2).min_by_key(|m| m.0)?;
    let last = v.iter().rev().filter(|m| m.3).max_by_key(|m| m.0)?;
    Some(IncidentSpan {
        first: Moment { ts_us: first.0, what: first.1.clone() },
        last: Moment { ts_us: last.0, what: last.1.clone() },
    })
}

/// A finding (or burst) the chart lists, lettered like its marks.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentNote {
    /// `A`, `B`, … as on the marks.
    pub tag: String,
    pub ts_us: i64,
    /// The finding's kind (`encrypted_burst` for a burst).
    pub kind: String,
    /// One line, naming what the report's finding names.
    pub text: String,
}

/// The letter tag of the `k`-th note: `A`…`Z`, then `AA`, `AB`, ….
pub fn tag(k: usize) -> String {
    let letter = |i: usize| char::from(b'A' + (i % 26) as u8);
    if k < 26 { letter(k).to_string() } else { format!("{}{}", letter(k / 26 - 1), letter(k % 26)) }
}

/// What a failover left unserved: the slots that went from the failed
/// master to its successor and the time from its last message to the
/// promotion.
pub struct Unserved {
    pub failed: NodeId,
    pub successor: Option<NodeId>,
    pub from_us: i64,
    pub to_us: Option<i64>,
    pub slots: String,
}

/// Masters that failed: from their last message to their successor's
/// promotion (or on, when nobody was promoted).
pub fn unserved(a: &Analysis) -> Vec<Unserved> {
    let mut out = Vec::new();
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::NodeFailed) {
        let Some(failed) = f.nodes.first() else { continue };
        let Some(n) = a.nodes.iter().find(|n| n.id == *failed) else { continue };
        let promotion = a.findings.iter().find(|p| p.kind == FindingKind::Failover && p.nodes.get(1) == Some(failed));
        let successor = promotion.and_then(|p| p.nodes.first().copied());
        let moved: Vec<String> = a
            .damage
            .slot_moves
            .iter()
            .filter(|m| m.from.as_ref() == Some(failed) && (successor.is_none() || m.to == successor))
            .map(|m| format_slot_ranges(&m.slots))
            .collect();
        let slots = if moved.is_empty() && !n.slots_last.is_empty() {
            format_slot_ranges(&n.slots_last)
        } else {
            moved.join(",")
        };
        if slots.is_empty() || slots == "-" {
            continue;
        }
        out.push(Unserved {
            failed: *failed,
            successor,
            from_us: n.last_seen_us.min(f.ts_us),
            to_us: promotion.map(|p| p.ts_us),
            slots,
        });
    }
    out
}

/// The chart's notes: every incident-level finding and failover, and the
/// encrypted bursts that began after a quiet time, in time order.
pub fn notes(a: &Analysis) -> Vec<(i64, String, String, Vec<NodeId>)> {
    let short = |n: &NodeId| n.short().into_owned();
    let heard = |n: &NodeId| a.nodes.iter().find(|x| x.id == *n).map(|x| x.last_seen_us);
    let ids = |v: &[NodeId]| v.iter().map(short).collect::<Vec<_>>();
    let mut out = Vec::new();
    let failovers = unserved(a);
    for f in &a.findings {
        let listed = f.severity == Severity::Incident || f.kind == FindingKind::Failover;
        if !listed {
            continue;
        }
        let n = ids(&f.nodes);
        let node = |k: usize| n.get(k).cloned().unwrap_or_else(|| "?".into());
        let text = match f.kind {
            FindingKind::AddressCollision => {
                format!("ADDRESS COLLISION at {}: answered by {}", f.addresses.join(", "), n.join(" and "))
            }
            FindingKind::SenderMismatch => format!(
                "ANSWERED BY ANOTHER NODE: {} dialled {} at {}; {} answered{}",
                node(0),
                node(1),
                f.addresses.join(", "),
                node(2),
                if f.count > 1 { format!(" ({} times to {})", f.count, hms(f.last_ts_us)) } else { String::new() }
            ),
            FindingKind::NodeFailed => {
                let silent = f.nodes.first().and_then(heard).filter(|t| *t < f.ts_us);
                format!(
                    "FAIL: {}{} declared FAIL by {}",
                    node(0),
                    silent.map(|t| format!(" silent since {},", hms(t))).unwrap_or_default(),
                    node(1)
                )
            }
            FindingKind::Failover => {
                let u = failovers.iter().find(|u| f.nodes.get(1) == Some(&u.failed));
                let gap = u.map(|u| {
                    format!(
                        "; slots {} unserved {:.1} s (last message {} → promotion)",
                        u.slots,
                        (f.ts_us - u.from_us) as f64 / 1e6,
                        hms(u.from_us)
                    )
                });
                format!("FAILOVER: {} promoted, replacing failed {}{}", node(0), node(1), gap.unwrap_or_default())
            }
            FindingKind::IdConflict => {
                let c = a.id_conflicts.iter().find(|c| f.nodes.first() == Some(&c.node));
                let flaps = c
                    .filter(|c| c.address_changes > 0)
                    .map(|c| format!("; its address changed {} times in peers' views", c.address_changes));
                format!(
                    "ID CONFLICT: {} claimed by {} instances, at {}{}",
                    node(0),
                    f.addresses.len(),
                    f.addresses.join(" and "),
                    flaps.unwrap_or_default()
                )
            }
            FindingKind::AddressReuse => {
                let gone = f.nodes.first().and_then(heard);
                format!(
                    "ADDRESS REUSE at {}: {} (last message {}) → {} answers there from {}",
                    f.addresses.join(", "),
                    node(0),
                    gone.map(hms).unwrap_or_else(|| "?".into()),
                    node(1),
                    hms(f.ts_us)
                )
            }
            k => format!("{}: {}", k.as_str().to_uppercase().replace('_', " "), n.join(", ")),
        };
        out.push((f.ts_us, f.kind.as_str().to_string(), text, f.nodes.clone()));
    }
    for b in a.coverage.bursts.iter().filter(|b| b.quiet_before_us.is_some()) {
        let quiet = b.quiet_before_us.map(|q| format!(" after {:.1} s without any", q as f64 / 1e6));
        out.push((
            b.ts_us,
            "encrypted_burst".into(),
            format!(
                "ENCRYPTED: {} new bus connection(s) (stream directions){} to {}",
                b.stream_directions,
                quiet.unwrap_or_default(),
                b.servers.join(", ")
            ),
            Vec::new(),
        ));
    }
    out.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
    out
}
