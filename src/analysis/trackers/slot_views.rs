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
    passes: HashMap<(u16, u16), SlotCounts>,
}

/// When and where a claim was seen.
pub struct Seen {
    pub ts: i64,
    pub evidence: Evidence,
}

/// A count per slot, kept over the span of the slots counted so far
/// only: a pass from one server to another covers that server's few
/// ranges (at 100 nodes, 2,606 passes of 16,384 counts each were 43 MB,
/// half of the run's memory).
#[derive(Clone, Debug, Default)]
struct SlotCounts {
    first: usize,
    counts: Vec<u8>,
}

impl SlotCounts {
    /// `slot`'s count (0 until counted), room made for it.
    fn at(&mut self, slot: usize) -> &mut u8 {
        if self.counts.is_empty() {
            self.first = slot;
        } else if slot < self.first {
            self.counts.splice(0..0, std::iter::repeat_n(0, self.first - slot));
            self.first = slot;
        }
        let i = slot - self.first;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        &mut self.counts[i]
    }
}

/// Changes one update made in one view: (from, to) → slots, each with
/// how many times this view has now seen it pass from → to. The count
/// tells a change seen again in another view (every member of a cluster
/// sees it: the same pass) from a change back and forth (x → y → x → y
/// is a second pass x → y), whatever configEpoch each view heard the
/// winner with.
/// Kept by the pair's owner indices in the view while the update runs
/// (a slot's change finds its pair without comparing ids; an update makes
/// a few pairs), listed by (from, to) ids at the end.
#[derive(Default)]
struct Changes(Vec<Pair>);

/// (from, to) owner indices, their ids, and the slots that passed.
type Pair = ((u16, u16), (NodeId, NodeId), Vec<(u16, u8)>);

impl Changes {
    fn push(&mut self, owners: (u16, u16), ids: (NodeId, NodeId), slot: u16, n: u8) {
        let i = match self.0.iter().rposition(|(o, _, _)| *o == owners) {
            Some(i) => i,
            None => {
                self.0.push((owners, ids, Vec::new()));
                self.0.len() - 1
            }
        };
        self.0[i].2.push((slot, n));
    }

    /// ((from, to), slots), in (from, to) order.
    fn by_ids(mut self) -> impl Iterator<Item = ((NodeId, NodeId), Vec<(u16, u8)>)> {
        self.0.sort_unstable_by_key(|(_, ids, _)| *ids);
        self.0.into_iter().map(|(_, ids, slots)| (ids, slots))
    }
}

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
        // A server leaving is told with the next one (or never, if none
        // comes); a first server is no change.
        if cur == NONE || to & WAS != 0 {
            return;
        }
        let from = self.owners.get((cur & !WAS) as usize).map(|o| &o.id);
        if let (Some(&f), Some(&t)) = (from, self.owners.get(to as usize).map(|o| &o.id))
            && f != t
        {
            let n = self.passes.entry((cur & !WAS, to)).or_default().at(slot);
            *n = n.saturating_add(1);
            changes.push((cur & !WAS, to), (f, t), slot as u16, *n);
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
    told: HashMap<(NodeId, NodeId), SlotCounts>,
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
        let mut changes = Changes::default();
        if changed_claim {
            // Only the owner's slots are tested: no set to build.
            view.drop_unless(idx, |s| contains(slots, s), &mut changes);
        }
        for &(a, b) in slots {
            let (a, b) = (a as usize, (b as usize).min(SLOTS - 1));
            // 64 slots at a time: a run the view already gives `m` is
            // skipped with one (vectorised) compare.
            for run in (a..=b).step_by(64).map(|lo| lo..(lo + 64).min(b + 1)) {
                if view.table[run.clone()].iter().fold(true, |all, &x| all & (x == idx)) {
                    continue;
                }
                for s in run {
                    let cur = view.table[s];
                    let wins = cur == NONE
                        || cur & WAS != 0
                        || (cur != idx && view.owners.get(cur as usize).is_some_and(|c| c.epoch < epoch));
                    if wins {
                        view.set(s, idx, &mut changes);
                    }
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
        let mut changes = Changes::default();
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
        let mut changes = Changes::default();
        view.drop_unless(idx, |_| false, &mut changes);
        view.owners[idx as usize].applied = None;
        self.record(changes, at);
    }

    /// Moves not told yet, from one view's changes.
    fn record(&mut self, changes: Changes, at: &Seen) {
        for ((from, to), slots) in changes.by_ids() {
            let told = self.told.entry((from, to)).or_default();
            let mut new: Vec<u16> = Vec::new();
            for (s, n) in slots {
                let t = told.at(s as usize);
                if *t < n {
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
#[path = "slot_views_tests.rs"]
mod tests;
