//! Analysis: owned events in, the story out. Pure and deterministic: no
//! I/O, no packets, no drawing; state is bounded by the number of nodes,
//! live connections and addresses, not by the capture length.
//!
//! What it reconstructs (see `../shared/protocol/cluster-bus.md` §8–§10):
//! - node identities, addresses per vantage, generation hints;
//! - which node is behind each side of every connection (who dialled, who
//!   answered);
//! - introductions: for each (learner, node) the first moment the learner
//!   knew the node and how (operator MEET, MEET received, gossip + handshake
//!   and who actually answered);
//! - clusters, joins and merges (union of "knows" edges over time) with the
//!   chain of introductions behind each merge;
//! - findings with evidence (capture + frame), and the damage.

mod engine;
mod merge;
pub mod model;
pub mod timeline;
mod view;

pub use engine::Analyzer;
pub use model::*;
pub use view::{NodesView, describe as view_describe};

/// Analysis options.
#[derive(Clone, Debug, Default)]
pub struct AnalysisConfig {
    /// Capture (vantage) names, by input index.
    pub vantages: Vec<String>,
    /// Ignore events after this time (for "what did X believe at T").
    pub until_us: Option<i64>,
}
