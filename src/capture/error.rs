//! Fatal capture errors: every variant names the file (or interface); and
//! why a filter expression cannot be used. Imports nothing.

use std::fmt;
use std::io;

/// Fatal capture errors. Every variant names the file.
#[derive(Debug)]
pub enum CaptureError {
    /// The file cannot be opened or read.
    Io { name: String, source: io::Error },
    /// The file is not a pcap or pcapng capture; `looks_like` says what
    /// its first bytes look like.
    NotACapture { name: String, looks_like: String },
    /// The file ends in the middle of a block: everything before `offset`
    /// was read.
    Truncated { name: String, offset: u64 },
    /// A block cannot be parsed at `offset` (byte offset in the decompressed
    /// stream).
    Corrupt { name: String, offset: u64, detail: String },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io { name, source } => write!(f, "{name}: {source}"),
            CaptureError::NotACapture { name, looks_like } => {
                write!(f, "{name}: not a pcap or pcapng capture ({looks_like})")
            }
            CaptureError::Truncated { name, offset } => {
                write!(f, "{name}: file truncated at byte offset {offset} (packets before it were read)")
            }
            CaptureError::Corrupt { name, offset, detail } => {
                write!(f, "{name}: corrupt data at byte offset {offset}: {detail} (packets before it were read)")
            }
        }
    }
}

/// Why a BPF filter expression cannot select packets.
#[derive(Debug)]
pub enum FilterError {
    /// libpcap rejected the expression (its message).
    Invalid { expr: String, detail: String },
    /// libpcap cannot make a filter for this link type (its message).
    Link { link: u16, detail: String },
    /// This build has no libpcap.
    NeedsLibpcap,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Invalid { expr, detail } => write!(f, "filter {expr:?}: {detail}"),
            FilterError::Link { detail, .. } => f.write_str(detail),
            FilterError::NeedsLibpcap => f.write_str(
                "a BPF filter on capture files needs libpcap: build meetgraph with `--features live` \
                 (or select with --ports / --host, which work in every build)",
            ),
        }
    }
}

impl std::error::Error for FilterError {}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io { source, .. } => Some(source),
            CaptureError::NotACapture { .. } | CaptureError::Truncated { .. } | CaptureError::Corrupt { .. } => None,
        }
    }
}
