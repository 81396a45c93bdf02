//! Ping extensions (§4): records after the gossip array of PING/PONG/MEET
//! (Redis 7.0+, Valkey). Type numbers collide between dialects; records are
//! interpreted by type and length (§4.3). Hand-written: records are
//! length-prefixed and validated once, then iterated without copying.
//! Imports: `error`, `types`, `wire`.

use super::error::BusError;
use super::types::NodeName;
use super::wire::{be64, trim_nul};

/// One ping extension record (§4.2) with its body interpreted (§4.3, §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'buf> {
    /// wire: type
    pub ext_type: u16,
    /// wire: length (whole record, including the 8-byte header)
    pub length: u32,
    pub value: ExtValue<'buf>,
}

/// Interpreted extension bodies. Strings are NUL-trimmed raw bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtValue<'buf> {
    Hostname(&'buf [u8]),
    HumanNodename(&'buf [u8]),
    ForgottenNode {
        node: NodeName<'buf>,
        ttl: u64,
    },
    ShardId(NodeName<'buf>),
    ClientIpv4(&'buf [u8]),
    ClientIpv6(&'buf [u8]),
    ClientPort(u16),
    ClientTlsPort(u16),
    AvailabilityZone(&'buf [u8]),
    /// Redis 8 internal secret (type 4, 40-byte body); the secret itself is
    /// never printed.
    InternalSecret,
    Unknown(&'buf [u8]),
}

/// Extension type numbers (Redis 7.2+/Valkey numbering).
pub const EXT_HOSTNAME: u16 = 0;
pub const EXT_HUMAN_NODENAME: u16 = 1;
pub const EXT_FORGOTTEN_NODE: u16 = 2;
pub const EXT_SHARDID: u16 = 3;
pub const EXT_CLIENT_IPV4: u16 = 4;
pub const EXT_CLIENT_IPV6: u16 = 5;
pub const EXT_CLIENT_PORT: u16 = 6;
pub const EXT_CLIENT_TLS_PORT: u16 = 7;
pub const EXT_AVAILABILITY_ZONE: u16 = 8;

/// Record lengths at or above this are anomalous: real servers read the
/// length into 16 bits while validating (§1.3).
pub const EXT_LENGTH_SUSPICIOUS: u32 = 65536;

fn name_at(body: &[u8]) -> Option<NodeName<'_>> {
    body.first_chunk::<40>().map(NodeName)
}

fn u16_at(body: &[u8]) -> Option<u16> {
    body.first_chunk::<2>().map(|b| u16::from_be_bytes(*b))
}

/// Interprets one record body (`length` includes the 8-byte header).
pub fn interpret(ext_type: u16, length: u32, body: &[u8]) -> ExtValue<'_> {
    let unknown = ExtValue::Unknown(body);
    match (ext_type, length) {
        (EXT_HOSTNAME, _) => ExtValue::Hostname(trim_nul(body)),
        // Redis 7.2-rc1/rc2 numbering: 1 = forgotten node, 2 = shard id.
        (1, 56) => match (name_at(body), body.get(40..48)) {
            (Some(n), Some(t)) => ExtValue::ForgottenNode { node: n, ttl: be64(t) },
            _ => unknown,
        },
        (2, 48) => name_at(body).map_or(unknown, ExtValue::ShardId),
        (EXT_HUMAN_NODENAME, _) => ExtValue::HumanNodename(trim_nul(body)),
        (EXT_FORGOTTEN_NODE, _) => match (name_at(body), body.get(40..48)) {
            (Some(n), Some(t)) => ExtValue::ForgottenNode { node: n, ttl: be64(t) },
            _ => unknown,
        },
        (EXT_SHARDID, _) => name_at(body).map_or(unknown, ExtValue::ShardId),
        // Type 4: Redis 8 internal secret (40 bytes) or Valkey client IPv4.
        (EXT_CLIENT_IPV4, 48) => ExtValue::InternalSecret,
        (EXT_CLIENT_IPV4, _) => ExtValue::ClientIpv4(trim_nul(body)),
        (EXT_CLIENT_IPV6, _) => ExtValue::ClientIpv6(trim_nul(body)),
        (EXT_CLIENT_PORT, _) => u16_at(body).map_or(unknown, ExtValue::ClientPort),
        (EXT_CLIENT_TLS_PORT, _) => u16_at(body).map_or(unknown, ExtValue::ClientTlsPort),
        (EXT_AVAILABILITY_ZONE, _) => ExtValue::AvailabilityZone(trim_nul(body)),
        _ => unknown,
    }
}

/// Validates the extension area: exactly `count` records, each with a
/// length that is a multiple of 8, at least 8, inside the area, the last one
/// ending exactly at the end. `base` is the area's offset in the message
/// (for error offsets).
pub fn validate_extensions(area: &[u8], count: u16, base: usize) -> Result<(), BusError> {
    let mut rest = area;
    let mut at = base;
    for _ in 0..count {
        let Some(head) = rest.first_chunk::<8>() else {
            return Err(BusError::BadExtension { offset: at, detail: "record header past the end" });
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len < 8 || !len.is_multiple_of(8) {
            return Err(BusError::BadExtension { offset: at, detail: "length not a multiple of 8 or below 8" });
        }
        if len > rest.len() {
            return Err(BusError::BadExtension { offset: at, detail: "record longer than the message" });
        }
        rest = &rest[len..];
        at += len;
    }
    if !rest.is_empty() {
        return Err(BusError::BadExtension { offset: at, detail: "bytes after the last record" });
    }
    Ok(())
}

/// Iterates over validated extension records.
pub struct ExtIter<'buf> {
    pub(crate) rest: &'buf [u8],
}

impl<'buf> Iterator for ExtIter<'buf> {
    type Item = Extension<'buf>;

    fn next(&mut self) -> Option<Self::Item> {
        let head = self.rest.first_chunk::<8>()?;
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let ext_type = u16::from_be_bytes([head[4], head[5]]);
        let len = (length as usize).clamp(8, self.rest.len());
        let body = &self.rest[8..len];
        self.rest = &self.rest[len..];
        Some(Extension { ext_type, length, value: interpret(ext_type, length, body) })
    }
}
