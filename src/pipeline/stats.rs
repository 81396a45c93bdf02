//! One capture's counters (what `dump --stats` prints): packets, flows,
//! messages by type and sender, anomalies by kind, and reassembly's own.

use crate::clusterbus::{Message, MessageType};
use crate::decode::TunnelStats;
use crate::reassembly::ReassemblyStats;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-capture counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub non_tcp_packets: u64,
    pub filtered_segments: u64,
    /// TCP connections seen.
    pub tcp_flows: u64,
    /// Directions of TCP connections that carried cluster-bus messages.
    pub bus_streams: u64,
    /// TCP connections with at least one bus direction.
    pub bus_flows: u64,
    pub messages: u64,
    pub message_bytes: u64,
    pub messages_by_type: BTreeMap<String, u64>,
    pub messages_by_sender: BTreeMap<String, u64>,
    /// `CLUSTER ...` commands seen on data ports.
    pub commands: u64,
    pub anomalies: BTreeMap<String, u64>,
    /// Packets skipped because their link type is not decoded, by link
    /// type number (also counted as the anomaly `unsupported_link`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported_links: BTreeMap<u16, u64>,
    pub first_ts_us: Option<i64>,
    pub last_ts_us: Option<i64>,
    pub reassembly: ReassemblyStats,
    /// Packets captured shorter than they were on the wire (the capture's
    /// snaplen cut them).
    #[serde(skip_serializing_if = "is_zero")]
    pub cut_packets: u64,
    /// The longest captured length of a cut packet: the snaplen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snaplen: Option<u32>,
    /// What was taken off the packets (VXLAN, Geneve, GRE, ...), what was
    /// named but not decoded.
    #[serde(skip_serializing_if = "TunnelStats::is_empty")]
    pub tunnels: TunnelStats,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CaptureStats {
    /// Adds another capture's counters (for run totals).
    pub fn absorb(&mut self, o: &CaptureStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.tcp_segments += o.tcp_segments;
        self.non_tcp_packets += o.non_tcp_packets;
        self.filtered_segments += o.filtered_segments;
        self.tcp_flows += o.tcp_flows;
        self.bus_streams += o.bus_streams;
        self.bus_flows += o.bus_flows;
        self.messages += o.messages;
        self.message_bytes += o.message_bytes;
        self.commands += o.commands;
        for (k, v) in &o.messages_by_type {
            *self.messages_by_type.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.messages_by_sender {
            *self.messages_by_sender.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.anomalies {
            *self.anomalies.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.unsupported_links {
            *self.unsupported_links.entry(*k).or_default() += v;
        }
        self.first_ts_us = match (self.first_ts_us, o.first_ts_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ts_us = self.last_ts_us.max(o.last_ts_us);
        self.reassembly.absorb(&o.reassembly);
        self.cut_packets += o.cut_packets;
        self.snaplen = self.snaplen.max(o.snaplen);
        self.tunnels.merge(&o.tunnels);
    }
}

/// Messages counted by type and by sender (made into the maps of
/// [`CaptureStats`] when asked: counting is on every message's path).
#[derive(Default)]
pub(super) struct MessageCounts {
    /// By type number; the last one counts every unknown type.
    by_type: [u64; 12],
    by_sender: rustc_hash::FxHashMap<[u8; 40], u64>,
}

impl MessageCounts {
    pub(super) fn count(&mut self, msg: &Message<'_>) {
        self.by_type[usize::from(msg.msg_type.0).min(11)] += 1;
        if let Some(h) = &msg.header {
            *self.by_sender.entry(*h.sender.0).or_default() += 1;
        }
    }

    pub(super) fn write_to(&self, s: &mut CaptureStats) {
        s.messages_by_type.clear();
        for (t, &n) in self.by_type.iter().enumerate() {
            if n > 0 {
                *s.messages_by_type.entry(MessageType(t as u16).name().to_string()).or_default() += n;
            }
        }
        s.messages_by_sender.clear();
        for (k, &n) in &self.by_sender {
            *s.messages_by_sender.entry(crate::clusterbus::wire::escape_text(k).into_owned()).or_default() += n;
        }
    }
}
