//! A first, light pass over one capture file: its span, packet count, the
//! fingerprint and time of every message with gossip (to align clocks
//! across captures), the node clock its gossip reveals, and where each TCP
//! direction starts and ends (to tell rotated pieces of one capture).

use crate::capture::CaptureFile;
use crate::clusterbus::{Body, Layout, Message};
use crate::decode::decode_packet;
use crate::events::fingerprint;
use crate::pipeline::{Anomaly, BusSink, MessageMeta, Pipeline, PipelineConfig};
use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

/// One TCP direction by its endpoints as captured (address bytes, port).
pub type Flow = ([u8; 16], u16, [u8; 16], u16);

/// What the first pass learned about one file.
#[derive(Debug, Default)]
pub struct FileScan {
    pub path: PathBuf,
    /// Packets read (before any damage).
    pub packets: u64,
    /// Frame number of the last packet read.
    pub last_frame: u64,
    pub first_ts_us: Option<i64>,
    pub last_ts_us: Option<i64>,
    /// (fingerprint, capture time) of every message with gossip.
    pub fingerprints: Vec<(u64, i64)>,
    /// Capture time minus the newest `pong_received` the message's gossip
    /// carries (µs): the capture clock against the sending node's clock
    /// (≥ 0 and a few seconds at most when both agree).
    pub node_lags_us: Vec<i64>,
    /// Sequence numbers of each direction: of its first segment, and
    /// after its last one.
    pub flows: HashMap<Flow, (u32, u32)>,
    /// Reading stopped on damage.
    pub damaged: bool,
}

/// The [`fingerprint`] of a message with a header and gossip (only those
/// tell one message from another across captures).
fn gossip_fingerprint(msg: &Message<'_>) -> Option<u64> {
    let Body::Gossip { entries, .. } = msg.body else { return None };
    (msg.header.is_some() && !entries.is_empty()).then(|| fingerprint(msg))
}

struct ScanSink<'a> {
    scan: &'a mut FileScan,
}

impl BusSink for ScanSink<'_> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let Some(fp) = gossip_fingerprint(msg) else { return };
        self.scan.fingerprints.push((fp, meta.ts_us));
        let newest = msg.gossip().map(|g| g.pong_received).max().unwrap_or(0);
        if newest == 0 {
            return;
        }
        let lag = match msg.layout {
            // Unix seconds: the lag is within one second of the truth.
            Layout::V1 | Layout::Light => meta.ts_us - i64::from(newest) * 1_000_000,
            // V0: the low 32 bits of the node's millisecond clock.
            Layout::V0 => {
                let cap_ms = meta.ts_us.div_euclid(1000);
                let d = (cap_ms - i64::from(newest)).rem_euclid(1 << 32);
                let d = if d >= 1 << 31 { d - (1 << 32) } else { d };
                d * 1000
            }
        };
        self.scan.node_lags_us.push(lag);
    }

    fn anomaly(&mut self, _anomaly: &Anomaly) {}
}

fn flow_key(ip: std::net::IpAddr) -> [u8; 16] {
    match ip {
        std::net::IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v) => v.octets(),
    }
}

/// Reads `path` once. An unreadable file is an error; a damaged one is
/// scanned up to the damage.
pub fn scan_file(path: &Path, cfg: &PipelineConfig) -> Result<FileScan, crate::capture::CaptureError> {
    let mut file = CaptureFile::open(path)?;
    let mut scan = FileScan { path: path.to_path_buf(), ..FileScan::default() };
    let mut pipeline = Pipeline::new(0, cfg.clone());
    loop {
        match file.advance() {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => {
                scan.damaged = true;
                break;
            }
        }
        let Some(pkt) = file.current() else { break };
        scan.packets += 1;
        scan.last_frame = pkt.frame;
        scan.first_ts_us.get_or_insert(pkt.ts_us);
        scan.last_ts_us = Some(scan.last_ts_us.map_or(pkt.ts_us, |t| t.max(pkt.ts_us)));
        let decoded = decode_packet(&pkt);
        if let Ok(Some(seg)) = &decoded {
            let key = (flow_key(seg.src.ip), seg.src.port, flow_key(seg.dst.ip), seg.dst.port);
            let len = seg.payload.len() as u32 + seg.missing + u32::from(seg.flags.syn) + u32::from(seg.flags.fin);
            scan.flows.entry(key).or_insert((seg.seq, 0)).1 = seg.seq.wrapping_add(len);
        }
        pipeline.decoded(&pkt, decoded, &mut ScanSink { scan: &mut scan });
    }
    pipeline.finish(&mut ScanSink { scan: &mut scan });
    Ok(scan)
}
