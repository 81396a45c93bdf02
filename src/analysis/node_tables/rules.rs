//! Which generation's table rules a node follows, from what its own bytes
//! revealed ([`Generation`]) and the server version when given
//! (`--server-version`): the rules that differ between releases of
//! `clusterProcessGossipSection` and `clusterProcessPacket`.

use crate::analysis::model::Generation;

/// How a node takes gossip about a node it does not know (§9c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// `clusterStartHandshake` to the gossiped address (Redis 3.x, 4.0,
    /// 5.0.0–5.0.9, 6.0.0–6.0.4): the node enters the table only when
    /// whoever answers there is renamed into it.
    Handshake,
    /// `createClusterNode` under the gossiped id (5.0.10+, 6.0.5+, 6.2+,
    /// 7.x, Valkey).
    AddById,
    /// The bytes cannot tell (Redis 4.0 to 6.2.1 look alike): the node's
    /// first dial to such a node tells (MEET: a handshake; PING: added).
    FirstDialTells,
}

/// The rules one node's table follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub unknown: Unknown,
    /// Gossip about the node itself is skipped ("Ignore gossips about
    /// self", Redis 7.4+, Valkey 8.0+); before, it raised its own
    /// `pong_received`.
    pub ignores_self_gossip: bool,
    /// Gossip raises `pong_received` only of a node in a normal state (no
    /// handshake, meet, `fail?` or `fail`: `nodeInNormalState`, Valkey 9).
    pub pong_needs_normal_state: bool,
    /// A MEET opens a handshake node's link, whoever is known at that
    /// address (only handshake nodes carry the MEET flag: Redis, Valkey
    /// 7.2); Valkey 8 keeps the flag on known nodes and re-MEETs them.
    pub meet_is_handshake: bool,
    /// Gossip moves a failing node to the address a peer sees it at
    /// (3.2+); Redis 3.0 starts a handshake there instead, and only its
    /// answer moves the node (§9d).
    pub gossip_moves_failing: bool,
    /// The sender of a message on a link is the link's node, not the id
    /// in the header (`getNodeFromLinkAndMsg`, Redis 7.0+ and Valkey): an
    /// answer from another node on the viewer's link raises the dialled
    /// node's config epoch before the mismatch makes it noaddr (§9e).
    pub sender_is_links_node: bool,
}

impl Rules {
    /// The rules of a node whose bytes show `generation`, as server
    /// `version` (major, minor) when given.
    pub fn of(generation: Generation, version: Option<(u32, u32)>) -> Rules {
        let valkey = matches!(generation, Generation::Valkey80 | Generation::Valkey81 | Generation::Valkey90);
        let unknown = match (generation, version) {
            (Generation::Redis30, _) => Unknown::Handshake,
            (Generation::Redis40, Some(v)) if v < (5, 0) => Unknown::Handshake,
            (Generation::Redis40, Some(v)) if v >= (6, 2) => Unknown::AddById,
            (Generation::Redis40, _) => Unknown::FirstDialTells,
            _ => Unknown::AddById,
        };
        Rules {
            unknown,
            ignores_self_gossip: valkey
                || generation == Generation::Redis74
                || (generation != Generation::Redis30 && version.is_some_and(|v| v >= (7, 4))),
            pong_needs_normal_state: generation == Generation::Valkey90,
            meet_is_handshake: !valkey,
            gossip_moves_failing: generation != Generation::Redis30 && version.is_none_or(|v| v >= (3, 2)),
            sender_is_links_node: matches!(generation, Generation::Redis70 | Generation::Redis72 | Generation::Redis74)
                || valkey
                || (generation != Generation::Redis30 && version.is_some_and(|v| v >= (7, 0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_the_generation_and_the_version() {
        assert_eq!(Rules::of(Generation::Redis30, None).unknown, Unknown::Handshake);
        assert_eq!(Rules::of(Generation::Redis40, None).unknown, Unknown::FirstDialTells);
        assert_eq!(Rules::of(Generation::Redis40, Some((4, 0))).unknown, Unknown::Handshake);
        assert_eq!(Rules::of(Generation::Redis40, Some((5, 0))).unknown, Unknown::FirstDialTells);
        assert_eq!(Rules::of(Generation::Redis622, None).unknown, Unknown::AddById);
        assert!(!Rules::of(Generation::Redis72, None).ignores_self_gossip);
        assert!(Rules::of(Generation::Redis72, Some((7, 4))).ignores_self_gossip);
        assert!(Rules::of(Generation::Redis74, None).ignores_self_gossip);
        assert!(Rules::of(Generation::Redis70, None).sender_is_links_node);
        assert!(Rules::of(Generation::Valkey80, None).sender_is_links_node);
        assert!(!Rules::of(Generation::Redis622, None).sender_is_links_node);
        assert!(Rules::of(Generation::Redis622, Some((7, 0))).sender_is_links_node);
        assert!(Rules::of(Generation::Valkey80, None).ignores_self_gossip);
        assert!(Rules::of(Generation::Valkey90, None).pong_needs_normal_state);
        assert!(!Rules::of(Generation::Valkey81, None).pong_needs_normal_state);
        assert!(Rules::of(Generation::Redis72, None).meet_is_handshake);
        assert!(!Rules::of(Generation::Valkey81, None).meet_is_handshake);
        assert!(!Rules::of(Generation::Redis30, None).gossip_moves_failing);
        assert!(Rules::of(Generation::Redis40, Some((3, 2))).gossip_moves_failing);
    }
}
