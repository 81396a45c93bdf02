//! Decode layer: link, network and transport headers of one [`RawPacket`],
//! down to a borrowed [`TcpSegment`]. Nothing here keeps state between
//! packets.

//!
//! Files: `error.rs` ([`DecodeError`]), `link.rs` (link → IP → TCP, and
//! into tunnels), `decap.rs` (tunnel headers: VXLAN, Geneve, GRE, ERSPAN,
//! IP-in-IP, MPLS), `tunnel.rs` (what a packet was carried in, and the
//! counters of it), `tcp_segment.rs` (the result). This file only
//! declares and re-exports.
//! Imports: `capture` (packets, link types).

mod decap;
pub mod error;
pub mod link;
pub mod tcp_segment;
pub mod tunnel;

pub use error::DecodeError;
pub use link::{decode_packet, decode_packet_tunnels};
pub use tcp_segment::{Endpoint, TcpFlags, TcpSegment};
pub use tunnel::{PacketTunnels, Tunnel, TunnelKind, TunnelStats, TunnelTrouble, Undecoded};
