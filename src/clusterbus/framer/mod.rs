//! The framer: cuts one direction of a reassembled TCP stream into
//! cluster-bus messages, whatever the chunking, and finds its way back
//! after gaps and mid-stream starts.
//!
//! | file | holds |
//! |---|---|
//! | `bus_framer.rs` | [`BusFramer`]: the per-direction state machine (feed, gap, finish), [`FramerConfig`], [`StreamKind`] |
//! | `synced.rs` | aligned on a message: signature and `totlen` checks, zero-copy parse, messages that span packets |
//! | `hunt.rs` | out of sync: the scan for the next plausible header |
//! | `pool.rs` | the per-thread pool of buffers for messages that span packets |
//! | `sink.rs` | what the framer reports: [`FrameSink`], [`FrameInfo`], [`FrameAnomaly`] |
//!
//! This file only declares and re-exports.

mod bus_framer;
mod hunt;
mod pool;
mod sink;
mod synced;

pub use bus_framer::{BusFramer, FramerConfig, StreamKind};
pub use sink::{FrameAnomaly, FrameInfo, FrameSink};
