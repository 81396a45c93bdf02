//! The analysing thread's side: a batch opened (its numbering taken in,
//! its lines warmed), each message unpacked into one reused event.

use super::layout::{Batch, NONE, Packed, PackedGossip, PackedMessage, Span};
use crate::events::numbered::{WireNumbers, WireSource};
use crate::events::{BusEvent, BusMessage, EventKind, Gossip, NodeAddr, NodeId};
use std::sync::atomic::{AtomicU64, Ordering};

/// The analysing side of one reading thread: its numbering, and the event
/// it unpacks each message into.
#[derive(Debug)]
pub struct Unpacker {
    names: Vec<NodeId>,
    addrs: Vec<NodeAddr>,
    event: BusEvent,
    /// The reading thread's numbering, and the numbers of the gossip of
    /// the last message unpacked.
    source: WireSource,
    wire: Vec<(u32, u32)>,
}

impl Default for Unpacker {
    fn default() -> Self {
        // Every unpacker of the process numbers its own stream.
        static STREAMS: AtomicU64 = AtomicU64::new(0);
        let kind = EventKind::Message(Box::new(BusMessage::empty()));
        Unpacker {
            names: Vec::new(),
            addrs: Vec::new(),
            event: BusEvent { ts_us: 0, frame: 0, first_frame: 0, link: None, capture: 0, kind },
            source: WireSource { stream: STREAMS.fetch_add(1, Ordering::Relaxed), generation: 0 },
            wire: Vec::new(),
        }
    }
}

impl Unpacker {
    /// Takes in `b`'s numbering; before any of its events.
    pub fn open(&mut self, b: &Batch) {
        if b.restart {
            self.names.clear();
            self.addrs.clear();
            self.source.generation += 1;
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
                    let p = &b.messages[k as usize];
                    unpack(&self.names, &self.addrs, parts, p, m);
                    self.wire.clear();
                    self.wire.extend(b.gossip[p.gossip.range()].iter().map(|g| (g.node, g.addr)));
                }
            }
            Packed::Other(k) => {
                e.kind = std::mem::replace(&mut b.others[k as usize], EventKind::Command { args: Vec::new() });
            }
        }
        &self.event
    }

    /// The event [`Unpacker::event`] made last.
    pub fn current(&self) -> &BusEvent {
        &self.event
    }

    /// The reading thread's numbers of the gossip of the message
    /// [`Unpacker::event`] made last (`None` after any other event).
    pub fn wire(&self) -> Option<WireNumbers<'_>> {
        matches!(self.event.kind, EventKind::Message(_))
            .then_some(WireNumbers { source: self.source, gossip: &self.wire })
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
        head_only: p.head_only,
        fingerprint: p.fingerprint,
    };
}

#[cfg(test)]
mod tests {
    use super::super::layout::NAMES_CAP;
    use super::super::pack::PackSink;
    use super::*;
    use crate::clusterbus::{Message, MessageType};
    use crate::events::EventSink;
    use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta, StreamEnd};
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
                // The gossip's reader numbers name its entries in the
                // numbering taken in so far (what the analysis translates).
                if let EventKind::Message(m) = &want.kind {
                    let w = self.unpacker.wire().expect("a message's numbers");
                    let u = &self.unpacker;
                    let named: Vec<_> =
                        w.gossip.iter().map(|&(n, a)| (u.names[n as usize], &u.addrs[a as usize])).collect();
                    assert_eq!(named, m.gossip.iter().map(|g| (g.node, &g.addr)).collect::<Vec<_>>());
                } else {
                    assert!(self.unpacker.wire().is_none());
                }
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
        crate::events::each_sample(&mut c);
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
            head_only: true,
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
