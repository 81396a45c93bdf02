//! One captured packet, link types, and the source of packets (a file or
//! an interface). Imports: `error`.

use super::error::CaptureError;

/// Anything that yields packets one at a time: a capture file or (with the
/// `live` feature) an interface.
pub trait PacketSource: Send {
    /// The name used in output (file path, `-`, or `iface:eth0`).
    fn name(&self) -> &str;
    /// Loads the next packet; `Ok(false)` at the end.
    fn advance(&mut self) -> Result<bool, CaptureError>;
    /// The packet loaded by the last successful `advance`.
    fn current(&self) -> Option<RawPacket<'_>>;
    /// Damage met on the way that did not end the source (a source made of
    /// several files goes on with the next one); taken one at a time.
    fn take_error(&mut self) -> Option<CaptureError> {
        None
    }
    /// Packets arrive as they happen (a live capture): whoever reads this
    /// source hands results on promptly rather than in big batches.
    fn is_live(&self) -> bool {
        false
    }
}

impl PacketSource for Box<dyn PacketSource> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn advance(&mut self) -> Result<bool, CaptureError> {
        (**self).advance()
    }
    fn current(&self) -> Option<RawPacket<'_>> {
        (**self).current()
    }
    fn take_error(&mut self) -> Option<CaptureError> {
        (**self).take_error()
    }
    fn is_live(&self) -> bool {
        (**self).is_live()
    }
}

/// Link-layer header type, as numbered by pcap's `LINKTYPE_*` registry.
/// A newtype, not an enum: unknown values still travel to the decoder, which
/// reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback / null: 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (v4 or v6, told by the version nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any`, older tcpdump).
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (`tcpdump -i any`, tcpdump ≥ 4.99).
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured packet as stored in the file.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'pkt> {
    /// Capture time, microseconds since the Unix epoch (UTC).
    pub ts_us: i64,
    /// 1-based packet number within its file, exactly as Wireshark numbers
    /// frames (every packet block of every section counts).
    pub frame: u64,
    /// Link type of the interface the packet was captured on.
    pub link: LinkType,
    /// Length of the packet on the wire; `data.len()` is the captured length
    /// (shorter when the capture's snaplen cut the packet).
    pub orig_len: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'pkt [u8],
}
