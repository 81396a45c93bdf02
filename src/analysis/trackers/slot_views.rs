//! Who serves each slot, in each node's own view, and the damage rule read
//! from it: **a slot changes owner when the node that serves it changes
//! in some node's view** (so in any cluster's view). Each view is kept as
//! its server keeps its slot table (protocol notes §9i): a claim from a
//! master the node knows wins a slot that is unowned or served by a node
//! of a smaller configEpoch (the node keeps the largest configEpoch it saw
//! from each); a master that turns replica, or stops claiming a slot,
//! stops serving it (the slot waits for its next server); an UPDATE is a
//! claim; the node's own header is its own claim. So a foreign master
//! taking a dead master's slots after a merge is a change in the dead
//! master's cluster's view, a promoted replica taking its failed master's
//! in every view, and a master that became a replica of the other side
//! in its own. A change seen in several views (every member of a cluster
//! sees it) is one move, dated by the first view that showed it; a slot
//! given its first server is no move.

use super::retention::{Kept, Timed};
use crate::analysis::model::{Evidence, NodeId, Phase, SlotMove};
use rustc_hash::{FxHashMap as HashMap, FxHasher};
use std::collections::BTreeMap;
use std::hash::Hasher;

const SLOTS: usize = 16384;
/// No server yet.
const NONE: u16 = u16::MAX;
/// Unserved now; the low bits name the node that served it last.
const WAS: u16 = 0x8000;
/// Owners one view tells apart (the node bound is lower).
const MAX_OWNERS: usize = 0x7FFF;

#[derive(Clone, Debug)]
struct Owner {
    id: NodeId,
    /// The largest configEpoch the viewer saw from it.
    epoch: u64,
    /// Slots the view gives it.
    owned: u32,
    /// Fingerprint of its last claim applied, and the view's version then.
    applied: Option<(u64, u32)>,
}

/// One node's slot table.
#[derive(Clone, Debug)]
struct View {
    table: Box<[u16]>,
    owners: Vec<Owner>,
    index_of: HashMap<NodeId, u16>,
    /// Bumped whenever a slot changes other than by a claim that wins it
    /// (a claim seen before may win more now).
    version: u32,
    /// (from, to) owner indices → how many times each slot passed so.
    passes: HashMap<(u16, u16), Vec<u8>>,
}

/// When and where a claim was seen.
pub struct Seen {
    pub ts: i64,
    pub evidence: Evidence,
}

/// Changes one update made in one view: (from, to) → slots, each with
/// how many times this view has now seen it pass from → to. The count
/// tells a change seen again in another view (every member of a cluster
/// sees it: the same pass) from a change back and forth (x → y → x → y
/// is a second pass x → y), whatever configEpoch each view heard the
/// winner with.
type Changes = BTreeMap<(NodeId, NodeId), Vec<(u16, u8)>>;

impl View {
    fn new() -> View {
        View {
            table: vec![NONE; SLOTS].into_boxed_slice(),
            owners: Vec::new(),
            index_of: HashMap::default(),
            version: 0,
            passes: HashMap::default(),
        }
    }

    fn index(&mut self, n: NodeId) -> Option<u16> {
        if let Some(&i) = self.index_of.get(&n) {
            return Some(i);
        }
        if self.owners.len() >= MAX_OWNERS {
            return None;
        }
        let i = self.owners.len() as u16;
        self.owners.push(Owner { id: n, epoch: 0, owned: 0, applied: None });
        self.index_of.insert(n, i);
        Some(i)
    }

    /// Gives `slot` to owner `to` (or, with `WAS`, leaves it unserved),
    /// noting the change of server.
    fn set(&mut self, slot: usize, to: u16, changes: &mut Changes) {
        let Some(cur) = self.table.get(slot).copied() else { return };
        if cur == to {
            return;
        }
        if cur & WAS == 0
            && let Some(o) = self.owners.get_mut(cur as usize)
        {
            o.owned -= 1;
        }
        if to & WAS == 0
            && let Some(o) = self.owners.get_mut(to as usize)
        {
            o.owned += 1;
        }
        self.table[slot] = to;
        let from = if cur == NONE { None } else { self.owners.get((cur & !WAS) as usize).map(|o| o.id) };
        let to_id = if to & WAS != 0 { None } else { self.owners.get(to as usize).map(|o| o.id) };
        // A server leaving is told with the next one (or never, if none
        // comes); a first server is no change.
        if let (Some(f), Some(t)) = (from, to_id)
            && f != t
        {
            let pass = self.passes.entry((cur & !WAS, to)).or_insert_with(|| vec![0; SLOTS]);
            if let Some(n) = pass.get_mut(slot) {
                *n = n.saturating_add(1);
                changes.entry((f, t)).or_default().push((slot as u16, *n));
            }
        }
    }

    /// Every slot `idx` serves and `keep` does not keep becomes unserved
    /// (in slot order). The table is read 64 slots at a time (a compare
    /// the compiler vectorises) and only until the `owned` slots of `idx`
    /// were all met.
    fn drop_unless(&mut self, idx: u16, keep: impl Fn(usize) -> bool, changes: &mut Changes) {
        let mut left = self.owners.get(idx as usize).map_or(0, |o| o.owned);
        let mut base = 0;
        while left > 0 && base < SLOTS {
            let run = base..base + 64;
            if self.table[run.clone()].iter().fold(false, |a, &x| a | (x == idx)) {
                for s in run {
                    if self.table[s] != idx {
                        continue;
                    }
                    left -= 1;
                    if !keep(s) {
                        self.set(s, idx | WAS, changes);
                        self.version += 1;
                    }
                }
            }
            base += 64;
        }
    }
}

fn contains(ranges: &[(u16, u16)], slot: usize) -> bool {
    ranges.iter().any(|&(a, b)| (a as usize..=b as usize).contains(&slot))
}

/// The slots of `ranges` as bits (slot `s`: bit `s % 64` of word `s / 64`),
/// set a word at a time: a slot's test is one load, not a walk of ranges.
struct SlotSet([u64; SLOTS / 64]);

impl SlotSet {
    fn of(ranges: &[(u16, u16)]) -> SlotSet {
        let mut set = SlotSet([0; SLOTS / 64]);
        for &(a, b) in ranges {
            let (a, b) = (a as usize, (b as usize).min(SLOTS - 1));
            for w in a / 64..=b / 64 {
                let (lo, hi) = (if w == a / 64 { a % 64 } else { 0 }, if w == b / 64 { b % 64 } else { 63 });
                if let Some(word) = set.0.get_mut(w).filter(|_| lo <= hi) {
                    *word |= (u64::MAX << lo) & (u64::MAX >> (63 - hi));
                }
            }
        }
        set
    }

    fn contains(&self, slot: usize) -> bool {
        self.0.get(slot / 64).is_some_and(|w| w >> (slot % 64) & 1 != 0)
    }
}

fn fingerprint(epoch: u64, ranges: &[(u16, u16)]) -> u64 {
    let mut h = FxHasher::default();
    h.write_u64(epoch);
    for &(a, b) in ranges {
        h.write_u16(a);
        h.write_u16(b);
    }
    h.finish()
}

/// Sorted slots as inclusive ranges.
pub(crate) fn ranges_of(slots: &[u16]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &s in slots {
        match out.last_mut() {
            Some(r) if r.1 + 1 == s => r.1 = s,
            _ => out.push((s, s)),
        }
    }
    out
}

/// Every node's view, and the moves read from them.
#[derive(Clone, Debug, Default)]
pub struct SlotViews {
    views: HashMap<NodeId, View>,
    /// from → to: how many passes of each slot were told (the most any
    /// view saw).
    told: HashMap<(NodeId, NodeId), Vec<u8>>,
    moves: Kept<SlotMove>,
}

impl Timed for SlotMove {
    fn ts(&self) -> i64 {
        self.ts_us
    }
}

impl SlotViews {
    /// Bounded to `max` moves kept (the first and the latest).
    pub fn bounded(max: usize) -> Self {
        SlotViews { moves: Kept::new(max), ..SlotViews::default() }
    }

    pub fn moves(&self) -> &Kept<SlotMove> {
        &self.moves
    }

    /// `viewer` heard master `m` claim `slots` with configEpoch `epoch`
    /// (a header, or an UPDATE describing `m`): §9i's rebinding; slots
    /// the view gives `m` that it no longer claims wait for a new server.
    pub fn claim(&mut self, viewer: NodeId, m: NodeId, epoch: u64, slots: &[(u16, u16)], at: &Seen) {
        let view = self.views.entry(viewer).or_insert_with(View::new);
        let Some(idx) = view.index(m) else { return };
        let fp = fingerprint(epoch, slots);
        let version = view.version;
        let o = &mut view.owners[idx as usize];
        o.epoch = o.epoch.max(epoch);
        let changed_claim = o.applied.is_none_or(|(f, _)| f != fp);
        if o.applied == Some((fp, version)) {
            return;
        }
        let mut changes = Changes::new();
        if changed_claim {
            // Only the owner's slots are tested: no set to build.
            view.drop_unless(idx, |s| contains(slots, s), &mut changes);
        }
        for &(a, b) in slots {
            for s in a as usize..=(b as usize).min(SLOTS - 1) {
                let cur = view.table[s];
                let wins = cur == NONE
                    || cur & WAS != 0
                    || (cur != idx && view.owners.get(cur as usize).is_some_and(|c| c.epoch < epoch));
                if wins {
                    view.set(s, idx, &mut changes);
                }
            }
        }
        view.owners[idx as usize].applied = Some((fp, view.version));
        self.record(changes, at);
    }

    /// `viewer`'s own header as a master: it serves exactly `slots` (a
    /// slot it stops claiming went to whoever `best` says claims it now,
    /// when its view does not know yet).
    pub fn own(
        &mut self,
        viewer: NodeId,
        epoch: u64,
        slots: &[(u16, u16)],
        at: &Seen,
        best: impl Fn(u16) -> Option<NodeId>,
    ) {
        let view = self.views.entry(viewer).or_insert_with(View::new);
        let Some(me) = view.index(viewer) else { return };
        let fp = fingerprint(epoch, slots);
        let o = &mut view.owners[me as usize];
        o.epoch = o.epoch.max(epoch);
        if o.applied.is_some_and(|(f, _)| f == fp) {
            return;
        }
        o.applied = Some((fp, view.version));
        let mut changes = Changes::new();
        let set = SlotSet::of(slots);
        for s in 0..SLOTS {
            let mine = view.table[s] == me;
            let claimed = set.contains(s);
            if claimed && !mine {
                view.set(s, me, &mut changes);
            } else if mine && !claimed {
                let to = best(s as u16).filter(|b| *b != viewer).and_then(|b| view.index(b));
                view.set(s, to.unwrap_or(me | WAS), &mut changes);
            }
        }
        view.version += 1;
        self.record(changes, at);
    }

    /// `viewer` heard `n` speak as a replica: what it served waits for a
    /// new server (`clusterDelNodeSlots`).
    pub fn replica(&mut self, viewer: NodeId, n: NodeId, at: &Seen) {
        let Some(view) = self.views.get_mut(&viewer) else { return };
        let Some(&idx) = view.index_of.get(&n) else { return };
        let mut changes = Changes::new();
        view.drop_unless(idx, |_| false, &mut changes);
        view.owners[idx as usize].applied = None;
        self.record(changes, at);
    }

    /// Moves not told yet, from one view's changes.
    fn record(&mut self, changes: Changes, at: &Seen) {
        for ((from, to), slots) in changes {
            let told = self.told.entry((from, to)).or_insert_with(|| vec![0; SLOTS]);
            let mut new: Vec<u16> = Vec::new();
            for (s, n) in slots {
                if let Some(t) = told.get_mut(s as usize)
                    && *t < n
                {
                    *t = n;
                    new.push(s);
                }
            }
            if new.is_empty() {
                continue;
            }
            self.moves.push(SlotMove {
                ts_us: at.ts,
                slots: ranges_of(&new),
                count: new.len() as u32,
                from: Some(from),
                to: Some(to),
                evidence: vec![at.evidence.clone()],
                phase: Phase::Incident,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_consecutive_slots() {
        assert_eq!(ranges_of(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
    }

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn at(ts: i64) -> Seen {
        Seen { ts, evidence: Evidence { capture: "c", frame: ts as u64 } }
    }

    type Told = (i64, Vec<(u16, u16)>, NodeId, Option<NodeId>);

    fn moves(v: &SlotViews) -> Vec<Told> {
        v.moves().iter().map(|m| (m.ts_us, m.slots.clone(), m.from.unwrap(), m.to)).collect()
    }

    #[test]
    fn a_foreign_master_takes_a_dead_masters_slots_in_its_clusters_view() {
        // Cluster A: a1 (0-99, epoch 1) and a dead a3 (100-199, epoch 0);
        // cluster B's b3 serves 100-199 with epoch 4. After the merge a1
        // hears b3: in a1's view 100-199 change from a3 to b3; in b3's
        // own view nothing changes.
        let (a1, a3, b3) = (id(b'1'), id(b'3'), id(b'b'));
        let mut v = SlotViews::default();
        v.own(a1, 1, &[(0, 99)], &at(1), |_| None);
        v.claim(a1, a3, 0, &[(100, 199)], &at(2));
        v.own(b3, 4, &[(100, 199)], &at(3), |_| None);
        assert!(moves(&v).is_empty(), "first servers are no move");
        v.claim(a1, b3, 4, &[(100, 199)], &at(10));
        // Every member of A sees it: one move.
        v.claim(id(b'2'), a3, 0, &[(100, 199)], &at(4));
        v.claim(id(b'2'), b3, 4, &[(100, 199)], &at(11));
        assert_eq!(moves(&v), vec![(10, vec![(100, 199)], a3, Some(b3))]);
    }

    #[test]
    fn slots_changing_hands_back_and_forth_are_each_a_move_once() {
        // x and y collide; y wins with 2, x bumps to 3 and wins back, y
        // bumps to 4 and keeps them. A view seeing it late repeats nothing.
        let (x, y) = (id(b'x'), id(b'y'));
        let mut v = SlotViews::default();
        for (w, t0) in [(id(b'v'), 0), (id(b'w'), 100)] {
            v.claim(w, x, 1, &[(0, 9)], &at(t0 + 1));
            v.claim(w, y, 2, &[(0, 9)], &at(t0 + 2));
            v.claim(w, x, 3, &[(0, 9)], &at(t0 + 3));
            v.claim(w, y, 4, &[(0, 9)], &at(t0 + 4));
        }
        let got: Vec<_> = moves(&v).into_iter().map(|(t, _, f, to)| (t, f, to)).collect();
        assert_eq!(got, vec![(2, x, Some(y)), (3, y, Some(x)), (4, x, Some(y))]);
    }

    #[test]
    fn equal_or_smaller_epochs_do_not_move_a_slot() {
        let (a, b) = (id(b'a'), id(b'b'));
        let mut v = SlotViews::default();
        v.claim(id(b'v'), a, 2, &[(0, 9)], &at(1));
        v.claim(id(b'v'), b, 2, &[(0, 9)], &at(2));
        v.claim(id(b'v'), b, 1, &[(0, 9)], &at(3));
        assert!(moves(&v).is_empty());
    }

    #[test]
    fn a_master_turned_replica_hands_its_slots_to_the_next_server() {
        let (x, y, w) = (id(b'x'), id(b'y'), id(b'w'));
        let mut v = SlotViews::default();
        v.claim(w, x, 1, &[(0, 9)], &at(1));
        v.replica(w, x, &at(2));
        assert!(moves(&v).is_empty(), "no server yet: nothing told");
        // y claims with a smaller epoch: unserved slots go to any claimant.
        v.claim(w, y, 0, &[(0, 9)], &at(3));
        assert_eq!(moves(&v), vec![(3, vec![(0, 9)], x, Some(y))]);
    }

    #[test]
    fn a_slot_set_holds_exactly_the_slots_of_its_ranges() {
        let ranges = [(0, 0), (5, 63), (64, 64), (100, 300), (16320, 16383), (900, 800), (16000, 20000)];
        let set = SlotSet::of(&ranges);
        for s in 0..SLOTS + 2 {
            let want = s < SLOTS && contains(&ranges, s);
            assert_eq!(set.contains(s), want, "slot {s}");
        }
    }

    #[test]
    fn a_changed_claim_frees_the_slots_it_left_wherever_they_are() {
        // x's slots at both ends of the table (the scan stops only once
        // every slot x served was met); it keeps 0-4 and leaves the rest,
        // which go to y even with a smaller epoch.
        let (x, y, w) = (id(b'x'), id(b'y'), id(b'w'));
        let mut v = SlotViews::default();
        v.claim(w, x, 2, &[(0, 9), (70, 70), (16380, 16383)], &at(1));
        v.claim(w, x, 2, &[(0, 4)], &at(2));
        v.claim(w, y, 1, &[(0, 16383)], &at(3));
        assert_eq!(moves(&v), vec![(3, vec![(5, 9), (70, 70), (16380, 16383)], x, Some(y))]);
    }

    #[test]
    fn a_promoted_replica_takes_its_masters_slots_in_its_own_view() {
        let (m, r) = (id(b'm'), id(b'r'));
        let mut v = SlotViews::default();
        // As a replica, r's header carries its master's claim.
        v.claim(r, m, 3, &[(10923, 16383)], &at(1));
        v.own(r, 6, &[(10923, 16383)], &at(5), |_| None);
        assert_eq!(moves(&v), vec![(5, vec![(10923, 16383)], m, Some(r))]);
    }
}
