//! One tunnel layer as decapsulation sees it: what a payload turned out
//! to be ([`Found`]), what the layer carries ([`Carried`]), its outer
//! addresses ([`Outer`]), and what every tunnel header's reader shares
//! (byte reads, the verdicts of a cut or impossible header).

use crate::decode::error::DecodeError;
use crate::decode::tunnel::{Tunnel, TunnelKind, Undecoded};
use std::net::IpAddr;

/// What a tunnel layer carries.
#[derive(Debug)]
pub(in crate::decode) enum Carried<'p> {
    /// An Ethernet frame (VLAN tags allowed).
    Ethernet(&'p [u8]),
    /// An IPv4 or IPv6 packet (told by its version nibble).
    Ip(&'p [u8]),
    /// An MPLS label stack.
    Mpls(&'p [u8]),
    /// Something meetgraph names but does not decode.
    Undecoded(Undecoded),
}

/// What a payload turned out to be.
#[derive(Debug)]
pub(in crate::decode) enum Found<'p> {
    /// Not a tunnel (or not one meetgraph can tell): plain UDP, ICMP, ...
    NotTunnel,
    /// One tunnel layer and what it carries.
    Layer(Tunnel, Carried<'p>),
    /// A tunnel meetgraph recognises but does not decode.
    Undecoded(Undecoded),
    /// A tunnel of this kind with a header cut or impossible.
    Broken(TunnelKind, DecodeError),
}

/// The outer addresses of a layer (none for MPLS straight on a link).
#[derive(Clone, Copy, Debug, Default)]
pub(in crate::decode) struct Outer {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
}

impl Outer {
    pub(super) fn tunnel(self, kind: TunnelKind, port: Option<u16>, id: Option<u32>) -> Tunnel {
        Tunnel { kind, outer_src: self.src, outer_dst: self.dst, port, id }
    }
}

pub(super) fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

pub(super) fn be24(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([0, b[i], b[i + 1], b[i + 2]])
}

pub(super) fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

pub(super) fn truncated(kind: TunnelKind, layer: &'static str, needed: usize, have: usize) -> Found<'static> {
    Found::Broken(kind, DecodeError::Truncated { layer, needed, have })
}

pub(super) fn malformed(kind: TunnelKind, layer: &'static str, detail: String) -> Found<'static> {
    Found::Broken(kind, DecodeError::Malformed { layer, detail })
}

pub(super) fn undecoded(name: &'static str, code: Option<u32>) -> Found<'static> {
    Found::Undecoded(Undecoded { name, code })
}

/// Whether an ethertype is MPLS (unicast, multicast).
pub(in crate::decode) fn is_mpls(ether_type: u16) -> bool {
    matches!(ether_type, 0x8847 | 0x8848)
}

/// Frames the tests of every tunnel header build on.
#[cfg(test)]
pub(crate) mod test_frames {
    use super::Outer;

    pub(crate) const OUTER: Outer = Outer { src: None, dst: None };

    /// Ethernet, IPv4 header only (20 bytes, total length 40).
    pub(crate) fn eth_ip() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40]);
        f.extend_from_slice(&[0u8; 16]);
        f
    }
}
