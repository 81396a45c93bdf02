//! A decoded cluster-bus message borrowing from the reassembled stream.
//! Field names follow the server sources; the wire name is in each doc
//! comment. Parsing lives in `header.rs`, `gossip.rs`, `ping_ext.rs` and
//! `parse.rs`; this file only holds the types.

use super::types::{MessageType, NodeFlags, NodeName, SlotBitmap};

/// Header layout family, told by `ver` (§1.4, §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// ver 0: Redis 3.0.x, 3.2.x (header 2208 bytes).
    V0,
    /// ver 1: Redis 4.0+ and all Valkey (header 2256 bytes).
    V1,
    /// ver 1 with the light header (Valkey 8+, 16 bytes).
    Light,
}

/// The full header (V0 or V1). Fields absent from V0 are zero / `None`.
#[derive(Clone, Copy, Debug)]
pub struct Header<'buf> {
    /// wire: ver
    pub ver: u16,
    /// wire: count (gossip entries)
    pub count: u16,
    /// wire: currentEpoch
    pub current_epoch: u64,
    /// wire: configEpoch
    pub config_epoch: u64,
    /// wire: offset (replication offset)
    pub offset: u64,
    /// wire: sender
    pub sender: NodeName<'buf>,
    /// wire: myslots
    pub myslots: SlotBitmap<'buf>,
    /// wire: slaveof; `None` when all zero (the sender is a master).
    pub replicaof: Option<NodeName<'buf>>,
    /// wire: myip (V1 only), NUL padding trimmed; `None` when empty.
    pub myip: Option<&'buf [u8]>,
    /// wire: port (V0 @2200, V1 @10)
    pub port: u16,
    /// wire: pport (V1 @2246, 6.2.2+), 0 when absent.
    pub pport: u16,
    /// wire: cport (V1 @2248). For V0 it is `port + 10000` (implicit on the
    /// wire); see `cport_on_wire`.
    pub cport: u16,
    /// False for V0, where `cport` was derived rather than read.
    pub cport_on_wire: bool,
    /// wire: extensions (V1 @2214, 7.0+)
    pub extensions: u16,
    /// wire: flags (sender's own node flags)
    pub flags: NodeFlags,
    /// wire: state (0 OK, 1 FAIL)
    pub state: u8,
    /// wire: mflags
    pub mflags: [u8; 3],
}

/// One 104-byte gossip entry (§3.2), decoded per layout.
#[derive(Clone, Copy, Debug)]
pub struct GossipEntry<'buf> {
    /// wire: nodename
    pub node: NodeName<'buf>,
    /// wire: ping_sent (V1: Unix seconds; V0: low 32 bits of ms)
    pub ping_sent: u32,
    /// wire: pong_received
    pub pong_received: u32,
    /// wire: ip, NUL padding trimmed
    pub ip: &'buf [u8],
    /// wire: port
    pub port: u16,
    /// wire: cport (V1); `port + 10000` for V0
    pub cport: u16,
    /// wire: pport (6.2.2+), 0 otherwise
    pub pport: u16,
    /// wire: flags
    pub flags: NodeFlags,
}

/// One ping extension record (§4.2) with its body interpreted (§4.3, §4.4).
#[derive(Clone, Copy, Debug)]
pub struct Extension<'buf> {
    /// wire: type
    pub ext_type: u16,
    /// wire: length (whole record, including the 8-byte header)
    pub length: u32,
    pub value: ExtValue<'buf>,
}

/// Interpreted extension bodies. Strings are NUL-trimmed raw bytes.
#[derive(Clone, Copy, Debug)]
pub enum ExtValue<'buf> {
    Hostname(&'buf [u8]),
    HumanNodename(&'buf [u8]),
    ForgottenNode {
        node: NodeName<'buf>,
        ttl: u64,
    },
    ShardId(NodeName<'buf>),
    ClientIpv4(&'buf [u8]),
    ClientIpv6(&'buf [u8]),
    ClientPort(u16),
    ClientTlsPort(u16),
    AvailabilityZone(&'buf [u8]),
    /// Redis 8 internal secret (type 4, 40-byte body); the secret itself is
    /// never printed.
    InternalSecret,
    Unknown(&'buf [u8]),
}

/// Message body per type (§3).
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
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
}

impl<'buf> Message<'buf> {
    /// The gossip entries of a PING/PONG/MEET (empty for other types).
    pub fn gossip(&self) -> super::gossip::GossipIter<'buf> {
        let rest: &'buf [u8] = match self.body {
            Body::Gossip { entries, .. } => entries,
            _ => &[],
        };
        super::gossip::GossipIter { rest, layout: self.layout }
    }

    /// The extension records of a PING/PONG/MEET (validated by the parser).
    pub fn extensions(&self) -> super::ping_ext::ExtIter<'buf> {
        let rest: &'buf [u8] = match self.body {
            Body::Gossip { ext, .. } => ext,
            _ => &[],
        };
        super::ping_ext::ExtIter { rest }
    }

    /// The sender's node name (`None` for light messages).
    pub fn sender(&self) -> Option<NodeName<'buf>> {
        self.header.as_ref().map(|h| h.sender)
    }
}
