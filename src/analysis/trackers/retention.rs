//! What the analysis keeps when a capture (or a `watch` run of days)
//! brings more than its bounds allow, and what it dropped. Two bounds,
//! both in [`Bounds`] (CLI `--max-events`, `--max-nodes`):
//! - each list of events (findings of one kind, role changes, slot moves)
//!   keeps its first and its latest entries, half the bound each; the ones
//!   between are counted with their time span ([`Kept`]);
//! - node ids past `max_nodes` are not tracked: their messages and the
//!   gossip entries, replica-of, FAIL, UPDATE and forget fields that name
//!   them are counted and ignored ([`Tracked`]).

use crate::analysis::config::{Bounds, DEFAULT_MAX_EVENTS};
use crate::analysis::model::{Dropped, Finding, FindingKind, NodeId, Retention};
use crate::events::BusMessage;
use crate::events::numbered::{PerSource, WireNumbers};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

/// Something that happened at a time.
pub trait Timed {
    fn ts(&self) -> i64;
}

/// A list bounded to its first `cap / 2` and latest `cap - cap / 2`
/// entries.
#[derive(Clone, Debug)]
pub struct Kept<T> {
    cap: usize,
    first: Vec<T>,
    latest: VecDeque<T>,
    dropped: Dropped,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { cap: DEFAULT_MAX_EVENTS, first: Vec::new(), latest: VecDeque::new(), dropped: Dropped::default() }
    }
}

impl<T: Timed> Kept<T> {
    pub fn new(cap: usize) -> Self {
        Kept { cap: cap.max(2), first: Vec::new(), latest: VecDeque::new(), dropped: Dropped::default() }
    }

    pub fn push(&mut self, x: T) {
        if self.first.len() < self.cap / 2 {
            self.first.push(x);
            return;
        }
        self.latest.push_back(x);
        if self.latest.len() > self.cap - self.cap / 2
            && let Some(old) = self.latest.pop_front()
        {
            self.dropped.note(old.ts());
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(self.latest.iter())
    }

    /// What was not kept (count 0: nothing).
    pub fn dropped(&self) -> &Dropped {
        &self.dropped
    }

    pub fn into_parts(self) -> (Vec<T>, Dropped) {
        let mut v = self.first;
        v.extend(self.latest);
        (v, self.dropped)
    }
}

impl<T: Timed + Clone> Kept<T> {
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().cloned().collect()
    }
}

impl Dropped {
    fn note(&mut self, ts: i64) {
        if self.count == 0 {
            self.first_ts_us = ts;
            self.last_ts_us = ts;
        }
        self.count += 1;
        self.first_ts_us = self.first_ts_us.min(ts);
        self.last_ts_us = self.last_ts_us.max(ts);
    }

    fn absorb(&mut self, o: &Dropped) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = o.clone();
            return;
        }
        self.count += o.count;
        self.first_ts_us = self.first_ts_us.min(o.first_ts_us);
        self.last_ts_us = self.last_ts_us.max(o.last_ts_us);
    }
}

impl Timed for Finding {
    fn ts(&self) -> i64 {
        self.ts_us
    }
}

/// The findings made while streaming, bounded per kind (the first and the
/// latest of each kind are kept).
#[derive(Clone, Debug, Default)]
pub struct KeptFindings {
    cap: usize,
    by_kind: BTreeMap<FindingKind, Kept<Finding>>,
}

impl KeptFindings {
    pub fn new(cap: usize) -> Self {
        KeptFindings { cap, by_kind: BTreeMap::new() }
    }

    pub fn push(&mut self, f: Finding) {
        let cap = if self.cap == 0 { DEFAULT_MAX_EVENTS } else { self.cap };
        self.by_kind.entry(f.kind).or_insert_with(|| Kept::new(cap)).push(f);
    }

    /// Every finding kept (kind by kind), and what each kind dropped.
    pub fn into_parts(self) -> (Vec<Finding>, BTreeMap<FindingKind, Dropped>) {
        let mut all = Vec::new();
        let mut dropped = BTreeMap::new();
        for (k, kept) in self.by_kind {
            let (v, d) = kept.into_parts();
            all.extend(v);
            if d.count > 0 {
                dropped.insert(k, d);
            }
        }
        (all, dropped)
    }
}

impl Extend<Finding> for KeptFindings {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, iter: I) {
        iter.into_iter().for_each(|f| self.push(f));
    }
}

/// Bounds `findings` (already sorted by time) per kind: the first and the
/// latest of each kind are kept, in their order; adds what was dropped to
/// `dropped`.
pub fn bound_findings(
    findings: Vec<Finding>,
    cap: usize,
    dropped: &mut BTreeMap<FindingKind, Dropped>,
) -> Vec<Finding> {
    let mut per: BTreeMap<FindingKind, usize> = BTreeMap::new();
    for f in &findings {
        *per.entry(f.kind).or_default() += 1;
    }
    if per.values().all(|&n| n <= cap.max(2)) {
        return findings;
    }
    let mut seen: BTreeMap<FindingKind, usize> = BTreeMap::new();
    let cap = cap.max(2);
    findings
        .into_iter()
        .filter(|f| {
            let total = per[&f.kind];
            let i = seen.entry(f.kind).or_default();
            *i += 1;
            let keep = total <= cap || *i <= cap / 2 || *i > total - (cap - cap / 2);
            if !keep {
                dropped.entry(f.kind).or_default().note(f.ts_us);
            }
            keep
        })
        .collect()
}

/// The node ids tracked, up to the bound.
#[derive(Clone, Debug, Default)]
pub struct Tracked {
    max: usize,
    ids: rustc_hash::FxHashSet<NodeId>,
    /// Per reading thread's numbering: its node numbers seen tracked.
    wire: PerSource<Vec<bool>>,
    /// Messages ignored (sender not tracked) and ids named in tracked
    /// senders' messages but ignored.
    pub messages_ignored: u64,
    pub mentions_ignored: u64,
}

impl Tracked {
    pub fn new(max: usize) -> Self {
        Tracked { max: max.max(1), ..Tracked::default() }
    }

    /// Whether `n` is tracked; tracks it while there is room.
    fn admit(&mut self, n: NodeId) -> bool {
        admit(&mut self.ids, self.max, n)
    }

    /// `m` as the analysis may see it: `None` when its sender is not
    /// tracked; without the fields naming ids not tracked. `wire`: its
    /// gossip's numbers in its reading thread (an id tracked once is
    /// tracked for good, so a number seen tracked is not asked again).
    pub fn admit_message<'m>(
        &mut self,
        sender: NodeId,
        m: &'m BusMessage,
        wire: Option<WireNumbers<'_>>,
    ) -> Option<Cow<'m, BusMessage>> {
        if !self.admit(sender) {
            self.messages_ignored += 1;
            return None;
        }
        let mut all = true;
        match wire.filter(|w| w.gossip.len() == m.gossip.len()) {
            Some(w) => {
                let seen = self.wire.of(w.source);
                for (g, &(k, _)) in m.gossip.iter().zip(w.gossip) {
                    let k = k as usize;
                    if seen.get(k).is_some_and(|&t| t) {
                        continue;
                    }
                    let tracked = admit(&mut self.ids, self.max, g.node);
                    all &= tracked;
                    if tracked {
                        if seen.len() <= k {
                            seen.resize(k + 1, false);
                        }
                        seen[k] = true;
                    }
                }
            }
            None => {
                for g in &m.gossip {
                    all &= self.admit(g.node);
                }
            }
        }
        for n in m.replicaof.iter().chain(m.fail_node.iter()).chain(m.update.iter().map(|u| &u.0)) {
            all &= self.admit(*n);
        }
        for n in &m.forgotten {
            all &= self.admit(n.0);
        }
        if all {
            return Some(Cow::Borrowed(m));
        }
        let mut m = m.clone();
        let before = m.gossip.len() + m.forgotten.len();
        m.gossip.retain(|g| self.ids.contains(&g.node));
        m.forgotten.retain(|f| self.ids.contains(&f.0));
        self.mentions_ignored += (before - m.gossip.len() - m.forgotten.len()) as u64;
        for n in [&mut m.replicaof, &mut m.fail_node] {
            if n.is_some_and(|x| !self.ids.contains(&x)) {
                *n = None;
                self.mentions_ignored += 1;
            }
        }
        if m.update.as_ref().is_some_and(|u| !self.ids.contains(&u.0)) {
            m.update = None;
            self.mentions_ignored += 1;
        }
        Some(Cow::Owned(m))
    }
}

/// Whether `n` is in `ids`; put there while they are fewer than `max`.
fn admit(ids: &mut rustc_hash::FxHashSet<NodeId>, max: usize, n: NodeId) -> bool {
    if ids.contains(&n) {
        return true;
    }
    if ids.len() >= max {
        return false;
    }
    ids.insert(n);
    true
}

/// What the bounds dropped, for the [`Analysis`](crate::analysis::model::Analysis).
pub fn retention(
    bounds: Bounds,
    findings: BTreeMap<FindingKind, Dropped>,
    role_changes: &Dropped,
    slot_moves: &Dropped,
    tracked: &Tracked,
) -> Retention {
    let mut r = Retention {
        max_events: bounds.max_events,
        max_nodes: bounds.max_nodes,
        findings: findings.into_iter().map(|(k, d)| (k.as_str().to_string(), d)).collect(),
        role_changes: Dropped::default(),
        slot_moves: Dropped::default(),
        messages_ignored: tracked.messages_ignored,
        node_mentions_ignored: tracked.mentions_ignored,
    };
    r.role_changes.absorb(role_changes);
    r.slot_moves.absorb(slot_moves);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Timed for i64 {
        fn ts(&self) -> i64 {
            *self
        }
    }

    /// With the reading thread's numbers (which start over) the same ids
    /// are tracked, the same entries dropped, in the same order.
    #[test]
    fn wire_numbers_track_the_same_ids() {
        use crate::events::numbered::{WireNumbers, WireSource};
        use crate::events::{Gossip, NodeAddr};
        let id = |c: u8| NodeId([b'a' + c; 40]);
        let entry = |c: u8| Gossip { node: id(c), addr: NodeAddr::default(), flags: 0, ping_sent: 0, pong_received: 0 };
        let (mut wired, mut plain) = (Tracked::new(6), Tracked::new(6));
        let mut source = WireSource { stream: 1, generation: 0 };
        for k in 0..30u8 {
            if k % 7 == 6 {
                source.generation += 1;
            }
            let mut m = BusMessage::empty();
            m.gossip = (0..3).map(|j| entry((k * 2 + j * 3) % 9)).collect();
            // The reading thread numbers ids by a rule of its own.
            let wire: Vec<(u32, u32)> = m.gossip.iter().map(|g| (u32::from(g.node.0[0] - b'a' + 1) * 3, 0)).collect();
            let w = WireNumbers { source, gossip: &wire };
            let got = wired.admit_message(id(k % 4), &m, Some(w)).map(|c| c.into_owned());
            let want = plain.admit_message(id(k % 4), &m, None).map(|c| c.into_owned());
            assert_eq!(got, want, "message {k}");
        }
        assert_eq!((wired.ids.len(), wired.mentions_ignored), (plain.ids.len(), plain.mentions_ignored));
        assert!(plain.mentions_ignored > 0, "the bound was reached");
    }

    #[test]
    fn a_kept_list_holds_its_first_and_latest_entries_and_counts_the_rest() {
        let mut k = Kept::new(4);
        (1..=3).for_each(|t| k.push(t));
        assert_eq!(k.to_vec(), vec![1, 2, 3]);
        assert_eq!(k.dropped().count, 0);
        (4..=10i64).for_each(|t| k.push(t));
        assert_eq!(k.to_vec(), vec![1, 2, 9, 10]);
        assert_eq!((k.dropped().count, k.dropped().first_ts_us, k.dropped().last_ts_us), (6, 3, 8));
    }

    #[test]
    fn findings_are_bounded_per_kind_in_time_order() {
        let f = |kind, ts| Finding::about(kind, ts, vec![], String::new(), vec![]);
        let mut v: Vec<_> = (0..10).map(|t| f(FindingKind::EpochBump, t)).collect();
        v.push(f(FindingKind::Failover, 5));
        v.sort_by_key(|x| x.ts_us);
        let mut dropped = BTreeMap::new();
        let kept = bound_findings(v, 4, &mut dropped);
        let ts: Vec<i64> = kept.iter().filter(|x| x.kind == FindingKind::EpochBump).map(|x| x.ts_us).collect();
        assert_eq!(ts, vec![0, 1, 8, 9]);
        assert!(kept.iter().any(|x| x.kind == FindingKind::Failover));
        let d = &dropped[&FindingKind::EpochBump];
        assert_eq!((d.count, d.first_ts_us, d.last_ts_us), (6, 2, 7));
        assert!(!dropped.contains_key(&FindingKind::Failover));
    }
}
