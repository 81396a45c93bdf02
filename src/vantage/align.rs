//! One clock for all captures. Each vantage's offset against the reference
//! is measured from messages both captured (the same bytes seen on two
//! hosts: offset plus or minus the one-way latency, so the median over
//! both directions is the offset and the spread its uncertainty). Where two
//! vantages share no message, the nodes' own clocks are the common
//! reference: gossip carries each node's `pong_received` times, so a
//! capture's time minus the newest of them is its clock against the
//! nodes' (to a second or two).

use crate::time::clocks::{PairOffsets, Sorted};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

pub use crate::time::clocks::{Alignment, Method};

/// Fewest shared messages that make an offset.
const MIN_SAMPLES: usize = 3;
/// Samples spread wider than this (10th to 90th percentile) do not agree
/// on one offset: the alignment is ambiguous.
const MAX_SPREAD_US: i64 = 2_000_000;
/// Fewest node-clock readings per capture for that estimate.
const MIN_NODE_LAGS: usize = 20;
/// Uncertainty of the node-clock estimate: gossip times are whole
/// seconds and a peer's last PONG may be a second or two old.
const NODE_CLOCK_UNCERTAINTY_US: i64 = 2_000_000;

/// An estimate from samples: median and half the 10–90 % spread.
fn estimate(s: &Sorted) -> (i64, i64, u64) {
    (s.percentile(50), (s.percentile(90) - s.percentile(10)) / 2, s.len() as u64)
}

/// An offset estimate between two vantages (median, uncertainty,
/// samples), or why the samples do not make one.
type PairEstimate = Result<(i64, i64, u64), String>;

/// Per vantage: its messages' fingerprints (unique within it) and node-clock
/// readings.
pub struct VantageClock {
    pub fingerprints: HashMap<u64, i64>,
    pub node_lags_us: Vec<i64>,
}

/// Offsets of every vantage against `reference`.
#[allow(clippy::needless_range_loop)] // indices name vantages in `pair`
pub fn align(clocks: &[VantageClock], reference: usize) -> Vec<Alignment> {
    let n = clocks.len();
    // Pairwise offsets from shared messages: (b − a) samples, each
    // vantage's fingerprints looked up in the larger table.
    let mut shared = PairOffsets::default();
    for a in 0..n {
        for b in a + 1..n {
            let (small, big) =
                if clocks[a].fingerprints.len() <= clocks[b].fingerprints.len() { (a, b) } else { (b, a) };
            for (fp, &ts) in &clocks[small].fingerprints {
                if let Some(&t) = clocks[big].fingerprints.get(fp) {
                    shared.add(small, ts, big, t);
                }
            }
        }
    }
    let mut pair: HashMap<(usize, usize), PairEstimate> = HashMap::default();
    for (key, samples) in shared.sorted().filter(|(_, s)| s.len() >= MIN_SAMPLES) {
        let (med, unc, k) = estimate(&samples);
        let r = if unc * 2 > MAX_SPREAD_US {
            Err(format!("{k} shared messages disagree by ±{:.3} s", unc as f64 / 1e6))
        } else {
            Ok((med, unc, k))
        };
        pair.insert(key, r);
    }
    let mut out: Vec<Option<Alignment>> = vec![None; n];
    out[reference] = Some(Alignment::reference());
    let mut queue = VecDeque::from([reference]);
    while let Some(a) = queue.pop_front() {
        let Some(base) = out[a].clone() else { continue };
        for b in 0..n {
            if out[b].is_some() {
                continue;
            }
            let (key, sign) = if a < b { ((a, b), 1) } else { ((b, a), -1) };
            let Some(Ok((med, unc, k))) = pair.get(&key) else { continue };
            out[b] = Some(Alignment {
                offset_us: base.offset_us + sign * med,
                uncertainty_us: base.uncertainty_us + unc,
                method: Method::SharedMessages,
                samples: *k,
                applied: false,
                note: None,
            });
            queue.push_back(b);
        }
    }
    // The nodes' clocks for the rest, against the reference's.
    let node_clock = |v: usize| {
        (clocks[v].node_lags_us.len() >= MIN_NODE_LAGS).then(|| {
            let mut l = clocks[v].node_lags_us.clone();
            l.sort_unstable();
            (l[l.len() / 20], l.len() as u64)
        })
    };
    let anchor = node_clock(reference);
    for v in 0..n {
        if out[v].is_some() {
            continue;
        }
        let refused = (0..n).find_map(|o| {
            let key = if o < v { (o, v) } else { (v, o) };
            match pair.get(&key) {
                Some(Err(e)) => Some(e.clone()),
                _ => None,
            }
        });
        out[v] = Some(match (anchor, node_clock(v)) {
            (Some((r, _)), Some((x, k))) => Alignment {
                offset_us: x - r,
                uncertainty_us: NODE_CLOCK_UNCERTAINTY_US,
                method: Method::NodeClock,
                samples: k,
                applied: false,
                note: Some(
                    refused.unwrap_or_else(|| "no message seen by both; from the nodes' clocks in gossip".into()),
                ),
            },
            _ => Alignment {
                offset_us: 0,
                uncertainty_us: 0,
                method: Method::None,
                samples: 0,
                applied: false,
                note: Some(refused.unwrap_or_else(|| "no message seen by another capture: times as captured".into())),
            },
        });
    }
    out.into_iter()
        .map(|a| {
            let mut a = a.unwrap_or_else(Alignment::reference);
            a.applied =
                a.method != Method::Reference && a.method != Method::None && a.offset_us.abs() > a.uncertainty_us;
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(pairs: &[(u64, i64)], lags: &[i64]) -> VantageClock {
        VantageClock { fingerprints: pairs.iter().copied().collect(), node_lags_us: lags.to_vec() }
    }

    #[test]
    fn shared_messages_give_the_offset_and_its_uncertainty() {
        // b's clock is 30 s ahead; messages cross with 1 ms latency each way.
        let a: Vec<(u64, i64)> = (0..10).map(|i| (i, i as i64 * 1000)).collect();
        let b: Vec<(u64, i64)> =
            (0..10).map(|i| (i, i as i64 * 1000 + 30_000_000 + if i % 2 == 0 { 1000 } else { -1000 })).collect();
        let r = align(&[clock(&a, &[]), clock(&b, &[])], 0);
        assert_eq!(r[0].method, Method::Reference);
        assert_eq!(r[1].method, Method::SharedMessages);
        assert!((r[1].offset_us - 30_000_000).abs() <= 1000, "{r:?}");
        assert!(r[1].uncertainty_us <= 1000 && r[1].applied);
        // Same clock: the offset is within its uncertainty and not applied.
        let c: Vec<(u64, i64)> = (0..10).map(|i| (i, i as i64 * 1000 + if i % 2 == 0 { 300 } else { -300 })).collect();
        let r = align(&[clock(&a, &[]), clock(&c, &[])], 0);
        assert!(!r[1].applied, "{r:?}");
    }

    #[test]
    fn disagreeing_samples_are_refused_and_node_clocks_fill_in() {
        let a: Vec<(u64, i64)> = (0..10).map(|i| (i, 0)).collect();
        let b: Vec<(u64, i64)> = (0..10).map(|i| (i, if i < 5 { 0 } else { 3_600_000_000 })).collect();
        let lags_a: Vec<i64> = (0..40).map(|i| i * 10_000).collect();
        let lags_b: Vec<i64> = (0..40).map(|i| 7_200_000_000 + i * 10_000).collect();
        let r = align(&[clock(&a, &lags_a), clock(&b, &lags_b)], 0);
        assert_eq!(r[1].method, Method::NodeClock);
        assert!((r[1].offset_us - 7_200_000_000).abs() < 1_000_000 && r[1].applied);
        assert!(r[1].note.as_deref().is_some_and(|n| n.contains("disagree")));
        let r = align(&[clock(&a, &[]), clock(&b, &[])], 0);
        assert_eq!(r[1].method, Method::None);
        assert!(!r[1].applied);
    }
}
