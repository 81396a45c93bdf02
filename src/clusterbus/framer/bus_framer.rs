//! The framer: cuts one direction of a reassembled TCP stream into
//! cluster-bus messages, whatever the chunking, and finds its way back after
//! gaps and mid-stream starts.
//!
//! A stream is a bus stream when its bytes frame as messages: no port is
//! assumed. A stream seen from its SYN must start with `RCmb`; a stream
//! joined mid-way is scanned for a plausible header
//! ([`probe_header`](crate::clusterbus::probe_header), `hunt.rs`) and
//! given up as "not bus" after `hunt_limit` bytes without one. Complete
//! messages inside one chunk are parsed in place (no copy, `synced.rs`);
//! only a message split across chunks is buffered, and a message longer
//! than `max_totlen` is skipped without buffering.
//!
//! This file holds [`BusFramer`]'s state, its limits ([`FramerConfig`])
//! and verdict ([`StreamKind`]), and the modes it moves between: feeding,
//! gaps, the end of the stream.

use super::pool;
use super::sink::{FrameAnomaly, FrameInfo, FrameSink};
use crate::clusterbus::parse::parse_prefix;
use crate::clusterbus::wire::SIGNATURE;

/// Framer limits.
#[derive(Clone, Copy, Debug)]
pub struct FramerConfig {
    /// Messages longer than this are skipped (and reported).
    pub max_totlen: u32,
    /// Bytes scanned at the start of a mid-stream stream before deciding it
    /// is not a bus stream.
    pub hunt_limit: u64,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig { max_totlen: crate::clusterbus::wire::DEFAULT_MAX_TOTLEN, hunt_limit: 256 * 1024 }
    }
}

/// What the framer has decided about its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// Nothing decided yet.
    Unknown,
    /// At least one message was framed.
    Bus,
    /// Not cluster-bus traffic; further bytes are ignored.
    NotBus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// At offset 0 of a stream seen from its SYN.
    Start,
    /// Looking for a plausible header.
    Hunt,
    /// Aligned on a message boundary (or inside a buffered message).
    Synced,
    /// Discarding the rest of an oversized message.
    Skip(u64),
    /// Given up or finished.
    Off,
}

/// A packet boundary inside the buffer: the bytes from `offset` on came
/// from `frame` captured at `ts_us`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mark {
    pub(super) offset: u64,
    pub(super) frame: u64,
    pub(super) ts_us: i64,
}

/// Per-direction framing state.
#[derive(Debug)]
pub struct BusFramer {
    pub(super) mode: Mode,
    pub(super) kind: StreamKind,
    /// Partial message (Synced/Start) or scan window (Hunt).
    pub(super) buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    pub(super) buf_offset: u64,
    /// Packet boundaries of the bytes in `buf`, ascending.
    pub(super) marks: Vec<Mark>,
    /// Bytes skipped in the current hunt.
    pub(super) hunted: u64,
    /// True once a message was framed.
    pub(super) was_synced: bool,
    pub(super) messages: u64,
}

impl Default for BusFramer {
    fn default() -> Self {
        Self::new(false)
    }
}

/// Result of processing a borrowed chunk: either all consumed, or a hunt
/// found a message start and hands back the bytes from there on.
pub(super) enum Run {
    Done,
    Resynced { bytes: Vec<u8>, offset: u64, marks: Vec<Mark> },
}

/// Splits a resynchronised window (`bytes` from stream offset `offset`)
/// at its packet marks into one slice per packet, each with its packet's
/// frame and time (`fallback` when the window holds no mark).
fn push_slices(
    out: &mut std::collections::VecDeque<(Mark, Vec<u8>)>,
    bytes: Vec<u8>,
    offset: u64,
    marks: &[Mark],
    fallback: Mark,
) {
    let first = marks.first().copied().unwrap_or(fallback);
    let starts: Vec<Mark> = std::iter::once(Mark { offset, ..first })
        .chain(marks.iter().copied().filter(|m| m.offset > offset && m.offset < offset + bytes.len() as u64))
        .collect();
    if starts.len() == 1 {
        out.push_back((starts[0], bytes));
        return;
    }
    for (k, m) in starts.iter().enumerate() {
        let from = (m.offset - offset) as usize;
        let to = starts.get(k + 1).map_or(bytes.len(), |n| (n.offset - offset) as usize);
        out.push_back((*m, bytes[from..to].to_vec()));
    }
}

impl BusFramer {
    /// A framer for a stream whose first byte is a message start
    /// (`midstream == false`) or of unknown alignment (`true`).
    pub fn new(midstream: bool) -> Self {
        BusFramer {
            mode: if midstream { Mode::Hunt } else { Mode::Start },
            kind: StreamKind::Unknown,
            buf: Vec::new(),
            buf_offset: 0,
            marks: Vec::new(),
            hunted: 0,
            was_synced: false,
            messages: 0,
        }
    }

    pub fn kind(&self) -> StreamKind {
        self.kind
    }

    /// Messages framed so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes currently buffered (partial message or scan window).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds in-order bytes starting at stream offset `offset`, carried by
    /// packet `frame` captured at `ts_us`.
    pub fn feed<K: FrameSink>(
        &mut self,
        cfg: &FramerConfig,
        offset: u64,
        frame: u64,
        ts_us: i64,
        data: &[u8],
        sink: &mut K,
    ) {
        let mark = Mark { offset, frame, ts_us };
        let Run::Resynced { bytes, offset, marks } = self.run(cfg, mark, data, sink) else { return };
        // The hunt window becomes fresh input, replayed one packet at a
        // time: a message found in it is dated by the packet that completed
        // it, as if the stream had been in sync from the header on.
        let mut pending: std::collections::VecDeque<(Mark, Vec<u8>)> = std::collections::VecDeque::new();
        push_slices(&mut pending, bytes, offset, &marks, mark);
        self.marks.clear();
        while let Some((m, chunk)) = pending.pop_front() {
            if let Run::Resynced { bytes, offset, marks } = self.run(cfg, m, &chunk, sink) {
                // A later hunt inside this replay: its window holds every
                // byte fed so far, so it goes before the slices still queued.
                let mut front = std::collections::VecDeque::new();
                push_slices(&mut front, bytes, offset, &marks, m);
                front.append(&mut pending);
                pending = front;
            }
        }
    }

    pub(super) fn push_mark(&mut self, m: Mark) {
        if self.marks.last().is_none_or(|l| l.frame != m.frame || l.ts_us != m.ts_us) {
            self.marks.push(m);
        }
    }

    /// The mark covering stream offset `off` (the packet that carried it).
    pub(super) fn mark_at(&self, off: u64, fallback: Mark) -> Mark {
        self.marks.iter().rev().find(|m| m.offset <= off).copied().unwrap_or(fallback)
    }

    fn run<K: FrameSink>(&mut self, cfg: &FramerConfig, mark: Mark, data: &[u8], sink: &mut K) -> Run {
        let mut data = data;
        let mut pos = mark.offset;
        while !data.is_empty() {
            let here = Mark { offset: pos, ..mark };
            match self.mode {
                Mode::Off => return Run::Done,
                Mode::Skip(n) => {
                    let k = n.min(data.len() as u64);
                    self.mode = if k == n { Mode::Synced } else { Mode::Skip(n - k) };
                    data = &data[k as usize..];
                    pos += k;
                }
                Mode::Start => {
                    let have = self.buf.len();
                    let k = (4 - have).min(data.len());
                    let mut head = self.buf.clone();
                    head.extend_from_slice(&data[..k]);
                    if !SIGNATURE.starts_with(&head) {
                        self.give_up();
                        return Run::Done;
                    }
                    if head.len() == 4 {
                        // Aligned: the buffered prefix (if any) continues as a
                        // partial message.
                        self.mode = Mode::Synced;
                    } else {
                        if self.buf.is_empty() {
                            self.buf_offset = pos;
                            self.marks.clear();
                        }
                        self.push_mark(here);
                        self.buf.extend_from_slice(&data[..k]);
                        data = &data[k..];
                        pos += k as u64;
                    }
                }
                Mode::Synced => {
                    let used = self.synced(cfg, here, data, sink);
                    data = &data[used..];
                    pos += used as u64;
                }
                Mode::Hunt => {
                    if self.buf.is_empty() {
                        self.buf_offset = pos;
                        self.marks.clear();
                    }
                    self.push_mark(here);
                    self.buf.extend_from_slice(data);
                    return self.scan(cfg, here, sink);
                }
            }
        }
        Run::Done
    }

    pub(super) fn give_up(&mut self) {
        self.mode = Mode::Off;
        self.buf = Vec::new();
        self.marks = Vec::new();
        if self.kind == StreamKind::Unknown {
            self.kind = StreamKind::NotBus;
        }
    }

    pub(super) fn start_hunt(&mut self) {
        self.mode = Mode::Hunt;
        self.hunted = 0;
    }

    /// `len` bytes are missing at stream offset `offset` (before the next
    /// `feed`).
    pub fn gap<K: FrameSink>(&mut self, offset: u64, frame: u64, ts_us: i64, len: u64, sink: &mut K) {
        match self.mode {
            Mode::Off => return,
            Mode::Skip(n) if len < n => {
                self.mode = Mode::Skip(n - len);
                return;
            }
            Mode::Skip(_) => self.start_hunt(),
            Mode::Synced if !self.buf.is_empty() => {
                let first = self.mark_at(self.buf_offset, Mark { offset, frame, ts_us });
                let info = FrameInfo { offset: self.buf_offset, first_frame: first.frame, frame, ts_us };
                sink.anomaly(&info, FrameAnomaly::MessageLost { have: self.buf.len() as u64 });
                // What the cut message still holds (a whole header, complete
                // gossip entries) is still worth reading.
                if let Some(msg) = parse_prefix(&self.buf) {
                    self.messages += 1;
                    sink.message(&info, &msg);
                }
                self.start_hunt();
            }
            Mode::Synced | Mode::Start => self.start_hunt(),
            Mode::Hunt => self.hunted += self.buf.len() as u64,
        }
        pool::give(std::mem::take(&mut self.buf));
        self.marks.clear();
    }

    /// The stream ended.
    pub fn finish<K: FrameSink>(&mut self, frame: u64, ts_us: i64, sink: &mut K) {
        if self.mode == Mode::Synced && !self.buf.is_empty() {
            let first = self.mark_at(self.buf_offset, Mark { offset: self.buf_offset, frame, ts_us });
            let info = FrameInfo { offset: self.buf_offset, first_frame: first.frame, frame, ts_us };
            sink.anomaly(&info, FrameAnomaly::TruncatedAtEnd { have: self.buf.len() as u64 });
        }
        pool::give(std::mem::take(&mut self.buf));
        self.marks = Vec::new();
        self.mode = Mode::Off;
    }
}
