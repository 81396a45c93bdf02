//! Capture layer: packets from capture files (pcap, pcapng; gzip-compressed or
//! not; `-` for stdin) and, with the `live` cargo feature, from a host
//! interface through libpcap.
//!
//! A [`RawPacket`] borrows its bytes from the reader's buffer; the next call
//! to `advance` invalidates it. Nothing here knows about IP or TCP.
//!
//! | file | holds |
//! |---|---|
//! | `packet.rs` | [`RawPacket`], [`LinkType`], the [`PacketSource`] trait, a packet's [`Origin`] and [`Interface`] |
//! | `pcap_file.rs` | [`CaptureFile`]: pcap / pcapng files, gzip or not, stdin |
//! | `byte_stream.rs` | [`BytesRead`]: a file's reads counted; the first read error kept and told |
//! | `live.rs`, `live/outage.rs` | `LiveCapture`: libpcap on an interface, outages waited out (feature `live`) |
//! | `multi_live.rs` | `MultiLive`: several interfaces read as one (feature `live`) |
//! | `link.rs` | `LinkState`, `Links`: whether interfaces are up (asking the kernel: feature `live`), who is told of changes |
//! | `autofilter/` | [`BusLearning`] and the kernel filter a live capture narrows itself to |
//! | `read_ahead.rs` | `ReadAhead`, [`Helper`]: a capture file read ahead on another thread's idle time |
//! | `select.rs` | [`SelectSpec`], [`Bpf`]: tcpdump's filter expression and `-c` on any source |
//! | `pcapng_out.rs` | [`PcapngOut`]: a pcapng section with comments, named interfaces and commented packets (`analyze --annotate`) |
//! | `save.rs` | [`PcapngWriter`], [`Saved`]: a live capture saved as it is read (`-w`, `-C`, `-W`) |
//! | `error.rs` | [`CaptureError`], [`FilterError`] |
//!
//! This file only declares and re-exports. Imports nothing of the crate.

pub mod autofilter;
mod byte_stream;
pub mod error;
pub mod link;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
pub mod multi_live;
pub mod packet;
pub mod pcap_file;
pub mod pcapng_out;
pub mod read_ahead;
pub mod save;
pub mod select;

pub use autofilter::{BusLearning, Learned};
pub use byte_stream::BytesRead;
pub use error::{CaptureError, FilterError};
pub use link::{LinkChange, LinkEvent, LinkStatus, Links};
#[cfg(feature = "live")]
pub use live::{LiveCapture, LiveOptions};
#[cfg(feature = "live")]
pub use multi_live::MultiLive;
pub use packet::{Interface, LinkType, Origin, PacketSource, RawPacket};
pub use pcap_file::CaptureFile;
pub use pcapng_out::PcapngOut;
pub use read_ahead::Helper;
pub use save::{PcapngWriter, SaveOptions, Saved};
pub use select::{Bpf, Select, SelectSpec};
