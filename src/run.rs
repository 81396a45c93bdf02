//! A small façade used by the binary and the tests: run captures through
//! the pipeline straight into the analysis (streaming: events are consumed
//! as they are produced).

use crate::analysis::{Analysis, AnalysisConfig, Analyzer};
use crate::events::EventSink;
use crate::pipeline::{CaptureStats, Input, run_merged};

/// Runs `inputs` and analyses everything; returns the analyzer (for views)
/// and per-capture statistics.
pub fn analyze_inputs(inputs: &mut [Input], cfg: AnalysisConfig) -> (Analyzer, Vec<CaptureStats>) {
    let mut analyzer = Analyzer::new(cfg);
    {
        let mut sink = EventSink::new(|e| analyzer.push(e));
        run_merged(inputs, &mut sink);
    }
    let stats = inputs.iter().map(|i| i.pipeline.stats()).collect();
    (analyzer, stats)
}

/// Convenience: the finished analysis.
pub fn analyze(inputs: &mut [Input], cfg: AnalysisConfig) -> Analysis {
    analyze_inputs(inputs, cfg).0.finish()
}
