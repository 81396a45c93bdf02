//! "What to do now": the steps every report ends with, for the root cause
//! found (a merge through a reused address, a bridge or NAT address, an
//! operator's MEET), the hazards the audit named, a failure nobody
//! replaced; version-aware, with the commands; and what forgetting cannot
//! undo (protocol notes §9h: FORGET bans an id for 60 s; §9i: slots and
//! roles after a merge).

use crate::analysis::model::{
    Analysis, FindingKind, Generation, Merge, MergeVerdict, NodeId, Role, Step, Via, WhatToDo, bus_key,
};
use crate::time::format_utc_us;

/// Commands listed per step at most (the rest are counted).
const MAX_COMMANDS: usize = 12;

fn best(a: &Analysis, n: &NodeId) -> String {
    a.nodes.iter().find(|x| x.id == *n).map_or_else(|| "?".into(), |x| x.best_address.to_string())
}

/// `redis-cli` target of a node: `-h ip -p port`.
fn cli(a: &Analysis, n: &NodeId) -> String {
    match host_and_port(&best(a, n)) {
        Some((ip, port)) => format!("redis-cli -h {ip} -p {port}"),
        None => "redis-cli".into(),
    }
}

/// The host and data port of a node address (`ip:port@cport`,
/// `[v6]:port@cport`) as `redis-cli -h`/`-p` take them: an IPv6 host
/// without its brackets.
pub(crate) fn host_and_port(addr: &str) -> Option<(String, String)> {
    let hp = addr.split('@').next().unwrap_or(addr);
    let (ip, port) = hp.rsplit_once(':')?;
    Some((ip.trim_start_matches('[').trim_end_matches(']').to_string(), port.to_string()))
}

fn step(what: String, mut commands: Vec<String>) -> Step {
    if commands.len() > MAX_COMMANDS {
        let more = commands.len() - MAX_COMMANDS;
        commands.truncate(MAX_COMMANDS);
        commands.push(format!("# … and {more} more of the same form"));
    }
    Step { what, commands }
}

/// The version advice: the server that closes the path the capture shows.
fn version_step(a: &Analysis) -> Option<Step> {
    // Only where a blind handshake is the path: a hazard that can merge
    // these servers, or a merge through a gossiped address another node
    // answered (an operator's MEET merges on every version).
    let can_merge = a.audit.hazards.iter().any(|h| h.verdict == MergeVerdict::CanMerge)
        || a.merges.iter().any(|m| m.chain.iter().any(|i| i.via == Via::Gossip && i.answered_by_other().is_some()));
    if !can_merge {
        return None;
    }
    let blind = a.nodes.iter().any(|n| matches!(n.generation, Generation::Redis30 | Generation::Redis40));
    let valkey81 = a.nodes.iter().any(|n| matches!(n.generation, Generation::Valkey81 | Generation::Valkey90));
    if blind {
        Some(step(
            "Upgrade: Redis 5.0.10+ / 6.0.5+ (6.2 or 7.x advised) adds gossiped nodes by id and marks another node answering there noaddr instead of adopting it; the servers here (bus version 0 or 1 without newer marks) may still handshake gossiped addresses blindly.".into(),
            vec![],
        ))
    } else if valkey81 {
        Some(step(
            "Valkey 8.1+ re-sends MEET to a gossiped node that has had no inbound link for a handshake timeout, so a reused address can still merge: no version closes that path; forget dead nodes promptly and keep bridge addresses out of gossip.".into(),
            vec![],
        ))
    } else {
        None
    }
}

pub fn advise(a: &Analysis) -> WhatToDo {
    let mut w = WhatToDo::default();
    if let Some(m) = a.merges.first() {
        merged(a, m, &mut w);
    }
    // One step per node a hazard is about (its fix is the same), none for
    // a node the merge's own steps already treat.
    let mut seen: Vec<NodeId> =
        a.merges.first().map(|m| m.chain.iter().filter_map(|i| i.gossip_named).collect()).unwrap_or_default();
    for h in &a.audit.hazards {
        let Some(first) = h.nodes.first() else { continue };
        if seen.contains(first) {
            continue;
        }
        seen.push(*first);
        let Some((what, cmds)) = h.fix.split_first() else { continue };
        let s = step(format!("{} [{}: {}]", what, h.kind, h.addresses.join(", ")), cmds.to_vec());
        if !w.steps.contains(&s) {
            w.steps.push(s);
        }
    }
    unreplaced_failures(a, &mut w);
    if !w.steps.is_empty()
        && let Some(v) = version_step(a)
    {
        w.steps.push(v);
    }
    if w.steps.is_empty() {
        w.steps.push(step(
            "Nothing to do for what this capture shows: no merge, and no hazard that could cause one. Audit again after changes (`meetgraph audit -i IFACE`, or a capture of each host).".into(),
            vec![],
        ));
    }
    w
}

/// After a merge: separate the sides, close the path that fused them,
/// and say what forgetting cannot undo.
fn merged(a: &Analysis, m: &Merge, w: &mut WhatToDo) {
    w.steps.push(step(
        format!("Stop writes from the applications of both clusters now: since {} every write may land on a node of the other cluster.", format_utc_us(m.ts_us)),
        vec![],
    ));
    if let [s1, s2] = m.sides.as_slice() {
        let mut cmds = Vec::new();
        for (here, there) in [(s1, s2), (s2, s1)] {
            for n in here {
                for o in there {
                    cmds.push(format!("{} CLUSTER FORGET {}", cli(a, n), o.as_str()));
                }
            }
        }
        w.steps.push(step(
            format!(
                "Separate the sides: on every node of each side, CLUSTER FORGET every node of the other side, all within 60 s (each FORGET bans the id for 60 s only; one node that still remembers the other side re-introduces it by gossip). {} command(s):",
                cmds.len()
            ),
            cmds,
        ));
    }
    let root = m.chain.iter().find(|i| i.via == Via::Gossip && i.answered_by_other().is_some());
    let reused = root.and_then(|r| {
        let key = r.address.as_ref().map(bus_key)?;
        a.findings.iter().find(|f| f.kind == FindingKind::AddressReuse && f.addresses.contains(&key))
    });
    match (root, reused) {
        (Some(r), Some(_)) => {
            let dead = r.gossip_named.unwrap_or(r.node);
            let members: Vec<NodeId> = a
                .nodes
                .iter()
                .filter(|n| n.id != dead && m.sides.iter().any(|s| s.contains(&n.id)))
                .map(|n| n.id)
                .collect();
            w.steps.push(step(
                format!(
                    "Close the path: {} was gone but never forgotten; CLUSTER FORGET it on every node that still lists it (within 60 s), so its address means nothing to the cluster:",
                    dead.short()
                ),
                members.iter().map(|n| format!("{} CLUSTER FORGET {}", cli(a, n), dead.as_str())).collect(),
            ));
        }
        (Some(r), None) => {
            let named = r.gossip_named.unwrap_or(r.node);
            let addr = r.address.as_ref().map_or_else(|| "?".into(), ToString::to_string);
            w.steps.push(step(
                format!(
                    "Close the path: {} is recorded at {addr}, an address that means another node on another host (bridge or NAT). Make it announce its routable address (Redis 4.0+: cluster-announce-ip, -port, -bus-port), or on Redis 3.x route the host network through its own interface inside the container; then restart it:",
                    named.short()
                ),
                vec![
                    format!("{} CONFIG SET cluster-announce-ip <its routable ip>", cli(a, &named)),
                    "ip route add <host network>/16 dev <vlan interface>   # inside the container, Redis 3.x".into(),
                ],
            ));
        }
        (None, _) => {
            if let Some(op) = m.chain.iter().find(|i| i.via == Via::OperatorMeet) {
                w.steps.push(step(
                    format!(
                        "Close the path: the clusters met through a MEET sent by {} to {} (an operator's CLUSTER MEET or automation): find what ran it and make it check the target's CLUSTER INFO (cluster_known_nodes 1, no slots) before meeting.",
                        op.learner.short(),
                        op.address.as_ref().map_or_else(|| "?".into(), ToString::to_string)
                    ),
                    op.command.iter().map(|c| format!("# captured: {c}")).collect(),
                ));
            }
        }
    }
    cannot_undo(a, m, w);
}

/// What FORGET cannot repair: slots that moved, masters demoted (their
/// data replaced by a full sync from the other side).
fn cannot_undo(a: &Analysis, m: &Merge, w: &mut WhatToDo) {
    w.cannot_undo.push(
        "A merged cluster is not split by forgetting alone: forgetting separates the tables, but slots that changed owner and masters that became replicas stay so, and a demoted master's data was replaced by a full sync from its new master.".into(),
    );
    for mv in a.damage.slot_moves.iter().filter(|mv| mv.from.is_some()) {
        let Some(from) = mv.from else { continue };
        w.cannot_undo.push(format!(
            "Slots {} ({}) moved from {} ({}) to {} at {}: their keys were on {}; restore them from {}'s backup (RDB/AOF copied before {}), then give the slots back with CLUSTER SETSLOT <slot> NODE {} on every node (or `redis-cli --cluster fix`).",
            crate::analysis::model::SlotRanges::clone(&mv.slots).iter().map(|(x, y)| if x == y { x.to_string() } else { format!("{x}-{y}") }).collect::<Vec<_>>().join(","),
            mv.count,
            from.short(),
            best(a, &from),
            mv.to.map_or_else(|| "nobody".into(), |t| t.short().into_owned()),
            format_utc_us(mv.ts_us),
            from.short(),
            from.short(),
            format_utc_us(m.ts_us),
            from.as_str()
        ));
    }
    for r in a.damage.role_changes.iter().filter(|r| r.from == Role::Master && r.to == Role::Replica) {
        w.cannot_undo.push(format!(
            "{} ({}) became a replica of {} at {}: copy its dump.rdb/AOF aside before anything restarts it (a resync overwrites it), then make it a master again with CLUSTER FAILOVER TAKEOVER once the sides are apart.",
            r.node.short(),
            best(a, &r.node),
            r.replicaof.map_or_else(|| "?".into(), |x| x.short().into_owned()),
            format_utc_us(r.ts_us)
        ));
    }
}

/// A failed master nobody replaced: its slots are not served.
fn unreplaced_failures(a: &Analysis, w: &mut WhatToDo) {
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::NodeFailed) {
        let Some(n) = f.nodes.first() else { continue };
        let replaced = a.findings.iter().any(|x| x.kind == FindingKind::Failover && x.nodes.get(1) == Some(n));
        let back = a.nodes.iter().any(|x| x.id == *n && x.last_seen_us > f.last_ts_us + 1_000_000);
        let served = a.nodes.iter().any(|x| x.id == *n && !x.slots_last.is_empty());
        if replaced || back {
            if replaced && !back {
                w.steps.push(step(
                    format!("{} failed and its replica took over: restart it with its own nodes.conf (it rejoins as a replica), or if it is gone for good CLUSTER FORGET it on every node within 60 s, then wait at least cluster-node-timeout before its address is reused (a handshake still open towards it adopts whoever answers):", n.short()),
                    a.nodes.iter().filter(|x| x.id != *n && x.last_seen_us > f.ts_us).map(|x| format!("{} CLUSTER FORGET {}", cli(a, &x.id), n.as_str())).collect(),
                ));
            }
            continue;
        }
        if served {
            w.steps.push(step(
                format!("{} ({}) failed with slots and no replica took over: its slots are not served. Restart it with its nodes.conf and data, or reassign its slots (`redis-cli --cluster fix`) and restore their keys from its backup.", n.short(), best(a, n)),
                vec![],
            ));
        }
    }
}
