//! The `watch` loop: the analysis of a run, told as it becomes known.

use super::read::{Threads, read};
use crate::analysis::alerts::{Alert, Told};
use crate::analysis::{Analysis, AnalysisConfig, Analyzer};
use crate::pipeline::Input;

/// Runs `inputs` through the analysis like [`analyze_inputs`] and tells
/// events as they become known: every `interval_us` of capture time a
/// provisional analysis is made and `on_new` gets the events not told yet,
/// maybe none (and the provisional analysis, for a status line and
/// metrics refreshed on that schedule); at the end the rest,
/// from the final analysis, which is returned. What is told is what
/// `analyze` reports for the same input.
pub fn watch(
    inputs: &mut [Input],
    cfg: AnalysisConfig,
    interval_us: i64,
    on_new: impl FnMut(&[Alert], &Analysis),
) -> Analysis {
    watch_with(inputs, cfg, interval_us, Threads::default(), on_new)
}

/// [`watch`], reading as `threads` says (what is told is the same).
pub fn watch_with(
    inputs: &mut [Input],
    cfg: AnalysisConfig,
    interval_us: i64,
    threads: Threads,
    mut on_new: impl FnMut(&[Alert], &Analysis),
) -> Analysis {
    let mut analyzer = Analyzer::new(cfg);
    let mut told = Told::default();
    let mut next: Option<i64> = None;
    read(inputs, threads, &mut |e, wire| {
        let ts = e.ts_us;
        analyzer.observe_wire(e, wire);
        match next {
            None => next = Some(ts + interval_us),
            Some(t) if ts >= t => {
                next = Some(ts + interval_us);
                let provisional = analyzer.look();
                // Every look, even with nothing new: the status line and
                // the metrics show the latest counts (a healthy cluster
                // tells nothing for hours).
                let new = told.new_in(&provisional, false);
                on_new(&new, &provisional);
            }
            Some(_) => {}
        }
    });
    let last = analyzer.finish();
    let new = told.new_in(&last, true);
    on_new(&new, &last);
    last
}
