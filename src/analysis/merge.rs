//! Groups of nodes that know each other (union-find over "knows" edges in
//! time order), to tell joins from merges.

use crate::events::NodeId;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(super) struct Groups {
    parent: BTreeMap<NodeId, NodeId>,
    size: BTreeMap<NodeId, usize>,
}

impl Groups {
    pub fn add(&mut self, n: NodeId) {
        if let std::collections::btree_map::Entry::Vacant(e) = self.parent.entry(n) {
            e.insert(n);
            self.size.insert(n, 1);
        }
    }

    pub fn find(&mut self, n: NodeId) -> NodeId {
        self.add(n);
        let mut root = n;
        while let Some(&p) = self.parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        // Path compression.
        let mut cur = n;
        while cur != root {
            let next = self.parent.get(&cur).copied().unwrap_or(root);
            self.parent.insert(cur, root);
            cur = next;
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
        let all: Vec<NodeId> = self.parent.keys().copied().collect();
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
        let all: Vec<NodeId> = self.parent.keys().copied().collect();
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
