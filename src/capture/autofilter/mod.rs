//! The kernel filter a live capture narrows itself to by default
//! (`--no-auto-filter` turns it off, `-f` replaces it): what can carry the
//! cluster bus passes, a busy host's application traffic stays in the
//! kernel. The pipeline records what it learns here ([`BusLearning`]);
//! `live.rs` installs the program made of it.
//!
//! What passes, and why nothing of the bus is lost:
//!
//! - every TCP segment whose payload starts with `RCmb` (IPv4 and IPv6):
//!   the first segment of every bus message, on any port;
//! - every TCP segment with SYN, FIN or RST (few on any host): every
//!   connection's start and end, before its port is known to be the bus;
//! - every segment to or from a *learned bus port*: the ports the
//!   pipeline saw carrying bus messages (the listening side), every port
//!   a header or a gossip entry announces as a cluster bus port
//!   (`cport`), and the bus port (`port + 10000`, or the one given) of
//!   both ends of a `CLUSTER MEET` typed on a data port. A node's bus
//!   port is announced before anyone dials it, so its connections are
//!   captured whole from the SYN, the segments that continue a message
//!   included;
//! - a RESP command whose first word is `CLUSTER` (any case; arrays of
//!   up to 9 arguments, as `CLUSTER MEET` always is, or inline), and then
//!   every segment of that client connection (*conversations*: the
//!   operator's evidence, in order);
//! - tunnels the decoder takes off: VXLAN, Geneve (Ethernet inside) and
//!   IP-in-IP over IPv4 pass unless their inner packet is plain IPv4 TCP
//!   that none of the above would pass (the same tests one layer in, with
//!   wider port ranges); other tunnels, MPLS, tunnels over IPv6 and
//!   fragments of TCP or of tunnels pass whole;
//! - IPv6 TCP is tested right after the fixed header; a packet with
//!   extension headers passes whole. One VLAN tag in the frame is looked
//!   through; two pass whole.
//!
//! Learned ports are merged into at most [`MAX_RANGES`] ranges (a wider
//! filter, never a narrower one); conversations are the last
//! [`MAX_CONVERSATIONS`].
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Learned`], [`BusLearning`], port ranges |
//! | `program.rs` | [`program`]: the classic BPF program for a link type |
//! | `asm.rs` | the assembler it is written with (and a test interpreter) |
//! | `replay.rs` | [`Replayed`]: a file read as the filter would have passed it |
//! | `text.rs` | [`filter_text`]: the same rules in libpcap's syntax (tests compare the two) |
//! | `program_tests.rs` | the program's tests |

mod asm;
mod program;
#[cfg(test)]
mod program_tests;
mod replay;
mod text;

pub use asm::{Insn, run};
pub use program::{Link, program};
pub use replay::Replayed;
pub use text::filter_text;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Port ranges in the filter at most (nearest ranges are merged).
pub const MAX_RANGES: usize = 8;
/// The same inside tunnels.
pub const MAX_TUNNEL_RANGES: usize = 2;
/// Client connections followed whole at most (the oldest is dropped).
pub const MAX_CONVERSATIONS: usize = 8;

/// "RCmb", the first four bytes of every bus message.
const RCMB: u32 = 0x5243_6d62;

/// What the capture learned so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    /// Cluster bus ports (the listening side).
    pub ports: BTreeSet<u16>,
    /// Client connections that sent `CLUSTER` commands (client, server),
    /// oldest first.
    pub conversations: Vec<(SocketAddr, SocketAddr)>,
}

#[derive(Debug, Default)]
struct Shared {
    learned: Mutex<Learned>,
    /// Bumped on every change (the capture re-installs when it moves).
    generation: AtomicU64,
}

/// The record of what was learned, shared by the pipeline (which learns)
/// and the live captures (which install the filter).
#[derive(Clone, Debug, Default)]
pub struct BusLearning(Arc<Shared>);

impl BusLearning {
    fn change(&self, f: impl FnOnce(&mut Learned) -> bool) {
        let Ok(mut l) = self.0.learned.lock() else { return };
        if f(&mut l) {
            self.0.generation.fetch_add(1, Ordering::Release);
        }
    }

    /// A cluster bus port (0 is ignored).
    pub fn learn_port(&self, port: u16) {
        if port != 0 {
            self.change(|l| l.ports.insert(port));
        }
    }

    /// A client connection to follow whole.
    pub fn learn_conversation(&self, client: SocketAddr, server: SocketAddr) {
        self.change(|l| {
            if l.conversations.contains(&(client, server)) {
                return false;
            }
            if l.conversations.len() >= MAX_CONVERSATIONS {
                l.conversations.remove(0);
            }
            l.conversations.push((client, server));
            true
        });
    }

    /// A followed connection ended.
    pub fn forget_conversation(&self, client: SocketAddr, server: SocketAddr) {
        self.change(|l| {
            let before = l.conversations.len();
            l.conversations.retain(|c| *c != (client, server));
            l.conversations.len() != before
        });
    }

    /// Changes so far.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// A copy of what was learned, with its generation.
    pub fn learned(&self) -> (u64, Learned) {
        let l = self.0.learned.lock().map(|l| l.clone()).unwrap_or_default();
        (self.generation(), l)
    }
}

/// `ports` as at most `max` inclusive ranges: adjacent ports joined, then
/// the two ranges with the smallest hole between them merged until few
/// enough (the filter only ever gets wider).
pub fn port_ranges(ports: &BTreeSet<u16>, max: usize) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &p in ports {
        match out.last_mut() {
            Some((_, hi)) if u32::from(*hi) + 1 == u32::from(p) => *hi = p,
            _ => out.push((p, p)),
        }
    }
    while out.len() > max.max(1) {
        let Some(i) = (0..out.len() - 1).min_by_key(|&i| (out[i + 1].0 - out[i].1, i)) else { break };
        out[i].1 = out[i + 1].1;
        out.remove(i + 1);
    }
    out
}

/// The learned ports as text (`17000-17002,16379`), for metrics and
/// messages.
pub fn ports_text(ports: &BTreeSet<u16>) -> String {
    port_ranges(ports, usize::MAX)
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(p: &[u16]) -> BTreeSet<u16> {
        p.iter().copied().collect()
    }

    #[test]
    fn ports_become_few_ranges_and_only_wider() {
        assert_eq!(port_ranges(&set(&[17000, 17001, 17002, 16379]), MAX_RANGES), vec![(16379, 16379), (17000, 17002)]);
        // Three ranges into two: the smallest hole (17002..17010) closes.
        assert_eq!(
            port_ranges(&set(&[7000, 17000, 17002, 17010]), 3),
            vec![(7000, 7000), (17000, 17002), (17010, 17010)]
        );
        assert_eq!(port_ranges(&set(&[7000, 17000, 17002, 17010]), 2), vec![(7000, 7000), (17000, 17010)]);
        assert_eq!(port_ranges(&set(&[1, 65535]), 1), vec![(1, 65535)]);
        assert_eq!(port_ranges(&set(&[]), 4), vec![]);
        assert_eq!(ports_text(&set(&[17000, 17001, 17002, 16379])), "16379,17000-17002");
        // Every port learned stays inside the ranges, whatever the bound.
        let many: BTreeSet<u16> = (0..200u16).map(|i| 1000 + i * 37 % 5000).collect();
        for max in [1, 2, 5, 12] {
            let r = port_ranges(&many, max);
            assert!(r.len() <= max);
            assert!(many.iter().all(|p| r.iter().any(|&(lo, hi)| (lo..=hi).contains(p))));
        }
    }

    #[test]
    fn learning_moves_the_generation_only_on_news() {
        let l = BusLearning::default();
        assert_eq!(l.generation(), 0);
        l.learn_port(17000);
        l.learn_port(17000);
        l.learn_port(0);
        assert_eq!(l.generation(), 1);
        let (c, s): (SocketAddr, SocketAddr) = ("10.0.0.1:40000".parse().unwrap(), "10.0.0.2:7000".parse().unwrap());
        l.learn_conversation(c, s);
        l.learn_conversation(c, s);
        assert_eq!(l.generation(), 2);
        for i in 0..MAX_CONVERSATIONS as u16 + 3 {
            l.learn_conversation(SocketAddr::new(c.ip(), 50000 + i), s);
        }
        let (g, learned) = l.learned();
        assert_eq!(g, l.generation());
        assert_eq!(learned.conversations.len(), MAX_CONVERSATIONS);
        assert_eq!(learned.conversations[0].0.port(), 50003);
        l.forget_conversation(SocketAddr::new(c.ip(), 50010), s);
        assert_eq!(l.learned().1.conversations.len(), MAX_CONVERSATIONS - 1);
        assert_eq!(learned.ports, set(&[17000]));
    }
}
