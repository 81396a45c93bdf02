//! Assembling the [`Analysis`] once every event is in: the clusters as they
//! were before anything happened, node summaries, end-of-run findings, merges
//! with their chains, clocks, damage and the story.

use super::dials::Dials;
use super::findings;
use super::story;
use super::triage::{self, Phases};
use super::{advice, audit};
use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{
    Analysis, Audit, ClockOffset, Cluster, Coverage, Damage, InferredMember, Merge, NodeId, SCHEMA_VERSION, SlotMove,
    Story, WhatToDo,
};
use crate::analysis::trackers::clock::Clock;
use crate::analysis::trackers::connections::Connections;
use crate::analysis::trackers::handshakes::Handshakes;
use crate::analysis::trackers::identities::Identities;
use crate::analysis::trackers::introductions::Introductions;
use crate::analysis::trackers::knowledge::Knowledge;
use crate::analysis::trackers::liveness::Liveness;
use crate::analysis::trackers::membership::{Membership, PendingMerge};
use crate::analysis::trackers::nodes::Nodes;
use crate::analysis::trackers::reading::Reading;
use crate::analysis::trackers::retention::{self, KeptFindings, Tracked};
use crate::analysis::trackers::roles::Roles;
use crate::analysis::trackers::slot_views::SlotViews;
use std::collections::{BTreeMap, BTreeSet};

/// Everything the analyzer gathered.
pub struct Gathered<'a> {
    pub cfg: &'a AnalysisConfig,
    pub nodes: &'a Nodes,
    pub conns: &'a Connections,
    pub knowledge: &'a Knowledge,
    pub handshakes: &'a Handshakes,
    pub intros: &'a Introductions,
    pub membership: &'a Membership,
    pub roles: &'a Roles,
    pub slot_views: &'a SlotViews,
    pub clock: &'a Clock,
    pub reading: &'a Reading,
    pub identities: &'a Identities,
    pub liveness: &'a Liveness,
    pub findings: &'a KeptFindings,
    pub tracked: &'a Tracked,
    pub anomalies: &'a BTreeMap<String, u64>,
}

fn cluster_label(i: usize) -> String {
    match b"ABCDEFGHIJKLMNOPQRSTUVWXYZ".get(i) {
        Some(&c) => (c as char).to_string(),
        None => format!("C{i}"),
    }
}

/// Clusters "before anything happened": the groups just before the first
/// merge chain began or the first node joined a healthy cluster, whichever
/// came first (cluster creation is not an event). A lone node counts when
/// it served slots.
fn clusters_before(g: &Gathered<'_>) -> Vec<Cluster> {
    let membership = &g.membership;
    let first_chain = membership.merges().first().map(|m| g.intros.chain_start(m.link, |k| membership.created(k)));
    let start = [first_chain, g.membership.first_healthy_join()].into_iter().flatten().min();
    let nodes = &g.nodes;
    let mut groups: Vec<Vec<NodeId>> = g
        .membership
        .groups_before(nodes.ids(), start)
        .into_iter()
        .filter(|grp| {
            grp.len() >= 2
                || grp
                    .iter()
                    .any(|m| nodes.get(m).is_some_and(|s| s.slots_first.as_ref().is_some_and(|x| !x.is_empty())))
        })
        .collect();
    groups.sort_by_key(|grp| grp.iter().filter_map(|m| nodes.get(m).map(|s| s.first_seen)).min().unwrap_or(0));
    groups
        .into_iter()
        .enumerate()
        .map(|(i, nodes)| {
            let inferred = inferred_members(g, &nodes, start);
            Cluster { label: cluster_label(i), nodes, inferred }
        })
        .collect()
}

/// Members of `group` with no captured link to another member, and the
/// prior knowledge that places them in it.
fn inferred_members(g: &Gathered<'_>, group: &[NodeId], before: Option<i64>) -> Vec<InferredMember> {
    if group.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for &n in group {
        if group.iter().any(|&m| m != n && g.conns.link_seen_before(n, m, before)) {
            continue;
        }
        let why = g
            .membership
            .prior()
            .iter()
            .find(|(l, x, _)| (*x == n && group.contains(l)) || (*l == n && group.contains(x)));
        if let Some(&(l, x, idx)) = why {
            let evidence = g.intros.all().get(idx).map(|i| i.evidence.clone()).unwrap_or_default();
            out.push(InferredMember { node: n, learner: l, knew: x, evidence });
        }
    }
    out
}

/// A merge's sides: each side's group just before the merge, counting
/// knowledge that predates the capture (shown only later, when the
/// members' own links were not captured).
fn merge_sides(g: &Gathered<'_>, m: &PendingMerge) -> Vec<Vec<NodeId>> {
    let ids: Vec<NodeId> = g.nodes.ids().collect();
    let before = g.membership.groups_before(ids.into_iter(), Some(m.ts));
    let grown: Vec<Vec<NodeId>> = m
        .sides
        .iter()
        .map(|side| {
            let mut s: BTreeSet<NodeId> = side.iter().copied().collect();
            for grp in &before {
                if grp.iter().any(|x| side.contains(x)) {
                    s.extend(grp.iter().copied());
                }
            }
            s.into_iter().collect()
        })
        .collect();
    let overlap = grown.len() == 2 && grown[0].iter().any(|x| grown[1].contains(x));
    if overlap { m.sides.clone() } else { grown }
}

pub fn build(g: Gathered<'_>) -> Analysis {
    let clusters = clusters_before(&g);
    let label_of: BTreeMap<NodeId, String> =
        clusters.iter().flat_map(|c| c.nodes.iter().map(|n| (*n, c.label.clone()))).collect();
    let mut nodes = g.nodes.summaries(&label_of);
    let pending = g.membership.merges().to_vec();
    let merges: Vec<Merge> = pending
        .iter()
        .map(|m| {
            let observed = g.intros.all().get(m.link).is_some_and(|i| !i.via.is_hearsay());
            Merge { ts_us: m.ts, sides: merge_sides(&g, m), chain: g.intros.merge_chain(m.link), observed }
        })
        .collect();
    let sources = findings::FindingSources {
        handshakes: g.handshakes,
        conns: g.conns,
        nodes: g.nodes,
        knowledge: g.knowledge,
        liveness: g.liveness,
        identities: g.identities,
        label_of: &label_of,
        joins: g.membership.joins(),
        merges: &merges,
        intros: g.intros.all(),
    };
    let (streamed, mut dropped) = g.findings.clone().into_parts();
    let findings = findings::end_of_run(streamed, &sources);
    let mut findings = retention::bound_findings(findings, g.cfg.bounds.max_events, &mut dropped);
    let phases = Phases::of(&findings, &merges);
    triage::classify(&mut findings, &phases);
    let (role_changes, slot_moves) =
        triage::damage(&g.roles.changes().to_vec(), &g.slot_views.moves().to_vec(), &phases);
    let retention = retention::retention(
        g.cfg.bounds,
        dropped,
        g.roles.changes().dropped(),
        g.slot_views.moves().dropped(),
        g.tracked,
    );
    let clock_offsets = g.clock.offsets(g.cfg);
    let mut coverage = g.reading.coverage();
    sanity(&mut coverage, &clock_offsets, &slot_moves, g.cfg.vantages.len());
    super::failures::settle_nodes(&mut nodes, &findings, &g.roles.changes().to_vec(), &g.slot_views.moves().to_vec());
    let mut captures = g.clock.captures(g.cfg);
    for c in &mut captures {
        c.node_pairs_seen = g.conns.pairs_seen(c.index);
        c.wire = g.reading.wire_of(c.index);
    }
    let mut analysis = Analysis {
        schema_version: SCHEMA_VERSION,
        captures,
        clock_offsets,
        nodes,
        clusters,
        introductions: g.intros.all().to_vec(),
        joins: g.membership.joins().to_vec(),
        merges,
        findings,
        id_conflicts: g.identities.over_time(g.knowledge),
        damage: Damage::of(role_changes, slot_moves),
        elections: super::failures::elections(g.liveness),
        story: Story::default(),
        anomalies: g.anomalies.clone(),
        coverage,
        retention,
        audit: Audit::default(),
        what_to_do_now: WhatToDo::default(),
        first_event_us: g.clock.first_event_us,
    };
    analysis.story = story::tell(&analysis);
    let sources = super::dials::AuditSources {
        knowledge: g.knowledge,
        conns: g.conns,
        dials: Dials { handshakes: g.handshakes },
    };
    analysis.audit = audit::audit(&analysis, &sources);
    analysis.what_to_do_now = advice::advise(&analysis);
    analysis
}

/// Limits no analysis of aligned captures can reach; reaching one means the
/// captures' clocks disagree (or a capture is of another incident).
fn sanity(coverage: &mut Coverage, offsets: &[ClockOffset], moves: &[SlotMove], captures: usize) {
    const SLOTS: u64 = 16_384;
    for o in offsets.iter().filter(|o| o.offset_us.abs() > 1_000_000 && o.samples >= 3) {
        coverage.limits.push(format!(
            "{} and {} still disagree by {:+.3} s on messages both captured: their clocks are not aligned and \
             the order of events across them is unreliable (give --reference, or check the captures)",
            o.b,
            o.a,
            o.offset_us as f64 / 1e6
        ));
    }
    let moved: u64 = moves.iter().map(|m| u64::from(m.count)).sum();
    if captures > 1 && moved > 4 * SLOTS {
        coverage.limits.push(format!(
            "{moved} slot moves for {SLOTS} slots: a sign of captures whose clocks are not aligned \
             (the same claims replayed out of order)"
        ));
    }
    coverage.complete = coverage.limits.is_empty();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::Phase;

    #[test]
    fn impossible_results_are_reported_as_misaligned_captures() {
        let mut c = Coverage { complete: true, ..Coverage::default() };
        let off = |us| ClockOffset { a: "h1".into(), b: "h2".into(), offset_us: us, samples: 50 };
        sanity(&mut c, &[off(300)], &[], 2);
        assert!(c.complete && c.limits.is_empty());
        sanity(&mut c, &[off(2_500_000)], &[], 2);
        assert!(!c.complete && c.limits[0].contains("+2.500 s"), "{:?}", c.limits);
        let mv = SlotMove {
            ts_us: 0,
            slots: vec![(0, 16383)],
            count: 16_384,
            from: None,
            to: None,
            evidence: vec![],
            phase: Phase::Incident,
        };
        let mut c = Coverage { complete: true, ..Coverage::default() };
        sanity(&mut c, &[], &vec![mv; 5], 2);
        assert!(c.limits.iter().any(|l| l.contains("81920 slot moves")), "{:?}", c.limits);
    }
}
