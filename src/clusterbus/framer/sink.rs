//! What the framer reports, and to whom: the [`FrameSink`] it hands
//! messages and anomalies to, where each sits in the stream
//! ([`FrameInfo`]), and what it noticed that is not a message
//! ([`FrameAnomaly`]).

use crate::clusterbus::error::BusError;
use crate::clusterbus::message::Message;

/// What the framer noticed that is not a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameAnomaly {
    /// A message start without `RCmb` in a synchronised stream (a real
    /// receiver would close the connection).
    BadSignature,
    /// `totlen` below the smallest message.
    ImpossibleLength { totlen: u32 },
    /// `totlen` above `max_totlen`: skipped without decoding.
    Oversized { totlen: u32 },
    /// A framed message failed validation (version, length, extensions);
    /// skipped as a real receiver would drop it.
    Malformed(BusError),
    /// A message of a type this parser does not know (still delivered).
    UnknownType { wire_type: u16 },
    /// Bytes skipped to find the next message after losing sync.
    ResyncSkipped { bytes: u64 },
    /// A message was cut by a gap and dropped; `have` bytes were buffered.
    MessageLost { have: u64 },
    /// The stream ended inside a message.
    TruncatedAtEnd { have: u64 },
}

impl std::fmt::Display for FrameAnomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameAnomaly::BadSignature => write!(f, "expected RCmb signature"),
            FrameAnomaly::ImpossibleLength { totlen } => write!(f, "impossible totlen {totlen}"),
            FrameAnomaly::Oversized { totlen } => write!(f, "totlen {totlen} above limit, skipped"),
            FrameAnomaly::Malformed(e) => write!(f, "{e}"),
            FrameAnomaly::UnknownType { wire_type } => {
                write!(f, "unknown message type {wire_type}")
            }
            FrameAnomaly::ResyncSkipped { bytes } => {
                write!(f, "skipped {bytes} bytes to resynchronise")
            }
            FrameAnomaly::MessageLost { have } => {
                write!(f, "message cut by a gap after {have} bytes")
            }
            FrameAnomaly::TruncatedAtEnd { have } => {
                write!(f, "stream ended {have} bytes into a message")
            }
        }
    }
}

/// Where a framed item sits in the stream and which packets carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Stream offset of the message's first byte (or of the anomaly).
    pub offset: u64,
    /// Frame number of the packet that carried the first byte.
    pub first_frame: u64,
    /// Frame number of the packet that carried the last byte.
    pub frame: u64,
    /// Capture time of that last packet.
    pub ts_us: i64,
}

/// Receives what the framer finds.
pub trait FrameSink {
    fn message(&mut self, info: &FrameInfo, msg: &Message<'_>);
    fn anomaly(&mut self, info: &FrameInfo, anomaly: FrameAnomaly);
}
