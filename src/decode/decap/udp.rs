//! Tunnels in UDP: VXLAN, VXLAN-GPE and Geneve (on their ports, or on
//! any port when the header is strict), GRE and MPLS in UDP, IP in UDP,
//! and the UDP tunnels named but not decoded.

use super::found::{Carried, Found, Outer, be16, be24, is_mpls, malformed, truncated, undecoded};
use super::gre::gre;
use super::mpls::mpls;
use super::plausible::{ether_carries_ip, ip_plausible};
use crate::decode::tunnel::{TunnelKind, Undecoded};

/// A UDP datagram: tunnels on their ports, VXLAN and Geneve on any other
/// port when strict.
pub(super) fn udp(outer: Outer, b: &[u8]) -> Found<'_> {
    if b.len() < 8 {
        return Found::NotTunnel;
    }
    let dport = be16(b, 2);
    let len = usize::from(be16(b, 4));
    // A length shorter than the header (0: jumbogram) or longer than what
    // was captured (snaplen): the captured bytes.
    let body = if (8..=b.len()).contains(&len) { &b[8..len] } else { &b[8..] };
    let port = Some(dport);
    match dport {
        4789 | 8472 | 4790 => vxlan(outer, dport, body, false),
        6081 => geneve(outer, dport, body, false),
        4754 => gre(outer, port, body),
        6635 => mpls(outer, port, body),
        8285 if ip_plausible(body) => Found::Layer(outer.tunnel(TunnelKind::IpInUdp, port, None), Carried::Ip(body)),
        2152 => undecoded("GTP-U (UDP 2152)", None),
        1701 => undecoded("L2TP (UDP 1701)", None),
        4500 => undecoded("IPsec NAT-T (UDP 4500)", None),
        3544 => undecoded("Teredo (UDP 3544)", None),
        51820 => undecoded("WireGuard (UDP 51820)", None),
        _ => match vxlan(outer, dport, body, true) {
            Found::NotTunnel => geneve(outer, dport, body, true),
            f => f,
        },
    }
}

/// VXLAN (and VXLAN-GPE: port 4790 or the P flag). `strict`: any port,
/// so only a header with exactly the I flag and zero reserved bits over
/// an Ethernet frame carrying IP.
fn vxlan(outer: Outer, port: u16, b: &[u8], strict: bool) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Vxlan;
    if b.len() < 8 {
        return if strict { Found::NotTunnel } else { truncated(KIND, "vxlan", 8, b.len()) };
    }
    let flags = b[0];
    if strict {
        if flags != 0x08 || b[1..4] != [0, 0, 0] || b[7] != 0 || !ether_carries_ip(&b[8..]) {
            return Found::NotTunnel;
        }
    } else if flags & 0x08 == 0 {
        return malformed(KIND, "vxlan", format!("flags {flags:#04x}: no VNI (I flag clear)"));
    }
    let vni = Some(be24(b, 4));
    let inner = &b[8..];
    if port == 4790 || (!strict && flags & 0x04 != 0) {
        let layer = outer.tunnel(TunnelKind::VxlanGpe, Some(port), vni);
        let carried = match b[3] {
            1 | 2 => Carried::Ip(inner),
            3 => Carried::Ethernet(inner),
            5 => Carried::Mpls(inner),
            next => Carried::Undecoded(Undecoded { name: "VXLAN-GPE next protocol", code: Some(u32::from(next)) }),
        };
        return Found::Layer(layer, carried);
    }
    Found::Layer(outer.tunnel(KIND, Some(port), vni), Carried::Ethernet(inner))
}

/// Geneve: options skipped by their length. `strict`: any port, so
/// version 0, reserved bits zero, options that add up, no control packet,
/// and an inner Ethernet frame or IP packet that looks like one.
fn geneve(outer: Outer, port: u16, b: &[u8], strict: bool) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Geneve;
    if b.len() < 8 {
        return if strict { Found::NotTunnel } else { truncated(KIND, "geneve", 8, b.len()) };
    }
    let version = b[0] >> 6;
    let header = 8 + usize::from(b[0] & 0x3f) * 4;
    let proto = be16(b, 2);
    if strict {
        let inner_ok = match proto {
            0x6558 => b.get(header..).is_some_and(ether_carries_ip),
            0x0800 | 0x86dd => b.get(header..).is_some_and(ip_plausible),
            _ => false,
        };
        let options_ok = b.get(8..header).is_some_and(geneve_options_add_up);
        if version != 0 || b[1] != 0 || b[7] != 0 || !options_ok || !inner_ok {
            return Found::NotTunnel;
        }
    } else if version != 0 {
        return malformed(KIND, "geneve", format!("version {version}"));
    }
    if b.len() < header {
        return truncated(KIND, "geneve", header, b.len());
    }
    let layer = outer.tunnel(KIND, Some(port), Some(be24(b, 4)));
    let inner = &b[header..];
    let carried = match proto {
        0x6558 => Carried::Ethernet(inner),
        0x0800 | 0x86dd => Carried::Ip(inner),
        p if is_mpls(p) => Carried::Mpls(inner),
        p => Carried::Undecoded(Undecoded { name: "Geneve protocol", code: Some(u32::from(p)) }),
    };
    Found::Layer(layer, carried)
}

/// Geneve options: 4-byte TLV headers whose lengths fill `opts` exactly.
fn geneve_options_add_up(opts: &[u8]) -> bool {
    let mut at = 0;
    while at < opts.len() {
        let Some(&len) = opts.get(at + 3) else { return false };
        at += 4 + usize::from(len & 0x1f) * 4;
    }
    at == opts.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decap::found::test_frames::{OUTER, eth_ip};
    use crate::decode::decap::ip_protocol::over_ip;

    fn udp(dport: u16, body: &[u8]) -> Vec<u8> {
        let mut u = vec![0x30, 0x39];
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(body);
        u
    }

    #[test]
    fn vxlan_on_any_port_only_when_strict() {
        let mut body = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        body.extend(eth_ip());
        for port in [4789, 8472, 31000] {
            match over_ip(17, OUTER, &udp(port, &body)) {
                Found::Layer(t, Carried::Ethernet(_)) => {
                    assert_eq!((t.kind, t.id, t.port), (TunnelKind::Vxlan, Some(7), Some(port)))
                }
                f => panic!("port {port}: {f:?}"),
            }
        }
        // Reserved bits set, or an inner frame that is not IP: plain UDP
        // elsewhere, a VXLAN (GBP flag) on the VXLAN ports.
        let mut gbp = body.clone();
        gbp[0] = 0x88;
        gbp[2] = 5;
        assert!(matches!(over_ip(17, OUTER, &udp(31000, &gbp)), Found::NotTunnel));
        assert!(matches!(over_ip(17, OUTER, &udp(8472, &gbp)), Found::Layer(..)));
        let mut arp = body.clone();
        arp[8 + 12..8 + 14].copy_from_slice(&[0x08, 0x06]);
        assert!(matches!(over_ip(17, OUTER, &udp(31000, &arp)), Found::NotTunnel));
        // Cut or flagless on a VXLAN port: broken, counted.
        assert!(matches!(over_ip(17, OUTER, &udp(4789, &body[..5])), Found::Broken(TunnelKind::Vxlan, _)));
        let mut flagless = body.clone();
        flagless[0] = 0;
        assert!(matches!(over_ip(17, OUTER, &udp(4789, &flagless)), Found::Broken(TunnelKind::Vxlan, _)));
        assert!(matches!(over_ip(17, OUTER, &udp(53, b"\x12\x34\x01\x00\x00\x01")), Found::NotTunnel));
    }

    #[test]
    fn geneve_options_are_skipped_by_length_and_checked_when_strict() {
        // One option of 8 bytes (4 header + 4 data): opt len 2 words.
        let mut body = vec![0x02, 0, 0x65, 0x58, 0, 0, 9, 0, 0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4];
        body.extend(eth_ip());
        for port in [6081, 40000] {
            match over_ip(17, OUTER, &udp(port, &body)) {
                Found::Layer(t, Carried::Ethernet(e)) => {
                    assert_eq!((t.kind, t.id), (TunnelKind::Geneve, Some(9)));
                    assert_eq!(e, &eth_ip()[..]);
                }
                f => panic!("{f:?}"),
            }
        }
        let mut bad = body.clone();
        bad[11] = 0x02; // option says 8 bytes of data: does not add up
        assert!(matches!(over_ip(17, OUTER, &udp(40000, &bad)), Found::NotTunnel));
        assert!(matches!(over_ip(17, OUTER, &udp(6081, &bad)), Found::Layer(..)));
        assert!(matches!(over_ip(17, OUTER, &udp(6081, &body[..12])), Found::Broken(TunnelKind::Geneve, _)));
    }
}
