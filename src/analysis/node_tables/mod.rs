//! The `nodes` command: each node's own cluster table kept as the servers
//! keep theirs, message by message, and printed as that node's `CLUSTER
//! NODES` at a time T. Kept only when asked (`AnalysisConfig::node_views`).
//! Node tables import the model and read the trackers (never a verdict or
//! a view: `tests/architecture.rs`).
//!
//! | file | holds |
//! |---|---|
//! | `table.rs` | one node's table: the `clusterNode` fields `CLUSTER NODES` prints (address, flags, link, ping/pong times, slots) |
//! | `instances.rs` | server instances (an id and its ports): a cloned `nodes.conf` makes two, each with its own table |
//! | `updates.rs` | every node's table, and the servers' rules that change it, message by message |
//! | `rules.rs` | which generation's rules a node's table follows (from its bytes, or `--server-version`) |
//! | `gossip.rs` | how a table takes the node's own gossip and the gossip it hears |
//! | `slot_table.rs` | one node's slot table (owner of each slot, §9i rebinding) |
//! | `view.rs` | what node X believed at time T (`CLUSTER NODES` lines in X's generation's format) |

pub mod gossip;
pub mod instances;
pub mod rules;
pub mod slot_table;
pub mod table;
pub mod updates;
pub mod view;
