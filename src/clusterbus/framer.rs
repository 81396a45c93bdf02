//! The framer: cuts one direction of a reassembled TCP stream into
//! cluster-bus messages, whatever the chunking, and finds its way back after
//! gaps and mid-stream starts.
//!
//! A stream is a bus stream when its bytes frame as messages: no port is
//! assumed. A stream seen from its SYN must start with `RCmb`; a stream
//! joined mid-way is scanned for a plausible header ([`probe_header`]) and
//! given up as "not bus" after `hunt_limit` bytes without one. Complete
//! messages inside one chunk are parsed in place (no copy); only a message
//! split across chunks is buffered, and a message longer than `max_totlen`
//! is skipped without buffering.

use super::error::BusError;
use super::message::{Body, Message};
use super::parse::{Probe, parse_message, parse_prefix, probe_header};
use super::wire::SIGNATURE;

/// Smallest `totlen` any receiver accepts (a light message, Valkey 8+).
const MIN_TOTLEN: u32 = 16;

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
        FramerConfig { max_totlen: super::wire::DEFAULT_MAX_TOTLEN, hunt_limit: 256 * 1024 }
    }
}

/// What the framer noticed that is not a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameAnomaly {
    /// A message start without `RCmb` in a synchronised stream (a real
    /// receiver would close the connection).
    BadSignature,
    /// `totlen` below the smallest message.
    ImpossibleLength { totlen: u32 },
    /// `totlen` above `max_totlen`: skipped without decoding.
    Oversized { totlen: u32 },
    /// A framed message failed validation (version, length, extensions);
    /// skipped as a real receiver would drop it.
    Malformed(BusError),
    /// A message of a type this parser does not know (still delivered).
    UnknownType { wire_type: u16 },
    /// Bytes skipped to find the next message after losing sync.
    ResyncSkipped { bytes: u64 },
    /// A message was cut by a gap and dropped; `have` bytes were buffered.
    MessageLost { have: u64 },
    /// The stream ended inside a message.
    TruncatedAtEnd { have: u64 },
}

impl std::fmt::Display for FrameAnomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameAnomaly::BadSignature => write!(f, "expected RCmb signature"),
            FrameAnomaly::ImpossibleLength { totlen } => write!(f, "impossible totlen {totlen}"),
            FrameAnomaly::Oversized { totlen } => write!(f, "totlen {totlen} above limit, skipped"),
            FrameAnomaly::Malformed(e) => write!(f, "{e}"),
            FrameAnomaly::UnknownType { wire_type } => {
                write!(f, "unknown message type {wire_type}")
            }
            FrameAnomaly::ResyncSkipped { bytes } => {
                write!(f, "skipped {bytes} bytes to resynchronise")
            }
            FrameAnomaly::MessageLost { have } => {
                write!(f, "message cut by a gap after {have} bytes")
            }
            FrameAnomaly::TruncatedAtEnd { have } => {
                write!(f, "stream ended {have} bytes into a message")
            }
        }
    }
}

/// Where a framed item sits in the stream and which packets carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Stream offset of the message's first byte (or of the anomaly).
    pub offset: u64,
    /// Frame number of the packet that carried the first byte.
    pub first_frame: u64,
    /// Frame number of the packet that carried the last byte.
    pub frame: u64,
    /// Capture time of that last packet.
    pub ts_us: i64,
}

/// Receives what the framer finds.
pub trait FrameSink {
    fn message(&mut self, info: &FrameInfo, msg: &Message<'_>);
    fn anomaly(&mut self, info: &FrameInfo, anomaly: FrameAnomaly);
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
enum Mode {
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
struct Mark {
    offset: u64,
    frame: u64,
    ts_us: i64,
}

/// Per-direction framing state.
#[derive(Debug)]
pub struct BusFramer {
    mode: Mode,
    kind: StreamKind,
    /// Partial message (Synced/Start) or scan window (Hunt).
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Packet boundaries of the bytes in `buf`, ascending.
    marks: Vec<Mark>,
    /// Bytes skipped in the current hunt.
    hunted: u64,
    /// True once a message was framed.
    was_synced: bool,
    messages: u64,
}

impl Default for BusFramer {
    fn default() -> Self {
        Self::new(false)
    }
}

fn read_totlen(b: &[u8]) -> u32 {
    match b.get(4..8) {
        Some(t) => u32::from_be_bytes([t[0], t[1], t[2], t[3]]),
        None => 0,
    }
}

/// Result of processing a borrowed chunk: either all consumed, or a hunt
/// found a message start and hands back the bytes from there on.
enum Run {
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

    fn push_mark(&mut self, m: Mark) {
        if self.marks.last().is_none_or(|l| l.frame != m.frame || l.ts_us != m.ts_us) {
            self.marks.push(m);
        }
    }

    /// The mark covering stream offset `off` (the packet that carried it).
    fn mark_at(&self, off: u64, fallback: Mark) -> Mark {
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

    fn give_up(&mut self) {
        self.mode = Mode::Off;
        self.buf = Vec::new();
        self.marks = Vec::new();
        if self.kind == StreamKind::Unknown {
            self.kind = StreamKind::NotBus;
        }
    }

    fn start_hunt(&mut self) {
        self.mode = Mode::Hunt;
        self.hunted = 0;
    }

    /// Synced mode; returns how many bytes of `data` were consumed.
    fn synced<K: FrameSink>(&mut self, cfg: &FramerConfig, here: Mark, data: &[u8], sink: &mut K) -> usize {
        if self.buf.is_empty() {
            if data.len() >= 8 {
                let info =
                    FrameInfo { offset: here.offset, first_frame: here.frame, frame: here.frame, ts_us: here.ts_us };
                let Some(totlen) = self.check_prefix(cfg, &info, data, sink) else {
                    return 0;
                };
                if totlen > cfg.max_totlen {
                    self.mode = Mode::Skip(u64::from(totlen));
                    return 0;
                }
                let t = totlen as usize;
                if data.len() >= t {
                    // Zero-copy: the whole message is in this chunk.
                    self.emit(&info, &data[..t], sink);
                    return t;
                }
            }
            self.buf_offset = here.offset;
            self.marks.clear();
            self.push_mark(here);
            if self.buf.capacity() == 0 {
                self.buf = pool::take();
            }
            self.buf.extend_from_slice(data);
            return data.len();
        }
        self.push_mark(here);
        if self.buf.len() < 8 {
            let k = (8 - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..k]);
            if self.buf.len() < 8 {
                return k;
            }
            let first = self.mark_at(self.buf_offset, here);
            let info =
                FrameInfo { offset: self.buf_offset, first_frame: first.frame, frame: here.frame, ts_us: here.ts_us };
            let head = std::mem::take(&mut self.buf);
            match self.check_prefix(cfg, &info, &head, sink) {
                None => {
                    // Hunting resumes over the buffered bytes; they were not
                    // consumed from `data` beyond `k`, so keep them.
                    self.buf = head;
                    return k;
                }
                Some(totlen) if totlen > cfg.max_totlen => {
                    self.mode = Mode::Skip(u64::from(totlen) - 8);
                    self.marks.clear();
                    return k;
                }
                Some(_) => {
                    self.buf = head;
                    return k;
                }
            }
        }
        let totlen = read_totlen(&self.buf) as usize;
        let k = totlen.saturating_sub(self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..k]);
        if self.buf.len() >= totlen {
            let first = self.mark_at(self.buf_offset, here);
            let info =
                FrameInfo { offset: self.buf_offset, first_frame: first.frame, frame: here.frame, ts_us: here.ts_us };
            let whole = std::mem::take(&mut self.buf);
            self.emit(&info, &whole, sink);
            // A direction between messages holds no buffer: it goes back
            // to the pool for the next message that spans packets.
            pool::give(whole);
            if self.marks.capacity() > 8 {
                self.marks = Vec::new();
            } else {
                self.marks.clear();
            }
        }
        k
    }

    /// Checks signature and totlen at a synced message start. On failure
    /// reports it and switches to hunting.
    fn check_prefix<K: FrameSink>(
        &mut self,
        cfg: &FramerConfig,
        info: &FrameInfo,
        head: &[u8],
        sink: &mut K,
    ) -> Option<u32> {
        if !head.starts_with(SIGNATURE) {
            sink.anomaly(info, FrameAnomaly::BadSignature);
            self.start_hunt();
            return None;
        }
        let totlen = read_totlen(head);
        if totlen < MIN_TOTLEN {
            sink.anomaly(info, FrameAnomaly::ImpossibleLength { totlen });
            self.start_hunt();
            return None;
        }
        if totlen > cfg.max_totlen {
            sink.anomaly(info, FrameAnomaly::Oversized { totlen });
        }
        Some(totlen)
    }

    fn emit<K: FrameSink>(&mut self, info: &FrameInfo, bytes: &[u8], sink: &mut K) {
        match parse_message(bytes) {
            Ok(msg) => {
                self.kind = StreamKind::Bus;
                self.was_synced = true;
                self.messages += 1;
                if matches!(msg.body, Body::Unknown { .. }) {
                    let wire_type = bytes.get(12..14).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                    sink.anomaly(info, FrameAnomaly::UnknownType { wire_type });
                }
                sink.message(info, &msg);
            }
            Err(e) => sink.anomaly(info, FrameAnomaly::Malformed(e)),
        }
    }

    /// Scans the hunt window for a plausible header.
    fn scan<K: FrameSink>(&mut self, cfg: &FramerConfig, here: Mark, sink: &mut K) -> Run {
        let mut i = 0usize;
        let found = loop {
            let Some(rel) = find_signature(&self.buf[i..]) else {
                i = self.buf.len() - partial_signature_suffix(&self.buf);
                break false;
            };
            i += rel;
            match probe_header(&self.buf[i..], cfg.max_totlen) {
                Probe::NeedMore(_) => break false,
                Probe::Implausible => i += 1,
                Probe::Plausible { .. } => break true,
            }
        };
        let skipped_total = self.hunted + i as u64;
        // A header past the hunt limit does not count, whether the chunk
        // that holds it is whole or not (the same verdict for any chunking).
        if found && !self.was_synced && skipped_total > cfg.hunt_limit {
            self.hunted = skipped_total;
            self.give_up();
            return Run::Done;
        }
        if found {
            if skipped_total > 0 && self.was_synced {
                let at = self.mark_at(self.buf_offset, here);
                let info = FrameInfo {
                    offset: self.buf_offset + i as u64 - skipped_total,
                    first_frame: at.frame,
                    frame: here.frame,
                    ts_us: here.ts_us,
                };
                sink.anomaly(&info, FrameAnomaly::ResyncSkipped { bytes: skipped_total });
            }
            self.hunted = 0;
            self.mode = Mode::Synced;
            let offset = self.buf_offset + i as u64;
            let bytes = self.buf.split_off(i);
            pool::give(std::mem::take(&mut self.buf));
            let marks: Vec<Mark> = {
                let start = self.mark_at(offset, here);
                std::iter::once(Mark { offset, ..start })
                    .chain(self.marks.iter().copied().filter(|m| m.offset > offset))
                    .collect()
            };
            self.marks.clear();
            return Run::Resynced { bytes, offset, marks };
        }
        if i > 0 {
            self.hunted += i as u64;
            self.buf.drain(..i);
            self.buf_offset += i as u64;
            let keep_from = self.buf_offset;
            let first = self.mark_at(keep_from, here);
            self.marks.retain(|m| m.offset > keep_from);
            self.marks.insert(0, Mark { offset: keep_from, ..first });
        }
        if !self.was_synced && self.hunted > cfg.hunt_limit {
            self.give_up();
        }
        Run::Done
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

fn find_signature(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = hay.get(from..).and_then(|h| h.iter().position(|&b| b == b'R')) {
        let at = from + p;
        if hay.get(at..at + 4) == Some(SIGNATURE.as_slice()) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Length of the longest suffix of `buf` that is a proper prefix of `RCmb`.
fn partial_signature_suffix(buf: &[u8]) -> usize {
    (1..4).rev().find(|&k| buf.len() >= k && SIGNATURE.starts_with(&buf[buf.len() - k..])).unwrap_or(0)
}

/// Buffers of messages that span packets, reused: a stream direction holds
/// one only while a message is incomplete, so memory follows the messages
/// in flight, not the number of connections (one pool per thread; each
/// reading thread frames its own streams).
mod pool {
    use std::cell::RefCell;

    /// Buffers kept for reuse, and the largest capacity worth keeping.
    const KEEP: usize = 256;
    const KEEP_CAPACITY: usize = 1 << 20;

    thread_local! {
        static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn take() -> Vec<u8> {
        FREE.with(|f| f.borrow_mut().pop()).unwrap_or_default()
    }

    pub(super) fn give(mut buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY {
            return;
        }
        buf.clear();
        FREE.with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(buf);
            }
        });
    }
}
