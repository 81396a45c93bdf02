//! A small façade used by the binary and the tests: run captures through
//! the pipeline straight into the analysis (streaming: events are consumed
//! as they are produced).

use crate::analysis::alerts::{Alert, Told};
use crate::analysis::{Analysis, AnalysisConfig, Analyzer, CaptureClock};
use crate::capture::{CaptureError, CaptureFile, PacketSource, SelectSpec};
use crate::events::{BusEvent, EventSink};
use crate::pipeline::{CaptureStats, Input, Pipeline, PipelineConfig, run_merged};
use crate::vantage::{ChainSource, Method, Plan};

/// Events travel from the reading thread to the analysing one in batches
/// of this many (a live capture's sooner: see [`Batcher`]).
const BATCH: usize = 256;
/// Batches in flight; when the analysis falls this far behind, reading
/// waits (bounded memory).
const IN_FLIGHT: usize = 4;
/// A live capture's events wait at most about this long for their batch
/// to fill (checked when the next event arrives).
const LIVE_FLUSH: std::time::Duration = std::time::Duration::from_millis(2);

/// Collects owned events into batches for the analysing thread.
struct Batcher {
    tx: std::sync::mpsc::SyncSender<Vec<BusEvent>>,
    batch: Vec<BusEvent>,
    live: bool,
    last_flush: std::time::Instant,
}

impl Batcher {
    fn push(&mut self, e: BusEvent) {
        self.batch.push(e);
        if self.batch.len() >= BATCH || (self.live && self.last_flush.elapsed() >= LIVE_FLUSH) {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let b = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            // The analysing side only hangs up when it panicked; the join
            // below reports that.
            let _ = self.tx.send(b);
        }
        self.last_flush = std::time::Instant::now();
    }
}

/// Reads `inputs` on this thread and hands their events, in the order
/// [`run_merged`] makes, to `consume` running on a second thread (reading
/// and decoding overlap with the analysis); returns what `consume`
/// returns.
fn pipelined<T: Send>(inputs: &mut [Input], consume: impl FnOnce(&mut dyn Iterator<Item = BusEvent>) -> T + Send) -> T {
    let live = inputs.iter().any(|i| i.file.is_live());
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<BusEvent>>(IN_FLIGHT);
    std::thread::scope(|s| {
        let worker = s.spawn(move || consume(&mut rx.into_iter().flatten()));
        let mut b = Batcher { tx, batch: Vec::with_capacity(BATCH), live, last_flush: std::time::Instant::now() };
        {
            let mut sink = EventSink::new(|e| b.push(e));
            run_merged(inputs, &mut sink);
        }
        b.flush();
        drop(b);
        worker.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Runs `inputs` and analyses everything; returns the analyzer (for views)
/// and per-capture statistics.
pub fn analyze_inputs(inputs: &mut [Input], cfg: AnalysisConfig) -> (Analyzer, Vec<CaptureStats>) {
    let analyzer = pipelined(inputs, |events| {
        let mut analyzer = Analyzer::new(cfg);
        for e in events {
            analyzer.push(e);
        }
        analyzer
    });
    let stats = inputs.iter().map(|i| i.pipeline.stats()).collect();
    (analyzer, stats)
}

/// Convenience: the finished analysis.
pub fn analyze(inputs: &mut [Input], cfg: AnalysisConfig) -> Analysis {
    analyze_inputs(inputs, cfg).0.finish()
}

/// Why a plan's inputs could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Capture(CaptureError),
    /// The filter expression is invalid or needs another build.
    Select(String),
}

impl From<CaptureError> for OpenError {
    fn from(e: CaptureError) -> Self {
        OpenError::Capture(e)
    }
}

/// Inputs and analysis settings for a [`Plan`]: one input per vantage (a
/// rotated capture is one chained source), shifted onto the reference
/// clock, each source filtered and counted as `select` says (nothing
/// selected: `SelectSpec::default()`).
pub fn open_plan(
    plan: &Plan,
    cfg: &PipelineConfig,
    select: &SelectSpec,
) -> Result<(Vec<Input>, AnalysisConfig), OpenError> {
    let several = plan.vantages.len() > 1;
    let mut inputs = Vec::new();
    let mut acfg = AnalysisConfig::default();
    for (i, v) in plan.vantages.iter().enumerate() {
        let pipeline = Pipeline::new(i, cfg.clone());
        let src: Box<dyn PacketSource> = match v.files.as_slice() {
            [one] => Box::new(CaptureFile::open(one)?),
            files => Box::new(ChainSource::new(v.name.clone(), files.to_vec())),
        };
        let mut input = Input::boxed(select.apply(src).map_err(OpenError::Select)?, pipeline);
        input.shift_us = v.alignment.shift_us();
        inputs.push(input);
        acfg.vantages.push(v.name.clone());
        acfg.files.push(if v.files.len() > 1 {
            v.frame_bases
                .iter()
                .zip(&v.files)
                .map(|(b, p)| {
                    (*b, p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into()))
                })
                .collect()
        } else {
            Vec::new()
        });
        acfg.clocks.push(several.then(|| {
            let a = &v.alignment;
            let method = match a.method {
                Method::Reference => "reference",
                Method::SharedMessages => "shared_messages",
                Method::NodeClock => "node_clock",
                Method::None => "none",
            };
            CaptureClock {
                offset_us: a.offset_us,
                uncertainty_us: a.uncertainty_us,
                method: method.into(),
                samples: a.samples,
                applied: a.applied,
                note: a.note.clone(),
            }
        }));
    }
    Ok((inputs, acfg))
}

/// Runs `inputs` through the analysis like [`analyze_inputs`] and tells
/// events as they become known: every `interval_us` of capture time a
/// provisional analysis is made and `on_new` gets the events not told yet
/// (and the provisional analysis, for a status line); at the end the rest,
/// from the final analysis, which is returned. What is told is what
/// `analyze` reports for the same input.
pub fn watch(
    inputs: &mut [Input],
    cfg: AnalysisConfig,
    interval_us: i64,
    mut on_new: impl FnMut(&[Alert], &Analysis) + Send,
) -> Analysis {
    pipelined(inputs, move |events| {
        let mut analyzer = Analyzer::new(cfg);
        let mut told = Told::default();
        let mut next: Option<i64> = None;
        for e in events {
            let ts = e.ts_us;
            analyzer.push(e);
            match next {
                None => next = Some(ts + interval_us),
                Some(t) if ts >= t => {
                    next = Some(ts + interval_us);
                    let provisional = analyzer.clone().finish();
                    let new = told.new_in(&provisional, false);
                    if !new.is_empty() {
                        on_new(&new, &provisional);
                    }
                }
                Some(_) => {}
            }
        }
        let last = analyzer.finish();
        let new = told.new_in(&last, true);
        on_new(&new, &last);
        last
    })
}
