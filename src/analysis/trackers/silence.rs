//! Silences in a node's gossip: whether a node that stopped naming a
//! peer has dropped it from its table (`CLUSTER FORGET`) or was only
//! unlucky in its random draws, by the gossip rules of every generation.

use crate::clusterbus::{MessageType, NodeFlags};
use crate::events::{BusMessage, Gossip, NodeId};

/// -ln of the chance a silence about a known peer is luck: 1 in 10 000.
const SURE_SILENCE: f64 = 9.2;

/// A silence about a peer must also exceed the longest one kept while the
/// sender knew it by this much (100 times less likely).
const RARER_THAN_EVER: f64 = 4.6;

/// -ln((1/3)^3): an empty gossip section from a sender that knows 3+
/// nodes.
const EMPTY_GOSSIP_MISS: f64 = 3.3;

/// Sections after a sender's last mention of a node that must all be
/// smaller than the ones it sent while it named it.
const SHRUNK_SECTIONS: u32 = 5;

/// Gossip section size runs kept per sender.
const SIZES_KEPT: usize = 8;

/// Messages of one sender in a row whose gossip sections had one size.
#[derive(Clone, Copy, Debug)]
struct SizeRun {
    first: i64,
    last: i64,
    size: usize,
    count: u32,
}

/// One sender's gossip sections, as far as silences need them.
#[derive(Clone, Debug, Default)]
pub struct Silence {
    /// Sum over its messages of -ln(chance that a given peer of its table
    /// was left out of that message's gossip).
    missed: f64,
    /// Its sections' sizes (PFAIL entries aside), as runs: the last few.
    sizes: Vec<SizeRun>,
    /// Its messages' drawn entries never naming the node each went to:
    /// the same sum over them, and whether one did name it.
    receiver_missed: f64,
    receiver_named: bool,
}

/// Where a sender's silence about one peer stands.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerQuiet {
    /// [`Silence::now`] when the sender last named the peer, and the most
    /// it grew between two of its mentions of it.
    named_at: f64,
    widest_gap: f64,
}

impl PeerQuiet {
    pub fn at(now: f64) -> Self {
        PeerQuiet { named_at: now, widest_gap: 0.0 }
    }

    /// Named again at `now`.
    pub fn named(&mut self, now: f64) {
        self.widest_gap = self.widest_gap.max(now - self.named_at);
        self.named_at = now;
    }
}

/// Whether entry `e` of `m` was drawn at random (4.0+ append PFAIL nodes
/// beyond the draws, whoever they are).
fn drawn(m: &BusMessage, e: &Gossip) -> bool {
    e.flags & NodeFlags::PFAIL == 0 || m.ver == 0
}

/// `m`'s gossip entries picked at random.
fn regular_entries(m: &BusMessage) -> usize {
    m.gossip.iter().filter(|e| drawn(m, e)).count()
}

/// -ln(chance that one given peer of the sender's table is left out of
/// `m`'s gossip). Every generation picks `wanted` entries at random among
/// the other nodes of its table, `wanted` = max(3, N/10) capped at N-2
/// (N: its table with itself; nodes in PFAIL are appended beyond on
/// 4.0+, so they are not counted), in at most 3 × `wanted` draws,
/// skipping nodes in handshake, without address, or with neither link
/// nor slots. Fewer than 3 entries give N (the table is the entries, the
/// receiver and itself); 3 or more only bound it, by the peers it has
/// named so far (`known`, an over-count once it forgot some: a slower,
/// safer conclusion).
fn miss_weight(m: &BusMessage, known: usize) -> f64 {
    let g = regular_entries(m);
    if g == 0 {
        // A table of the sender, the receiver and one more node yields no
        // entry only when its 3 random draws all land on the sender.
        return EMPTY_GOSSIP_MISS;
    }
    let candidates = if g < 3 { g + 1 } else { known.clamp(g + 1, 10 * (g + 1)) };
    -(1.0 - g as f64 / candidates as f64).ln()
}

impl Silence {
    /// The sender sent `m` at `ts` to `receiver` (when known), knowing
    /// `known` peers.
    pub fn record(&mut self, m: &BusMessage, known: usize, ts: i64, receiver: Option<NodeId>) {
        let weight = miss_weight(m, known);
        self.missed += weight;
        let size = regular_entries(m);
        self.sent_to(m, size, weight, receiver);
        match self.sizes.last_mut() {
            Some(r) if r.size == size => {
                r.last = ts;
                r.count += 1;
            }
            _ => {
                if self.sizes.len() >= SIZES_KEPT {
                    self.sizes.remove(0);
                }
                self.sizes.push(SizeRun { first: ts, last: ts, size, count: 1 });
            }
        }
    }

    /// `m` (`drawn_entries` of its entries drawn at random, `weight` its
    /// [`miss_weight`]) went to `receiver`. Redis 7.4+ never gossips about
    /// the receiver (`clusterSendPing` skips `link->node`, redis#13046);
    /// earlier servers draw it as any peer (it has a link, so it is never
    /// skipped). PFAIL entries are appended whoever they are: not counted.
    fn sent_to(&mut self, m: &BusMessage, drawn_entries: usize, weight: f64, receiver: Option<NodeId>) {
        let Some(r) = receiver.filter(|_| matches!(m.msg_type, MessageType::PING | MessageType::PONG)) else {
            return;
        };
        if m.gossip.iter().any(|g| g.node == r && drawn(m, g)) {
            self.receiver_named = true;
        } else if drawn_entries > 0 {
            self.receiver_missed += weight;
        }
    }

    /// The sender's gossip never named the node it went to, against odds
    /// below 1 in 10,000 had it drawn it as any peer: Redis 7.4+.
    pub fn skips_receivers(&self) -> bool {
        !self.receiver_named && self.receiver_missed > SURE_SILENCE
    }

    pub fn now(&self) -> f64 {
        self.missed
    }

    /// Whether a peer last named at `last` (its silence `q`) is out of
    /// the sender's table, the sender having named `named_since` other
    /// peers since. `always_named`: the server would draw the peer in
    /// every section while it knew it (a node with slots; one with
    /// neither slots nor a link, as a dead replica, is skipped, so only a
    /// shrunken table tells).
    pub fn gone_from_table(&self, last: i64, q: &PeerQuiet, named_since: usize, always_named: bool) -> bool {
        // Sections of fewer than 3 entries give the table's size: N - 2
        // (N counting the sender). If every section since the last
        // mention held at most g, fewer than any section sent while it
        // named the peer, and it named g + 1 other nodes since, those are
        // all it knows.
        let since = self.sizes.iter().filter(|r| r.last > last);
        let (g, count) = since.fold((0, 0), |(g, c), r| (g.max(r.size), c + r.count));
        let before = self.sizes.iter().filter(|r| r.first <= last).map(|r| r.size).max();
        let all_after = self.sizes.iter().filter(|r| r.last > last).all(|r| r.first > last);
        if let Some(b) = before
            && all_after
            && count >= SHRUNK_SECTIONS
            && (1..3).contains(&g)
            && g < b
            && named_since > g
        {
            return true;
        }
        always_named && self.missed - q.named_at > SURE_SILENCE.max(q.widest_gap + RARER_THAN_EVER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NodeAddr;

    /// A PING of a 4-node table naming `named` (the sender, the receiver
    /// `r` and two others: Redis before 7.4 draws 2 of the 3 others, and
    /// leaves the receiver out 1 time in 3).
    fn ping(named: &[u8]) -> BusMessage {
        let mut m = BusMessage::empty();
        m.msg_type = MessageType::PING;
        m.ver = 1;
        let entry = |c: &u8| Gossip {
            node: NodeId([*c; 40]),
            addr: NodeAddr::default(),
            flags: 0,
            ping_sent: 0,
            pong_received: 0,
        };
        m.gossip = named.iter().map(entry).collect();
        m
    }

    #[test]
    fn a_sender_that_never_names_its_receiver_is_told_apart() {
        let r = NodeId([b'r'; 40]);
        // Redis 7.4+: always the two others, never r.
        let mut skips = Silence::default();
        for k in 0..8 {
            skips.record(&ping(b"ab"), 3, 0, Some(r));
            assert!(!skips.skips_receivers(), "after {k}: 9 misses of 1 in 3 are needed (1 in 19,683)");
        }
        skips.record(&ping(b"ab"), 3, 0, Some(r));
        assert!(skips.skips_receivers());
        // Before 7.4: the receiver is drawn as any peer; once is enough.
        let mut draws = Silence::default();
        for k in 0..40 {
            draws.record(&ping(if k == 7 { b"ar" } else { b"ab" }), 3, 0, Some(r));
        }
        assert!(!draws.skips_receivers());
        // A receiver named only as PFAIL (appended whoever it is) is not
        // drawn: still a miss. MEETs and unknown receivers tell nothing.
        let mut pfail = Silence::default();
        let mut m = ping(b"ar");
        m.gossip[1].flags = NodeFlags::PFAIL;
        for _ in 0..20 {
            pfail.record(&m, 3, 0, Some(r));
        }
        assert!(pfail.skips_receivers());
        let mut quiet = Silence::default();
        let mut meet = ping(b"ab");
        meet.msg_type = MessageType::MEET;
        for _ in 0..20 {
            quiet.record(&meet, 3, 0, Some(r));
            quiet.record(&ping(b"ab"), 3, 0, None);
        }
        assert!(!quiet.skips_receivers());
    }
}
