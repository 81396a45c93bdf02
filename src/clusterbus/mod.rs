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
//!
//! Each type lives with its parser: `wire` ← `types`, `error` ←
//! `header`, `gossip`, `ping_ext` ← `message` ← `parse` ← `head` ← `framer/`.
//!
//! | file | holds |
//! |---|---|
//! | `wire.rs` | the fixed facts of the wire: [`SIGNATURE`], header and entry sizes, [`Layout`], byte helpers |
//! | `types.rs` | wire codes and fixed fields: [`MessageType`], [`NodeFlags`], [`NodeName`], [`SlotBitmap`] (and the reading thread's [`RangesCache`]) |
//! | `error.rs` | [`BusError`] (and the nom error impl) |
//! | `header.rs` | [`Header`] and its nom parsers (layouts V0, V1) |
//! | `gossip.rs` | [`GossipEntry`], [`GossipIter`] |
//! | `ping_ext.rs` | ping extensions: [`Extension`], [`ExtValue`], [`ExtIter`] |
//! | `head.rs` | [`parse_head`]: the first bytes of a message whose header was cut (short snaplen) |
//! | `message.rs` | [`Message`] and its [`Body`] |
//! | `parse.rs` | the entry points: [`probe_header`], [`parse_message`], [`parse_prefix`] |
//! | `framer/` | [`BusFramer`](framer::BusFramer): streams cut into messages, resync, its sink (table in `framer/mod.rs`) |
//!
//! This file only declares and re-exports; no file here imports a file
//! that imports it. Imports nothing outside this module.

pub mod error;
pub mod framer;
pub mod gossip;
pub mod head;
pub mod header;
pub mod message;
pub mod parse;
pub mod ping_ext;
pub mod types;
pub mod wire;

pub use error::BusError;
pub use gossip::{GossipEntry, GossipIter};
pub use head::{HEAD_LEN, parse_head};
pub use header::Header;
pub use message::{Body, Message};
pub use parse::{Probe, parse_message, parse_prefix, probe_header};
pub use ping_ext::{ExtIter, ExtValue, Extension};
pub use types::{MessageType, NodeFlags, NodeName, RangesCache, SlotBitmap};
pub use wire::{
    DEFAULT_MAX_TOTLEN, GOSSIP_ENTRY_LEN, HEADER_LEN_V0, HEADER_LEN_V1, LIGHT_HEADER_LEN, Layout, SIGNATURE,
};
