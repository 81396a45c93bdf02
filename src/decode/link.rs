//! Link-layer dispatch (to be written).
use super::{DecodeError, TcpSegment};
use crate::capture::RawPacket;

/// Decodes one packet down to TCP. `Ok(None)` for packets that are not TCP
/// over IPv4/IPv6 (ARP, UDP, ICMP, other ethertypes).
pub fn decode_packet<'pkt>(pkt: &RawPacket<'pkt>) -> Result<Option<TcpSegment<'pkt>>, DecodeError> {
    let _ = pkt;
    todo!("decode: decode_packet")
}
