//! Tunnels told by the IP protocol number of the packet that carries
//! them: IP-in-IP, GRE, MPLS, UDP (whose tunnels `udp.rs` tells by port),
//! and the ones named but not decoded.

use super::found::{Carried, Found, Outer, undecoded};
use super::gre::gre;
use super::mpls::mpls;
use super::udp::udp;
use crate::decode::tunnel::TunnelKind;

/// Whether an IP packet of this protocol is a tunnel when it is a
/// fragment (its inner packet cannot be read then).
pub(in crate::decode) fn tunnel_protocol(proto: u8) -> bool {
    matches!(proto, 4 | 41 | 47 | 137)
}

/// A payload of IP protocol `proto` from `outer`.
pub(in crate::decode) fn over_ip(proto: u8, outer: Outer, payload: &[u8]) -> Found<'_> {
    match proto {
        4 => Found::Layer(outer.tunnel(TunnelKind::IpInIp, None, None), Carried::Ip(payload)),
        41 => Found::Layer(outer.tunnel(TunnelKind::Ipv6InIp, None, None), Carried::Ip(payload)),
        47 => gre(outer, None, payload),
        17 => udp(outer, payload),
        137 => mpls(outer, None, payload),
        50 => undecoded("IPsec ESP (encrypted, IP protocol 50)", None),
        97 => undecoded("EtherIP (IP protocol 97)", None),
        115 => undecoded("L2TPv3 (IP protocol 115)", None),
        _ => Found::NotTunnel,
    }
}
