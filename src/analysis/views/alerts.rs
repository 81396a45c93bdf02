//! Alerts for `watch`: every event an analysis reports (joins, merges,
//! findings, slot changes, what could not be read) as one flat record, and
//! which of them are new since the last look. `watch` looks at provisional
//! analyses while capturing and at the final one at the end, so what it printed
//! and what `analyze` reports for the same capture are the same events.

use crate::analysis::model::{
    Analysis, BestAddresses, Evidence, FindingKind, Hazard, HazardKind, HazardSeverity, Introduction, MergeVerdict,
    NodeId, Severity, describe,
};
use crate::clusterbus::types::format_slot_ranges;
use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
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
    /// A latent hazard `audit` names (told when it appears, cleared when
    /// it ends: after a `CLUSTER FORGET`, say).
    Hazard(HazardKind),
    /// A live capture's interface went down (told by the capture, not
    /// the analysis).
    InterfaceDown,
    /// It came back and is read again.
    InterfaceUp,
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
            AlertKind::Hazard(k) => k.event_name(),
            AlertKind::InterfaceDown => "interface_down",
            AlertKind::InterfaceUp => "interface_up",
        }
    }

    /// Told at the first look that shows it: two nodes answering one
    /// address, or one id from two places, stay so whatever comes later.
    fn certain_at_once(self) -> bool {
        matches!(self, AlertKind::Merge | AlertKind::Finding(FindingKind::AddressCollision | FindingKind::IdConflict))
    }

    /// Its sentence is a judgement a later look may change (a merge's
    /// sides and root cause; whether an address's new node was rejected
    /// or adopted): a changed sentence is told as a revision.
    pub fn judged_in_summary(self) -> bool {
        matches!(self, AlertKind::Merge | AlertKind::Finding(FindingKind::AddressCollision | FindingKind::AddressReuse))
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
    /// When (`None`: the captures show no time for it, as what cannot be
    /// read in captures that hold no packet the analysis saw).
    pub ts_us: Option<i64>,
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
    /// A `REVISED` line: this corrects an event told before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revised: Option<Revised>,
    /// A hazard: what it can do on the versions seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<MergeVerdict>,
    /// An interface's event: its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// How a told event was corrected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionKind {
    /// The event stands, with what changed (its kind, time, severity,
    /// nodes, addresses, a merge's sides or root cause).
    Changed,
    /// The analysis no longer reports it (the alert is the event as told).
    Withdrawn,
    /// A hazard that ended (the alert is the hazard as told).
    Cleared,
}

/// A correction of an event told before: what changed, and the event as it
/// was told.
#[derive(Clone, Debug, Serialize)]
pub struct Revised {
    pub what: RevisionKind,
    /// In words: `kind address_reuse → address_collision`, `root cause: …`.
    pub changes: Vec<String>,
    pub was_ts_us: Option<i64>,
    pub was_kind: AlertKind,
    pub was_severity: Severity,
    pub was_summary: String,
}

impl Alert {
    /// A live capture's interface went down (`down`) or came back.
    pub fn interface(ts_us: i64, down: bool, interface: &str, summary: String) -> Alert {
        let (kind, severity) =
            if down { (AlertKind::InterfaceDown, Severity::Warning) } else { (AlertKind::InterfaceUp, Severity::Info) };
        Alert {
            interface: Some(interface.to_string()),
            ..Alert::plain(ts_us, kind, severity, Vec::new(), summary, Vec::new())
        }
    }

    /// An event with nothing but these.
    fn plain(
        ts_us: i64,
        kind: AlertKind,
        severity: Severity,
        nodes: Vec<NodeId>,
        summary: String,
        evidence: Vec<Evidence>,
    ) -> Alert {
        Alert {
            ts_us: Some(ts_us),
            kind,
            severity,
            nodes,
            addresses: Vec::new(),
            summary,
            evidence,
            sides: None,
            chain: None,
            verdict: None,
            revised: None,
            interface: None,
        }
    }

    /// What identifies the event across looks: its family (a finding's
    /// kind, except that an address's collision and reuse are one family:
    /// the same address judged again), its nodes and addresses, and its
    /// time, except for an address's finding (dated by the evidence found
    /// so far, it may move to earlier evidence found later).
    pub fn identity(&self) -> (String, String, String, i64) {
        let nodes: Vec<String> = self.nodes.iter().map(|n| n.as_str().into_owned()).collect();
        match self.kind {
            AlertKind::Finding(FindingKind::AddressCollision | FindingKind::AddressReuse) => {
                ("address".into(), String::new(), self.addresses.join(","), 0)
            }
            AlertKind::BusUnreadable => (self.kind.as_str().into(), self.summary.clone(), String::new(), 0),
            AlertKind::Merge => (self.kind.as_str().into(), String::new(), String::new(), self.ts_us.unwrap_or(0)),
            // The node it is about, and where: whoever else it names (the
            // peers still listing a dead node) may change as it lasts.
            AlertKind::Hazard(k) => (
                k.event_name().into(),
                self.nodes.first().map(|n| n.as_str().into_owned()).unwrap_or_default(),
                self.addresses.join(","),
                0,
            ),
            k => (k.as_str().into(), nodes.join(","), self.addresses.join(","), self.ts_us.unwrap_or(0)),
        }
    }

    /// What a told event is compared on: kind, time, severity, nodes,
    /// addresses, and a merge's sentence (its sides and root cause).
    fn changes_from(&self, was: &Alert) -> Vec<String> {
        let mut out = Vec::new();
        if self.kind != was.kind {
            out.push(format!("kind {} → {}", was.kind, self.kind));
        }
        if self.severity != was.severity {
            out.push(format!("severity {} → {}", was.severity, self.severity));
        }
        match (self.ts_us, was.ts_us) {
            (Some(t), Some(w)) if t != w => out.push(format!("time {:+.3} s", (t - w) as f64 / 1e6)),
            (Some(_), None) | (None, Some(_)) => out.push("time".into()),
            _ => {}
        }
        let ids = |v: &[NodeId]| v.iter().map(|n| n.short().into_owned()).collect::<Vec<_>>().join(" ");
        if self.nodes != was.nodes {
            out.push(format!("nodes {} → {}", ids(&was.nodes), ids(&self.nodes)));
        }
        if self.addresses != was.addresses {
            out.push(format!("addresses {} → {}", was.addresses.join(" "), self.addresses.join(" ")));
        }
        if self.verdict != was.verdict {
            let v = |v: Option<MergeVerdict>| v.map_or("-", MergeVerdict::as_str);
            out.push(format!("verdict {} → {}", v(was.verdict), v(self.verdict)));
        }
        if self.kind.judged_in_summary() && self.summary != was.summary {
            out.push(
                if self.kind == AlertKind::Merge {
                    "sides or root cause (as now told)"
                } else {
                    "judgement (as now told)"
                }
                .into(),
            );
        }
        out
    }

    fn revision(&self, what: RevisionKind, changes: Vec<String>, was: &Alert) -> Alert {
        Alert {
            revised: Some(Revised {
                what,
                changes,
                was_ts_us: was.ts_us,
                was_kind: was.kind,
                was_severity: was.severity,
                was_summary: was.summary.clone(),
            }),
            ..self.clone()
        }
    }
}

/// Every event of `a`, in time order.
pub fn alerts(a: &Analysis) -> Vec<Alert> {
    let best: BestAddresses = a.best_addresses();
    let mut out = Vec::new();
    let plain = Alert::plain;
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
        let kind = AlertKind::Finding(f.kind);
        let alert = plain(f.first_ts_us, kind, f.severity, f.nodes.clone(), f.summary.clone(), f.evidence.clone());
        out.push(Alert { addresses: f.addresses.clone(), ..alert });
    }
    out.extend(a.audit.hazards.iter().map(hazard_alert));
    for s in &a.damage.slot_moves {
        let from = s.from.map_or("nobody".to_string(), |n| n.short().into_owned());
        let to = s.to.map_or("nobody".to_string(), |n| n.short().into_owned());
        let nodes = s.from.into_iter().chain(s.to).collect();
        let summary = format!("slots {} ({}) {from} → {to}", format_slot_ranges(&s.slots), s.count);
        out.push(plain(s.ts_us, AlertKind::SlotChange, Severity::Warning, nodes, summary, s.evidence.clone()));
    }
    // What cannot be read is dated at the start of the captures: their
    // first message, else the first packet the analysis saw.
    let start = a.t0_us().or(a.first_event_us);
    for l in &a.coverage.limits {
        let alert = plain(0, AlertKind::BusUnreadable, Severity::Warning, Vec::new(), l.clone(), Vec::new());
        out.push(Alert { ts_us: start, ..alert });
    }
    out.sort_by(|x, y| x.ts_us.cmp(&y.ts_us).then_with(|| x.kind.cmp(&y.kind)));
    out
}

/// A hazard as an event: dated when the capture first showed it; a
/// hazard that can merge clusters is a warning, one that cannot is
/// information.
fn hazard_alert(h: &Hazard) -> Alert {
    Alert {
        severity: match h.severity {
            HazardSeverity::High | HazardSeverity::Medium => Severity::Warning,
            HazardSeverity::Low => Severity::Info,
        },
        nodes: h.nodes.clone(),
        addresses: h.addresses.clone(),
        summary: format!("{} ({}: {})", h.summary, h.verdict, h.verdict_why),
        evidence: h.evidence.clone(),
        verdict: Some(h.verdict),
        ..Alert::plain(h.since_us, AlertKind::Hazard(h.kind), Severity::Info, Vec::new(), String::new(), Vec::new())
    }
}

/// The events told so far (as told), and those of the last look.
#[derive(Debug, Default)]
pub struct Told {
    told: FxHashMap<Key, Alert>,
    last_look: FxHashMap<Key, Alert>,
}

/// An event's identity ([`Alert::identity`]), hashed (a look compares
/// thousands of them: the text can be a thousand bytes), and its rank
/// among events of one identity.
type Key = (u128, usize);

/// Where a told event goes among a look's ([`Told::new_in`]).
type Place = (Option<i64>, bool, (String, String, String, i64), usize);

/// Two 64-bit hashes of an identity.
fn hashed(id: &(String, String, String, i64)) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

impl Told {
    /// What to tell after a look at `a`: the events not told yet, and a
    /// `REVISED` alert for each told event the analysis changed or no
    /// longer reports. A provisional analysis can still revise an event (a
    /// NAT rewrite explained by an address learned a moment later; an
    /// answer first judged from one vantage): an event is told, changed or
    /// withdrawn once two looks in a row agree; a merge, an address
    /// collision or an id conflict is told at the first (two nodes
    /// answering one address, or one id from two places, stay so whatever
    /// comes later); at the `last` look everything is settled, so what was
    /// told, with its revisions, is what `analyze` reports.
    pub fn new_in(&mut self, a: &Analysis, last: bool) -> Vec<Alert> {
        let mut rank: FxHashMap<u128, usize> = FxHashMap::default();
        let now: FxHashMap<Key, Alert> = alerts(a)
            .into_iter()
            .map(|x| {
                let id = hashed(&x.identity());
                let r = rank.entry(id).or_default();
                *r += 1;
                ((id, *r), x)
            })
            .collect();
        let prev = std::mem::replace(&mut self.last_look, now);
        let now = &self.last_look;
        // What is told, in the order of its time, then a look's events
        // before those that ended, then their identity's text and rank.
        let mut out: Vec<(Place, Alert)> = Vec::new();
        let order = |ended: bool, x: &Alert, told: &Alert, k: &Key| (x.ts_us, ended, told.identity(), k.1);
        for (k, x) in now {
            let steady = prev.get(k).is_some_and(|p| p.changes_from(x).is_empty());
            match self.told.get(k) {
                None => {
                    // What the captures cannot show is known only at the
                    // end (a capture with no bus message yet may still
                    // have some).
                    let ready = last
                        || (x.kind != AlertKind::BusUnreadable && (x.kind.certain_at_once() || prev.contains_key(k)));
                    if ready {
                        self.told.insert(*k, x.clone());
                        out.push((order(false, x, x, k), x.clone()));
                    }
                }
                Some(t) => {
                    let changes = x.changes_from(t);
                    if !changes.is_empty() && (last || steady) {
                        let r = x.revision(RevisionKind::Changed, changes, t);
                        out.push((order(false, &r, x, k), r));
                        self.told.insert(*k, x.clone());
                    }
                }
            }
        }
        // Once the analysis drops events (past its bounds), those gone
        // never come back: their keys are forgotten, so this set stays as
        // bounded as the analysis.
        let forget = !a.retention.is_empty();
        let gone: Vec<Key> = self.told.keys().filter(|k| !now.contains_key(*k)).copied().collect();
        for k in gone {
            if forget {
                self.told.remove(&k);
            } else if (last || !prev.contains_key(&k))
                && let Some(t) = self.told.remove(&k)
            {
                let r = if matches!(t.kind, AlertKind::Hazard(_)) {
                    // A hazard ends at this look: dated by the latest
                    // message seen.
                    let mut c = t.revision(RevisionKind::Cleared, Vec::new(), &t);
                    c.ts_us = a.nodes.iter().map(|n| n.last_seen_us).max().or(t.ts_us);
                    c
                } else {
                    t.revision(RevisionKind::Withdrawn, Vec::new(), &t)
                };
                out.push((order(true, &r, &t, &k), r));
            }
        }
        out.sort_by(|p, q| p.0.cmp(&q.0));
        out.into_iter().map(|(_, x)| x).collect()
    }
}
