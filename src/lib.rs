//! meetgraph: a forensic analyzer for the Redis / Valkey Cluster bus.
//!
//! Layers, each knowing only the ones above it in this table
//! (`tests/architecture.rs` checks that no file imports a file that
//! imports it):
//!
//! | module | holds | may import |
//! |---|---|---|
//! | [`capture`] | pcap / pcapng / gzip readers, live capture (`live`), pcapng writers (`-w`, `--annotate`) | – |
//! | [`decode`] | link, IP and TCP headers → segments, inside tunnels (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP, MPLS) | `capture` |
//! | [`reassembly`] | per-direction TCP streams, gaps, caps | `decode` |
//! | [`clusterbus`] | the nom parser of bus messages and the framer that cuts streams into them | – |
//! | [`resp`] | `CLUSTER` commands sniffed on data ports | – |
//! | [`time`] | UTC text (formatting and parsing); capture clocks (`time::clocks`: alignment, offsets between captures) | – |
//! | [`pipeline`] | one capture's chain: decode → reassembly → framer, its sink contract and counters | `capture`, `decode`, `reassembly`, `clusterbus`, `resp` |
//! | [`events`] | owned, compact events (zero-copy ends here), `NodeId`; re-exports `AnomalyKind` from `pipeline` | `clusterbus`, `decode`, `reassembly`, `pipeline` |
//! | [`vantage`] | which files are one capture point; clock offsets (first pass) | `capture`, `decode`, `clusterbus`, `pipeline`, `events`, `time` |
//! | [`analysis`] | the story: nodes, introductions, merges, findings | `events`, `clusterbus`, `decode`, `time` |
//! | [`output`] | report, JSON, dump, chart, DOT, Mermaid, HTML, `watch` lines, metrics, the Wireshark dissector, `--annotate`'s comments (formatting only) | `analysis`, `pipeline`, `clusterbus`, `time` |
//! | [`run`] | driving captures: the time merges, reading threads, opening a vantage plan, `watch`, the replay of `--annotate` | `capture`, `clusterbus`, `pipeline`, `vantage`, `events`, `analysis` |
//! | [`error`] | the error a command ends with, and its exit status | `capture`, `output`, `run` |
//!
//! The binary wires them: `src/main.rs` (exit status), `src/cli.rs` (the
//! raw flags), `src/app/` (the flags checked into one `Config`, the inputs
//! opened, live capture, one file per subcommand under `app/cmd/`).

#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod clusterbus;
pub mod decode;
pub mod error;
pub mod events;
pub mod output;
pub mod pipeline;
pub mod reassembly;
pub mod resp;
pub mod run;
pub mod time;
pub mod vantage;
