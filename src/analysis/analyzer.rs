//! The [`Analyzer`] facade: `new`, `push` (one event), `finish` (and, in
//! `queries.rs`, `view_of`).
//! It owns one value per tracker (and, when asked, every node's own table)
//! and routes each message through them in a fixed order: clock → sender's
//! header (nodes, roles, slots) → connection sides → delivery to the
//! receiver (MEET, PING expectations, gossip heard) → first answers
//! (handshakes) → what the sender shows it knows. Every decision lives in
//! its tracker; this file only sequences, and `finish` hands the trackers
//! to the verdicts.

use super::config::AnalysisConfig;
use super::model::{Analysis, CaptureWire, Evidence, Generation, Introduction, NodeId, Role, Via};
use super::node_tables::rules::Rules;
use super::node_tables::updates::NodeTables;
use super::trackers::clock::Clock;
use super::trackers::connections::{Answer, Connections};
use super::trackers::handshakes::{HandshakeContext, Handshakes};
use super::trackers::identities::Identities;
use super::trackers::introductions::{self, Introductions, PRIOR_WINDOW_US};
use super::trackers::knowledge::{GossipNumbers, Knowledge};
use super::trackers::liveness::Liveness;
use super::trackers::membership::Membership;
use super::trackers::nodes::{Nodes, Sent, node_addr, role_of};
use super::trackers::reading::Reading;
use super::trackers::retention::{KeptFindings, Tracked};
use super::trackers::roles::{self, RoleHeader, Roles};
use super::trackers::slot_views::{Seen, SlotViews};
use super::trackers::slots::{SlotClaim, Slots};
use super::verdicts::finish::{Gathered, build};
use crate::clusterbus::{MessageType, NodeFlags};
use crate::events::numbered::WireNumbers;
use crate::events::{BusEvent, BusMessage, CloseReason, EventKind, IpTexts, Link, NodeAddr};
use std::collections::BTreeMap;

mod queries;

/// Consumes events; `finish` yields the [`Analysis`].
#[derive(Clone)]
pub struct Analyzer {
    cfg: AnalysisConfig,
    nodes: Nodes,
    conns: Connections,
    knowledge: Knowledge,
    handshakes: Handshakes,
    intros: Introductions,
    membership: Membership,
    roles: Roles,
    slots: Slots,
    slot_views: SlotViews,
    clock: Clock,
    reading: Reading,
    identities: Identities,
    liveness: Liveness,
    /// Each node's own cluster table (for `view_of`).
    tables: NodeTables,
    /// Findings made while streaming (the rest are made at the end).
    findings: KeptFindings,
    /// The node ids tracked (bounded).
    tracked: Tracked,
    anomalies: BTreeMap<String, u64>,
    /// The nodes a message shows (a buffer reused message after message).
    shown_buf: Vec<NodeId>,
    /// The numbers of a message's gossip entries (a reused buffer).
    numbers: GossipNumbers,
    ip_texts: IpTexts,
}

impl Analyzer {
    pub fn new(cfg: AnalysisConfig) -> Self {
        Analyzer {
            nodes: Nodes::default(),
            conns: Connections::default(),
            knowledge: Knowledge::default(),
            handshakes: Handshakes::default(),
            intros: Introductions::default(),
            membership: Membership::default(),
            roles: Roles::bounded(cfg.bounds.max_events),
            slots: Slots::default(),
            slot_views: SlotViews::bounded(cfg.bounds.max_events),
            clock: Clock::default(),
            reading: Reading::default(),
            identities: Identities::default(),
            liveness: Liveness::default(),
            tables: NodeTables::default(),
            findings: KeptFindings::new(cfg.bounds.max_events),
            tracked: Tracked::new(cfg.bounds.max_nodes),
            anomalies: BTreeMap::new(),
            shown_buf: Vec::new(),
            numbers: GossipNumbers::new(),
            ip_texts: IpTexts::default(),
            cfg,
        }
    }

    /// Feeds one event (roughly in capture-time order, as the pipeline does).
    pub fn push(&mut self, e: BusEvent) {
        self.observe(&e);
    }
    /// [`Analyzer::push`] of a borrowed event (the caller may reuse it).
    pub fn observe(&mut self, e: &BusEvent) {
        self.observe_wire(e, None);
    }

    /// [`Analyzer::observe`], a message's gossip numbered by its reading
    /// thread (`wire`, [`WireNumbers`]): the same analysis, fewer lookups.
    pub fn observe_wire(&mut self, e: &BusEvent, wire: Option<WireNumbers<'_>>) {
        if self.cfg.until_us.is_some_and(|u| e.ts_us > u) {
            return;
        }
        self.clock.first_event(e.ts_us);
        match (&e.kind, e.link) {
            (EventKind::Message(msg), Some(link)) => {
                self.clock.count(e.ts_us, e.capture);
                self.reading.message(e.ts_us, e.capture, msg.cut, msg.head_only);
                self.message(e.ts_us, e.frame, link, msg, wire);
            }
            (EventKind::Command { args }, Some(link)) => {
                if self.cfg.node_views {
                    self.tables.command(e.ts_us, &link, args);
                }
                self.command(e.ts_us, e.frame, &link, args);
            }
            (EventKind::StreamEnd { bus, bytes, reason, .. }, Some(link)) => {
                self.reading.stream_end(*bus, *bytes, &link);
                // The capture ending closes no server's link.
                if self.cfg.node_views && *reason != CloseReason::EndOfCapture {
                    self.tables.closed(&link);
                }
                let sender = self.conns.end(&self.cfg, e.ts_us, &link);
                if let (Some(n), CloseReason::Fin | CloseReason::Rst) = (sender, reason) {
                    self.liveness.closed(n, e.ts_us);
                }
            }
            (EventKind::Anomaly { kind, .. }, link) => {
                self.reading.anomaly(&self.cfg, e.ts_us, e.frame, kind, link.as_ref());
                *self.anomalies.entry(kind.to_string()).or_default() += 1;
            }
            (EventKind::Message(_) | EventKind::Command { .. } | EventKind::StreamEnd { .. }, None) => {}
        }
    }

    /// What the reading layers saw of capture `capture`'s packets (snaplen,
    /// tunnels), for the limits and the Captures section.
    pub fn capture_wire(&mut self, capture: usize, wire: CaptureWire) {
        self.reading.wire(capture, wire);
    }

    /// Ends the analysis.
    pub fn finish(self) -> Analysis {
        self.look()
    }

    /// The analysis so far; the run goes on (`watch`'s looks).
    pub fn look(&self) -> Analysis {
        build(Gathered {
            cfg: &self.cfg,
            nodes: &self.nodes,
            conns: &self.conns,
            knowledge: &self.knowledge,
            handshakes: &self.handshakes,
            intros: &self.intros,
            membership: &self.membership,
            roles: &self.roles,
            slot_views: &self.slot_views,
            clock: &self.clock,
            reading: &self.reading,
            identities: &self.identities,
            liveness: &self.liveness,
            findings: &self.findings,
            tracked: &self.tracked,
            anomalies: &self.anomalies,
        })
    }

    fn message(&mut self, ts: i64, frame: u64, link: Link, msg: &BusMessage, wire: Option<WireNumbers<'_>>) {
        // Offsets between captures need two captures.
        // (A header cut short is too alike its neighbours to match on.)
        if self.cfg.vantages.len() > 1 && !msg.head_only {
            self.clock.observe(ts, link.capture, msg);
        }
        let is_opener = dialled(&link, msg);
        // Light messages carry no sender: nothing to learn.
        let Some(sender) = msg.sender else { return };
        // Past the node bound, ids not tracked are ignored.
        let Some(msg) = self.tracked.admit_message(sender, msg, wire) else { return };
        // The reading thread's numbers fit only the message as it came.
        let wire = wire.filter(|_| matches!(msg, std::borrow::Cow::Borrowed(_)));
        let msg = &*msg;
        let at = Sent { ts, frame, link: &link, sender, is_opener };
        // A header cut short (snaplen) tells who sent what to whom and the
        // epochs, not the slots, role, flags or addresses.
        let whole = !msg.head_only;
        if self.cfg.node_views && whole {
            let rules = self.rules_of(&sender);
            self.tables.sent(&at, msg, rules);
        }
        if whole {
            self.header(&at, msg);
        } else {
            self.nodes.observe(&self.cfg, &at, msg);
        }
        if is_opener && whole {
            self.identities.sent(&self.cfg, ts, frame, &link, sender, msg);
        }
        let arrival = self.conns.arrive(&at, msg);
        let mut nums = std::mem::take(&mut self.numbers);
        if arrival.receiver.is_some() {
            for (p, rcv) in arrival.released {
                self.knowledge.number(&p.msg.gossip, None, &mut nums);
                self.received(p.ts, p.frame, &p.link, rcv, &p.msg, &nums);
            }
        }
        if let Some(a) = &arrival.answer {
            self.answered(a, ts, frame, link.capture);
        }
        self.knowledge.number(&msg.gossip, wire, &mut nums);
        if let Some(r) = arrival.receiver {
            self.received(ts, frame, &link, r, msg, &nums);
        }
        if whole {
            self.shown(&at, msg, &nums, arrival.receiver);
        }
        self.numbers = nums;
    }

    /// The table rules node `n` follows (its generation as its bytes so
    /// far show it, or the server version given).
    fn rules_of(&self, n: &NodeId) -> Rules {
        let generation = self.nodes.get(n).map_or(Generation::Redis40, |s| s.hints.generation());
        Rules::of(generation, self.cfg.server_version)
    }

    /// Header facts about the sender: state, addresses, roles, slots,
    /// epochs.
    fn header(&mut self, at: &Sent<'_>, m: &BusMessage) {
        let (s, capture) = (at.sender, at.link.capture);
        let prev = self.nodes.observe(&self.cfg, at, m);
        let role = (role_of(m.flags), m.replicaof);
        let h = RoleHeader { ts: at.ts, frame: at.frame, role };
        let transition = self.roles.observe(s, &h, prev.config_epoch);
        let committed_master = self.roles.is_master(&s);
        let header_master = role.0 == Role::Master;
        if let Some(t) = &transition {
            let evd = self.cfg.evidence(capture, t.frame);
            let knowledge = &self.knowledge;
            self.roles.record(s, t, m.config_epoch, evd, |n| knowledge.has_failed(&n), &mut self.findings);
        }
        if committed_master && header_master && transition.is_none() && m.config_epoch > prev.config_epoch && prev.seen
        {
            let evd = self.cfg.evidence(capture, at.frame);
            self.findings.push(roles::epoch_bump(s, at.ts, prev.config_epoch, m.config_epoch, evd));
        }
        // A master's own claim; a replica claims nothing of its own, and a
        // stray header disagreeing with the committed role keeps the claim.
        let claim: std::borrow::Cow<'_, [(u16, u16)]> = match (committed_master, header_master) {
            (true, true) => std::borrow::Cow::Borrowed(&m.slots),
            (true, false) | (false, true) => std::borrow::Cow::Owned(self.slots.claim_of(&s)),
            (false, false) => std::borrow::Cow::Borrowed(&[]),
        };
        let c = SlotClaim {
            ts: at.ts,
            node: s,
            config_epoch: m.config_epoch,
            slots: &claim,
            evidence: self.cfg.evidence(capture, at.frame),
        };
        self.slots.observe(c, &mut self.membership.groups, &mut self.findings);
        // The sender's own slot table: as a master it serves its claim; as
        // a replica it serves nothing, and its header carries its master's
        // claim (a stray header is not believed).
        let seen = Seen { ts: at.ts, evidence: self.cfg.evidence(capture, at.frame) };
        match (committed_master, header_master) {
            (true, true) => {
                let slots = &self.slots;
                self.slot_views.own(s, m.config_epoch, &m.slots, &seen, |slot| slots.best_claimant(slot, s));
            }
            (false, false) => {
                self.slot_views.replica(s, s, &seen);
                if let Some(master) = m.replicaof {
                    self.slot_views.claim(s, master, m.config_epoch, &m.slots, &seen);
                }
            }
            _ => {}
        }
    }

    /// An operator's `CLUSTER MEET` on a data port: kept for the MEET it
    /// will cause, or given to the MEET it caused if another capture
    /// showed that first.
    fn command(&mut self, ts: i64, frame: u64, link: &Link, args: &[String]) {
        let Some(c) = self.handshakes.command(ts, frame, link, args) else { return };
        let nodes = &self.nodes;
        let caused = |i: &Introduction| {
            i.address.as_ref().is_some_and(|a| {
                a.ip.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| c.caused(&ip, a.cport, nodes.get(&i.learner).map(|n| n.port), i.ts_us))
            })
        };
        if self.intros.attach_command(caused, &c.text, self.cfg.evidence(c.capture, c.frame)) {
            self.handshakes.used(c.capture, c.frame);
        }
    }

    /// A message reached node `r`.
    /// `nums`: the numbers of `m`'s gossip ([`Knowledge::number`]).
    fn received(&mut self, ts: i64, frame: u64, link: &Link, r: NodeId, m: &BusMessage, nums: &[(u32, u32)]) {
        let Some(s) = m.sender.filter(|&s| s != r) else { return };
        if self.cfg.node_views && !m.head_only {
            let on = Sent { ts, frame, link, sender: s, is_opener: dialled(link, m) };
            let rules = self.rules_of(&r);
            self.tables.received(&on, r, m, self.intros.knows(r, s), rules);
        }
        let evd = self.cfg.evidence(link.capture, frame);
        match m.msg_type {
            MessageType::FAILOVER_AUTH_REQUEST => {
                self.liveness.requested(s, r, m.current_epoch, m.replicaof, ts, &evd);
            }
            MessageType::FAILOVER_AUTH_ACK => self.liveness.voted(r, s, m.current_epoch),
            _ => {}
        }
        // r records the sender at the TCP source (or myip) and the header
        // ports.
        let ip = if m.announced.ip.is_empty() { self.ip_texts.of(link.src.ip) } else { m.announced.ip.clone() };
        // A MEET from an unknown sender (or that MEET seen from another
        // capture: it adds its evidence; its gossip was not heard either).
        if m.msg_type == MessageType::MEET && (!self.intros.knows(r, s) || self.intros.same_fact(r, s, Via::Meet, ts)) {
            let addr = node_addr(ip.clone(), m.announced.port, m.announced.cport);
            self.introduce(introductions::meet(ts, r, s, addr, evd.clone()));
            if self.nodes.get(&r).is_some_and(|n| n.hints.valkey8()) {
                for g in &m.gossip {
                    let first = !self.intros.knows(r, g.node) || self.intros.same_fact(r, g.node, Via::MeetGossip, ts);
                    if g.node != r && first && g.flags & NodeFlags::NOADDR == 0 {
                        let intro = introductions::meet_gossip(ts, r, s, g.node, g.addr.clone(), evd.clone());
                        self.introduce(intro);
                    }
                }
            }
            return;
        }
        // A PING on the sender's own connection moves the sender's address
        // to the TCP source (or myip) in the receiver's table (rule 9f).
        if m.head_only {
            return;
        }
        if m.msg_type == MessageType::PING && link.from_initiator != Some(false) {
            let addr = NodeAddr { ip, port: m.announced.port, cport: m.announced.cport, pport: m.announced.pport };
            self.knowledge.expect_from_ping(r, s, addr, ts, &evd);
        }
        // Servers ignore gossip and claims from unknown senders.
        if self.intros.knows(r, s) {
            self.knowledge.hear(r, s, &m.gossip, nums, ts, &evd);
            let seen = Seen { ts, evidence: evd };
            if m.flags & NodeFlags::SLAVE != 0 {
                self.slot_views.replica(r, s, &seen);
            } else if m.flags & NodeFlags::MASTER != 0 {
                self.slot_views.claim(r, s, m.config_epoch, &m.slots, &seen);
            }
            if let Some((owner, epoch, slots)) = &m.update {
                self.slot_views.claim(r, *owner, *epoch, slots, &seen);
            }
        }
    }

    /// The first answer on a connection: who dialled, who answered.
    fn answered(&mut self, a: &Answer, ts: i64, frame: u64, capture: usize) {
        self.reading.bus_port(a.responder_ep.ip.to_string(), a.responder_ep.port);
        let cx =
            HandshakeContext { cfg: &self.cfg, nodes: &self.nodes, knowledge: &self.knowledge, intros: &self.intros };
        if let Some(intro) = self.handshakes.answered(&cx, a, ts, frame, capture) {
            self.introduce(intro);
        }
    }

    /// Knowledge the sender shows by what it sends: without a handshake
    /// seen, it learned those nodes by gossip or before the capture.
    fn shown(&mut self, at: &Sent<'_>, m: &BusMessage, nums: &[(u32, u32)], receiver: Option<NodeId>) {
        let (ts, s, evd) = (at.ts, at.sender, self.cfg.evidence(at.link.capture, at.frame));
        for g in m.gossip.iter().filter(|g| g.flags & (NodeFlags::PFAIL | NodeFlags::FAIL) != 0 && g.node != s) {
            let last_seen = self.nodes.get(&g.node).filter(|n| n.seen).map(|n| n.last_seen);
            self.liveness.suspected(g.node, s, ts, last_seen);
        }
        let mut shown = std::mem::take(&mut self.shown_buf);
        self.knowledge.shown(ts, s, m, nums, &evd, &mut self.findings, &mut shown, receiver);
        if self.knowledge.skips_receivers(&s) {
            self.nodes.skips_receiver(&s);
        }
        let mut me = self.intros.learner_number(s);
        for &n in &shown {
            if n != s && !self.intros.of_number(me).knows(n) {
                self.learn_from_hearsay(ts, s, n, &evd);
                // s may have been numbered by that introduction.
                me = self.intros.learner_number(s);
            }
        }
        self.shown_buf = shown;
    }

    fn learn_from_hearsay(&mut self, ts: i64, l: NodeId, n: NodeId, evd: &Evidence) {
        // Shown soon after n answered a dial of l's for another node: l
        // adopted n there.
        if self.knowledge.heard_node(&l, &n).is_none()
            && let Some(((_, named, _, _), m)) = self.handshakes.adopted(l, n, ts)
        {
            let introducer = self.knowledge.heard_addr(&l, &m.address.ip, m.address.cport).map(|h| h.introducer);
            let dial = introductions::AnsweredDial {
                ts: m.ts,
                learner: l,
                answered_by: n,
                address: m.address.clone(),
                evidence: [evd.clone(), evd.clone()],
            };
            let intro = introductions::adoption(dial, named, introducer, m.evidence.clone(), evd.clone());
            self.introduce(intro);
            return;
        }
        // Shown within the first seconds of seeing the learner, about a node
        // not watched for long either: it knew the node before the capture.
        // Later, or about a node the capture had been watching (whose
        // gossip would have named the learner): through traffic not
        // captured, at about this time.
        let fresh = |x: &NodeId| {
            self.nodes.get(x).is_none_or(|s| !s.seen || ts - s.first_seen <= PRIOR_WINDOW_US)
                && !self.knowledge.watched_long(x)
        };
        let prior = fresh(&l) && fresh(&n);
        let heard = self.knowledge.heard_node(&l, &n);
        let intro = introductions::hearsay(ts, l, n, heard.as_ref(), prior, evd.clone());
        self.introduce(intro);
    }

    /// Records a first introduction and updates the groups.
    fn introduce(&mut self, intro: Introduction) {
        let (ts, l, n, prior) = (intro.ts_us, intro.learner, intro.node, intro.via == Via::Prior);
        if let Some(idx) = self.intros.record(intro) {
            self.membership.introduced(ts, l, n, idx, prior, &self.nodes);
        }
    }
}

/// Whether the sender of `m` opened its connection (a PONG answers, when
/// the SYN was not captured).
fn dialled(link: &Link, m: &BusMessage) -> bool {
    link.from_initiator.unwrap_or(m.msg_type != MessageType::PONG)
}
