//! Reading the inputs: every event in capture-time order to the caller, on
//! one thread or with a reading thread per input, and the analysis of a
//! run fed that way.

use super::batch::Batch;
use super::merge::{merge, run_merged};
use super::threads::{
    BATCH, IN_FLIGHT, IN_FLIGHT_LIVE, IN_FLIGHT_SEVERAL, OnEvent, Part, RETURN_IN_FLIGHT, Stream, read_one,
};
use crate::analysis::{Analysis, AnalysisConfig, Analyzer, CaptureWire};
use crate::events::{BusEvent, EventSink};
use crate::pipeline::{CaptureStats, Input};

/// Reads every input on a thread of its own (decoding, reassembly and
/// framing run on all cores) and hands their events to `f` on this
/// thread, interleaved exactly as [`run_merged`] does: packets by time on
/// the reference clock (ties: input order), then the inputs' ends in input
/// order. With one input, reading and analysis still overlap.
fn pipelined(inputs: &mut [Input], batch: usize, f: &mut OnEvent<'_>) {
    std::thread::scope(|s| {
        let mut streams = Vec::new();
        let several = inputs.len() > 1;
        for input in inputs.iter_mut() {
            let (ahead, back) = if several {
                (IN_FLIGHT_SEVERAL, IN_FLIGHT_SEVERAL + 2)
            } else if input.file.is_live() {
                (IN_FLIGHT_LIVE, RETURN_IN_FLIGHT)
            } else {
                (IN_FLIGHT, RETURN_IN_FLIGHT)
            };
            let (tx, rx) = std::sync::mpsc::sync_channel::<Part>(ahead);
            let (back, returned) = std::sync::mpsc::sync_channel::<Batch>(back);
            let spin = !several && !input.file.is_live();
            let helper = if spin { input.file.read_ahead() } else { None };
            s.spawn(move || read_one(input, several, batch, tx, returned));
            streams.push(Stream::new(rx, back, spin).helped_by(helper));
        }
        merge(&mut streams, f);
    })
}

/// How the inputs are read: by one thread per input (default), or all on
/// the calling thread (`--threads 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threads {
    #[default]
    PerInput,
    One,
}

/// Every event of `inputs`, in [`run_merged`]'s order, to `on_event` on
/// this thread.
pub(super) fn read(inputs: &mut [Input], threads: Threads, on_event: &mut OnEvent<'_>) {
    match threads {
        Threads::PerInput => pipelined(inputs, BATCH, on_event),
        Threads::One => {
            let mut sink = EventSink::new(|e: BusEvent| on_event(&e, None));
            run_merged(inputs, &mut sink);
        }
    }
}

/// Runs `inputs` and analyses everything; returns the analyzer (for views)
/// and per-capture statistics.
pub fn analyze_inputs(inputs: &mut [Input], cfg: AnalysisConfig) -> (Analyzer, Vec<CaptureStats>) {
    analyze_inputs_with(inputs, cfg, Threads::default())
}

/// [`analyze_inputs`], reading as `threads` says (the result is the same).
pub fn analyze_inputs_with(
    inputs: &mut [Input],
    cfg: AnalysisConfig,
    threads: Threads,
) -> (Analyzer, Vec<CaptureStats>) {
    let mut analyzer = Analyzer::new(cfg);
    read(inputs, threads, &mut |e, wire| analyzer.observe_wire(e, wire));
    let stats: Vec<CaptureStats> = inputs.iter().map(|i| i.pipeline.stats()).collect();
    for (i, s) in inputs.iter().zip(&stats) {
        let wire = CaptureWire { cut_packets: s.cut_packets, snaplen: s.snaplen, tunnels: s.tunnels.clone() };
        analyzer.capture_wire(i.pipeline.capture(), wire);
    }
    (analyzer, stats)
}

/// Convenience: the finished analysis.
pub fn analyze(inputs: &mut [Input], cfg: AnalysisConfig) -> Analysis {
    analyze_inputs(inputs, cfg).0.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureFile;
    use crate::pipeline::{Pipeline, PipelineConfig};

    fn sample_dirs() -> Vec<Vec<std::path::PathBuf>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut out: Vec<Vec<std::path::PathBuf>> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|d| {
                let mut files: Vec<_> = std::fs::read_dir(d.path())
                    .ok()?
                    .flatten()
                    .map(|f| f.path())
                    .filter(|p| p.to_string_lossy().contains(".pcap"))
                    .collect();
                files.sort();
                (!files.is_empty()).then_some(files)
            })
            .collect();
        out.sort();
        out
    }

    fn inputs(files: &[std::path::PathBuf]) -> (Vec<Input>, AnalysisConfig) {
        let inputs = files
            .iter()
            .enumerate()
            .map(|(i, p)| Input::new(CaptureFile::open(p).unwrap(), Pipeline::new(i, PipelineConfig::default())))
            .collect();
        let vantages = files.iter().map(|p| p.display().to_string()).collect();
        (inputs, AnalysisConfig { vantages, ..AnalysisConfig::default() })
    }

    /// A reading thread sends the end of its input a batch at a time,
    /// the last one marked (on the samples whose captures end with
    /// connections open).
    #[test]
    fn the_end_of_an_input_goes_a_batch_at_a_time() {
        let mut split = 0;
        for files in sample_dirs() {
            let (mut one, _) = inputs(&files[..1]);
            let (tx, rx) = std::sync::mpsc::sync_channel(1 << 20);
            let (_back, returned) = std::sync::mpsc::sync_channel(1);
            read_one(&mut one[0], false, 3, tx, returned);
            let parts: Vec<Part> = rx.try_iter().collect();
            let ends: Vec<(usize, bool)> = parts
                .iter()
                .filter_map(|p| match p {
                    Part::End { batch, last } => Some((batch.len(), *last)),
                    Part::Packets { .. } => None,
                })
                .collect();
            let (&(_, last), rest) = ends.split_last().unwrap();
            assert!(last && rest.iter().all(|&(n, last)| n == 3 && !last), "{ends:?}");
            assert!(matches!(parts.last(), Some(Part::End { last: true, .. })));
            split += usize::from(ends.len() > 2);
        }
        assert!(split >= 3, "{split}");
    }

    /// Batches of a few events (many batches, ends in several parts) give
    /// every sample the analysis of one thread.
    #[test]
    fn small_batches_change_nothing() {
        for files in sample_dirs() {
            let json = |threads: Option<usize>| {
                let (mut inputs, cfg) = inputs(&files);
                let mut a = Analyzer::new(cfg);
                match threads {
                    Some(batch) => pipelined(&mut inputs, batch, &mut |e, wire| a.observe_wire(e, wire)),
                    None => read(&mut inputs, Threads::One, &mut |e, _| a.observe(e)),
                }
                serde_json::to_string(&a.finish()).unwrap()
            };
            let one = json(None);
            assert_eq!(one, json(Some(5)), "{files:?}");
            assert_eq!(one, json(Some(1)), "{files:?}");
        }
    }
}
