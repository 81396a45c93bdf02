//! Reading: how much of the cluster bus the captures let us read, and what
//! that hides (the model's `Coverage`). Counts decoded messages and bus
//! streams, TLS streams (an encrypted bus: `tls-cluster yes`) with who
//! connected to whom and when, and messages cut by the capture's snaplen. A
//! verdict resting on less than the whole bus is marked incomplete.

use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{ConnectionBurst, Coverage, EncryptedFlow, Evidence};
use crate::events::{AnomalyKind, Link};
use std::collections::{BTreeMap, BTreeSet};

/// A TLS connection pair first seen this long after its capture began is
/// a pair that began to talk during the capture.
const NEW_PAIR_AFTER_US: i64 = 5_000_000;

#[derive(Clone, Debug)]
struct TlsFlow {
    first_ts: i64,
    last_ts: i64,
    connections: u64,
    bytes: u64,
    capture: usize,
    evidence: Evidence,
}

#[derive(Clone, Debug, Default)]
pub struct Reading {
    messages: u64,
    bus_streams: u64,
    other_streams: u64,
    /// (client IP, server IP, server port) → flow.
    tls: BTreeMap<(String, String, u16), TlsFlow>,
    /// Bus ports of decoded nodes (`ip`, cport).
    known_bus: BTreeSet<(String, u16)>,
    snaplen_gaps: u64,
    /// Messages of which only a prefix was captured (decoded in part).
    cut_messages: u64,
    /// First message time per capture.
    first_ts: BTreeMap<usize, i64>,
    /// Each TLS stream direction: (ts, server IP, server port).
    tls_times: Vec<(i64, String, u16)>,
    /// Non-bus stream directions that carried bytes from a server to a
    /// client: (client IP, server IP, server port). A TLS flow the server
    /// never answered (a ClientHello from a scanner) is not a bus.
    answered: BTreeSet<(String, String, u16)>,
    /// TLS pairs past `TLS_FLOWS_CAP`.
    tls_not_kept: u64,
}

/// TLS stream directions remembered for bursts.
const TLS_TIMES_CAP: usize = 200_000;
/// TLS client→server pairs kept (each a line of the JSON).
const TLS_FLOWS_CAP: usize = 100_000;
/// Answered server sides remembered (one per non-bus pair that talked).
const ANSWERED_CAP: usize = 200_000;
/// New connections closer than this belong to one burst.
const BURST_GAP_US: i64 = 1_000_000;
/// Quiet before a burst that counts as new talk.
const BURST_QUIET_US: i64 = 2_000_000;
/// Stream directions that make a burst.
const BURST_MIN: usize = 4;

impl Reading {
    pub fn message(&mut self, ts: i64, capture: usize, cut: bool) {
        self.messages += 1;
        self.cut_messages += u64::from(cut);
        self.first_ts.entry(capture).or_insert(ts);
    }

    /// A node answered (or announced) its bus port at `ip:cport`.
    pub fn bus_port(&mut self, ip: String, cport: u16) {
        self.known_bus.insert((ip, cport));
    }

    /// One direction of a connection ended; an encrypted one adds its
    /// bytes to its flow.
    pub fn stream_end(&mut self, bus: bool, bytes: u64, link: &Link) {
        if bus {
            self.bus_streams += 1;
            return;
        }
        self.other_streams += 1;
        let (s, d) = (link.src, link.dst);
        if bytes > 0 && self.answered.len() < ANSWERED_CAP {
            self.answered.insert((d.ip.to_string(), s.ip.to_string(), s.port));
        }
        for key in [(s.ip.to_string(), d.ip.to_string(), d.port), (d.ip.to_string(), s.ip.to_string(), s.port)] {
            if let Some(f) = self.tls.get_mut(&key) {
                f.bytes += bytes;
                return;
            }
        }
    }

    /// A counted anomaly of the wire layer that limits what can be read.
    pub fn anomaly(&mut self, cfg: &AnalysisConfig, ts: i64, frame: u64, kind: &AnomalyKind, link: Option<&Link>) {
        match (kind, link) {
            (AnomalyKind::GapSnaplen, _) => self.snaplen_gaps += 1,
            (AnomalyKind::TlsStream | AnomalyKind::TlsStreamJoined, Some(l)) => {
                self.first_ts.entry(l.capture).or_insert(ts);
                let key = (l.src.ip.to_string(), l.dst.ip.to_string(), l.dst.port);
                if self.tls.len() >= TLS_FLOWS_CAP && !self.tls.contains_key(&key) {
                    self.tls_not_kept += 1;
                    return;
                }
                let f = self.tls.entry(key).or_insert_with(|| TlsFlow {
                    first_ts: ts,
                    last_ts: ts,
                    connections: 0,
                    bytes: 0,
                    capture: l.capture,
                    evidence: cfg.evidence(l.capture, frame),
                });
                f.first_ts = f.first_ts.min(ts);
                f.last_ts = f.last_ts.max(ts);
                f.connections += 1;
                // Only streams that began in the capture make bursts.
                if *kind == AnomalyKind::TlsStream && self.tls_times.len() < TLS_TIMES_CAP {
                    self.tls_times.push((ts, l.dst.ip.to_string(), l.dst.port));
                }
            }
            _ => {}
        }
    }

    /// Bursts of new TLS connections to bus ports after a quiet period:
    /// nodes that had not talked began to (a node joined, clusters met).
    fn bursts(&self, flows: &[EncryptedFlow]) -> Vec<ConnectionBurst> {
        let bus: BTreeSet<&str> = flows.iter().filter(|f| f.likely_bus.is_some()).map(|f| f.server.as_str()).collect();
        let mut times: Vec<(i64, String)> = self
            .tls_times
            .iter()
            .map(|(t, ip, port)| (*t, format!("{ip}:{port}")))
            .filter(|(_, s)| bus.contains(s.as_str()))
            .collect();
        times.sort();
        let mut out = Vec::new();
        let mut i = 0;
        while i < times.len() {
            let mut j = i + 1;
            while j < times.len() && times[j].0 - times[j - 1].0 < BURST_GAP_US {
                j += 1;
            }
            let quiet_before = if i == 0 { None } else { Some(times[i].0 - times[i - 1].0) };
            if j - i >= BURST_MIN {
                let servers: BTreeSet<&str> = times[i..j].iter().map(|(_, s)| s.as_str()).collect();
                out.push(ConnectionBurst {
                    ts_us: times[i].0,
                    last_ts_us: times[j - 1].0,
                    stream_directions: (j - i) as u64,
                    servers: servers.into_iter().map(str::to_string).collect(),
                    quiet_before_us: quiet_before.filter(|q| *q >= BURST_QUIET_US),
                });
            }
            i = j;
        }
        out
    }

    /// What was read, what was not, and what that hides.
    pub fn coverage(&self) -> Coverage {
        let tls_ports: BTreeSet<(&str, u16)> = self.tls.keys().map(|(_, s, p)| (s.as_str(), *p)).collect();
        let flows: Vec<EncryptedFlow> = self
            .tls
            .iter()
            .map(|((client, server, port), f)| {
                // Heuristics, named in `why`: a bus port a decoded node
                // uses, or data port + 10000 (TLS also on port − 10000).
                // Only when the server answered: a ClientHello nobody
                // answered (a scanner, junk) is not a bus.
                let answered = self.answered.contains(&(client.clone(), server.clone(), *port));
                let why = if !answered {
                    None
                } else if self.known_bus.contains(&(server.clone(), *port)) {
                    Some("bus port of a decoded node")
                } else if port.checked_sub(10_000).is_some_and(|d| tls_ports.contains(&(server.as_str(), d))) {
                    Some("data port + 10000 (TLS also on the data port)")
                } else if *port >= 10_000 {
                    Some("port ≥ 10000, as bus ports are (data port + 10000)")
                } else {
                    None
                };
                let start = self.first_ts.get(&f.capture).copied().unwrap_or(f.first_ts);
                EncryptedFlow {
                    first_ts_us: f.first_ts,
                    last_ts_us: f.last_ts,
                    client: client.clone(),
                    server: format!("{server}:{port}"),
                    connections: f.connections,
                    bytes: f.bytes,
                    likely_bus: why.map(str::to_string),
                    new_pair: f.first_ts - start > NEW_PAIR_AFTER_US,
                    evidence: vec![f.evidence.clone()],
                }
            })
            .collect();
        let bus_tls = flows.iter().filter(|f| f.likely_bus.is_some()).count();
        let bursts = self.bursts(&flows);
        let mut limits = Vec::new();
        if bus_tls > 0 {
            let bus: Vec<&EncryptedFlow> = flows.iter().filter(|f| f.likely_bus.is_some()).collect();
            let servers: BTreeSet<&str> = bus.iter().map(|f| f.server.as_str()).collect();
            // The flows are made one per TLS pair, in the pairs' order.
            let hosts: BTreeSet<&str> = self
                .tls
                .keys()
                .zip(&flows)
                .filter(|(_, f)| f.likely_bus.is_some())
                .flat_map(|((client, server, _), _)| [client.as_str(), server.as_str()])
                .collect();
            let (streams, bytes): (u64, u64) = bus.iter().fold((0, 0), |(s, b), f| (s + f.connections, b + f.bytes));
            limits.push(format!(
                "The cluster bus is encrypted: TLS on {bus_tls} client→server pair(s) to {} bus port(s) ({}) between {} host(s), {streams} stream direction(s), {bytes} bytes captured; those messages cannot be decoded, so introductions and merges over them are not visible. Capture before encryption, or compare the servers' CLUSTER NODES; the connection metadata is listed under \"Encrypted connections\".",
                servers.len(),
                servers.iter().take(6).copied().collect::<Vec<_>>().join(", "),
                hosts.len()
            ));
        }
        if self.snaplen_gaps > 0 {
            let partial = if self.cut_messages > 0 {
                format!(
                    " {} cut message(s) were read in part (their headers: sender, flags, epochs, slots; and the gossip entries that were whole); extensions and the rest of their gossip are lost.",
                    self.cut_messages
                )
            } else {
                " No cut message kept a whole header: senders and gossip in them are lost.".to_string()
            };
            limits.push(format!(
                "{} stream gap(s) from the capture's snaplen: packets were cut.{partial} Capture with `tcpdump -s 0` (the whole packet).",
                self.snaplen_gaps
            ));
        }
        if self.messages == 0 && limits.is_empty() {
            limits.push(format!(
                "No cluster-bus message in the capture ({} other TCP stream direction(s)): nothing here tells whether clusters merged. Capture the bus ports (data port + 10000, e.g. `tcpdump -i any -s 0 'tcp portrange 16379-17999'`).",
                self.other_streams
            ));
        }
        Coverage {
            messages: self.messages,
            bus_streams: self.bus_streams,
            other_streams: self.other_streams,
            snaplen_gaps: self.snaplen_gaps,
            cut_messages: self.cut_messages,
            encrypted: flows,
            encrypted_not_kept: self.tls_not_kept,
            bursts,
            complete: limits.is_empty(),
            limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Endpoint;

    fn link(client: &str, server: &str, port: u16) -> Link {
        Link {
            capture: 0,
            conn_id: 0,
            src: Endpoint { ip: client.parse().unwrap(), port: 40000 },
            dst: Endpoint { ip: server.parse().unwrap(), port },
            from_initiator: None,
        }
    }

    #[test]
    fn nothing_decoded_is_incomplete() {
        let r = Reading::default();
        let c = r.coverage();
        assert!(!c.complete);
        assert!(c.limits[0].starts_with("No cluster-bus message"), "{:?}", c.limits);
    }

    #[test]
    fn tls_on_bus_ports_is_named_with_its_heuristic() {
        let cfg = AnalysisConfig::default();
        let mut r = Reading::default();
        r.message(0, 0, false);
        r.anomaly(&cfg, 1, 1, &AnomalyKind::TlsStream, Some(&link("10.0.0.1", "10.0.0.2", 7000)));
        r.anomaly(&cfg, 2, 2, &AnomalyKind::TlsStream, Some(&link("10.0.0.1", "10.0.0.2", 17000)));
        r.anomaly(&cfg, 9_000_000, 3, &AnomalyKind::TlsStream, Some(&link("10.0.0.3", "10.0.0.2", 17000)));
        // Nobody answered 10.0.0.4 (a scanner's ClientHello).
        r.anomaly(&cfg, 9_000_000, 4, &AnomalyKind::TlsStream, Some(&link("10.0.0.4", "10.0.0.2", 17000)));
        for (c, p) in [("10.0.0.1", 7000), ("10.0.0.1", 17000), ("10.0.0.3", 17000)] {
            let l = link(c, "10.0.0.2", p);
            r.stream_end(false, 100, &Link { src: l.dst, dst: l.src, ..l });
        }
        let c = r.coverage();
        assert!(!c.complete);
        let bus: Vec<(&str, bool)> =
            c.encrypted.iter().filter(|f| f.likely_bus.is_some()).map(|f| (f.client.as_str(), f.new_pair)).collect();
        assert_eq!(bus, vec![("10.0.0.1", false), ("10.0.0.3", true)]);
        assert!(c.encrypted.iter().any(|f| f.server == "10.0.0.2:7000" && f.likely_bus.is_none()));
        assert!(c.encrypted.iter().any(|f| f.client == "10.0.0.4" && f.likely_bus.is_none()));
    }
}
