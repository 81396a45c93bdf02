//! Events in transit from a reading thread to the analysing one, packed.
//!
//! A message filled on one core and read on another costs the reader of
//! every cache line it spans a transfer between the cores; an owned
//! [`BusMessage`](crate::events::BusMessage) spans about 17 lines
//! scattered over the heap (the message, its gossip, its slots), read one
//! miss after another. Here a batch holds its messages in a few flat
//! arrays instead, node ids and addresses as numbers (each id crosses
//! once, when the reading thread first meets it): about 5 lines per
//! message at 30 nodes, which the analysing side reads once, in order,
//! when it opens the batch (many loads in flight at once). It then unpacks
//! each message into one [`BusEvent`](crate::events::BusEvent) it reuses,
//! so the analysis reads what it always read, from its own core's cache.
//!
//! | file | holds |
//! |---|---|
//! | `layout.rs` | [`Batch`] and its packed messages, gossip and events |
//! | `pack.rs` | [`PackSink`]: the reading thread's sink, numbering ids and addresses |
//! | `unpack.rs` | [`Unpacker`]: the analysing thread's side |

mod layout;
mod pack;
mod unpack;

pub use layout::Batch;
pub use pack::PackSink;
pub use unpack::Unpacker;
