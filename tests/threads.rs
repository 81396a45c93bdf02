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

/// Keeping each node's own table (`node_views`, what `nodes` prints) is
/// only for `nodes`: the analysis is the same without it, on every sample.
#[test]
fn node_views_change_nothing_in_the_analysis() {
    let dirs: BTreeSet<PathBuf> = sample_captures().iter().map(|p| p.parent().unwrap().to_path_buf()).collect();
    for dir in &dirs {
        let mut files: Vec<PathBuf> =
            sample_captures().into_iter().filter(|p| p.parent() == Some(dir.as_path())).collect();
        files.sort();
        let run = |views: bool| {
            let (mut inputs, mut cfg) = file_inputs(&files);
            cfg.node_views = views;
            let (analyzer, _) = analyze_inputs_with(&mut inputs, cfg, Threads::One);
            let ids = analyzer.node_ids();
            let has_view = ids.first().and_then(|id| analyzer.view_of(id, i64::MAX, None)).is_some();
            (serde_json::to_value(analyzer.finish()).unwrap(), has_view, ids.is_empty())
        };
        let (with, viewed, no_nodes) = run(true);
        let (without, not_viewed, _) = run(false);
        assert_eq!(with, without, "{}", dir.display());
        assert!(viewed || no_nodes, "{}: a view when asked", dir.display());
        assert!(!not_viewed, "{}: no view when not asked", dir.display());
    }
}
