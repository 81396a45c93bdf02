//! Any supported link through etherparse's lax slicing (which keeps what
//! a snaplen-cut packet still has), and decapsulation: a packet that is a
//! tunnel (`decap/`) has its inner frame taken back through the same
//! decode, the direct IPv4/TCP read first.

use super::decap::{self, Carried, Found, Outer};
use super::error::DecodeError;
use super::ipv4_direct::{ipv4_tcp, ipv4_tcp_direct};
use super::tcp_segment::{Endpoint, TcpFlags, TcpSegment};
use super::tunnel::{MAX_TUNNEL_DEPTH, PacketTunnels, TunnelTrouble};
use crate::capture::LinkType;
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

/// Decodes any supported packet through etherparse's lax slicing.
pub(super) fn decode_sliced<'pkt>(
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
