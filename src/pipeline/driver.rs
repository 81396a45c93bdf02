//! The driver of one capture's chain: each packet through decode, the
//! port and host filters and reassembly (whose consumer, [`super::classify`],
//! frames the bus), and the counters it keeps.

use super::anomaly::{Anomaly, AnomalyKind};
use super::classify::{Glue, StreamState};
use super::sink::BusSink;
use super::stats::{CaptureStats, MessageCounts};
use crate::capture::RawPacket;
use crate::clusterbus::framer::FramerConfig;
use crate::decode::{DecodeError, TcpSegment, decode_packet};
use crate::reassembly::{Reassembler, ReassemblyConfig};

/// Inclusive TCP port ranges; a segment passes when either port is inside.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortFilter(pub Vec<(u16, u16)>);

impl PortFilter {
    pub fn matches(&self, a: u16, b: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&a) || (lo..=hi).contains(&b))
    }
}

/// Everything the chain needs to know.
#[derive(Clone, Debug, Default)]
pub struct PipelineConfig {
    pub reassembly: ReassemblyConfig,
    pub framer: FramerConfig,
    /// Only these ports, when set.
    pub ports: Option<PortFilter>,
    /// Only segments from or to these addresses, when not empty.
    pub hosts: Vec<std::net::IpAddr>,
}
/// One capture's decode → reassembly → framer chain.
pub struct Pipeline {
    capture: usize,
    cfg: PipelineConfig,
    reasm: Reassembler<StreamState>,
    stats: CaptureStats,
    counts: MessageCounts,
    last_ts: i64,
    last_frame: u64,
}

impl Pipeline {
    pub fn new(capture: usize, cfg: PipelineConfig) -> Self {
        let reasm = Reassembler::new(cfg.reassembly);
        Pipeline {
            capture,
            cfg,
            reasm,
            stats: CaptureStats::default(),
            counts: MessageCounts::default(),
            last_ts: 0,
            last_frame: 0,
        }
    }

    /// Processes one captured packet.
    pub fn packet<K: BusSink>(&mut self, pkt: &RawPacket<'_>, sink: &mut K) {
        self.decoded(pkt, decode_packet(pkt), sink);
    }

    /// [`Pipeline::packet`] of a packet the caller decoded already.
    pub fn decoded<K: BusSink>(
        &mut self,
        pkt: &RawPacket<'_>,
        decoded: Result<Option<TcpSegment<'_>>, DecodeError>,
        sink: &mut K,
    ) {
        self.stats.packets += 1;
        self.stats.bytes += pkt.data.len() as u64;
        if self.stats.first_ts_us.is_none() {
            self.stats.first_ts_us = Some(pkt.ts_us);
        }
        self.stats.last_ts_us = Some(pkt.ts_us);
        self.last_ts = pkt.ts_us;
        self.last_frame = pkt.frame;
        let mut glue = Glue::new(self.capture, &self.cfg.framer, &mut self.stats, &mut self.counts, sink);
        let seg = match decoded {
            Ok(Some(seg)) => seg,
            Ok(None) => {
                glue.stats.non_tcp_packets += 1;
                return;
            }
            Err(e) => {
                if let DecodeError::UnsupportedLink(l) = e {
                    *glue.stats.unsupported_links.entry(l.0).or_default() += 1;
                }
                glue.report(Anomaly {
                    capture: self.capture,
                    ts_us: pkt.ts_us,
                    frame: pkt.frame,
                    src: None,
                    dst: None,
                    kind: AnomalyKind::from(&e),
                    detail: e.to_string(),
                });
                return;
            }
        };
        if let Some(f) = &self.cfg.ports
            && !f.matches(seg.src.port, seg.dst.port)
        {
            glue.stats.filtered_segments += 1;
            return;
        }
        if !self.cfg.hosts.is_empty() && !self.cfg.hosts.iter().any(|h| *h == seg.src.ip || *h == seg.dst.ip) {
            glue.stats.filtered_segments += 1;
            return;
        }
        glue.stats.tcp_segments += 1;
        self.reasm.feed(&seg, pkt.ts_us, pkt.frame, &mut glue);
    }

    /// Ends the capture: open streams are flushed and closed.
    pub fn finish<K: BusSink>(&mut self, sink: &mut K) {
        let mut glue = Glue::new(self.capture, &self.cfg.framer, &mut self.stats, &mut self.counts, sink);
        self.reasm.finish(&mut glue, self.last_ts);
        // A bound reached is told once, with what it dropped.
        let evicted = self.reasm.stats().connections_evicted;
        if evicted > 0 {
            glue.report(Anomaly {
                capture: self.capture,
                ts_us: self.last_ts,
                frame: 0,
                src: None,
                dst: None,
                kind: AnomalyKind::ConnectionsEvicted,
                detail: format!(
                    "{evicted} connection(s) closed early: more than {} tracked at once (--max-connections)",
                    self.cfg.reassembly.max_connections
                ),
            });
        }
    }

    /// Bytes of packets already fed that reassembly still holds out of
    /// order: a message they complete will name one of those packets'
    /// frames. None held: every message to come completes in a packet
    /// not fed yet.
    pub fn held_out_of_order(&self) -> u64 {
        self.reasm.pending_bytes()
    }

    /// Counters so far (complete after [`Pipeline::finish`]).
    pub fn stats(&self) -> CaptureStats {
        let mut s = self.stats.clone();
        s.reassembly = *self.reasm.stats();
        s.tcp_flows = s.reassembly.connections;
        self.counts.write_to(&mut s);
        s
    }
}
