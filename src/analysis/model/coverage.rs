//! How much of the bus the captures let meetgraph read: encrypted flows,
//! bursts of new connections, and the limits that make a verdict
//! incomplete.

use super::evidence::Evidence;
use serde::Serialize;

/// TLS connections from one client IP to one server address: an encrypted
/// stream meetgraph cannot decode, with what its metadata shows.
#[derive(Clone, Debug, Serialize)]
pub struct EncryptedFlow {
    pub first_ts_us: i64,
    pub last_ts_us: i64,
    pub client: String,
    /// `ip:port` of the side that was dialled.
    pub server: String,
    /// Stream directions seen with TLS records.
    pub connections: u64,
    /// Their payload bytes (as captured: a short snaplen counts less).
    pub bytes: u64,
    /// Why this looks like cluster bus (`null`: it does not).
    pub likely_bus: Option<String>,
    /// The pair began to talk during the capture (not at its start).
    pub new_pair: bool,
    pub evidence: Vec<Evidence>,
}

/// New encrypted connections to bus ports close together in time.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionBurst {
    pub ts_us: i64,
    pub last_ts_us: i64,
    pub stream_directions: u64,
    /// Bus ports (`ip:port`) connected to.
    pub servers: Vec<String>,
    /// Time without any new bus connection before it (`null`: the first
    /// burst, or not after a quiet period).
    pub quiet_before_us: Option<i64>,
}

/// How much of the bus the captures let meetgraph read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// Cluster-bus messages decoded.
    pub messages: u64,
    /// Stream directions that carried bus messages / that did not.
    pub bus_streams: u64,
    pub other_streams: u64,
    /// Gaps in bus streams from the capture's snaplen.
    pub snaplen_gaps: u64,
    /// Messages read in part (only a prefix was captured).
    pub cut_messages: u64,
    pub encrypted: Vec<EncryptedFlow>,
    /// TLS client→server pairs past the bound on pairs kept (junk,
    /// scanners): counted, not listed.
    pub encrypted_not_kept: u64,
    pub bursts: Vec<ConnectionBurst>,
    /// False when the verdict rests on incomplete evidence (exit status 3).
    pub complete: bool,
    /// What the captures cannot show, and what to capture next time.
    pub limits: Vec<String>,
}
