//! Whether bytes look like an inner frame: what lets a VXLAN or Geneve
//! header on any UDP port, an IP packet in UDP, or an MPLS pseudowire be
//! taken for a tunnel without taking random bytes for one.

use super::found::be16;

/// An Ethernet frame (up to three VLAN tags) whose ethertype is IPv4 or
/// IPv6 with a plausible header.
pub(super) fn ether_carries_ip(b: &[u8]) -> bool {
    let mut at = 12;
    for _ in 0..4 {
        let Some(t) = b.get(at..at + 2) else { return false };
        match u16::from_be_bytes([t[0], t[1]]) {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            0x0800 | 0x86dd => return b.get(at + 2..).is_some_and(ip_plausible),
            _ => return false,
        }
    }
    false
}

/// An IPv4 header with sane lengths, or an IPv6 header.
pub(super) fn ip_plausible(b: &[u8]) -> bool {
    match b.first().map(|v| v >> 4) {
        Some(4) => {
            let ihl = usize::from(b[0] & 0x0f) * 4;
            b.len() >= 20 && ihl >= 20 && b.len() >= ihl && usize::from(be16(b, 2)) >= ihl
        }
        Some(6) => b.len() >= 40,
        _ => false,
    }
}
