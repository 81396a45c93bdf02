//! Capture layer: packets from capture files (pcap, pcapng; gzip-compressed or
//! not; `-` for stdin) and, with the `live` cargo feature, from a host
//! interface through libpcap.
//!
//! A [`RawPacket`] borrows its bytes from the reader's buffer; the next call
//! to `advance` invalidates it. Nothing here knows about IP or TCP.

//!
//! Files: `error.rs`, `packet.rs` ([`RawPacket`], [`LinkType`], [`PacketSource`]),
//! `pcap_file.rs` (files), `live.rs` (libpcap). This file only declares and
//! re-exports. Imports nothing of the crate.

pub mod error;
#[cfg(feature = "live")]
pub mod live;
pub mod packet;
pub mod pcap_file;
pub mod save;
pub mod select;

pub use error::CaptureError;
#[cfg(feature = "live")]
pub use live::{LiveCapture, LiveOptions, MultiLive};
pub use packet::{LinkType, PacketSource, RawPacket};
pub use pcap_file::CaptureFile;
pub use save::{PcapngWriter, SaveOptions, Saved};
pub use select::{Bpf, Select, SelectSpec};
