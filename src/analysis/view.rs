//! Finishing: the story, and "what node X believed at time T" in the
//! `CLUSTER NODES` format.

use super::engine::Analyzer;
use super::model::*;
use crate::clusterbus::NodeFlags;
use crate::clusterbus::types::format_slot_ranges;
use crate::events::NodeId;
use serde::Serialize;
use std::collections::BTreeMap;

pub(super) fn finish(a: &mut Analyzer) -> Analysis {
    a.parts().build()
}

fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

fn who(id: &str, best: &BTreeMap<String, String>) -> String {
    match best.get(id) {
        Some(a) => format!("{} ({a})", short(id)),
        None => short(id).to_string(),
    }
}

/// One sentence per introduction, for the chain.
pub fn describe(i: &Introduction, best: &BTreeMap<String, String>) -> String {
    let l = who(&i.learner, best);
    let n = who(&i.node, best);
    let addr = i.address.clone().unwrap_or_default();
    match i.via.as_str() {
        "operator_meet" => match &i.command {
            Some(c) => format!("operator ran `{c}` on {l}; {n} answered at {addr}"),
            None => format!(
                "{l} sent MEET to {addr} (an operator's CLUSTER MEET: nobody had gossiped that address to it); {n} answered"
            ),
        },
        "meet" => format!("{l} received MEET from unknown {n} and recorded it at {addr}"),
        "meet_gossip" => format!(
            "{l} added {n} at {addr} from the gossip of a MEET sent by {}",
            i.introducer.as_deref().map_or("?".into(), |x| who(x, best))
        ),
        "gossip" => {
            let intro = i.introducer.as_deref().map_or("?".into(), |x| who(x, best));
            let named = i.gossip_named.as_deref().unwrap_or(&i.node);
            match &i.answered_by {
                Some(w) if w != named => format!(
                    "{intro} gossiped {} at {addr} to {l}; {l} dialled {addr} and {} answered — a different node",
                    short(named),
                    who(w, best)
                ),
                Some(_) => format!("{intro} gossiped {n} at {addr} to {l}; {l} dialled it and {n} answered"),
                None => format!("{intro} gossiped {n} at {addr} to {l}"),
            }
        }
        "unobserved" => format!("{l} showed it knew {n} (learned through traffic this capture does not contain)"),
        _ => format!("{l} already knew {n}"),
    }
}

pub(super) fn story(a: &Analysis, best: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let cl: Vec<String> = a.clusters.iter().map(|c| format!("{} ({} nodes)", c.label, c.nodes.len())).collect();
    out.push(format!(
        "{} node(s) seen; {} cluster(s) before any merge: {}.",
        a.nodes.len(),
        a.clusters.len(),
        if cl.is_empty() { "none".into() } else { cl.join(", ") }
    ));
    for m in &a.merges {
        let labels: Vec<String> = m
            .sides
            .iter()
            .map(|s| {
                let l: Vec<String> = a
                    .clusters
                    .iter()
                    .filter(|c| c.nodes.iter().any(|n| s.contains(n)))
                    .map(|c| c.label.clone())
                    .collect();
                if l.is_empty() { format!("{} node(s)", s.len()) } else { l.join("+") }
            })
            .collect();
        out.push(format!(
            "MERGE at {}: {} became one cluster.",
            crate::time::format_utc_us(m.ts_us),
            labels.join(" and ")
        ));
        if let Some(root) = m
            .chain
            .iter()
            .find(|i| i.via == "gossip" && matches!((&i.answered_by, &i.gossip_named), (Some(w), Some(n)) if w != n))
        {
            out.push(format!(
                "Root cause: {} gossiped {} at {}, but where {} dialled that address a different node, {}, answered: the address means different nodes on different hosts (bridge or NAT address), and the handshake fused the clusters.",
                root.introducer.as_deref().map_or("?".into(), |x| who(x, best)),
                short(root.gossip_named.as_deref().unwrap_or("?")),
                root.address.as_deref().unwrap_or("?"),
                who(&root.learner, best),
                who(root.answered_by.as_deref().unwrap_or("?"), best)
            ));
        } else if let Some(first) = m.chain.first() {
            out.push(format!("Root cause: {}.", describe(first, best)));
        }
    }
    let collisions: Vec<&Finding> = a.findings.iter().filter(|f| f.kind == "address_collision").collect();
    if a.merges.is_empty() {
        if collisions.is_empty() {
            out.push("No merge: the clusters never learned of each other.".into());
        } else {
            // How did the node that hit the collision dial it? MEET = blind
            // handshake (old servers), PING = gossip-add (new servers).
            let mism: Vec<&Finding> = a.findings.iter().filter(|f| f.kind == "sender_mismatch").collect();
            let old = if mism.is_empty() {
                a.nodes.iter().any(|n| n.generation.contains("ver 0"))
            } else {
                mism.iter().any(|f| f.summary.contains("blind handshake"))
            };
            for f in &collisions {
                out.push(format!("NEAR MISS: {}.", f.summary));
            }
            out.push(if old {
                "These servers handshake gossiped addresses blindly (a MEET to the address, adopting whoever answers): a collision like this merges the clusters as soon as the colliding address is gossiped to a node on the other host.".into()
            } else {
                "No merge, because these servers add a gossiped node under its id and mark it noaddr when another node answers (Redis 5.0.10+/6.0.5+ and Valkey). Redis before 5.0.10/6.0.5 would have handshaked the address blindly, adopted the node that answered, and merged the clusters; Valkey 8.1+ also re-sends MEET on established links, so keep such addresses out of gossip.".into()
            });
        }
    }
    let losers: std::collections::BTreeSet<&str> =
        a.damage.slot_moves.iter().filter_map(|m| m.from.as_deref()).collect();
    let demoted = a
        .damage
        .role_changes
        .iter()
        .filter(|r| r.from == "master" && r.to == "replica" && losers.contains(r.node.as_str()))
        .count();
    let moved: u32 = a.damage.slot_moves.iter().filter(|m| m.from.is_some()).map(|m| m.count).sum();
    if demoted > 0 || moved > 0 {
        out.push(format!("Damage: {demoted} master(s) serving slots became replicas; {moved} slot(s) changed owner."));
    }
    let failed: Vec<&Finding> = a.findings.iter().filter(|f| f.kind == "node_failed").collect();
    let failovers: Vec<&Finding> = a.findings.iter().filter(|f| f.kind == "failover").collect();
    for f in &failed {
        out.push(format!("FAIL: {}.", f.summary));
    }
    for f in &failovers {
        out.push(format!("FAILOVER: {}.", f.summary));
    }
    if !failed.is_empty() && failovers.is_empty() {
        out.push("No replica was promoted after the failure.".into());
    }
    let _ = best;
    out
}

/// One line of a node's view, in `CLUSTER NODES` order of fields.
#[derive(Clone, Debug, Serialize)]
pub struct ViewLine {
    pub id: String,
    pub address: String,
    pub flags: String,
    pub master: String,
    pub config_epoch: u64,
    pub slots: String,
}

/// What one node believed at one time.
#[derive(Clone, Debug, Serialize)]
pub struct NodesView {
    pub node: String,
    pub at_us: i64,
    pub lines: Vec<ViewLine>,
}

impl Analyzer {
    /// The view of `node` from the state reached so far (run the analyzer
    /// with `until_us` = T first).
    pub fn view_of(&self, node: &NodeId, at_us: i64) -> Option<NodesView> {
        let (me, peers, known) = self.view_parts(node)?;
        let mut lines = Vec::new();
        let slots_of = |id: &NodeId| -> (String, u64, String, u16) {
            match self.node_header(id) {
                Some((flags, cfg, slots, replicaof)) => (
                    if flags & NodeFlags::SLAVE != 0 { "-".into() } else { format_slot_ranges(&slots) },
                    cfg,
                    replicaof.map_or("-".into(), |r| r.as_str().into_owned()),
                    flags,
                ),
                None => ("-".into(), 0, "-".into(), 0),
            }
        };
        let (s, cfg, master, flags) = slots_of(node);
        lines.push(ViewLine {
            id: node.as_str().into_owned(),
            address: me,
            flags: NodeFlags((flags & !NodeFlags::MYSELF) | NodeFlags::MYSELF).names(),
            master,
            config_epoch: cfg,
            slots: s,
        });
        for id in known {
            if id == *node {
                continue;
            }
            let (addr, gflags) = match peers.get(&id) {
                Some((a, f, _)) => (a.to_string(), *f),
                None => ("?".into(), 0),
            };
            let (s, cfg, master, hflags) = slots_of(&id);
            let f = if gflags != 0 { gflags } else { hflags & !NodeFlags::MYSELF };
            lines.push(ViewLine {
                id: id.as_str().into_owned(),
                address: addr,
                flags: NodeFlags(f & !NodeFlags::MYSELF).names(),
                master,
                config_epoch: cfg,
                slots: s,
            });
        }
        Some(NodesView { node: node.as_str().into_owned(), at_us, lines })
    }
}
