//! Anomalies: irregularities of the capture and the wire that are counted
//! and told, not errors (a gap, a packet cut short, a stream that is not
//! readable bus). [`AnomalyKind`] is the closed set of kinds, one variant
//! each (as Suricata's app-layer event enums); its [`AnomalyKind::as_str`]
//! is the stable snake_case name every output prints.

use crate::clusterbus::BusError;
use crate::clusterbus::framer::FrameAnomaly;
use crate::decode::{DecodeError, Endpoint};
use crate::reassembly::GapReason;
use serde::Serialize;

/// A counted irregularity, with where to find it.
#[derive(Clone, Debug, Serialize)]
pub struct Anomaly {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    /// Sender and receiver of the stream, when the anomaly is in one.
    pub src: Option<Endpoint>,
    pub dst: Option<Endpoint>,
    pub kind: AnomalyKind,
    pub detail: String,
}

/// Every kind of anomaly, by the layer that notices it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnomalyKind {
    // Decoding a packet down to TCP.
    /// A link type meetgraph does not decode.
    UnsupportedLink,
    /// A header cut short (snaplen or corruption).
    TruncatedPacket,
    /// A header with impossible content.
    MalformedPacket,
    /// An IP fragment (not reassembled).
    IpFragment,
    // Reassembly: bytes missing from a stream, and its bound.
    /// Acknowledged by the receiver, never captured.
    GapNotCaptured,
    /// Cut by the capture's snaplen.
    GapSnaplen,
    /// Given up when a buffer cap was hit.
    GapCapHit,
    /// A hole still open when the connection ended or went idle.
    GapUnfilled,
    /// Connections closed early: more than `--max-connections` at once.
    ConnectionsEvicted,
    // A stream that is not readable bus.
    /// TLS records from the stream's first byte (maybe an encrypted bus).
    TlsStream,
    /// TLS records on a stream the capture joined mid-way.
    TlsStreamJoined,
    // The framer.
    /// A message start without `RCmb` in a synchronised stream.
    BadSignature,
    /// `totlen` below the smallest message.
    ImpossibleLength,
    /// `totlen` above `--max-message`: skipped.
    OversizedMessage,
    /// A protocol version no server speaks.
    UnknownVersion,
    /// `totlen` disagrees with the message's contents.
    LengthMismatch,
    /// A ping extension that does not parse.
    BadExtension,
    /// A light header that does not parse.
    BadLightHeader,
    /// Any other message that fails validation.
    MalformedMessage,
    /// A message type this parser does not know (still delivered).
    UnknownType,
    /// Bytes skipped to find the next message after losing sync.
    ResyncSkipped,
    /// A message cut by a gap.
    MessageLostToGap,
    /// The stream ended inside a message.
    TruncatedAtEnd,
}

impl AnomalyKind {
    /// The stable snake_case name (statistics, JSON, dump lines).
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::UnsupportedLink => "unsupported_link",
            AnomalyKind::TruncatedPacket => "truncated_packet",
            AnomalyKind::MalformedPacket => "malformed_packet",
            AnomalyKind::IpFragment => "ip_fragment",
            AnomalyKind::GapNotCaptured => "gap_not_captured",
            AnomalyKind::GapSnaplen => "gap_snaplen",
            AnomalyKind::GapCapHit => "gap_cap_hit",
            AnomalyKind::GapUnfilled => "gap_unfilled",
            AnomalyKind::ConnectionsEvicted => "connections_evicted",
            AnomalyKind::TlsStream => "tls_stream",
            AnomalyKind::TlsStreamJoined => "tls_stream_joined",
            AnomalyKind::BadSignature => "bad_signature",
            AnomalyKind::ImpossibleLength => "impossible_length",
            AnomalyKind::OversizedMessage => "oversized_message",
            AnomalyKind::UnknownVersion => "unknown_version",
            AnomalyKind::LengthMismatch => "length_mismatch",
            AnomalyKind::BadExtension => "bad_extension",
            AnomalyKind::BadLightHeader => "bad_light_header",
            AnomalyKind::MalformedMessage => "malformed_message",
            AnomalyKind::UnknownType => "unknown_type",
            AnomalyKind::ResyncSkipped => "resync_skipped",
            AnomalyKind::MessageLostToGap => "message_lost_to_gap",
            AnomalyKind::TruncatedAtEnd => "truncated_at_end",
        }
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AnomalyKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl From<&DecodeError> for AnomalyKind {
    fn from(e: &DecodeError) -> Self {
        match e {
            DecodeError::UnsupportedLink(_) => AnomalyKind::UnsupportedLink,
            DecodeError::Truncated { .. } => AnomalyKind::TruncatedPacket,
            DecodeError::Malformed { .. } => AnomalyKind::MalformedPacket,
            DecodeError::Fragmented => AnomalyKind::IpFragment,
        }
    }
}

impl From<GapReason> for AnomalyKind {
    fn from(r: GapReason) -> Self {
        match r {
            GapReason::NotCaptured => AnomalyKind::GapNotCaptured,
            GapReason::Snaplen => AnomalyKind::GapSnaplen,
            GapReason::CapHit => AnomalyKind::GapCapHit,
            GapReason::Unfilled => AnomalyKind::GapUnfilled,
        }
    }
}

impl From<&FrameAnomaly> for AnomalyKind {
    fn from(a: &FrameAnomaly) -> Self {
        match a {
            FrameAnomaly::BadSignature => AnomalyKind::BadSignature,
            FrameAnomaly::ImpossibleLength { .. } => AnomalyKind::ImpossibleLength,
            FrameAnomaly::Oversized { .. } => AnomalyKind::OversizedMessage,
            FrameAnomaly::Malformed(BusError::UnsupportedVersion(_)) => AnomalyKind::UnknownVersion,
            FrameAnomaly::Malformed(BusError::LengthMismatch { .. }) => AnomalyKind::LengthMismatch,
            FrameAnomaly::Malformed(BusError::BadExtension { .. }) => AnomalyKind::BadExtension,
            FrameAnomaly::Malformed(BusError::BadLightHeader { .. }) => AnomalyKind::BadLightHeader,
            FrameAnomaly::Malformed(_) => AnomalyKind::MalformedMessage,
            FrameAnomaly::UnknownType { .. } => AnomalyKind::UnknownType,
            FrameAnomaly::ResyncSkipped { .. } => AnomalyKind::ResyncSkipped,
            FrameAnomaly::MessageLost { .. } => AnomalyKind::MessageLostToGap,
            FrameAnomaly::TruncatedAtEnd { .. } => AnomalyKind::TruncatedAtEnd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are the ones every output printed when kinds were text.
    #[test]
    fn names_are_stable_and_distinct() {
        let gaps = [GapReason::NotCaptured, GapReason::Snaplen, GapReason::CapHit, GapReason::Unfilled];
        let names: Vec<&str> = gaps.into_iter().map(|g| AnomalyKind::from(g).as_str()).collect();
        assert_eq!(names, ["gap_not_captured", "gap_snaplen", "gap_cap_hit", "gap_unfilled"]);
        let frame = AnomalyKind::from(&FrameAnomaly::MessageLost { have: 3 });
        assert_eq!(frame.to_string(), "message_lost_to_gap");
        assert_eq!(serde_json::to_string(&AnomalyKind::TlsStreamJoined).unwrap(), "\"tls_stream_joined\"");
        assert_eq!(AnomalyKind::from(&DecodeError::Fragmented).as_str(), "ip_fragment");
    }
}
