//! The TCP segment handed to reassembly, and its endpoints.

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// One side of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl std::hash::Hash for Endpoint {
    /// An IPv4 endpoint as one word (address, port, family), an IPv6 one
    /// as three: every segment looks its connection up by two endpoints.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self.ip {
            IpAddr::V4(a) => state.write_u64(u64::from(u32::from(a)) << 16 | u64::from(self.port) | 4 << 48),
            IpAddr::V6(a) => {
                let b = u128::from(a);
                state.write_u64(b as u64);
                state.write_u64((b >> 64) as u64);
                state.write_u64(u64::from(self.port) | 6 << 48);
            }
        }
    }
}

impl fmt::Display for Endpoint {
    /// `10.0.0.1:7000`, `[fe80::1]:7000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(v4) => write!(f, "{v4}:{}", self.port),
            IpAddr::V6(v6) => write!(f, "[{v6}]:{}", self.port),
        }
    }
}

/// The TCP flags reassembly cares about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// A decoded TCP segment borrowing its payload from the packet.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'pkt> {
    pub src: Endpoint,
    pub dst: Endpoint,
    /// wire: sequence number
    pub seq: u32,
    /// wire: acknowledgment number (meaningful only when `flags.ack`)
    pub ack: u32,
    pub flags: TcpFlags,
    /// The captured part of the TCP payload.
    pub payload: &'pkt [u8],
    /// Payload bytes that were on the wire after `payload` but not captured
    /// (snaplen). Reassembly treats them as a gap.
    pub missing: u32,
}
