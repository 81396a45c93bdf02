//! Capture clocks. Two captures that saw the same message tell the offset
//! between their clocks: the time one saw it minus the time the other did
//! ([`PairOffsets`]). The vantage plan aligns every capture on a reference
//! clock with these samples before the analysis reads a packet
//! ([`Alignment`], [`Method`]); the analysis measures with the same samples
//! what offset is left after alignment.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// How a capture's clock was put on the reference clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The reference itself.
    Reference,
    /// From messages seen by this capture and an aligned one.
    SharedMessages,
    /// From the nodes' clocks in gossip (no shared message).
    NodeClock,
    /// No way to align: times are used as captured.
    None,
}

impl Method {
    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Reference => "reference",
            Method::SharedMessages => "shared_messages",
            Method::NodeClock => "node_clock",
            Method::None => "none",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One capture's clock against the reference: reference time = capture
/// time − `offset_us`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alignment {
    pub offset_us: i64,
    pub uncertainty_us: i64,
    pub method: Method,
    /// Shared messages (or node-clock readings) behind the estimate.
    pub samples: u64,
    /// Applied: the offset is larger than its uncertainty.
    pub applied: bool,
    /// Why an alignment was refused or is doubtful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An offset and its uncertainty in one unit: milliseconds while both
/// are under a second (`-0.004 ms ± 0.009 ms`), else seconds
/// (`+2.500000 s ± 0.120 s`).
pub fn format_offset(offset_us: i64, uncertainty_us: i64) -> String {
    if offset_us.abs().max(uncertainty_us.abs()) < 1_000_000 {
        format!("{:+.3} ms ± {:.3} ms", offset_us as f64 / 1e3, uncertainty_us as f64 / 1e3)
    } else {
        format!("{:+.6} s ± {:.3} s", offset_us as f64 / 1e6, uncertainty_us as f64 / 1e6)
    }
}

impl Alignment {
    /// The offset and its uncertainty, in one unit ([`format_offset`]).
    pub fn offset_text(&self) -> String {
        format_offset(self.offset_us, self.uncertainty_us)
    }

    /// The reference clock's own alignment.
    pub fn reference() -> Self {
        Alignment { offset_us: 0, uncertainty_us: 0, method: Method::Reference, samples: 0, applied: false, note: None }
    }

    /// The shift to subtract from capture times.
    pub fn shift_us(&self) -> i64 {
        if self.applied { self.offset_us } else { 0 }
    }
}

/// Offset samples between capture clocks, one per message two captures
/// both saw: per pair of captures `(a, b)`, `a < b`, the time `b` saw the
/// message minus the time `a` did (positive: `b`'s clock is ahead, or the
/// message travelled from `a` to `b`).
#[derive(Clone, Debug)]
pub struct PairOffsets {
    samples: BTreeMap<(usize, usize), Vec<i64>>,
    /// Samples kept per pair.
    cap: usize,
}

impl Default for PairOffsets {
    fn default() -> Self {
        PairOffsets::bounded(usize::MAX)
    }
}

impl PairOffsets {
    /// Keeping at most `cap` samples per pair (the first ones).
    pub fn bounded(cap: usize) -> Self {
        PairOffsets { samples: BTreeMap::new(), cap }
    }

    /// One message seen by capture `x` at `tx` and by capture `y` at `ty`
    /// (`x != y`).
    pub fn add(&mut self, x: usize, tx: i64, y: usize, ty: i64) {
        let (pair, d) = if x < y { ((x, y), ty - tx) } else { ((y, x), tx - ty) };
        let v = self.samples.entry(pair).or_default();
        if v.len() < self.cap {
            v.push(d);
        }
    }

    /// The samples of `pair` (smaller capture first), in the order added.
    pub fn samples(&self, pair: (usize, usize)) -> &[i64] {
        self.samples.get(&pair).map_or(&[], Vec::as_slice)
    }

    /// Every pair with samples, in pair order, its samples sorted.
    pub fn sorted(&self) -> impl Iterator<Item = ((usize, usize), Sorted)> + '_ {
        self.samples.iter().map(|(&pair, v)| (pair, Sorted::new(v.clone())))
    }
}

/// Offset samples in ascending order (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sorted(Vec<i64>);

impl Sorted {
    /// `None` when there is no sample.
    pub fn of(mut v: Vec<i64>) -> Option<Sorted> {
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(Sorted(v))
    }

    /// Samples from a pair (never empty: a pair exists once it has one).
    fn new(v: Vec<i64>) -> Sorted {
        Sorted::of(v).unwrap_or(Sorted(vec![0]))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: a `Sorted` holds at least one sample.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The sample at `p` percent, by nearest rank rounding down: the
    /// alignment's offset (50) and spread (10 to 90).
    pub fn percentile(&self, p: usize) -> i64 {
        self.0[(self.0.len() - 1) * p.min(100) / 100]
    }

    /// The upper of the two middle samples (the middle one when their count
    /// is odd): the offset left after alignment that the analysis reports.
    /// For an even count it differs from `percentile(50)`, the lower one;
    /// each output has always used its own.
    pub fn upper_median(&self) -> i64 {
        self.0[self.0.len() / 2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_and_its_uncertainty_share_a_unit() {
        assert_eq!(format_offset(-4, 9), "-0.004 ms ± 0.009 ms");
        assert_eq!(format_offset(250_000, 1_200), "+250.000 ms ± 1.200 ms");
        assert_eq!(format_offset(2_500_000, 120_000), "+2.500000 s ± 0.120 s");
        assert_eq!(format_offset(3, 1_500_000), "+0.000003 s ± 1.500 s");
    }

    #[test]
    fn a_sample_is_the_later_capture_minus_the_earlier() {
        let mut p = PairOffsets::bounded(2);
        p.add(1, 1_000_000, 0, 1_000_250);
        p.add(0, 10, 1, 30);
        p.add(0, 10, 1, 40);
        let pairs: Vec<((usize, usize), Sorted)> = p.sorted().collect();
        assert_eq!(pairs, vec![((0, 1), Sorted(vec![-250, 20]))]);
    }

    #[test]
    fn medians_and_percentiles_by_rank() {
        let s = Sorted::of(vec![4, 1, 3, 2]).unwrap();
        assert_eq!((s.percentile(50), s.upper_median()), (2, 3), "an even count: lower and upper middle");
        assert_eq!((s.percentile(0), s.percentile(100)), (1, 4));
        let odd = Sorted::of(vec![5, 1, 3]).unwrap();
        assert_eq!((odd.percentile(50), odd.upper_median()), (3, 3));
        assert!(Sorted::of(Vec::new()).is_none());
    }

    #[test]
    fn the_reference_is_never_shifted() {
        let mut a = Alignment {
            offset_us: 5_000,
            uncertainty_us: 10,
            method: Method::SharedMessages,
            ..Alignment::reference()
        };
        assert_eq!(a.shift_us(), 0, "not applied");
        a.applied = true;
        assert_eq!(a.shift_us(), 5_000);
        assert_eq!(serde_json::to_string(&Method::NodeClock).unwrap(), "\"node_clock\"");
    }
}
