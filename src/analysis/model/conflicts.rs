//! What an id conflict looked like over time (one `id_conflict` finding
//! each): the instances that claimed the id, when each was heard, and the
//! episodes of peers' views of its address flapping between them. The
//! finding tells it in a sentence; the chart draws it from these.

use super::evidence::Evidence;
use crate::events::NodeId;
use serde::Serialize;

/// One instance of a node id: the address its headers and connections
/// show, its first and last message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceSeen {
    /// `ip:port@cport`.
    pub address: String,
    pub first_ts_us: i64,
    pub last_ts_us: i64,
    pub evidence: Evidence,
}

/// Address changes in peers' views of a node, each within
/// [`FLAP_GAP_US`] of the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Flapping {
    pub first_ts_us: i64,
    pub last_ts_us: i64,
    pub changes: u64,
}

/// Changes further apart than this begin a new [`Flapping`] episode.
pub const FLAP_GAP_US: i64 = 1_000_000;
/// Episodes kept per node; later changes extend the last one.
pub const MAX_FLAPPING: usize = 64;

/// One node id claimed by several live instances.
#[derive(Clone, Debug, Serialize)]
pub struct IdConflict {
    pub node: NodeId,
    /// When the second instance was first seen alive beside the first
    /// (the finding's time).
    pub began_us: i64,
    /// In order of their first message.
    pub instances: Vec<InstanceSeen>,
    /// Address changes of the id in peers' views (all of them).
    pub address_changes: u64,
    pub flapping: Vec<Flapping>,
}

/// Adds an address change at `ts` to `episodes`.
pub fn add_flap(episodes: &mut Vec<Flapping>, ts: i64) {
    let full = episodes.len() >= MAX_FLAPPING;
    match episodes.last_mut() {
        Some(e) if ts - e.last_ts_us <= FLAP_GAP_US || full => {
            e.last_ts_us = e.last_ts_us.max(ts);
            e.first_ts_us = e.first_ts_us.min(ts);
            e.changes += 1;
        }
        _ => episodes.push(Flapping { first_ts_us: ts, last_ts_us: ts, changes: 1 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_close_together_are_one_episode_and_episodes_are_bounded() {
        let mut v = Vec::new();
        for ts in [0, 400_000, 900_000, 5_000_000, 5_100_000] {
            add_flap(&mut v, ts);
        }
        assert_eq!(
            v,
            vec![
                Flapping { first_ts_us: 0, last_ts_us: 900_000, changes: 3 },
                Flapping { first_ts_us: 5_000_000, last_ts_us: 5_100_000, changes: 2 }
            ]
        );
        let mut v = Vec::new();
        for k in 0..1000 {
            add_flap(&mut v, k * 10_000_000);
        }
        assert_eq!(v.len(), MAX_FLAPPING);
        assert_eq!(v.iter().map(|e| e.changes).sum::<u64>(), 1000);
    }
}
