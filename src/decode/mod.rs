//! Decode layer: link, network and transport headers of one [`RawPacket`],
//! down to a borrowed [`TcpSegment`]. Nothing here keeps state between
//! packets.

//!
//! Files: `error.rs` ([`DecodeError`]), `link.rs` (link → IP → TCP),
//! `tcp_segment.rs` (the result). This file only declares and re-exports.
//! Imports: `capture` (packets, link types).

pub mod error;
pub mod link;
pub mod tcp_segment;

pub use error::DecodeError;
pub use link::decode_packet;
pub use tcp_segment::{Endpoint, TcpFlags, TcpSegment};
