//! The byte streams under a capture file's parser: a file whose reads are
//! counted ([`BytesRead`]), a stream that remembers its first error and
//! where ([`Traced`]), and what such an error, or a file that is no
//! capture, is told as. Imports: `error`.

use super::error::CaptureError;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What failed under the reader (pcap-parser keeps only "read error"):
/// bytes delivered before it, the error kind and message, gzip or not.
pub(super) type ReadTrace = std::sync::Arc<std::sync::Mutex<Option<(u64, io::ErrorKind, String)>>>;

/// A reader that remembers its first error and where it happened.
pub(super) struct Traced<R> {
    pub(super) inner: R,
    pub(super) at: u64,
    pub(super) trace: ReadTrace,
}

impl<R: Read> Read for Traced<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.at += n as u64;
                Ok(n)
            }
            Err(e) => {
                if let Ok(mut t) = self.trace.lock() {
                    t.get_or_insert((self.at, e.kind(), e.to_string()));
                }
                Err(e)
            }
        }
    }
}

/// The error for a read that failed: a damaged or cut gzip stream is said
/// so, with the offset in the decompressed capture.
pub(super) fn read_failure(name: String, gzip: bool, trace: &ReadTrace) -> CaptureError {
    let seen = trace.lock().ok().and_then(|t| t.clone());
    match seen {
        Some((offset, io::ErrorKind::UnexpectedEof, _)) if gzip => CaptureError::Truncated { name, offset },
        Some((offset, _, msg)) if gzip => {
            CaptureError::Corrupt { name, offset, detail: format!("gzip data damaged ({msg})") }
        }
        Some((_, kind, msg)) => CaptureError::Io { name, source: io::Error::new(kind, msg) },
        None => CaptureError::Io { name, source: io::Error::other("read error") },
    }
}

/// What a file that is not a capture looks like, from its first bytes.
pub(super) fn looks_like(b: &[u8], gzip: bool) -> String {
    let z = if gzip { "gzip-compressed " } else { "" };
    let known: [(&[u8], &str); 8] = [
        (b"\x89PNG", "a PNG image"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a zip archive"),
        (b"\x7fELF", "an executable (ELF)"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed data (decompress it first)"),
        (b"BZh", "bzip2-compressed data (decompress it first)"),
        (b"\xfd7zXZ", "xz-compressed data (decompress it first)"),
        (b"<?xml", "XML"),
    ];
    if b.is_empty() {
        return format!("it is {z}empty");
    }
    if let Some((_, what)) = known.iter().find(|(m, _)| b.starts_with(m)) {
        return format!("it looks like {z}{what}");
    }
    if b.get(257..262) == Some(b"ustar") {
        return format!("it looks like a {z}tar archive (extract the capture first)");
    }
    // Text, possibly with a character cut by the end of the prefix.
    let text = match std::str::from_utf8(b) {
        Ok(t) => Some(t),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&b[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    if let Some(t) = text
        && t.chars().all(|c| !c.is_control() || c.is_ascii_whitespace())
    {
        let line = t.lines().next().unwrap_or("").chars().take(40).collect::<String>();
        return format!("it looks like {z}text: {line:?}");
    }
    let hex: Vec<String> = b.iter().take(8).map(|x| format!("{x:02x}")).collect();
    format!("it starts with {z}bytes {}", hex.join(" "))
}

/// Bytes read from capture files (compressed bytes for gzip), counted as
/// they are read: one relaxed addition per read call. Clones count into
/// the same total, so a progress bar can watch the files a run reads.
#[derive(Clone, Debug, Default)]
pub struct BytesRead(Arc<AtomicU64>);

impl BytesRead {
    /// The bytes read so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A file whose reads are counted.
pub(super) struct Counted(pub(super) File, pub(super) BytesRead);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        (self.1).0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
