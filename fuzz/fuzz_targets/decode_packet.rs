//! Packet decoding: arbitrary bytes under every link type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetgraph::capture::{LinkType, RawPacket};
use meetgraph::decode::decode_packet;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<4>() else { return };
    let link = LinkType(u16::from_be_bytes([head[0], head[1]]) % 300);
    let extra = u32::from(u16::from_be_bytes([head[2], head[3]]));
    let pkt = RawPacket { ts_us: 0, frame: 1, link, orig_len: rest.len() as u32 + extra, data: rest };
    if let Ok(Some(seg)) = decode_packet(&pkt) {
        assert!(seg.payload.len() <= rest.len());
    }
});
