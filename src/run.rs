//! A small façade used by the binary and the tests: run captures through
//! the pipeline straight into the analysis (streaming: events are consumed
//! as they are produced).

use crate::analysis::alerts::{Alert, Told};
use crate::analysis::{Analysis, AnalysisConfig, Analyzer};
use crate::capture::{CaptureError, CaptureFile, PacketSource, SelectSpec};
use crate::clusterbus::Message;
use crate::events::batch::{Batch, PackSink, Unpacker};
use crate::events::{BusEvent, EventSink};
use crate::pipeline::{
    Anomaly, BusSink, CaptureStats, CommandMeta, Input, MessageMeta, Pipeline, PipelineConfig, StreamEnd, run_merged,
};
use crate::vantage::{ChainSource, Plan};
use std::sync::mpsc::{Receiver, SyncSender};

/// Events travel from a reading thread to the analysing one in batches of
/// about this many (a live capture's sooner: see [`LIVE_FLUSH`]).
const BATCH: usize = 256;
/// Batches in flight per reading thread; when the analysis falls this far
/// behind, reading waits (bounded memory).
const IN_FLIGHT: usize = 4;
/// The same with several captures (about 3 MB each): the merge takes
/// each stream's events as their times come, and a stream denser than the
/// others for a while needs its reader ahead; with 4, the analysis waited
/// for one reader while the others sat full (two cores 76-80% busy during
/// the analysis of three captures, 85-88% with 32).
const IN_FLIGHT_SEVERAL: usize = 32;
/// A live capture's events wait at most about this long for their batch
/// to fill (checked after each packet).
const LIVE_FLUSH: std::time::Duration = std::time::Duration::from_millis(2);

/// What a reading thread sends: the events of consecutive packets that
/// made events (each packet's time on the reference clock, held back as
/// `read_one` says, and how many events it made), then the events of the
/// end of the input (every connection still open ends: a batch at a
/// time, `last` on the last one).
enum Part {
    Packets { packets: Vec<(i64, u32)>, batch: Batch },
    End { batch: Batch, last: bool },
}

/// The end of an input, into a reading thread's sink, sent a batch at a
/// time (a capture ending with a million connections open makes as many
/// events).
struct Ending<'a, B: FnMut() -> Batch> {
    sink: &'a mut PackSink,
    tx: &'a SyncSender<Part>,
    next_batch: B,
    batch: usize,
}

impl<B: FnMut() -> Batch> Ending<'_, B> {
    fn sent(&mut self) {
        if self.sink.len() >= self.batch {
            let batch = self.sink.take((self.next_batch)());
            let _ = self.tx.send(Part::End { batch, last: false });
        }
    }
}

impl<B: FnMut() -> Batch> BusSink for Ending<'_, B> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        self.sink.message(meta, msg);
        self.sent();
    }
    fn anomaly(&mut self, a: &Anomaly) {
        self.sink.anomaly(a);
        self.sent();
    }
    fn stream_end(&mut self, e: &StreamEnd) {
        self.sink.stream_end(e);
        self.sent();
    }
    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.sink.command(meta, args);
        self.sent();
    }
}

/// How long the analysis of a single input waits for its next batch on
/// a busy core before sleeping (the other core is its reader's).
const SPIN: std::time::Duration = std::time::Duration::from_millis(2);
/// Batches the analysis is done with go back to their reading thread, to
/// be filled again there (no allocation per batch); past this many
/// waiting (with several captures: as many as may be in flight, and 2),
/// they are freed.
const RETURN_IN_FLIGHT: usize = 2;

/// Reads one input on this thread and sends its events, packet by packet.
/// `batch`: events per batch ([`BATCH`]; tests use small ones).
fn read_one(input: &mut Input, several: bool, batch: usize, tx: SyncSender<Part>, returned: Receiver<Batch>) {
    let live = input.file.is_live();
    let mut packets: Vec<(i64, u32)> = Vec::new();
    let mut counted = 0usize;
    let mut last_flush = std::time::Instant::now();
    let mut sink = PackSink::default();
    // With several captures the analysis fingerprints every message
    // (clock offsets): done here, beside the busy analysis thread.
    sink.fingerprints = several;
    // A packet that made no event matters to the merge only by its time:
    // it holds back this stream's later packets until the others pass it.
    // The next packet that makes events is sent at the latest of their
    // times, which orders the same (the merge would take it right after
    // that packet), so packets without events are not sent.
    let mut held: Option<i64> = None;
    let mut next_batch = || returned.try_recv().unwrap_or_default();
    crate::pipeline::run_single(input, &mut sink, |sink, ts| {
        if sink.len() == counted {
            held = Some(held.map_or(ts, |h| h.max(ts)));
            // Live: what waits still goes out on time.
            if !live || packets.is_empty() {
                return;
            }
        } else {
            packets.push((held.take().map_or(ts, |h| h.max(ts)), (sink.len() - counted) as u32));
        }
        counted = sink.len();
        if sink.len() >= batch || (live && last_flush.elapsed() >= LIVE_FLUSH) {
            let batch = sink.take(next_batch());
            // The analysing side hangs up only when it panicked; the join
            // reports that.
            let _ = tx.send(Part::Packets { packets: std::mem::take(&mut packets), batch });
            counted = 0;
            last_flush = std::time::Instant::now();
        }
    });
    let _ = tx.send(Part::Packets { packets, batch: sink.take(next_batch()) });
    input.pipeline.finish(&mut Ending { sink: &mut sink, tx: &tx, next_batch: &mut next_batch, batch });
    let _ = tx.send(Part::End { batch: sink.take(Batch::default()), last: true });
}

/// One reading thread's stream, as the merge sees it.
struct Stream {
    rx: Receiver<Part>,
    packets: std::vec::IntoIter<(i64, u32)>,
    /// The batch being read, and its next event.
    batch: Batch,
    next: usize,
    unpacker: Unpacker,
    head: Option<(i64, u32)>,
    /// The end of the input began (its events are in `batch`, more may
    /// come), and its last batch arrived.
    ended: bool,
    finished: bool,
    back: SyncSender<Batch>,
    /// Wait for the next part on a busy core first (one file, not live).
    spin: bool,
}

impl Stream {
    fn new(rx: Receiver<Part>, back: SyncSender<Batch>, spin: bool) -> Stream {
        Stream {
            rx,
            packets: Vec::new().into_iter(),
            batch: Batch::default(),
            next: 0,
            unpacker: Unpacker::default(),
            head: None,
            ended: false,
            finished: false,
            back,
            spin,
        }
    }

    /// The next packet's time and event count (`None`: no more packets;
    /// the end's events, if any, are then the batch's).
    fn head(&mut self) -> Option<(i64, u32)> {
        while self.head.is_none() && !self.ended {
            if let Some(p) = self.packets.next() {
                self.head = Some(p);
                break;
            }
            self.receive();
        }
        self.head
    }

    /// Takes the next part in; `false` when nothing more comes.
    fn receive(&mut self) -> bool {
        match self.wait() {
            Ok(Part::Packets { packets, batch }) => {
                self.packets = packets.into_iter();
                self.open(batch);
            }
            Ok(Part::End { batch, last }) => {
                self.open(batch);
                self.ended = true;
                self.finished = last;
            }
            Err(_) => {
                (self.ended, self.finished) = (true, true);
                return false;
            }
        }
        true
    }

    /// Reads `batch` next; the one read so far goes back to be filled.
    fn open(&mut self, batch: Batch) {
        let done = std::mem::replace(&mut self.batch, batch);
        let _ = self.back.try_send(done);
        self.unpacker.open(&self.batch);
        self.next = 0;
    }

    /// The batch's next event.
    fn event(&mut self) -> Option<&BusEvent> {
        if self.next >= self.batch.len() {
            return None;
        }
        self.next += 1;
        Some(self.unpacker.event(&mut self.batch, self.next - 1))
    }

    /// The next part, waiting for it on a busy core before sleeping: the
    /// one stream's reader then never pays for waking this thread.
    fn wait(&mut self) -> Result<Part, std::sync::mpsc::RecvError> {
        if !self.spin {
            return self.rx.recv();
        }
        let start = std::time::Instant::now();
        loop {
            match self.rx.try_recv() {
                Ok(p) => return Ok(p),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(std::sync::mpsc::RecvError),
                Err(std::sync::mpsc::TryRecvError::Empty) if start.elapsed() < SPIN => std::hint::spin_loop(),
                Err(std::sync::mpsc::TryRecvError::Empty) => return self.rx.recv(),
            }
        }
    }

    /// Every event of this stream not read yet, in order (the only
    /// stream's, or the end's once every stream's packets are read).
    fn drain(&mut self, f: &mut dyn FnMut(&BusEvent)) {
        loop {
            while let Some(e) = self.event() {
                f(e);
            }
            if self.finished || !self.receive() {
                return;
            }
        }
    }
}

/// Reads every input on a thread of its own (decoding, reassembly and
/// framing run on all cores) and hands their events to `f` on this
/// thread, interleaved exactly as [`run_merged`] does: packets by time on
/// the reference clock (ties: input order), then the inputs' ends in input
/// order. With one input, reading and analysis still overlap.
fn pipelined(inputs: &mut [Input], batch: usize, f: &mut dyn FnMut(&BusEvent)) {
    std::thread::scope(|s| {
        let mut streams = Vec::new();
        let several = inputs.len() > 1;
        for input in inputs.iter_mut() {
            let (ahead, back) =
                if several { (IN_FLIGHT_SEVERAL, IN_FLIGHT_SEVERAL + 2) } else { (IN_FLIGHT, RETURN_IN_FLIGHT) };
            let (tx, rx) = std::sync::mpsc::sync_channel::<Part>(ahead);
            let (back, returned) = std::sync::mpsc::sync_channel::<Batch>(back);
            let spin = !several && !input.file.is_live();
            s.spawn(move || read_one(input, several, batch, tx, returned));
            streams.push(Stream::new(rx, back, spin));
        }
        merge(&mut streams, f);
    })
}

/// The merge of the reading threads' streams, event by event to `f`.
fn merge(streams: &mut [Stream], f: &mut dyn FnMut(&BusEvent)) {
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
                let Some(e) = s.event() else { break };
                f(e);
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
fn read(inputs: &mut [Input], threads: Threads, on_event: &mut dyn FnMut(&BusEvent)) {
    match threads {
        Threads::PerInput => pipelined(inputs, BATCH, on_event),
        Threads::One => {
            let mut sink = EventSink::new(|e: BusEvent| on_event(&e));
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
    read(inputs, threads, &mut |e| analyzer.observe(e));
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
        acfg.clocks.push(several.then(|| v.alignment.clone()));
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
    mut on_new: impl FnMut(&[Alert], &Analysis),
) -> Analysis {
    let mut analyzer = Analyzer::new(cfg);
    let mut told = Told::default();
    let mut next: Option<i64> = None;
    read(inputs, Threads::default(), &mut |e| {
        let ts = e.ts_us;
        analyzer.observe(e);
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
    });
    let last = analyzer.finish();
    let new = told.new_in(&last, true);
    on_new(&new, &last);
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureFile;

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
                    Some(batch) => pipelined(&mut inputs, batch, &mut |e| a.observe(e)),
                    None => read(&mut inputs, Threads::One, &mut |e| a.observe(e)),
                }
                serde_json::to_string(&a.finish()).unwrap()
            };
            let one = json(None);
            assert_eq!(one, json(Some(5)), "{files:?}");
            assert_eq!(one, json(Some(1)), "{files:?}");
        }
    }
}
