//! One packet from its link layer down to TCP: the direct read of IPv4/TCP
//! (`ipv4_direct.rs`) when it applies, etherparse's lax slicing
//! (`sliced.rs`) otherwise, which keeps what a snaplen-cut packet still
//! has and takes tunnels off (`decap/`), so reassembly sees the inner TCP
//! segment.

use super::error::DecodeError;
use super::ipv4_direct::ipv4_tcp_direct;
use super::sliced::decode_sliced;
use super::tcp_segment::TcpSegment;
use super::tunnel::PacketTunnels;
use crate::capture::RawPacket;

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::capture::LinkType;

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

    pub(crate) fn raw(link: LinkType, data: &[u8]) -> RawPacket<'_> {
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

    #[test]
    fn unknown_link_type_is_reported() {
        assert_eq!(
            decode_packet(&raw(LinkType(147), &[1, 2, 3])).unwrap_err(),
            DecodeError::UnsupportedLink(LinkType(147))
        );
    }
}
