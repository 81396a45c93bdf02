//! The lanes: nodes by starting cluster, then first seen; a cloned id's
//! instances one lane each, together; a node that took a dead node's
//! address right after that node; then encrypted bus ports. And
//! [`Ctx`], what the other parts need to find a node's lanes.

use super::{Lane, LaneKind};
use crate::analysis::model::{Analysis, FindingKind, NodeId, NodeSummary};
use std::collections::BTreeMap;

/// The label of an encrypted bus port's lane.
fn port_label(server: &str) -> String {
    format!("{server} TLS")
}

/// The lanes, the group names (clusters, then `none`, then `encrypted`)
/// and the index of `none`.
pub(super) fn lanes(a: &Analysis) -> (Vec<Lane>, Vec<String>, Option<usize>) {
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
        let lane = |kind, label, heard| Lane {
            node: Some(n.id),
            kind,
            label,
            cluster: n.cluster.clone(),
            group,
            heard_us: heard,
        };
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
            label: port_label(server),
            cluster: None,
            group: groups.len() - 1,
            heard_us: Some(heard),
        });
    }
    (out, groups, none_group)
}

/// What the parts of the build share: the analysis, the window, the lanes.
pub(super) struct Ctx<'a> {
    pub a: &'a Analysis,
    pub t0: i64,
    pub t1: i64,
    lanes: &'a [Lane],
    lanes_of: BTreeMap<NodeId, Vec<usize>>,
}

impl<'a> Ctx<'a> {
    pub fn new(a: &'a Analysis, t0: i64, t1: i64, lanes: &'a [Lane]) -> Self {
        let mut lanes_of: BTreeMap<NodeId, Vec<usize>> = BTreeMap::new();
        for (i, l) in lanes.iter().enumerate() {
            if let Some(n) = l.node {
                lanes_of.entry(n).or_default().push(i);
            }
        }
        Ctx { a, t0, t1, lanes, lanes_of }
    }

    /// `ts` is in the window.
    pub fn inside(&self, ts: i64) -> bool {
        ts >= self.t0 && ts <= self.t1
    }

    /// `[from, to]` meets the window.
    pub fn overlaps(&self, from: i64, to: i64) -> bool {
        from <= self.t1 && to >= self.t0
    }

    /// A node's (first) lane.
    pub fn lane_of(&self, n: &NodeId) -> Option<usize> {
        self.lanes_of.get(n).and_then(|v| v.first().copied())
    }

    /// Every lane of a node (one per instance of a cloned id).
    pub fn lanes_of(&self, n: &NodeId) -> &[usize] {
        self.lanes_of.get(n).map_or(&[], Vec::as_slice)
    }

    /// The lane of an encrypted bus port (`ip:port`).
    pub fn port_lane(&self, server: &str) -> Option<usize> {
        let label = port_label(server);
        self.lanes.iter().position(|l| l.kind == LaneKind::Encrypted && l.label == label)
    }

    /// A node's last message.
    pub fn last_heard(&self, n: &NodeId) -> Option<i64> {
        self.a.nodes.iter().find(|x| x.id == *n).map(|x| x.last_seen_us)
    }
}
