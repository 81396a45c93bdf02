//! Markers: each node's first message, MEETs, answers by another node,
//! and a mark per incident finding in the lane of each node it names
//! (a failed node's last message, FAIL and who sent it, a promotion, a
//! collision, an id conflict on each instance, a reused address), role
//! and slot changes, new encrypted connections on their ports. The
//! incident's notes, lettered in time order: their marks carry the letter.

use super::lanes::Ctx;
use super::{Burst, Marker, MarkerKind};
use crate::analysis::model::{FindingKind, NodeId, Severity, Via};
use crate::analysis::views::incident::{self, IncidentNote};

/// The notes in the window, lettered in time order.
pub(super) fn notes(cx: &Ctx<'_>) -> Vec<IncidentNote> {
    incident::notes(cx.a)
        .into_iter()
        .filter(|n| cx.inside(n.0))
        .enumerate()
        .map(|(k, (ts_us, kind, text, _))| IncidentNote { tag: incident::tag(k), ts_us, kind, text })
        .collect()
}

/// Markers collected for the window (every time seen goes to `times`).
struct Marks<'c, 'a> {
    cx: &'c Ctx<'a>,
    out: Vec<Marker>,
    times: &'c mut Vec<i64>,
}

impl Marks<'_, '_> {
    fn push(&mut self, ts: i64, lane: Option<usize>, kind: MarkerKind, label: String, note: Option<String>) {
        self.times.push(ts);
        if let Some(lane) = lane
            && self.cx.inside(ts)
        {
            self.out.push(Marker { ts_us: ts, lane, kind, label, note });
        }
    }

    /// The same mark on the lanes of `nodes`, the note's tag on the
    /// `tagged`-th.
    fn on_each(
        &mut self,
        ts: i64,
        lanes: Vec<Option<usize>>,
        kind: MarkerKind,
        label: &str,
        tag: Option<&String>,
        tagged: usize,
    ) {
        for (k, l) in lanes.into_iter().enumerate() {
            self.push(ts, l, kind, label.to_string(), tag.filter(|_| k == tagged).cloned());
        }
    }
}

/// Every marker in the window, in time and lane order.
pub(super) fn markers(cx: &Ctx<'_>, notes: &[IncidentNote], times: &mut Vec<i64>) -> Vec<Marker> {
    let a = cx.a;
    let mut m = Marks { cx, out: Vec::new(), times };
    for n in &a.nodes {
        m.push(n.first_seen_us, cx.lane_of(&n.id), MarkerKind::FirstContact, format!("{} first seen", n.short), None);
    }
    for i in &a.introductions {
        let (kind, label) = match i.via {
            Via::OperatorMeet => (MarkerKind::MeetSent, format!("MEET to {}", i.node.short())),
            Via::Meet => (MarkerKind::MeetReceived, format!("MEET from {}", i.node.short())),
            Via::Gossip => match i.answered_by_other() {
                Some((w, n)) => (MarkerKind::AnsweredByOther, format!("{} answered for {}", w.short(), n.short())),
                None => continue,
            },
            Via::MeetGossip | Via::Prior | Via::Unobserved => continue,
        };
        m.push(i.ts_us, cx.lane_of(&i.learner), kind, label, None);
    }
    let tag_of = |ts: i64, kind: &str| notes.iter().find(|n| n.ts_us == ts && n.kind == kind).map(|n| n.tag.clone());
    for f in &a.findings {
        let tag = tag_of(f.ts_us, f.kind.as_str());
        let lanes = |ns: &[NodeId]| ns.iter().map(|n| cx.lane_of(n)).collect::<Vec<_>>();
        let short = |k: usize| f.nodes.get(k).map(|n| n.short().into_owned()).unwrap_or_default();
        match f.kind {
            FindingKind::NodeFailed => {
                if let Some(n) = f.nodes.first() {
                    if let Some(t) = cx.last_heard(n).filter(|t| *t < f.ts_us) {
                        m.push(t, cx.lane_of(n), MarkerKind::LastHeard, format!("{} last message", short(0)), None);
                    }
                    m.push(
                        f.ts_us,
                        cx.lane_of(n),
                        MarkerKind::Fail,
                        format!("{} declared FAIL", short(0)),
                        tag.clone(),
                    );
                }
                let label = format!("{} sent FAIL about {}", short(1), short(0));
                m.on_each(
                    f.ts_us,
                    lanes(f.nodes.get(1..).unwrap_or_default()),
                    MarkerKind::FailReported,
                    &label,
                    None,
                    0,
                );
            }
            FindingKind::Failover => {
                m.on_each(
                    f.ts_us,
                    lanes(&f.nodes[..f.nodes.len().min(1)]),
                    MarkerKind::Failover,
                    &format!("{} promoted", short(0)),
                    tag.as_ref(),
                    0,
                );
            }
            FindingKind::SenderMismatch if f.nodes.len() == 3 => {
                let label = format!("{} dialled {}; {} answered", short(0), short(1), short(2));
                // A rejected answer marks the dialler; an adopted one all three.
                let named = if f.severity == Severity::Incident { &f.nodes[..] } else { &f.nodes[..1] };
                m.on_each(f.ts_us, lanes(named), MarkerKind::AnsweredByOther, &label, tag.as_ref(), 0);
            }
            FindingKind::AddressCollision if f.severity == Severity::Incident => {
                let label = format!("{} answered by {} nodes", f.addresses.join(", "), f.nodes.len());
                m.on_each(f.ts_us, lanes(&f.nodes), MarkerKind::Collision, &label, tag.as_ref(), 0);
            }
            FindingKind::IdConflict => {
                let label = format!("{} claimed by {} instances", short(0), f.addresses.len());
                let all: Vec<Option<usize>> =
                    f.nodes.first().map(|n| cx.lanes_of(n).iter().map(|l| Some(*l)).collect()).unwrap_or_default();
                m.on_each(f.ts_us, all, MarkerKind::IdConflict, &label, tag.as_ref(), 1);
            }
            FindingKind::AddressReuse => {
                let label = format!("{} reused", f.addresses.join(", "));
                m.on_each(f.ts_us, lanes(&f.nodes), MarkerKind::AddressReuse, &label, tag.as_ref(), 1);
            }
            _ => {}
        }
    }
    for r in &a.damage.role_changes {
        m.push(r.ts_us, cx.lane_of(&r.node), MarkerKind::RoleChange, format!("{} → {}", r.from, r.to), None);
    }
    for s in &a.damage.slot_moves {
        if let Some(to) = &s.to {
            m.push(s.ts_us, cx.lane_of(to), MarkerKind::SlotChange, format!("+{} slots", s.count), None);
        }
        if let Some(from) = &s.from {
            m.push(s.ts_us, cx.lane_of(from), MarkerKind::SlotChange, format!("-{} slots", s.count), None);
        }
    }
    for b in &a.coverage.bursts {
        let tag = tag_of(b.ts_us, "encrypted_burst");
        let lanes: Vec<Option<usize>> = b.servers.iter().map(|s| cx.port_lane(s)).collect();
        m.on_each(b.ts_us, lanes, MarkerKind::NewConnections, "new encrypted connections", tag.as_ref(), 0);
    }
    let mut out = m.out;
    out.sort_by(|x, y| (x.ts_us, x.lane, x.kind.as_str()).cmp(&(y.ts_us, y.lane, y.kind.as_str())));
    out.dedup_by(|x, y| {
        let same = x.ts_us == y.ts_us && x.lane == y.lane && x.kind == y.kind;
        if same && y.note.is_none() {
            y.note = x.note.take();
        }
        same
    });
    out
}

/// The bursts of new encrypted connections that meet the window (after
/// a quiet time, when any burst was).
pub(super) fn bursts(cx: &Ctx<'_>) -> Vec<Burst> {
    let all = &cx.a.coverage.bursts;
    let quiet_only = all.iter().any(|b| b.quiet_before_us.is_some());
    all.iter()
        .filter(|b| cx.overlaps(b.ts_us, b.last_ts_us))
        .map(|b| Burst {
            from_us: b.ts_us,
            to_us: b.last_ts_us,
            connections: b.connections,
            servers: b.servers.len(),
            quiet_before_us: b.quiet_before_us.filter(|_| quiet_only),
        })
        .collect()
}
