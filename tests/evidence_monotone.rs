//! Evidence is monotone in inputs (issue 26 item 2): on every sample of
//! several captures, what a subset of its captures shows is kept when the
//! rest are added: the operator commands, each capture's observed node
//! links, and the frames of each first-hand introduction (an operator
//! MEET, a MEET received, a dial answered) when the superset finds the
//! same introduction (and not an earlier one).

mod common;

use common::{plan_inputs, samples_with_captures};
use meetgraph::analysis::{Analysis, Introduction, Via};
use std::path::PathBuf;

fn analyze(files: &[PathBuf]) -> Analysis {
    let (mut i, cfg) = plan_inputs(files);
    meetgraph::run::analyze(&mut i, cfg)
}

/// How far the same event may be dated apart by two capture sets.
const SAME_US: i64 = 100_000;

/// A first-hand introduction: its own frames show it.
fn first_hand(i: &Introduction) -> bool {
    match i.via {
        Via::OperatorMeet | Via::Meet | Via::MeetGossip => true,
        Via::Gossip => i.answered_by.is_some(),
        Via::Prior | Via::Unobserved => false,
    }
}

/// The frames that show the introduction itself (for a gossiped node, the
/// dial and its answer, not the gossip message, which other captures may
/// have seen first).
fn own_frames(i: &Introduction) -> Vec<String> {
    let skip = if i.via == Via::Gossip { i.evidence.len().saturating_sub(2) } else { 0 };
    i.evidence.iter().skip(skip).map(|e| format!("{}#{}", e.capture, e.frame)).collect()
}

#[test]
fn adding_captures_never_drops_evidence() {
    let mut checked = 0;
    for (name, files) in samples_with_captures().into_iter().filter(|(_, f)| f.len() > 1) {
        let all = analyze(&files);
        let n = files.len();
        for mask in 1..(1u32 << n) - 1 {
            let subset: Vec<PathBuf> = (0..n).filter(|b| mask >> b & 1 == 1).map(|b| files[b].clone()).collect();
            let sub = analyze(&subset);
            let what = format!(
                "{name} {:?}",
                subset.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect::<Vec<_>>()
            );
            // Each capture's observed links.
            for c in &sub.captures {
                let sup = all.captures.iter().find(|x| x.vantage == c.vantage).expect("same vantage");
                assert!(sup.node_pairs_seen >= c.node_pairs_seen, "{what}: {} links of {}", c.vantage, sup.vantage);
            }
            for i in sub.introductions.iter().filter(|i| first_hand(i)) {
                let sup = all.introductions.iter().find(|j| j.learner == i.learner && j.node == i.node);
                let sup = sup.unwrap_or_else(|| panic!("{what}: introduction lost: {i:?}"));
                // The superset found an earlier first introduction: fine.
                if sup.ts_us < i.ts_us - SAME_US {
                    continue;
                }
                // More captures may explain a dial better: a MEET nobody
                // was seen gossiping (an operator's, inferred) turns out to
                // follow gossip; a dial taken for a gossiped node's turns
                // out to follow a MEET the subset did not capture (§9b: a
                // node MEETed dials its new peer with PING), or a command
                // shows an operator's MEET. Then it is dated about as
                // early.
                let inferred = (i.via == Via::OperatorMeet && i.command.is_none()) || i.via == Via::Gossip;
                let seen_better = matches!(sup.via, Via::Meet | Via::MeetGossip | Via::Gossip)
                    || (sup.via == Via::OperatorMeet && sup.command.is_some());
                assert!(
                    sup.via == i.via || (inferred && seen_better && sup.ts_us <= i.ts_us + 1_000_000),
                    "{what}: {} learned {} otherwise: {i:?} / {sup:?}",
                    i.learner.short(),
                    i.node.short()
                );
                // The same dial seen by both: its frames and command kept.
                let dials =
                    |x: &Introduction| matches!(x.via, Via::OperatorMeet | Via::Gossip) && x.answered_by.is_some();
                if sup.via != i.via && !(dials(i) && dials(sup)) {
                    continue;
                }
                if let Some(c) = &i.command {
                    assert_eq!(sup.command.as_ref(), Some(c), "{what}: command lost");
                }
                let frames: Vec<String> = sup.evidence.iter().map(|e| format!("{}#{}", e.capture, e.frame)).collect();
                for f in own_frames(i) {
                    assert!(frames.contains(&f), "{what}: {f} lost from {i:?}; the superset has {frames:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} introductions compared");
}
