//! One node's slot table (`server.cluster->slots`): which node it gives each of
//! the 16384 slots, rebound by claims under the rule of the protocol notes §9i
//! (a slot goes to a claimant when unowned or owned by a node of a smaller
//! configEpoch). Compact: one `u16` per slot, an index into the owners seen.

use crate::analysis::model::NodeId;

/// No owner.
const NO_OWNER: u16 = u16::MAX;
const SLOTS: usize = 16384;

#[derive(Clone, Debug, Default)]
pub struct SlotTable {
    /// slot → index into `owners`; `None` until the first claim.
    slots: Option<Box<[u16]>>,
    owners: Vec<NodeId>,
}

impl SlotTable {
    fn owner_index(&mut self, n: NodeId) -> u16 {
        match self.owners.iter().position(|o| *o == n) {
            Some(i) => i as u16,
            None => {
                self.owners.push(n);
                (self.owners.len() - 1) as u16
            }
        }
    }

    /// `clusterUpdateSlotsConfigWith`: each claimed slot goes to `n` when
    /// unowned or owned by a node whose configEpoch (`epoch_of`) is
    /// smaller than `epoch`.
    pub fn claim(&mut self, n: NodeId, epoch: u64, ranges: &[(u16, u16)], epoch_of: impl Fn(&NodeId) -> u64) {
        let idx = self.owner_index(n);
        let table = self.slots.get_or_insert_with(|| vec![NO_OWNER; SLOTS].into_boxed_slice());
        // Owners come in runs of slots: each run's owner's epoch is looked
        // up once (not every owner's on every claim: that was O(N) per
        // claim, O(N³) over a cluster of N nodes).
        let mut last: Option<(u16, u64)> = None;
        for &(a, b) in ranges {
            for s in a..=b.min(SLOTS as u16 - 1) {
                let cur = table[s as usize];
                if cur == NO_OWNER {
                    table[s as usize] = idx;
                    continue;
                }
                if cur == idx {
                    continue;
                }
                let e = match last {
                    Some((o, e)) if o == cur => e,
                    _ => {
                        let e = epoch_of(&self.owners[cur as usize]);
                        last = Some((cur, e));
                        e
                    }
                };
                if e < epoch {
                    table[s as usize] = idx;
                }
            }
        }
    }

    /// Every slot of `n` becomes unowned (a master turned replica).
    pub fn release(&mut self, n: &NodeId) {
        let Some(idx) = self.owners.iter().position(|o| o == n) else { return };
        if let Some(table) = self.slots.as_mut() {
            table.iter_mut().filter(|o| **o as usize == idx).for_each(|o| *o = NO_OWNER);
        }
    }

    /// Whether the table gives `n` at least one slot.
    pub fn owns_any(&self, n: &NodeId) -> bool {
        let (Some(table), Some(idx)) = (self.slots.as_ref(), self.owners.iter().position(|o| o == n)) else {
            return false;
        };
        table.iter().any(|&o| o as usize == idx)
    }

    /// The slot ranges given to `n`; `None` when no claim was ever seen.
    pub fn slots_of(&self, n: &NodeId) -> Option<Vec<(u16, u16)>> {
        let table = self.slots.as_ref()?;
        let idx = self.owners.iter().position(|o| o == n);
        let mut out: Vec<(u16, u16)> = Vec::new();
        if let Some(idx) = idx {
            for (s, &o) in table.iter().enumerate() {
                if o as usize == idx {
                    let s = s as u16;
                    match out.last_mut() {
                        Some(r) if r.1 + 1 == s => r.1 = s,
                        _ => out.push((s, s)),
                    }
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_epoch_takes_slots_and_a_lower_one_does_not() {
        let (a, b) = (NodeId([b'a'; 40]), NodeId([b'b'; 40]));
        let mut t = SlotTable::default();
        assert_eq!(t.slots_of(&a), None);
        let epochs = |e_b: u64| move |n: &NodeId| if *n == a { 1 } else { e_b };
        t.claim(a, 1, &[(0, 99)], epochs(0));
        t.claim(b, 0, &[(50, 149)], epochs(0));
        assert_eq!(t.slots_of(&a), Some(vec![(0, 99)]));
        assert_eq!(t.slots_of(&b), Some(vec![(100, 149)]));
        t.claim(b, 2, &[(50, 149)], epochs(2));
        assert_eq!(t.slots_of(&a), Some(vec![(0, 49)]));
        assert!(t.owns_any(&a) && t.owns_any(&b));
        t.release(&a);
        assert_eq!(t.slots_of(&a), Some(vec![]));
        assert!(!t.owns_any(&a) && t.owns_any(&b));
    }
}
