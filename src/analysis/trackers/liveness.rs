//! Liveness: what shows that a node is gone, and how its failure went: the
//! connections it closed itself (a FIN or RST from its side: a killed
//! process closes every socket), its peers' gossip calling it `fail?`
//! (PFAIL) or `fail` since it was last heard, and the elections its
//! replicas held (FAILOVER_AUTH_REQUEST and the votes, AUTH_ACK, that
//! answered them; protocol notes §9j). Silence alone is not shown gone: a
//! live node whose links the capture does not see is silent too.

use crate::analysis::model::{Evidence, NodeId};
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};

/// Peers calling a node PFAIL or FAIL in their gossip since it was last
/// heard: the first of them (a run starts again once the node is heard).
#[derive(Clone, Debug)]
pub struct Suspicion {
    /// First gossip of the run calling it `fail?` or `fail`.
    pub first_ts: i64,
    pub by: NodeId,
    /// Latest gossip calling it so.
    pub last_ts: i64,
}

/// One election: a replica asking the masters for votes in one epoch.
#[derive(Clone, Debug)]
pub struct Election {
    pub first_ts: i64,
    /// The epoch it asked in (the request's currentEpoch).
    pub epoch: u64,
    /// The master it wanted to replace (the request's replica-of).
    pub master: Option<NodeId>,
    /// The nodes its request reached.
    pub asked: BTreeSet<NodeId>,
    /// The masters that voted for it (AUTH_ACK).
    pub voters: BTreeSet<NodeId>,
    pub evidence: Evidence,
}

#[derive(Clone, Debug, Default)]
pub struct Liveness {
    /// Latest FIN or RST a node sent.
    closed: HashMap<NodeId, i64>,
    suspected: HashMap<NodeId, Suspicion>,
    /// (replica, epoch) → its election.
    elections: BTreeMap<(NodeId, u64), Election>,
}

/// Elections remembered (each is a failover attempt: few).
const ELECTIONS_CAP: usize = 10_000;

impl Liveness {
    /// `node` closed its side of a connection (FIN or RST) at `ts`.
    pub fn closed(&mut self, node: NodeId, ts: i64) {
        let t = self.closed.entry(node).or_insert(ts);
        *t = (*t).max(ts);
    }

    /// `by` gossiped `node` as PFAIL or FAIL; `last_seen` is when `node`
    /// itself was last heard (a run of suspicion starts after it).
    pub fn suspected(&mut self, node: NodeId, by: NodeId, ts: i64, last_seen: Option<i64>) {
        match self.suspected.get_mut(&node) {
            Some(s) if last_seen.is_none_or(|l| s.first_ts > l) => s.last_ts = s.last_ts.max(ts),
            _ => {
                self.suspected.insert(node, Suspicion { first_ts: ts, by, last_ts: ts });
            }
        }
    }

    /// A FAILOVER_AUTH_REQUEST from `replica` in `epoch` reached `to`.
    pub fn requested(
        &mut self,
        replica: NodeId,
        to: NodeId,
        epoch: u64,
        master: Option<NodeId>,
        ts: i64,
        evd: &Evidence,
    ) {
        if self.elections.len() >= ELECTIONS_CAP && !self.elections.contains_key(&(replica, epoch)) {
            return;
        }
        let e = self.elections.entry((replica, epoch)).or_insert_with(|| Election {
            first_ts: ts,
            epoch,
            master,
            asked: BTreeSet::new(),
            voters: BTreeSet::new(),
            evidence: evd.clone(),
        });
        e.asked.insert(to);
    }

    /// `voter`'s FAILOVER_AUTH_ACK reached `replica` in `epoch`.
    pub fn voted(&mut self, replica: NodeId, voter: NodeId, epoch: u64) {
        if let Some(e) = self.elections.get_mut(&(replica, epoch)) {
            e.voters.insert(voter);
        }
    }

    /// When the node last closed a connection itself.
    pub fn closed_at(&self, node: &NodeId) -> Option<i64> {
        self.closed.get(node).copied()
    }

    /// The latest run of peers calling `node` failing.
    pub fn suspicion(&self, node: &NodeId) -> Option<&Suspicion> {
        self.suspected.get(node)
    }

    /// Every election, by replica and epoch.
    pub fn elections(&self) -> impl Iterator<Item = (&NodeId, &Election)> {
        self.elections.iter().map(|((r, _), e)| (r, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn evd(frame: u64) -> Evidence {
        Evidence { capture: "c", frame }
    }

    #[test]
    fn a_suspicion_run_starts_again_once_the_node_was_heard() {
        let (n, p) = (id(b'n'), id(b'p'));
        let mut l = Liveness::default();
        l.suspected(n, p, 10, Some(5));
        l.suspected(n, p, 12, Some(5));
        assert_eq!(l.suspicion(&n).map(|s| (s.first_ts, s.last_ts)), Some((10, 12)));
        // Heard at 20: the next suspicion is a new run.
        l.suspected(n, p, 30, Some(20));
        assert_eq!(l.suspicion(&n).map(|s| (s.first_ts, s.last_ts)), Some((30, 30)));
    }

    #[test]
    fn an_election_counts_who_it_asked_and_who_voted() {
        let (r, m, a, b) = (id(b'r'), id(b'm'), id(b'a'), id(b'b'));
        let mut l = Liveness::default();
        l.requested(r, a, 6, Some(m), 100, &evd(1));
        l.requested(r, b, 6, Some(m), 101, &evd(2));
        // The same request seen from a second vantage.
        l.requested(r, b, 6, Some(m), 101, &evd(3));
        l.voted(r, a, 6);
        l.voted(r, b, 7);
        let e: Vec<_> = l
            .elections()
            .filter(|(x, _)| **x == r)
            .map(|(_, e)| (e.first_ts, e.asked.len(), e.voters.len(), e.master))
            .collect();
        assert_eq!(e, vec![(100, 2, 1, Some(m))]);
    }
}
