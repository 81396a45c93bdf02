//! The story: a few sentences, root cause first, written from a finished
//! [`Analysis`].

use crate::analysis::model::{
    AddressFate, Analysis, BestAddresses, Finding, FindingKind, Merge, MergeStory, NodeId, Role, Story, Via, bus_key,
    describe, who, who_opt,
};
use crate::time::format_utc_us;
use std::collections::BTreeSet;

fn of_kind(a: &Analysis, kind: FindingKind) -> Vec<&Finding> {
    a.findings.iter().filter(|f| f.kind == kind).collect()
}

/// The story of a finished analysis.
/// The story of a finished analysis (its own `story` not read).
pub fn tell(a: &Analysis) -> Story {
    let best = a.best_addresses();
    let (near_misses, no_merge) = without_merge(a);
    Story {
        overview: overview(a),
        merges: a.merges.iter().map(|m| merge(a, m, &best)).collect(),
        id_conflicts: of_kind(a, FindingKind::IdConflict)
            .iter()
            .map(|f| format!("ID CONFLICT: {}.", f.summary))
            .collect(),
        encrypted: encrypted(a),
        near_misses,
        no_merge,
        damage: damage(a),
        failures: super::failures::story(a),
    }
}

/// Nodes seen, clusters before any merge.
fn overview(a: &Analysis) -> String {
    let cl: Vec<String> = a.clusters.iter().map(|c| format!("{} ({} nodes)", c.label, c.nodes.len())).collect();
    format!(
        "{} node(s) seen; {} cluster(s) before any merge: {}.",
        a.nodes.len(),
        a.clusters.len(),
        if cl.is_empty() { "none".into() } else { cl.join(", ") }
    )
}

/// A merge: which clusters became one, and the step that fused them.
fn merge(a: &Analysis, m: &Merge, best: &BestAddresses) -> MergeStory {
    let labels: Vec<String> = m
        .sides
        .iter()
        .map(|s| {
            let l: Vec<&str> =
                a.clusters.iter().filter(|c| c.nodes.iter().any(|n| s.contains(n))).map(|c| c.label.as_str()).collect();
            if l.is_empty() { format!("{} node(s)", s.len()) } else { l.join("+") }
        })
        .collect();
    let headline = format!("MERGE at {}: {} became one cluster.", format_utc_us(m.ts_us), labels.join(" and "));
    let root = m.chain.iter().filter(|i| i.via == Via::Gossip).find_map(|i| i.answered_by_other().map(|x| (i, x)));
    let reused = root.and_then(|(r, _)| {
        a.findings.iter().find(|f| {
            f.kind == FindingKind::AddressReuse
                && r.address.as_ref().map(bus_key).is_some_and(|k| f.addresses.contains(&k))
        })
    });
    let root_cause = if let (Some((root, (w, named))), Some(_)) = (root, reused) {
        Some(format!(
            "{} had left or failed, and its address {} was given to {}; {} still gossiped it at that address, {} dialled it, {} answered and the handshake adopted it: the address reuse fused the clusters.",
            named.short(),
            root.address.as_ref().map_or_else(|| "?".into(), ToString::to_string),
            who(&w, best),
            who_opt(root.introducer.as_ref(), best),
            who(&root.learner, best),
            w.short()
        ))
    } else if let Some((root, (w, named))) = root {
        Some(format!(
            "{} gossiped {} at {}, but where {} dialled that address a different node, {}, answered: the address means different nodes on different hosts (bridge or NAT address), and the handshake fused the clusters.",
            who_opt(root.introducer.as_ref(), best),
            named.short(),
            root.address.as_ref().map_or_else(|| "?".into(), ToString::to_string),
            who(&root.learner, best),
            who(&w, best)
        ))
    } else {
        m.chain.first().map(|first| format!("{}.", describe(first, best)))
    };
    MergeStory { headline, root_cause }
}

/// What encrypted connections show: pairs that began to talk during the
/// capture, bursts of new connections after a quiet period.
fn encrypted(a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    let new_pairs: Vec<_> = a.coverage.encrypted.iter().filter(|f| f.new_pair && f.likely_bus.is_some()).collect();
    if let Some(first) = new_pairs.first() {
        out.push(format!(
            "ENCRYPTED: {} client→bus-port pair(s) began to talk during the capture, the first at {}: {} → {} — a new connection between hosts is how a merge starts; check both sides' CLUSTER NODES.",
            new_pairs.len(),
            format_utc_us(first.first_ts_us),
            first.client,
            first.server
        ));
    }
    for b in a.coverage.bursts.iter().filter(|b| b.quiet_before_us.is_some()) {
        out.push(format!(
            "ENCRYPTED: {} new bus connection(s) to {} bus port(s) at {}, after {:.1} s without any, the first {} (the node dialled first: where a CLUSTER MEET would point): nodes that had not talked began to (a node joined, or clusters met).",
            b.connections,
            b.servers.len(),
            format_utc_us(b.ts_us),
            b.quiet_before_us.unwrap_or(0) as f64 / 1e6,
            b.first
        ));
    }
    out
}

/// Without a merge: the near misses (addresses meaning two nodes, reused
/// addresses) and why there was no merge.
fn without_merge(a: &Analysis) -> (Vec<String>, Option<String>) {
    let mut collisions = of_kind(a, FindingKind::AddressCollision);
    collisions.extend(of_kind(a, FindingKind::AddressReuse));
    if !a.merges.is_empty() {
        return (Vec::new(), None);
    }
    let why: &str = if a.coverage.messages == 0 {
        "No verdict: nothing of the cluster bus could be read (see the limits above)."
    } else if !a.coverage.complete && collisions.is_empty() {
        "No merge in what could be decoded; the verdict is incomplete (see the limits above)."
    } else if collisions.is_empty() && a.clusters.len() <= 1 {
        "No merge: one cluster throughout."
    } else if collisions.is_empty() {
        "No merge: the clusters never learned of each other."
    } else {
        let near_misses = collisions
            .iter()
            .map(|f| {
                let what = if f.kind == FindingKind::AddressReuse { "ADDRESS REUSE" } else { "NEAR MISS" };
                format!("{what}: {}.", f.summary)
            })
            .collect();
        let why = collisions.iter().find_map(|f| f.fate.as_ref().map(|fate| no_merge_after_reuse(f, fate)));
        let why = why.unwrap_or_else(|| no_merge_after_collision(a));
        return (near_misses, Some(why));
    };
    (Vec::new(), Some(why.into()))
}

/// Why a reused address merged nothing, from what the capture shows there.
fn no_merge_after_reuse(f: &Finding, fate: &AddressFate) -> String {
    let (Some(old), Some(new)) = (f.nodes.first(), f.nodes.get(1)) else { return String::new() };
    let addr = f.addresses.first().map_or("?", String::as_str);
    let (old, new) = (old.short(), new.short());
    match fate {
        AddressFate::Forgotten { last } => format!(
            "No merge: {new} took {old}'s address {addr} after no node gossiped {old} any more ({}), so no node had a reason to dial {addr} expecting {old}: the address was reused without a handshake to adopt {new}.",
            match last {
                Some((by, ts)) => format!("last mentioned by {} at {}", by.short(), format_utc_us(*ts)),
                None => "never mentioned in the capture".into(),
            }
        ),
        AddressFate::StillGossiped { by, until, learners } => format!(
            "No merge in the capture: {} still gossiped {old} at {addr} until {}, but {} and no node dialled {addr} expecting {old}. The hazard remains while {old} is gossiped: a node that learns it from gossip dials {addr}.",
            by.short(),
            format_utc_us(*until),
            super::reuse::learners_text(learners, &old)
        ),
        AddressFate::Rejected { known_before: true } => format!(
            "No merge: the peers that dialled {addr} expecting {old} knew it before it fell silent: they dialled a known node (PING, not a handshake) and rejected {new}'s answer, marking {old} noaddr, as every generation does. No node that knew {old} only from gossip dialled the address in the capture: on Redis before 5.0.10/6.0.5 such a node handshakes it blindly, adopts {new} and merges the clusters."
        ),
        AddressFate::Rejected { known_before: false } => format!(
            "No merge: the peers that dialled {addr} expecting {old} began with PING and rejected {new}'s answer, marking {old} noaddr (these servers add a gossiped node by id: Redis 5.0.10+/6.0.5+, Valkey). Servers that handshake gossiped addresses blindly (Redis before 5.0.10/6.0.5) would have adopted {new} and merged the clusters."
        ),
        AddressFate::HandshakeAdopted | AddressFate::Adopted => format!(
            "No merge in the capture: a handshake at {addr} took {new} for {old}, but the two clusters did not become one before the capture ends."
        ),
    }
}

/// Why an address meaning two nodes merged nothing, from what became of the
/// dials that hit it (adopted by a handshake; rejected on a gossip-added or
/// an already known node).
fn no_merge_after_collision(a: &Analysis) -> String {
    let mism = of_kind(a, FindingKind::SenderMismatch);
    let fate = |want: AddressFate| mism.iter().any(|f| f.fate.as_ref() == Some(&want));
    if fate(AddressFate::HandshakeAdopted) {
        "No merge in the capture, though a handshake adopted the node that answered at a shared address (a blind MEET: Redis before 5.0.10/6.0.5): a collision like this merges the clusters as soon as the colliding address is gossiped to a node on the other host.".into()
    } else if fate(AddressFate::Rejected { known_before: false }) {
        "No merge, because the node that dialled the shared address began with PING and rejected the node that answered, marking the one it expected noaddr (these servers add a gossiped node by id: Redis 5.0.10+/6.0.5+, Valkey). Redis before 5.0.10/6.0.5 would have handshaked the address blindly, adopted the node that answered, and merged the clusters; Valkey 8.1+ also re-sends MEET on established links, so keep such addresses out of gossip.".into()
    } else if fate(AddressFate::Rejected { known_before: true }) {
        "No merge: the nodes that dialled a shared address expecting another node knew that node before: they dialled a known node (PING, not a handshake) and rejected the node that answered, marking the one they expected noaddr, as every generation does. No node that knew the address only from gossip dialled it in the capture: on Redis before 5.0.10/6.0.5 such a node handshakes it blindly and adopts whoever answers.".into()
    } else {
        "No merge in the capture: no node dialled the shared address expecting the other node there.".into()
    }
}

/// What the incident changed: masters demoted, slots moved.
fn damage(a: &Analysis) -> Option<String> {
    let losers: BTreeSet<NodeId> = a.damage.slot_moves.iter().filter_map(|m| m.from).collect();
    let demoted = a
        .damage
        .role_changes
        .iter()
        .filter(|r| r.from == Role::Master && r.to == Role::Replica && losers.contains(&r.node))
        .count();
    let (moved, changes) = (a.damage.slots_changed_owner, a.damage.owner_changes);
    if demoted == 0 && moved == 0 {
        return None;
    }
    // Past the event bound the lists hold the first and latest changes
    // only: the counts are then lower bounds.
    let (r, m) = (a.retention.role_changes.count, a.retention.slot_moves.count);
    let partial = if r + m > 0 {
        format!(" At least: {r} role change(s) and {m} slot move(s) between were not kept (--max-events).")
    } else {
        String::new()
    };
    let twice = if changes > u64::from(moved) {
        format!(" ({changes} owner changes: some slots changed owner more than once)")
    } else {
        String::new()
    };
    Some(format!(
        "Damage: {demoted} master(s) serving slots became replicas; {moved} slot(s) changed owner{twice}.{partial}"
    ))
}
