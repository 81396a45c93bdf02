//! What the reassembler hands its consumer: ordered chunks with where they
//! came from, gaps with their reason, and the end of each direction.
//! Imports: `decode` (endpoints).

use crate::decode::Endpoint;
use serde::Serialize;

/// Where a chunk of stream data comes from.
#[derive(Clone, Copy, Debug)]
pub struct ChunkMeta {
    /// Connection instance number within this capture (1-based, in order of
    /// first sight; a reused 4-tuple gets a new id).
    pub conn_id: u64,
    /// Sender of these bytes.
    pub src: Endpoint,
    /// Receiver of these bytes.
    pub dst: Endpoint,
    /// True when `src` opened the connection (its SYN was captured), false
    /// when `dst` did, `None` when the handshake was not captured.
    pub from_initiator: Option<bool>,
    /// Capture time of the packet that carried the bytes.
    pub ts_us: i64,
    /// Frame number of that packet.
    pub frame: u64,
    /// Offset of the first byte of the chunk in this direction's stream
    /// (0 = first byte after the SYN, or the first byte captured).
    pub offset: u64,
    /// True when the stream's beginning was not captured.
    pub midstream: bool,
}

/// Why bytes are missing from a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// The receiver acknowledged bytes that were never captured.
    NotCaptured,
    /// The packet was cut by the capture's snaplen.
    Snaplen,
    /// A buffer cap forced the reassembler to give up waiting for the hole.
    CapHit,
    /// The connection closed, went idle or the capture ended with a hole.
    Unfilled,
}

/// Why a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Fin,
    Rst,
    /// No packet for longer than the idle timeout.
    Idle,
    /// The 4-tuple was reused by a new connection (SYN).
    Reused,
    /// End of the capture.
    EndOfCapture,
}

/// Receives the ordered streams. One `State` per direction per connection
/// lives inside the reassembler and is handed back with every call.
pub trait StreamConsumer {
    type State: Default;

    /// In-order bytes of one direction.
    fn data(&mut self, state: &mut Self::State, meta: &ChunkMeta, bytes: &[u8]);
    /// `len` bytes of this direction are missing before the next data.
    fn gap(&mut self, state: &mut Self::State, meta: &ChunkMeta, len: u64, reason: GapReason);
    /// The direction ended; `state` is dropped afterwards.
    fn close(&mut self, state: &mut Self::State, meta: &ChunkMeta, reason: CloseReason);
    /// Whether a direction in this state is worth keeping when the bound
    /// on tracked connections is reached (such connections are closed
    /// last).
    fn precious(&self, _state: &Self::State) -> bool {
        false
    }
}
