//! Connections: which node is behind each side of every TCP connection (who
//! dialled, who answered), messages held until the other side is known, and
//! short-lived connections (`handshake_flapping`).

use super::nodes::Sent;
use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{Evidence, Finding, FindingKind, NodeId};
use crate::clusterbus::MessageType;
use crate::decode::Endpoint;
use crate::events::numbered::Numbered;
use crate::events::{BusMessage, Link};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// Messages kept per connection while its other side is unidentified.
const PENDING_CAP: usize = 64;
/// Messages kept over all connections while waiting (a long live capture
/// that drops packets leaves many connections half known); beyond it new
/// ones are not held (about 10 MB).
const HELD_CAP: usize = 20_000;
/// A "short" connection for handshake-flapping detection.
const SHORT_CONN_US: i64 = 2_000_000;
/// At most this many messages on a short connection.
const SHORT_CONN_MESSAGES: u32 = 4;
/// The same short connection seen from several vantages within this many
/// microseconds counts once.
const SAME_CONN_US: i64 = 50_000;
/// Short connections kept per (dialler, address).
const SHORT_CONN_CAP: usize = 256;
/// Short connections to one address that make a finding.
const FLAPPING_MIN: usize = 3;

/// A message waiting for its receiver to be known.
#[derive(Clone, Debug)]
pub struct HeldMessage {
    pub ts: i64,
    pub frame: u64,
    pub link: Link,
    pub msg: Box<BusMessage>,
}

/// No node (yet) on a side of a [`Connection`].
const NO_NODE: u32 = u32::MAX;

/// One TCP connection as seen by one capture: what every message on it
/// reads and writes, 16 bytes (sides as numbers in `Connections::ids`).
/// With the 6 GB of a 100-node capture streaming through the cache
/// between two messages of a connection, each message's entry is a cache
/// miss: the entry used to be 200 bytes (two `Option<NodeId>`, the first
/// message, the held ones), several lines; the rest is in [`Opening`].
#[derive(Clone, Copy, Debug)]
struct Connection {
    opener: u32,
    responder: u32,
    messages: u32,
    answered: bool,
    closed: bool,
    /// Both sides known (counted in `pairs`).
    paired: bool,
    /// Messages are held in its [`Opening`].
    holds: bool,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            opener: NO_NODE,
            responder: NO_NODE,
            messages: 0,
            answered: false,
            closed: false,
            paired: false,
            holds: false,
        }
    }
}

/// The part of a connection read on its first messages, while messages
/// wait for a side, and at its end.
#[derive(Clone, Debug, Default)]
struct Opening {
    responder_ep: Option<Endpoint>,
    first_type: Option<MessageType>,
    first_ts: i64,
    first_frame: u64,
    pending: Vec<HeldMessage>,
}

/// The first answer on a connection: who dialled, where, who answered.
#[derive(Clone, Debug)]
pub struct Answer {
    pub opener: NodeId,
    pub responder: NodeId,
    pub responder_ep: Endpoint,
    pub first_type: MessageType,
    pub first_ts: i64,
    pub first_frame: u64,
}

/// What one message's arrival settled.
#[derive(Clone, Debug, Default)]
pub struct Arrival {
    /// The node the message reached, when known.
    pub receiver: Option<NodeId>,
    /// Held messages now deliverable, with their receiver.
    pub released: Vec<(HeldMessage, NodeId)>,
    /// This message was the first answer on its connection.
    pub answer: Option<Answer>,
}

#[derive(Clone, Debug, Default)]
pub struct Connections {
    conns: HashMap<(usize, u64), Connection>,
    /// The same connections' openings (when one was needed).
    openings: HashMap<(usize, u64), Opening>,
    /// Node ids numbered for `conns`.
    ids: Numbered<NodeId>,
    /// (dialler, address) → short connections (ts, evidence).
    short: BTreeMap<(NodeId, String), Vec<(i64, Evidence)>>,
    /// Per capture: the node pairs whose link it saw (smaller id first).
    pairs: BTreeMap<usize, BTreeMap<(NodeId, NodeId), i64>>,
    /// Messages held over all connections.
    held: usize,
}

impl Connections {
    /// Places the sender on its side of the connection; returns who
    /// receives this message and what else that settles. An undeliverable
    /// message is held (up to a cap).
    pub fn arrive(&mut self, on: &Sent<'_>, msg: &BusMessage) -> Arrival {
        let link = on.link;
        let key = (link.capture, link.conn_id);
        let sender = self.ids.number(&on.sender);
        let c = self.conns.entry(key).or_default();
        c.messages += 1;
        let mut answered_now = false;
        if on.is_opener {
            if c.opener == NO_NODE {
                c.opener = sender;
                let o = self.openings.entry(key).or_default();
                o.responder_ep = Some(link.dst);
                o.first_type = Some(msg.msg_type);
                o.first_ts = on.ts;
                o.first_frame = on.frame;
            }
        } else if c.responder == NO_NODE {
            c.responder = sender;
            let o = self.openings.entry(key).or_default();
            if o.responder_ep.is_none() {
                o.responder_ep = Some(link.src);
            }
            answered_now = c.opener != NO_NODE && !c.answered;
            c.answered |= answered_now;
        }
        let both = c.opener != NO_NODE && c.responder != NO_NODE;
        if !c.paired && both {
            c.paired = true;
            if c.opener != c.responder {
                let (a, b) = (*self.ids.of(c.opener), *self.ids.of(c.responder));
                self.pairs.entry(link.capture).or_default().entry((a.min(b), a.max(b))).or_insert(on.ts);
            }
        }
        let receiver = if on.is_opener { c.responder } else { c.opener };
        let receiver = (receiver != NO_NODE).then(|| *self.ids.of(receiver));
        let mut released = Vec::new();
        match receiver {
            Some(r) if both => {
                if std::mem::take(&mut c.holds)
                    && let Some(o) = self.openings.get_mut(&key)
                {
                    self.held -= o.pending.len();
                    for p in std::mem::take(&mut o.pending) {
                        // Held messages of this direction reach the receiver;
                        // of the other direction, the sender.
                        let rcv = if p.link.src == link.src { r } else { on.sender };
                        released.push((p, rcv));
                    }
                }
            }
            Some(_) => {}
            None if self.held < HELD_CAP => {
                let o = self.openings.entry(key).or_default();
                if o.pending.len() < PENDING_CAP {
                    self.held += 1;
                    c.holds = true;
                    o.pending.push(HeldMessage { ts: on.ts, frame: on.frame, link: *link, msg: Box::new(msg.clone()) })
                }
            }
            None => {}
        }
        let answer = match (answered_now, self.openings.get(&key)) {
            (true, Some(o)) => o.responder_ep.map(|responder_ep| Answer {
                opener: *self.ids.of(c.opener),
                responder: *self.ids.of(c.responder),
                responder_ep,
                first_type: o.first_type.unwrap_or(MessageType::PING),
                first_ts: o.first_ts,
                first_frame: o.first_frame,
            }),
            _ => None,
        };
        Arrival { receiver, released, answer }
    }

    /// Node pairs whose link capture `capture` saw.
    pub fn pairs_seen(&self, capture: usize) -> usize {
        self.pairs.get(&capture).map_or(0, BTreeMap::len)
    }

    /// Whether any capture saw a link between `a` and `b` before `t`.
    pub fn link_seen_before(&self, a: NodeId, b: NodeId, t: Option<i64>) -> bool {
        let k = (a.min(b), a.max(b));
        self.pairs.values().any(|s| s.get(&k).is_some_and(|&ts| t.is_none_or(|t| ts < t)))
    }

    /// The connection ended (one event per direction: the second forgets
    /// it). A short one with few messages counts towards flapping.
    /// Returns the node that sent this direction, when known.
    pub fn end(&mut self, cfg: &AnalysisConfig, ts: i64, link: &Link) -> Option<NodeId> {
        let key = (link.capture, link.conn_id);
        let c = self.conns.get_mut(&key)?;
        let opening = self.openings.get(&key);
        let responder_ep = opening.and_then(|o| o.responder_ep);
        let from_opener = match link.from_initiator {
            Some(f) => f,
            None => responder_ep.is_none_or(|r| r != link.src),
        };
        let side = if from_opener { c.opener } else { c.responder };
        let sender = (side != NO_NODE).then(|| *self.ids.of(side));
        if c.closed {
            self.held -= opening.map_or(0, |o| o.pending.len());
            self.conns.remove(&key);
            self.openings.remove(&key);
            return sender;
        }
        c.closed = true;
        let (first_ts, first_frame) = opening.map_or((0, 0), |o| (o.first_ts, o.first_frame));
        if let (true, Some(dst)) = (c.opener != NO_NODE, responder_ep)
            && first_ts > 0
            && ts - first_ts < SHORT_CONN_US
            && c.messages <= SHORT_CONN_MESSAGES
        {
            let l = *self.ids.of(c.opener);
            let evd = cfg.evidence(link.capture, first_frame);
            let v = self.short.entry((l, format!("{}:{}", dst.ip, dst.port))).or_default();
            if v.len() < SHORT_CONN_CAP && !v.iter().any(|(t, _)| (t - first_ts).abs() < SAME_CONN_US) {
                v.push((first_ts, evd));
            }
        }
        sender
    }

    /// Short connections anyone opened to `addr` (`ip:port`).
    pub fn short_to(&self, addr: &str) -> usize {
        self.short.iter().filter(|((_, a), _)| a == addr).map(|(_, v)| v.len()).sum()
    }

    /// `handshake_flapping`: a node that kept opening short connections to
    /// one address.
    pub fn flapping_findings(&self, out: &mut Vec<Finding>) {
        for ((l, addr), v) in &self.short {
            if v.len() >= FLAPPING_MIN {
                out.push(Finding {
                    addresses: vec![addr.clone()],
                    ..Finding::about(
                        FindingKind::HandshakeFlapping,
                        v[0].0,
                        vec![*l],
                        format!("{} opened {} short-lived connections to {addr}", l.short(), v.len()),
                        v.iter().take(6).map(|x| x.1.clone()).collect(),
                    )
                    .occurring(v.len() as u64, v.iter().map(|x| x.0).max().unwrap_or(v[0].0))
                });
            }
        }
    }
}
