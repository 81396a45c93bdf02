//! Failures told with times: a node that fell silent, was declared FAIL,
//! the elections its replicas held, and who took its slots (a promoted
//! replica, or another cluster's master after a merge) and how long they
//! went unserved. Also each node's roles through the capture, whether it
//! ended failed, and the slots it served at the end.

use crate::analysis::model::{
    Analysis, Election, Finding, FindingKind, NodeId, NodeSummary, RoleChange, SlotMove, who,
};
use crate::analysis::trackers::liveness::Liveness;
use crate::analysis::trackers::slot_views::ranges_of;
use crate::clusterbus::types::format_slot_ranges;
use crate::time::format_utc_us;
use std::collections::{BTreeMap, BTreeSet};

/// The elections the capture saw, in time order.
pub fn elections(l: &Liveness) -> Vec<Election> {
    let mut out: Vec<Election> = l
        .elections()
        .map(|(r, e)| Election {
            replica: *r,
            first_ts_us: e.first_ts,
            epoch: e.epoch,
            master: e.master,
            asked: e.asked.len(),
            voters: e.voters.iter().copied().collect(),
            evidence: vec![e.evidence.clone()],
        })
        .collect();
    out.sort_by_key(|e| (e.first_ts_us, e.epoch, e.replica));
    out
}

/// Each node's roles in order, when it was declared FAIL (not heard
/// after), and the slots it served at the end: its last header's, less
/// the slots moved away from it after, plus those moved to it after.
pub fn settle_nodes(nodes: &mut [NodeSummary], findings: &[Finding], role_changes: &[RoleChange], moves: &[SlotMove]) {
    let mut changes: Vec<&RoleChange> = role_changes.iter().collect();
    changes.sort_by_key(|r| r.ts_us);
    let mut moves: Vec<&SlotMove> = moves.iter().collect();
    moves.sort_by_key(|m| m.ts_us);
    for n in nodes.iter_mut() {
        for r in changes.iter().filter(|r| r.node == n.id) {
            if n.roles.last() != Some(&r.to) {
                n.roles.push(r.to);
            }
        }
        if n.roles.last() != Some(&n.role_last) {
            n.roles.push(n.role_last);
        }
        n.failed_us = findings
            .iter()
            .filter(|f| f.kind == FindingKind::NodeFailed && f.nodes.first() == Some(&n.id) && f.ts_us > n.last_seen_us)
            .map(|f| f.ts_us)
            .min();
        let after: Vec<&&SlotMove> = moves.iter().filter(|m| m.ts_us > n.last_seen_us).collect();
        if after.iter().all(|m| m.from != Some(n.id) && m.to != Some(n.id)) {
            continue;
        }
        let mut slots: BTreeSet<u16> = n.slots_last.iter().flat_map(|&(a, b)| a..=b).collect();
        for m in after {
            let each = m.slots.iter().flat_map(|&(a, b)| a..=b);
            if m.from == Some(n.id) {
                each.for_each(|s| {
                    slots.remove(&s);
                });
            } else if m.to == Some(n.id) {
                slots.extend(each);
            }
        }
        n.slots_last = ranges_of(&slots.into_iter().collect::<Vec<u16>>());
    }
}

/// `HH:MM:SS.mmm` of a timestamp.
fn clock(ts: i64) -> String {
    let t = format_utc_us(ts);
    t.get(11..23).map_or(t.clone(), str::to_string)
}

/// One line per node declared FAIL: silent since → FAIL → elections →
/// who took its slots (and how long they were unserved); then each
/// failover no failure explains.
pub fn story(a: &Analysis) -> Vec<String> {
    let best = a.best_addresses();
    let node = |id: &NodeId| a.nodes.iter().find(|n| n.id == *id);
    let mut out = Vec::new();
    let mut told_failovers = BTreeSet::new();
    let mut told = BTreeSet::new();
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::NodeFailed) {
        let Some(&dead) = f.nodes.first() else { continue };
        if !told.insert(dead) {
            continue;
        }
        let mut steps = Vec::new();
        let silent = node(&dead).map(|n| n.last_seen_us).filter(|&t| t < f.ts_us);
        let head = who(&dead, &best);
        match silent {
            Some(t) => steps.push(format!("{head} silent since {}", clock(t))),
            None => steps.push(head),
        }
        let by = f.nodes.get(1).map(|b| format!(" (first FAIL message from {})", b.short())).unwrap_or_default();
        steps.push(format!("FAIL {}{by}", clock(f.ts_us)));
        let since = silent.unwrap_or(f.ts_us);
        for e in a.elections.iter().filter(|e| e.master == Some(dead) && e.first_ts_us >= since) {
            steps.push(format!(
                "{} FAILOVER_AUTH_REQUEST {} (epoch {}, to {} node(s), {} vote(s))",
                e.replica.short(),
                clock(e.first_ts_us),
                e.epoch,
                e.asked,
                e.voters.len()
            ));
        }
        // Who took its slots: the first move of each slot away from it.
        let mut taken: BTreeMap<NodeId, (i64, Vec<u16>)> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for m in a.damage.slot_moves.iter().filter(|m| m.from == Some(dead) && m.ts_us >= since) {
            let Some(to) = m.to else { continue };
            let t = taken.entry(to).or_insert((m.ts_us, Vec::new()));
            t.1.extend(m.slots.iter().flat_map(|&(a, b)| a..=b).filter(|s| seen.insert(*s)));
        }
        let mut taken: Vec<(NodeId, (i64, Vec<u16>))> = taken.into_iter().collect();
        taken.sort_by_key(|(_, (t, _))| *t);
        let nobody = taken.is_empty();
        for (to, (ts, slots)) in taken {
            let failover = a.findings.iter().find(|x| {
                x.kind == FindingKind::Failover && x.nodes.first() == Some(&to) && x.nodes.get(1) == Some(&dead)
            });
            let how = match failover {
                Some(x) => {
                    told_failovers.insert(x.ts_us);
                    format!("{} promoted {}", who(&to, &best), clock(x.ts_us.min(ts)))
                }
                None => {
                    let cluster = node(&to)
                        .and_then(|n| n.cluster.clone())
                        .map(|c| format!(" of cluster {c}"))
                        .unwrap_or_default();
                    format!("{}{cluster} took its slots {}", who(&to, &best), clock(ts))
                }
            };
            steps.push(format!(
                "{how} (slots {} unserved {:.1} s)",
                format_slot_ranges(&ranges_of(&slots)),
                (ts - since) as f64 / 1e6
            ));
        }
        if nobody {
            let served = node(&dead).map(|n| n.slots_last.clone()).unwrap_or_default();
            if !served.is_empty() {
                steps.push(format!("no replica promoted: slots {} unserved at the end", format_slot_ranges(&served)));
            }
        }
        out.push(format!("FAIL: {}.", steps.join(" → ")));
    }
    for x in a.findings.iter().filter(|x| x.kind == FindingKind::Failover && !told_failovers.contains(&x.ts_us)) {
        out.push(format!("FAILOVER {}: {}.", clock(x.ts_us), x.summary));
    }
    out
}
