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

//!
//! | file | builds |
//! |---|---|
//! | `mod.rs` | the types, and [`build_timeline`] from the parts below |
//! | `window.rs` | the window (the incident's by default), the capture's span, the overview, the cluster count |
//! | `lanes.rs` | the lanes, and where each node's lanes are |
//! | `marks.rs` | markers, the lettered notes, bursts of encrypted connections |
//! | `shapes.rs` | introductions (arrows), spans and connectors between lanes |

mod lanes;
mod marks;
mod shapes;
pub mod window;

use super::incident::{IncidentNote, IncidentSpan};
use crate::analysis::model::{Analysis, NodeId, Via};
use serde::{Serialize, Serializer};
use std::collections::BTreeSet;
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

/// Builds the timeline: the window is `[since, until]` when either is
/// given (the other defaults to the capture's edge), else
/// [`window::default_window`].
pub fn build_timeline(a: &Analysis, since_us: Option<i64>, until_us: Option<i64>) -> Timeline {
    let (first, last) = window::capture_span(a);
    let (t0, t1, window) = window::window(a, since_us, until_us);
    let (lanes, groups, none_group) = lanes::lanes(a);
    let cx = lanes::Ctx::new(a, t0, t1, &lanes);
    let mut all_times = Vec::new();
    let notes = marks::notes(&cx);
    let markers = marks::markers(&cx, &notes, &mut all_times);
    let arrows = shapes::arrows(&cx, &mut all_times);
    let (spans, joins) = shapes::spans_and_joins(&cx);
    let bursts = marks::bursts(&cx);
    let overview = window::overview(a, first, last, &all_times);
    let merges = window::merge_lines(a, t0, t1);
    let cluster_count = if a.nodes.is_empty() { Vec::new() } else { window::cluster_count(a, t0, t1) };
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
