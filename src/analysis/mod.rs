//! Analysis: owned events in, the story out. Pure and deterministic: no
//! I/O, no packets, no drawing; state is bounded by the number of nodes,
//! live connections and addresses, not by the capture length. May import
//! `events`, `clusterbus` (flags, slot formatting), `decode` (endpoints)
//! and `time`; never `output`, `pipeline` or `capture`.
//!
//! What it reconstructs (see `../shared/protocol/cluster-bus.md` §8–§10),
//! one room per kind of knowledge. Data flows one way: `analyzer` feeds
//! the rooms, `finish` reads them; no room imports a file that imports it.
//!
//! | room | knows |
//! |---|---|
//! | `analyzer.rs` | the facade: `new`, `push`, `finish`, `view_of`; routes each message through the rooms |
//! | `config.rs` | vantage names, `until`, evidence |
//! | `nodes.rs` | identities, addresses per vantage, generation hints |
//! | `connections.rs` | who is behind each side of every connection, held messages, short connections |
//! | `gossip.rs` | what each node heard and expects where, its view of peers, FAIL and UPDATE |
//! | `news.rs` | what learners heard, kept as numbers, and news by address |
//! | `handshakes.rs` | operator MEET commands, first answers, who answers at each address, mismatches |
//! | `identity.rs` | one id claimed by two live instances (cloned `nodes.conf`) |
//! | `introductions.rs` | first introductions (one constructor per mechanism) and merge chains |
//! | `retention.rs` | the bounds on what is kept (events per list, node ids) and what they dropped |
//! | `reuse.rs` | an address of a node that failed or left, answered by another node |
//! | `roles.rs` | debounced roles, role changes, failovers, epoch bumps |
//! | `slots.rs` | slot claims, slot moves, conflicts, configEpoch collisions |
//! | `coverage.rs` | how much of the bus could be read (TLS, snaplen cuts, nothing at all) and what that hides |
//! | `clock.rs` | capture spans and clock offsets between captures |
//! | `merge.rs` | groups over time, joins, merges, clusters before anything happened |
//! | `findings.rs` | end-of-run findings and their order |
//! | `finish.rs` | assembling the [`Analysis`] |
//! | `story.rs` | the story and one sentence per introduction |
//! | `triage.rs` | each finding's phase and severity; what counts as damage |
//! | `node_table.rs` | one node's own cluster table as the capture shows it (address, flags, link, ping/pong times, slots) |
//! | `node_updates.rs` | the servers' rules that change those tables, message by message |
//! | `node_gossip.rs` | how a node's table takes its own and heard gossip |
//! | `slot_table.rs` | one node's slot table (owner of each slot, §9i rebinding) |
//! | `nodes_view.rs` | what node X believed at time T (`CLUSTER NODES` lines in X's generation's format) |
//! | `annotations.rs` | what each evidence packet proves, in words (chain steps, findings), for `--annotate` |
//! | [`timeline`] | chart-ready data computed from an [`Analysis`] |
//! | [`model`] | the result types (the JSON schema) |
//! | `kinds.rs` | the closed sets of the schema: `Via`, `FindingKind`, `Severity`, `Phase`, `Role`, … |

pub mod alerts;
mod analyzer;
mod annotations;
mod clock;
mod config;
mod connections;
mod coverage;
mod findings;
mod finish;
mod gossip;
mod handshakes;
mod identity;
mod introductions;
mod kinds;
mod merge;
pub mod model;
mod news;
mod node_gossip;
mod node_table;
mod node_updates;
mod nodes;
mod nodes_view;
mod retention;
mod reuse;
mod roles;
mod slot_table;
mod slots;
mod story;
pub mod timeline;
mod triage;

pub use analyzer::Analyzer;
pub use annotations::{EvidenceNote, evidence_notes};
pub use config::AnalysisConfig;
pub use model::*;
pub use nodes_view::{NodesView, ViewLine};
pub use retention::{Bounds, DEFAULT_MAX_EVENTS, DEFAULT_MAX_NODES};
pub use story::{BestAddresses, describe};
