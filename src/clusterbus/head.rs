//! What a message cut before the end of its header still holds (a short
//! snaplen keeps only the first bytes of each packet): [`parse_head`].
//! Layouts V0 and V1 share their first 80 bytes (§2.1, §2.2): signature,
//! `totlen`, `ver`, the type, `count`, the two epochs, the replication
//! offset and the sender. The light header (§5) is 16 bytes.
//! Imports: `header`, `message`, `parse`, `types`, `wire`.

use super::header::Header;
use super::message::{Body, Message};
use super::parse::{is_light_type, is_name};
use super::types::{MessageType, NodeFlags, NodeName, SlotBitmap};
use super::wire::{
    GOSSIP_ENTRY_LEN, HEADER_LEN_V0, HEADER_LEN_V1, LIGHT_HEADER_LEN, Layout, SIGNATURE, be16, be32, be64,
};

/// Bytes of a full header up to the end of its sender (V0 and V1 alike).
pub const HEAD_LEN: usize = 80;

/// The slot bitmap of a header whose `myslots` was not captured: no claim
/// is read from it ([`Message::head_only`] says the header was cut).
static NO_SLOTS: [u8; 2048] = [0; 2048];

/// Reads the first bytes of a message whose header was cut: `buf` starts
/// at the message and holds fewer bytes than its header. A full header
/// needs [`HEAD_LEN`] bytes (up to the sender) and must look like a real
/// one (known `ver` and type, `totlen` within `[header, max_totlen]`,
/// `count` consistent with the type, a sender made of `[0-9a-z]`); a light
/// header needs its 16 bytes. The message comes back `cut` and
/// `head_only`: the fields past the cut are zero or empty (no slots, no
/// flags, no addresses, no gossip) and must not be read as facts.
pub fn parse_head(buf: &[u8], max_totlen: u32) -> Option<Message<'_>> {
    if buf.len() < LIGHT_HEADER_LEN || &buf[..4] != SIGNATURE {
        return None;
    }
    let totlen = be32(buf, 4);
    let ver = be16(buf, 8);
    let wire_type = be16(buf, 12);
    if totlen > max_totlen {
        return None;
    }
    if ver == 1 && wire_type & 0x8000 != 0 {
        let t = MessageType(wire_type & 0x7fff);
        let ok = is_light_type(t) && be16(buf, 10) == 0 && be16(buf, 14) == 0 && totlen as usize > LIGHT_HEADER_LEN;
        return ok.then_some(Message {
            layout: Layout::Light,
            msg_type: t,
            light: true,
            totlen,
            header: None,
            body: Body::Empty,
            cut: true,
            head_only: true,
        });
    }
    let (layout, hlen) = match ver {
        0 if be16(buf, 10) == 0 => (Layout::V0, HEADER_LEN_V0),
        1 => (Layout::V1, HEADER_LEN_V1),
        _ => return None,
    };
    let t = MessageType(wire_type);
    let count = usize::from(be16(buf, 14));
    let body = (totlen as usize).checked_sub(hlen)?;
    let consistent = if t.has_gossip() { count * GOSSIP_ENTRY_LEN <= body } else { count == 0 };
    if buf.len() < HEAD_LEN || t.0 > MessageType::PUBLISHSHARD.0 || !consistent {
        return None;
    }
    let sender = buf[40..HEAD_LEN].first_chunk::<40>().filter(|s| is_name(&s[..]))?;
    let h = Header {
        ver,
        count: u16::try_from(count).unwrap_or(0),
        current_epoch: be64(&buf[16..]),
        config_epoch: be64(&buf[24..]),
        offset: be64(&buf[32..]),
        sender: NodeName(sender),
        myslots: SlotBitmap(&NO_SLOTS),
        replicaof: None,
        myip: None,
        // V1 has the base port at byte 10; V0's is past the cut.
        port: if ver == 1 { be16(buf, 10) } else { 0 },
        pport: 0,
        cport: 0,
        cport_on_wire: false,
        extensions: 0,
        flags: NodeFlags(0),
        state: 0,
        mflags: [0; 3],
    };
    let body = if t.has_gossip() { Body::Gossip { entries: &[], ext: &[] } } else { Body::Empty };
    Some(Message { layout, msg_type: t, light: false, totlen, header: Some(h), body, cut: true, head_only: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(ver: u16, t: u16, totlen: u32, count: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(SIGNATURE);
        b.extend_from_slice(&totlen.to_be_bytes());
        b.extend_from_slice(&ver.to_be_bytes());
        b.extend_from_slice(&(if ver == 1 { 7000u16 } else { 0 }).to_be_bytes());
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&5u64.to_be_bytes());
        b.extend_from_slice(&3u64.to_be_bytes());
        b.extend_from_slice(&9u64.to_be_bytes());
        b.extend_from_slice(&[b'a'; 40]);
        b.extend_from_slice(&[0xff; 150]);
        b
    }

    #[test]
    fn reads_the_first_fields_of_a_cut_header() {
        let b = head(1, 2, 2256 + 2 * 104, 2);
        let m = parse_head(&b, 1 << 20).expect("a MEET head");
        assert_eq!((m.msg_type, m.totlen, m.cut, m.head_only), (MessageType::MEET, 2464, true, true));
        let h = m.header.expect("header");
        assert_eq!((h.current_epoch, h.config_epoch, h.offset, h.port, h.count), (5, 3, 9, 7000, 2));
        assert_eq!(h.sender.0, &[b'a'; 40]);
        assert!(h.myslots.ranges().is_empty());
        let v0 = parse_head(&b[..80], 1 << 20);
        assert!(v0.is_some(), "80 bytes hold the sender");
        assert!(parse_head(&b[..79], 1 << 20).is_none(), "the sender is cut");
        assert_eq!(parse_head(&head(0, 0, 2208, 0), 1 << 20).and_then(|m| m.header).map(|h| h.port), Some(0));
    }

    #[test]
    fn rejects_what_is_not_a_header() {
        assert!(parse_head(&head(1, 2, 100, 0), 1 << 20).is_none(), "totlen below the header");
        assert!(parse_head(&head(1, 3, 2296, 1), 1 << 20).is_none(), "FAIL with gossip");
        assert!(parse_head(&head(2, 0, 2256, 0), 1 << 20).is_none(), "unknown ver");
        assert!(parse_head(&head(1, 0, 1 << 21, 0), 1 << 20).is_none(), "past max_totlen");
        let mut b = head(1, 0, 2256, 0);
        b[50] = b'A';
        assert!(parse_head(&b, 1 << 20).is_none(), "sender not [0-9a-z]");
        let light = [
            &SIGNATURE[..],
            &40u32.to_be_bytes(),
            &1u16.to_be_bytes(),
            &0u16.to_be_bytes(),
            &0x8004u16.to_be_bytes(),
            &0u16.to_be_bytes(),
            &[1, 2],
        ]
        .concat();
        let m = parse_head(&light, 1 << 20).expect("a light PUBLISH head");
        assert!(m.light && m.header.is_none() && m.msg_type == MessageType::PUBLISH);
    }
}
