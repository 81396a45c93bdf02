//! The common case read directly, without etherparse: IPv4 right after an
//! Ethernet II or Linux cooked header, carrying unfragmented TCP with its
//! whole header captured. Tests check it gives what the etherparse path
//! gives, byte for byte.

use super::tcp_segment::{Endpoint, TcpFlags, TcpSegment};
use crate::capture::LinkType;
use std::net::IpAddr;

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// The common case read directly: IPv4 (options allowed) right after an
/// Ethernet II or Linux cooked (v1, v2) header, unfragmented TCP with its
/// whole header captured. `None` for anything else (VLAN tags, IPv6, a
/// header cut by the snaplen, a total length shorter than the header...),
/// which etherparse then decodes. Gives what
/// [`decode_sliced`](super::sliced::decode_sliced) gives for
/// the same bytes (a test compares them).
pub(super) fn ipv4_tcp_direct(link: LinkType, d: &[u8]) -> Option<TcpSegment<'_>> {
    let ip = match link {
        LinkType::ETHERNET if d.len() >= 14 && be16(d, 12) == 0x0800 => &d[14..],
        LinkType::LINUX_SLL if d.len() >= 16 && be16(d, 14) == 0x0800 => &d[16..],
        LinkType::LINUX_SLL2 if d.len() >= 20 && be16(d, 0) == 0x0800 => &d[20..],
        _ => return None,
    };
    ipv4_tcp(ip)
}

pub(super) fn ipv4_tcp(ip: &[u8]) -> Option<TcpSegment<'_>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::RawPacket;
    use crate::decode::error::DecodeError;
    use crate::decode::link::tests::raw;
    use crate::decode::sliced::decode_sliced;
    use crate::decode::tunnel::PacketTunnels;

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
}
