//! Entry points of the bus parser: [`probe_header`] and [`parse_message`].
//! The probe is hand-written (it reads a handful of fixed offsets of a
//! candidate start, on every resync, and must not allocate); headers are
//! parsed with nom in `header.rs`. Imports: `error`, `header`, `message`,
//! `ping_ext`, `types`, `wire`.

use super::error::BusError;
use super::header::{Header, parse_header_v0, parse_header_v1};
use super::message::{Body, Message};
use super::ping_ext::validate_extensions;
use super::types::{MessageType, NodeFlags, NodeName, SlotBitmap};
use super::wire::{GOSSIP_ENTRY_LEN, HEADER_LEN_V0, HEADER_LEN_V1, LIGHT_HEADER_LEN, Layout, SIGNATURE, be16, be32};

/// Verdict of [`probe_header`] on a candidate message start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Not enough bytes to decide; the argument is how many bytes from the
    /// candidate start are needed (never more than the header size).
    NeedMore(usize),
    /// Looks like a real header; the message is `totlen` bytes long.
    Plausible { totlen: u32, layout: Layout },
    /// Not a message start.
    Implausible,
}

/// wire: mflags[0] bit EXT_DATA
const MFLAG_EXT_DATA: u8 = 0x04;
/// Body sizes of fixed-size types.
const FAIL_BODY: usize = 40;
const UPDATE_BODY: usize = 8 + 40 + 2048;
const PUBLISH_MIN: usize = 8;
const MODULE_MIN: usize = 13;

pub(crate) fn is_name(b: &[u8]) -> bool {
    b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

pub(crate) fn is_light_type(t: MessageType) -> bool {
    matches!(t, MessageType::PUBLISH | MessageType::PUBLISHSHARD | MessageType::MODULE)
}

/// Decides whether `buf` starts with a plausible cluster-bus header: the
/// signature, a known `ver`, a `totlen` within `[min for layout and type,
/// max_totlen]`, and for full headers a sender (and replica-of) made of
/// `[0-9a-z]`, the MYSELF bit every sender sets in its own `flags`, a state
/// of 0 or 1, zero spare `mflags`, and a length consistent with the type.
/// Used to resynchronise on a stream of unknown alignment, so it rejects
/// random data that merely contains `RCmb`.
pub fn probe_header(buf: &[u8], max_totlen: u32) -> Probe {
    if buf.len() < 16 {
        if !buf.iter().zip(SIGNATURE.iter()).all(|(a, b)| a == b) {
            return Probe::Implausible;
        }
        return Probe::NeedMore(16);
    }
    if &buf[..4] != SIGNATURE {
        return Probe::Implausible;
    }
    let totlen = be32(buf, 4);
    let ver = be16(buf, 8);
    let wire_type = be16(buf, 12);
    if totlen > max_totlen {
        return Probe::Implausible;
    }
    let t = totlen as usize;
    if ver == 1 && wire_type & 0x8000 != 0 {
        let base = MessageType(wire_type & 0x7fff);
        let min = if base == MessageType::MODULE { MODULE_MIN } else { PUBLISH_MIN };
        let ok = is_light_type(base) && be16(buf, 10) == 0 && be16(buf, 14) == 0 && t >= LIGHT_HEADER_LEN + min;
        return if ok { Probe::Plausible { totlen, layout: Layout::Light } } else { Probe::Implausible };
    }
    let (layout, h) = match ver {
        0 => (Layout::V0, HEADER_LEN_V0),
        1 => (Layout::V1, HEADER_LEN_V1),
        _ => return Probe::Implausible,
    };
    if ver == 0 && be16(buf, 10) != 0 {
        return Probe::Implausible;
    }
    let ty = MessageType(wire_type);
    if t < h || ty.0 > MessageType::PUBLISHSHARD.0 {
        return Probe::Implausible;
    }
    let count = usize::from(be16(buf, 14));
    let body = t - h;
    let consistent = if ty.has_gossip() {
        let g = count * GOSSIP_ENTRY_LEN;
        g <= body && (if ver == 0 { g == body } else { (body - g).is_multiple_of(8) })
    } else {
        count == 0
            && match ty {
                MessageType::FAIL => body == FAIL_BODY,
                MessageType::UPDATE => body == UPDATE_BODY,
                MessageType::PUBLISH | MessageType::PUBLISHSHARD => body >= PUBLISH_MIN,
                MessageType::MODULE => body >= MODULE_MIN,
                _ => body == 0,
            }
    };
    if !consistent {
        return Probe::Implausible;
    }
    if buf.len() < 80 {
        return Probe::NeedMore(h);
    }
    if !is_name(&buf[40..80]) {
        return Probe::Implausible;
    }
    if buf.len() < h {
        return Probe::NeedMore(h);
    }
    let slaveof = &buf[2128..2168];
    let (flags_at, state_at) = if ver == 0 { (2202, 2204) } else { (2250, 2252) };
    let flags = be16(buf, flags_at);
    let ok = (slaveof.iter().all(|&b| b == 0) || is_name(slaveof))
        && flags & NodeFlags::MYSELF != 0
        && buf[state_at] <= 1
        && buf[state_at + 2] == 0
        && buf[state_at + 3] == 0;
    if ok { Probe::Plausible { totlen, layout } } else { Probe::Implausible }
}

/// Parses one whole message. `buf` must be exactly the message's `totlen`
/// bytes (the framer guarantees it). Validates what the receiving server
/// validates (§1.3), so accessors on the result cannot fail.
pub fn parse_message(buf: &[u8]) -> Result<Message<'_>, BusError> {
    if buf.len() < LIGHT_HEADER_LEN {
        return Err(BusError::Truncated { offset: 0, needed: LIGHT_HEADER_LEN, have: buf.len() });
    }
    if &buf[..4] != SIGNATURE {
        return Err(BusError::BadSignature);
    }
    let totlen = be32(buf, 4);
    if totlen as usize != buf.len() {
        return Err(BusError::Truncated { offset: 0, needed: totlen as usize, have: buf.len() });
    }
    let ver = be16(buf, 8);
    let wire_type = be16(buf, 12);
    match ver {
        0 => {
            let (body, (_, h)) = parse_header_v0(buf).map_err(|e| flatten(e, buf.len()))?;
            full_message(Layout::V0, HEADER_LEN_V0, wire_type, totlen, h, body)
        }
        1 if wire_type & 0x8000 != 0 => light_message(wire_type, totlen, &buf[LIGHT_HEADER_LEN..]),
        1 => {
            let (body, (_, h)) = parse_header_v1(buf).map_err(|e| flatten(e, buf.len()))?;
            full_message(Layout::V1, HEADER_LEN_V1, wire_type, totlen, h, body)
        }
        v => Err(BusError::UnsupportedVersion(v)),
    }
}

/// The parser's error, with a truncation placed at its byte offset in the
/// `total`-byte message (nom reports how much input was left).
fn flatten(e: nom::Err<BusError>, total: usize) -> BusError {
    match e {
        nom::Err::Error(BusError::Truncated { offset: 0, needed, have })
        | nom::Err::Failure(BusError::Truncated { offset: 0, needed, have }) => {
            BusError::Truncated { offset: total.saturating_sub(have), needed, have }
        }
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => BusError::Truncated { offset: total, needed: 0, have: 0 },
    }
}

fn mismatch(t: MessageType, expected: usize, totlen: u32) -> BusError {
    BusError::LengthMismatch { msg_type: t, expected: expected as u64, totlen }
}

fn publish_body(t: MessageType, hlen: usize, totlen: u32, body: &[u8]) -> Result<Body<'_>, BusError> {
    if body.len() < PUBLISH_MIN {
        return Err(mismatch(t, hlen + PUBLISH_MIN, totlen));
    }
    let cl = be32(body, 0) as usize;
    let ml = be32(body, 4) as usize;
    let expected = PUBLISH_MIN.saturating_add(cl).saturating_add(ml);
    if expected != body.len() {
        return Err(mismatch(t, hlen.saturating_add(expected), totlen));
    }
    Ok(Body::Publish { channel: &body[8..8 + cl], message: &body[8 + cl..] })
}

fn module_body(t: MessageType, hlen: usize, totlen: u32, body: &[u8]) -> Result<Body<'_>, BusError> {
    if body.len() < MODULE_MIN {
        return Err(mismatch(t, hlen + MODULE_MIN, totlen));
    }
    let module_id = body.first_chunk::<8>().map_or(0, |b| u64::from_le_bytes(*b));
    let len = be32(body, 8) as usize;
    if MODULE_MIN.saturating_add(len) != body.len() {
        return Err(mismatch(t, hlen.saturating_add(MODULE_MIN).saturating_add(len), totlen));
    }
    Ok(Body::Module { module_id, module_type: body[12], payload: &body[13..] })
}

fn full_message<'a>(
    layout: Layout,
    hlen: usize,
    wire_type: u16,
    totlen: u32,
    h: Header<'a>,
    body: &'a [u8],
) -> Result<Message<'a>, BusError> {
    let t = MessageType(wire_type);
    let body = match t {
        MessageType::PING | MessageType::PONG | MessageType::MEET => {
            let g = usize::from(h.count) * GOSSIP_ENTRY_LEN;
            if g > body.len() {
                return Err(mismatch(t, hlen + g, totlen));
            }
            let (entries, ext) = body.split_at(g);
            if !ext.is_empty() {
                if layout == Layout::V0 || h.mflags[0] & MFLAG_EXT_DATA == 0 || h.extensions == 0 {
                    return Err(mismatch(t, hlen + g, totlen));
                }
                validate_extensions(ext, h.extensions, hlen + g)?;
            } else if h.extensions > 0 && h.mflags[0] & MFLAG_EXT_DATA != 0 {
                return Err(BusError::BadExtension { offset: hlen + g, detail: "extensions announced but absent" });
            }
            Body::Gossip { entries, ext }
        }
        MessageType::FAIL => {
            let n = body.first_chunk::<40>().filter(|_| body.len() == FAIL_BODY);
            match n {
                Some(n) => Body::Fail { node: NodeName(n) },
                None => return Err(mismatch(t, hlen + FAIL_BODY, totlen)),
            }
        }
        MessageType::PUBLISH | MessageType::PUBLISHSHARD => publish_body(t, hlen, totlen, body)?,
        MessageType::FAILOVER_AUTH_REQUEST | MessageType::FAILOVER_AUTH_ACK | MessageType::MFSTART => {
            if !body.is_empty() {
                return Err(mismatch(t, hlen, totlen));
            }
            Body::Empty
        }
        MessageType::UPDATE => {
            if body.len() != UPDATE_BODY {
                return Err(mismatch(t, hlen + UPDATE_BODY, totlen));
            }
            let epoch = body.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b));
            match (body[8..48].first_chunk::<40>(), body[48..].first_chunk::<2048>()) {
                (Some(n), Some(s)) => Body::Update { config_epoch: epoch, node: NodeName(n), slots: SlotBitmap(s) },
                _ => return Err(mismatch(t, hlen + UPDATE_BODY, totlen)),
            }
        }
        MessageType::MODULE => module_body(t, hlen, totlen, body)?,
        _ => Body::Unknown { raw: body },
    };
    Ok(Message { layout, msg_type: t, light: false, totlen, header: Some(h), body, cut: false, head_only: false })
}

fn light_message(wire_type: u16, totlen: u32, body: &[u8]) -> Result<Message<'_>, BusError> {
    let t = MessageType(wire_type & 0x7fff);
    let body = match t {
        MessageType::PUBLISH | MessageType::PUBLISHSHARD => publish_body(t, LIGHT_HEADER_LEN, totlen, body)?,
        MessageType::MODULE => module_body(t, LIGHT_HEADER_LEN, totlen, body)?,
        _ => return Err(BusError::BadLightHeader { wire_type }),
    };
    Ok(Message {
        layout: Layout::Light,
        msg_type: t,
        light: true,
        totlen,
        header: None,
        body,
        cut: false,
        head_only: false,
    })
}

/// What a message cut short (the capture's snaplen, a lost segment) still
/// holds: `buf` is its first bytes. When the whole header is there, the
/// header and the gossip entries that are complete (PING, PONG, MEET);
/// `None` otherwise, or for types whose body is needed whole.
pub fn parse_prefix(buf: &[u8]) -> Option<Message<'_>> {
    if buf.len() < LIGHT_HEADER_LEN || &buf[..4] != SIGNATURE {
        return None;
    }
    let totlen = be32(buf, 4);
    let (layout, hlen, parsed) = match be16(buf, 8) {
        0 => (Layout::V0, HEADER_LEN_V0, parse_header_v0(buf).ok()?),
        1 => (Layout::V1, HEADER_LEN_V1, parse_header_v1(buf).ok()?),
        _ => return None,
    };
    let (_, (wire_type, h)) = parsed;
    let t = MessageType(wire_type);
    if !matches!(t, MessageType::PING | MessageType::PONG | MessageType::MEET) {
        return None;
    }
    let body = &buf[hlen..];
    let whole = (body.len() / GOSSIP_ENTRY_LEN).min(usize::from(h.count));
    let entries = &body[..whole * GOSSIP_ENTRY_LEN];
    Some(Message {
        layout,
        msg_type: t,
        light: false,
        totlen,
        header: Some(h),
        body: Body::Gossip { entries, ext: &[] },
        cut: true,
        head_only: false,
    })
}
