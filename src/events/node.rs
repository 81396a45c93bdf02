//! Node identity and addresses, owned.

use crate::clusterbus::NodeName;
use crate::clusterbus::wire::escape_text;
use serde::{Serialize, Serializer};
use std::fmt;

/// A 40-character node id. Ordered as its bytes are; comparisons look at
/// the first 8 bytes as one word first (ids are random, so they almost
/// always differ there), which keeps the maps keyed by id cheap.
#[derive(Clone, Copy, Eq)]
pub struct NodeId(pub [u8; 40]);

impl NodeId {
    fn head(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }

    pub fn from_name(n: &NodeName<'_>) -> Self {
        NodeId(*n.0)
    }

    /// Parses a 40-byte id (any bytes; validity is not checked).
    pub fn from_str_exact(s: &str) -> Option<Self> {
        let b: [u8; 40] = s.as_bytes().try_into().ok()?;
        Some(NodeId(b))
    }

    /// The id as text, escaped losslessly (`\xNN` for bytes that are not
    /// printable UTF-8; see [`escape_text`]).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        escape_text(&self.0)
    }

    /// First 8 bytes, escaped like [`NodeId::as_str`] (never panics on
    /// bytes that are not UTF-8). The one `short` of the crate.
    pub fn short(&self) -> std::borrow::Cow<'_, str> {
        escape_text(&self.0[..8])
    }
}

impl PartialEq for NodeId {
    fn eq(&self, other: &Self) -> bool {
        self.head() == other.head() && self.0[8..] == other.0[8..]
    }
}

impl std::hash::Hash for NodeId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Ord for NodeId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.head().cmp(&other.head()).then_with(|| self.0[8..].cmp(&other.0[8..]))
    }
}

impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<str> for NodeId {
    /// Compares with the textual id (tests and command-line arguments).
    fn eq(&self, other: &str) -> bool {
        self.0 == *other.as_bytes()
    }
}

impl PartialEq<&str> for NodeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other.as_bytes()
    }
}

impl PartialEq<String> for NodeId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other.as_bytes()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

/// A node address as the cluster bus states it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeAddr {
    /// Empty when not known (e.g. `myip` not announced).
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
}

impl fmt::Display for NodeAddr {
    /// `ip:port@cport`, as in `CLUSTER NODES`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ip.contains(':') {
            write!(f, "[{}]:{}@{}", self.ip, self.port, self.cport)
        } else {
            write!(f, "{}:{}@{}", self.ip, self.port, self.cport)
        }
    }
}
