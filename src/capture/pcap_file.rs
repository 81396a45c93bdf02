//! Offline capture files through pcap-parser (to be written).
use super::RawPacket;
use std::fmt;
use std::path::Path;

/// A pcap or pcapng file (optionally gzip-compressed), or stdin.
pub struct CaptureFile {
    name: String,
}

/// Fatal capture errors. Every variant names the file.
#[derive(Debug)]
pub enum CaptureError {
    /// The file cannot be opened or read.
    Io {
        name: String,
        source: std::io::Error,
    },
    /// The file is not a pcap or pcapng capture (exit status 2).
    NotACapture { name: String },
    /// The file ends in the middle of a block: everything before `offset`
    /// was read.
    Truncated { name: String, offset: u64 },
    /// A block cannot be parsed at `offset` (byte offset in the decompressed
    /// stream).
    Corrupt {
        name: String,
        offset: u64,
        detail: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io { name, source } => write!(f, "{name}: {source}"),
            CaptureError::NotACapture { name } => write!(f, "{name}: not a pcap or pcapng capture"),
            CaptureError::Truncated { name, offset } => {
                write!(f, "{name}: truncated at offset {offset}")
            }
            CaptureError::Corrupt {
                name,
                offset,
                detail,
            } => write!(f, "{name}: corrupt at offset {offset}: {detail}"),
        }
    }
}

impl std::error::Error for CaptureError {}

impl CaptureFile {
    /// Opens `path` (`-` = stdin). Gzip is detected by its magic bytes, not
    /// the file name, and decompressed as a stream.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let _ = path;
        todo!("capture: open")
    }

    /// The name used in output (the path as given, `-` for stdin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Loads the next packet. `Ok(false)` at a clean end of file. After an
    /// error, further calls return `Ok(false)`.
    pub fn advance(&mut self) -> Result<bool, CaptureError> {
        todo!("capture: advance")
    }

    /// The packet loaded by the last successful `advance`.
    pub fn current(&self) -> Option<RawPacket<'_>> {
        todo!("capture: current")
    }

    /// Bytes of the (decompressed) capture consumed so far.
    pub fn offset(&self) -> u64 {
        todo!("capture: offset")
    }
}
