//! Why a packet could not be decoded down to TCP. Imports: `capture`.

use crate::capture::LinkType;

/// Why a packet could not be decoded down to TCP. Packets that are simply not
/// TCP (ARP, UDP, ICMP, ...) are not errors: `decode_packet` returns
/// `Ok(None)` for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The capture's link type is not one meetgraph can read.
    UnsupportedLink(LinkType),
    /// The packet ends before the named header does (snaplen or corruption).
    Truncated { layer: &'static str, needed: usize, have: usize },
    /// A header has impossible content (bad IP version, header length, ...).
    Malformed { layer: &'static str, detail: String },
    /// A non-first IP fragment, or a first fragment whose TCP payload is not
    /// complete; meetgraph does not reassemble IP fragments.
    Fragmented,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnsupportedLink(l) => write!(f, "unsupported link type {l}"),
            DecodeError::Truncated { layer, needed, have } => {
                write!(f, "{layer} header truncated: needed {needed} bytes, have {have}")
            }
            DecodeError::Malformed { layer, detail } => {
                write!(f, "malformed {layer} header: {detail}")
            }
            DecodeError::Fragmented => write!(f, "IP fragment"),
        }
    }
}

impl std::error::Error for DecodeError {}
