//! A capture file read ahead by another thread (the analysis, while it
//! waits for its reader: `capture::read_ahead`) gives the packets, the
//! damage and the analysis that reading it alone gives. On uncompressed
//! copies of every sample's captures: read with help in a fixed rhythm
//! between packets, and analysed by the two-thread run (whose analysis
//! thread helps as it waits) against `--threads 1`.

mod common;

use common::{analysis_json, sample_capture_sets, scratch};
use meetgraph::capture::{CaptureFile, PacketSource};
use meetgraph::run::Threads;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every packet of a file (time, original length, bytes), and the error
/// that stopped it, if any.
type Packets = (Vec<(i64, u32, Vec<u8>)>, Option<String>);

/// [`Packets`] of `file`, `help` called before each packet.
fn packets(file: &mut CaptureFile, mut help: impl FnMut(usize)) -> Packets {
    let mut out = Vec::new();
    loop {
        help(out.len());
        match file.advance() {
            Ok(true) => {}
            Ok(false) => return (out, None),
            Err(e) => return (out, Some(e.to_string())),
        }
        let p = file.current().expect("a packet after advance");
        out.push((p.ts_us, p.orig_len, p.data.to_vec()));
    }
}

/// `src` decompressed into `dir` (a capture of the same name, `.gz` cut).
fn uncompressed(src: &Path, dir: &Path, k: usize) -> PathBuf {
    let name = src.file_name().unwrap().to_string_lossy().trim_end_matches(".gz").to_string();
    let dst = dir.join(format!("{k}-{name}"));
    let mut bytes = Vec::new();
    let raw = std::fs::read(src).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        // A damaged gzip yields what it can: the copy is cut there.
        let _ = flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut bytes);
    } else {
        bytes = raw;
    }
    std::fs::write(&dst, bytes).unwrap();
    dst
}

#[test]
fn helped_reads_give_what_plain_reads_give_on_every_sample() {
    let dir = scratch("read-ahead");
    let (mut files_read, mut chunks_ahead, mut k) = (0, 0, 0);
    for (sample, files) in sample_capture_sets() {
        let mut copies = Vec::new();
        for f in &files {
            let copy = uncompressed(f, &dir, k);
            k += 1;
            let plain = packets(&mut CaptureFile::open(&copy).unwrap(), |_| {});
            let mut file = CaptureFile::open(&copy).unwrap();
            let helper = file.read_ahead().expect("an uncompressed regular file can be read ahead");
            let helped = packets(&mut file, |n| {
                if n % 40 == 0 {
                    chunks_ahead += (0..3).filter(|_| helper.help()).count();
                }
            });
            assert_eq!(helped, plain, "{}", f.display());
            assert!(!plain.0.is_empty(), "{}: no packet", f.display());
            files_read += 1;
            copies.push(copy);
        }
        // One file: the analysis thread reads ahead for its reader.
        let one = analysis_json(&copies, Threads::One);
        let two = analysis_json(&copies, Threads::PerInput);
        assert_eq!(one, two, "{}", sample.display());
    }
    assert!(files_read > 10 && chunks_ahead > files_read, "{files_read} files, {chunks_ahead} chunks read ahead");
    // Compressed files and standard input are read by their reader alone.
    let gz = sample_capture_sets().into_iter().flat_map(|(_, f)| f).find(|f| f.extension().is_some_and(|e| e == "gz"));
    assert!(CaptureFile::open(&gz.expect("a gzip sample")).unwrap().read_ahead().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
