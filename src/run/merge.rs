//! The two time merges, side by side: [`run_merged`] reads every input on
//! the calling thread, packet by packet in capture-time order; [`merge`]
//! interleaves the reading threads' streams of events in exactly that
//! order.

use super::threads::{OnEvent, Stream};
use crate::pipeline::{BusSink, Input};

/// Runs every input through its pipeline, interleaving packets of all
/// captures by capture time on the reference clock (ties: input order),
/// then finishes them all.
pub fn run_merged<K: BusSink>(inputs: &mut [Input], sink: &mut K) {
    for i in inputs.iter_mut() {
        i.advance();
    }
    while let Some(idx) = earliest(inputs) {
        let input = &mut inputs[idx];
        input.process(sink);
        input.advance();
    }
    for i in inputs.iter_mut() {
        i.pipeline.finish(sink);
    }
}

/// The input whose loaded packet comes first on the reference clock
/// (ties: the first input); `None` when every input has ended.
pub(super) fn earliest(inputs: &[Input]) -> Option<usize> {
    let mut best: Option<(i64, usize)> = None;
    for (idx, i) in inputs.iter().enumerate() {
        if let Some(ts) = i.next_ts()
            && best.is_none_or(|(t, _)| ts < t)
        {
            best = Some((ts, idx));
        }
    }
    best.map(|(_, idx)| idx)
}

/// The merge of the reading threads' streams, event by event to `f`.
pub(super) fn merge(streams: &mut [Stream], f: &mut OnEvent<'_>) {
    if let [one] = streams {
        one.drain(f);
        return;
    }
    loop {
        // The stream with the earliest packet (ties: the first), and the
        // earliest packet of the others: the best stream goes on until its
        // packets pass that one (a stream's packets mostly come in runs).
        let mut best: Option<(i64, usize)> = None;
        let mut next: Option<(i64, usize)> = None;
        for (i, s) in streams.iter_mut().enumerate() {
            let Some((ts, _)) = s.head() else { continue };
            if best.is_none_or(|(t, _)| ts < t) {
                next = best;
                best = Some((ts, i));
            } else if next.is_none_or(|(t, _)| ts < t) {
                next = Some((ts, i));
            }
        }
        let Some((_, i)) = best else { break };
        let s = &mut streams[i];
        loop {
            let (_, n) = s.head.take().unwrap_or_default();
            for _ in 0..n {
                let Some((e, wire)) = s.event() else { break };
                f(e, wire);
            }
            let goes_on = match (s.head(), next) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some((ts, _)), Some((t, j))) => ts < t || (ts == t && i < j),
            };
            if !goes_on {
                break;
            }
        }
    }
    for s in streams.iter_mut() {
        s.drain(f);
    }
}
