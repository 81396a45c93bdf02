//! The reading thread's side: every event into the current batch, node
//! ids and addresses numbered as they first appear.

use super::layout::{Batch, NAMES_CAP, NONE, Packed, PackedEvent, PackedGossip, PackedMessage, Span};
use crate::clusterbus::{GossipIter, Message, RangesCache};
use crate::events::numbered::{LastAddr, NodeNumbers, Numbered};
use crate::events::{BusEvent, BusMessage, EventKind, Link, NodeAddr, NodeId, fill_owned_head, fingerprint};
use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta, StreamEnd};

/// The reading thread's numbering of node ids and addresses; what it
/// numbered since the last message packed goes into the batch.
#[derive(Debug)]
struct Numbering {
    nodes: NodeNumbers,
    addrs: Numbered<NodeAddr>,
    last_addr: LastAddr,
    /// Per sender number, its last announced address (most messages
    /// repeat it: compared, not hashed).
    last_announced: LastAddr,
    /// Ids and addresses already in a batch.
    sent: (usize, usize),
    cap: usize,
}

impl Numbering {
    fn new(cap: usize) -> Self {
        let (nodes, addrs, last_addr) = (NodeNumbers::default(), Numbered::default(), LastAddr::default());
        Numbering { nodes, addrs, last_addr, last_announced: LastAddr::default(), sent: (0, 0), cap }
    }

    /// Before a new batch: starts over when the tables are full.
    pub(super) fn start(&mut self, b: &mut Batch) {
        if self.nodes.len() >= self.cap || self.addrs.len() >= self.cap {
            self.nodes.clear();
            self.addrs.clear();
            self.last_addr.clear();
            self.last_announced.clear();
            self.sent = (0, 0);
            b.restart = true;
        }
    }

    fn opt_node(&mut self, id: &Option<NodeId>) -> u32 {
        id.as_ref().map_or(NONE, |id| self.nodes.number(id))
    }

    /// Packs `m` into `b`; its index in `b`'s messages. `wire`: its
    /// gossip entries as the wire has them (then `m.gossip` is not read).
    fn pack(&mut self, m: &BusMessage, wire: Option<GossipIter<'_>>, b: &mut Batch) -> Packed {
        let start = b.gossip.len();
        match wire {
            Some(entries) => {
                for g in entries {
                    let id = NodeId::from_name(&g.node);
                    let ports = [g.port, g.cport, g.pport];
                    let node = self.nodes.number(&id);
                    let addr = self.last_addr.addr_wire(node, &mut self.addrs, g.ip, ports);
                    let (flags, ping_sent, pong_received) = (g.flags.0, g.ping_sent, g.pong_received);
                    b.gossip.push(PackedGossip { node, addr, flags, ping_sent, pong_received });
                }
            }
            None => {
                for g in &m.gossip {
                    let node = self.nodes.number(&g.node);
                    let addr = self.last_addr.addr_of(node, &mut self.addrs, &g.addr);
                    let (flags, ping_sent, pong_received) = (g.flags, g.ping_sent, g.pong_received);
                    b.gossip.push(PackedGossip { node, addr, flags, ping_sent, pong_received });
                }
            }
        }
        let gossip = Span::of(start, b.gossip.len());
        let slots = push_all(&mut b.slots, &m.slots);
        let forgotten_start = b.forgotten.len();
        for (n, ttl) in &m.forgotten {
            b.forgotten.push((self.nodes.number(n), *ttl));
        }
        let forgotten = Span::of(forgotten_start, b.forgotten.len());
        let ext_types = push_all(&mut b.ext_types, &m.ext_types);
        let hostname = m.hostname.as_ref().map(|h| {
            let start = b.text.len();
            b.text.push_str(h);
            Span::of(start, b.text.len())
        });
        let update =
            m.update.as_ref().map(|(n, epoch, slots)| (self.nodes.number(n), *epoch, push_all(&mut b.slots, slots)));
        let (sender, replicaof) = (self.opt_node(&m.sender), self.opt_node(&m.replicaof));
        let announced = match sender {
            NONE => self.addrs.number(&m.announced),
            n => self.last_announced.addr_of(n, &mut self.addrs, &m.announced),
        };
        let p = PackedMessage {
            msg_type: m.msg_type,
            light: m.light,
            ver: m.ver,
            sender,
            current_epoch: m.current_epoch,
            config_epoch: m.config_epoch,
            repl_offset: m.repl_offset,
            flags: m.flags,
            state: m.state,
            mflags: m.mflags,
            slots,
            replicaof,
            announced,
            gossip,
            hostname,
            shard_id: self.opt_node(&m.shard_id),
            forgotten,
            ext_types,
            fail_node: self.opt_node(&m.fail_node),
            update,
            totlen: m.totlen,
            cut: m.cut,
            head_only: m.head_only,
            fingerprint: m.fingerprint,
        };
        b.messages.push(p);
        // What this message numbered first, before anything refers to it.
        b.names.extend_from_slice(self.nodes.since(self.sent.0));
        b.addrs.extend(self.addrs.since(self.sent.1).iter().cloned());
        self.sent = (self.nodes.len(), self.addrs.len());
        Packed::Message((b.messages.len() - 1) as u32)
    }
}

fn push_all<T: Copy>(v: &mut Vec<T>, items: &[T]) -> Span {
    let start = v.len();
    v.extend_from_slice(items);
    Span::of(start, v.len())
}

/// A reading thread's sink: every event into the current [`Batch`].
pub struct PackSink {
    numbering: Numbering,
    batch: Batch,
    /// The message being packed (filled, then packed: one message, hot).
    scratch: BusMessage,
    /// The slot ranges each sender's bitmap gave last.
    ranges: RangesCache,
    /// Make each message's fingerprint here (several captures: the
    /// analysis asks for every one, and this thread has time to spare).
    pub fingerprints: bool,
}

impl Default for PackSink {
    fn default() -> Self {
        PackSink::with_cap(NAMES_CAP)
    }
}

impl PackSink {
    /// Numbering over after `cap` ids or addresses (tests use small ones).
    pub(crate) fn with_cap(cap: usize) -> Self {
        let mut s = PackSink {
            numbering: Numbering::new(cap),
            batch: Batch::default(),
            scratch: BusMessage::empty(),
            ranges: RangesCache::default(),
            fingerprints: false,
        };
        s.numbering.start(&mut s.batch);
        s
    }

    /// Events packed since the last [`PackSink::take`].
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    /// The batch so far; packing goes on into `next` (an empty batch).
    pub fn take(&mut self, mut next: Batch) -> Batch {
        next.clear();
        self.numbering.start(&mut next);
        std::mem::replace(&mut self.batch, next)
    }

    /// Packs an event (a message as any [`BusMessage`]: tests).
    pub fn push(&mut self, e: BusEvent) {
        let BusEvent { ts_us, frame, first_frame, link, capture, kind } = e;
        let kind = match kind {
            EventKind::Message(m) => self.numbering.pack(&m, None, &mut self.batch),
            kind => {
                self.batch.others.push(kind);
                Packed::Other((self.batch.others.len() - 1) as u32)
            }
        };
        self.batch.events.push(PackedEvent { ts_us, frame, first_frame, link, capture, kind });
    }
}

impl BusSink for PackSink {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        // The gossip entries go from the wire straight into the batch.
        fill_owned_head(&mut self.scratch, msg, Some(&mut self.ranges));
        if self.fingerprints {
            self.scratch.fingerprint = Some(fingerprint(msg));
        }
        let kind = self.numbering.pack(&self.scratch, Some(msg.gossip()), &mut self.batch);
        let (ts_us, frame, first_frame, capture) = (meta.ts_us, meta.frame, meta.first_frame, meta.capture);
        let link = Some(Link::of_message(meta));
        self.batch.events.push(PackedEvent { ts_us, frame, first_frame, link, capture, kind });
    }

    fn anomaly(&mut self, a: &Anomaly) {
        self.push(BusEvent::from_anomaly(a));
    }

    fn stream_end(&mut self, e: &StreamEnd) {
        self.push(BusEvent::from_stream_end(e));
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.push(BusEvent::from_command(meta, args));
    }
}
