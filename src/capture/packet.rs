//! One captured packet, link types, and the source of packets (a file or
//! an interface). Imports: `error`, `read_ahead`.

use super::error::CaptureError;
use super::read_ahead::Helper;

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
    /// Where the loaded packet sits in the files it was read from (`None`:
    /// not from a file, or not known).
    fn origin(&self) -> Option<Origin<'_>> {
        None
    }
    /// A handle another thread can read this source's file ahead with,
    /// while it waits for this source's packets (a regular file's).
    fn read_ahead(&self) -> Option<Helper> {
        None
    }
}

/// An interface as the capture file describes it: the pcap file header,
/// or a pcapng Interface Description Block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkType,
    /// Bytes kept of each packet (0: no limit given).
    pub snaplen: u32,
    /// `if_name` (pcapng).
    pub name: Option<String>,
    /// `if_description` (pcapng).
    pub description: Option<String>,
}

impl Interface {
    /// What a packet block that names no declared interface is read on.
    pub const UNDECLARED: Interface = Interface { link: LinkType(u16::MAX), snaplen: 0, name: None, description: None };
}

/// Where a packet was read: the file of its source (0, or its position in
/// a rotated capture), its frame number in that file as Wireshark numbers
/// it, and its interface there (numbered across the file's sections, in
/// order of appearance; `None`: the packet block names an interface the
/// file never declared).
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    pub file: usize,
    pub frame: u64,
    pub interface: Option<usize>,
    pub described: &'a Interface,
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
    fn read_ahead(&self) -> Option<Helper> {
        (**self).read_ahead()
    }
    fn origin(&self) -> Option<Origin<'_>> {
        (**self).origin()
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

    /// The link types meetgraph decodes.
    pub const SUPPORTED: &'static str = "Ethernet, Linux cooked (SLL, SLL2), BSD loopback (NULL, LOOP) and raw IP";

    /// The name tcpdump and libpcap give the link type (`DLT_` without the
    /// prefix, as `tcpdump -L` prints it), for the common ones.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NULL",
            1 => "EN10MB",
            6 => "IEEE802",
            8 => "SLIP",
            9 => "PPP",
            10 => "FDDI",
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            101 => "RAW",
            104 => "C_HDLC",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            119 => "PRISM_HEADER",
            127 => "IEEE802_11_RADIO",
            139 => "MTP2_WITH_PHDR",
            143 => "DOCSIS",
            147..=162 => return USER.get(usize::from(self.0 - 147)).copied(),
            163 => "IEEE802_11_RADIO_AVS",
            187 => "BLUETOOTH_HCI_H4",
            189 => "USB_LINUX",
            192 => "PPI",
            195 => "IEEE802_15_4",
            201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
            220 => "USB_LINUX_MMAPPED",
            227 => "CAN_SOCKETCAN",
            228 => "IPV4",
            229 => "IPV6",
            239 => "NFLOG",
            249 => "USBPCAP",
            276 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

/// `DLT_USER0` … `DLT_USER15` (147–162).
const USER: [&str; 16] = [
    "USER0", "USER1", "USER2", "USER3", "USER4", "USER5", "USER6", "USER7", "USER8", "USER9", "USER10", "USER11",
    "USER12", "USER13", "USER14", "USER15",
];

impl std::fmt::Display for LinkType {
    /// `IEEE802_11_RADIO (127)`, or the number alone when unnamed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
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
