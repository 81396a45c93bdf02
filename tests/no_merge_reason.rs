//! Why a reused or shared address merged nothing is told from what the
//! capture shows (issue 32's lab finding: the advised runs were told "these
//! servers add a gossiped node by id" on Redis 4.0, where the survivors
//! had forgotten the dead node). On every sample whose servers did not
//! merge and whose analysis found a reused or shared address: a reason that
//! names a rejected PING dial exactly where a sender_mismatch shows one,
//! and otherwise says who still gossiped the old node or that nobody did.

mod common;

use common::{plan_inputs, samples_dir, samples_with_captures};
use meetgraph::analysis::FindingKind;

#[test]
fn the_no_merge_reason_follows_the_captures_evidence() {
    let mut checked = 0;
    for (name, files) in samples_with_captures() {
        let truth = std::fs::read_to_string(samples_dir().join(&name).join("truth.json")).unwrap_or_default();
        let truth: serde_json::Value = serde_json::from_str(&truth).unwrap_or_default();
        if truth["merged"] != serde_json::Value::Bool(false) {
            continue;
        }
        let (mut i, cfg) = plan_inputs(&files);
        let a = meetgraph::run::analyze(&mut i, cfg);
        let kinds = |k: FindingKind| a.findings.iter().filter(move |f| f.kind == k);
        if kinds(FindingKind::AddressReuse).count() + kinds(FindingKind::AddressCollision).count() == 0 {
            continue;
        }
        let why = a.story.no_merge.clone().unwrap_or_default();
        let mismatch = kinds(FindingKind::SenderMismatch).next().is_some();
        assert!(why.starts_with("No merge"), "{name}: {why}");
        if mismatch {
            assert!(why.contains("began with PING") || why.contains("handshake"), "{name}: {why}");
        } else {
            assert!(!why.contains("add a gossiped node by id"), "{name}: {why}");
            assert!(why.contains("gossiped") || why.contains("no node dialled"), "{name}: {why}");
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} samples checked");
}
