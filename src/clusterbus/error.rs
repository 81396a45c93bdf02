//! Errors of the bus parser. "Too short" is kept apart from "wrong content".

use super::types::MessageType;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusError {
    /// Fewer bytes than a fixed part of the message needs.
    Truncated { needed: usize, have: usize },
    /// The first four bytes are not `RCmb`.
    BadSignature,
    /// wire: ver is neither 0 nor 1.
    UnsupportedVersion(u16),
    /// totlen disagrees with what the type requires (§1.3 table).
    LengthMismatch { msg_type: MessageType, expected: u64, totlen: u32 },
    /// An extension record is malformed (§4.2).
    BadExtension { offset: usize, detail: &'static str },
    /// A light header with a base type that cannot be light, or non-zero
    /// reserved fields.
    BadLightHeader { wire_type: u16 },
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::Truncated { needed, have } => {
                write!(f, "truncated: needed {needed} bytes, have {have}")
            }
            BusError::BadSignature => write!(f, "bad signature"),
            BusError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            BusError::LengthMismatch { msg_type, expected, totlen } => {
                write!(f, "{} totlen {totlen} but {expected} expected", msg_type.name())
            }
            BusError::BadExtension { offset, detail } => {
                write!(f, "bad extension at offset {offset}: {detail}")
            }
            BusError::BadLightHeader { wire_type } => {
                write!(f, "bad light header (type {wire_type:#06x})")
            }
        }
    }
}

impl std::error::Error for BusError {}
