//! Reading captures on threads of their own (the default) gives exactly
//! what reading them all on one thread (`--threads 1`) gives: the same
//! events in the same order, so the same analysis, on every sample (issue
//! 13 item 2).

mod common;

use common::{file_inputs, sample_captures};
use meetgraph::run::{Threads, analyze_inputs_with};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn analysis_json(files: &[PathBuf], threads: Threads) -> serde_json::Value {
    let (mut inputs, cfg) = file_inputs(files);
    let (analyzer, stats) = analyze_inputs_with(&mut inputs, cfg, threads);
    let a = analyzer.finish();
    serde_json::json!({ "analysis": serde_json::to_value(&a).unwrap(), "stats": serde_json::to_value(&stats).unwrap() })
}

#[test]
fn threads_change_nothing_on_any_sample() {
    let dirs: BTreeSet<PathBuf> = sample_captures().iter().map(|p| p.parent().unwrap().to_path_buf()).collect();
    let mut several = 0;
    for dir in &dirs {
        let mut files: Vec<PathBuf> =
            sample_captures().into_iter().filter(|p| p.parent() == Some(dir.as_path())).collect();
        files.sort();
        several += usize::from(files.len() > 1);
        let one = analysis_json(&files, Threads::One);
        let per_input = analysis_json(&files, Threads::PerInput);
        assert!(
            one["analysis"]["nodes"].as_array().is_some_and(|n| !n.is_empty()) || dir.to_string_lossy().contains("tls")
        );
        assert_eq!(one, per_input, "{}", dir.display());
    }
    // Samples with several captures exercise the merge by time.
    assert!(several >= 5, "{several}");
}
