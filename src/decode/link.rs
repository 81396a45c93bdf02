//! Link-layer dispatch, then IP and TCP through etherparse's lax slicing
//! (which keeps what a snaplen-cut packet still has). A packet that is a
//! tunnel (`decap.rs`) has its inner frame taken back through the same
//! decode, so reassembly sees the inner TCP segment.

use super::decap::{self, Carried, Found, Outer};
use super::error::DecodeError;
use super::tcp_segment::{Endpoint, TcpFlags, TcpSegment};
use super::tunnel::{MAX_TUNNEL_DEPTH, PacketTunnels, TunnelTrouble};
use crate::capture::{LinkType, RawPacket};
use etherparse::err::packet::SliceError;
use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::net::IpAddr;

/// BSD address families that mean IPv4 / IPv6 (IPv6 differs per OS).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

fn need(layer: &'static str, data: &[u8], n: usize) -> Result<(), DecodeError> {
    if data.len() < n { Err(DecodeError::Truncated { layer, needed: n, have: data.len() }) } else { Ok(()) }
}

/// Slices a packet whose link header is `ethertype`-typed (Linux cooked).
fn from_ether_type(proto: u16, payload: &[u8]) -> Option<LaxSlicedPacket<'_>> {
    match proto {
        0x0800 | 0x86dd | 0x8100 | 0x88a8 | 0x9100 | 0x8847 | 0x8848 => {
            Some(LaxSlicedPacket::from_ether_type(EtherType(proto), payload))
        }
        _ => None,
    }
}

fn from_ip(payload: &[u8]) -> Result<Option<LaxSlicedPacket<'_>>, DecodeError> {
    match payload.first().map(|b| b >> 4) {
        Some(4) | Some(6) => LaxSlicedPacket::from_ip(payload)
            .map(Some)
            .map_err(|e| DecodeError::Malformed { layer: "ip", detail: e.to_string() }),
        Some(_) => Ok(None),
        None => Err(DecodeError::Truncated { layer: "ip", needed: 1, have: 0 }),
    }
}

/// Decodes one packet down to TCP, inside tunnels too (the inner segment).
/// `Ok(None)` for packets that are not TCP over IPv4/IPv6 (ARP, UDP,
/// ICMP, other ethertypes, tunnels not decoded); an error for a packet
/// (or a tunnel header) cut or impossible.
pub fn decode_packet<'pkt>(pkt: &RawPacket<'pkt>) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    if let Some(seg) = ipv4_tcp_direct(pkt.link, pkt.data) {
        return Ok(Some(seg));
    }
    decode_sliced(pkt.link, pkt.data, &mut PacketTunnels::default())
}

/// [`decode_packet`] that also says what the packet was carried in:
/// `tunnels` is cleared, then holds the layers taken off (kind, outer
/// endpoints, VNI / key / session / label) and where decapsulation
/// stopped short (a tunnel not decoded, a broken header, too deep).
/// Feed it to [`TunnelStats::record`](super::TunnelStats::record).
pub fn decode_packet_tunnels<'pkt>(
    pkt: &RawPacket<'pkt>,
    tunnels: &mut PacketTunnels,
) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    tunnels.clear();
    if let Some(seg) = ipv4_tcp_direct(pkt.link, pkt.data) {
        return Ok(Some(seg));
    }
    decode_sliced(pkt.link, pkt.data, tunnels)
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// The common case read directly: IPv4 (options allowed) right after an
/// Ethernet II or Linux cooked (v1, v2) header, unfragmented TCP with its
/// whole header captured. `None` for anything else (VLAN tags, IPv6, a
/// header cut by the snaplen, a total length shorter than the header...),
/// which etherparse then decodes. Gives what [`decode_sliced`] gives for
/// the same bytes (a test compares them).
fn ipv4_tcp_direct(link: LinkType, d: &[u8]) -> Option<TcpSegment<'_>> {
    let ip = match link {
        LinkType::ETHERNET if d.len() >= 14 && be16(d, 12) == 0x0800 => &d[14..],
        LinkType::LINUX_SLL if d.len() >= 16 && be16(d, 14) == 0x0800 => &d[16..],
        LinkType::LINUX_SLL2 if d.len() >= 20 && be16(d, 0) == 0x0800 => &d[20..],
        _ => return None,
    };
    ipv4_tcp(ip)
}

fn ipv4_tcp(ip: &[u8]) -> Option<TcpSegment<'_>> {
    let be32 = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    if ip.len() < 20 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(be16(ip, 2));
    let fragmenting = ip[6] & 0x20 != 0 || be16(ip, 6) & 0x1fff != 0;
    if ip[0] >> 4 != 4 || ihl < 20 || ip.len() < ihl || total < ihl || ip[9] != 6 || fragmenting {
        return None;
    }
    let incomplete = total > ip.len();
    let tcp = &ip[ihl..total.min(ip.len())];
    if tcp.len() < 20 {
        return None;
    }
    let header_len = usize::from(tcp[12] >> 4) * 4;
    if header_len < 20 || tcp.len() < header_len {
        return None;
    }
    let payload = &tcp[header_len..];
    let on_wire = (total - ihl).saturating_sub(header_len);
    let missing = if incomplete { on_wire.saturating_sub(payload.len()) } else { 0 };
    let flags = tcp[13];
    let addr = |i: usize| IpAddr::V4(std::net::Ipv4Addr::new(ip[i], ip[i + 1], ip[i + 2], ip[i + 3]));
    Some(TcpSegment {
        src: Endpoint { ip: addr(12), port: be16(tcp, 0) },
        dst: Endpoint { ip: addr(16), port: be16(tcp, 2) },
        seq: be32(tcp, 4),
        ack: be32(tcp, 8),
        flags: TcpFlags {
            syn: flags & 0x02 != 0,
            ack: flags & 0x10 != 0,
            fin: flags & 0x01 != 0,
            rst: flags & 0x04 != 0,
        },
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

/// Decodes any supported packet through etherparse's lax slicing.
fn decode_sliced<'pkt>(
    link: LinkType,
    d: &'pkt [u8],
    tunnels: &mut PacketTunnels,
) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    let sliced = match link {
        LinkType::ETHERNET => match LaxSlicedPacket::from_ethernet(d) {
            Ok(s) => Some(s),
            Err(e) => {
                return Err(DecodeError::Truncated { layer: "ethernet", needed: e.required_len, have: e.len });
            }
        },
        LinkType::LINUX_SLL => {
            need("linux cooked v1", d, 16)?;
            from_ether_type(u16::from_be_bytes([d[14], d[15]]), &d[16..])
        }
        LinkType::LINUX_SLL2 => {
            need("linux cooked v2", d, 20)?;
            from_ether_type(u16::from_be_bytes([d[0], d[1]]), &d[20..])
        }
        LinkType::NULL | LinkType::LOOP => {
            need("loopback", d, 4)?;
            let raw = [d[0], d[1], d[2], d[3]];
            let af = if link == LinkType::LOOP {
                u32::from_be_bytes(raw)
            } else {
                // Host order of the capturing machine: accept either.
                let le = u32::from_le_bytes(raw);
                if le < 0x100 { le } else { u32::from_be_bytes(raw) }
            };
            if af == AF_INET || AF_INET6.contains(&af) { from_ip(&d[4..])? } else { None }
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => from_ip(d)?,
        other => return Err(DecodeError::UnsupportedLink(other)),
    };
    let Some(p) = sliced else { return Ok(None) };
    tcp_of(&p, tunnels)
}

/// The frame a tunnel carried: the direct IPv4/TCP read first, as for a
/// captured packet, then etherparse.
fn inner<'pkt>(
    link: LinkType,
    d: &'pkt [u8],
    tunnels: &mut PacketTunnels,
) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    let direct = if link == LinkType::RAW { ipv4_tcp(d) } else { ipv4_tcp_direct(link, d) };
    match direct {
        Some(seg) => Ok(Some(seg)),
        None => decode_sliced(link, d, tunnels),
    }
}

/// Takes one tunnel layer off (or says why not) and decodes what it
/// carries.
fn decapsulate<'pkt>(found: Found<'pkt>, tunnels: &mut PacketTunnels) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    match found {
        Found::NotTunnel => Ok(None),
        Found::Undecoded(u) => {
            tunnels.trouble = Some(TunnelTrouble::Undecoded(u));
            Ok(None)
        }
        Found::Broken(kind, e) => {
            tunnels.trouble = Some(TunnelTrouble::Malformed(kind));
            Err(e)
        }
        Found::Layer(layer, carried) => {
            if !tunnels.push(layer) {
                let detail = format!("more than {MAX_TUNNEL_DEPTH} nested tunnels");
                return Err(DecodeError::Malformed { layer: "tunnel", detail });
            }
            match carried {
                Carried::Ethernet(b) => inner(LinkType::ETHERNET, b, tunnels),
                Carried::Ip(b) => inner(LinkType::RAW, b, tunnels),
                Carried::Mpls(b) => decapsulate(decap::mpls(Outer::default(), None, b), tunnels),
                Carried::Undecoded(u) => {
                    tunnels.trouble = Some(TunnelTrouble::Undecoded(u));
                    Ok(None)
                }
            }
        }
    }
}

fn tcp_of<'pkt>(
    p: &LaxSlicedPacket<'pkt>,
    tunnels: &mut PacketTunnels,
) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    let (src_ip, dst_ip, ip_payload, declared) = match &p.net {
        Some(LaxNetSlice::Ipv4(s)) => {
            let h = s.header();
            let declared = usize::from(h.total_len()).saturating_sub(usize::from(h.ihl()) * 4);
            (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()), s.payload(), declared)
        }
        Some(LaxNetSlice::Ipv6(s)) => {
            let h = s.header();
            let declared = usize::from(h.payload_length()).saturating_sub(s.extensions().slice().len());
            (IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()), s.payload(), declared)
        }
        Some(LaxNetSlice::Arp(_)) => return Ok(None),
        None => {
            return match &p.stop_err {
                Some((SliceError::Len(e), _)) => {
                    Err(DecodeError::Truncated { layer: "ip", needed: e.required_len, have: e.len })
                }
                Some((e, _)) => Err(DecodeError::Malformed { layer: "ip", detail: e.to_string() }),
                // MPLS on the link (after any VLAN tags).
                None => match p.ether_payload() {
                    Some(e) if decap::is_mpls(e.ether_type.0) => {
                        decapsulate(decap::mpls(Outer::default(), None, e.payload), tunnels)
                    }
                    _ => Ok(None),
                },
            };
        }
    };
    if ip_payload.ip_number != IpNumber::TCP {
        let proto = ip_payload.ip_number.0;
        if ip_payload.fragmented {
            // The inner packet of a fragmented tunnel cannot be read.
            return if decap::tunnel_protocol(proto) { Err(DecodeError::Fragmented) } else { Ok(None) };
        }
        let outer = Outer { src: Some(src_ip), dst: Some(dst_ip) };
        return decapsulate(decap::over_ip(proto, outer, ip_payload.payload), tunnels);
    }
    if ip_payload.fragmented {
        return Err(DecodeError::Fragmented);
    }
    let tcp = match &p.transport {
        Some(TransportSlice::Tcp(t)) => t,
        _ => {
            return match &p.stop_err {
                Some((SliceError::Len(e), _)) => {
                    Err(DecodeError::Truncated { layer: "tcp", needed: e.required_len, have: e.len })
                }
                Some((e, _)) => Err(DecodeError::Malformed { layer: "tcp", detail: e.to_string() }),
                None => Err(DecodeError::Truncated { layer: "tcp", needed: 20, have: ip_payload.payload.len() }),
            };
        }
    };
    let payload = tcp.payload();
    let header_len = usize::from(tcp.data_offset()) * 4;
    let on_wire = declared.saturating_sub(header_len);
    let missing = if ip_payload.incomplete { on_wire.saturating_sub(payload.len()) } else { 0 };
    Ok(Some(TcpSegment {
        src: Endpoint { ip: src_ip, port: tcp.source_port() },
        dst: Endpoint { ip: dst_ip, port: tcp.destination_port() },
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags { syn: tcp.syn(), ack: tcp.ack(), fin: tcp.fin(), rst: tcp.rst() },
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv6 + TCP with `payload`, captured whole or cut to `caplen`.
    fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&[0x60, 0, 0, 0]);
        p.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[6, 64]); // next header TCP, hop limit
        p.extend_from_slice(&"fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&"fd00::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&40000u16.to_be_bytes());
        p.extend_from_slice(&17000u16.to_be_bytes());
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&2000u32.to_be_bytes());
        p.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]); // data offset 5, PSH|ACK
        p.extend_from_slice(payload);
        p
    }

    fn raw(link: LinkType, data: &[u8]) -> RawPacket<'_> {
        RawPacket { ts_us: 0, frame: 1, link, orig_len: data.len() as u32, data }
    }

    #[test]
    fn ipv6_tcp_over_raw_ip() {
        let bytes = ipv6_tcp(b"RCmb-payload");
        let seg = decode_packet(&raw(LinkType::IPV6, &bytes)).unwrap().unwrap();
        assert_eq!(seg.src.to_string(), "[fd00::1]:40000");
        assert_eq!(seg.dst.to_string(), "[fd00::2]:17000");
        assert_eq!((seg.seq, seg.ack), (1000, 2000));
        assert!(seg.flags.ack && !seg.flags.syn);
        assert_eq!(seg.payload, b"RCmb-payload");
        assert_eq!(seg.missing, 0);
    }

    #[test]
    fn every_truncation_is_an_error_or_a_shorter_payload_with_missing_bytes() {
        let bytes = ipv6_tcp(b"0123456789");
        for cut in 0..bytes.len() {
            let mut p = raw(LinkType::IPV6, &bytes[..cut]);
            p.orig_len = bytes.len() as u32;
            match decode_packet(&p) {
                Ok(Some(seg)) => {
                    assert!(cut >= 60, "cut {cut}: TCP header incomplete but decoded");
                    assert_eq!(seg.payload.len() + seg.missing as usize, 10, "cut {cut}");
                }
                Ok(None) => panic!("cut {cut}: TCP packet not recognised"),
                Err(DecodeError::Truncated { .. }) | Err(DecodeError::Malformed { .. }) => assert!(cut < 60),
                Err(e) => panic!("cut {cut}: {e}"),
            }
        }
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // IPv4 + TCP with no payload, padded to the 60-byte Ethernet minimum.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x42, 0x68, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(&[0xAA; 6]);
        let seg = decode_packet(&raw(LinkType::ETHERNET, &f)).unwrap().unwrap();
        assert!(seg.payload.is_empty());
        assert_eq!(seg.missing, 0);
    }

    /// An Ethernet/IPv4/TCP packet with options in both headers.
    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (24 + 24 + payload.len()) as u16;
        f.extend_from_slice(&[0x46, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 0]);
        f.extend_from_slice(&[0x9c, 0x40, 0x42, 0x68, 0, 0, 0, 7, 0, 0, 0, 9, 0x60, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(&[1, 1, 1, 0]);
        f.extend_from_slice(payload);
        f
    }

    fn same(a: &Result<Option<TcpSegment<'_>>, DecodeError>, b: &Result<Option<TcpSegment<'_>>, DecodeError>) -> bool {
        let key = |s: &TcpSegment<'_>| (s.src, s.dst, s.seq, s.ack, s.flags, s.payload.to_vec(), s.missing);
        match (a, b) {
            (Ok(Some(x)), Ok(Some(y))) => key(x) == key(y),
            _ => false,
        }
    }

    /// Wherever the direct read of IPv4/TCP applies (after Ethernet and
    /// both Linux cooked headers), it gives what etherparse gives: every
    /// cut of a packet, and every value of each header byte that decides
    /// the layout (version and header length, total length, fragment
    /// bits, protocol, TCP data offset, flags).
    #[test]
    fn the_direct_ipv4_read_agrees_with_etherparse() {
        let eth = ipv4_tcp(b"RCmb0123456789");
        let ip = eth[14..].to_vec();
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        for (link, base, at) in
            [(LinkType::ETHERNET, eth, 14), (LinkType::LINUX_SLL, sll, 16), (LinkType::LINUX_SLL2, sll2, 20)]
        {
            let mut tried = 0;
            let mut direct = 0;
            let mut check = |f: &[u8], orig: usize| {
                let mut p = raw(link, f);
                p.orig_len = orig as u32;
                tried += 1;
                if let Some(fast) = ipv4_tcp_direct(link, f) {
                    direct += 1;
                    let fast = Ok(Some(fast));
                    let slow = decode_sliced(p.link, p.data, &mut PacketTunnels::default());
                    assert!(same(&fast, &slow), "{link:?} {f:02x?}: direct {fast:?}, etherparse {slow:?}");
                }
            };
            for cut in 0..=base.len() {
                check(&base[..cut], base.len());
            }
            // The link header's protocol, then IP and TCP header bytes.
            let proto = if link == LinkType::LINUX_SLL2 { 0 } else { at - 2 };
            for off in [proto, proto + 1, at, at + 2, at + 3, at + 6, at + 7, at + 9, at + 32, at + 33] {
                for v in 0..=255u8 {
                    let mut f = base.clone();
                    f[off] = v;
                    check(&f, f.len());
                    // Link-layer padding after the IP packet.
                    f.extend_from_slice(&[0xAA; 9]);
                    check(&f, f.len());
                }
            }
            assert!(direct > 1000 && direct < tried, "{link:?}: {direct} of {tried} read directly");
        }
    }

    /// The same on every packet of every shipped sample (real servers),
    /// each also cut by a short snaplen.
    #[test]
    fn the_direct_ipv4_read_agrees_with_etherparse_on_the_samples() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut direct = 0;
        for sample in std::fs::read_dir(&dir).unwrap() {
            for f in std::fs::read_dir(sample.unwrap().path()).into_iter().flatten() {
                let path = f.unwrap().path();
                let name = path.to_string_lossy().into_owned();
                if !(name.ends_with(".pcap.gz") || name.ends_with(".pcapng.gz")) {
                    continue;
                }
                let mut file = crate::capture::CaptureFile::open(&path).unwrap();
                while file.advance().unwrap_or(false) {
                    let Some(p) = file.current() else { continue };
                    for cut in [p.data.len(), 60, 66, 96] {
                        let d = &p.data[..cut.min(p.data.len())];
                        let q = RawPacket { data: d, ..p };
                        if let Some(fast) = ipv4_tcp_direct(p.link, d) {
                            direct += 1;
                            let (fast, slow) =
                                (Ok(Some(fast)), decode_sliced(q.link, q.data, &mut PacketTunnels::default()));
                            assert!(same(&fast, &slow), "{name} frame {}: {fast:?} vs {slow:?}", p.frame);
                        }
                    }
                }
            }
        }
        assert!(direct > 10_000, "only {direct} packets read directly");
    }

    #[test]
    fn unknown_link_type_is_reported() {
        assert_eq!(
            decode_packet(&raw(LinkType(147), &[1, 2, 3])).unwrap_err(),
            DecodeError::UnsupportedLink(LinkType(147))
        );
    }
}
