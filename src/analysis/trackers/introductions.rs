//! Introductions: the first moment each learner knew each node and how, one
//! constructor per mechanism, and the chain of introductions behind one
//! (patient zero first).

use super::knowledge::Heard;
use crate::analysis::model::{Evidence, Introduction, NodeAddr, NodeId, Via};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// Knowledge shown this soon after a learner is first seen predates the
/// capture.
pub const PRIOR_WINDOW_US: i64 = 5_000_000;

fn bare(ts_us: i64, learner: NodeId, node: NodeId, via: Via, evidence: Vec<Evidence>) -> Introduction {
    Introduction {
        ts_us,
        learner,
        node,
        via,
        introducer: None,
        address: None,
        answered_by: None,
        gossip_named: None,
        command: None,
        evidence,
    }
}

/// `l` received a MEET from unknown `n` and recorded it at `address`.
pub fn meet(ts: i64, l: NodeId, n: NodeId, address: NodeAddr, evd: Evidence) -> Introduction {
    Introduction { address: Some(address), ..bare(ts, l, n, Via::Meet, vec![evd]) }
}

/// Valkey 8+: `l` added `g` from the gossip of a MEET sent by `s`.
pub fn meet_gossip(ts: i64, l: NodeId, s: NodeId, g: NodeId, address: NodeAddr, evd: Evidence) -> Introduction {
    Introduction {
        introducer: Some(s),
        address: Some(address),
        gossip_named: Some(g),
        ..bare(ts, l, g, Via::MeetGossip, vec![evd])
    }
}

/// `l` showed it knew `n` without a handshake in the capture: from
/// gossip it heard (`heard`), or else before the capture (`prior`) or
/// through traffic the capture does not contain.
pub fn hearsay(ts: i64, l: NodeId, n: NodeId, heard: Option<&Heard>, prior: bool, evd: Evidence) -> Introduction {
    match heard {
        Some(h) => Introduction {
            introducer: Some(h.introducer),
            address: Some(h.addr.clone()),
            gossip_named: Some(n),
            ..bare(h.ts, l, n, Via::Gossip, vec![h.evidence.clone(), evd])
        },
        None => bare(ts, l, n, if prior { Via::Prior } else { Via::Unobserved }, vec![evd]),
    }
}

/// The dial of `l` to `address` that `w` answered.
pub struct AnsweredDial {
    pub ts: i64,
    pub learner: NodeId,
    pub answered_by: NodeId,
    pub address: NodeAddr,
    /// Evidence of the first message and of the answer.
    pub evidence: [Evidence; 2],
}

/// A MEET dial: the operator's `CLUSTER MEET` (with the command and its
/// evidence when captured).
pub fn operator_meet(d: AnsweredDial, command: Option<(String, Evidence)>) -> Introduction {
    let mut evidence = d.evidence.to_vec();
    let command = command.map(|(text, evd)| {
        evidence.insert(0, evd);
        text
    });
    Introduction {
        address: Some(d.address),
        answered_by: Some(d.answered_by),
        command,
        ..bare(d.ts, d.learner, d.answered_by, Via::OperatorMeet, evidence)
    }
}

/// A MEET dial to an address `h` gossiped: a blind handshake that adopts
/// whoever answers.
pub fn gossip_handshake(d: AnsweredDial, h: &Heard) -> Introduction {
    let mut evidence = d.evidence.to_vec();
    evidence.insert(0, h.evidence.clone());
    Introduction {
        introducer: Some(h.introducer),
        address: Some(d.address),
        answered_by: Some(d.answered_by),
        gossip_named: Some(h.node),
        ..bare(d.ts, d.learner, d.answered_by, Via::Gossip, evidence)
    }
}

/// Gossip-add (5.0.10+): `l` added `h.node` under the gossiped id; the
/// PING dial only checked the address, whoever answered.
pub fn gossip_add(d: AnsweredDial, h: &Heard) -> Introduction {
    let [dial, answer] = d.evidence;
    Introduction {
        introducer: Some(h.introducer),
        address: Some(h.addr.clone()),
        answered_by: Some(d.answered_by),
        gossip_named: Some(h.node),
        ..bare(h.ts, d.learner, h.node, Via::Gossip, vec![h.evidence.clone(), dial, answer])
    }
}

/// `l` adopted `w`, which answered its dial of `address` where `l`
/// expected `named` (told by `introducer`, when known).
pub fn adoption(
    d: AnsweredDial,
    named: NodeId,
    introducer: Option<NodeId>,
    mut evidence: Vec<Evidence>,
    evd: Evidence,
) -> Introduction {
    evidence.push(evd);
    Introduction {
        introducer,
        address: Some(d.address),
        answered_by: Some(d.answered_by),
        gossip_named: Some(named),
        ..bare(d.ts, d.learner, d.answered_by, Via::Gossip, evidence)
    }
}

/// One event seen from several captures is dated within this much.
const SAME_FACT_US: i64 = 100_000;
/// Introductions a late command looks back through (the latest first).
const ATTACH_LOOKBACK: usize = 4096;

/// `other` is `first` seen from another capture (about the same moment,
/// and the same mechanism, or both a dial that was answered: a capture
/// that did not see the gossip behind a dial takes it for an operator's):
/// its evidence joins, and its command if `first` had none.
fn absorb(first: &mut Introduction, other: Introduction) {
    let dial = |i: &Introduction| matches!(i.via, Via::OperatorMeet | Via::Gossip) && i.answered_by.is_some();
    let same = first.via == other.via || (dial(first) && dial(&other));
    if !same || (first.ts_us - other.ts_us).abs() > SAME_FACT_US {
        return;
    }
    // Each capture adds its first sighting (a dial and its answer, or
    // gossip, dial and answer: at most `FRAMES_PER_CAPTURE` frames); the
    // same introduction seen again later (a gossip re-dialled) adds
    // nothing. An operator MEET's command frame, first, is not counted.
    let mut evidence = other.evidence;
    if first.command.is_none() && other.command.is_some() && first.via == Via::OperatorMeet {
        first.command = other.command;
        // An operator MEET's evidence starts with its command.
        if !evidence.is_empty() {
            first.evidence.insert(0, evidence.remove(0));
        }
    }
    let command = usize::from(first.command.is_some() && first.via == Via::OperatorMeet);
    for e in evidence {
        let from_capture = first.evidence.iter().skip(command).filter(|x| x.capture == e.capture).count();
        if from_capture < FRAMES_PER_CAPTURE && !first.evidence.contains(&e) {
            first.evidence.push(e);
        }
    }
}

/// Frames one capture gives one introduction.
const FRAMES_PER_CAPTURE: usize = 3;

/// Every first introduction, in the order recorded.
#[derive(Clone, Debug, Default)]
pub struct Introductions {
    list: Vec<Introduction>,
    /// (learner, node) → index in `list`.
    known: HashMap<(NodeId, NodeId), usize>,
    /// The same pairs as bits, for the question asked of every gossip
    /// entry: per learner number, a bit per node number (numbers from
    /// `number`). A table of a few bits per pair stays in cache where the
    /// pair table (96 bytes a pair) does not.
    bits: Vec<Vec<u64>>,
    number: HashMap<NodeId, u32>,
}

/// What one learner knows (see [`Introductions::of`]).
pub struct Known<'a> {
    row: &'a [u64],
    number: &'a HashMap<NodeId, u32>,
}

impl Known<'_> {
    /// The learner already knows `n`.
    pub fn knows(&self, n: NodeId) -> bool {
        self.number.get(&n).is_some_and(|&i| self.row.get(i as usize / 64).is_some_and(|w| w >> (i % 64) & 1 == 1))
    }
}

impl Introductions {
    /// `l` already knows `n`.
    pub fn knows(&self, l: NodeId, n: NodeId) -> bool {
        self.of(l).knows(n)
    }

    /// What `l` knows (for many questions about one learner).
    pub fn of(&self, l: NodeId) -> Known<'_> {
        self.of_number(self.learner_number(l))
    }

    /// `l`'s number here (`None`: it knows nobody yet); it never changes
    /// once given.
    pub fn learner_number(&self, l: NodeId) -> Option<u32> {
        self.number.get(&l).copied()
    }

    /// What the learner numbered `l` knows.
    pub fn of_number(&self, l: Option<u32>) -> Known<'_> {
        let row = l.and_then(|i| self.bits.get(i as usize)).map_or(&[][..], |r| &r[..]);
        Known { row, number: &self.number }
    }

    fn number_of(&mut self, n: NodeId) -> usize {
        let next = self.number.len() as u32;
        *self.number.entry(n).or_insert(next) as usize
    }

    /// Records a first introduction; `None` when it is not one. The same
    /// introduction seen from another capture (same mechanism, about the
    /// same moment) adds its evidence and command to the first: evidence
    /// is never lost by giving more captures.
    pub fn record(&mut self, intro: Introduction) -> Option<usize> {
        let key = (intro.learner, intro.node);
        if key.0 == key.1 {
            return None;
        }
        if let Some(&i) = self.known.get(&key) {
            if let Some(first) = self.list.get_mut(i) {
                absorb(first, intro);
            }
            return None;
        }
        let idx = self.list.len();
        self.known.insert(key, idx);
        self.list.push(intro);
        let (l, n) = (self.number_of(key.0), self.number_of(key.1));
        if self.bits.len() <= l {
            self.bits.resize_with(l + 1, Vec::new);
        }
        let row = &mut self.bits[l];
        if row.len() <= n / 64 {
            row.resize(n / 64 + 1, 0);
        }
        row[n / 64] |= 1 << (n % 64);
        Some(idx)
    }

    pub fn all(&self) -> &[Introduction] {
        &self.list
    }

    /// `l`'s introduction to `n` is `via`, first seen about `ts` (the same
    /// event seen from another capture).
    pub fn same_fact(&self, l: NodeId, n: NodeId, via: Via, ts: i64) -> bool {
        self.known
            .get(&(l, n))
            .and_then(|&i| self.list.get(i))
            .is_some_and(|i| i.via == via && (i.ts_us - ts).abs() <= SAME_FACT_US)
    }

    /// An operator's command seen after the MEET it caused (another
    /// capture saw the MEET first): it joins the first operator MEET
    /// without a command that `caused` accepts, looking back from the
    /// latest introduction. Returns whether one took it.
    pub fn attach_command(&mut self, caused: impl Fn(&Introduction) -> bool, text: &str, evd: Evidence) -> bool {
        let found = self
            .list
            .iter_mut()
            .rev()
            .take(ATTACH_LOOKBACK)
            .find(|i| i.via == Via::OperatorMeet && i.command.is_none() && caused(i));
        match found {
            Some(i) => {
                i.command = Some(text.to_string());
                i.evidence.insert(0, evd);
                true
            }
            None => false,
        }
    }

    /// How `l` first learned `n`, if it did.
    pub fn via(&self, l: NodeId, n: NodeId) -> Option<Via> {
        self.known.get(&(l, n)).and_then(|i| self.list.get(*i)).map(|i| i.via)
    }

    /// The nodes `l` knows, sorted.
    pub fn known_by(&self, l: &NodeId) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.known.keys().filter(|(x, _)| x == l).map(|(_, n)| *n).collect();
        v.sort();
        v
    }

    /// The introductions behind `idx`, as indices, patient zero first: for
    /// a gossip hop, how the introducer knew the node; for a MEET received,
    /// why the sender dialled the learner.
    fn chain_indices(&self, idx: usize) -> Vec<usize> {
        let mut out = vec![idx];
        let mut seen = BTreeSet::from([idx]);
        let mut cur = idx;
        loop {
            let i = &self.list[cur];
            let prev_key = match i.via {
                Via::Gossip | Via::MeetGossip => i.introducer.map(|intro| (intro, i.gossip_named.unwrap_or(i.node))),
                Via::Meet => Some((i.node, i.learner)),
                Via::OperatorMeet | Via::Prior | Via::Unobserved => None,
            };
            let Some(&p) = prev_key.and_then(|k| self.known.get(&k)) else { break };
            if !seen.insert(p) || self.list[p].via == Via::Prior {
                break;
            }
            out.push(p);
            cur = p;
        }
        out.reverse();
        out
    }

    /// The chain behind the introduction that fused two groups, with each
    /// earlier step that brought one of its two nodes into its group
    /// abnormally: adopted where it answered at an address gossiped for
    /// another node (a reused or shared address). Those come first: they
    /// are the root cause, not the legitimate step that completed the
    /// merge.
    pub fn merge_chain(&self, idx: usize) -> Vec<Introduction> {
        self.merge_chain_indices(idx).into_iter().map(|k| self.list[k].clone()).collect()
    }

    fn merge_chain_indices(&self, idx: usize) -> Vec<usize> {
        let mut ids = self.chain_indices(idx);
        let link = &self.list[idx];
        let mut extra = Vec::new();
        for x in [link.learner, link.node] {
            let adopted = self.list.iter().enumerate().find(|(j, i)| {
                i.node == x && i.ts_us <= link.ts_us && !ids.contains(j) && i.answered_by_other().is_some()
            });
            // The adoption itself: how the adopter knew the address is
            // the cluster's normal history.
            if let Some((j, _)) = adopted {
                extra.push(j);
            }
        }
        if extra.is_empty() {
            return ids;
        }
        extra.dedup();
        extra.append(&mut ids);
        // Time order, patient zero first (stable for simultaneous steps).
        extra.sort_by_key(|&k| self.list[k].ts_us);
        extra.dedup();
        extra
    }

    /// Time of the first introduction of the merge chain behind `idx`,
    /// leaving out the steps `creation` says built a cluster (a chain may
    /// reach back to how a gossiped node first joined its own cluster).
    pub fn chain_start(&self, idx: usize, creation: impl Fn(usize) -> bool) -> i64 {
        let steps = self.merge_chain_indices(idx);
        let incident = steps.iter().filter(|&&k| k == idx || !creation(k));
        incident.filter_map(|&k| self.list.get(k)).map(|i| i.ts_us).min().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NodeAddr;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn evd(frame: u64) -> Evidence {
        Evidence { capture: "c", frame }
    }

    #[test]
    fn only_first_introductions_count() {
        let mut i = Introductions::default();
        assert_eq!(i.record(meet(1, id(b'a'), id(b'b'), NodeAddr::default(), evd(1))), Some(0));
        assert_eq!(i.record(meet(2, id(b'a'), id(b'b'), NodeAddr::default(), evd(2))), None);
        assert_eq!(i.record(meet(3, id(b'a'), id(b'a'), NodeAddr::default(), evd(3))), None);
        assert!(i.knows(id(b'a'), id(b'b')) && !i.knows(id(b'b'), id(b'a')));
    }

    #[test]
    fn chain_follows_gossip_back_to_patient_zero() {
        let (a, b, c) = (id(b'a'), id(b'b'), id(b'c'));
        let mut i = Introductions::default();
        let d = AnsweredDial {
            ts: 1,
            learner: a,
            answered_by: c,
            address: NodeAddr { ip: "c".into(), port: 1, cport: 2, pport: 0 },
            evidence: [evd(1), evd(2)],
        };
        i.record(operator_meet(d, None));
        let h = Heard {
            ts: 5,
            introducer: a,
            node: c,
            addr: NodeAddr { ip: "c".into(), port: 1, cport: 2, pport: 0 },
            evidence: evd(5),
        };
        let last = i.record(hearsay(6, b, c, Some(&h), false, evd(6))).unwrap();
        let chain = i.merge_chain(last);
        assert_eq!(
            chain.iter().map(|x| (x.learner, x.via)).collect::<Vec<_>>(),
            vec![(a, Via::OperatorMeet), (b, Via::Gossip)]
        );
        assert_eq!(i.chain_start(last, |_| false), 1);
        // The first step built a's cluster: the incident begins with the link.
        let link_ts = chain[1].ts_us;
        assert!(link_ts > 1);
        assert_eq!(i.chain_start(last, |k| k == 0), link_ts);
        assert_eq!(i.chain_start(last, |_| true), link_ts);
    }
}
