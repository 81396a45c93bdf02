//! Entry points of the bus parser: [`probe_header`] and [`parse_message`].

use super::error::BusError;
use super::message::{Layout, Message};

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

/// Decides whether `buf` starts with a plausible cluster-bus header: the
/// signature, a known `ver`, a `totlen` within `[min for layout and type,
/// max_totlen]`, and for full headers a sender of 40 `[0-9a-z]` bytes and a
/// length consistent with the type (gossip count, fixed bodies). Used to
/// resynchronise on a stream of unknown alignment, so it must reject random
/// data that merely contains `RCmb`.
pub fn probe_header(buf: &[u8], max_totlen: u32) -> Probe {
    let _ = (buf, max_totlen);
    todo!("clusterbus: probe_header")
}

/// Parses one whole message. `buf` must be exactly the message's `totlen`
/// bytes (the framer guarantees it). Validates everything the receiving
/// server validates (§1.3) so that accessors on the result cannot fail.
pub fn parse_message(buf: &[u8]) -> Result<Message<'_>, BusError> {
    let _ = buf;
    todo!("clusterbus: parse_message")
}
