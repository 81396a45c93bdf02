//! Events in transit from a reading thread to the analysing one, packed.
//!
//! A message filled on one core and read on another costs the reader of
//! every cache line it spans a transfer between the cores; an owned
//! [`BusMessage`] spans about 17 lines scattered over the heap (the
//! message, its gossip, its slots), read one miss after another. Here a
//! batch holds its messages in a few flat arrays instead, node ids and
//! addresses as numbers (each id crosses once, when the reading thread
//! first meets it): about 5 lines per message at 30 nodes, which the
//! analysing side reads once, in order, when it opens the batch (many
//! loads in flight at once). It then unpacks each message into one
//! [`BusEvent`] it reuses, so the analysis reads what it always read,
//! from its own core's cache.

use super::numbered::{LastAddr, Numbered};
use super::{BusEvent, BusMessage, EventKind, Gossip, Link, NodeAddr, NodeId, fill_owned_message};
use crate::clusterbus::{Message, MessageType};
use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta, StreamEnd};
use std::ops::Range;

/// No node (an absent `Option<NodeId>`).
const NONE: u32 = u32::MAX;
/// Node ids or addresses a reading thread numbers before it starts its
/// numbering over (a hostile capture naming a new id in every entry
/// would otherwise grow both sides' tables with the capture).
const NAMES_CAP: usize = 1 << 16;

/// Where a message's part of one of the batch's arrays is.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of(start: usize, end: usize) -> Span {
        Span { start: start as u32, len: (end - start) as u32 }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

#[derive(Clone, Copy, Debug)]
struct PackedGossip {
    node: u32,
    addr: u32,
    flags: u16,
    ping_sent: u32,
    pong_received: u32,
}

/// A [`BusMessage`] with its node ids and addresses as numbers and its
/// variable parts as spans of the batch's arrays.
#[derive(Clone, Debug)]
struct PackedMessage {
    msg_type: MessageType,
    light: bool,
    ver: u16,
    sender: u32,
    current_epoch: u64,
    config_epoch: u64,
    repl_offset: u64,
    flags: u16,
    state: u8,
    mflags: u8,
    slots: Span,
    replicaof: u32,
    announced: u32,
    gossip: Span,
    hostname: Option<Span>,
    shard_id: u32,
    forgotten: Span,
    ext_types: Span,
    fail_node: u32,
    update: Option<(u32, u64, Span)>,
    totlen: u32,
    cut: bool,
    fingerprint: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum Packed {
    /// Index in the batch's messages.
    Message(u32),
    /// Anything else, as it is (rare: stream ends, anomalies, commands):
    /// index in the batch's others.
    Other(u32),
}

#[derive(Debug)]
struct PackedEvent {
    ts_us: i64,
    frame: u64,
    first_frame: u64,
    link: Option<Link>,
    capture: usize,
    kind: Packed,
}

/// Events of one reading thread, packed; emptied and sent back to be
/// filled again (no allocation per batch in steady state).
#[derive(Debug, Default)]
pub struct Batch {
    /// The reading thread started its numbering over before this batch.
    restart: bool,
    /// Node ids and addresses numbered in this batch, in number order
    /// (after those of earlier batches).
    names: Vec<NodeId>,
    addrs: Vec<NodeAddr>,
    events: Vec<PackedEvent>,
    messages: Vec<PackedMessage>,
    others: Vec<EventKind>,
    gossip: Vec<PackedGossip>,
    slots: Vec<(u16, u16)>,
    ext_types: Vec<u16>,
    forgotten: Vec<(u32, u64)>,
    text: String,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
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

/// The reading thread's numbering of node ids and addresses; what it
/// numbered since the last message packed goes into the batch.
#[derive(Debug)]
struct Numbering {
    nodes: Numbered<NodeId>,
    addrs: Numbered<NodeAddr>,
    last_addr: LastAddr,
    /// Ids and addresses already in a batch.
    sent: (usize, usize),
    cap: usize,
}

impl Numbering {
    fn new(cap: usize) -> Self {
        let (nodes, addrs, last_addr) = (Numbered::default(), Numbered::default(), LastAddr::default());
        Numbering { nodes, addrs, last_addr, sent: (0, 0), cap }
    }

    /// Before a new batch: starts over when the tables are full.
    fn start(&mut self, b: &mut Batch) {
        if self.nodes.len() >= self.cap || self.addrs.len() >= self.cap {
            self.nodes.clear();
            self.addrs.clear();
            self.last_addr.clear();
            self.sent = (0, 0);
            b.restart = true;
        }
    }

    fn opt_node(&mut self, id: &Option<NodeId>) -> u32 {
        id.as_ref().map_or(NONE, |id| self.nodes.number(id))
    }

    /// Packs `m` into `b`; its index in `b`'s messages.
    fn pack(&mut self, m: &BusMessage, b: &mut Batch) -> Packed {
        let start = b.gossip.len();
        for g in &m.gossip {
            let (node, addr) = self.last_addr.entry(&mut self.nodes, &mut self.addrs, &g.node, &g.addr);
            let (flags, ping_sent, pong_received) = (g.flags, g.ping_sent, g.pong_received);
            b.gossip.push(PackedGossip { node, addr, flags, ping_sent, pong_received });
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
        let p = PackedMessage {
            msg_type: m.msg_type,
            light: m.light,
            ver: m.ver,
            sender: self.opt_node(&m.sender),
            current_epoch: m.current_epoch,
            config_epoch: m.config_epoch,
            repl_offset: m.repl_offset,
            flags: m.flags,
            state: m.state,
            mflags: m.mflags,
            slots,
            replicaof: self.opt_node(&m.replicaof),
            announced: self.addrs.number(&m.announced),
            gossip,
            hostname,
            shard_id: self.opt_node(&m.shard_id),
            forgotten,
            ext_types,
            fail_node: self.opt_node(&m.fail_node),
            update,
            totlen: m.totlen,
            cut: m.cut,
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
    pub fn with_cap(cap: usize) -> Self {
        let mut s = PackSink {
            numbering: Numbering::new(cap),
            batch: Batch::default(),
            scratch: BusMessage::empty(),
            fingerprints: false,
        };
        s.numbering.start(&mut s.batch);
        s
    }

    /// Events packed since the last [`PackSink::take`].
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
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
            EventKind::Message(m) => self.numbering.pack(&m, &mut self.batch),
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
        fill_owned_message(&mut self.scratch, msg);
        if self.fingerprints {
            self.scratch.fingerprint = Some(self.scratch.hash_content());
        }
        let kind = self.numbering.pack(&self.scratch, &mut self.batch);
        let (ts_us, frame, first_frame, capture) = (meta.ts_us, meta.frame, meta.first_frame, meta.capture);
        let link = Some(super::link_of(meta));
        self.batch.events.push(PackedEvent { ts_us, frame, first_frame, link, capture, kind });
    }

    fn anomaly(&mut self, a: &Anomaly) {
        self.push(super::anomaly_event(a));
    }

    fn stream_end(&mut self, e: &StreamEnd) {
        self.push(super::stream_end_event(e));
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.push(super::command_event(meta, args));
    }
}

/// The analysing side of one reading thread: its numbering, and the event
/// it unpacks each message into.
#[derive(Debug)]
pub struct Unpacker {
    names: Vec<NodeId>,
    addrs: Vec<NodeAddr>,
    event: BusEvent,
}

impl Default for Unpacker {
    fn default() -> Self {
        let kind = EventKind::Message(Box::new(BusMessage::empty()));
        Unpacker {
            names: Vec::new(),
            addrs: Vec::new(),
            event: BusEvent { ts_us: 0, frame: 0, first_frame: 0, link: None, capture: 0, kind },
        }
    }
}

impl Unpacker {
    /// Takes in `b`'s numbering; before any of its events.
    pub fn open(&mut self, b: &Batch) {
        if b.restart {
            self.names.clear();
            self.addrs.clear();
        }
        self.names.extend_from_slice(&b.names);
        self.addrs.extend(b.addrs.iter().cloned());
        std::hint::black_box(warm(b));
    }

    /// Event `i` of `b` (opened), as the reading thread made it; anything
    /// but a message is moved out of the batch.
    pub fn event(&mut self, b: &mut Batch, i: usize) -> &BusEvent {
        let p = &b.events[i];
        let e = &mut self.event;
        (e.ts_us, e.frame, e.first_frame, e.link, e.capture) = (p.ts_us, p.frame, p.first_frame, p.link, p.capture);
        match p.kind {
            Packed::Message(k) => {
                if !matches!(e.kind, EventKind::Message(_)) {
                    e.kind = EventKind::Message(Box::new(BusMessage::empty()));
                }
                if let EventKind::Message(m) = &mut e.kind {
                    let (gossip, slots, ext_types, forgotten) = (&b.gossip, &b.slots, &b.ext_types, &b.forgotten);
                    let parts = Parts { gossip, slots, ext_types, forgotten, text: &b.text };
                    unpack(&self.names, &self.addrs, parts, &b.messages[k as usize], m);
                }
            }
            Packed::Other(k) => {
                e.kind = std::mem::replace(&mut b.others[k as usize], EventKind::Command { args: Vec::new() });
            }
        }
        &self.event
    }
}

/// Reads a word of every cache line of `b`'s events and gossip, in
/// order: independent loads, so the lines cross from the reading thread's
/// core many at a time instead of one per miss as unpacking reaches them.
fn warm(b: &Batch) -> u64 {
    let mut x = 0;
    for e in &b.events {
        x ^= e.ts_us as u64 ^ e.first_frame ^ e.link.map_or(0, |l| l.conn_id);
    }
    for m in &b.messages {
        x ^= m.current_epoch ^ m.fingerprint.unwrap_or(0) ^ u64::from(m.totlen) ^ u64::from(m.sender);
    }
    for g in &b.gossip {
        x ^= u64::from(g.node);
    }
    x
}

/// The arrays of a batch a message's spans point into.
struct Parts<'a> {
    gossip: &'a [PackedGossip],
    slots: &'a [(u16, u16)],
    ext_types: &'a [u16],
    forgotten: &'a [(u32, u64)],
    text: &'a str,
}

/// Makes `m` the message `p` packs, whatever `m` held before (every field
/// written; vectors keep their capacity).
fn unpack(names: &[NodeId], addrs: &[NodeAddr], parts: Parts<'_>, p: &PackedMessage, m: &mut BusMessage) {
    let node = |n: u32| (n != NONE).then(|| names[n as usize]);
    // Built whole (no field can be left unwritten), in the old message's
    // vectors and strings.
    let refill = |mut v: Vec<(u16, u16)>, from: Span| {
        v.clear();
        v.extend_from_slice(&parts.slots[from.range()]);
        v
    };
    let mut gossip = std::mem::take(&mut m.gossip);
    gossip.clear();
    gossip.extend(parts.gossip[p.gossip.range()].iter().map(|g| Gossip {
        node: names[g.node as usize],
        addr: addrs[g.addr as usize].clone(),
        flags: g.flags,
        ping_sent: g.ping_sent,
        pong_received: g.pong_received,
    }));
    let mut forgotten = std::mem::take(&mut m.forgotten);
    forgotten.clear();
    forgotten.extend(parts.forgotten[p.forgotten.range()].iter().map(|&(n, ttl)| (names[n as usize], ttl)));
    let mut ext_types = std::mem::take(&mut m.ext_types);
    ext_types.clear();
    ext_types.extend_from_slice(&parts.ext_types[p.ext_types.range()]);
    let hostname = p.hostname.map(|s| {
        let mut h = m.hostname.take().unwrap_or_default();
        h.clear();
        h.push_str(&parts.text[s.range()]);
        h
    });
    let mut announced = std::mem::take(&mut m.announced);
    announced.clone_from(&addrs[p.announced as usize]);
    *m = BusMessage {
        msg_type: p.msg_type,
        light: p.light,
        ver: p.ver,
        sender: node(p.sender),
        current_epoch: p.current_epoch,
        config_epoch: p.config_epoch,
        repl_offset: p.repl_offset,
        flags: p.flags,
        state: p.state,
        mflags: p.mflags,
        slots: refill(std::mem::take(&mut m.slots), p.slots),
        replicaof: node(p.replicaof),
        announced,
        gossip,
        hostname,
        shard_id: node(p.shard_id),
        forgotten,
        ext_types,
        fail_node: node(p.fail_node),
        update: p.update.map(|(n, epoch, s)| (names[n as usize], epoch, refill(Vec::new(), s))),
        totlen: p.totlen,
        cut: p.cut,
        fingerprint: p.fingerprint,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventSink;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Hands every event both to an [`EventSink`] (what `--threads 1`
    /// analyses) and to a [`PackSink`], and checks each unpacked event
    /// against the owned one.
    struct Compare<'a> {
        owned: EventSink<Box<dyn FnMut(BusEvent) + 'a>>,
        expected: &'a RefCell<VecDeque<BusEvent>>,
        pack: PackSink,
        unpacker: Unpacker,
        /// Events per batch.
        every: usize,
        checked: usize,
        restarts: usize,
        others: usize,
    }

    impl Compare<'_> {
        fn check(&mut self, at_least: usize) {
            if self.pack.len() < at_least.max(1) {
                return;
            }
            let mut b = self.pack.take(Batch::default());
            self.restarts += usize::from(b.restart);
            self.unpacker.open(&b);
            for i in 0..b.len() {
                let mut want = self.expected.borrow_mut().pop_front().unwrap();
                match &mut want.kind {
                    EventKind::Message(m) => m.fingerprint = Some(m.hash_content()),
                    _ => self.others += 1,
                }
                assert_eq!(self.unpacker.event(&mut b, i), &want);
                self.checked += 1;
            }
        }
    }

    impl BusSink for Compare<'_> {
        fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
            self.owned.message(meta, msg);
            self.pack.message(meta, msg);
            self.check(self.every);
        }
        fn anomaly(&mut self, a: &Anomaly) {
            self.owned.anomaly(a);
            self.pack.anomaly(a);
            self.check(self.every);
        }
        fn stream_end(&mut self, e: &StreamEnd) {
            self.owned.stream_end(e);
            self.pack.stream_end(e);
            self.check(self.every);
        }
        fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
            self.owned.command(meta, args);
            self.pack.command(meta, args);
            self.check(self.every);
        }
    }

    fn round_trip(cap: usize, every: usize) -> (usize, usize, usize) {
        let expected = RefCell::new(VecDeque::new());
        let mut pack = PackSink::with_cap(cap);
        pack.fingerprints = true;
        let mut c = Compare {
            owned: EventSink::new(Box::new(|e| expected.borrow_mut().push_back(e))),
            expected: &expected,
            pack,
            unpacker: Unpacker::default(),
            every,
            checked: 0,
            restarts: 0,
            others: 0,
        };
        crate::events::tests::each_sample(&mut c);
        c.check(0);
        assert!(expected.borrow().is_empty());
        (c.checked, c.restarts, c.others)
    }

    /// Every event of every shipped sample (all generations, extensions,
    /// FAIL, UPDATE, cut messages, stream ends, anomalies, commands)
    /// crosses packed and unpacked exactly as the owned event: in batches
    /// of one event and of 97, with the numbering of ids and addresses
    /// kept, and started over every few names (as past the cap).
    #[test]
    fn unpacked_events_equal_the_owned_ones() {
        for (cap, every) in [(NAMES_CAP, 97), (5, 1), (7, 13)] {
            let (checked, restarts, others) = round_trip(cap, every);
            assert!(checked > 20_000 && others > 100, "{checked} {others}");
            assert_eq!(restarts > 100, cap < 10, "cap {cap}: {restarts} restarts");
        }
    }

    /// Every field of a message crosses, whatever the message before it
    /// held (messages the samples do not have: cut, every optional field
    /// set, an IP that is not inline text).
    #[test]
    fn every_field_crosses_and_none_is_left_over() {
        let id = |c: u8| NodeId([c; 40]);
        let addr = |ip: &str, port| NodeAddr { ip: ip.into(), port, cport: port + 10000, pport: 0 };
        let full = BusMessage {
            msg_type: MessageType::UPDATE,
            light: true,
            ver: 0,
            sender: Some(id(b'a')),
            current_epoch: 7,
            config_epoch: 6,
            repl_offset: 5,
            flags: 3,
            state: 1,
            mflags: 2,
            slots: vec![(0, 5), (9, 16383)],
            replicaof: Some(id(b'b')),
            announced: addr(&"f".repeat(60), 7001),
            gossip: vec![Gossip {
                node: id(b'c'),
                addr: addr("10.0.0.1", 7002),
                flags: 8,
                ping_sent: 1,
                pong_received: 2,
            }],
            hostname: Some("host-1".into()),
            shard_id: Some(id(b'd')),
            forgotten: vec![(id(b'e'), 60)],
            ext_types: vec![1, 2, 3],
            fail_node: Some(id(b'f')),
            update: Some((id(b'g'), 9, vec![(100, 200)])),
            totlen: 2256,
            cut: true,
            fingerprint: Some(42),
        };
        let empty = BusMessage::empty();
        let mut pack = PackSink::with_cap(2);
        let mut unpacker = Unpacker::default();
        for m in [&full, &empty, &full, &full, &empty] {
            let kind = EventKind::Message(Box::new(m.clone()));
            pack.push(BusEvent { ts_us: 1, frame: 2, first_frame: 1, link: None, capture: 0, kind });
            let mut b = pack.take(Batch::default());
            unpacker.open(&b);
            match &unpacker.event(&mut b, 0).kind {
                EventKind::Message(got) => assert_eq!(**got, *m),
                other => panic!("{other:?}"),
            }
        }
    }
}
