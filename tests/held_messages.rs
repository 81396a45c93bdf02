//! Messages held until a connection's other side is known (README
//! "Resource bounds": 64 per connection, 20 000 in all; past them a
//! message is not held, and still counts for its sender).
//!
//! Tested on the analyzer's public API with events made here, not through
//! the binary: the caps have no flag, and a capture that holds 65 messages
//! on one connection before its other side speaks (or 20 000 over all)
//! can only be fabricated byte by byte, which would test the same code
//! with a message writer the project does not have. A dials B on a
//! connection and keeps sending; B answers last. Gossip about C
//! in one of A's messages, once released to B, is how B learnt C (B shows
//! it knows C in its answer); a message not held leaves it unexplained.

use meetgraph::analysis::{AnalysisConfig, Analyzer, NodeId, Via};
use meetgraph::clusterbus::MessageType;
use meetgraph::decode::Endpoint;
use meetgraph::events::{BusEvent, BusMessage, EventKind, Gossip, Link, NodeAddr};
use std::net::{IpAddr, Ipv4Addr};

fn id(n: u32) -> NodeId {
    NodeId::from_str_exact(&format!("{n:040x}")).unwrap()
}

fn ip(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

fn addr(n: u32) -> NodeAddr {
    NodeAddr { ip: ip(n).into(), port: 7000, cport: 17000, pport: 0 }
}

/// One message from node `from` to node `to` on connection `conn` (opened
/// by the lower-numbered node, `a`).
fn message(ts: i64, conn: u64, from: u32, to: u32, a: u32, kind: MessageType, gossip: &[u32]) -> BusEvent {
    let mut m = BusMessage::empty();
    m.msg_type = kind;
    m.sender = Some(id(from));
    m.flags = 1; // master
    m.announced = addr(from);
    m.totlen = 2256;
    m.gossip = gossip
        .iter()
        .map(|&g| Gossip { node: id(g), addr: addr(g), flags: 1, ping_sent: 0, pong_received: 0 })
        .collect();
    let port = |n: u32| if n == a { 40000 + conn as u16 } else { 17000 };
    let link = Link {
        capture: 0,
        conn_id: conn,
        src: Endpoint { ip: ip(from), port: port(from) },
        dst: Endpoint { ip: ip(to), port: port(to) },
        from_initiator: Some(from == a),
    };
    BusEvent {
        ts_us: ts,
        frame: ts as u64,
        first_frame: ts as u64,
        link: Some(link),
        capture: 0,
        kind: EventKind::Message(Box::new(m)),
    }
}

/// Each B (node 100 + k) first dials A (node 1), A answers; then on a
/// connection A opens to each B, `sent` PINGs, gossip about C (node 2) in
/// the ones `with_c` picks; connections one after the other in time, B's
/// answers (PONGs) last.
/// Returns the Bs whose knowledge of C (shown in their answer) is
/// explained by A's gossip, A's last-seen time, and when A sent last.
fn run(connections: u32, sent: u32, with_c: impl Fn(u32, u32) -> bool) -> (Vec<u32>, i64, i64) {
    let mut a = Analyzer::new(AnalysisConfig { vantages: vec!["made".into()], ..Default::default() });
    let mut ts = 1_000_000_000_000;
    let mut last_sent = 0;
    // First each B dials A and A answers: B knows A (and trusts its
    // gossip).
    for k in 0..connections {
        let conn = u64::from(1_000_000 + k);
        ts += 10;
        a.push(message(ts, conn, 100 + k, 1, 100 + k, MessageType::MEET, &[]));
        ts += 10;
        a.push(message(ts, conn, 1, 100 + k, 100 + k, MessageType::PONG, &[]));
    }
    for k in 0..connections {
        for i in 0..sent {
            let gossip: &[u32] = if with_c(k, i) { &[2] } else { &[] };
            ts += 10;
            last_sent = ts;
            a.push(message(ts, u64::from(k), 1, 100 + k, 1, MessageType::PING, gossip));
        }
    }
    for k in 0..connections {
        ts += 10;
        // B's answer gossips C: B shows it knows C. What B heard
        // explains it: A's gossip when released to B, else nothing.
        a.push(message(ts, u64::from(k), 100 + k, 1, 1, MessageType::PONG, &[2]));
    }
    let r = a.finish();
    let learnt: Vec<u32> = r
        .introductions
        .iter()
        .filter(|i| i.node == id(2) && i.learner != id(1) && i.via == Via::Gossip && i.introducer == Some(id(1)))
        .map(|i| u32::from_str_radix(&i.learner.as_str(), 16).unwrap() - 100)
        .collect();
    let seen = r.nodes.iter().find(|n| n.id == id(1)).map(|n| n.last_seen_us).unwrap();
    (learnt, seen, last_sent)
}

#[test]
fn sixty_four_messages_are_held_per_connection() {
    // The 64th message (index 63) is held and released: B learns C.
    let (learnt, seen, last) = run(1, 70, |_, i| i == 63);
    assert_eq!(learnt, [0], "the 64th message reaches B");
    assert_eq!(seen, last, "every message counts for its sender");
    // The 65th is not held: B never learns C from it, and it still
    // counts for A.
    let (learnt, seen, last) = run(1, 70, |_, i| i == 64);
    assert!(learnt.is_empty(), "the 65th message was held: {learnt:?}");
    assert_eq!(seen, last, "a message not held still counts for its sender");
}

#[test]
fn twenty_thousand_messages_are_held_in_all() {
    // 40 messages on each of 510 connections: the first 500 connections
    // fill the 20 000; on the later ones nothing is held. C is gossiped on
    // the first and the last connection.
    let (learnt, seen, last) = run(510, 40, |k, i| (k == 0 || k == 509) && i == 20);
    assert_eq!(learnt, [0], "C is learnt on the first connection, not on the last");
    assert_eq!(seen, last);
    // Under the total (500 connections of 40): both learn it.
    let (learnt, _, _) = run(500, 40, |k, i| (k == 0 || k == 499) && i == 20);
    assert_eq!(learnt, [0, 499]);
}
