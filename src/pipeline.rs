//! One capture's chain: decode → reassembly → framer, with the counters
//! `dump --stats` prints. Messages and anomalies go, borrowed, to a
//! [`BusSink`]; nothing here prints. [`run_merged`] reads several captures
//! at once, in capture-time order.

use crate::capture::{CaptureError, PacketSource, RawPacket};
use crate::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig, StreamKind};
use crate::clusterbus::{Message, MessageType};
use crate::decode::{DecodeError, Endpoint, TcpSegment, decode_packet};
use crate::reassembly::{
    ChunkMeta, CloseReason, GapReason, Reassembler, ReassemblyConfig, ReassemblyStats, StreamConsumer,
};
use crate::resp::RespSniffer;
use serde::Serialize;
use std::collections::BTreeMap;

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

/// Where and when a message was seen.
#[derive(Clone, Copy, Debug)]
pub struct MessageMeta {
    /// Index of the capture in the run's input list.
    pub capture: usize,
    /// Capture time of the packet that completed the message.
    pub ts_us: i64,
    /// Frame number of that packet.
    pub frame: u64,
    /// Frame number of the packet that carried the first byte.
    pub first_frame: u64,
    /// Connection instance within the capture.
    pub conn_id: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// Whether `src` opened the TCP connection (`None`: handshake not seen).
    pub from_initiator: Option<bool>,
    /// Offset of the message in its direction's stream.
    pub offset: u64,
}

/// A counted irregularity, with where to find it.
#[derive(Clone, Debug, Serialize)]
pub struct Anomaly {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    /// Sender and receiver of the stream, when the anomaly is in one.
    pub src: Option<Endpoint>,
    pub dst: Option<Endpoint>,
    /// Stable snake_case kind (e.g. `gap`, `resync_skipped`).
    pub kind: &'static str,
    pub detail: String,
}

/// End of one direction of a TCP connection.
#[derive(Clone, Copy, Debug)]
pub struct StreamEnd {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    pub conn_id: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub from_initiator: Option<bool>,
    pub reason: CloseReason,
    /// True when the direction carried cluster-bus messages.
    pub bus: bool,
    pub messages: u64,
    /// Payload bytes captured in this direction.
    pub bytes: u64,
}

/// An operator command (`CLUSTER ...`) seen on a data-port connection.
#[derive(Clone, Copy, Debug)]
pub struct CommandMeta {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    pub conn_id: u64,
    /// The client.
    pub src: Endpoint,
    /// The server that received the command.
    pub dst: Endpoint,
}

/// Receives the output of the chain.
pub trait BusSink {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>);
    fn anomaly(&mut self, anomaly: &Anomaly);
    fn stream_end(&mut self, _end: &StreamEnd) {}
    /// A `CLUSTER ...` command sent to a data port (arguments as sent).
    fn command(&mut self, _meta: &CommandMeta, _args: &[Vec<u8>]) {}
}

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
        let r = &mut self.reassembly;
        let s = &o.reassembly;
        r.connections += s.connections;
        r.segments += s.segments;
        r.delivered_bytes += s.delivered_bytes;
        r.duplicate_bytes += s.duplicate_bytes;
        r.gaps_not_captured += s.gaps_not_captured;
        r.gap_bytes_not_captured += s.gap_bytes_not_captured;
        r.gaps_snaplen += s.gaps_snaplen;
        r.gap_bytes_snaplen += s.gap_bytes_snaplen;
        r.gaps_cap_hit += s.gaps_cap_hit;
        r.gap_bytes_cap_hit += s.gap_bytes_cap_hit;
        r.gaps_unfilled += s.gaps_unfilled;
        r.gap_bytes_unfilled += s.gap_bytes_unfilled;
        r.cap_hits += s.cap_hits;
        r.segments_after_close += s.segments_after_close;
        r.idle_evictions += s.idle_evictions;
        r.connections_evicted += s.connections_evicted;
        r.port_reuses += s.port_reuses;
        r.peak_pending_bytes = r.peak_pending_bytes.max(s.peak_pending_bytes);
        r.peak_connections = r.peak_connections.max(s.peak_connections);
    }
}

/// Per-direction state kept by the reassembler for us.
#[derive(Debug, Default)]
pub struct StreamState {
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
pub fn looks_like_tls(b: &[u8]) -> bool {
    match b {
        [t, 3, minor, hi, lo, ..] => {
            let len = u16::from_be_bytes([*hi, *lo]);
            (20..=23).contains(t) && *minor <= 4 && (1..=18_432).contains(&len)
        }
        _ => false,
    }
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

/// Adapts reassembly callbacks to the framer and the sink.
struct Glue<'a, K: BusSink> {
    capture: usize,
    framer_cfg: &'a FramerConfig,
    stats: &'a mut CaptureStats,
    counts: &'a mut MessageCounts,
    sink: &'a mut K,
}

/// Messages counted by type and by sender (made into the maps of
/// [`CaptureStats`] when asked: counting is on every message's path).
#[derive(Default)]
struct MessageCounts {
    /// By type number; the last one counts every unknown type.
    by_type: [u64; 12],
    by_sender: rustc_hash::FxHashMap<[u8; 40], u64>,
}

impl MessageCounts {
    fn count(&mut self, msg: &Message<'_>) {
        self.by_type[usize::from(msg.msg_type.0).min(11)] += 1;
        if let Some(h) = &msg.header {
            *self.by_sender.entry(*h.sender.0).or_default() += 1;
        }
    }

    fn write_to(&self, s: &mut CaptureStats) {
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
            kind: anomaly.kind(),
            detail: format!("{anomaly} (stream offset {})", info.offset),
        };
        self.glue.report(a);
    }
}

impl<K: BusSink> Glue<'_, K> {
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

    fn report(&mut self, a: Anomaly) {
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
            kind: if meta.midstream { "tls_stream_joined" } else { "tls_stream" },
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
        // a client talking RESP to a data port.
        if was == StreamKind::Unknown && st.framer.kind() == StreamKind::NotBus && !meta.midstream && meta.offset == 0 {
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
        // messages lost.
        if st.framer.kind() == StreamKind::Bus || (st.framer.kind() == StreamKind::Unknown && st.tls_records == 0) {
            let kind = match reason {
                GapReason::NotCaptured => "gap_not_captured",
                GapReason::Snaplen => "gap_snaplen",
                GapReason::CapHit => "gap_cap_hit",
                GapReason::Unfilled => "gap_unfilled",
            };
            self.report(Anomaly {
                capture: self.capture,
                ts_us: meta.ts_us,
                frame: meta.frame,
                src: Some(meta.src),
                dst: Some(meta.dst),
                kind,
                detail: format!("{len} bytes missing at stream offset {}", meta.offset),
            });
        }
        let mut sink = ChunkSink { glue: self, meta };
        st.framer.gap(meta.offset, meta.frame, meta.ts_us, len, &mut sink);
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
        let mut glue = Glue {
            capture: self.capture,
            framer_cfg: &self.cfg.framer,
            stats: &mut self.stats,
            counts: &mut self.counts,
            sink,
        };
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
                let kind = match e {
                    DecodeError::UnsupportedLink(_) => "unsupported_link",
                    DecodeError::Truncated { .. } => "truncated_packet",
                    DecodeError::Malformed { .. } => "malformed_packet",
                    DecodeError::Fragmented => "ip_fragment",
                };
                glue.report(Anomaly {
                    capture: self.capture,
                    ts_us: pkt.ts_us,
                    frame: pkt.frame,
                    src: None,
                    dst: None,
                    kind,
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
        let mut glue = Glue {
            capture: self.capture,
            framer_cfg: &self.cfg.framer,
            stats: &mut self.stats,
            counts: &mut self.counts,
            sink,
        };
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
                kind: "connections_evicted",
                detail: format!(
                    "{evicted} connection(s) closed early: more than {} tracked at once (--max-connections)",
                    self.cfg.reassembly.max_connections
                ),
            });
        }
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

/// One input of a run.
pub struct Input {
    pub file: Box<dyn PacketSource>,
    pub pipeline: Pipeline,
    /// Set when reading stopped on damage (truncated or corrupt file).
    pub error: Option<CaptureError>,
    /// Subtracted from every capture time: this input's clock offset
    /// against the reference clock.
    pub shift_us: i64,
    loaded: bool,
    done: bool,
}

impl Input {
    pub fn new(source: impl PacketSource + 'static, pipeline: Pipeline) -> Self {
        Input::boxed(Box::new(source), pipeline)
    }

    pub fn boxed(file: Box<dyn PacketSource>, pipeline: Pipeline) -> Self {
        Input { file, pipeline, error: None, shift_us: 0, loaded: false, done: false }
    }

    fn load(&mut self) {
        match self.file.advance() {
            Ok(true) => self.loaded = true,
            Ok(false) => {
                self.loaded = false;
                self.done = true;
                self.error = self.file.take_error();
            }
            Err(e) => {
                self.loaded = false;
                self.done = true;
                self.error = Some(e);
            }
        }
    }
}

/// Runs one input alone through its pipeline: `sink` gets its events and
/// `after_packet` is called after each packet with the packet's time on
/// the reference clock (so a caller reading several inputs on their own
/// threads can interleave them exactly as [`run_merged`] does). Does not
/// finish the pipeline.
pub fn run_single<K: BusSink>(input: &mut Input, sink: &mut K, mut after_packet: impl FnMut(&mut K, i64)) {
    input.load();
    while input.loaded {
        if let Some(pkt) = input.file.current() {
            let pkt = RawPacket { ts_us: pkt.ts_us - input.shift_us, ..pkt };
            input.pipeline.packet(&pkt, sink);
            after_packet(sink, pkt.ts_us);
        }
        input.load();
    }
}

/// Runs every input through its pipeline, interleaving packets of all
/// captures by capture time (ties: input order), then finishes them all.
pub fn run_merged<K: BusSink>(inputs: &mut [Input], sink: &mut K) {
    for i in inputs.iter_mut() {
        i.load();
    }
    loop {
        let mut best: Option<(i64, usize)> = None;
        for (idx, i) in inputs.iter().enumerate() {
            if i.loaded
                && let Some(p) = i.file.current()
                && best.is_none_or(|(t, _)| p.ts_us - i.shift_us < t)
            {
                best = Some((p.ts_us - i.shift_us, idx));
            }
        }
        let Some((_, idx)) = best else { break };
        let input = &mut inputs[idx];
        if let Some(pkt) = input.file.current() {
            let pkt = RawPacket { ts_us: pkt.ts_us - input.shift_us, ..pkt };
            input.pipeline.packet(&pkt, sink);
        }
        input.load();
    }
    for i in inputs.iter_mut() {
        i.pipeline.finish(sink);
    }
}
