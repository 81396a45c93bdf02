//! One capture's chain: decode → reassembly → framer, with the counters
//! `dump --stats` prints. Messages and anomalies go, borrowed, to a
//! [`BusSink`]; nothing here prints. Reading several inputs together (in
//! capture-time order, on one thread or several) is [`crate::run`]'s.
//!
//! | file | holds |
//! |---|---|
//! | `sink.rs` | the contract: [`BusSink`] and what it receives ([`MessageMeta`], [`StreamEnd`], [`CommandMeta`]) |
//! | `anomaly.rs` | [`Anomaly`] and [`AnomalyKind`]: irregularities counted and told, not errors, and their names |
//! | `driver.rs` | [`Pipeline`]: each packet through decode, the port and host filters and reassembly; [`PipelineConfig`] |
//! | `classify.rs` | per TCP direction: cluster bus (framed), TLS (told once) or RESP (`CLUSTER` commands) |
//! | `learn.rs` | what a live capture's auto filter learns of the bus from the chain |
//! | `stats.rs` | [`CaptureStats`]: one capture's counters |
//! | `input.rs` | [`Input`]: a packet source, its pipeline and its clock shift |

mod anomaly;
mod classify;
mod driver;
mod input;
mod learn;
mod sink;
mod stats;

/// Re-exported for the outputs: what a capture's packets were carried in.
pub use crate::decode::{Tunnel, TunnelKind, TunnelStats};
pub use anomaly::{Anomaly, AnomalyKind};
pub use driver::{Pipeline, PipelineConfig, PortFilter};
pub use input::Input;
pub use sink::{BusSink, BusStart, CommandMeta, MessageMeta, StreamEnd};
pub use stats::CaptureStats;
