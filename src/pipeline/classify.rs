//! Per direction of each TCP connection: is it cluster bus, TLS or RESP?
//! The reassembler's consumer: bus bytes go through the framer, whose
//! messages and anomalies go to the sink; a stream of TLS records is told
//! once (`tls_stream`); a client's stream to a data port is read as RESP
//! for `CLUSTER` commands; gaps in a bus stream are anomalies.

use super::anomaly::{Anomaly, AnomalyKind};
use super::sink::{BusSink, BusStart, CommandMeta, MessageMeta, StreamEnd};
use super::stats::{CaptureStats, MessageCounts};
use crate::clusterbus::Message;
use crate::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig, StreamKind};
use crate::reassembly::{ChunkMeta, CloseReason, GapReason, StreamConsumer};
use crate::resp::RespSniffer;

/// Per-direction state kept by the reassembler for us.
#[derive(Debug, Default)]
pub(super) struct StreamState {
    framer: BusFramer,
    started: bool,
    /// Set when the stream turned out to be RESP (a data-port client).
    resp: Option<RespSniffer>,
    /// Chunks that began with a TLS record header while undecided.
    tls_records: u32,
    /// A `tls_stream` anomaly was reported for this direction.
    tls_reported: bool,
    /// Time and frame of the first TLS record.
    tls_first: Option<(i64, u64)>,
    /// Payload bytes captured.
    bytes: u64,
}

/// Whether `b` begins with a TLS record header: content type 20–23
/// (change_cipher_spec, alert, handshake, application_data), version 3.x
/// (SSL 3.0 to TLS 1.3's legacy 3.3), length within a record's limit
/// (2^14 + 2048). Used to say *why* a stream between nodes is unreadable.
fn looks_like_tls(b: &[u8]) -> bool {
    match b {
        [t, 3, minor, hi, lo, ..] => {
            let len = u16::from_be_bytes([*hi, *lo]);
            (20..=23).contains(t) && *minor <= 4 && (1..=18_432).contains(&len)
        }
        _ => false,
    }
}

/// Adapts reassembly callbacks to the framer and the sink.
pub(super) struct Glue<'a, K: BusSink> {
    capture: usize,
    framer_cfg: &'a FramerConfig,
    /// The capture passed only what an auto filter let through.
    filtered: bool,
    pub(super) stats: &'a mut CaptureStats,
    counts: &'a mut MessageCounts,
    sink: &'a mut K,
}

/// Adapts framer callbacks for one chunk.
struct ChunkSink<'a, 'b, K: BusSink> {
    glue: &'a mut Glue<'b, K>,
    meta: &'a ChunkMeta,
}

impl<K: BusSink> FrameSink for ChunkSink<'_, '_, K> {
    fn message(&mut self, info: &FrameInfo, msg: &Message<'_>) {
        let g = &mut *self.glue;
        g.stats.messages += 1;
        g.stats.message_bytes += u64::from(msg.totlen);
        g.counts.count(msg);
        let meta = MessageMeta {
            capture: g.capture,
            ts_us: info.ts_us,
            frame: info.frame,
            first_frame: info.first_frame,
            conn_id: self.meta.conn_id,
            src: self.meta.src,
            dst: self.meta.dst,
            from_initiator: self.meta.from_initiator,
            offset: info.offset,
        };
        g.sink.message(&meta, msg);
    }

    fn anomaly(&mut self, info: &FrameInfo, anomaly: FrameAnomaly) {
        let a = Anomaly {
            capture: self.glue.capture,
            ts_us: info.ts_us,
            frame: info.frame,
            src: Some(self.meta.src),
            dst: Some(self.meta.dst),
            kind: AnomalyKind::from(&anomaly),
            detail: format!("{anomaly} (stream offset {})", info.offset),
        };
        self.glue.report(a);
    }
}

impl<'a, K: BusSink> Glue<'a, K> {
    pub(super) fn new(
        capture: usize,
        framer_cfg: &'a FramerConfig,
        filtered: bool,
        stats: &'a mut CaptureStats,
        counts: &'a mut MessageCounts,
        sink: &'a mut K,
    ) -> Self {
        Glue { capture, framer_cfg, filtered, stats, counts, sink }
    }

    fn sniff(&mut self, resp: &mut RespSniffer, meta: &ChunkMeta, bytes: &[u8]) {
        let cm = CommandMeta {
            capture: self.capture,
            ts_us: meta.ts_us,
            frame: meta.frame,
            conn_id: meta.conn_id,
            src: meta.src,
            dst: meta.dst,
        };
        let sink = &mut *self.sink;
        let commands = &mut self.stats.commands;
        resp.feed(bytes, |args| {
            *commands += 1;
            sink.command(&cm, args);
        });
    }

    pub(super) fn report(&mut self, a: Anomaly) {
        *self.stats.anomalies.entry(a.kind.to_string()).or_default() += 1;
        self.sink.anomaly(&a);
    }

    /// A stream that is not cluster bus but carries TLS records: maybe an
    /// encrypted bus (`tls-cluster yes`); the analysis decides from the
    /// ports and the nodes it knows.
    fn report_tls(&mut self, st: &mut StreamState, meta: &ChunkMeta) {
        if st.tls_records == 0 || st.tls_reported {
            return;
        }
        st.tls_reported = true;
        // Oriented client → server (the server side is the one dialled; if
        // the handshake was not seen, the lower port).
        let client_first = match meta.from_initiator {
            Some(b) => b,
            None => meta.src.port >= meta.dst.port,
        };
        let (client, server) = if client_first { (meta.src, meta.dst) } else { (meta.dst, meta.src) };
        // Dated at the stream's first TLS record; a stream the capture
        // joined mid-way is another kind: it did not begin then.
        let (ts_us, frame) = st.tls_first.unwrap_or((meta.ts_us, meta.frame));
        self.report(Anomaly {
            capture: self.capture,
            ts_us,
            frame,
            src: Some(client),
            dst: Some(server),
            kind: if meta.midstream { AnomalyKind::TlsStreamJoined } else { AnomalyKind::TlsStream },
            detail: format!("TLS records on a stream that is not readable cluster bus ({} seen)", st.tls_records),
        });
    }

    fn ensure_started(&mut self, st: &mut StreamState, meta: &ChunkMeta) {
        if !st.started {
            st.started = true;
            st.framer = BusFramer::new(meta.midstream);
        }
    }
}

impl<K: BusSink> StreamConsumer for Glue<'_, K> {
    type State = StreamState;

    fn precious(&self, st: &StreamState) -> bool {
        st.framer.kind() == StreamKind::Bus
    }

    fn data(&mut self, st: &mut StreamState, meta: &ChunkMeta, bytes: &[u8]) {
        self.ensure_started(st, meta);
        st.bytes += bytes.len() as u64;
        if let Some(resp) = &mut st.resp {
            self.sniff(resp, meta, bytes);
            return;
        }
        let cfg = self.framer_cfg;
        let was = st.framer.kind();
        if was == StreamKind::Unknown && bytes.starts_with(b"RCmb") {
            // Version 1 headers: version at 8, the data port at 10.
            let data_port = match bytes.get(8..12) {
                Some(&[0, 1, a, b]) => Some(u16::from_be_bytes([a, b])),
                _ => None,
            };
            let from_initiator = meta.from_initiator;
            self.sink.bus_start(&BusStart { src: meta.src, dst: meta.dst, from_initiator, data_port });
        }
        if was == StreamKind::Unknown && looks_like_tls(bytes) {
            st.tls_records += 1;
            st.tls_first.get_or_insert((meta.ts_us, meta.frame));
        }
        {
            let mut sink = ChunkSink { glue: self, meta };
            st.framer.feed(cfg, meta.offset, meta.frame, meta.ts_us, bytes, &mut sink);
        }
        if was == StreamKind::Unknown && st.framer.kind() == StreamKind::NotBus {
            self.report_tls(st, meta);
        }
        // A stream seen from its first byte that is not bus traffic may be
        // a client talking RESP to a data port (an auto filter passes a
        // client's segments from a CLUSTER command on).
        let from_start = (!meta.midstream && meta.offset == 0) || self.filtered;
        if was == StreamKind::Unknown && st.framer.kind() == StreamKind::NotBus && from_start {
            let mut resp = RespSniffer::default();
            self.sniff(&mut resp, meta, bytes);
            st.resp = Some(resp);
        }
    }

    fn gap(&mut self, st: &mut StreamState, meta: &ChunkMeta, len: u64, reason: GapReason) {
        self.ensure_started(st, meta);
        if let Some(resp) = &mut st.resp {
            resp.gap();
            return;
        }
        // Gaps in TLS streams (undecided while hunting mid-way) are not bus
        // messages lost, nor are an auto filter's holes in other streams.
        let undecided = st.framer.kind() == StreamKind::Unknown && st.tls_records == 0 && !self.filtered;
        if st.framer.kind() == StreamKind::Bus || undecided {
            self.report(Anomaly {
                capture: self.capture,
                ts_us: meta.ts_us,
                frame: meta.frame,
                src: Some(meta.src),
                dst: Some(meta.dst),
                kind: AnomalyKind::from(reason),
                detail: format!("{len} bytes missing at stream offset {}", meta.offset),
            });
        }
        let cfg = self.framer_cfg;
        let mut sink = ChunkSink { glue: self, meta };
        st.framer.gap(cfg, meta.offset, meta.frame, meta.ts_us, len, &mut sink);
    }

    fn close(&mut self, st: &mut StreamState, meta: &ChunkMeta, reason: CloseReason) {
        if !st.started {
            return;
        }
        {
            let mut sink = ChunkSink { glue: self, meta };
            st.framer.finish(meta.frame, meta.ts_us, &mut sink);
        }
        if st.framer.kind() != StreamKind::Bus {
            self.report_tls(st, meta);
        }
        let bus = st.framer.kind() == StreamKind::Bus;
        if bus {
            self.stats.bus_streams += 1;
        }
        self.sink.stream_end(&StreamEnd {
            capture: self.capture,
            ts_us: meta.ts_us,
            frame: meta.frame,
            conn_id: meta.conn_id,
            src: meta.src,
            dst: meta.dst,
            from_initiator: meta.from_initiator,
            reason,
            bus,
            messages: st.framer.messages(),
            bytes: st.bytes,
        });
    }
}
