//! `analyze --annotate OUT.pcapng`: after the analysis, every file is read
//! a second time ([`meetgraph::run::replay`]: same vantages, same clock
//! shifts, same merged order, each packet through its pipeline again) and
//! every packet written to one pcapng section with its comments
//! ([`meetgraph::output::annotate`]): where it came from, the messages it
//! completes, what the analysis says it proves. Each interface of each
//! file keeps its own interface block. Written to a temporary file beside
//! OUT, renamed into place at the end: OUT is never half written.
//!
//! Memory: nothing grows with the capture. The message comments come from
//! re-running the pipeline in the second pass (a map built in the first
//! pass would hold a line per message of the whole capture); a packet
//! waits only while its input's reassembly holds bytes out of order, at
//! most `--max-total-buffer` bytes of packets in all.

use super::config::{InputConfig, is_stdout};
use super::inputs::reopen;
use super::messages::warn;
use super::progress::Progress;
use meetgraph::analysis::{Analysis, AnalysisConfig, Evidence, evidence_notes};
use meetgraph::capture::{BytesRead, Interface, PcapngOut};
use meetgraph::clusterbus::Message;
use meetgraph::error::Error;
use meetgraph::output::annotate::{PacketNotes, interface_label, origin_note, section_comments};
use meetgraph::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta, StreamEnd};
use meetgraph::run::{Held, Replay, replay};
use meetgraph::vantage::Plan;
use meetgraph::vantage::names::file_name;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// The annotated capture being written.
struct Annotated<'a> {
    notes: PacketNotes,
    /// What the analysis says each evidence packet proves.
    proves: HashMap<Evidence, Vec<String>>,
    /// Their frame numbers (a packet elsewhere is not looked up).
    frames: HashSet<u64>,
    acfg: &'a AnalysisConfig,
    /// Per input: its vantage name and its files' names.
    names: Vec<(String, Vec<String>)>,
    out: PcapngOut<BufWriter<File>>,
    comments: u64,
}

impl Annotated<'_> {
    fn file(&self, capture: usize, file: usize) -> &str {
        self.names.get(capture).and_then(|(_, f)| f.get(file)).map_or("?", |s| s.as_str())
    }
}

impl BusSink for Annotated<'_> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        self.notes.message(meta, msg);
    }
    fn anomaly(&mut self, a: &Anomaly) {
        self.notes.anomaly(a);
    }
    fn stream_end(&mut self, end: &StreamEnd) {
        self.notes.stream_end(end);
    }
    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.notes.command(meta, args);
    }
}

impl Replay for Annotated<'_> {
    fn interface(
        &mut self,
        capture: usize,
        file: usize,
        index: Option<usize>,
        described: &Interface,
    ) -> io::Result<u32> {
        let vantage = self.names.get(capture).map_or("?", |(v, _)| v.as_str());
        let (name, description) = interface_label(
            vantage,
            self.file(capture, file),
            index,
            described.name.as_deref(),
            described.description.as_deref(),
        );
        self.out.interface(&Interface { name: Some(name), description: Some(description), ..described.clone() })
    }

    fn packet(&mut self, p: Held) -> io::Result<()> {
        let origin = origin_note(self.file(p.capture, p.file), p.file_frame);
        let proves = match self.frames.contains(&p.file_frame) {
            true => self.proves.get(&self.acfg.evidence(p.capture, p.frame)).map_or(&[][..], |v| v.as_slice()),
            false => &[],
        };
        let comments = self.notes.take(p.capture, p.frame, origin, proves);
        self.comments += comments.len() as u64;
        self.out.packet(p.interface, p.ts_us, p.orig_len, &p.data, &comments)
    }
}

/// `--annotate OUT` reads the files again after the analysis: only files
/// can be, and none of them is OUT. Checked before anything is read.
pub fn check(out: &Path, input: &InputConfig) -> Result<(), Error> {
    if is_stdout(out) {
        return Err(Error::Usage(
            "--annotate -: the annotated capture is written to a file (whole, then renamed into place); give a path"
                .into(),
        ));
    }
    if input.live.is_some() {
        return Err(Error::Usage(
            "--annotate reads the captures a second time, after the analysis: not possible with -i; save the live capture with -w FILE, then run analyze FILE --annotate OUT.pcapng".into(),
        ));
    }
    if input.sources.iter().any(|s| is_stdout(&s.path)) {
        return Err(Error::Usage(
            "--annotate reads the captures a second time, after the analysis, and standard input (-) cannot be read twice: save it to a file first (cat > capture.pcap)".into(),
        ));
    }
    let same =
        |p: &Path| std::fs::canonicalize(p).ok().zip(std::fs::canonicalize(out).ok()).is_some_and(|(a, b)| a == b);
    if let Some(s) = input.sources.iter().find(|s| same(&s.path)) {
        return Err(Error::Usage(format!(
            "--annotate {}: that is an input; write the annotated capture elsewhere",
            s.path.display()
        )));
    }
    Ok(())
}

/// `.OUT.partial-PID` beside `out`.
fn partial_path(out: &Path) -> PathBuf {
    let name = out.file_name().map_or_else(|| "annotated".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Writes the annotated capture of `analysis` to `out`: the files of
/// `plan` read again as `input` says.
pub fn write(
    out: &Path,
    input: &InputConfig,
    plan: &Plan,
    acfg: &AnalysisConfig,
    analysis: &Analysis,
) -> Result<(), Error> {
    let tmp = partial_path(out);
    let result = write_to(&tmp, input, plan, acfg, analysis)
        .and_then(|_| std::fs::rename(&tmp, out).map_err(|e| Error::write_file(out, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_to(tmp: &Path, input: &InputConfig, plan: &Plan, acfg: &AnalysisConfig, a: &Analysis) -> Result<(), Error> {
    let err = |e: io::Error| Error::write_file(tmp, e);
    let bytes_read = BytesRead::default();
    let mut inputs = reopen(input, plan, &bytes_read)?;
    let _progress = Progress::start(input, &bytes_read, false);
    let mut proves: HashMap<Evidence, Vec<String>> = HashMap::default();
    for n in evidence_notes(a) {
        proves.entry(n.evidence).or_default().push(n.text);
    }
    let names =
        plan.vantages.iter().map(|v| (v.name.clone(), v.files.iter().map(|f| file_name(f)).collect())).collect();
    let section = section_comments(&a.story, &a.captures);
    let section: Vec<&str> = section.iter().map(String::as_str).collect();
    let file = BufWriter::with_capacity(1 << 20, File::create(tmp).map_err(err)?);
    let mut w = Annotated {
        notes: PacketNotes::default(),
        frames: proves.keys().map(|e| e.frame).collect(),
        proves,
        acfg,
        names,
        out: PcapngOut::new(file, &section, concat!("meetgraph ", env!("CARGO_PKG_VERSION"))).map_err(err)?,
        comments: 0,
    };
    let max_held = input.pipeline.reassembly.max_pending_total;
    let stats = replay(&mut inputs, &mut w, max_held).map_err(err)?;
    if w.notes.late > 0 {
        warn(&format!(
            "--annotate: {} message comment(s) left out: their packet had to be written before reassembly delivered them ({} packet(s) written while bytes were held out of order; --max-total-buffer bounds the wait)",
            w.notes.late, stats.forced
        ));
    }
    w.out.finish().map_err(err)?.into_inner().map_err(|e| err(e.into_error()))?.sync_all().map_err(err)?;
    Ok(())
}
