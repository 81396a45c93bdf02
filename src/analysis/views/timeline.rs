//! Chart-ready data for the timeline and the introduction graph: plain,
//! serialisable numbers computed from an [`Analysis`]. Renderers
//! (`output::chart`, `output::dot`, `output::html`) only draw this.

use crate::analysis::model::{Analysis, FindingKind, NodeId, Phase, Via};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One horizontal lane per node.
#[derive(Clone, Debug, Serialize)]
pub struct Lane {
    pub node: NodeId,
    /// Short id and best address.
    pub label: String,
    /// Cluster the node started in (`null`: none).
    pub cluster: Option<String>,
    /// Index into [`Timeline::groups`] for colouring.
    pub group: usize,
}

/// Something worth a marker on a lane.
#[derive(Clone, Debug, Serialize)]
pub struct Marker {
    pub ts_us: i64,
    pub lane: usize,
    pub kind: MarkerKind,
    pub label: String,
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

/// Slices of the overview strip.
pub const OVERVIEW_BUCKETS: usize = 160;
/// Margin around the activity in the default window: a tenth of the
/// activity's span, at least [`MARGIN_MIN_US`], at most [`MARGIN_MAX_US`].
pub const MARGIN_MIN_US: i64 = 1_000_000;
pub const MARGIN_MAX_US: i64 = 5_000_000;

/// Everything a timeline chart needs.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// The window drawn: by default the activity (see [`activity`]) with a
    /// margin; `--since/--until` set it.
    pub t0_us: i64,
    pub t1_us: i64,
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
    /// Number of separate clusters over time (a step series).
    pub cluster_count: Vec<(i64, usize)>,
}

/// What a marker shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    FirstContact,
    MeetSent,
    MeetReceived,
    AnsweredByOther,
    Fail,
    Failover,
    RoleChange,
    SlotChange,
}

impl MarkerKind {
    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::FirstContact => "first_contact",
            MarkerKind::MeetSent => "meet_sent",
            MarkerKind::MeetReceived => "meet_received",
            MarkerKind::AnsweredByOther => "answered_by_other",
            MarkerKind::Fail => "fail",
            MarkerKind::Failover => "failover",
            MarkerKind::RoleChange => "role_change",
            MarkerKind::SlotChange => "slot_change",
        }
    }
}

impl Serialize for MarkerKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Marker kinds in legend order.
pub const MARKER_KINDS: [MarkerKind; 8] = [
    MarkerKind::FirstContact,
    MarkerKind::MeetSent,
    MarkerKind::MeetReceived,
    MarkerKind::AnsweredByOther,
    MarkerKind::Fail,
    MarkerKind::Failover,
    MarkerKind::RoleChange,
    MarkerKind::SlotChange,
];

/// First and last moment of the action: findings, merges with their
/// chains and damage outside the setup phase. `None` when all is setup.
pub fn activity(a: &Analysis) -> Option<(i64, i64)> {
    let findings = a.findings.iter().filter(|f| f.phase != Phase::Setup).map(|f| f.ts_us);
    let merges = a.merges.iter().flat_map(|m| std::iter::once(m.ts_us).chain(m.chain.iter().map(|i| i.ts_us)));
    let roles = a.damage.role_changes.iter().filter(|r| r.phase != Phase::Setup).map(|r| r.ts_us);
    let slots = a.damage.slot_moves.iter().filter(|m| m.phase != Phase::Setup).map(|m| m.ts_us);
    let all: Vec<i64> = findings.chain(merges).chain(roles).chain(slots).collect();
    Some((*all.iter().min()?, *all.iter().max()?))
}

/// The window drawn by default: the activity plus a margin each side,
/// within the capture; the whole capture when nothing happened.
pub fn default_window(a: &Analysis, first: i64, last: i64) -> (i64, i64) {
    match activity(a) {
        Some((start, end)) => {
            let margin = ((end - start) / 10).clamp(MARGIN_MIN_US, MARGIN_MAX_US);
            ((start - margin).max(first), (end + margin).min(last).max(first))
        }
        None => (first, last),
    }
}

/// Builds the timeline: the window is `[since, until]` when either is
/// given (the other defaults to the capture's end), else
/// [`default_window`].
pub fn build_timeline(a: &Analysis, since_us: Option<i64>, until_us: Option<i64>) -> Timeline {
    // An encrypted bus decodes nothing: its connections still date it.
    let first = a.t0_us().unwrap_or(0);
    let ends = a.captures.iter().filter_map(|c| c.last_ts_us);
    let last = ends.chain(a.coverage.encrypted.iter().map(|f| f.last_ts_us)).max().unwrap_or(first).max(first);
    let (t0, t1) = if since_us.is_none() && until_us.is_none() {
        default_window(a, first, last)
    } else {
        let t0 = since_us.unwrap_or(first).max(first);
        (t0, until_us.unwrap_or(last).min(last).max(t0))
    };
    let inside = |ts: i64| ts >= t0 && ts <= t1;
    let mut all_times = Vec::new();

    let mut groups: Vec<String> = a.clusters.iter().map(|c| c.label.clone()).collect();
    let mut nodes: Vec<&crate::analysis::model::NodeSummary> = a.nodes.iter().collect();
    nodes.sort_by(|x, y| {
        let gx = x.cluster.clone().unwrap_or_else(|| "~".into());
        let gy = y.cluster.clone().unwrap_or_else(|| "~".into());
        (gx, x.first_seen_us, x.id).cmp(&(gy, y.first_seen_us, y.id))
    });
    let none_group = nodes.iter().any(|n| n.cluster.is_none()).then(|| {
        groups.push("none".into());
        groups.len() - 1
    });
    let lanes: Vec<Lane> = nodes
        .iter()
        .map(|n| {
            let group = match &n.cluster {
                Some(c) => groups.iter().position(|x| x == c).unwrap_or(0),
                None => none_group.unwrap_or(0),
            };
            Lane { node: n.id, label: format!("{} {}", n.short, n.best_address), cluster: n.cluster.clone(), group }
        })
        .collect();
    let lane_of: BTreeMap<NodeId, usize> = lanes.iter().enumerate().map(|(i, l)| (l.node, i)).collect();

    let mut markers = Vec::new();
    let mut push = |ts: i64, node: &NodeId, kind: MarkerKind, label: String| {
        all_times.push(ts);
        if let Some(&lane) = lane_of.get(node)
            && inside(ts)
        {
            markers.push(Marker { ts_us: ts, lane, kind, label });
        }
    };
    for n in &a.nodes {
        push(n.first_seen_us, &n.id, MarkerKind::FirstContact, format!("{} first seen", n.short));
    }
    for i in &a.introductions {
        match i.via {
            Via::OperatorMeet => push(i.ts_us, &i.learner, MarkerKind::MeetSent, format!("MEET to {}", i.node.short())),
            Via::Meet => push(i.ts_us, &i.learner, MarkerKind::MeetReceived, format!("MEET from {}", i.node.short())),
            Via::Gossip => {
                if let Some((w, n)) = i.answered_by_other() {
                    let label = format!("{} answered for {}", w.short(), n.short());
                    push(i.ts_us, &i.learner, MarkerKind::AnsweredByOther, label);
                }
            }
            Via::MeetGossip | Via::Prior | Via::Unobserved => {}
        }
    }
    for f in &a.findings {
        let Some(first) = f.nodes.first() else { continue };
        match f.kind {
            FindingKind::NodeFailed => push(f.ts_us, first, MarkerKind::Fail, "FAIL".into()),
            FindingKind::Failover => push(f.ts_us, first, MarkerKind::Failover, "promoted".into()),
            FindingKind::SenderMismatch if f.nodes.len() == 3 => {
                push(f.ts_us, first, MarkerKind::AnsweredByOther, format!("{} answered", f.nodes[2].short()))
            }
            _ => {}
        }
    }
    for r in &a.damage.role_changes {
        push(r.ts_us, &r.node, MarkerKind::RoleChange, format!("{} → {}", r.from, r.to));
    }
    for m in &a.damage.slot_moves {
        if let Some(to) = &m.to {
            push(m.ts_us, to, MarkerKind::SlotChange, format!("+{} slots", m.count));
        }
        if let Some(from) = &m.from {
            push(m.ts_us, from, MarkerKind::SlotChange, format!("-{} slots", m.count));
        }
    }
    markers.sort_by(|x, y| (x.ts_us, x.lane, x.kind.as_str()).cmp(&(y.ts_us, y.lane, y.kind.as_str())));
    markers.dedup_by(|x, y| x.ts_us == y.ts_us && x.lane == y.lane && x.kind == y.kind);

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
        if let (Some(&f), Some(&t)) = (lane_of.get(&from), lane_of.get(&i.learner)) {
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
    let mut count = a.clusters.len();
    let mut cluster_count = vec![(t0, count)];
    for m in &a.merges {
        count = count.saturating_sub(1);
        if m.ts_us > t0 {
            cluster_count.push((m.ts_us.min(t1), count));
        } else if let Some(c) = cluster_count.first_mut() {
            c.1 = count;
        }
    }
    cluster_count.push((t1, count));
    Timeline { t0_us: t0, t1_us: t1, overview, groups, none_group, lanes, markers, arrows, merges, cluster_count }
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
