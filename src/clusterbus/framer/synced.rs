//! [`BusFramer`] aligned on a message boundary: checks each message's
//! signature and `totlen`, parses a message whole in its chunk in place,
//! buffers one that spans packets (in a pooled buffer), and sends what it
//! finds to the sink.

use super::bus_framer::{BusFramer, FramerConfig, Mark, Mode, StreamKind};
use super::pool;
use super::sink::{FrameAnomaly, FrameInfo, FrameSink};
use crate::clusterbus::message::Body;
use crate::clusterbus::parse::parse_message;
use crate::clusterbus::wire::SIGNATURE;

/// Smallest `totlen` any receiver accepts (a light message, Valkey 8+).
const MIN_TOTLEN: u32 = 16;

fn read_totlen(b: &[u8]) -> u32 {
    match b.get(4..8) {
        Some(t) => u32::from_be_bytes([t[0], t[1], t[2], t[3]]),
        None => 0,
    }
}

impl BusFramer {
    /// Synced mode; returns how many bytes of `data` were consumed.
    pub(super) fn synced<K: FrameSink>(&mut self, cfg: &FramerConfig, here: Mark, data: &[u8], sink: &mut K) -> usize {
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
}
