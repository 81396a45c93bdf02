//! What joins lanes and what shades them: introductions (arrows, the
//! merge chain numbered as in the report), a failed master's unserved
//! slots and its successor's promotion, a cloned id's instances and the
//! flapping of its address, an address passing from a silent node to
//! another, encrypted traffic to a bus port.

use super::lanes::Ctx;
use super::{Arrow, ChainStep, Join, JoinKind, Span, SpanKind};
use crate::analysis::model::{FindingKind, NodeId};
use crate::analysis::views::incident;
use std::collections::{BTreeMap, BTreeSet};

/// Introductions seen happen, in the window (every time seen goes to
/// `times`).
pub(super) fn arrows(cx: &Ctx<'_>, times: &mut Vec<i64>) -> Vec<Arrow> {
    let a = cx.a;
    let chain: BTreeSet<(NodeId, NodeId)> =
        a.merges.iter().flat_map(|m| m.chain.iter().map(|i| (i.learner, i.node))).collect();
    let mut steps: BTreeMap<(i64, NodeId, NodeId), ChainStep> = BTreeMap::new();
    for (k, m) in a.merges.iter().enumerate() {
        for (s, i) in m.chain.iter().enumerate() {
            let step = ChainStep { merge: (a.merges.len() > 1).then_some(k + 1), step: s + 1 };
            steps.entry((i.ts_us, i.learner, i.node)).or_insert(step);
        }
    }
    let mut arrows = Vec::new();
    for i in a.introductions.iter().filter(|i| !i.via.is_hearsay()) {
        times.push(i.ts_us);
        let from = i.introducer.unwrap_or(i.node);
        if let (true, Some(f), Some(t)) = (cx.inside(i.ts_us), cx.lane_of(&from), cx.lane_of(&i.learner)) {
            arrows.push(Arrow {
                ts_us: i.ts_us,
                from_lane: f,
                to_lane: t,
                via: i.via,
                in_chain: chain.contains(&(i.learner, i.node)),
                step: steps.get(&(i.ts_us, i.learner, i.node)).copied(),
            });
        }
    }
    arrows
}

fn span(
    kind: SpanKind,
    lane: usize,
    other_lane: Option<usize>,
    from_us: i64,
    to_us: i64,
    count: u64,
    label: String,
) -> Span {
    Span { kind, lane, other_lane, from_us, to_us, count, label }
}

fn join(kind: JoinKind, from: (usize, i64), to: (usize, i64), label: String) -> Join {
    Join { kind, from_lane: from.0, from_us: from.1, to_lane: to.0, to_us: to.1, label }
}

/// The spans and connectors that meet the window.
pub(super) fn spans_and_joins(cx: &Ctx<'_>) -> (Vec<Span>, Vec<Join>) {
    let a = cx.a;
    let mut spans = Vec::new();
    let mut joins = Vec::new();
    for u in incident::unserved(a) {
        let Some(failed) = cx.lane_of(&u.failed) else { continue };
        let to = u.to_us.unwrap_or(cx.t1).max(u.from_us);
        if cx.overlaps(u.from_us, to) {
            let how_long = match u.to_us {
                Some(p) => format!("{:.1} s", (p - u.from_us) as f64 / 1e6),
                None => "no replica promoted".into(),
            };
            let label = format!("slots {} unserved ({how_long})", u.slots);
            spans.push(span(SpanKind::Unserved, failed, None, u.from_us, to, 0, label));
        }
        if let (Some(s), Some(p)) = (u.successor, u.to_us)
            && let Some(succ) = cx.lane_of(&s)
            && cx.inside(p)
        {
            let label = format!("{} replaces {}", s.short(), u.failed.short());
            joins.push(join(JoinKind::Promotion, (failed, p), (succ, p), label));
        }
    }
    for c in &a.id_conflicts {
        let (Some(&first), Some(&second)) = (cx.lanes_of(&c.node).first(), cx.lanes_of(&c.node).get(1)) else {
            continue;
        };
        if cx.inside(c.began_us) {
            let label = format!("same id {}", c.node.short());
            joins.push(join(JoinKind::SameId, (first, c.began_us), (second, c.began_us), label));
        }
        for e in c.flapping.iter().filter(|e| cx.overlaps(e.first_ts_us, e.last_ts_us)) {
            let label = format!("{} address changes in peers' views", e.changes);
            spans.push(span(SpanKind::Flapping, first, Some(second), e.first_ts_us, e.last_ts_us, e.changes, label));
        }
    }
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::AddressReuse) {
        if let [old, new, ..] = f.nodes.as_slice()
            && let (Some(from), Some(to)) = (cx.lane_of(old), cx.lane_of(new))
        {
            let gone = cx.last_heard(old).unwrap_or(f.ts_us).min(f.ts_us);
            if cx.overlaps(gone, f.ts_us) {
                let label = format!("{} reused", f.addresses.join(", "));
                joins.push(join(JoinKind::ReusedAddress, (from, gone), (to, f.ts_us), label));
            }
        }
    }
    for f in a.coverage.encrypted.iter().filter(|f| f.likely_bus.is_some()) {
        if let Some(l) = cx.port_lane(&f.server)
            && cx.overlaps(f.first_ts_us, f.last_ts_us)
        {
            let label = format!("{} → {}: {} connection(s), {} bytes", f.client, f.server, f.connections, f.bytes);
            spans.push(span(SpanKind::Encrypted, l, None, f.first_ts_us, f.last_ts_us, f.connections, label));
        }
    }
    (spans, joins)
}
