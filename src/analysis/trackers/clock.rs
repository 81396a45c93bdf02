//! Clocks: per capture, the time span and message count; between captures,
//! the offset of their clocks left after alignment, from messages seen by
//! both (same fingerprint within a window; the samples and their median are
//! `time::clocks`', as the vantage plan's alignment uses them).

use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{CaptureInfo, ClockOffset};
use crate::events::BusMessage;
use crate::time::clocks::PairOffsets;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// Window of the fingerprint table used for clock offsets.
const FINGERPRINT_WINDOW_US: i64 = 30_000_000;
/// Fingerprints kept before old ones are dropped.
const FINGERPRINT_CAP: usize = 200_000;
/// Offset samples kept per pair of captures.
const SAMPLES_CAP: usize = 10_000;

#[derive(Clone, Debug)]
pub struct Clock {
    /// Message fingerprint → (capture, ts) where first seen (an entry
    /// older than the window counts as absent).
    fingerprints: HashMap<u64, (usize, i64)>,
    /// The table is pruned when it grows past this (at least
    /// `FINGERPRINT_CAP`; twice what a pruning kept, so a window holding
    /// more than the cap is not pruned again message after message).
    prune_at: usize,
    /// Samples of b − a per pair of captures a < b.
    offsets: PairOffsets,
    /// capture → (first ts, last ts, messages).
    spans: BTreeMap<usize, (i64, i64, u64)>,
    /// The first event of any kind.
    pub first_event_us: Option<i64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            fingerprints: HashMap::default(),
            prune_at: 0,
            offsets: PairOffsets::bounded(SAMPLES_CAP),
            spans: BTreeMap::new(),
            first_event_us: None,
        }
    }
}

impl Clock {
    /// Any event of any capture at `ts`.
    pub fn first_event(&mut self, ts: i64) {
        self.first_event_us = Some(self.first_event_us.map_or(ts, |f| f.min(ts)));
    }

    /// Counts a message of `capture` in its span.
    pub fn count(&mut self, ts: i64, capture: usize) {
        let c = self.spans.entry(capture).or_insert((ts, ts, 0));
        c.0 = c.0.min(ts);
        c.1 = c.1.max(ts);
        c.2 += 1;
    }

    /// A message with gossip seen by `capture` at `ts`: if another capture
    /// saw the same message, one offset sample.
    pub fn observe(&mut self, ts: i64, capture: usize, msg: &BusMessage) {
        if msg.gossip.is_empty() {
            return;
        }
        let fp = msg.fingerprint();
        match self.fingerprints.get(&fp) {
            Some(&(c, t)) if (ts - t).abs() < FINGERPRINT_WINDOW_US => {
                if c != capture {
                    self.offsets.add(c, t, capture, ts);
                }
            }
            // New, or seen too long ago to be the same message: whether
            // an old entry was pruned yet changes nothing.
            _ => {
                self.fingerprints.insert(fp, (capture, ts));
            }
        }
        if self.fingerprints.len() > self.prune_at.max(FINGERPRINT_CAP) {
            self.fingerprints.retain(|_, (_, t)| ts - *t < FINGERPRINT_WINDOW_US);
            self.prune_at = 2 * self.fingerprints.len();
        }
    }

    /// The median offset per pair of captures.
    pub fn offsets(&self, cfg: &AnalysisConfig) -> Vec<ClockOffset> {
        let name = |i: usize| cfg.vantages.get(i).cloned().unwrap_or_default();
        self.offsets
            .sorted()
            .map(|((x, y), v)| ClockOffset {
                a: name(x),
                b: name(y),
                offset_us: v.upper_median(),
                samples: v.len() as u64,
            })
            .collect()
    }

    /// One entry per configured capture.
    pub fn captures(&self, cfg: &AnalysisConfig) -> Vec<CaptureInfo> {
        cfg.vantages
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let c = self.spans.get(&i);
                CaptureInfo {
                    index: i,
                    vantage: v.clone(),
                    first_ts_us: c.map(|c| c.0),
                    last_ts_us: c.map(|c| c.1),
                    messages: c.map_or(0, |c| c.2),
                    node_pairs_seen: 0,
                    files: cfg.files_of(i),
                    clock: cfg.clocks.get(i).cloned().flatten(),
                    wire: Default::default(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Gossip, NodeAddr, NodeId};

    /// A message with gossip whose fingerprint is `fp`.
    fn msg(fp: u64) -> BusMessage {
        let mut m = BusMessage::empty();
        m.gossip.push(Gossip {
            node: NodeId([b'n'; 40]),
            addr: NodeAddr::default(),
            flags: 0,
            ping_sent: 0,
            pong_received: 0,
        });
        m.fingerprint = Some(fp);
        m
    }

    fn samples(c: &Clock) -> Vec<i64> {
        c.offsets.samples((0, 1)).to_vec()
    }

    #[test]
    fn a_message_seen_by_two_captures_is_one_offset_sample() {
        let mut c = Clock::default();
        c.observe(1_000_000, 1, &msg(7));
        c.observe(1_000_250, 0, &msg(7));
        c.observe(1_000_300, 0, &msg(7));
        assert_eq!(samples(&c), vec![-250, -300], "b - a, for capture 1 against 0");
    }

    #[test]
    fn a_fingerprint_seen_longer_ago_than_the_window_is_a_new_message() {
        let mut c = Clock::default();
        c.observe(0, 0, &msg(7));
        // Same fingerprint 40 s later (a repeated message): not the same
        // one, so it starts over, and capture 1 pairs with it.
        c.observe(40_000_000, 0, &msg(7));
        c.observe(40_000_100, 1, &msg(7));
        assert_eq!(samples(&c), vec![100]);
    }

    #[test]
    fn a_window_holding_more_than_the_cap_is_not_pruned_at_every_message() {
        let mut c = Clock::default();
        for i in 0..(FINGERPRINT_CAP as u64 + 10) {
            c.observe(i as i64, 0, &msg(i));
        }
        assert_eq!(c.fingerprints.len(), FINGERPRINT_CAP + 10, "all within the window: none pruned");
        assert_eq!(c.prune_at, 2 * (FINGERPRINT_CAP + 1), "the next pruning waits for twice as many");
    }
}
