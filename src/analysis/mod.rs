//! Analysis: owned events in, the story out. Pure and deterministic: no
//! I/O, no packets, no drawing; state is bounded by the number of nodes,
//! live connections and addresses, not by the capture length. May import
//! `events`, `clusterbus` (flags, slot formatting), `decode` (endpoints)
//! and `time`; never `output`, `pipeline` or `capture`.
//!
//! What it reconstructs (see `../shared/protocol/cluster-bus.md` §8–§10),
//! one room per kind of knowledge. Data flows one way, and
//! `tests/architecture.rs` checks it: the [`Analyzer`] feeds the trackers
//! message by message; when it finishes, the verdicts read the trackers
//! and write the [`Analysis`] (the model); views read a finished
//! `Analysis` only. Trackers never import verdicts, views or node tables;
//! verdicts never import views.
//!
//! | room | holds |
//! |---|---|
//! | `analyzer.rs` | the facade [`Analyzer`]: `new`, `push`, `finish` (`view_of` and the other queries in `analyzer/queries.rs`); routes each message through the trackers |
//! | `config.rs` | [`AnalysisConfig`]: vantage names, `until`, [`Bounds`], evidence names |
//! | [`model`] | the result types (the JSON schema) and the closed sets |
//! | `trackers/` | streaming state, one tracker per kind of knowledge (nodes, connections, handshakes, identities, knowledge, news, introductions, membership, roles, slots, reading, clock, retention) |
//! | `verdicts/` | end of run: findings, address reuse, triage, the story, the audit's hazards, what to do now, assembling the `Analysis` |
//! | `views/` | [`timeline`] (chart-ready data), [`alerts`] (`watch` events) and [`evidence_notes`] (what each evidence packet proves, for `--annotate`), read from a finished `Analysis` |
//! | `node_tables/` | the `nodes` command: each node's own cluster table, printed as [`NodesView`] |

mod analyzer;
mod config;
pub mod model;
mod node_tables;
mod trackers;
mod verdicts;
mod views;

pub use analyzer::Analyzer;
pub use config::{AnalysisConfig, Bounds, DEFAULT_MAX_EVENTS, DEFAULT_MAX_NODES};
pub use model::{
    AddressSeen, AddressSource, Alignment, Analysis, Audit, BestAddresses, CaptureInfo, CaptureWire, ClockOffset,
    Cluster, ConnectionBurst, Coverage, Damage, DialKind, Dropped, EncryptedFlow, Evidence, Finding, FindingKind,
    Generation, Hazard, HazardKind, HazardSeverity, InferredMember, Introduction, Join, Merge, MergeStory,
    MergeVerdict, NodeId, NodeSummary, Phase, Retention, Role, RoleChange, SCHEMA_VERSION, Sentence, Severity,
    SlotMove, Step, Story, Via, WhatToDo, describe,
};
pub use node_tables::view::{NodesView, ViewLine};
pub use views::annotations::{EvidenceNote, evidence_notes};
pub use views::{alerts, incident, screen, timeline};
