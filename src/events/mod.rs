//! Owned events: what the analysis consumes. The borrowed parse of each
//! message is turned into a compact owned [`BusEvent`] here (this is where
//! zero-copy ends), so analysis never holds capture buffers.
//!
//! | file | holds |
//! |---|---|
//! | `event.rs` | [`BusEvent`], [`EventKind`], [`Link`]: what happened, where and when |
//! | `message.rs` | [`BusMessage`], [`Gossip`], [`SlotRanges`]: one message, owned and compact |
//! | `fill.rs` | [`to_owned_message`], [`fill_owned_message`]: a borrowed message made owned |
//! | `sink.rs` | [`EventSink`]: the pipeline's sink that hands owned events to a closure |
//! | `fingerprint.rs` | [`fingerprint`]: what identifies one message whichever capture saw it |
//! | `node.rs` | [`NodeId`], [`NodeAddr`], [`IpText`] |
//! | `numbered.rs` | numbers for node ids and addresses, shared by both sides of the reading threads |
//!
//! This file only declares and re-exports (and [`AnomalyKind`] from the
//! pipeline, which names the anomalies an [`EventKind::Anomaly`] carries).

mod event;
mod fill;
mod fingerprint;
mod message;
mod node;
pub mod numbered;
mod sink;

/// The kinds of anomaly an [`EventKind::Anomaly`] carries.
pub use crate::pipeline::AnomalyKind;
/// Why a stream direction ended (an [`EventKind::StreamEnd`]); a node table
/// ends a link on a FIN or RST, not at the end of the capture.
pub use crate::reassembly::CloseReason;
pub use event::{BusEvent, EventKind, Link};
pub use fill::{fill_owned_head, fill_owned_message, to_owned_message};
pub use fingerprint::fingerprint;
pub use message::{BusMessage, Gossip, SlotRanges};
pub use node::{IpText, IpTexts, NodeAddr, NodeId};
pub use sink::EventSink;

#[cfg(test)]
pub(crate) use fill::tests::each_sample;
