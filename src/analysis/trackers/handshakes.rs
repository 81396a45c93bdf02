//! Handshakes: operator `CLUSTER MEET` commands seen on data ports, and the
//! first answer on every bus connection: who answers at each address (per
//! vantage), answers by another node than the dialler expected (gossip or PING
//! source said otherwise), and the introduction a dial makes (operator MEET,
//! blind MEET handshake, gossip-add check).

use super::connections::Answer;
use super::introductions::{self, AnsweredDial, Introductions};
use super::knowledge::{Heard, Knowledge};
use super::nodes::{Nodes, node_addr};
use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{DialKind, Evidence, Introduction, NodeAddr, NodeId};
use crate::clusterbus::MessageType;
use crate::events::Link;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// How long an operator command may precede the MEET it caused.
pub const COMMAND_WINDOW_US: i64 = 5_000_000;
/// How far two captures' clocks may still disagree after alignment: a
/// command captured on one host may seem to follow the MEET it caused as
/// another host captured it by this much.
pub const CLOCK_SLACK_US: i64 = 50_000;
/// A dialler showing it knows the node that answered its dial this soon
/// after adopted it.
const ADOPTION_WINDOW_US: i64 = 10_000_000;
/// Evidence kept per (address, answering node).
const ANSWER_EVIDENCE_CAP: usize = 4;

/// A `CLUSTER MEET ip port [cport]` seen on a data port.
#[derive(Clone, Debug)]
pub struct OpCommand {
    pub ts: i64,
    pub capture: usize,
    pub frame: u64,
    /// Data port of the node it was sent to.
    pub data_port: u16,
    pub target_ip: String,
    pub target_bus_port: u16,
    pub text: String,
}

impl OpCommand {
    /// Whether a MEET to `ip:bus_port` by the node listening on data port
    /// `dialler_port`, first sent at `ts`, is the one this command caused
    /// (whichever capture saw it).
    pub fn caused(&self, ip: &IpAddr, bus_port: u16, dialler_port: Option<u16>, ts: i64) -> bool {
        self.target_bus_port == bus_port
            && (self.target_ip == ip.to_string() || self.target_ip.parse::<IpAddr>().ok() == Some(*ip))
            && dialler_port == Some(self.data_port)
            && ts + CLOCK_SLACK_US >= self.ts
            && ts - self.ts < COMMAND_WINDOW_US
    }
}

/// Who answered at one address: first ts, vantages, evidence.
pub type Answered = (i64, BTreeSet<String>, Vec<Evidence>);

/// An answer by another node than the dialler expected.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub ts: i64,
    pub last_ts: i64,
    /// Dials answered by the other node.
    pub count: u64,
    /// What told the dialler, the dial, the answer.
    pub evidence: Vec<Evidence>,
    pub dial: DialKind,
    /// Where the dial went.
    pub address: NodeAddr,
}

/// (dialler, node expected, node that answered, the address as text: it
/// orders the mismatches as they are listed).
pub type MismatchKey = (NodeId, NodeId, NodeId, String);

#[derive(Clone, Debug, Default)]
pub struct Handshakes {
    commands: Vec<OpCommand>,
    /// `ip:cport` → answering node → first answer.
    answers: BTreeMap<String, BTreeMap<NodeId, Answered>>,
    mismatches: BTreeMap<MismatchKey, Mismatch>,
    /// How each node dialled an address it had from gossip (not an
    /// operator's command): MEET (a blind handshake) once seen wins over
    /// PING; the first dial of that kind as evidence.
    gossip_dials: BTreeMap<NodeId, (DialKind, Evidence)>,
}

impl Handshakes {
    /// A command decoded from a data port (`CLUSTER MEET` is kept, and
    /// returned: the MEET it caused may already have been seen, from
    /// another capture).
    pub fn command(&mut self, ts: i64, frame: u64, link: &Link, args: &[String]) -> Option<OpCommand> {
        if args.len() < 4 || !args[1].eq_ignore_ascii_case("meet") {
            return None;
        }
        let port = args[3].parse::<u16>().ok()?;
        let bus = args.get(4).and_then(|p| p.parse::<u16>().ok()).unwrap_or(port.wrapping_add(10000));
        let c = OpCommand {
            ts,
            capture: link.capture,
            frame,
            data_port: link.dst.port,
            target_ip: args[2].clone(),
            target_bus_port: bus,
            text: args.join(" "),
        };
        self.commands.push(c.clone());
        self.commands.retain(|c| ts - c.ts < COMMAND_WINDOW_US * 4);
        Some(c)
    }

    /// A command that turned out to have caused a MEET seen before it.
    pub fn used(&mut self, capture: usize, frame: u64) {
        self.commands.retain(|c| (c.capture, c.frame) != (capture, frame));
    }

    /// The first answer on a connection. Records who answers there and
    /// any mismatch with what the dialler expected; returns the
    /// introduction the dial makes, if it is a first one.
    pub fn answered(
        &mut self,
        cx: &HandshakeContext<'_>,
        a: &Answer,
        ts: i64,
        frame: u64,
        capture: usize,
    ) -> Option<Introduction> {
        let (l, w, dst) = (a.opener, a.responder, a.responder_ep);
        let evd_dial = cx.cfg.evidence(capture, a.first_frame);
        let evd_ans = cx.cfg.evidence(capture, frame);
        let dst_ip = dst.ip.to_string();
        let address = node_addr(dst.ip, cx.nodes.get(&w).map_or(0, |n| n.port), dst.port);
        let by = self.answers.entry(format!("{dst_ip}:{}", dst.port)).or_default();
        let e = by.entry(w).or_insert((ts, BTreeSet::new(), Vec::new()));
        e.1.insert(cx.cfg.vantage(capture));
        if e.2.len() < ANSWER_EVIDENCE_CAP {
            e.2.push(evd_ans.clone());
        }
        let heard = cx.knowledge.heard_addr(&l, &dst_ip, dst.port);
        // Whichever told the dialler most recently what lives there.
        let pinged = cx.knowledge.expected_addr(&l, &dst_ip, dst.port);
        let expected = match (heard.as_ref(), pinged.as_ref()) {
            (Some(h), Some(p)) => Some(if p.ts > h.ts { p } else { h }),
            (h, p) => h.or(p),
        };
        if let Some(h) = expected
            && h.node != w
            && l != w
        {
            let dial = if a.first_type == MessageType::MEET { DialKind::BlindMeet } else { DialKind::GossipAdd };
            let m = self.mismatches.entry((l, h.node, w, address.to_string())).or_insert(Mismatch {
                ts,
                last_ts: ts,
                count: 0,
                evidence: Vec::new(),
                dial,
                address: address.clone(),
            });
            m.count += 1;
            m.last_ts = ts;
            if m.evidence.is_empty() {
                m.evidence = vec![h.evidence.clone(), evd_dial.clone(), evd_ans.clone()];
            }
        }
        // Who dialled a gossiped address, and how (`audit`'s evidence of
        // blind handshakes), when no operator command caused the dial.
        if heard.is_some() && self.command_for(cx, a).is_none() {
            let kind = if a.first_type == MessageType::MEET { DialKind::BlindMeet } else { DialKind::GossipAdd };
            self.note_gossip_dial(l, kind, &evd_dial);
        }
        // A dialler that knows the node already: no first introduction,
        // but the same dial seen from another capture adds its evidence
        // to the first (`Introductions::record`).
        let d = AnsweredDial { ts: a.first_ts, learner: l, answered_by: w, address, evidence: [evd_dial, evd_ans] };
        if a.first_type == MessageType::MEET {
            // Handshake: the dialler adopts whoever answers; only the
            // reason differs.
            let cmd = self.command_for(cx, a);
            return Some(match (cmd, heard.as_ref()) {
                (Some(i), _) => {
                    let c = self.commands.remove(i);
                    introductions::operator_meet(d, Some((c.text, cx.cfg.evidence(c.capture, c.frame))))
                }
                (None, Some(h)) => introductions::gossip_handshake(d, h),
                (None, None) => introductions::operator_meet(d, None),
            });
        }
        // Gossip-add (5.0.10+): the node was added under the gossiped id;
        // this PING only checks the address. Whoever answers, the learner
        // now knows the gossiped node.
        heard
            .as_ref()
            .filter(|h| h.node == w || !cx.intros.knows(l, h.node))
            .map(|h: &Heard| introductions::gossip_add(d, h))
    }

    /// The operator's `CLUSTER MEET` that made this dial, if one was seen.
    fn command_for(&self, cx: &HandshakeContext<'_>, a: &Answer) -> Option<usize> {
        let dst = a.responder_ep;
        let dialler_port = cx.nodes.get(&a.opener).map(|n| n.port);
        self.commands.iter().position(|c| c.caused(&dst.ip, dst.port, dialler_port, a.first_ts))
    }

    /// `l` dialled a gossiped address beginning with `kind`.
    fn note_gossip_dial(&mut self, l: NodeId, kind: DialKind, evd: &Evidence) {
        match self.gossip_dials.get(&l) {
            Some((DialKind::BlindMeet, _)) => {}
            Some((_, _)) if kind != DialKind::BlindMeet => {}
            _ => {
                self.gossip_dials.insert(l, (kind, evd.clone()));
            }
        }
    }

    /// How `l` dials addresses it has from gossip, as the capture showed.
    pub fn gossip_dial(&self, l: &NodeId) -> Option<&(DialKind, Evidence)> {
        self.gossip_dials.get(l)
    }

    pub fn answers(&self) -> &BTreeMap<String, BTreeMap<NodeId, Answered>> {
        &self.answers
    }

    pub fn mismatches(&self) -> &BTreeMap<MismatchKey, Mismatch> {
        &self.mismatches
    }

    /// `l` shows at `ts` that it knows `w`, which answered a dial of `l`'s
    /// for another node shortly before: the dial adopted it (a handshake
    /// retried with PING). Marks the mismatch and returns it with its key.
    pub fn adopted(&mut self, l: NodeId, w: NodeId, ts: i64) -> Option<(MismatchKey, Mismatch)> {
        let (key, m) = self
            .mismatches
            .iter_mut()
            .filter(|((d, _, a, _), m)| *d == l && *a == w && ts >= m.ts && ts - m.ts <= ADOPTION_WINDOW_US)
            .min_by_key(|(_, m)| m.ts)?;
        if m.dial == DialKind::GossipAdd {
            m.dial = DialKind::AdoptedAfterPing;
        }
        Some((key.clone(), m.clone()))
    }
}

/// What a handshake decision reads from the other rooms.
pub struct HandshakeContext<'a> {
    pub cfg: &'a AnalysisConfig,
    pub nodes: &'a Nodes,
    pub knowledge: &'a Knowledge,
    pub intros: &'a Introductions,
}
