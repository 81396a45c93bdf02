//! The streaming state machine behind [`Analyzer`].
#![allow(clippy::type_complexity)] // tuple-keyed maps of evidence are clearer inline than behind aliases

use super::AnalysisConfig;
use super::merge::Groups;
use super::model::*;
use crate::clusterbus::types::format_slot_ranges;
use crate::clusterbus::{MessageType, NodeFlags};
use crate::decode::Endpoint;
use crate::events::{BusEvent, BusMessage, EventKind, Link, NodeAddr, NodeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

/// How long an operator command may precede the MEET it caused.
const COMMAND_WINDOW_US: i64 = 5_000_000;
/// Messages kept per connection while its other side is unidentified.
const PENDING_CAP: usize = 64;
/// A "short" connection for handshake-flapping detection.
const SHORT_CONN_US: i64 = 2_000_000;
/// Knowledge shown this soon after a node is first seen predates the
/// capture.
const PRIOR_WINDOW_US: i64 = 5_000_000;
/// Window of the fingerprint table used for clock offsets.
const FINGERPRINT_WINDOW_US: i64 = 30_000_000;

/// What one node's headers said.
#[derive(Clone, Debug, Default)]
struct NodeState {
    first_seen: i64,
    last_seen: i64,
    ver: u16,
    flags_first: u16,
    flags_last: u16,
    gen_hints: BTreeSet<&'static str>,
    replicaof: Option<NodeId>,
    slots_first: Option<Vec<(u16, u16)>>,
    slots_last: Vec<(u16, u16)>,
    cfg_first: Option<u64>,
    cfg_last: u64,
    current_epoch: u64,
    hostname: Option<String>,
    role_committed: Option<(&'static str, Option<NodeId>)>,
    role_pending: Option<((&'static str, Option<NodeId>), i64, u64, u64)>,
    /// (capture, ip, port, role) endpoints already recorded.
    seen_eps: std::collections::HashSet<(usize, std::net::IpAddr, u16, u8)>,
    last_announced: String,
    /// Last header said the cluster state is OK.
    state_ok: bool,
    port: u16,
    cport: u16,
    addresses: BTreeMap<(String, String, String), (i64, u64)>,
    listening: BTreeSet<(usize, String)>,
    seen: bool,
}

/// What a learner heard about a node or an address through gossip.
#[derive(Clone, Debug)]
struct Heard {
    ts: i64,
    introducer: NodeId,
    node: NodeId,
    addr: NodeAddr,
    evidence: Evidence,
}

/// Per-learner memory.
#[derive(Clone, Debug, Default)]
struct Learner {
    heard_node: HashMap<NodeId, Heard>,
    heard_addr: HashMap<(String, u16), Heard>,
    /// Addresses the learner moved a node to because of that node's own
    /// PINGs (TCP source address); used only to spot who answers there.
    expected_addr: HashMap<(String, u16), Heard>,
    /// The learner's own view of peers (from its gossip): addr, flags.
    peers: BTreeMap<NodeId, (NodeAddr, u16, i64)>,
}

#[derive(Clone, Debug)]
struct Pending {
    ts: i64,
    frame: u64,
    capture: usize,
    link: Link,
    msg: Box<BusMessage>,
}

/// One TCP connection as seen by one capture.
#[derive(Clone, Debug, Default)]
struct Conn {
    opener: Option<NodeId>,
    responder: Option<NodeId>,
    opener_ep: Option<Endpoint>,
    responder_ep: Option<Endpoint>,
    first_type: Option<MessageType>,
    first_ts: i64,
    first_frame: u64,
    opener_ver: u16,
    answered: bool,
    pending: Vec<Pending>,
    messages: u32,
    closed: bool,
}

#[derive(Clone, Debug)]
struct OpCommand {
    ts: i64,
    capture: usize,
    frame: u64,
    data_port: u16,
    target_ip: String,
    target_bus_port: u16,
    text: String,
}

#[derive(Clone, Debug)]
struct PendingMerge {
    ts: i64,
    sides: Vec<Vec<NodeId>>,
    link: usize,
}

/// Consumes events; `finish` yields the [`Analysis`].
pub struct Analyzer {
    cfg: AnalysisConfig,
    nodes: BTreeMap<NodeId, NodeState>,
    learners: HashMap<NodeId, Learner>,
    conns: HashMap<(usize, u64), Conn>,
    commands: Vec<OpCommand>,
    intros: Vec<Introduction>,
    intro_ids: Vec<(NodeId, NodeId)>,
    known: HashMap<(NodeId, NodeId), usize>,
    groups: Groups,
    joins: Vec<Join>,
    merges: Vec<PendingMerge>,
    findings: Vec<Finding>,
    /// address → node → (first ts, vantages, evidence)
    answers: BTreeMap<String, BTreeMap<NodeId, (i64, BTreeSet<String>, Vec<Evidence>)>>,
    /// Gossip said node N at address A, A answered W ≠ N: (dialler, N, W,
    /// address) → (first ts, evidence).
    mismatches: BTreeMap<(NodeId, NodeId, NodeId, String), (i64, Vec<Evidence>, bool)>,
    /// Unions of groups in time order (for clusters at any moment).
    unions: Vec<(i64, NodeId, NodeId)>,
    /// First time a node joined an already healthy cluster: the end of
    /// cluster creation.
    first_healthy_join: Option<i64>,
    /// (dialer, address) → short connections (ts, evidence)
    short_conns: BTreeMap<(NodeId, String), Vec<(i64, Evidence)>>,
    /// node → source IPs seen per vantage
    sources: BTreeMap<NodeId, BTreeMap<(String, String), (i64, Evidence)>>,
    /// Each node's own slot claim (empty when replica) and configEpoch.
    own_claims: BTreeMap<NodeId, (u64, Vec<(u16, u16)>)>,
    claim_checked: HashMap<NodeId, (u64, usize, Option<(u16, u16)>, usize)>,
    collisions_reported: BTreeSet<(NodeId, NodeId, u64)>,
    slot_moves: Vec<SlotMove>,
    role_changes: Vec<RoleChange>,
    failed_reported: BTreeMap<NodeId, i64>,
    fail_times: BTreeMap<NodeId, i64>,
    fingerprints: HashMap<u64, (usize, i64)>,
    offsets: BTreeMap<(usize, usize), Vec<i64>>,
    capture_msgs: BTreeMap<usize, (i64, i64, u64)>,
    anomalies: BTreeMap<String, u64>,
    update_count: BTreeMap<(NodeId, NodeId), (i64, u64, Evidence)>,
    conflicts_reported: BTreeSet<(NodeId, NodeId)>,
}

fn ev(cfg: &AnalysisConfig, capture: usize, frame: u64) -> Evidence {
    Evidence { capture: cfg.vantages.get(capture).cloned().unwrap_or_else(|| format!("#{capture}")), frame }
}

fn id_s(n: &NodeId) -> String {
    n.as_str().into_owned()
}

fn role_of(flags: u16) -> &'static str {
    if flags & NodeFlags::SLAVE != 0 {
        "replica"
    } else if flags & NodeFlags::MASTER != 0 {
        "master"
    } else {
        "unknown"
    }
}

/// `ip:port@cport` of a node as it states itself (V0: port + 10000).
fn addr_string(ip: &str, port: u16, cport: u16) -> String {
    if ip.contains(':') { format!("[{ip}]:{port}@{cport}") } else { format!("{ip}:{port}@{cport}") }
}

fn ep_ip(e: &Endpoint) -> String {
    e.ip.to_string()
}

fn expand(ranges: &[(u16, u16)]) -> impl Iterator<Item = u16> + '_ {
    ranges.iter().flat_map(|&(a, b)| a..=b)
}

fn ranges_of(slots: &[u16]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &s in slots {
        match out.last_mut() {
            Some(r) if r.1 + 1 == s => r.1 = s,
            _ => out.push((s, s)),
        }
    }
    out
}

impl Analyzer {
    pub fn new(cfg: AnalysisConfig) -> Self {
        Analyzer {
            cfg,
            nodes: BTreeMap::new(),
            learners: HashMap::new(),
            conns: HashMap::new(),
            commands: Vec::new(),
            intros: Vec::new(),
            intro_ids: Vec::new(),
            known: HashMap::new(),
            groups: Groups::default(),
            joins: Vec::new(),
            merges: Vec::new(),
            findings: Vec::new(),
            answers: BTreeMap::new(),
            mismatches: BTreeMap::new(),
            unions: Vec::new(),
            first_healthy_join: None,
            short_conns: BTreeMap::new(),
            sources: BTreeMap::new(),
            own_claims: BTreeMap::new(),
            claim_checked: HashMap::new(),
            collisions_reported: BTreeSet::new(),
            slot_moves: Vec::new(),
            role_changes: Vec::new(),
            failed_reported: BTreeMap::new(),
            fail_times: BTreeMap::new(),
            fingerprints: HashMap::new(),
            offsets: BTreeMap::new(),
            capture_msgs: BTreeMap::new(),
            anomalies: BTreeMap::new(),
            update_count: BTreeMap::new(),
            conflicts_reported: BTreeSet::new(),
        }
    }

    fn vantage(&self, capture: usize) -> String {
        self.cfg.vantages.get(capture).cloned().unwrap_or_else(|| format!("#{capture}"))
    }

    fn evidence(&self, capture: usize, frame: u64) -> Evidence {
        ev(&self.cfg, capture, frame)
    }

    /// Feeds one event. Events should come roughly in capture-time order
    /// (as the pipeline produces them).
    pub fn push(&mut self, e: BusEvent) {
        if self.cfg.until_us.is_some_and(|u| e.ts_us > u) {
            return;
        }
        match e.kind {
            EventKind::Message(msg) => {
                let Some(link) = e.link else { return };
                let c = self.capture_msgs.entry(e.capture).or_insert((e.ts_us, e.ts_us, 0));
                c.0 = c.0.min(e.ts_us);
                c.1 = c.1.max(e.ts_us);
                c.2 += 1;
                self.message(e.ts_us, e.frame, e.capture, link, msg);
            }
            EventKind::Command { args } => {
                if let Some(link) = e.link {
                    self.command(e.ts_us, e.frame, e.capture, link, &args);
                }
            }
            EventKind::StreamEnd { .. } => {
                if let Some(link) = e.link {
                    self.stream_end(e.ts_us, e.frame, e.capture, link);
                }
            }
            EventKind::Anomaly { kind, .. } => *self.anomalies.entry(kind.to_string()).or_default() += 1,
        }
    }

    fn command(&mut self, ts: i64, frame: u64, capture: usize, link: Link, args: &[String]) {
        let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
        if lower.len() >= 4 && lower[1] == "meet" {
            let Ok(port) = args[3].parse::<u16>() else {
                return;
            };
            let bus = args.get(4).and_then(|p| p.parse::<u16>().ok()).unwrap_or(port.wrapping_add(10000));
            self.commands.push(OpCommand {
                ts,
                capture,
                frame,
                data_port: link.dst.port,
                target_ip: args[2].clone(),
                target_bus_port: bus,
                text: args.join(" "),
            });
            self.commands.retain(|c| ts - c.ts < COMMAND_WINDOW_US * 4);
        }
    }

    fn touch_node(&mut self, id: NodeId, ts: i64) -> &mut NodeState {
        let n = self.nodes.entry(id).or_default();
        if !n.seen {
            n.seen = true;
            n.first_seen = ts;
        }
        n.last_seen = n.last_seen.max(ts);
        n
    }

    fn fingerprint(msg: &BusMessage) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        msg.sender.hash(&mut h);
        msg.msg_type.0.hash(&mut h);
        msg.totlen.hash(&mut h);
        msg.current_epoch.hash(&mut h);
        msg.config_epoch.hash(&mut h);
        msg.repl_offset.hash(&mut h);
        for g in &msg.gossip {
            g.node.hash(&mut h);
            g.ping_sent.hash(&mut h);
            g.pong_received.hash(&mut h);
            g.flags.hash(&mut h);
        }
        h.finish()
    }

    fn clock(&mut self, ts: i64, capture: usize, msg: &BusMessage) {
        if msg.gossip.is_empty() {
            return;
        }
        let fp = Self::fingerprint(msg);
        match self.fingerprints.get(&fp) {
            Some(&(c, t)) if c != capture && (ts - t).abs() < FINGERPRINT_WINDOW_US => {
                let (a, b, d) = if c < capture { (c, capture, ts - t) } else { (capture, c, t - ts) };
                let v = self.offsets.entry((a, b)).or_default();
                if v.len() < 10_000 {
                    v.push(d);
                }
            }
            Some(_) => {}
            None => {
                self.fingerprints.insert(fp, (capture, ts));
            }
        }
        if self.fingerprints.len() > 200_000 {
            self.fingerprints.retain(|_, (_, t)| ts - *t < FINGERPRINT_WINDOW_US);
        }
    }

    fn message(&mut self, ts: i64, frame: u64, capture: usize, link: Link, msg: Box<BusMessage>) {
        self.clock(ts, capture, &msg);
        let key = (capture, link.conn_id);
        let is_opener = match link.from_initiator {
            Some(b) => b,
            None => msg.msg_type != MessageType::PONG,
        };
        let Some(sender) = msg.sender else {
            // Light messages carry no sender: nothing to learn.
            return;
        };
        self.header(ts, frame, capture, &link, is_opener, sender, &msg);
        let conn = self.conns.entry(key).or_default();
        conn.messages += 1;
        let mut answered_now = false;
        if is_opener {
            if conn.opener.is_none() {
                conn.opener = Some(sender);
                conn.opener_ep = Some(link.src);
                conn.responder_ep = Some(link.dst);
                conn.first_type = Some(msg.msg_type);
                conn.first_ts = ts;
                conn.first_frame = frame;
                conn.opener_ver = msg.ver;
            }
        } else if conn.responder.is_none() {
            conn.responder = Some(sender);
            if conn.responder_ep.is_none() {
                conn.responder_ep = Some(link.src);
                conn.opener_ep = Some(link.dst);
            }
            answered_now = conn.opener.is_some() && !conn.answered;
            if answered_now {
                conn.answered = true;
            }
        }
        let receiver = if is_opener { conn.responder } else { conn.opener };
        let flush: Vec<Pending> = if conn.responder.is_some() && conn.opener.is_some() && !conn.pending.is_empty() {
            std::mem::take(&mut conn.pending)
        } else {
            Vec::new()
        };
        match receiver {
            Some(r) => {
                for p in flush {
                    let rcv = if p.link.src == link.src { receiver } else { Some(sender) };
                    if let Some(rcv) = rcv {
                        self.received(p.ts, p.frame, p.capture, &p.link, rcv, &p.msg);
                    }
                }
                if answered_now {
                    self.answered(key, ts, frame, capture);
                }
                self.received(ts, frame, capture, &link, r, &msg);
            }
            None => {
                let conn = self.conns.entry(key).or_default();
                if conn.pending.len() < PENDING_CAP {
                    conn.pending.push(Pending { ts, frame, capture, link, msg: msg.clone() });
                }
                if answered_now {
                    self.answered(key, ts, frame, capture);
                }
            }
        }
        self.shown(ts, frame, capture, sender, &msg);
    }

    /// Header facts about the sender: state, addresses, roles, slots, epochs.
    #[allow(clippy::too_many_arguments)]
    fn header(&mut self, ts: i64, frame: u64, capture: usize, link: &Link, is_opener: bool, s: NodeId, m: &BusMessage) {
        let n = self.touch_node(s, ts);
        n.ver = m.ver;
        n.port = m.announced.port;
        n.cport = m.announced.cport;
        if n.cfg_first.is_none() {
            n.cfg_first = Some(m.config_epoch);
            n.flags_first = m.flags;
            n.slots_first = Some(m.slots.clone());
        }
        let prev_cfg = n.cfg_last;
        let prev_cfg_seen = n.flags_last != 0;
        // Roles are debounced: messages of one node travel on several
        // connections and can arrive out of order, so a new role counts once
        // two headers in a row say so. (role, replicaof) of this header:
        let role = (role_of(m.flags), m.replicaof);
        let mut cfg_before = prev_cfg;
        let mut transition: Option<((&'static str, Option<NodeId>), (&'static str, Option<NodeId>), i64, u64)> = None;
        match n.role_committed {
            None => n.role_committed = Some(role),
            Some(c) if c == role => n.role_pending = None,
            Some(c) => match n.role_pending {
                Some((p, pts, pframe, pcfg)) if p == role => {
                    transition = Some((c, role, pts, pframe));
                    cfg_before = pcfg;
                    n.role_committed = Some(role);
                    n.role_pending = None;
                }
                _ => n.role_pending = Some((role, ts, frame, prev_cfg)),
            },
        }
        let committed_master = n.role_committed.is_some_and(|(r, _)| r == "master");
        let header_master = role.0 == "master";
        n.flags_last = m.flags;
        n.replicaof = m.replicaof;
        if n.slots_last != m.slots {
            n.slots_last = m.slots.clone();
        }
        n.cfg_last = m.config_epoch;
        n.current_epoch = m.current_epoch;
        n.state_ok = m.state == 0;
        if m.hostname.is_some() {
            n.hostname = m.hostname.clone();
        }
        let hints = &mut n.gen_hints;
        if m.ver == 0 {
            hints.insert("ver0");
        }
        if !m.ext_types.is_empty() {
            hints.insert("ext");
        }
        if m.shard_id.is_some() {
            hints.insert("shardid");
        }
        if m.flags & 0x0800 != 0 {
            hints.insert("valkey8");
        }
        if m.flags & 0x1000 != 0 {
            hints.insert("valkey81");
        }
        if m.flags & 0x0400 != 0 {
            hints.insert("valkey91");
        }
        if m.announced.pport != 0 {
            hints.insert("pport");
        }
        if m.ext_types.iter().any(|&t| t >= 6) {
            hints.insert("valkey91");
        }
        // Addresses: strings are built only the first time a (capture,
        // endpoint, role) is seen.
        let how: u8 = if is_opener { 1 } else { 2 };
        let fresh_ep = n.seen_eps.insert((capture, link.src.ip, if is_opener { 0 } else { link.src.port }, how));
        let fresh_announced = !m.announced.ip.is_empty() && n.last_announced != m.announced.ip;
        if fresh_announced {
            n.last_announced = m.announced.ip.clone();
        }
        if fresh_ep || fresh_announced {
            let vantage = self.vantage(capture);
            let evd = self.evidence(capture, frame);
            let Some(n) = self.nodes.get_mut(&s) else { return };
            if fresh_announced {
                let a = addr_string(&m.announced.ip, m.announced.port, m.announced.cport);
                n.addresses.entry((a, "announced".into(), vantage.clone())).or_insert((ts, frame));
            }
            if fresh_ep && is_opener {
                n.addresses.entry((ep_ip(&link.src), "source".into(), vantage.clone())).or_insert((ts, frame));
                self.sources.entry(s).or_default().entry((vantage, ep_ip(&link.src))).or_insert((ts, evd));
            } else if fresh_ep {
                let a = addr_string(&ep_ip(&link.src), m.announced.port, link.src.port);
                n.addresses.entry((a, "listening".into(), vantage)).or_insert((ts, frame));
                n.listening.insert((capture, ep_ip(&link.src)));
            }
        }

        // Role changes (committed ones).
        if let Some(((from, from_of), (to, to_of), pts, pframe)) = transition {
            let pevd = self.evidence(capture, pframe);
            let rc = RoleChange {
                ts_us: pts,
                node: id_s(&s),
                from: from.to_string(),
                to: to.to_string(),
                replicaof: to_of.map(|r| id_s(&r)),
                evidence: vec![pevd.clone()],
            };
            let summary = match &to_of {
                Some(r) => format!("{} {from} → {to} of {}", s.short(), r.short()),
                None => format!("{} {from} → {to}", s.short()),
            };
            let mut nodes = vec![id_s(&s)];
            if let Some(r) = &to_of {
                nodes.push(id_s(r));
            }
            self.findings.push(Finding {
                kind: "role_change".into(),
                ts_us: pts,
                nodes,
                addresses: vec![],
                summary,
                evidence: vec![pevd.clone()],
            });
            // A replica promoted with a new configEpoch: a failover.
            if from == "replica" && to == "master" && m.config_epoch > cfg_before {
                let failed = from_of.is_some_and(|om| self.fail_times.contains_key(&om));
                let summary = match (from_of, failed) {
                    (Some(om), true) => format!(
                        "{} promoted to master (configEpoch {}) replacing failed {}",
                        s.short(),
                        m.config_epoch,
                        om.short()
                    ),
                    (Some(om), false) => format!(
                        "{} promoted to master (configEpoch {}), was replica of {} (manual or forced failover?)",
                        s.short(),
                        m.config_epoch,
                        om.short()
                    ),
                    (None, _) => format!("{} promoted to master (configEpoch {})", s.short(), m.config_epoch),
                };
                let mut nodes = vec![id_s(&s)];
                if let Some(om) = from_of {
                    nodes.push(id_s(&om));
                }
                self.findings.push(Finding {
                    kind: "failover".into(),
                    ts_us: pts,
                    nodes,
                    addresses: vec![],
                    summary,
                    evidence: vec![pevd],
                });
            }
            self.role_changes.push(rc);
        }
        // configEpoch bumps.
        if committed_master && header_master && transition.is_none() && m.config_epoch > prev_cfg && prev_cfg_seen {
            self.findings.push(Finding {
                kind: "epoch_bump".into(),
                ts_us: ts,
                nodes: vec![id_s(&s)],
                addresses: vec![],
                summary: format!("{} configEpoch {} → {}", s.short(), prev_cfg, m.config_epoch),
                evidence: vec![self.evidence(capture, frame)],
            });
        }
        // Slots: a master's own claim; a replica claims nothing of its own.
        let claim: Vec<(u16, u16)> = match (committed_master, header_master) {
            (true, true) => m.slots.clone(),
            // A stray header disagreeing with the committed role: keep the claim.
            (true, false) | (false, true) => match self.own_claims.get(&s) {
                Some((_, c)) => c.clone(),
                None => Vec::new(),
            },
            (false, false) => Vec::new(),
        };
        let changed = self.own_claims.get(&s).is_none_or(|(e, c)| *e != m.config_epoch || *c != claim);
        let group_size = self.groups.size(s);
        let memo = (m.config_epoch, claim.len(), claim.first().copied(), group_size);
        let recheck = !claim.is_empty() && self.claim_checked.get(&s) != Some(&memo);
        if !changed && !recheck {
            return;
        }
        let evd = self.evidence(capture, frame);
        let old = if changed { self.own_claims.insert(s, (m.config_epoch, claim.clone())) } else { None };
        // A promoted replica takes over its old master's slots.
        if let Some((("replica", prev_replicaof), ("master", _), _, _)) =
            transition.filter(|_| changed && !claim.is_empty())
        {
            self.slot_moves.push(SlotMove {
                ts_us: ts,
                slots: format_slot_ranges(&claim),
                count: claim.iter().map(|&(a, b)| u32::from(b - a) + 1).sum(),
                from: prev_replicaof.map(|r| id_s(&r)),
                to: Some(id_s(&s)),
                evidence: vec![evd.clone()],
            });
        }
        if let Some((_, old)) = &old {
            let lost: Vec<u16> = expand(old).filter(|x| !claim.iter().any(|&(a, b)| (a..=b).contains(x))).collect();
            if !lost.is_empty() {
                self.record_loss(ts, s, &lost, &evd);
            }
        }
        if recheck {
            self.claim_checked.insert(s, memo);
            self.check_claims(ts, s, m.config_epoch, &claim, &evd);
        }
    }

    /// Slots `node` stopped claiming: who claims them now.
    fn record_loss(&mut self, ts: i64, node: NodeId, lost: &[u16], evd: &Evidence) {
        let mut by_new: BTreeMap<Option<NodeId>, Vec<u16>> = BTreeMap::new();
        for &slot in lost {
            let owner = self
                .own_claims
                .iter()
                .filter(|(o, (_, c))| **o != node && c.iter().any(|&(a, b)| (a..=b).contains(&slot)))
                .max_by_key(|(o, (e, _))| (*e, **o))
                .map(|(o, _)| *o);
            by_new.entry(owner).or_default().push(slot);
        }
        for (to, list) in by_new {
            self.slot_moves.push(SlotMove {
                ts_us: ts,
                slots: format_slot_ranges(&ranges_of(&list)),
                count: list.len() as u32,
                from: Some(id_s(&node)),
                to: to.map(|t| id_s(&t)),
                evidence: vec![evd.clone()],
            });
        }
    }

    /// Conflicting claims and configEpoch collisions between masters that
    /// know each other (same group).
    fn check_claims(&mut self, ts: i64, node: NodeId, epoch: u64, claim: &[(u16, u16)], evd: &Evidence) {
        let mine = self.groups.find(node);
        let others: Vec<(NodeId, u64, Vec<(u16, u16)>)> = self
            .own_claims
            .iter()
            .filter(|(o, (_, c))| **o != node && !c.is_empty())
            .map(|(o, (e, c))| (*o, *e, c.clone()))
            .collect();
        for (o, oe, oc) in others {
            if self.groups.find(o) != mine {
                continue;
            }
            if oe == epoch && self.collisions_reported.insert((node.min(o), node.max(o), epoch)) {
                self.findings.push(Finding {
                    kind: "epoch_collision".into(),
                    ts_us: ts,
                    nodes: vec![id_s(&node.min(o)), id_s(&node.max(o))],
                    addresses: vec![],
                    summary: format!(
                        "masters {} and {} both have configEpoch {epoch}; the one with the smaller id ({}) must bump",
                        node.short(),
                        o.short(),
                        node.min(o).short()
                    ),
                    evidence: vec![evd.clone()],
                });
            }
            let overlap: Vec<u16> = expand(claim).filter(|x| oc.iter().any(|&(a, b)| (a..=b).contains(x))).collect();
            if overlap.is_empty() || !self.conflicts_reported.insert((node, o)) {
                continue;
            }
            let winner = if oe > epoch { o } else { node };
            self.findings.push(Finding {
                kind: "slot_conflict".into(),
                ts_us: ts,
                nodes: vec![id_s(&node), id_s(&o)],
                addresses: vec![],
                summary: format!(
                    "{} claims slots {} with configEpoch {epoch}, also claimed by {} with configEpoch {oe}; {}",
                    node.short(),
                    format_slot_ranges(&ranges_of(&overlap)),
                    o.short(),
                    if oe == epoch {
                        "equal epochs: no one wins until the collision is resolved".to_string()
                    } else {
                        format!("{} wins (higher configEpoch)", winner.short())
                    }
                ),
                evidence: vec![evd.clone()],
            });
        }
    }

    /// Knowledge the sender shows by what it sends.
    fn shown(&mut self, ts: i64, frame: u64, capture: usize, s: NodeId, m: &BusMessage) {
        let evd = self.evidence(capture, frame);
        let mut shown: Vec<NodeId> =
            m.gossip.iter().filter(|g| g.flags & NodeFlags::NOADDR == 0).map(|g| g.node).collect();
        if let Some(r) = m.replicaof {
            shown.push(r);
        }
        let l = self.learners.entry(s).or_default();
        for g in &m.gossip {
            match l.peers.get_mut(&g.node) {
                Some(p) if p.0 == g.addr => {
                    p.1 = g.flags;
                    p.2 = ts;
                }
                _ => {
                    l.peers.insert(g.node, (g.addr.clone(), g.flags, ts));
                }
            }
        }
        if let Some(f) = m.fail_node {
            shown.push(f);
            self.fail_times.entry(f).or_insert(ts);
            let last = self.failed_reported.get(&f).copied();
            if last.is_none_or(|t| ts - t > 60_000_000) {
                self.failed_reported.insert(f, ts);
                self.findings.push(Finding {
                    kind: "node_failed".into(),
                    ts_us: ts,
                    nodes: vec![id_s(&f), id_s(&s)],
                    addresses: vec![],
                    summary: format!("{} declared FAIL (first FAIL message from {})", f.short(), s.short()),
                    evidence: vec![evd.clone()],
                });
            }
        }
        if let Some((owner, epoch, _)) = &m.update {
            shown.push(*owner);
            let e = self.update_count.entry((s, *owner)).or_insert((ts, 0, evd.clone()));
            e.1 += 1;
            let _ = epoch;
        }
        for n in shown {
            if n != s && !self.known.contains_key(&(s, n)) {
                self.learn_from_hearsay(ts, s, n, &evd);
            }
        }
    }

    /// `l` shows it knows `n` with no handshake seen: gossip-learned (new
    /// servers add gossiped nodes directly) or prior knowledge.
    fn learn_from_hearsay(&mut self, ts: i64, l: NodeId, n: NodeId, evd: &Evidence) {
        let heard = self.learners.get(&l).and_then(|x| x.heard_node.get(&n)).cloned();
        match heard {
            Some(h) => self.introduce(Introduction {
                ts_us: h.ts,
                learner: id_s(&l),
                node: id_s(&n),
                via: "gossip".into(),
                introducer: Some(id_s(&h.introducer)),
                address: Some(h.addr.to_string()),
                answered_by: None,
                gossip_named: Some(id_s(&n)),
                command: None,
                evidence: vec![h.evidence, evd.clone()],
            }),
            None => self.introduce(Introduction {
                ts_us: ts,
                learner: id_s(&l),
                node: id_s(&n),
                // Shown within the first seconds of seeing the learner: it
                // knew the node before the capture. Later: it learned it
                // through traffic this capture did not see.
                via: if self.nodes.get(&l).is_some_and(|x| ts - x.first_seen > PRIOR_WINDOW_US) {
                    "unobserved".into()
                } else {
                    "prior".into()
                },
                introducer: None,
                address: None,
                answered_by: None,
                gossip_named: None,
                command: None,
                evidence: vec![evd.clone()],
            }),
        }
    }

    /// A message reached node `r`.
    fn received(&mut self, ts: i64, frame: u64, capture: usize, link: &Link, r: NodeId, m: &BusMessage) {
        let Some(s) = m.sender else { return };
        if s == r {
            return;
        }
        let evd = self.evidence(capture, frame);
        let r_valkey8 = self.nodes.get(&r).is_some_and(|n| n.gen_hints.contains("valkey8"));
        if m.msg_type == MessageType::MEET && !self.known.contains_key(&(r, s)) {
            // r records the sender at the TCP source (or myip) and the
            // header ports.
            let ip = if m.announced.ip.is_empty() { ep_ip(&link.src) } else { m.announced.ip.clone() };
            let addr = addr_string(&ip, m.announced.port, m.announced.cport);
            self.introduce(Introduction {
                ts_us: ts,
                learner: id_s(&r),
                node: id_s(&s),
                via: "meet".into(),
                introducer: None,
                address: Some(addr),
                answered_by: None,
                gossip_named: None,
                command: None,
                evidence: vec![evd.clone()],
            });
            if r_valkey8 {
                for g in &m.gossip {
                    if g.node != r && !self.known.contains_key(&(r, g.node)) && g.flags & NodeFlags::NOADDR == 0 {
                        self.introduce(Introduction {
                            ts_us: ts,
                            learner: id_s(&r),
                            node: id_s(&g.node),
                            via: "meet_gossip".into(),
                            introducer: Some(id_s(&s)),
                            address: Some(g.addr.to_string()),
                            answered_by: None,
                            gossip_named: Some(id_s(&g.node)),
                            command: None,
                            evidence: vec![evd.clone()],
                        });
                    }
                }
            }
            return;
        }
        let l = self.learners.entry(r).or_default();
        // A PING on the sender's own connection moves the sender's address
        // to the TCP source (or myip) in the receiver's table (rule 9f): the
        // receiver will dial that address expecting the sender.
        if m.msg_type == MessageType::PING && link.from_initiator != Some(false) {
            let ip = if m.announced.ip.is_empty() { ep_ip(&link.src) } else { m.announced.ip.clone() };
            let addr = NodeAddr { ip, port: m.announced.port, cport: m.announced.cport, pport: m.announced.pport };
            let key = (addr.ip.clone(), addr.cport);
            // The latest node to claim the address wins (as in the server's table).
            if l.expected_addr.get(&key).is_none_or(|h| h.node != s) {
                l.expected_addr.insert(key, Heard { ts, introducer: s, node: s, addr, evidence: evd.clone() });
            }
        }
        if !self.known.contains_key(&(r, s)) {
            // Servers ignore gossip from unknown senders.
            return;
        }
        let l = self.learners.entry(r).or_default();
        for g in &m.gossip {
            if g.node == r || g.flags & NodeFlags::NOADDR != 0 {
                continue;
            }
            let new_node = !l.heard_node.contains_key(&g.node);
            let new_addr = !l.heard_addr.contains_key(&(g.addr.ip.clone(), g.addr.cport));
            if new_node || new_addr {
                let h = Heard { ts, introducer: s, node: g.node, addr: g.addr.clone(), evidence: evd.clone() };
                if new_addr {
                    l.heard_addr.insert((g.addr.ip.clone(), g.addr.cport), h.clone());
                }
                if new_node {
                    l.heard_node.insert(g.node, h);
                }
            }
        }
    }

    /// The first answer on a connection: who dialled, who answered.
    fn answered(&mut self, key: (usize, u64), ts: i64, frame: u64, capture: usize) {
        let Some(c) = self.conns.get(&key).cloned() else {
            return;
        };
        let (Some(l), Some(w), Some(dst)) = (c.opener, c.responder, c.responder_ep) else {
            return;
        };
        let vantage = self.vantage(capture);
        let evd_dial = self.evidence(capture, c.first_frame);
        let evd_ans = self.evidence(capture, frame);
        let dst_ip = ep_ip(&dst);
        let w_port = self.nodes.get(&w).map_or(0, |n| n.port);
        let address = addr_string(&dst_ip, w_port, dst.port);
        // Who answers where.
        let ans = self.answers.entry(format!("{dst_ip}:{}", dst.port)).or_default();
        let e = ans.entry(w).or_insert((ts, BTreeSet::new(), Vec::new()));
        e.1.insert(vantage.clone());
        if e.2.len() < 4 {
            e.2.push(evd_ans.clone());
        }
        let heard = self.learners.get(&l).and_then(|x| x.heard_addr.get(&(dst_ip.clone(), dst.port))).cloned();
        // Whichever told the dialler most recently what lives at that address.
        let by_ping = self.learners.get(&l).and_then(|x| x.expected_addr.get(&(dst_ip.clone(), dst.port))).cloned();
        let expected = match (&heard, by_ping) {
            (Some(h), Some(p)) => Some(if p.ts > h.ts { p } else { h.clone() }),
            (h, p) => h.clone().or(p),
        };
        if let Some(h) = &expected
            && h.node != w
            && l != w
        {
            let e = self.mismatches.entry((l, h.node, w, address.clone())).or_insert((
                ts,
                Vec::new(),
                c.first_type == Some(MessageType::MEET),
            ));
            if e.1.is_empty() {
                e.1 = vec![h.evidence.clone(), evd_dial.clone(), evd_ans.clone()];
            }
        }
        if self.known.contains_key(&(l, w)) {
            return;
        }
        let first = c.first_type.unwrap_or(MessageType::PING);
        if first == MessageType::MEET {
            // Handshake: the dialler adopts whoever answers.
            let cmd_idx = self.commands.iter().position(|cmd| {
                cmd.capture == capture
                    && cmd.target_bus_port == dst.port
                    && (cmd.target_ip == dst_ip || cmd.target_ip.parse::<std::net::IpAddr>().ok() == Some(dst.ip))
                    && self.nodes.get(&l).is_some_and(|n| n.port == cmd.data_port)
                    && c.first_ts >= cmd.ts
                    && c.first_ts - cmd.ts < COMMAND_WINDOW_US
            });
            // The dialler adopts whoever answers; only the reason differs.
            let mut intro = Introduction {
                ts_us: c.first_ts,
                learner: id_s(&l),
                node: id_s(&w),
                via: "operator_meet".into(),
                introducer: None,
                address: Some(address),
                answered_by: Some(id_s(&w)),
                gossip_named: None,
                command: None,
                evidence: vec![evd_dial, evd_ans],
            };
            match (cmd_idx, &heard) {
                (Some(i), _) => {
                    let cmd = self.commands.remove(i);
                    intro.evidence.insert(0, self.evidence(cmd.capture, cmd.frame));
                    intro.command = Some(cmd.text);
                }
                (None, Some(h)) => {
                    intro.via = "gossip".into();
                    intro.introducer = Some(id_s(&h.introducer));
                    intro.gossip_named = Some(id_s(&h.node));
                    intro.evidence.insert(0, h.evidence.clone());
                }
                (None, None) => {}
            }
            self.introduce(intro);
        } else if let Some(h) = heard {
            // Gossip-add (5.0.10+): the node was added under the gossiped id;
            // this PING only checks the address. Whoever answers, the
            // learner now knows the gossiped node.
            if h.node == w || !self.known.contains_key(&(l, h.node)) {
                self.introduce(Introduction {
                    ts_us: h.ts,
                    learner: id_s(&l),
                    node: id_s(&h.node),
                    via: "gossip".into(),
                    introducer: Some(id_s(&h.introducer)),
                    address: Some(h.addr.to_string()),
                    answered_by: Some(id_s(&w)),
                    gossip_named: Some(id_s(&h.node)),
                    command: None,
                    evidence: vec![h.evidence.clone(), evd_dial, evd_ans],
                });
            }
        }
    }

    fn stream_end(&mut self, ts: i64, frame: u64, capture: usize, link: Link) {
        let key = (capture, link.conn_id);
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if c.closed {
            self.conns.remove(&key);
            return;
        }
        c.closed = true;
        let c = c.clone();
        if let (Some(l), Some(dst)) = (c.opener, c.responder_ep)
            && c.first_ts > 0
            && ts - c.first_ts < SHORT_CONN_US
            && c.messages <= 4
        {
            let a = format!("{}:{}", dst.ip, dst.port);
            let evd = self.evidence(capture, c.first_frame);
            let v = self.short_conns.entry((l, a)).or_default();
            // The same connection seen from several vantages counts once.
            if v.len() < 256 && !v.iter().any(|(t, _)| (t - c.first_ts).abs() < 50_000) {
                v.push((c.first_ts, evd));
            }
        }
        let _ = frame;
    }

    /// Records a first introduction and updates groups (joins, merges).
    fn introduce(&mut self, intro: Introduction) {
        let (Some(l), Some(n)) = (NodeId::from_str_exact(&intro.learner), NodeId::from_str_exact(&intro.node)) else {
            return;
        };
        if l == n || self.known.contains_key(&(l, n)) {
            return;
        }
        let idx = self.intros.len();
        self.known.insert((l, n), idx);
        self.intro_ids.push((l, n));
        let prior = intro.via == "prior";
        let ts = intro.ts_us;
        self.intros.push(intro);
        let (ga, gb) = (self.groups.find(l), self.groups.find(n));
        if ga == gb {
            return;
        }
        let side_a = self.groups.members(l);
        let side_b = self.groups.members(n);
        // A lone node counts as a cluster only when it serves slots and says
        // its cluster is OK (all slots covered): nodes being created with a
        // share of the slots (state fail) join rather than merge.
        let is_cluster = |this: &Self, side: &[NodeId]| {
            side.len() >= 2
                || side.iter().any(|m| {
                    this.nodes.get(m).is_some_and(|s| !s.slots_last.is_empty() && s.replicaof.is_none() && s.state_ok)
                })
        };
        if !prior && is_cluster(self, &side_a) && is_cluster(self, &side_b) {
            self.merges.push(PendingMerge { ts, sides: vec![side_a, side_b], link: idx });
        } else if !prior {
            let (joiner, joined) = if side_a.len() <= side_b.len() { (l, side_b) } else { (n, side_a) };
            let healthy = joined.len() >= 2 && joined.iter().all(|m| self.nodes.get(m).is_some_and(|s| s.state_ok));
            if healthy && self.first_healthy_join.is_none() {
                self.first_healthy_join = Some(ts);
            }
            self.joins.push(Join {
                ts_us: ts,
                node: id_s(&joiner),
                joined: joined.iter().map(id_s).collect(),
                introduction: idx,
            });
        }
        self.groups.union(l, n);
        self.unions.push((ts, l, n));
    }

    /// Time of the first introduction of the chain behind `link`.
    fn chain_start(&self, link: usize) -> i64 {
        self.chain(link).iter().map(|i| i.ts_us).min().unwrap_or(0)
    }

    /// The chain of introductions behind `link`, patient zero first.
    fn chain(&self, link: usize) -> Vec<Introduction> {
        let mut out = vec![link];
        let mut seen = BTreeSet::from([link]);
        let mut cur = link;
        loop {
            let i = &self.intros[cur];
            let (l, n) = self.intro_ids[cur];
            let prev_key = match i.via.as_str() {
                "gossip" | "meet_gossip" => {
                    let named = i.gossip_named.as_deref().and_then(NodeId::from_str_exact).unwrap_or(n);
                    i.introducer.as_deref().and_then(NodeId::from_str_exact).map(|intro| (intro, named))
                }
                // n MEETed l: why did n dial l?
                "meet" => Some((n, l)),
                _ => None,
            };
            let Some(k) = prev_key else { break };
            let Some(&p) = self.known.get(&k) else { break };
            if !seen.insert(p) || self.intros[p].via == "prior" {
                break;
            }
            out.push(p);
            cur = p;
        }
        out.reverse();
        out.into_iter().map(|i| self.intros[i].clone()).collect()
    }

    /// Ends the analysis.
    pub fn finish(mut self) -> super::Analysis {
        super::view::finish(&mut self)
    }
}

/// Read access for `view.rs` and the finishing pass.
impl Analyzer {
    /// (own address, peers as the node gossips them, nodes it knows).
    #[allow(clippy::type_complexity)]
    pub(super) fn view_parts(
        &self,
        node: &NodeId,
    ) -> Option<(String, BTreeMap<NodeId, (NodeAddr, u16, i64)>, Vec<NodeId>)> {
        let s = self.nodes.get(node)?;
        let me = s
            .addresses
            .keys()
            .find(|(_, how, _)| how == "announced" || how == "listening")
            .map_or_else(|| format!("?:{}@{}", s.port, s.cport), |(a, _, _)| a.clone());
        let peers = self.learners.get(node).map(|l| l.peers.clone()).unwrap_or_default();
        let mut known: Vec<NodeId> = self.known.keys().filter(|(l, _)| l == node).map(|(_, n)| *n).collect();
        known.sort();
        Some((me, peers, known))
    }

    /// Every node seen so far.
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// Latest header facts of a node: flags, configEpoch, slots, replicaof.
    pub(super) fn node_header(&self, id: &NodeId) -> Option<(u16, u64, Vec<(u16, u16)>, Option<NodeId>)> {
        let s = self.nodes.get(id)?;
        Some((s.flags_last, s.cfg_last, s.slots_last.clone(), s.replicaof))
    }

    pub(super) fn parts(&mut self) -> Parts<'_> {
        Parts { a: self }
    }
}

pub(super) struct Parts<'a> {
    pub a: &'a mut Analyzer,
}

impl Parts<'_> {
    pub fn build(self) -> super::Analysis {
        let a = self.a;
        let vant = a.cfg.vantages.clone();
        // Clusters "before anything happened": the groups just before the
        // first merge chain began or the first node joined a healthy
        // cluster, whichever came first (cluster creation is not an event).
        let start = [a.merges.first().map(|m| a.chain_start(m.link)), a.first_healthy_join].into_iter().flatten().min();
        let snapshot = match start {
            Some(start) => {
                let mut g = Groups::default();
                for n in a.nodes.keys() {
                    g.add(*n);
                }
                for (ts, l, n) in &a.unions {
                    if *ts < start {
                        g.union(*l, *n);
                    }
                }
                g.all()
            }
            None => a.groups.all(),
        };
        let mut clusters = Vec::new();
        let mut label_of: BTreeMap<NodeId, String> = BTreeMap::new();
        let mut groups: Vec<Vec<NodeId>> = snapshot
            .into_iter()
            .filter(|g| {
                g.len() >= 2
                    || g.iter()
                        .any(|m| a.nodes.get(m).is_some_and(|s| s.slots_first.as_ref().is_some_and(|x| !x.is_empty())))
            })
            .collect();
        groups.sort_by_key(|g| g.iter().filter_map(|m| a.nodes.get(m).map(|s| s.first_seen)).min().unwrap_or(0));
        for (i, g) in groups.iter().enumerate() {
            let label = cluster_label(i);
            for m in g {
                label_of.insert(*m, label.clone());
            }
            clusters.push(Cluster { label, nodes: g.iter().map(id_s).collect() });
        }

        let mut nodes = Vec::new();
        for (id, s) in &a.nodes {
            let mut addresses: Vec<AddressSeen> = s
                .addresses
                .iter()
                .map(|((addr, how, v), (ts, f))| AddressSeen {
                    address: addr.clone(),
                    how: how.clone(),
                    vantage: v.clone(),
                    first_ts_us: *ts,
                    frame: *f,
                })
                .collect();
            addresses.sort_by(|x, y| (x.first_ts_us, &x.address).cmp(&(y.first_ts_us, &y.address)));
            let best = addresses
                .iter()
                .find(|x| x.how == "announced")
                .or_else(|| addresses.iter().find(|x| x.how == "listening"))
                .map_or_else(|| format!("?:{}@{}", s.port, s.cport), |x| x.address.clone());
            nodes.push(NodeSummary {
                id: id_s(id),
                short: id.short().into_owned(),
                best_address: best,
                addresses,
                generation: generation(s),
                first_seen_us: s.first_seen,
                last_seen_us: s.last_seen,
                role_first: role_of(s.flags_first).into(),
                role_last: role_of(s.flags_last).into(),
                replicaof_last: s.replicaof.map(|r| id_s(&r)),
                slots_first: format_slot_ranges(s.slots_first.as_deref().unwrap_or(&[])),
                slots_last: format_slot_ranges(&s.slots_last),
                config_epoch_first: s.cfg_first.unwrap_or(0),
                config_epoch_last: s.cfg_last,
                hostname: s.hostname.clone(),
                cluster: label_of.get(id).cloned(),
            });
        }
        let best_of: BTreeMap<String, String> = nodes.iter().map(|n| (n.id.clone(), n.best_address.clone())).collect();

        // Findings computed at the end.
        let mut findings = std::mem::take(&mut a.findings);
        // Address collisions: one ip:cport answered by different nodes
        // (across hosts or over time), or answered by another node than
        // the one gossip placed there.
        let mut claims: BTreeMap<String, BTreeMap<NodeId, (i64, BTreeSet<String>, Vec<Evidence>)>> = BTreeMap::new();
        for (addr, by) in &a.answers {
            for (n, (ts, vs, evd)) in by {
                let vs: BTreeSet<String> = vs.iter().map(|v| format!("answered, seen from {v}")).collect();
                claims.entry(addr.clone()).or_default().insert(*n, (*ts, vs, evd.clone()));
            }
        }
        for ((l, named, _w, addr), (ts, evd, _)) in &a.mismatches {
            let key = match addr.split_once('@') {
                Some((ipport, cport)) => match ipport.rsplit_once(':') {
                    Some((ip, _)) => format!("{ip}:{cport}"),
                    None => continue,
                },
                None => continue,
            };
            let e = claims.entry(key).or_default().entry(*named).or_insert((*ts, BTreeSet::new(), Vec::new()));
            e.1.insert(format!("expected there by {}", l.short()));
            if e.2.len() < 4 {
                e.2.extend(evd.iter().take(1).cloned());
            }
        }
        for (addr, by) in &claims {
            if by.len() < 2 {
                continue;
            }
            let first = by.values().map(|v| v.0).min().unwrap_or(0);
            let parts: Vec<String> = by
                .iter()
                .map(|(n, (_, how, _))| {
                    format!("{} ({})", n.short(), how.iter().cloned().collect::<Vec<_>>().join("; "))
                })
                .collect();
            findings.push(Finding {
                kind: "address_collision".into(),
                ts_us: first,
                nodes: by.keys().map(id_s).collect(),
                addresses: vec![addr.clone()],
                summary: format!("{addr} means different nodes: {}", parts.join(", ")),
                evidence: by.values().flat_map(|v| v.2.iter().cloned()).collect(),
            });
        }
        for ((l, named, w, addr), (ts, evd, blind)) in &a.mismatches {
            findings.push(Finding {
                kind: "sender_mismatch".into(),
                ts_us: *ts,
                nodes: vec![id_s(l), id_s(named), id_s(w)],
                addresses: vec![addr.clone()],
                summary: format!(
                    "{} dialled {addr} expecting {} (from gossip or its PINGs' source address) but {} answered; the dial began with {}",
                    l.short(),
                    named.short(),
                    w.short(),
                    if *blind {
                        "MEET: a blind handshake (Redis < 5.0.10/6.0.5) that adopts whoever answers"
                    } else {
                        "PING: the gossiped node was added by id (Redis 5.0.10+/6.0.5+, Valkey), so the answer is rejected"
                    }
                ),
                evidence: evd.clone(),
            });
        }
        for ((l, addr), v) in &a.short_conns {
            if v.len() >= 3 {
                findings.push(Finding {
                    kind: "handshake_flapping".into(),
                    ts_us: v[0].0,
                    nodes: vec![id_s(l)],
                    addresses: vec![addr.clone()],
                    summary: format!("{} opened {} short-lived connections to {addr}", l.short(), v.len()),
                    evidence: v.iter().take(6).map(|x| x.1.clone()).collect(),
                });
            }
        }
        for (n, srcs) in &a.sources {
            let listening: BTreeSet<&String> =
                a.nodes.get(n).map(|s| s.listening.iter().map(|(_, ip)| ip).collect()).unwrap_or_default();
            if listening.is_empty() {
                continue;
            }
            for ((v, ip), (ts, evd)) in srcs {
                if !listening.contains(ip) {
                    let bridge = ip.starts_with("172.17.");
                    findings.push(Finding {
                        kind: "nat_rewrite".into(),
                        ts_us: *ts,
                        nodes: vec![id_s(n)],
                        addresses: vec![ip.clone()],
                        summary: format!(
                            "{} reached peers from {ip} (seen from {v}) but listens at {}{}",
                            n.short(),
                            listening.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                            if bridge { " — a Docker bridge address, meaningful only on its own host" } else { "" }
                        ),
                        evidence: vec![evd.clone()],
                    });
                }
            }
        }
        for ((s, owner), (ts, n, evd)) in &a.update_count {
            findings.push(Finding {
                kind: "update_message".into(),
                ts_us: *ts,
                nodes: vec![id_s(s), id_s(owner)],
                addresses: vec![],
                summary: format!("{} sent {n} UPDATE message(s) describing {}", s.short(), owner.short()),
                evidence: vec![evd.clone()],
            });
        }
        findings.sort_by(|x, y| (x.ts_us, &x.kind, &x.nodes).cmp(&(y.ts_us, &y.kind, &y.nodes)));

        let merges: Vec<Merge> = a
            .merges
            .iter()
            .map(|m| Merge {
                ts_us: m.ts,
                sides: m.sides.iter().map(|s| s.iter().map(id_s).collect()).collect(),
                chain: a.chain(m.link),
            })
            .collect();
        let mut offsets = Vec::new();
        for ((x, y), v) in &a.offsets {
            let mut v = v.clone();
            v.sort_unstable();
            offsets.push(ClockOffset {
                a: vant.get(*x).cloned().unwrap_or_default(),
                b: vant.get(*y).cloned().unwrap_or_default(),
                offset_us: v[v.len() / 2],
                samples: v.len() as u64,
            });
        }
        let captures = vant
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let c = a.capture_msgs.get(&i);
                CaptureInfo {
                    index: i,
                    vantage: v.clone(),
                    first_ts_us: c.map(|c| c.0),
                    last_ts_us: c.map(|c| c.1),
                    messages: c.map_or(0, |c| c.2),
                }
            })
            .collect();
        let mut analysis = super::Analysis {
            schema_version: SCHEMA_VERSION,
            captures,
            clock_offsets: offsets,
            nodes,
            clusters,
            introductions: a.intros.clone(),
            joins: a.joins.clone(),
            merges,
            findings,
            damage: Damage { role_changes: a.role_changes.clone(), slot_moves: a.slot_moves.clone() },
            story: Vec::new(),
            anomalies: a.anomalies.clone(),
        };
        analysis.story = super::view::story(&analysis, &best_of);
        analysis
    }
}

fn cluster_label(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    match letters.get(i) {
        Some(&c) => (c as char).to_string(),
        None => format!("C{i}"),
    }
}

fn generation(s: &NodeState) -> String {
    let h = &s.gen_hints;
    if h.contains("ver0") {
        "Redis 3.0/3.2 (bus ver 0)".into()
    } else if h.contains("valkey91") {
        "Valkey 9.1+".into()
    } else if h.contains("valkey81") {
        "Valkey 8.1+".into()
    } else if h.contains("valkey8") {
        "Valkey 8.0".into()
    } else if h.contains("shardid") {
        "Redis 7.2+ or Valkey 7.2".into()
    } else if h.contains("ext") {
        "Redis 7.0+".into()
    } else if h.contains("pport") {
        "Redis 6.2.2+".into()
    } else {
        "Redis 4.0 – 7.x (bus ver 1)".into()
    }
}
