//! Gossip entries (§3.2): 104 bytes each, field placement per layout.
//! Hand-written rather than nom: an entry is a fixed array read at fixed
//! offsets, and entries are the hot path (every PING carries many).
//! Imports: `types`, `wire`.

use super::types::{NodeFlags, NodeName};
use super::wire::{GOSSIP_ENTRY_LEN, Layout, be16, be32, trim_nul};

/// One 104-byte gossip entry (§3.2), decoded per layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Decodes one entry. V0 has flags at 96 and an implicit bus port; V1 has
/// cport at 96, flags at 98 and (6.2.2+) pport at 100.
pub fn parse_gossip_entry(e: &[u8; GOSSIP_ENTRY_LEN], layout: Layout) -> GossipEntry<'_> {
    const NO_NAME: [u8; 40] = [0; 40];
    let node = NodeName(e.first_chunk::<40>().unwrap_or(&NO_NAME));
    let port = be16(e, 94);
    let (cport, flags, pport) = match layout {
        Layout::V0 => (port.wrapping_add(10000), be16(e, 96), 0),
        _ => (be16(e, 96), be16(e, 98), be16(e, 100)),
    };
    GossipEntry {
        node,
        ping_sent: be32(e, 40),
        pong_received: be32(e, 44),
        ip: trim_nul(&e[48..94]),
        port,
        cport,
        pport,
        flags: NodeFlags(flags),
    }
}

/// Iterates over `count` raw entries.
pub struct GossipIter<'buf> {
    pub(crate) rest: &'buf [u8],
    pub(crate) layout: Layout,
}

impl<'buf> Iterator for GossipIter<'buf> {
    type Item = GossipEntry<'buf>;

    fn next(&mut self) -> Option<Self::Item> {
        let (e, rest) = self.rest.split_first_chunk::<GOSSIP_ENTRY_LEN>()?;
        self.rest = rest;
        Some(parse_gossip_entry(e, self.layout))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / GOSSIP_ENTRY_LEN;
        (n, Some(n))
    }
}
