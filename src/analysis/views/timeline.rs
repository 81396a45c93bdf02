//! Chart-ready data for the timeline and the introduction graph: plain,
//! serialisable numbers computed from an [`Analysis`]. Renderers
//! (`output::chart`, `output::dot`, `output::html`) only draw this.
//!
//! Whatever the incident's kind, the default window is the incident's
//! (`incident.rs`: first evidence of trouble to last damage, with
//! margins), every incident finding has a mark in the lane of each node
//! it names (lettered as in the chart's list), a cloned id has a lane per
//! instance, a reused address ends one lane and starts another, a failed
//! master's slots are shaded until its successor's promotion, and an
//! encrypted bus gets a lane per bus port with its bursts of new
//! connections.

use super::incident::{self, IncidentSpan, IncidentNote, hms};
use crate::analysis::model::{Analysis, FindingKind, NodeId, NodeSummary, Severity, Via};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a lane stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// A node (its id).
    Node,
    /// One of several instances claiming one id (a cloned `nodes.conf`).
    Instance,
    /// A bus port whose traffic was encrypted (TLS): no node id readable.
    Encrypted,
}

/// One horizontal lane per node (per instance of a cloned id; per
/// encrypted bus port).
#[derive(Clone, Debug, Serialize)]
pub struct Lane {
    /// `null` for an encrypted bus port.
    pub node: Option<NodeId>,
    pub kind: LaneKind,
    /// Short id and address (the port for an encrypted lane).
    pub label: String,
    /// Cluster the node started in (`null`: none).
    pub cluster: Option<String>,
    /// Index into [`Timeline::groups`] for colouring.
    pub group: usize,
    /// First and last message heard from it (encrypted: traffic to it).
    pub heard_us: Option<(i64, i64)>,
}

/// Something worth a marker on a lane.
#[derive(Clone, Debug, Serialize)]
pub struct Marker {
    pub ts_us: i64,
    pub lane: usize,
    pub kind: MarkerKind,
    pub label: String,
    /// The tag of the chart's note it belongs to (drawn on one of its
    /// marks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An introduction, drawn from the introducer's lane to the learner's.
#[derive(Clone, Debug, Serialize)]
pub struct Arrow {
    pub ts_us: i64,
    pub from_lane: usize,
    pub to_lane: usize,
    pub via: Via,
    /// Part of a merge chain (drawn bold).
    pub in_chain: bool,
    /// Its step in the merge chain, numbered as in the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<ChainStep>,
}

/// A step of a merge chain as the report numbers it: `3`, or `2.3` (merge
/// 2, step 3) when the capture holds several merges. Steps order as
/// numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainStep {
    /// The merge, from 1, when there are several.
    pub merge: Option<usize>,
    /// The step in its chain, from 1.
    pub step: usize,
}

impl fmt::Display for ChainStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.merge {
            Some(m) => write!(f, "{m}.{}", self.step),
            None => write!(f, "{}", self.step),
        }
    }
}

impl Serialize for ChainStep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A merge: a vertical line with a label.
#[derive(Clone, Debug, Serialize)]
pub struct MergeLine {
    pub ts_us: i64,
    pub label: String,
}

/// What a shaded stretch of a lane means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A failed master's slots, from its last message to its successor's
    /// promotion (or the window's end).
    Unserved,
    /// Peers' views of a cloned id's address flipping between its
    /// instances (drawn between `lane` and `other_lane`).
    Flapping,
    /// Encrypted traffic to a bus port.
    Encrypted,
}

/// A stretch of time on a lane.
#[derive(Clone, Debug, Serialize)]
pub struct Span {
    pub kind: SpanKind,
    pub lane: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_lane: Option<usize>,
    pub from_us: i64,
    pub to_us: i64,
    /// Flapping: address changes; encrypted: stream directions.
    pub count: u64,
    pub label: String,
}

/// What joins two lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinKind {
    /// Two instances of one id.
    SameId,
    /// An address that passed from a node that fell silent to another.
    ReusedAddress,
    /// A replica promoted in a failed master's place.
    Promotion,
}

/// A connector from one lane at one time to another lane at another.
#[derive(Clone, Debug, Serialize)]
pub struct Join {
    pub kind: JoinKind,
    pub from_lane: usize,
    pub from_us: i64,
    pub to_lane: usize,
    pub to_us: i64,
    pub label: String,
}

/// New encrypted bus connections close together (the upper panel of a
/// chart whose bus could not be read).
#[derive(Clone, Debug, Serialize)]
pub struct Burst {
    pub from_us: i64,
    pub to_us: i64,
    pub stream_directions: u64,
    pub servers: usize,
    pub quiet_before_us: Option<i64>,
}

/// The whole capture at a glance, drawn as a thin strip above the zoomed
/// window.
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    pub first_us: i64,
    pub last_us: i64,
    /// Markers and introductions in each of [`OVERVIEW_BUCKETS`] equal
    /// slices of the capture.
    pub activity: Vec<u32>,
    /// Every merge, inside the window or not.
    pub merges_us: Vec<i64>,
}

/// How the window was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// The incident's, with margins (the default).
    Incident,
    /// The whole capture: no incident found.
    Capture,
    /// `--since`/`--until`.
    Asked,
}

/// The window drawn and why.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    pub kind: WindowKind,
    /// The incident's extent (also when another window was asked for).
    pub incident: Option<IncidentSpan>,
    /// One line saying which window this is.
    pub text: String,
}

/// Slices of the overview strip.
pub const OVERVIEW_BUCKETS: usize = 160;
/// Margin around the incident in the default window: a tenth of its span,
/// at least [`MARGIN_MIN_US`], at most [`MARGIN_MAX_US`].
pub const MARGIN_MIN_US: i64 = 1_000_000;
pub const MARGIN_MAX_US: i64 = 5_000_000;

/// Everything a timeline chart needs.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// The window drawn: by default the incident with a margin;
    /// `--since/--until` set it.
    pub t0_us: i64,
    pub t1_us: i64,
    pub window: Window,
    pub overview: Overview,
    /// Group names in colour order (`none` last when present).
    pub groups: Vec<String>,
    /// Index in `groups` of the nodes in no starting cluster (drawn grey).
    #[serde(skip)]
    pub none_group: Option<usize>,
    pub lanes: Vec<Lane>,
    pub markers: Vec<Marker>,
    pub arrows: Vec<Arrow>,
    pub merges: Vec<MergeLine>,
    /// Number of separate clusters over time (a step series); empty when
    /// no node could be read (an encrypted bus).
    pub cluster_count: Vec<(i64, usize)>,
    pub spans: Vec<Span>,
    pub joins: Vec<Join>,
    /// Encrypted bursts of new connections in the window.
    pub bursts: Vec<Burst>,
    /// The incident's findings, lettered as their marks.
    pub notes: Vec<IncidentNote>,
}

impl Timeline {
    /// One lane per node (the first of a cloned id's), in lane order.
    pub fn node_lanes(&self) -> impl Iterator<Item = (usize, &Lane, NodeId)> {
        let mut seen = BTreeSet::new();
        self.lanes.iter().enumerate().filter_map(move |(i, l)| l.node.filter(|n| seen.insert(*n)).map(|n| (i, l, n)))
    }
}

/// What a marker shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    FirstContact,
    MeetSent,
    MeetReceived,
    AnsweredByOther,
    Collision,
    IdConflict,
    AddressReuse,
    LastHeard,
    Fail,
    FailReported,
    Failover,
    RoleChange,
    SlotChange,
    NewConnections,
}

impl MarkerKind {
    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::FirstContact => "first_contact",
            MarkerKind::MeetSent => "meet_sent",
            MarkerKind::MeetReceived => "meet_received",
            MarkerKind::AnsweredByOther => "answered_by_other",
            MarkerKind::Collision => "address_collision",
            MarkerKind::IdConflict => "id_conflict",
            MarkerKind::AddressReuse => "address_reuse",
            MarkerKind::LastHeard => "last_heard",
            MarkerKind::Fail => "fail",
            MarkerKind::FailReported => "fail_reported",
            MarkerKind::Failover => "failover",
            MarkerKind::RoleChange => "role_change",
            MarkerKind::SlotChange => "slot_change",
            MarkerKind::NewConnections => "new_connections",
        }
    }
}

impl Serialize for MarkerKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Marker kinds in legend order.
pub const MARKER_KINDS: [MarkerKind; 14] = [
    MarkerKind::FirstContact,
    MarkerKind::MeetSent,
    MarkerKind::MeetReceived,
    MarkerKind::AnsweredByOther,
    MarkerKind::Collision,
    MarkerKind::IdConflict,
    MarkerKind::AddressReuse,
    MarkerKind::LastHeard,
    MarkerKind::Fail,
    MarkerKind::FailReported,
    MarkerKind::Failover,
    MarkerKind::RoleChange,
    MarkerKind::SlotChange,
    MarkerKind::NewConnections,
];

/// The window drawn by default: the incident plus a margin each side,
/// within the capture; the whole capture when nothing happened.
pub fn default_window(a: &Analysis, first: i64, last: i64) -> (i64, i64) {
    match incident::incident_span(a) {
        Some(s) => {
            let (start, end) = (s.first.ts_us, s.last.ts_us);
            let margin = ((end - start) / 10).clamp(MARGIN_MIN_US, MARGIN_MAX_US);
            ((start - margin).max(first), (end + margin).min(last).max(first))
        }
        None => (first, last),
    }
}

/// The capture's first and last moment: of its decoded messages, else of
/// its encrypted connections.
pub fn capture_span(a: &Analysis) -> (i64, i64) {
    let first = a.t0_us().unwrap_or(0);
    let ends = a.captures.iter().filter_map(|c| c.last_ts_us);
    let last = ends.chain(a.coverage.encrypted.iter().map(|f| f.last_ts_us)).max().unwrap_or(first).max(first);
    (first, last)
}

fn window(a: &Analysis, since_us: Option<i64>, until_us: Option<i64>) -> (i64, i64, Window) {
    let (first, last) = capture_span(a);
    let incident = incident::incident_span(a);
    if since_us.is_some() || until_us.is_some() {
        let t0 = since_us.unwrap_or(first).clamp(first, last);
        let t1 = until_us.unwrap_or(last).min(last).max(t0);
        let text = format!("window {} to {} as asked (--since/--until)", hms(t0), hms(t1));
        return (t0, t1, Window { kind: WindowKind::Asked, incident, text });
    }
    let (t0, t1) = default_window(a, first, last);
    let text = match &incident {
        Some(s) => format!(
            "window: the incident, first evidence {} ({}) to last damage {} ({}), plus margins",
            hms(s.first.ts_us),
            s.first.what,
            hms(s.last.ts_us),
            s.last.what
        ),
        None => "window: the whole capture (no incident found)".into(),
    };
    let kind = if incident.is_some() { WindowKind::Incident } else { WindowKind::Capture };
    (t0, t1, Window { kind, incident, text })
}

/// Lanes: nodes by starting cluster, then first seen; a cloned id's
/// instances one lane each, together; a node that took a dead node's
/// address right after it; then encrypted bus ports.
fn lanes(a: &Analysis) -> (Vec<Lane>, Vec<String>, Option<usize>) {
    let mut groups: Vec<String> = a.clusters.iter().map(|c| c.label.clone()).collect();
    let mut nodes: Vec<&NodeSummary> = a.nodes.iter().collect();
    nodes.sort_by(|x, y| {
        let gx = x.cluster.clone().unwrap_or_else(|| "~".into());
        let gy = y.cluster.clone().unwrap_or_else(|| "~".into());
        (gx, x.first_seen_us, x.id).cmp(&(gy, y.first_seen_us, y.id))
    });
    // A node that took a dead node's address follows it.
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::AddressReuse) {
        if let [old, new, ..] = f.nodes.as_slice()
            && let Some(from) = nodes.iter().position(|n| n.id == *new)
        {
            let n = nodes.remove(from);
            let at = nodes.iter().position(|x| x.id == *old).map_or(nodes.len(), |i| i + 1);
            nodes.insert(at, n);
        }
    }
    let none_group = nodes.iter().any(|n| n.cluster.is_none()).then(|| {
        groups.push("none".into());
        groups.len() - 1
    });
    let mut out = Vec::new();
    for n in nodes {
        let group = match &n.cluster {
            Some(c) => groups.iter().position(|x| x == c).unwrap_or(0),
            None => none_group.unwrap_or(0),
        };
        let lane = |kind, label, heard| Lane { node: Some(n.id), kind, label, cluster: n.cluster.clone(), group, heard_us: heard };
        match a.id_conflicts.iter().find(|c| c.node == n.id) {
            Some(c) if c.instances.len() > 1 => {
                for (k, i) in c.instances.iter().enumerate() {
                    let label = format!("{} {} #{}", n.short, i.address, k + 1);
                    out.push(lane(LaneKind::Instance, label, Some((i.first_ts_us, i.last_ts_us))));
                }
            }
            _ => {
                let label = format!("{} {}", n.short, n.best_address);
                out.push(lane(LaneKind::Node, label, Some((n.first_seen_us, n.last_seen_us))));
            }
        }
    }
    // Encrypted bus ports: one lane each.
    let mut ports: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for f in a.coverage.encrypted.iter().filter(|f| f.likely_bus.is_some()) {
        let e = ports.entry(f.server.as_str()).or_insert((f.first_ts_us, f.last_ts_us));
        *e = (e.0.min(f.first_ts_us), e.1.max(f.last_ts_us));
    }
    if !ports.is_empty() {
        groups.push("encrypted".into());
    }
    for (server, heard) in ports {
        out.push(Lane {
            node: None,
            kind: LaneKind::Encrypted,
            label: format!("{server} TLS"),
            cluster: None,
            group: groups.len() - 1,
            heard_us: Some(heard),
        });
    }
    (out, groups, none_group)
}

/// Builds the timeline: the window is `[since, until]` when either is
/// given (the other defaults to the capture's edge), else
/// [`default_window`].
pub fn build_timeline(a: &Analysis, since_us: Option<i64>, until_us: Option<i64>) -> Timeline {
    let (first, last) = capture_span(a);
    let (t0, t1, window) = window(a, since_us, until_us);
    let inside = |ts: i64| ts >= t0 && ts <= t1;
    let mut all_times = Vec::new();
    let (lanes, groups, none_group) = lanes(a);
    let mut lanes_of: BTreeMap<NodeId, Vec<usize>> = BTreeMap::new();
    for (i, l) in lanes.iter().enumerate() {
        if let Some(n) = l.node {
            lanes_of.entry(n).or_default().push(i);
        }
    }
    let lane_of = |n: &NodeId| lanes_of.get(n).and_then(|v| v.first().copied());
    let port_lane = |server: &str| lanes.iter().position(|l| l.kind == LaneKind::Encrypted && l.label == format!("{server} TLS"));

    let mut markers = Vec::new();
    let mut push = |ts: i64, lane: Option<usize>, kind: MarkerKind, label: String, note: Option<String>| {
        all_times.push(ts);
        if let Some(lane) = lane
            && inside(ts)
        {
            markers.push(Marker { ts_us: ts, lane, kind, label, note });
        }
    };
    for n in &a.nodes {
        push(n.first_seen_us, lane_of(&n.id), MarkerKind::FirstContact, format!("{} first seen", n.short), None);
    }
    for i in &a.introductions {
        match i.via {
            Via::OperatorMeet => {
                push(i.ts_us, lane_of(&i.learner), MarkerKind::MeetSent, format!("MEET to {}", i.node.short()), None)
            }
            Via::Meet => {
                push(i.ts_us, lane_of(&i.learner), MarkerKind::MeetReceived, format!("MEET from {}", i.node.short()), None)
            }
            Via::Gossip => {
                if let Some((w, n)) = i.answered_by_other() {
                    let label = format!("{} answered for {}", w.short(), n.short());
                    push(i.ts_us, lane_of(&i.learner), MarkerKind::AnsweredByOther, label, None);
                }
            }
            Via::MeetGossip | Via::Prior | Via::Unobserved => {}
        }
    }

    // Notes, lettered in time order; their marks carry the letter.
    let raw = incident::notes(a);
    let notes: Vec<IncidentNote> = raw
        .iter()
        .filter(|n| inside(n.0))
        .enumerate()
        .map(|(k, n)| IncidentNote { tag: incident::tag(k), ts_us: n.0, kind: n.1.clone(), text: n.2.clone() })
        .collect();
    let tag_of = |ts: i64, kind: &str| notes.iter().find(|n| n.ts_us == ts && n.kind == kind).map(|n| n.tag.clone());
    let heard = |n: &NodeId| a.nodes.iter().find(|x| x.id == *n).map(|x| x.last_seen_us);
    for f in &a.findings {
        let tag = tag_of(f.ts_us, f.kind.as_str());
        let all_lanes = |n: &NodeId| lanes_of.get(n).cloned().unwrap_or_default();
        let incident = f.severity == Severity::Incident;
        match f.kind {
            FindingKind::NodeFailed => {
                if let Some(n) = f.nodes.first() {
                    if let Some(t) = heard(n).filter(|t| *t < f.ts_us) {
                        push(t, lane_of(n), MarkerKind::LastHeard, format!("{} last message", n.short()), None);
                    }
                    push(f.ts_us, lane_of(n), MarkerKind::Fail, format!("{} declared FAIL", n.short()), tag.clone());
                }
                for r in f.nodes.iter().skip(1) {
                    let label = format!("{} sent FAIL about {}", r.short(), f.nodes[0].short());
                    push(f.ts_us, lane_of(r), MarkerKind::FailReported, label, None);
                }
            }
            FindingKind::Failover => {
                if let Some(n) = f.nodes.first() {
                    push(f.ts_us, lane_of(n), MarkerKind::Failover, format!("{} promoted", n.short()), tag.clone());
                }
            }
            FindingKind::SenderMismatch if f.nodes.len() == 3 => {
                let label = format!("{} dialled {}; {} answered", f.nodes[0].short(), f.nodes[1].short(), f.nodes[2].short());
                for (k, n) in f.nodes.iter().enumerate() {
                    if incident || k == 0 {
                        let t = if k == 0 { tag.clone() } else { None };
                        push(f.ts_us, lane_of(n), MarkerKind::AnsweredByOther, label.clone(), t);
                    }
                }
            }
            FindingKind::AddressCollision if incident => {
                let label = format!("{} answered by {} nodes", f.addresses.join(", "), f.nodes.len());
                for (k, n) in f.nodes.iter().enumerate() {
                    push(f.ts_us, lane_of(n), MarkerKind::Collision, label.clone(), tag.clone().filter(|_| k == 0));
                }
            }
            FindingKind::IdConflict => {
                let label = format!("{} claimed by {} instances", f.nodes.first().map(|n| n.short()).unwrap_or_default(), f.addresses.len());
                for (k, l) in f.nodes.first().map(all_lanes).unwrap_or_default().into_iter().enumerate() {
                    push(f.ts_us, Some(l), MarkerKind::IdConflict, label.clone(), tag.clone().filter(|_| k == 1));
                }
            }
            FindingKind::AddressReuse => {
                let label = format!("{} reused", f.addresses.join(", "));
                for (k, n) in f.nodes.iter().enumerate() {
                    push(f.ts_us, lane_of(n), MarkerKind::AddressReuse, label.clone(), tag.clone().filter(|_| k == 1));
                }
            }
            _ => {}
        }
    }
    for r in &a.damage.role_changes {
        push(r.ts_us, lane_of(&r.node), MarkerKind::RoleChange, format!("{} → {}", r.from, r.to), None);
    }
    for m in &a.damage.slot_moves {
        if let Some(to) = &m.to {
            push(m.ts_us, lane_of(to), MarkerKind::SlotChange, format!("+{} slots", m.count), None);
        }
        if let Some(from) = &m.from {
            push(m.ts_us, lane_of(from), MarkerKind::SlotChange, format!("-{} slots", m.count), None);
        }
    }
    let quiet_only = a.coverage.bursts.iter().any(|b| b.quiet_before_us.is_some());
    let mut bursts = Vec::new();
    for b in &a.coverage.bursts {
        let tag = tag_of(b.ts_us, "encrypted_burst");
        for (k, s) in b.servers.iter().enumerate() {
            let label = format!("new encrypted connections to {s}");
            push(b.ts_us, port_lane(s), MarkerKind::NewConnections, label, tag.clone().filter(|_| k == 0));
        }
        if inside(b.ts_us) || inside(b.last_ts_us) || (b.ts_us < t0 && b.last_ts_us > t1) {
            bursts.push(Burst {
                from_us: b.ts_us,
                to_us: b.last_ts_us,
                stream_directions: b.stream_directions,
                servers: b.servers.len(),
                quiet_before_us: b.quiet_before_us.filter(|_| quiet_only),
            });
        }
    }
    markers.sort_by(|x, y| (x.ts_us, x.lane, x.kind.as_str()).cmp(&(y.ts_us, y.lane, y.kind.as_str())));
    markers.dedup_by(|x, y| {
        let same = x.ts_us == y.ts_us && x.lane == y.lane && x.kind == y.kind;
        if same && y.note.is_none() {
            y.note = x.note.take();
        }
        same
    });

    let chain: BTreeSet<(NodeId, NodeId)> =
        a.merges.iter().flat_map(|m| m.chain.iter().map(|i| (i.learner, i.node))).collect();
    let mut steps: BTreeMap<(i64, NodeId, NodeId), ChainStep> = BTreeMap::new();
    for (k, m) in a.merges.iter().enumerate() {
        for (s, i) in m.chain.iter().enumerate() {
            let step = ChainStep { merge: (a.merges.len() > 1).then_some(k + 1), step: s + 1 };
            steps.entry((i.ts_us, i.learner, i.node)).or_insert(step);
        }
    }
    let mut arrows = Vec::new();
    for i in &a.introductions {
        if i.via.is_hearsay() {
            continue;
        }
        all_times.push(i.ts_us);
        if !inside(i.ts_us) {
            continue;
        }
        let from = i.introducer.unwrap_or(i.node);
        if let (Some(f), Some(t)) = (lane_of(&from), lane_of(&i.learner)) {
            arrows.push(Arrow {
                ts_us: i.ts_us,
                from_lane: f,
                to_lane: t,
                via: i.via,
                in_chain: chain.contains(&(i.learner, i.node)),
                step: steps.get(&(i.ts_us, i.learner, i.node)).copied(),
            });
        }
    }

    let overlaps = |from: i64, to: i64| from <= t1 && to >= t0;
    let mut spans = Vec::new();
    let mut joins = Vec::new();
    for u in incident::unserved(a) {
        let to = u.to_us.unwrap_or(t1).max(u.from_us);
        if let Some(l) = lane_of(&u.failed)
            && overlaps(u.from_us, to)
        {
            let how_long = match u.to_us {
                Some(p) => format!("{:.1} s", (p - u.from_us) as f64 / 1e6),
                None => "no replica promoted".into(),
            };
            let label = format!("slots {} unserved ({how_long})", u.slots);
            spans.push(Span { kind: SpanKind::Unserved, lane: l, other_lane: None, from_us: u.from_us, to_us: to, count: 0, label });
        }
        if let (Some(s), Some(p)) = (u.successor, u.to_us)
            && let (Some(from), Some(to)) = (lane_of(&u.failed), lane_of(&s))
            && inside(p)
        {
            let label = format!("{} replaces {}", s.short(), u.failed.short());
            joins.push(Join { kind: JoinKind::Promotion, from_lane: from, from_us: p, to_lane: to, to_us: p, label });
        }
    }
    for c in &a.id_conflicts {
        let ls = lanes_of.get(&c.node).cloned().unwrap_or_default();
        let (Some(&first), Some(&second)) = (ls.first(), ls.get(1)) else { continue };
        if inside(c.began_us) {
            let label = format!("same id {}", c.node.short());
            joins.push(Join { kind: JoinKind::SameId, from_lane: first, from_us: c.began_us, to_lane: second, to_us: c.began_us, label });
        }
        for e in c.flapping.iter().filter(|e| overlaps(e.first_ts_us, e.last_ts_us)) {
            spans.push(Span {
                kind: SpanKind::Flapping,
                lane: first,
                other_lane: Some(second),
                from_us: e.first_ts_us,
                to_us: e.last_ts_us,
                count: e.changes,
                label: format!("{} address changes in peers' views", e.changes),
            });
        }
    }
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::AddressReuse) {
        if let [old, new, ..] = f.nodes.as_slice()
            && let (Some(from), Some(to)) = (lane_of(old), lane_of(new))
        {
            let gone = heard(old).unwrap_or(f.ts_us).min(f.ts_us);
            if overlaps(gone, f.ts_us) {
                let label = format!("{} reused", f.addresses.join(", "));
                joins.push(Join { kind: JoinKind::ReusedAddress, from_lane: from, from_us: gone, to_lane: to, to_us: f.ts_us, label });
            }
        }
    }
    for f in a.coverage.encrypted.iter().filter(|f| f.likely_bus.is_some()) {
        if let Some(l) = port_lane(&f.server)
            && overlaps(f.first_ts_us, f.last_ts_us)
        {
            spans.push(Span {
                kind: SpanKind::Encrypted,
                lane: l,
                other_lane: None,
                from_us: f.first_ts_us,
                to_us: f.last_ts_us,
                count: f.connections,
                label: format!("{} → {}: {} stream direction(s), {} bytes", f.client, f.server, f.connections, f.bytes),
            });
        }
    }

    let overview = Overview {
        first_us: first,
        last_us: last,
        activity: buckets(&all_times, first, last),
        merges_us: a.merges.iter().map(|m| m.ts_us).collect(),
    };
    let merges = a
        .merges
        .iter()
        .filter(|m| inside(m.ts_us))
        .map(|m| MergeLine {
            ts_us: m.ts_us,
            label: format!(
                "merge: {} + {} nodes",
                m.sides.first().map_or(0, Vec::len),
                m.sides.get(1).map_or(0, Vec::len)
            ),
        })
        .collect();
    let cluster_count = if a.nodes.is_empty() { Vec::new() } else { cluster_count(a, t0, t1) };
    Timeline {
        t0_us: t0,
        t1_us: t1,
        window,
        overview,
        groups,
        none_group,
        lanes,
        markers,
        arrows,
        merges,
        cluster_count,
        spans,
        joins,
        bursts,
        notes,
    }
}

/// Separate clusters over `[t0, t1]`: one fewer at each merge.
fn cluster_count(a: &Analysis, t0: i64, t1: i64) -> Vec<(i64, usize)> {
    let mut count = a.clusters.len();
    let mut out = vec![(t0, count)];
    for m in &a.merges {
        count = count.saturating_sub(1);
        if m.ts_us > t0 {
            out.push((m.ts_us.min(t1), count));
        } else if let Some(c) = out.first_mut() {
            c.1 = count;
        }
    }
    out.push((t1, count));
    out
}

/// How many of `times` fall in each of [`OVERVIEW_BUCKETS`] slices of
/// `[first, last]`.
fn buckets(times: &[i64], first: i64, last: i64) -> Vec<u32> {
    let mut out = vec![0u32; OVERVIEW_BUCKETS];
    let span = (last - first).max(1) as i128;
    for &ts in times.iter().filter(|&&ts| ts >= first && ts <= last) {
        let k = ((ts - first) as i128 * OVERVIEW_BUCKETS as i128 / span) as usize;
        if let Some(b) = out.get_mut(k.min(OVERVIEW_BUCKETS - 1)) {
            *b += 1;
        }
    }
    out
}
