//! Alerts for `watch`: every event an analysis reports (joins, merges,
//! findings, slot changes, what could not be read) as one flat record, and
//! which of them are new since the last look. `watch` looks at provisional
//! analyses while capturing and at the final one at the end, so what it printed
//! and what `analyze` reports for the same capture are the same events.

use crate::analysis::model::{
    Analysis, BestAddresses, Evidence, FindingKind, Introduction, NodeId, Severity, describe,
};
use crate::clusterbus::types::format_slot_ranges;
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

/// What an alert is about: a finding of its kind, or one of the events
/// that are not findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Finding(FindingKind),
    /// A node joined a cluster.
    Join,
    /// Two clusters became one.
    Merge,
    /// Slots changed owner.
    SlotChange,
    /// Something the captures cannot show (told at the end).
    BusUnreadable,
}

impl AlertKind {
    /// The name `watch` prints (a finding's is its kind's).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Finding(k) => k.as_str(),
            AlertKind::Join => "join",
            AlertKind::Merge => "merge",
            AlertKind::SlotChange => "slot_change",
            AlertKind::BusUnreadable => "bus_unreadable",
        }
    }

    /// Told at the first look that shows it: two nodes answering one
    /// address, or one id from two places, stay so whatever comes later.
    fn certain_at_once(self) -> bool {
        matches!(self, AlertKind::Merge | AlertKind::Finding(FindingKind::AddressCollision | FindingKind::IdConflict))
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AlertKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialOrd for AlertKind {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for AlertKind {
    /// By name: alerts at one time are listed in the order of their names.
    fn cmp(&self, o: &Self) -> Ordering {
        self.as_str().cmp(o.as_str())
    }
}

/// One event, as `watch` prints it (`--json-events`: one per line).
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub ts_us: i64,
    pub kind: AlertKind,
    pub severity: Severity,
    pub nodes: Vec<NodeId>,
    pub addresses: Vec<String>,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// A merge: its sides and its chain (patient zero first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sides: Option<Vec<Vec<NodeId>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<Introduction>>,
}

impl Alert {
    /// What identifies the event across looks (counts and last times grow;
    /// an address's finding keeps its address while its date may move to
    /// earlier evidence found later).
    pub fn key(&self) -> (AlertKind, String, i64) {
        if !self.addresses.is_empty() {
            return (self.kind, self.addresses.join(","), 0);
        }
        let nodes: Vec<String> = self.nodes.iter().map(|n| n.as_str().into_owned()).collect();
        let ts = if self.kind == AlertKind::BusUnreadable { 0 } else { self.ts_us };
        (self.kind, nodes.join(","), ts)
    }
}

/// Every event of `a`, in time order.
pub fn alerts(a: &Analysis) -> Vec<Alert> {
    let best: BestAddresses = a.best_addresses();
    let mut out = Vec::new();
    let plain = |ts_us, kind, severity, nodes, summary, evidence| Alert {
        ts_us,
        kind,
        severity,
        nodes,
        addresses: Vec::new(),
        summary,
        evidence,
        sides: None,
        chain: None,
    };
    for j in &a.joins {
        let intro = a.introductions.get(j.introduction);
        let summary = match intro {
            Some(i) => format!("{} joined a cluster of {}: {}", j.node.short(), j.joined.len(), describe(i, &best)),
            None => format!("{} joined a cluster of {}", j.node.short(), j.joined.len()),
        };
        let evidence = intro.map(|i| i.evidence.clone()).unwrap_or_default();
        out.push(plain(j.ts_us, AlertKind::Join, Severity::Info, vec![j.node], summary, evidence));
    }
    for m in &a.merges {
        let sides: Vec<String> =
            m.sides.iter().map(|s| s.iter().map(|n| n.short().into_owned()).collect::<Vec<_>>().join(" ")).collect();
        // The story's root cause names the step that fused the clusters
        // (told for the first merge).
        let root = a.story.merges.first().and_then(|s| s.root_cause.clone()).filter(|_| std::ptr::eq(m, &a.merges[0]));
        let link = match root {
            Some(r) => r,
            None => m.chain.last().map(|i| describe(i, &best)).unwrap_or_default(),
        };
        let mut alert = plain(
            m.ts_us,
            AlertKind::Merge,
            Severity::Incident,
            m.sides.iter().flatten().copied().collect(),
            format!("clusters {{{}}} merged: {link}", sides.join("} and {")),
            m.chain.iter().flat_map(|i| i.evidence.clone()).collect(),
        );
        alert.sides = Some(m.sides.clone());
        alert.chain = Some(m.chain.clone());
        out.push(alert);
    }
    for f in &a.findings {
        out.push(Alert {
            ts_us: f.first_ts_us,
            kind: AlertKind::Finding(f.kind),
            severity: f.severity,
            nodes: f.nodes.clone(),
            addresses: f.addresses.clone(),
            summary: f.summary.clone(),
            evidence: f.evidence.clone(),
            sides: None,
            chain: None,
        });
    }
    for s in &a.damage.slot_moves {
        let from = s.from.map_or("nobody".to_string(), |n| n.short().into_owned());
        let to = s.to.map_or("nobody".to_string(), |n| n.short().into_owned());
        let nodes = s.from.into_iter().chain(s.to).collect();
        let summary = format!("slots {} ({}) {from} → {to}", format_slot_ranges(&s.slots), s.count);
        out.push(plain(s.ts_us, AlertKind::SlotChange, Severity::Warning, nodes, summary, s.evidence.clone()));
    }
    for l in &a.coverage.limits {
        let ts = a.t0_us().unwrap_or(0);
        out.push(plain(ts, AlertKind::BusUnreadable, Severity::Warning, Vec::new(), l.clone(), Vec::new()));
    }
    out.sort_by(|x, y| x.ts_us.cmp(&y.ts_us).then_with(|| x.kind.cmp(&y.kind)));
    out
}

/// The events already told, and those seen at the last look.
#[derive(Debug, Default)]
pub struct Told {
    seen: BTreeSet<Key>,
    last_look: BTreeSet<Key>,
}

/// Kind, who, time, rank among alike events.
type Key = (AlertKind, String, i64, i64);

impl Told {
    /// The events of `a` not told yet (and now told). A provisional
    /// analysis can still revise an event (a NAT rewrite explained by an
    /// address learned a moment later; an address seen reused turning out
    /// to mean two nodes at once): an event is told once two looks in a
    /// row show it; a merge, an address collision or an id conflict at the
    /// first (two nodes answering one address, or one id from two places,
    /// stay so whatever comes later); everything at the `last` look.
    pub fn new_in(&mut self, a: &Analysis, last: bool) -> Vec<Alert> {
        let all = alerts(a);
        // Events alike (one packet seen from two vantages) are told apart
        // by their rank among the alike.
        let mut rank: std::collections::BTreeMap<(AlertKind, String, i64), i64> = Default::default();
        let keys: Vec<Key> = all
            .iter()
            .map(|x| {
                let k = x.key();
                let r = rank.entry(k.clone()).or_default();
                *r += 1;
                (k.0, k.1, k.2, *r)
            })
            .collect();
        let prev = std::mem::replace(&mut self.last_look, keys.iter().cloned().collect());
        // Once the analysis drops events (past its bounds), those gone
        // never come back: their keys are forgotten, so this set stays as
        // bounded as the analysis. (Before, an event a look revised away
        // may come back, and must not be told twice.)
        if !a.retention.is_empty() {
            let now = &self.last_look;
            self.seen.retain(|k| now.contains(k));
        }
        all.into_iter()
            .zip(keys)
            // What the captures cannot show is known only at the end (a
            // capture with no bus message yet may still have some).
            .filter(|(x, k)| {
                let ready =
                    last || (x.kind != AlertKind::BusUnreadable && (x.kind.certain_at_once() || prev.contains(k)));
                ready && self.seen.insert(k.clone())
            })
            .map(|(x, _)| x)
            .collect()
    }
}
