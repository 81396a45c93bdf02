//! Errors of the bus parser. "Too short" is kept apart from "wrong content".
//! Also the nom error impl, so the nom parsers of fixed layouts report
//! these errors directly. Imports: `types`.

use super::types::MessageType;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusError {
    /// Fewer bytes than a fixed part of the message needs: the part at
    /// byte `offset` of the message needed `needed` bytes, `have` were left.
    Truncated { offset: usize, needed: usize, have: usize },
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
            BusError::Truncated { offset, needed, have } => {
                write!(f, "truncated at byte {offset}: needed {needed} bytes, have {have}")
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

impl<'a> nom::error::ParseError<&'a [u8]> for BusError {
    /// The offset is filled in by `parse_message`, which knows where the
    /// remaining `input` starts.
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        BusError::Truncated { offset: 0, needed: 0, have: input.len() }
    }
    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}
