//! How a node's table takes gossip (§3.2): its own gossip shows its table
//! (address, flags, its ping/pong times to the second, or to the ms on 3.x);
//! gossip it hears gives failure reports, pong times, addresses of failing
//! nodes and nodes added by id (§9c, §9f, §9j).

use super::rules::{Rules, Unknown};
use super::table::{NodeTable, PRINTED_FLAGS};
use crate::analysis::model::NodeId;
use crate::clusterbus::NodeFlags;
use crate::events::BusMessage;

/// A node's gossip can be built before a PONG that the capture shows
/// arriving first (one event-loop turn): within this many ms of a PING or
/// PONG the capture showed, the gossip's times and `fail?` are not taken.
const GOSSIP_LAG_MS: i64 = 200;

/// A Redis 3.x gossip time (the low 32 bits of a ms clock) made whole
/// with the capture's clock; 0 stays 0.
fn widen_v0(low: u32, now_ms: i64) -> i64 {
    if low == 0 {
        return 0;
    }
    let full = (now_ms & !0xffff_ffff) | i64::from(low);
    if full > now_ms + (1 << 31) { full - (1 << 32) } else { full }
}

/// A time the viewer's gossip gives to the second (`shown`, ms): ours
/// when it falls in that second, else the last one the capture showed
/// there, else the second itself.
fn to_the_second(shown: i64, ours: i64, direct: i64) -> i64 {
    if shown == 0 {
        0
    } else if ours.div_euclid(1000) * 1000 == shown {
        ours
    } else if direct.div_euclid(1000) * 1000 == shown {
        direct
    } else {
        shown
    }
}

/// `v`'s own gossip in `m`; returns the node timeout estimate updated by
/// the first `fail?` it shows after a PING the capture saw. `pinged`: the
/// node a PING goes to: its entry shows the time of this very PING
/// (clusterSendPing stamps it before building the gossip), which the
/// server takes back on a new link when an older PING was still waiting
/// (old_ping_sent, every version): its ping time is not taken.
pub fn own_gossip(
    t: &mut NodeTable,
    v: NodeId,
    m: &BusMessage,
    now: i64,
    mut timeout: Option<i64>,
    pinged: Option<NodeId>,
) -> Option<i64> {
    for g in &m.gossip {
        if g.node == v {
            continue;
        }
        let e = t.entry(g.node);
        // `fail?` shows the PING has waited longer than the timeout, when
        // the table had it not failing with a PING pending (a PING time the
        // gossip shows may be newer than the wait behind a `fail?` kept).
        if g.flags & NodeFlags::PFAIL != 0 && e.flags & NodeFlags::PFAIL == 0 && e.ping_sent_ms != 0 {
            let d = now - e.ping_sent_ms;
            timeout = Some(timeout.map_or(d, |t| t.min(d)));
        }
        // Built before a move a rule made (a PONG is built before the
        // packet it answers is applied): the rule stands.
        if now - e.moved_ms < GOSSIP_LAG_MS {
            continue;
        }
        e.addr = Some(g.addr.clone());
        let fresh = now - e.direct_ms < GOSSIP_LAG_MS;
        let keep = if fresh { e.flags & NodeFlags::PFAIL } else { 0 };
        let shown = g.flags & PRINTED_FLAGS & !(NodeFlags::MYSELF | NodeFlags::NOADDR | NodeFlags::HANDSHAKE);
        e.flags = if fresh { (shown & !NodeFlags::PFAIL) | keep } else { shown };
        if fresh {
            continue;
        }
        // Its own times, to the second (ms on 3.x): keep ours when they
        // agree.
        let (ping, pong) = if m.ver == 0 {
            (widen_v0(g.ping_sent, now), widen_v0(g.pong_received, now))
        } else {
            (i64::from(g.ping_sent) * 1000, i64::from(g.pong_received) * 1000)
        };
        let ping = if pinged == Some(g.node) { e.ping_sent_ms } else { ping };
        if m.ver == 0 {
            (e.ping_sent_ms, e.pong_recv_ms) = (ping, pong);
        } else {
            e.ping_sent_ms = to_the_second(ping, e.ping_sent_ms, e.ping_direct_ms);
            e.pong_recv_ms = to_the_second(pong, e.pong_recv_ms, e.pong_direct_ms);
        }
    }
    timeout
}

/// The gossip section of a message from `s` reaching `r` (§3.2, §9c, §9f,
/// §9j): failure reports, pong times, addresses of failing nodes, nodes
/// added by id.
pub fn heard(t: &mut NodeTable, r: NodeId, s: NodeId, m: &BusMessage, now: i64, timeout: Option<i64>, rules: Rules) {
    let sender_master = t.get(&s).is_some_and(|e| e.flags & NodeFlags::MASTER != 0);
    // Unknown nodes: added by id, or a handshake to their address (the
    // MEET link shows it), or, until the node's first dial tells, added
    // provisionally.
    let (add, provisional) = match (rules.unknown, t.adds_by_id) {
        (Unknown::Handshake, _) | (Unknown::FirstDialTells, Some(false)) => (false, false),
        (Unknown::AddById, _) | (Unknown::FirstDialTells, Some(true)) => (true, false),
        (Unknown::FirstDialTells, None) => (true, true),
    };
    for g in &m.gossip {
        if g.node == r && rules.ignores_self_gossip {
            continue;
        }
        let failing = g.flags & (NodeFlags::PFAIL | NodeFlags::FAIL) != 0;
        let Some(e) = t.entries.get_mut(&g.node) else {
            if add && g.node != r && g.flags & NodeFlags::NOADDR == 0 && !t.blacklisted(&g.node, now) {
                let e = t.entry(g.node);
                e.addr = Some(g.addr.clone());
                e.flags = g.flags & PRINTED_FLAGS & !(NodeFlags::MYSELF | NodeFlags::HANDSHAKE);
                e.gossip_added = provisional;
            }
            continue;
        };
        if sender_master && g.node != r {
            if failing {
                e.reports.insert(s);
            } else {
                e.reports.remove(&s);
            }
        }
        let normal = !rules.pong_needs_normal_state
            || (e.flags & (NodeFlags::PFAIL | NodeFlags::FAIL | NodeFlags::HANDSHAKE) == 0
                && !e.pfail_at(now, timeout));
        if m.ver != 0 && !failing && normal && e.ping_sent_ms == 0 && e.reports.is_empty() {
            let pong = i64::from(g.pong_received) * 1000;
            if pong <= now + 500 && pong > e.pong_recv_ms {
                e.pong_recv_ms = pong;
            }
        }
        if g.node != r
            && rules.gossip_moves_failing
            && (e.flags & NodeFlags::FAIL != 0 || e.pfail_at(now, timeout))
            && g.flags & (NodeFlags::NOADDR | NodeFlags::PFAIL | NodeFlags::FAIL) == 0
            && e.addr.as_ref().is_some_and(|a| a.ip != g.addr.ip || a.port != g.addr.port || a.cport != g.addr.cport)
        {
            t.move_to(g.node, g.addr.clone(), now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_times_are_widened_with_the_capture_clock() {
        let now = 1_795_598_711_222_i64;
        let low = (now - 1500) as u32;
        assert_eq!(widen_v0(low, now), now - 1500);
        assert_eq!(widen_v0(0, now), 0);
    }

    #[test]
    fn a_time_to_the_second_keeps_the_ms_that_fall_in_it() {
        assert_eq!(to_the_second(5000, 5123, 0), 5123);
        assert_eq!(to_the_second(5000, 6001, 5456), 5456);
        assert_eq!(to_the_second(5000, 6001, 0), 5000);
        assert_eq!(to_the_second(0, 6001, 0), 0);
    }
}
