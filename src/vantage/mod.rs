//! Vantage points: which input files are one capture point (a rotated
//! capture: `tcpdump -C/-G`, `editcap -c`), and how each point's clock sits
//! against the reference clock. A light first pass over every file
//! ([`scan`], in parallel) decides both before the analysis reads a packet,
//! so that everything after it (ordering, first introductions, dates) runs
//! on one clock and on continuous TCP streams.
//!
//! Files are one vantage when the user says so (`--vantage NAME=FILE`
//! repeated with one NAME, or NAME=DIRECTORY), or when the bytes show it:
//! a file starts where another ends in time, at least one TCP direction
//! continues exactly at the sequence number where it stopped, and the two
//! share no message (two hosts capturing one link share every message).
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`plan`]: files grouped into vantages, named, and their clocks |
//! | `scan.rs` | the first pass over one file |
//! | `align.rs` | clock offsets between vantages (samples and `Alignment` from `time::clocks`) |
//! | `chain.rs` | [`ChainSource`]: a rotated capture's files as one source |
//! | `names.rs` | capture names from file names (the one place) |
//!
//! Imports: `capture`, `decode`, `clusterbus`, `pipeline`, `events`, `time` (clocks).

pub mod align;
pub mod chain;
pub mod names;
pub mod scan;

pub use align::{Alignment, Method};
pub use chain::ChainSource;
pub use scan::{FileScan, scan_file};

use crate::capture::CaptureError;
use crate::pipeline::PipelineConfig;
use names::{chain_name, file_name, make_unique};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::{Path, PathBuf};

/// One file (or directory) the user gave.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub path: PathBuf,
    /// Named with `--vantage NAME=…`: files with one name are one vantage.
    pub named: bool,
}

/// Why several files are one vantage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joined {
    One,
    /// The user gave them one name (or a directory).
    Named,
    /// Continuous in time and in TCP sequence numbers.
    Detected,
}

/// One capture point.
#[derive(Clone, Debug)]
pub struct VantagePlan {
    pub name: String,
    /// In reading order.
    pub files: Vec<PathBuf>,
    /// Frames of the files before each one (Wireshark numbers restart at 1
    /// in every file).
    pub frame_bases: Vec<u64>,
    pub joined: Joined,
    pub alignment: Alignment,
    /// Input position of its first file (vantage order).
    order: usize,
}

/// Vantages in input order, the reference first among equals.
#[derive(Debug)]
pub struct Plan {
    pub vantages: Vec<VantagePlan>,
    pub reference: usize,
    /// Sentences for the user (stderr): files joined, clocks aligned or not.
    pub notes: Vec<String>,
}

/// A file continues `a` when it starts where `a` ends in time, some TCP
/// direction picks up at the sequence number where it stopped in `a` (or
/// a little before: a retransmission), and they share no message.
fn continues(a: &FileScan, b: &FileScan) -> bool {
    let (Some(a_last), Some(b_first)) = (a.last_ts_us, b.first_ts_us) else { return false };
    if b_first + 1_000_000 < a_last || b_first - a_last > 600_000_000 {
        return false;
    }
    let (mut common, mut cont) = (0usize, 0usize);
    for (flow, (first, _)) in &b.flows {
        let Some((_, end)) = a.flows.get(flow) else { continue };
        common += 1;
        if end.wrapping_sub(*first) < 65_536 {
            cont += 1;
        }
    }
    if cont == 0 || cont * 2 < common {
        return false;
    }
    // Two hosts capturing the same links share most messages; pieces of
    // one capture share none, except messages that repeat byte for byte
    // (a small cluster's PINGs to different peers within one second).
    let fa: HashSet<u64> = a.fingerprints.iter().map(|f| f.0).collect();
    let shared = b.fingerprints.iter().filter(|f| fa.contains(&f.0)).count();
    shared <= 2 || shared * 10 <= a.fingerprints.len().min(b.fingerprints.len())
}

/// Scans every file on all cores.
fn scan_all(paths: &[PathBuf], cfg: &PipelineConfig, threads: Option<usize>) -> Vec<Result<FileScan, CaptureError>> {
    // A thread per file, up to twice the cores: three files on two cores
    // take one and a half file-times this way, two with a worker per core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = threads.unwrap_or(2 * cores).min(paths.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<Result<FileScan, CaptureError>>> = (0..paths.len()).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut out);
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(p) = paths.get(i) else { break };
            let r = scan_file(p, cfg);
            if let Ok(mut g) = results.lock() {
                g[i] = Some(r);
            }
        }
    };
    // One worker (`--threads 1`, or one file) is the calling thread.
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    out.into_iter()
        .zip(paths)
        .map(|(r, p)| {
            r.unwrap_or_else(|| {
                Err(CaptureError::Io { name: p.display().to_string(), source: std::io::Error::other("not scanned") })
            })
        })
        .collect()
}

/// Files of a directory, sorted by name.
fn expand(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A vantage's messages by fingerprint (those seen twice in it left out:
/// they cannot say which copy another vantage saw) and its node-clock
/// readings.
fn vantage_clock<'a>(scans: impl Iterator<Item = &'a FileScan> + Clone) -> align::VantageClock {
    let n = scans.clone().map(|s| s.fingerprints.len()).sum();
    let mut fps: HashMap<u64, i64> = HashMap::with_capacity_and_hasher(n, Default::default());
    let mut dup = HashSet::default();
    let mut lags = Vec::new();
    for s in scans {
        for &(fp, ts) in &s.fingerprints {
            if fps.insert(fp, ts).is_some() {
                dup.insert(fp);
            }
        }
        lags.extend_from_slice(&s.node_lags_us);
    }
    fps.retain(|fp, _| !dup.contains(fp));
    align::VantageClock { fingerprints: fps, node_lags_us: lags }
}

/// Why no plan could be made.
#[derive(Debug)]
pub enum PlanError {
    Capture(CaptureError),
    /// `--reference NAME` names no vantage.
    UnknownReference(String),
}

impl From<CaptureError> for PlanError {
    fn from(e: CaptureError) -> Self {
        PlanError::Capture(e)
    }
}

/// Decides the vantages and their clocks. `reference`: the vantage whose
/// clock is the reference (default: the first given).
pub fn plan(sources: &[Source], reference: Option<&str>, cfg: &PipelineConfig) -> Result<Plan, PlanError> {
    plan_on(sources, reference, cfg, None)
}

/// [`plan`], its first pass on at most `threads` threads (`None`: a thread
/// per file, up to twice the cores; `--threads 1` reads everything on one).
pub fn plan_on(
    sources: &[Source],
    reference: Option<&str>,
    cfg: &PipelineConfig,
    threads: Option<usize>,
) -> Result<Plan, PlanError> {
    // Files in input order, each with the vantage name the user gave.
    let mut files: Vec<(PathBuf, Option<String>)> = Vec::new();
    for s in sources {
        let named = s.named || s.path.is_dir();
        for p in expand(&s.path) {
            let name = if named { Some(s.name.clone()) } else { None };
            files.push((p, name));
        }
    }
    let scannable = files.len() > 1 && files.iter().all(|(p, _)| p.as_os_str() != "-");
    let scans: Vec<Option<FileScan>> = if scannable {
        let paths: Vec<PathBuf> = files.iter().map(|f| f.0.clone()).collect();
        let mut v = Vec::new();
        for r in scan_all(&paths, cfg, threads) {
            v.push(Some(r?));
        }
        v
    } else {
        files.iter().map(|_| None).collect()
    };
    // Group: named files by name; the others by continuity.
    let mut groups: Vec<(String, Vec<usize>, Joined)> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::default();
    for (i, (p, name)) in files.iter().enumerate() {
        if let Some(n) = name {
            match by_name.get(n) {
                Some(&g) => {
                    groups[g].1.push(i);
                    groups[g].2 = Joined::Named;
                }
                None => {
                    by_name.insert(n.clone(), groups.len());
                    groups.push((n.clone(), vec![i], Joined::One));
                }
            }
        } else if !scannable {
            groups.push((file_name(p), vec![i], Joined::One));
        }
    }
    if scannable {
        let first = |i: usize| scans[i].as_ref().and_then(|s| s.first_ts_us).unwrap_or(i64::MAX);
        let mut loose: Vec<usize> = (0..files.len()).filter(|&i| files[i].1.is_none()).collect();
        loose.sort_by_key(|&i| (first(i), i));
        let mut chains: Vec<Vec<usize>> = Vec::new();
        for i in loose {
            let s = scans[i].as_ref();
            let found = chains.iter_mut().find(|c| {
                let last = *c.last().unwrap_or(&i);
                matches!((scans[last].as_ref(), s), (Some(a), Some(b)) if continues(a, b))
            });
            match found {
                Some(c) => c.push(i),
                None => chains.push(vec![i]),
            }
        }
        for c in chains {
            let joined = if c.len() > 1 { Joined::Detected } else { Joined::One };
            let paths: Vec<&Path> = c.iter().map(|&i| files[i].0.as_path()).collect();
            groups.push((chain_name(&paths), c, joined));
        }
        // Named groups read in time order.
        for g in &mut groups {
            g.1.sort_by_key(|&i| (first(i), i));
        }
    }
    groups.sort_by_key(|g| g.1.iter().min().copied().unwrap_or(0));
    make_unique(groups.iter_mut().map(|g| &mut g.0));
    let reference_idx = match reference {
        Some(r) => groups
            .iter()
            .position(|g| g.0 == r || g.1.iter().any(|&i| file_name(&files[i].0) == r))
            .ok_or_else(|| PlanError::UnknownReference(r.to_string()))?,
        None => 0,
    };
    // One table per vantage, on a thread each unless told one thread.
    let clock_of = |files: &[usize]| vantage_clock(files.iter().filter_map(|&i| scans[i].as_ref()));
    let clocks: Vec<align::VantageClock> = if threads == Some(1) || groups.len() < 2 {
        groups.iter().map(|g| clock_of(&g.1)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = groups.iter().map(|g| s.spawn(|| clock_of(&g.1))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    };
    let alignments = if scannable {
        align::align(&clocks, reference_idx)
    } else {
        (0..groups.len())
            .map(|i| Alignment {
                offset_us: 0,
                uncertainty_us: 0,
                method: if i == reference_idx { Method::Reference } else { Method::None },
                samples: 0,
                applied: false,
                note: None,
            })
            .collect()
    };
    let mut notes = Vec::new();
    let mut vantages = Vec::new();
    for ((name, idx, joined), alignment) in groups.into_iter().zip(alignments) {
        let mut bases = Vec::new();
        let mut base = 0;
        for &i in &idx {
            bases.push(base);
            base += scans[i].as_ref().map_or(0, |s| s.last_frame);
        }
        let paths: Vec<PathBuf> = idx.iter().map(|&i| files[i].0.clone()).collect();
        if paths.len() > 1 {
            let how = match joined {
                Joined::Detected => "continuous in time and TCP sequence numbers",
                _ => "named as one vantage",
            };
            notes.push(format!(
                "{name}: {} files read as one capture ({how}): {} … {}",
                paths.len(),
                file_name(&paths[0]),
                file_name(&paths[paths.len() - 1])
            ));
        }
        if let Some(n) = &alignment.note {
            notes.push(format!("{name}: clock not aligned by shared messages: {n}"));
        }
        if alignment.applied {
            notes.push(format!(
                "{name}: clock offset {} against the reference ({}), applied",
                alignment.offset_text(),
                if alignment.method == Method::NodeClock { "from the nodes' clocks" } else { "from shared messages" }
            ));
        }
        let order = idx.iter().min().copied().unwrap_or(0);
        vantages.push(VantagePlan { name, files: paths, frame_bases: bases, joined, alignment, order });
    }
    vantages.sort_by_key(|v| v.order);
    let reference = reference_idx;
    Ok(Plan { vantages, reference, notes })
}
