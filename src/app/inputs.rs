//! Opening what a command reads: the sources without identical copies
//! (warned about), one input per vantage point (rotated files joined,
//! clocks aligned) or one per file (`dump`), the live capture, then `-Z`;
//! the captures' names; and, after reading, damaged inputs told.

use super::config::InputConfig;
use super::live::{self, LiveStatus};
use super::messages::warn;
use meetgraph::analysis::AnalysisConfig;
use meetgraph::capture::{BytesRead, CaptureFile, LinkType};
use meetgraph::error::{Error, Status};
use meetgraph::pipeline::{Input, Pipeline};
use meetgraph::run::{Threads, open_plan};
use meetgraph::vantage::names::{file_name, make_unique};
use meetgraph::vantage::{self, Plan, PlanError, Source};
use std::path::Path;

/// The inputs of a command, open.
pub struct Opened {
    pub inputs: Vec<Input>,
    /// Where the files' reads are counted (the progress bar).
    pub bytes_read: BytesRead,
    /// Packets libpcap dropped, with a live capture.
    pub live: Option<LiveStatus>,
    /// The files' vantages, when opened by vantage (read them again with
    /// [`reopen`]).
    pub plan: Option<Plan>,
}

/// One input per vantage point (rotated files joined), each on the
/// reference clock, and the analysis settings that name them.
pub fn open_vantages(cfg: &InputConfig, reference: Option<&str>) -> Result<(Opened, AnalysisConfig), Error> {
    let bytes_read = BytesRead::default();
    let sources = distinct(&cfg.sources);
    let mut kept = None;
    let (mut inputs, mut acfg) = if sources.is_empty() {
        (Vec::new(), AnalysisConfig::default())
    } else {
        let first_pass_threads = (cfg.threads == Threads::One).then_some(1);
        let plan = vantage::plan_on(&sources, reference, &cfg.pipeline, first_pass_threads).map_err(|e| match e {
            PlanError::Capture(e) => Error::Capture(e),
            PlanError::UnknownReference(r) => Error::Usage(format!("--reference {r:?}: no capture of that name")),
        })?;
        for n in &plan.notes {
            warn(n);
        }
        let opened = open_plan(&plan, &cfg.pipeline, &cfg.select, &bytes_read)?;
        kept = Some(plan);
        opened
    };
    let drops = open_live(cfg, &mut inputs)?;
    if let Some(l) = &cfg.live {
        acfg.vantages.push(l.interfaces.iter().map(|i| format!("iface:{i}")).collect::<Vec<_>>().join("+"));
    }
    acfg.bounds = cfg.bounds;
    Ok((Opened { inputs, bytes_read, live: drops, plan: kept }, acfg))
}

/// The files of `plan` opened again, as [`open_vantages`] opened them
/// (same inputs in the same order, same clock shifts), their reads
/// counted in `bytes_read`.
pub fn reopen(cfg: &InputConfig, plan: &Plan, bytes_read: &BytesRead) -> Result<Vec<Input>, Error> {
    Ok(open_plan(plan, &cfg.pipeline, &cfg.select, bytes_read)?.0)
}

/// One input per file, as given (`dump`: frames and names per file), and
/// their names: the file name, `#2` for a second file of the same name
/// (as `analyze` names them).
pub fn open_files(cfg: &InputConfig) -> Result<(Opened, Vec<String>), Error> {
    let bytes_read = BytesRead::default();
    let mut inputs = Vec::new();
    for (i, s) in distinct(&cfg.sources).iter().enumerate() {
        let src = cfg.select.apply(Box::new(CaptureFile::open_counted(&s.path, &bytes_read)?))?;
        inputs.push(Input::boxed(src, Pipeline::new(i, cfg.pipeline.clone())));
    }
    let drops = open_live(cfg, &mut inputs)?;
    let mut names: Vec<String> = inputs.iter().map(|i| file_name(Path::new(i.file.name()))).collect();
    make_unique(&mut names);
    Ok((Opened { inputs, bytes_read, live: drops, plan: None }, names))
}

/// The live capture, if any, as the last input; then `-Z` (every input
/// is open).
fn open_live(cfg: &InputConfig, inputs: &mut Vec<Input>) -> Result<Option<LiveStatus>, Error> {
    let mut drops = None;
    if let Some(l) = &cfg.live {
        let (input, d) = live::open(l, inputs.len(), cfg.pipeline.clone())?;
        inputs.push(input);
        drops = Some(d);
    }
    super::privileges::relinquish(cfg.user.as_deref(), cfg.live.is_some())?;
    Ok(drops)
}

/// Bytes of a capture's content hashed to tell copies apart.
const HEAD_BYTES: u64 = 1 << 20;

/// What identifies a capture's content cheaply, compressed or not: its
/// length once decompressed (modulo 2^32: gzip's trailer keeps it so) and
/// a hash of its first MiB once decompressed. `h1.pcap.gz` and `h1.pcap`
/// are one capture. `None` for stdin or an unreadable file.
fn content_id(path: &Path) -> Option<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    use std::io::{Read, Seek, SeekFrom};
    if path.as_os_str() == "-" {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut magic = [0u8; 2];
    let gzip = len > 18 && f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let size = if gzip {
        let mut isize = [0u8; 4];
        f.seek(SeekFrom::End(-4)).ok()?;
        f.read_exact(&mut isize).ok()?;
        u64::from(u32::from_le_bytes(isize))
    } else {
        len & 0xffff_ffff
    };
    f.seek(SeekFrom::Start(0)).ok()?;
    let mut head = Vec::new();
    let reader: Box<dyn Read> =
        if gzip { Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))) } else { Box::new(f) };
    // A damaged gzip still identifies itself by what it yields.
    let _ = reader.take(HEAD_BYTES).read_to_end(&mut head);
    let mut h = std::hash::DefaultHasher::new();
    head.hash(&mut h);
    Some((size, h.finish()))
}

/// The sources without copies of one capture (warned about; a gzipped
/// copy too): a copy adds nothing and would count its messages twice, so
/// each content is read once.
fn distinct(sources: &[Source]) -> Vec<Source> {
    // One source is a copy of nothing (reading its first MiB to hash it
    // would only delay the analysis).
    if sources.len() < 2 {
        return sources.to_vec();
    }
    let mut seen: Vec<((u64, u64), String)> = Vec::new();
    let mut out = Vec::new();
    for s in sources {
        if let Some(id) = content_id(&s.path) {
            if let Some((_, first)) = seen.iter().find(|(x, _)| *x == id) {
                warn(&format!("{}: the same capture as {first}; read once", s.path.display()));
                continue;
            }
            seen.push((id, s.path.display().to_string()));
        }
        out.push(s.clone());
    }
    out
}

/// Tells damaged inputs (once each) and packets of link types not
/// decoded; their status.
pub fn damaged(inputs: &[Input]) -> Status {
    let mut status = Status::Ok;
    for i in inputs {
        for (&link, n) in &i.pipeline.stats().unsupported_links {
            warn(&format_args!(
                "{}: skipped {n} packet(s) of link type {}, which meetgraph does not decode (it reads {})",
                i.file.name(),
                LinkType(link),
                LinkType::SUPPORTED
            ));
        }
    }
    for e in inputs.iter().filter_map(|i| i.error.as_ref()) {
        warn(e);
        status = Status::Damaged;
    }
    status
}
