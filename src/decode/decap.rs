//! Tunnel headers: given what an IP packet or a link layer carries, says
//! whether it is a tunnel, which (kind, id) and where its inner frame
//! starts. One layer at a time and nothing recursive: `link.rs` takes the
//! inner frame back through the same decode, up to
//! [`MAX_TUNNEL_DEPTH`](super::tunnel::MAX_TUNNEL_DEPTH) layers.
//!
//! Detection: GRE, IP-in-IP and MPLS by their protocol numbers; VXLAN,
//! Geneve and the other UDP encapsulations by their destination port, and
//! VXLAN and Geneve on any other UDP port only when the header is strict
//! (flags, reserved bits, option lengths) and the frame inside is Ethernet
//! carrying a plausible IP header, so random UDP is not taken for a tunnel.

use super::error::DecodeError;
use super::tunnel::{Tunnel, TunnelKind, Undecoded};
use std::net::IpAddr;

/// Labels read before an MPLS stack without bottom is called malformed.
const MAX_MPLS_LABELS: usize = 16;

/// What a tunnel layer carries.
#[derive(Debug)]
pub(super) enum Carried<'p> {
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
pub(super) enum Found<'p> {
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
pub(super) struct Outer {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
}

impl Outer {
    fn tunnel(self, kind: TunnelKind, port: Option<u16>, id: Option<u32>) -> Tunnel {
        Tunnel { kind, outer_src: self.src, outer_dst: self.dst, port, id }
    }
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn be24(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([0, b[i], b[i + 1], b[i + 2]])
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn truncated(kind: TunnelKind, layer: &'static str, needed: usize, have: usize) -> Found<'static> {
    Found::Broken(kind, DecodeError::Truncated { layer, needed, have })
}

fn malformed(kind: TunnelKind, layer: &'static str, detail: String) -> Found<'static> {
    Found::Broken(kind, DecodeError::Malformed { layer, detail })
}

fn undecoded(name: &'static str, code: Option<u32>) -> Found<'static> {
    Found::Undecoded(Undecoded { name, code })
}

/// Whether an ethertype is MPLS (unicast, multicast).
pub(super) fn is_mpls(ether_type: u16) -> bool {
    matches!(ether_type, 0x8847 | 0x8848)
}

/// Whether an IP packet of this protocol is a tunnel when it is a
/// fragment (its inner packet cannot be read then).
pub(super) fn tunnel_protocol(proto: u8) -> bool {
    matches!(proto, 4 | 41 | 47 | 137)
}

/// A payload of IP protocol `proto` from `outer`.
pub(super) fn over_ip(proto: u8, outer: Outer, payload: &[u8]) -> Found<'_> {
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

/// A UDP datagram: tunnels on their ports, VXLAN and Geneve on any other
/// port when strict.
fn udp(outer: Outer, b: &[u8]) -> Found<'_> {
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

/// GRE (RFC 2784 / 2890: checksum, key, sequence number) and what it
/// carries: IP, Ethernet, ERSPAN I/II/III, MPLS. `port`: GRE-in-UDP.
fn gre(outer: Outer, port: Option<u16>, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Gre;
    if b.len() < 4 {
        return truncated(KIND, "gre", 4, b.len());
    }
    let flags = be16(b, 0);
    let proto = be16(b, 2);
    match flags & 0x7 {
        0 => {}
        1 => return undecoded("GRE version 1 (PPTP)", None),
        v => return malformed(KIND, "gre", format!("version {v}")),
    }
    if flags & 0x4000 != 0 {
        return undecoded("GRE with source routing (RFC 1701)", None);
    }
    let (checksum, keyed, sequenced) = (flags & 0x8000 != 0, flags & 0x2000 != 0, flags & 0x1000 != 0);
    let key_at = if checksum { 8 } else { 4 };
    let header = key_at + 4 * usize::from(keyed) + 4 * usize::from(sequenced);
    if b.len() < header {
        return truncated(KIND, "gre", header, b.len());
    }
    let key = keyed.then(|| be32(b, key_at));
    let inner = &b[header..];
    let layer = |kind| outer.tunnel(kind, port, key);
    match proto {
        0x0800 | 0x86dd => Found::Layer(layer(KIND), Carried::Ip(inner)),
        0x6558 => Found::Layer(layer(TunnelKind::GreEthernet), Carried::Ethernet(inner)),
        0x88be if sequenced => erspan2(outer, inner),
        0x88be => Found::Layer(layer(TunnelKind::Erspan1), Carried::Ethernet(inner)),
        0x22eb => erspan3(outer, inner),
        p if is_mpls(p) => Found::Layer(layer(KIND), Carried::Mpls(inner)),
        p => undecoded("GRE protocol", Some(u32::from(p))),
    }
}

/// ERSPAN type II: version 1, session id, then the mirrored frame.
fn erspan2(outer: Outer, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Erspan2;
    if b.len() < 8 {
        return truncated(KIND, "erspan", 8, b.len());
    }
    let version = b[0] >> 4;
    if version != 1 {
        return malformed(KIND, "erspan", format!("type II header with version {version}"));
    }
    let session = u32::from(be16(b, 2) & 0x3ff);
    Found::Layer(outer.tunnel(KIND, None, Some(session)), Carried::Ethernet(&b[8..]))
}

/// ERSPAN type III: version 2, session id, frame type (Ethernet or IP),
/// and the optional 8-byte platform subheader.
fn erspan3(outer: Outer, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Erspan3;
    if b.len() < 12 {
        return truncated(KIND, "erspan", 12, b.len());
    }
    let version = b[0] >> 4;
    if version != 2 {
        return malformed(KIND, "erspan", format!("type III header with version {version}"));
    }
    let header = if b[11] & 0x01 != 0 { 20 } else { 12 };
    if b.len() < header {
        return truncated(KIND, "erspan", header, b.len());
    }
    let layer = outer.tunnel(KIND, None, Some(u32::from(be16(b, 2) & 0x3ff)));
    let inner = &b[header..];
    let carried = match (b[10] >> 2) & 0x1f {
        0 => Carried::Ethernet(inner),
        2 => Carried::Ip(inner),
        t => Carried::Undecoded(Undecoded { name: "ERSPAN III frame type", code: Some(u32::from(t)) }),
    };
    Found::Layer(layer, carried)
}

/// An MPLS label stack up to its bottom, then IPv4 / IPv6 by the version
/// nibble, or an Ethernet pseudowire after a control word (first nibble
/// 0) only when that frame carries plausible IP.
pub(super) fn mpls(outer: Outer, port: Option<u16>, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Mpls;
    let mut at = 0;
    let mut bottom = None;
    for _ in 0..MAX_MPLS_LABELS {
        if b.len() < at + 4 {
            return truncated(KIND, "mpls", at + 4, b.len());
        }
        let entry = be32(b, at);
        at += 4;
        if entry & 0x100 != 0 {
            bottom = Some(entry >> 12);
            break;
        }
    }
    let Some(label) = bottom else {
        return malformed(KIND, "mpls", format!("no bottom of stack in {MAX_MPLS_LABELS} labels"));
    };
    let layer = outer.tunnel(KIND, port, Some(label));
    let inner = &b[at..];
    let carried = match inner.first().map(|v| v >> 4) {
        Some(4 | 6) => Carried::Ip(inner),
        Some(0) if inner.get(4..).is_some_and(ether_carries_ip) => Carried::Ethernet(&inner[4..]),
        Some(n) => Carried::Undecoded(Undecoded { name: "MPLS payload with first nibble", code: Some(u32::from(n)) }),
        None => return truncated(KIND, "mpls", at + 1, b.len()),
    };
    Found::Layer(layer, carried)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const OUTER: Outer = Outer { src: None, dst: None };

    /// Ethernet, IPv4 header only (20 bytes, total length 40).
    fn eth_ip() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40]);
        f.extend_from_slice(&[0u8; 16]);
        f
    }

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

    #[test]
    fn gre_optional_fields_and_protocols() {
        // C, K, S: checksum word, key 0xABCD, sequence.
        let mut g = vec![0xB0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 0, 0, 0, 1];
        g.extend_from_slice(&[0x45; 20]);
        match over_ip(47, OUTER, &g) {
            Found::Layer(t, Carried::Ip(ip)) => {
                assert_eq!((t.kind, t.id), (TunnelKind::Gre, Some(0xABCD)));
                assert_eq!(ip.len(), 20);
            }
            f => panic!("{f:?}"),
        }
        for cut in 0..16 {
            assert!(matches!(over_ip(47, OUTER, &g[..cut]), Found::Broken(TunnelKind::Gre, _)), "cut {cut}");
        }
        let ppp = [0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0];
        assert!(matches!(over_ip(47, OUTER, &ppp), Found::Undecoded(u) if u.to_string() == "GRE version 1 (PPTP)"));
        let other = [0, 0, 0x88, 0x0b];
        assert!(matches!(over_ip(47, OUTER, &other), Found::Undecoded(u) if u.to_string() == "GRE protocol 0x880b"));
    }

    #[test]
    fn erspan_headers() {
        // Type II: GRE with sequence number, version 1, session 0x155.
        let mut g = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 5, 0x10, 0x00, 0x01, 0x55, 0, 0, 0, 0];
        g.extend(eth_ip());
        assert!(
            matches!(over_ip(47, OUTER, &g), Found::Layer(t, Carried::Ethernet(_)) if t.kind == TunnelKind::Erspan2 && t.id == Some(0x155))
        );
        g[8] = 0x20;
        assert!(matches!(over_ip(47, OUTER, &g), Found::Broken(TunnelKind::Erspan2, _)));
        // Type III with the platform subheader, frame type Ethernet.
        let mut g = vec![0x00, 0x00, 0x22, 0xeb, 0x20, 0, 0x00, 0x07, 0, 0, 0, 0, 0, 0, 0x00, 0x01];
        g.extend_from_slice(&[0; 8]);
        g.extend(eth_ip());
        assert!(
            matches!(over_ip(47, OUTER, &g), Found::Layer(t, Carried::Ethernet(e)) if t.kind == TunnelKind::Erspan3 && t.id == Some(7) && e.len() == 34)
        );
        g[14] = 0x02 << 2; // frame type 2: IP (still the O bit)
        assert!(matches!(over_ip(47, OUTER, &g), Found::Layer(_, Carried::Ip(_))));
    }

    #[test]
    fn mpls_stack_to_the_bottom() {
        let mut m = vec![0x00, 0x06, 0x40, 0x40, 0x00, 0x0c, 0x81, 0x40]; // labels 100, 200 (bottom)
        m.extend_from_slice(&[0x45, 0, 0, 20]);
        assert!(matches!(mpls(OUTER, None, &m), Found::Layer(t, Carried::Ip(_)) if t.id == Some(200)));
        assert!(matches!(mpls(OUTER, None, &m[..6]), Found::Broken(TunnelKind::Mpls, _)));
        assert!(matches!(mpls(OUTER, None, &[0u8; 80]), Found::Broken(TunnelKind::Mpls, _)));
        // Pseudowire: control word, then Ethernet carrying IP.
        let mut pw = m[..8].to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend(eth_ip());
        assert!(matches!(mpls(OUTER, None, &pw), Found::Layer(_, Carried::Ethernet(_))));
        pw[8 + 4 + 12] = 0x99;
        assert!(matches!(mpls(OUTER, None, &pw), Found::Layer(_, Carried::Undecoded(_))));
    }
}
