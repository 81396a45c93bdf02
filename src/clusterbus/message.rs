//! A decoded cluster-bus message borrowing from the reassembled stream:
//! [`Message`] and its [`Body`]. Field names follow the server sources; the
//! wire name is in each doc comment. The parts live with their parsers
//! (`header.rs`, `gossip.rs`, `ping_ext.rs`); `parse.rs` assembles a
//! message. Imports: `header`, `gossip`, `ping_ext`, `types`, `wire`.

use super::gossip::GossipIter;
use super::header::Header;
use super::ping_ext::ExtIter;
use super::types::{MessageType, NodeName, SlotBitmap};
use super::wire::Layout;

/// Message body per type (§3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'buf> {
    /// PING, PONG, MEET: `count` raw 104-byte entries and the extension
    /// area (possibly empty). Iterate with [`Message::gossip`] and
    /// [`Message::extensions`].
    Gossip { entries: &'buf [u8], ext: &'buf [u8] },
    /// FAIL: wire: about.nodename
    Fail { node: NodeName<'buf> },
    /// PUBLISH, PUBLISHSHARD (full or light)
    Publish { channel: &'buf [u8], message: &'buf [u8] },
    /// UPDATE
    Update { config_epoch: u64, node: NodeName<'buf>, slots: SlotBitmap<'buf> },
    /// MODULE (full or light). `module_id` is read little-endian (the
    /// sender's host order on x86/ARM).
    Module { module_id: u64, module_type: u8, payload: &'buf [u8] },
    /// FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART: header only.
    Empty,
    /// A type this parser does not know: the body bytes as they are.
    Unknown { raw: &'buf [u8] },
}

/// One complete cluster-bus message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'buf> {
    pub layout: Layout,
    /// Base type (light bit removed).
    pub msg_type: MessageType,
    /// True when the wire type had bit 0x8000 (Valkey light header).
    pub light: bool,
    /// wire: totlen
    pub totlen: u32,
    /// `None` for light messages (they have no sender field).
    pub header: Option<Header<'buf>>,
    pub body: Body<'buf>,
    /// Only a prefix was captured (snaplen): the header is whole, the body
    /// holds the gossip entries that were complete and no extensions.
    pub cut: bool,
    /// The cut came inside the header ([`parse_head`](super::head::parse_head)):
    /// only its first bytes are real (signature, `totlen`, `ver`, type,
    /// `count`, epochs, offset, sender; V1's base port); slots, flags,
    /// addresses, role and gossip are zero or empty, not facts.
    pub head_only: bool,
}

impl<'buf> Message<'buf> {
    /// The gossip entries of a PING/PONG/MEET (empty for other types).
    pub fn gossip(&self) -> GossipIter<'buf> {
        let rest: &'buf [u8] = match self.body {
            Body::Gossip { entries, .. } => entries,
            _ => &[],
        };
        GossipIter { rest, layout: self.layout }
    }

    /// The extension records of a PING/PONG/MEET (validated by the parser).
    pub fn extensions(&self) -> ExtIter<'buf> {
        let rest: &'buf [u8] = match self.body {
            Body::Gossip { ext, .. } => ext,
            _ => &[],
        };
        ExtIter { rest }
    }

    /// The sender's node name (`None` for light messages).
    pub fn sender(&self) -> Option<NodeName<'buf>> {
        self.header.as_ref().map(|h| h.sender)
    }
}
