//! The closed sets of the result, as enums serialised as the schema's
//! snake_case strings (a new value is a compile error wherever it must be
//! handled; logic never reads display text).

use serde::{Serialize, Serializer};
use std::fmt;

/// Implements `as_str`, `Display` and the schema's string for a closed set.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The schema's name of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// How a learner came to know a node.
    Via {
        /// CLUSTER MEET run on the learner: decoded from the data port, or
        /// inferred from a MEET to an address nobody gossiped to it.
        OperatorMeet => "operator_meet",
        /// A MEET received from the unknown node.
        Meet => "meet",
        /// Valkey 8+: listed in the gossip of a MEET from an unknown sender.
        MeetGossip => "meet_gossip",
        /// A gossip entry from a known node (the introducer).
        Gossip => "gossip",
        /// Known before the capture: shown within 5 s of the learner's first
        /// message.
        Prior => "prior",
        /// Shown later, learned through traffic the capture does not contain.
        Unobserved => "unobserved",
    }
}

impl Via {
    /// Introductions the capture did not see happen.
    pub fn is_hearsay(self) -> bool {
        matches!(self, Via::Prior | Via::Unobserved)
    }
}

named_enum! {
    /// What a finding is about.
    FindingKind {
        AddressCollision => "address_collision",
        NatRewrite => "nat_rewrite",
        SenderMismatch => "sender_mismatch",
        HandshakeFlapping => "handshake_flapping",
        SlotConflict => "slot_conflict",
        RoleChange => "role_change",
        EpochCollision => "epoch_collision",
        EpochBump => "epoch_bump",
        NodeFailed => "node_failed",
        Failover => "failover",
        UpdateMessage => "update_message",
        /// One node id claimed by two live instances at two addresses.
        IdConflict => "id_conflict",
        /// An address that belonged to a node that failed or left is
        /// answered by a different node.
        AddressReuse => "address_reuse",
    }
}

named_enum! {
    /// How much a finding matters to the postmortem.
    Severity {
        /// The incident itself: what fused clusters, or nearly did.
        Incident => "incident",
        /// Worth a look: a consequence, or a configuration that invites one.
        Warning => "warning",
        /// The normal life of a cluster.
        Info => "info",
    }
}

named_enum! {
    /// When a finding happened relative to the incident.
    Phase {
        /// Before the incident: cluster creation, slot assignment,
        /// `CLUSTER REPLICATE`, epoch bumps among fresh masters.
        Setup => "setup",
        Incident => "incident",
        /// The cluster healing: failover, promotions, re-elections.
        Recovery => "recovery",
    }
}

named_enum! {
    /// How an address of a node was seen. Declared in the alphabetical order
    /// of the names: address lists are ordered by it.
    AddressSource {
        /// `myip` in the node's own header.
        Announced => "announced",
        /// The node answered a connection there.
        Listening => "listening",
        /// The node's packets came from that IP.
        Source => "source",
    }
}

named_enum! {
    /// A node's role as its header says.
    Role {
        Master => "master",
        Replica => "replica",
        Unknown => "unknown",
    }
}

/// How the dial that met the wrong node began (a `sender_mismatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialKind {
    /// MEET: a blind handshake (Redis < 5.0.10/6.0.5) that adopts whoever
    /// answers.
    BlindMeet,
    /// PING: the gossiped node was added by id (Redis 5.0.10+/6.0.5+,
    /// Valkey), so the answer is rejected.
    GossipAdd,
    /// PING, and the dialler then showed it knew the node that answered:
    /// a handshake whose MEET was lost (old servers retry with PING)
    /// adopted it.
    AdoptedAfterPing,
}

named_enum! {
    /// The server generation the bytes reveal (most specific first).
    Generation {
        /// Bus version 0.
        Redis30 => "Redis 3.0/3.2 (bus ver 0)",
        Valkey90 => "Valkey 9.0+",
        Valkey81 => "Valkey 8.1+",
        Valkey80 => "Valkey 8.0",
        /// Shard-id extension, and gossip that never names its receiver.
        Redis74 => "Redis 7.4+",
        /// Shard-id extension.
        Redis72 => "Redis 7.2+ or Valkey 7.2",
        /// Ping extensions.
        Redis70 => "Redis 7.0+",
        /// Announced TLS/plaintext port.
        Redis622 => "Redis 6.2.2+",
        Redis40 => "Redis 4.0 – 7.x (bus ver 1)",
    }
}

impl Generation {
    /// Servers that handshake gossiped addresses with a blind MEET
    /// (adopting whoever answers) as far as the bytes can tell.
    pub fn handshakes_blindly(self) -> bool {
        self == Generation::Redis30
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_serialise_as_the_schema_strings() {
        assert_eq!(serde_json::to_string(&Via::OperatorMeet).unwrap(), "\"operator_meet\"");
        assert_eq!(serde_json::to_string(&FindingKind::HandshakeFlapping).unwrap(), "\"handshake_flapping\"");
        assert_eq!(serde_json::to_string(&Generation::Redis40).unwrap(), "\"Redis 4.0 – 7.x (bus ver 1)\"");
        for v in Via::ALL {
            assert_eq!(v.to_string(), v.as_str());
        }
    }

    #[test]
    fn address_sources_order_like_their_names() {
        let mut by_name: Vec<AddressSource> = AddressSource::ALL.to_vec();
        by_name.sort_by_key(|s| s.as_str());
        assert_eq!(by_name, AddressSource::ALL);
        let mut by_ord = AddressSource::ALL.to_vec();
        by_ord.sort();
        assert_eq!(by_ord, AddressSource::ALL);
    }
}
