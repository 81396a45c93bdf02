//! The Redis / Valkey cluster-bus parser (nom), zero-copy: every
//! [`Message`] borrows from the buffer it was parsed from.
//!
//! Two entry points, both pure:
//! - [`probe_header`] looks at the first bytes of a candidate message and
//!   says whether it is a plausible header (used to frame streams and to
//!   resynchronise after gaps or mid-stream starts);
//! - [`parse_message`] decodes exactly `totlen` bytes into a [`Message`].
//!
//! The stateful [`framer`] cuts reassembled streams into messages.

pub mod error;
pub mod framer;
pub mod gossip;
pub mod header;
pub mod message;
pub mod parse;
pub mod ping_ext;
pub mod types;

pub use error::BusError;
pub use message::{Body, ExtValue, Extension, GossipEntry, Header, Layout, Message};
pub use parse::{Probe, parse_message, probe_header};
pub use types::{MessageType, NodeFlags, NodeName, SlotBitmap};

/// wire: sig
pub const SIGNATURE: &[u8; 4] = b"RCmb";
/// Header size of layout V0 (Redis 3.x).
pub const HEADER_LEN_V0: usize = 2208;
/// Header size of layout V1 (Redis 4.0+, Valkey).
pub const HEADER_LEN_V1: usize = 2256;
/// Light header size (Valkey 8+).
pub const LIGHT_HEADER_LEN: usize = 16;
/// Size of one gossip entry in every version.
pub const GOSSIP_ENTRY_LEN: usize = 104;
/// Largest `totlen` the framer accepts by default. Real PING/PONG/MEET stay
/// far below (1000 nodes ≈ 110 KB); PUBLISH can be larger, and anything
/// bigger is skipped without buffering.
pub const DEFAULT_MAX_TOTLEN: u32 = 64 * 1024 * 1024;
