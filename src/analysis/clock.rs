//! Clocks: per capture, the time span and message count; between
//! captures, the offset of their clocks estimated from messages seen by
//! both (same fingerprint within a window). Imports: `config`, `model`,
//! `events`.

use super::config::AnalysisConfig;
use super::model::{CaptureInfo, ClockOffset};
use crate::events::BusMessage;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// Window of the fingerprint table used for clock offsets.
const FINGERPRINT_WINDOW_US: i64 = 30_000_000;
/// Fingerprints kept before old ones are dropped.
const FINGERPRINT_CAP: usize = 200_000;
/// Offset samples kept per pair of captures.
const SAMPLES_CAP: usize = 10_000;

#[derive(Clone, Debug, Default)]
pub(super) struct Clock {
    /// Message fingerprint → (capture, ts) where first seen.
    fingerprints: HashMap<u64, (usize, i64)>,
    /// (capture a, capture b), a < b → samples of b − a.
    offsets: BTreeMap<(usize, usize), Vec<i64>>,
    /// capture → (first ts, last ts, messages).
    spans: BTreeMap<usize, (i64, i64, u64)>,
}

impl Clock {
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
            Some(&(c, t)) if c != capture && (ts - t).abs() < FINGERPRINT_WINDOW_US => {
                let (a, b, d) = if c < capture { (c, capture, ts - t) } else { (capture, c, t - ts) };
                let v = self.offsets.entry((a, b)).or_default();
                if v.len() < SAMPLES_CAP {
                    v.push(d);
                }
            }
            Some(_) => {}
            None => {
                self.fingerprints.insert(fp, (capture, ts));
            }
        }
        if self.fingerprints.len() > FINGERPRINT_CAP {
            self.fingerprints.retain(|_, (_, t)| ts - *t < FINGERPRINT_WINDOW_US);
        }
    }

    /// The median offset per pair of captures.
    pub fn offsets(&self, cfg: &AnalysisConfig) -> Vec<ClockOffset> {
        let name = |i: usize| cfg.vantages.get(i).cloned().unwrap_or_default();
        self.offsets
            .iter()
            .map(|(&(x, y), v)| {
                let mut v = v.clone();
                v.sort_unstable();
                ClockOffset { a: name(x), b: name(y), offset_us: v[v.len() / 2], samples: v.len() as u64 }
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
                }
            })
            .collect()
    }
}
