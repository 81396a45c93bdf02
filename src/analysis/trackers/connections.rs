//! Connections: which node is behind each side of every TCP connection (who
//! dialled, who answered), messages held until the other side is known, and
//! short-lived connections (`handshake_flapping`).

use super::nodes::Sent;
use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{Evidence, Finding, FindingKind, NodeId};
use crate::clusterbus::MessageType;
use crate::decode::Endpoint;
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

/// One TCP connection as seen by one capture.
#[derive(Clone, Debug, Default)]
struct Connection {
    opener: Option<NodeId>,
    responder: Option<NodeId>,
    responder_ep: Option<Endpoint>,
    first_type: Option<MessageType>,
    first_ts: i64,
    first_frame: u64,
    answered: bool,
    pending: Vec<HeldMessage>,
    messages: u32,
    closed: bool,
    /// Both sides known (counted in `pairs`).
    paired: bool,
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
        let c = self.conns.entry((link.capture, link.conn_id)).or_default();
        c.messages += 1;
        let mut answered_now = false;
        if on.is_opener {
            if c.opener.is_none() {
                c.opener = Some(on.sender);
                c.responder_ep = Some(link.dst);
                c.first_type = Some(msg.msg_type);
                c.first_ts = on.ts;
                c.first_frame = on.frame;
            }
        } else if c.responder.is_none() {
            c.responder = Some(on.sender);
            if c.responder_ep.is_none() {
                c.responder_ep = Some(link.src);
            }
            answered_now = c.opener.is_some() && !c.answered;
            c.answered |= answered_now;
        }
        if !c.paired
            && let (Some(a), Some(b)) = (c.opener, c.responder)
        {
            c.paired = true;
            if a != b {
                self.pairs.entry(link.capture).or_default().entry((a.min(b), a.max(b))).or_insert(on.ts);
            }
        }
        let receiver = if on.is_opener { c.responder } else { c.opener };
        let mut released = Vec::new();
        match receiver {
            Some(r) if c.opener.is_some() && c.responder.is_some() => {
                self.held -= c.pending.len();
                for p in std::mem::take(&mut c.pending) {
                    // Held messages of this direction reach the receiver;
                    // of the other direction, the sender.
                    let rcv = if p.link.src == link.src { r } else { on.sender };
                    released.push((p, rcv));
                }
            }
            Some(_) => {}
            None if c.pending.len() < PENDING_CAP && self.held < HELD_CAP => {
                self.held += 1;
                c.pending.push(HeldMessage { ts: on.ts, frame: on.frame, link: *link, msg: Box::new(msg.clone()) })
            }
            None => {}
        }
        let answer = match (answered_now, c.opener, c.responder, c.responder_ep) {
            (true, Some(opener), Some(responder), Some(responder_ep)) => Some(Answer {
                opener,
                responder,
                responder_ep,
                first_type: c.first_type.unwrap_or(MessageType::PING),
                first_ts: c.first_ts,
                first_frame: c.first_frame,
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
    pub fn end(&mut self, cfg: &AnalysisConfig, ts: i64, link: &Link) {
        let key = (link.capture, link.conn_id);
        let Some(c) = self.conns.get_mut(&key) else { return };
        if c.closed {
            self.held -= c.pending.len();
            self.conns.remove(&key);
            return;
        }
        c.closed = true;
        if let (Some(l), Some(dst)) = (c.opener, c.responder_ep)
            && c.first_ts > 0
            && ts - c.first_ts < SHORT_CONN_US
            && c.messages <= SHORT_CONN_MESSAGES
        {
            let evd = cfg.evidence(link.capture, c.first_frame);
            let first_ts = c.first_ts;
            let v = self.short.entry((l, format!("{}:{}", dst.ip, dst.port))).or_default();
            if v.len() < SHORT_CONN_CAP && !v.iter().any(|(t, _)| (t - first_ts).abs() < SAME_CONN_US) {
                v.push((first_ts, evd));
            }
        }
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
