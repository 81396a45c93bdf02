//! Slot claims: each master's own claim and configEpoch, `slot_conflict`
//! between masters that know each other and `epoch_collision`. (Who serves
//! each slot in each node's view, and the moves of the damage, are
//! `slot_views.rs`.)

use super::membership::Groups;
use super::retention::KeptFindings;
use crate::analysis::model::{Evidence, Finding, FindingKind, NodeId};
use crate::clusterbus::types::format_slot_ranges;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// Inclusive slot ranges, ascending.
type Ranges = Vec<(u16, u16)>;

fn contains(ranges: &[(u16, u16)], slot: u16) -> bool {
    ranges.iter().any(|&(a, b)| (a..=b).contains(&slot))
}

/// The slots in both `a` and `b` (each ascending, disjoint), as ranges
/// (touching ones joined): one pass over both lists, not slot by slot.
fn intersection(a: &[(u16, u16)], b: &[(u16, u16)]) -> Ranges {
    let mut out: Ranges = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
        let (lo, hi) = (a0.max(b0), a1.min(b1));
        if lo <= hi {
            match out.last_mut() {
                Some(r) if u32::from(r.1) + 1 == u32::from(lo) => r.1 = hi,
                _ => out.push((lo, hi)),
            }
        }
        if a1 < b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// (configEpoch, claim size, first range, group size) of the last check.
type ClaimMemo = (u64, usize, Option<(u16, u16)>, usize);

/// One master header's claim, as the slot tracker needs it.
pub struct SlotClaim<'a> {
    pub ts: i64,
    pub node: NodeId,
    pub config_epoch: u64,
    /// The node's own slots (empty for a replica).
    pub slots: &'a [(u16, u16)],
    pub evidence: Evidence,
}

#[derive(Clone, Debug, Default)]
pub struct Slots {
    /// Each node's own claim (empty when replica) and configEpoch.
    own: HashMap<NodeId, (u64, Ranges)>,
    /// Last (epoch, claim size, first range, group size) checked per node:
    /// a claim is re-checked only when one of them changes.
    checked: HashMap<NodeId, ClaimMemo>,
    collisions_reported: BTreeSet<(NodeId, NodeId, u64)>,
    conflicts_reported: BTreeSet<(NodeId, NodeId)>,
}

impl Slots {
    /// The claim currently recorded for `node` (empty if none).
    pub fn claim_of(&self, node: &NodeId) -> Ranges {
        self.own.get(node).map(|(_, c)| c.clone()).unwrap_or_default()
    }

    /// The master with the largest configEpoch claiming `slot`, other
    /// than `except`.
    pub fn best_claimant(&self, slot: u16, except: NodeId) -> Option<NodeId> {
        self.own
            .iter()
            .filter(|(o, (_, c))| **o != except && contains(c, slot))
            .max_by_key(|(o, (e, _))| (*e, **o))
            .map(|(o, _)| *o)
    }

    /// Records a claim.
    pub fn observe(&mut self, c: SlotClaim<'_>, groups: &mut Groups, findings: &mut KeptFindings) {
        let changed = self.own.get(&c.node).is_none_or(|(e, o)| *e != c.config_epoch || o.as_slice() != c.slots);
        let memo = (c.config_epoch, c.slots.len(), c.slots.first().copied(), groups.size(c.node));
        let recheck = !c.slots.is_empty() && self.checked.get(&c.node) != Some(&memo);
        if !changed && !recheck {
            return;
        }
        if changed {
            self.own.insert(c.node, (c.config_epoch, c.slots.to_vec()));
        }
        if recheck {
            self.checked.insert(c.node, memo);
            self.check(&c, groups, findings);
        }
    }

    /// Conflicting claims and configEpoch collisions between masters that
    /// know each other (same group).
    fn check(&mut self, c: &SlotClaim<'_>, groups: &mut Groups, findings: &mut KeptFindings) {
        let (node, epoch) = (c.node, c.config_epoch);
        let mine = groups.find(node);
        // The other claiming masters (id order), without their claims: a
        // claim is read only for a pair not reported yet.
        let mut others: Vec<(NodeId, u64)> =
            self.own.iter().filter(|(o, (_, oc))| **o != node && !oc.is_empty()).map(|(o, (e, _))| (*o, *e)).collect();
        others.sort_unstable_by_key(|(o, _)| *o);
        for (o, oe) in others {
            if groups.find(o) != mine {
                continue;
            }
            let (lo, hi) = (node.min(o), node.max(o));
            if oe == epoch && self.collisions_reported.insert((lo, hi, epoch)) {
                findings.push(Finding::about(
                    FindingKind::EpochCollision,
                    c.ts,
                    vec![lo, hi],
                    format!(
                        "masters {} and {} both have configEpoch {epoch}; the one with the smaller id ({}) must bump",
                        node.short(),
                        o.short(),
                        lo.short()
                    ),
                    vec![c.evidence.clone()],
                ));
            }
            if self.conflicts_reported.contains(&(node, o)) {
                continue;
            }
            let overlap = self.own.get(&o).map(|(_, oc)| intersection(c.slots, oc)).unwrap_or_default();
            if overlap.is_empty() {
                continue;
            }
            self.conflicts_reported.insert((node, o));
            let verdict = if oe == epoch {
                "equal epochs: no one wins until the collision is resolved".to_string()
            } else {
                format!("{} wins (higher configEpoch)", if oe > epoch { o } else { node }.short())
            };
            findings.push(Finding::about(
                FindingKind::SlotConflict,
                c.ts,
                vec![node, o],
                format!(
                    "{} claims slots {} with configEpoch {epoch}, also claimed by {} with configEpoch {oe}; {verdict}",
                    node.short(),
                    format_slot_ranges(&overlap),
                    o.short(),
                ),
                vec![c.evidence.clone()],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::analysis::trackers::slot_views::ranges_of;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn claim(ts: i64, node: NodeId, config_epoch: u64, slots: &[(u16, u16)]) -> SlotClaim<'_> {
        SlotClaim { ts, node, config_epoch, slots, evidence: Evidence { capture: "t", frame: ts as u64 } }
    }

    #[test]
    fn an_intersection_of_ranges_is_the_slots_in_both() {
        let slow = |a: &[(u16, u16)], b: &[(u16, u16)]| {
            ranges_of(&a.iter().flat_map(|&(x, y)| x..=y).filter(|&x| contains(b, x)).collect::<Vec<u16>>())
        };
        type Case<'a> = (&'a [(u16, u16)], &'a [(u16, u16)]);
        let cases: [Case<'_>; 6] = [
            (&[(0, 99)], &[(50, 149)]),
            (&[(0, 9), (20, 29), (40, 49)], &[(5, 24), (26, 45)]),
            (&[(0, 16383)], &[(0, 0), (10, 10), (16383, 16383)]),
            (&[(0, 4)], &[(5, 9)]),
            (&[(0, 4), (6, 9)], &[(0, 9)]),
            (&[], &[(0, 9)]),
        ];
        for (a, b) in cases {
            assert_eq!(intersection(a, b), slow(a, b), "{a:?} ∩ {b:?}");
            assert_eq!(intersection(b, a), slow(b, a), "{b:?} ∩ {a:?}");
        }
    }

    #[test]
    fn the_best_claimant_has_the_largest_epoch() {
        let (a, b) = (id(b'a'), id(b'b'));
        let (mut s, mut g, mut f) = (Slots::default(), Groups::default(), KeptFindings::default());
        s.observe(claim(1, a, 1, &[(0, 99)]), &mut g, &mut f);
        s.observe(claim(2, b, 2, &[(50, 99)]), &mut g, &mut f);
        assert_eq!(s.best_claimant(60, id(b'z')), Some(b));
        assert_eq!(s.best_claimant(60, b), Some(a));
        assert_eq!(s.best_claimant(10, a), None);
    }

    #[test]
    fn conflicts_only_between_masters_that_know_each_other() {
        let (a, b) = (id(b'a'), id(b'b'));
        let (mut s, mut g, mut f) = (Slots::default(), Groups::default(), KeptFindings::default());
        s.observe(claim(1, a, 3, &[(0, 9)]), &mut g, &mut f);
        s.observe(claim(2, b, 3, &[(5, 9)]), &mut g, &mut f);
        assert!(f.clone().into_parts().0.is_empty(), "{f:?}");
        g.union(a, b);
        s.observe(claim(3, b, 3, &[(5, 9)]), &mut g, &mut f);
        let mut kinds: Vec<FindingKind> = f.into_parts().0.iter().map(|x| x.kind).collect();
        kinds.sort();
        let mut want = vec![FindingKind::EpochCollision, FindingKind::SlotConflict];
        want.sort();
        assert_eq!(kinds, want);
    }
}
