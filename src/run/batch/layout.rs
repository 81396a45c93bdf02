//! The layout of a batch: its messages in flat arrays, node ids and
//! addresses as numbers, variable parts as spans.

use crate::clusterbus::MessageType;
use crate::events::{EventKind, Link, NodeAddr, NodeId};
use std::ops::Range;

/// No node (an absent `Option<NodeId>`).
pub(super) const NONE: u32 = u32::MAX;
/// Node ids or addresses a reading thread numbers before it starts its
/// numbering over (a hostile capture naming a new id in every entry
/// would otherwise grow both sides' tables with the capture).
pub(super) const NAMES_CAP: usize = 1 << 16;

/// Where a message's part of one of the batch's arrays is.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) len: u32,
}

impl Span {
    pub(super) fn of(start: usize, end: usize) -> Span {
        Span { start: start as u32, len: (end - start) as u32 }
    }

    pub(super) fn range(self) -> Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct PackedGossip {
    pub(super) node: u32,
    pub(super) addr: u32,
    pub(super) flags: u16,
    pub(super) ping_sent: u32,
    pub(super) pong_received: u32,
}

/// A [`BusMessage`] with its node ids and addresses as numbers and its
/// variable parts as spans of the batch's arrays.
#[derive(Clone, Debug)]
pub(super) struct PackedMessage {
    pub(super) msg_type: MessageType,
    pub(super) light: bool,
    pub(super) ver: u16,
    pub(super) sender: u32,
    pub(super) current_epoch: u64,
    pub(super) config_epoch: u64,
    pub(super) repl_offset: u64,
    pub(super) flags: u16,
    pub(super) state: u8,
    pub(super) mflags: u8,
    pub(super) slots: Span,
    pub(super) replicaof: u32,
    pub(super) announced: u32,
    pub(super) gossip: Span,
    pub(super) hostname: Option<Span>,
    pub(super) shard_id: u32,
    pub(super) forgotten: Span,
    pub(super) ext_types: Span,
    pub(super) fail_node: u32,
    pub(super) update: Option<(u32, u64, Span)>,
    pub(super) totlen: u32,
    pub(super) cut: bool,
    pub(super) head_only: bool,
    pub(super) fingerprint: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Packed {
    /// Index in the batch's messages.
    Message(u32),
    /// Anything else, as it is (rare: stream ends, anomalies, commands):
    /// index in the batch's others.
    Other(u32),
}

#[derive(Debug)]
pub(super) struct PackedEvent {
    pub(super) ts_us: i64,
    pub(super) frame: u64,
    pub(super) first_frame: u64,
    pub(super) link: Option<Link>,
    pub(super) capture: usize,
    pub(super) kind: Packed,
}

/// Events of one reading thread, packed; emptied and sent back to be
/// filled again (no allocation per batch in steady state).
#[derive(Debug, Default)]
pub struct Batch {
    /// The reading thread started its numbering over before this batch.
    pub(super) restart: bool,
    /// Node ids and addresses numbered in this batch, in number order
    /// (after those of earlier batches).
    pub(super) names: Vec<NodeId>,
    pub(super) addrs: Vec<NodeAddr>,
    pub(super) events: Vec<PackedEvent>,
    pub(super) messages: Vec<PackedMessage>,
    pub(super) others: Vec<EventKind>,
    pub(super) gossip: Vec<PackedGossip>,
    pub(super) slots: Vec<(u16, u16)>,
    pub(super) ext_types: Vec<u16>,
    pub(super) forgotten: Vec<(u32, u64)>,
    pub(super) text: String,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Empty, its arrays keeping their capacity.
    pub fn clear(&mut self) {
        let Batch { restart, names, addrs, events, messages, others, gossip, slots, ext_types, forgotten, text } = self;
        *restart = false;
        names.clear();
        addrs.clear();
        events.clear();
        messages.clear();
        others.clear();
        gossip.clear();
        slots.clear();
        ext_types.clear();
        forgotten.clear();
        text.clear();
    }
}
