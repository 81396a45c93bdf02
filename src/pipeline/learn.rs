//! What a live capture's auto filter learns from the chain (see
//! [`crate::capture::autofilter`]): the bus ports every message and gossip
//! entry announces, the listening port of each connection that carried
//! bus messages, the bus port of both ends of a `CLUSTER MEET`, the client
//! connections that sent `CLUSTER` commands, and bus connections whose
//! listening side cannot be told (followed by their addresses). A sink
//! wrapped around the run's own: it learns, then hands everything on.

use super::anomaly::Anomaly;
use super::sink::{BusSink, BusStart, CommandMeta, MessageMeta, StreamEnd};
use crate::capture::BusLearning;
use crate::clusterbus::Message;
use crate::decode::Endpoint;
use std::collections::HashSet;
use std::net::SocketAddr;

/// Connections remembered as followed (beyond, the oldest are forgotten
/// here; the filter keeps its own bound).
const MAX_FOLLOWED: usize = 4096;

/// The learning side of one pipeline: what it told the shared record
/// already, so the record's lock is taken only for news.
#[derive(Debug)]
pub(super) struct Learner {
    shared: BusLearning,
    /// One bit per port told.
    told: Vec<u64>,
    /// Connections (client or dialer, server) followed by address.
    followed: HashSet<(SocketAddr, SocketAddr)>,
}

impl Learner {
    pub(super) fn new(shared: BusLearning) -> Self {
        Learner { shared, told: vec![0; 1024], followed: HashSet::new() }
    }

    fn known(&self, port: u16) -> bool {
        self.told.get(usize::from(port / 64)).is_some_and(|w| w & (1 << (port % 64)) != 0)
    }

    fn port(&mut self, port: u16) {
        if port == 0 || self.known(port) {
            return;
        }
        if let Some(w) = self.told.get_mut(usize::from(port / 64)) {
            *w |= 1 << (port % 64);
        }
        self.shared.learn_port(port);
    }

    fn follow(&mut self, from: SocketAddr, to: SocketAddr) {
        if self.followed.len() >= MAX_FOLLOWED {
            self.followed.clear();
        }
        if self.followed.insert((from, to)) {
            self.shared.learn_conversation(from, to);
        }
    }

    /// The listening side of a connection carrying bus messages from
    /// `src` to `dst`; `bus_port`: where the sender listens, if known.
    fn connection(&mut self, src: Endpoint, dst: Endpoint, from_initiator: Option<bool>, bus_port: Option<u16>) {
        match from_initiator {
            Some(true) => self.port(dst.port),
            Some(false) => self.port(src.port),
            None => match bus_port {
                Some(p) if p == src.port => self.port(p),
                // Joined mid-way: an announced port names the listening
                // side unless addresses are translated; then the
                // connection itself is followed.
                _ if self.known(src.port) || self.known(dst.port) => {}
                _ => self.follow(SocketAddr::new(src.ip, src.port), SocketAddr::new(dst.ip, dst.port)),
            },
        }
    }

    /// The first segment of a message: its continuations follow at once,
    /// so the port is learned before the message is whole.
    fn bus_start(&mut self, s: &BusStart) {
        let bus_port = s.data_port.and_then(|p| p.checked_add(10000));
        self.connection(s.src, s.dst, s.from_initiator, bus_port);
    }

    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        if let Some(h) = &msg.header {
            self.port(h.cport);
        }
        for e in msg.gossip() {
            self.port(e.cport);
        }
        self.connection(meta.src, meta.dst, meta.from_initiator, msg.header.as_ref().map(|h| h.cport));
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        let word = |i: usize, w: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
        if !word(0, "cluster") {
            return;
        }
        self.follow(SocketAddr::new(meta.src.ip, meta.src.port), SocketAddr::new(meta.dst.ip, meta.dst.port));
        if word(1, "meet") {
            let num = |i: usize| args.get(i).and_then(|a| std::str::from_utf8(a).ok()?.parse::<u16>().ok());
            // CLUSTER MEET ip port [cport]: the default bus port is port +
            // 10000, on both ends.
            let cport = num(4).or_else(|| num(3).and_then(|p| p.checked_add(10000)));
            if let Some(c) = cport {
                self.port(c);
            }
            if let Some(own) = meta.dst.port.checked_add(10000) {
                self.port(own);
            }
        }
    }

    fn stream_end(&mut self, end: &StreamEnd) {
        let (a, b) = (SocketAddr::new(end.src.ip, end.src.port), SocketAddr::new(end.dst.ip, end.dst.port));
        for (from, to) in [(a, b), (b, a)] {
            if self.followed.remove(&(from, to)) {
                self.shared.forget_conversation(from, to);
            }
        }
    }
}

/// The run's sink with a [`Learner`] in front.
pub(super) struct LearningSink<'a, K: BusSink> {
    pub(super) learner: &'a mut Learner,
    pub(super) inner: &'a mut K,
}

impl<K: BusSink> BusSink for LearningSink<'_, K> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        self.learner.message(meta, msg);
        self.inner.message(meta, msg);
    }

    fn anomaly(&mut self, anomaly: &Anomaly) {
        self.inner.anomaly(anomaly);
    }

    fn stream_end(&mut self, end: &StreamEnd) {
        self.learner.stream_end(end);
        self.inner.stream_end(end);
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.learner.command(meta, args);
        self.inner.command(meta, args);
    }

    fn bus_start(&mut self, start: &BusStart) {
        self.learner.bus_start(start);
        self.inner.bus_start(start);
    }
}
