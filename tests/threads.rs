//! Reading captures on threads of their own (the default) gives exactly
//! what reading them all on one thread (`--threads 1`) gives: the same
//! events in the same order, so the same analysis, on every sample (issue
//! 13 item 2).

mod common;

use common::{analysis_json, file_inputs, sample_capture_sets};
use meetgraph::capture::{CaptureFile, PcapngWriter, RawPacket};
use meetgraph::run::{Threads, analyze_inputs_with};

#[test]
fn threads_change_nothing_on_any_sample() {
    let sets = sample_capture_sets();
    let mut several = 0;
    let mut checked = 0;
    for (dir, files) in &sets {
        several += usize::from(files.len() > 1);
        let one = analysis_json(files, Threads::One);
        let per_input = analysis_json(files, Threads::PerInput);
        assert!(one["analysis"]["nodes"].as_array().is_some_and(|n| !n.is_empty()), "{}: no node", dir.display());
        assert_eq!(one, per_input, "{}", dir.display());
        checked += 1;
    }
    assert_eq!(checked, sets.len());
    // Samples with several captures exercise the merge by time.
    let with_several = sets.iter().filter(|(_, f)| f.len() > 1).count();
    assert!(several == with_several && several >= 1, "{several}");
}

/// Copies `src` to `dst` with packets out of time order: every seventh
/// packet stamped up to 40 ms later than captured (a busy capture host;
/// most such packets are bare ACKs, which make no event but still hold
/// their capture's later packets back in the merge). Returns how many
/// packets come earlier than one before them.
fn jittered(src: &std::path::Path, dst: &std::path::Path, seed: u64) -> usize {
    let mut f = CaptureFile::open(src).unwrap();
    let mut w = PcapngWriter::new(std::io::BufWriter::new(std::fs::File::create(dst).unwrap())).unwrap();
    let (mut i, mut x, mut last, mut backwards) = (0u64, seed, i64::MIN, 0);
    while f.advance().unwrap() {
        let p = f.current().unwrap();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ts = if i % 7 == 3 { p.ts_us + (x % 40_000) as i64 } else { p.ts_us };
        backwards += usize::from(ts < last);
        last = ts;
        w.write(&RawPacket { ts_us: ts, ..p }).unwrap();
        i += 1;
    }
    backwards
}

#[test]
fn threads_change_nothing_when_packets_come_out_of_time_order() {
    let sets = sample_capture_sets();
    let want = sets.iter().filter(|(_, f)| f.len() > 1).count();
    let tmp = std::env::temp_dir().join(format!("mg-threads-jitter-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut checked = 0;
    for (dir, files) in &sets {
        if files.len() < 2 {
            continue;
        }
        let mut out = Vec::new();
        let mut backwards = 0;
        for (k, f) in files.iter().enumerate() {
            let o = tmp.join(format!("{checked}-{k}.pcapng"));
            backwards += jittered(f, &o, 0x9e37_79b9_7f4a_7c15 + k as u64);
            out.push(o);
        }
        assert!(backwards > 10, "{}: {backwards} packets out of order", dir.display());
        let one = analysis_json(&out, Threads::One);
        let per_input = analysis_json(&out, Threads::PerInput);
        assert_eq!(one, per_input, "{} jittered", dir.display());
        checked += 1;
    }
    std::fs::remove_dir_all(&tmp).ok();
    assert!(checked == want && checked >= 1, "{checked} of {want} samples with several captures");
}

/// Keeping each node's own table (`node_views`, what `nodes` prints) is
/// only for `nodes`: the analysis is the same without it, on every sample.
#[test]
fn node_views_change_nothing_in_the_analysis() {
    let sets = sample_capture_sets();
    let mut checked = 0;
    for (dir, files) in &sets {
        let run = |views: bool| {
            let (mut inputs, mut cfg) = file_inputs(files);
            cfg.node_views = views;
            let (analyzer, _) = analyze_inputs_with(&mut inputs, cfg, Threads::One);
            let ids = analyzer.node_ids();
            let has_view = ids.first().and_then(|id| analyzer.view_of(id, None, i64::MAX, None)).is_some();
            (serde_json::to_value(analyzer.finish()).unwrap(), has_view, ids.is_empty())
        };
        let (with, viewed, no_nodes) = run(true);
        let (without, not_viewed, _) = run(false);
        assert_eq!(with, without, "{}", dir.display());
        assert!(viewed && !no_nodes, "{}: a view when asked", dir.display());
        assert!(!not_viewed, "{}: no view when not asked", dir.display());
        checked += 1;
    }
    assert_eq!(checked, sets.len());
}
