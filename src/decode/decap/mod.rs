//! Tunnel headers: given what an IP packet or a link layer carries, says
//! whether it is a tunnel, which (kind, id) and where its inner frame
//! starts. One layer at a time and nothing recursive: `sliced.rs` takes
//! the inner frame back through the same decode, up to
//! [`MAX_TUNNEL_DEPTH`](super::tunnel::MAX_TUNNEL_DEPTH) layers.
//!
//! Detection: GRE, IP-in-IP and MPLS by their protocol numbers; VXLAN,
//! Geneve and the other UDP encapsulations by their destination port, and
//! VXLAN and Geneve on any other UDP port only when the header is strict
//! (flags, reserved bits, option lengths) and the frame inside is Ethernet
//! carrying a plausible IP header, so random UDP is not taken for a tunnel.
//!
//! | file | holds |
//! |---|---|
//! | `found.rs` | [`Found`], [`Carried`], [`Outer`]: one layer's verdict; the byte reads every header shares |
//! | `ip_protocol.rs` | [`over_ip`]: the tunnel an IP protocol number names; [`tunnel_protocol`] |
//! | `udp.rs` | VXLAN, VXLAN-GPE, Geneve, and the other tunnels in UDP (by port) |
//! | `gre.rs` | GRE and ERSPAN I, II, III |
//! | `mpls.rs` | [`mpls`]: label stacks and what sits below the bottom label |
//! | `plausible.rs` | whether bytes look like an inner Ethernet frame or IP header |
//!
//! This file only declares and re-exports.

mod found;
mod gre;
mod ip_protocol;
mod mpls;
mod plausible;
mod udp;

pub(super) use found::{Carried, Found, Outer, is_mpls};
pub(super) use ip_protocol::{over_ip, tunnel_protocol};
pub(super) use mpls::mpls;
