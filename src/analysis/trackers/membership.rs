//! Membership: groups of nodes that know each other (union-find over "knows"
//! edges in time order), joins (a node added to a cluster, cluster creation)
//! told from merges (two groups that were each a cluster), and the clusters as
//! they were before anything happened.

use super::nodes::Nodes;
use crate::analysis::model::{Join, NodeId};
use std::collections::BTreeMap;

/// A merge whose chain is resolved when the analysis finishes.
#[derive(Clone, Debug)]
pub struct PendingMerge {
    pub ts: i64,
    pub sides: Vec<Vec<NodeId>>,
    /// The introduction that joined the two groups.
    pub link: usize,
}

/// Groups over time, joins and merges.
#[derive(Clone, Debug, Default)]
pub struct Membership {
    pub groups: Groups,
    joins: Vec<Join>,
    merges: Vec<PendingMerge>,
    /// Unions of groups in time order (for the clusters at any moment).
    unions: Vec<(i64, NodeId, NodeId)>,
    /// First time a node joined an already healthy cluster: the end of
    /// cluster creation.
    first_healthy_join: Option<i64>,
    /// Knowledge that predates the capture: (learner, node, introduction).
    prior: Vec<(NodeId, NodeId, usize)>,
    /// Introductions that added a node to a group, or happened inside a
    /// group, none of whose members had yet said its cluster was OK:
    /// cluster creation, not an incident.
    creation: rustc_hash::FxHashSet<usize>,
    /// Latest time each node took part in a union of two groups.
    joined_at: rustc_hash::FxHashMap<NodeId, i64>,
    /// Nodes whose group was seen to have said its cluster was OK.
    settled: rustc_hash::FxHashSet<NodeId>,
}

impl Membership {
    /// Learner `l` first knew `n` at `ts` (introduction `idx`). `prior`
    /// knowledge unites groups but is neither a join nor a merge: it dates
    /// from before the capture, so it counts in the clusters before
    /// anything happened, whenever it was shown.
    pub fn introduced(&mut self, ts: i64, l: NodeId, n: NodeId, idx: usize, prior: bool, nodes: &Nodes) {
        if prior {
            self.prior.push((l, n, idx));
        }
        if self.groups.find(l) == self.groups.find(n) {
            // Inside a group none of whose members ever said its cluster
            // was OK: cluster creation (members listed only until then,
            // as this runs on every message).
            if !prior && !self.settled.contains(&l) {
                let group = self.groups.members(l);
                if ever_ok(&group, nodes) {
                    self.settled.extend(group);
                } else {
                    self.creation.insert(idx);
                }
            }
            return;
        }
        let side_a = self.groups.members(l);
        let side_b = self.groups.members(n);
        // A lone node counts as a cluster only when it serves slots and says
        // its cluster is OK (all slots covered): nodes being created with a
        // share of the slots (state fail) join rather than merge.
        let is_cluster = |side: &[NodeId]| {
            side.len() >= 2 || side.iter().any(|m| nodes.get(m).is_some_and(|s| s.is_healthy_master()))
        };
        if !prior && is_cluster(&side_a) && is_cluster(&side_b) {
            // An introduction confirmed late (a handshake known adopted
            // only from a later message) can predate the step that put one
            // of its two nodes in its group: the groups became one when
            // both held.
            let joined = [l, n].iter().filter_map(|x| self.joined_at.get(x)).copied().max();
            let at = joined.map_or(ts, |j| j.max(ts));
            self.merges.push(PendingMerge { ts: at, sides: vec![side_a, side_b], link: idx });
        } else if !prior {
            let (joiner, joined) = if side_a.len() <= side_b.len() { (l, side_b) } else { (n, side_a) };
            // Healthy: a cluster of 2+ one of whose members has said it
            // was OK (as above for creation; its members turn OK one by
            // one, each after its own delay).
            let healthy = joined.len() >= 2 && ever_ok(&joined, nodes);
            if healthy && self.first_healthy_join.is_none() {
                self.first_healthy_join = Some(ts);
            }
            if !ever_ok(&joined, nodes) {
                self.creation.insert(idx);
            }
            self.joins.push(Join { ts_us: ts, node: joiner, joined, introduction: idx });
        }
        self.groups.union(l, n);
        self.unions.push((if prior { i64::MIN } else { ts }, l, n));
        if !prior {
            for x in [l, n] {
                let j = self.joined_at.entry(x).or_insert(ts);
                *j = (*j).max(ts);
            }
        }
    }

    /// Knowledge that predates the capture, in the order it was shown.
    pub fn prior(&self) -> &[(NodeId, NodeId, usize)] {
        &self.prior
    }

    pub fn joins(&self) -> &[Join] {
        &self.joins
    }

    pub fn merges(&self) -> &[PendingMerge] {
        &self.merges
    }

    /// Whether introduction `idx` added a node to a cluster being created.
    pub fn created(&self, idx: usize) -> bool {
        self.creation.contains(&idx)
    }

    pub fn first_healthy_join(&self) -> Option<i64> {
        self.first_healthy_join
    }

    /// The groups of `all` nodes formed by the unions before `start`
    /// (every union when `None`).
    pub fn groups_before(&self, all: impl Iterator<Item = NodeId>, start: Option<i64>) -> Vec<Vec<NodeId>> {
        // (The groups' finds compress their paths: a copy's, so that a
        // look during the run leaves them as they were.)
        let Some(start) = start else { return self.groups.clone().all() };
        let mut g = Groups::default();
        for n in all {
            g.add(n);
        }
        for (ts, l, n) in &self.unions {
            if *ts < start {
                g.union(*l, *n);
            }
        }
        g.all()
    }
}

/// Whether a member of `group` ever said its cluster was OK.
fn ever_ok(group: &[NodeId], nodes: &Nodes) -> bool {
    group.iter().any(|m| nodes.get(m).is_some_and(|s| s.ever_ok))
}

#[derive(Clone, Debug, Default)]
pub struct Groups {
    /// Hashed (asked on every message); sorted where listed.
    parent: rustc_hash::FxHashMap<NodeId, NodeId>,
    size: rustc_hash::FxHashMap<NodeId, usize>,
}

impl Groups {
    pub fn add(&mut self, n: NodeId) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.parent.entry(n) {
            e.insert(n);
            self.size.insert(n, 1);
        }
    }

    pub fn find(&mut self, n: NodeId) -> NodeId {
        // A root or a node new to the groups (its own root): one lookup.
        let first = match self.parent.get(&n) {
            Some(&p) if p == n => return n,
            Some(&p) => p,
            None => {
                self.add(n);
                return n;
            }
        };
        let mut root = first;
        while let Some(&p) = self.parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        // Path compression (a node already under the root is left).
        let (mut cur, mut next) = (n, first);
        while next != root {
            self.parent.insert(cur, root);
            cur = next;
            next = self.parent.get(&cur).copied().unwrap_or(root);
        }
        root
    }

    /// Size of `n`'s group.
    pub fn size(&mut self, n: NodeId) -> usize {
        let r = self.find(n);
        self.size.get(&r).copied().unwrap_or(1)
    }

    /// Members of `n`'s group, sorted.
    pub fn members(&mut self, n: NodeId) -> Vec<NodeId> {
        let root = self.find(n);
        let mut all: Vec<NodeId> = self.parent.keys().copied().collect();
        all.sort();
        all.into_iter().filter(|&m| self.find(m) == root).collect()
    }

    /// Joins the groups; returns false when they were already one.
    pub fn union(&mut self, a: NodeId, b: NodeId) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (sa, sb) = (self.size.get(&ra).copied().unwrap_or(1), self.size.get(&rb).copied().unwrap_or(1));
        let (big, small) = if sa > sb || (sa == sb && ra < rb) { (ra, rb) } else { (rb, ra) };
        self.parent.insert(small, big);
        self.size.insert(big, sa + sb);
        true
    }

    /// All groups, each sorted, ordered by their smallest member.
    pub fn all(&mut self) -> Vec<Vec<NodeId>> {
        let mut all: Vec<NodeId> = self.parent.keys().copied().collect();
        all.sort();
        let mut by_root: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        for n in all {
            let r = self.find(n);
            by_root.entry(r).or_default().push(n);
        }
        let mut groups: Vec<Vec<NodeId>> = by_root.into_values().collect();
        groups.sort();
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    /// Unions in an order that builds long parent chains: every find and
    /// size agrees with plain sets after each step.
    #[test]
    fn groups_agree_with_plain_sets() {
        let mut g = Groups::default();
        let mut sets: Vec<Vec<u8>> = (0..12u8).map(|c| vec![c]).collect();
        let steps = [(0, 1), (2, 0), (3, 2), (4, 3), (5, 6), (7, 5), (4, 7), (8, 9), (10, 8), (11, 10), (11, 1)];
        for (a, b) in steps {
            g.union(id(a), id(b));
            let (ia, ib) = (sets.iter().position(|s| s.contains(&a)), sets.iter().position(|s| s.contains(&b)));
            if let (Some(ia), Some(ib)) = (ia, ib)
                && ia != ib
            {
                let moved = sets.remove(ia.max(ib));
                sets[ia.min(ib)].extend(moved);
            }
            for x in 0..12u8 {
                let set = sets.iter().find(|s| s.contains(&x)).unwrap();
                assert_eq!(g.size(id(x)), set.len(), "size of {x}");
                for y in 0..12u8 {
                    assert_eq!(g.find(id(x)) == g.find(id(y)), set.contains(&y), "{x} {y}");
                }
            }
        }
    }

    #[test]
    fn steps_before_any_member_said_ok_are_cluster_creation() {
        let (a, b, c, d) = (id(b'a'), id(b'b'), id(b'c'), id(b'd'));
        let mut nodes = Nodes::default();
        let mut m = Membership::default();
        m.introduced(1, a, b, 0, false, &nodes);
        m.introduced(2, b, a, 1, false, &nodes);
        assert!(m.created(0) && m.created(1));
        nodes.said_ok(a);
        // c joins a cluster that said OK once; a later step inside it is
        // not creation either, even if its state is not OK any more.
        m.introduced(3, a, c, 2, false, &nodes);
        m.introduced(4, c, b, 3, false, &nodes);
        m.introduced(5, d, d, 4, true, &nodes);
        assert!(!m.created(2) && !m.created(3) && !m.created(4));
        assert_eq!(m.joins().len(), 2);
    }

    #[test]
    fn a_merge_confirmed_late_is_dated_when_both_groups_held() {
        let (a, b, c, d, n) = (id(b'a'), id(b'b'), id(b'c'), id(b'd'), id(b'n'));
        let nodes = Nodes::default();
        let mut m = Membership::default();
        m.introduced(1, a, b, 0, false, &nodes);
        m.introduced(2, c, d, 1, false, &nodes);
        m.introduced(10, d, n, 2, false, &nodes);
        // a adopted n at 5, known only from a later message.
        m.introduced(5, a, n, 3, false, &nodes);
        assert_eq!(m.merges().iter().map(|x| (x.ts, x.link)).collect::<Vec<_>>(), vec![(10, 3)]);
    }

    #[test]
    fn union_find_groups() {
        let mut g = Groups::default();
        assert!(g.union(id(b'a'), id(b'b')));
        assert!(g.union(id(b'c'), id(b'd')));
        assert!(!g.union(id(b'b'), id(b'a')));
        assert_eq!(g.members(id(b'a')), vec![id(b'a'), id(b'b')]);
        assert!(g.union(id(b'a'), id(b'd')));
        assert_eq!(g.all(), vec![vec![id(b'a'), id(b'b'), id(b'c'), id(b'd')]]);
    }
}
