//! TCP reassembly: turns decoded segments into ordered byte streams, one per
//! direction of each connection, and tells the consumer about gaps.
//!
//! Overlap policy, *first wins*: the first bytes captured for
//! a stream offset are the ones delivered; retransmitted or overlapping
//! bytes that arrive later are dropped (among queued out-of-order segments
//! that overlap each other, the one starting first wins). Duplicate packets (the same segment
//! captured twice by `tcpdump -i any`, on a veth and on a bridge) are
//! therefore harmless.
//!
//! Connections that began before the capture (no SYN seen) start at the first
//! data segment and are marked `midstream`, so the consumer knows it must
//! find message boundaries itself. A hole in the sequence space becomes a
//! [`GapReason`]-tagged gap once it is known to be lost: the peer
//! acknowledged bytes the capture never saw, the snaplen cut the packet, a
//! buffer cap was hit, or the connection ended or went idle with the hole
//! still open. Memory stays bounded by per-stream and global caps on
//! out-of-order bytes and by idle eviction.
//!
//! | file | holds |
//! |---|---|
//! | `stream.rs` | what a consumer receives: [`StreamConsumer`], [`ChunkMeta`], [`GapReason`], [`CloseReason`] |
//! | `table.rs` | [`Reassembler`], [`ReassemblyConfig`]: the connections, SYN/FIN/RST, caps, eviction |
//! | `half_stream.rs` | `HalfStream`: one direction, where each segment goes, its end |
//! | `holes.rs` | when a hole in a direction's out-of-order queue becomes a gap |
//! | `stats.rs` | [`ReassemblyStats`]: the counters |
//!
//! This file only declares and re-exports. Imports: `decode`.

mod half_stream;
mod holes;
mod stats;
mod stream;
mod table;

pub use stats::ReassemblyStats;
pub use stream::{ChunkMeta, CloseReason, GapReason, StreamConsumer};
pub use table::{Reassembler, ReassemblyConfig};
