//! What each evidence packet proves, in words, read from a finished
//! [`Analysis`] (`analyze --annotate` writes them as packet comments):
//! every step of every merge chain and every finding, on each packet of
//! its evidence.

use crate::analysis::model::{Analysis, Evidence, describe};
use std::collections::BTreeSet;

/// One thing a packet proves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EvidenceNote {
    pub evidence: Evidence,
    pub text: String,
}

/// Every note, merge chains first (in time order, step by step), then
/// findings in the analysis' order; a packet listed twice in one piece
/// of evidence is told once.
pub fn evidence_notes(a: &Analysis) -> Vec<EvidenceNote> {
    let best = a.best_addresses();
    let mut out = Vec::new();
    let mut note = |evidence: &[Evidence], text: String| {
        let distinct: BTreeSet<&Evidence> = evidence.iter().collect();
        out.extend(distinct.into_iter().map(|e| EvidenceNote { evidence: e.clone(), text: text.clone() }));
    };
    let merges = a.merges.len();
    for (m, merge) in a.merges.iter().enumerate() {
        let which = if merges > 1 { format!("merge {}/{merges} ", m + 1) } else { "merge ".to_string() };
        let steps = merge.chain.len();
        for (s, step) in merge.chain.iter().enumerate() {
            let text = format!(
                "{which}chain step {}/{steps} (learner {}, via {}): {}",
                s + 1,
                step.learner.short(),
                step.via,
                describe(step, &best)
            );
            note(&step.evidence, text);
        }
    }
    for f in &a.findings {
        let text = format!("finding {} (severity {}, phase {}): {}", f.kind, f.severity, f.phase, f.summary);
        note(&f.evidence, text);
    }
    out
}
