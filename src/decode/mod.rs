//! Decode layer: link, network and transport headers of one [`RawPacket`],
//! down to a borrowed [`TcpSegment`], inside tunnels too. Nothing here
//! keeps state between packets.
//!
//! | file | holds |
//! |---|---|
//! | `link.rs` | [`decode_packet`], [`decode_packet_tunnels`]: the entry points, one packet down to TCP |
//! | `ipv4_direct.rs` | the fast path: IPv4/TCP after Ethernet or Linux cooked, read without etherparse |
//! | `sliced.rs` | every other packet through etherparse's lax slicing, and the tunnel layers taken off it |
//! | `decap/` | tunnel headers: VXLAN, Geneve, GRE, ERSPAN, IP-in-IP, MPLS (table in `decap/mod.rs`) |
//! | `tunnel.rs` | what a packet was carried in: [`Tunnel`], [`PacketTunnels`], [`TunnelStats`] |
//! | `tcp_segment.rs` | the result: [`TcpSegment`], [`Endpoint`], [`TcpFlags`] |
//! | `error.rs` | [`DecodeError`] |
//!
//! This file only declares and re-exports. Imports: `capture` (packets,
//! link types).
//!
//! [`RawPacket`]: crate::capture::RawPacket

mod decap;
pub mod error;
mod ipv4_direct;
pub mod link;
mod sliced;
pub mod tcp_segment;
pub mod tunnel;

pub use error::DecodeError;
pub use link::{decode_packet, decode_packet_tunnels};
pub use tcp_segment::{Endpoint, TcpFlags, TcpSegment};
pub use tunnel::{PacketTunnels, Tunnel, TunnelKind, TunnelStats, TunnelTrouble, Undecoded};
