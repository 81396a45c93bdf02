//! Gossip entries (§3.2): 104 bytes each, field placement per layout.

use super::GOSSIP_ENTRY_LEN;
use super::header::trim_nul;
use super::message::{GossipEntry, Layout};
use super::types::{NodeFlags, NodeName};

fn be16(b: &[u8; GOSSIP_ENTRY_LEN], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8; GOSSIP_ENTRY_LEN], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
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
