//! [`BusFramer`] out of sync (a mid-stream start, after a gap or a bad
//! header): scans its window for the next plausible header and hands the
//! bytes from there back to be framed.

use super::bus_framer::{BusFramer, FramerConfig, Mark, Mode, Run};
use super::pool;
use super::sink::{FrameAnomaly, FrameInfo, FrameSink};
use crate::clusterbus::parse::{Probe, probe_header};
use crate::clusterbus::wire::SIGNATURE;

impl BusFramer {
    /// Scans the hunt window for a plausible header.
    pub(super) fn scan<K: FrameSink>(&mut self, cfg: &FramerConfig, here: Mark, sink: &mut K) -> Run {
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
