//! What the analysis is told from outside: the capture (vantage) names and
//! the time to stop at, and how a (capture, frame) becomes [`Evidence`].
//! Imports: `model` only.

use super::model::Evidence;

/// Analysis options.
#[derive(Clone, Debug, Default)]
pub struct AnalysisConfig {
    /// Capture (vantage) names, by input index.
    pub vantages: Vec<String>,
    /// Ignore events after this time (for "what did X believe at T").
    pub until_us: Option<i64>,
}

impl AnalysisConfig {
    /// The vantage name of capture `capture` (`#N` when unnamed).
    pub fn vantage(&self, capture: usize) -> String {
        self.vantages.get(capture).cloned().unwrap_or_else(|| format!("#{capture}"))
    }

    /// Where to see frame `frame` of capture `capture`.
    pub fn evidence(&self, capture: usize, frame: u64) -> Evidence {
        Evidence { capture: self.vantage(capture), frame }
    }
}
