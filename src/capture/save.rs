//! Saving what a live capture read (`-w FILE`, tcpdump's habit): pcapng
//! with one interface block per link type, microsecond times, rotated at
//! `-C` megabytes into FILE, FILE1, FILE2 … and, with `-W N`, a ring of N
//! files. Every packet is written through before the next is read, so the
//! file is complete whenever the capture stops.

use super::error::CaptureError;
use super::packet::{Origin, PacketSource, RawPacket};
use super::pcapng_out::block;
use std::io::Write;
use std::path::PathBuf;

/// Where and how to save.
#[derive(Clone, Debug)]
pub struct SaveOptions {
    pub path: PathBuf,
    /// Rotate after this many bytes (`-C` megabytes × 1,000,000).
    pub rotate_bytes: Option<u64>,
    /// Keep at most this many files (`-W`), overwriting the oldest.
    pub files: Option<u32>,
}

/// A pcapng stream: a section header, then one interface block per link
/// type as it first appears, then enhanced packet blocks (µs times).
pub struct PcapngWriter<W: Write> {
    out: W,
    links: Vec<u16>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        out.write_all(&block(0x0A0D_0D0A, &shb))?;
        Ok(PcapngWriter { out, links: Vec::new() })
    }

    /// Writes one packet (and its interface block the first time its link
    /// type appears); returns the bytes written.
    pub fn write(&mut self, p: &RawPacket<'_>) -> std::io::Result<u64> {
        let mut bytes = Vec::new();
        let iface = match self.links.iter().position(|l| *l == p.link.0) {
            Some(i) => i,
            None => {
                let mut idb = Vec::new();
                idb.extend_from_slice(&p.link.0.to_le_bytes());
                idb.extend_from_slice(&0u16.to_le_bytes());
                idb.extend_from_slice(&0u32.to_le_bytes());
                bytes.extend(block(1, &idb));
                self.links.push(p.link.0);
                self.links.len() - 1
            }
        };
        let ts = p.ts_us as u64;
        let mut epb = Vec::with_capacity(20 + p.data.len());
        epb.extend_from_slice(&(iface as u32).to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&p.orig_len.to_le_bytes());
        epb.extend_from_slice(p.data);
        bytes.extend(block(6, &epb));
        self.out.write_all(&bytes)?;
        Ok(bytes.len() as u64)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

struct Writer {
    opts: SaveOptions,
    out: Option<PcapngWriter<std::io::BufWriter<std::fs::File>>>,
    written: u64,
    index: u32,
}

impl Writer {
    fn path(&self) -> PathBuf {
        if self.index == 0 {
            return self.opts.path.clone();
        }
        let mut p = self.opts.path.clone().into_os_string();
        p.push(self.index.to_string());
        p.into()
    }

    fn io(&self, e: std::io::Error) -> CaptureError {
        CaptureError::Io { name: self.path().display().to_string(), source: e }
    }

    fn open(&mut self) -> Result<(), CaptureError> {
        let f = std::fs::File::create(self.path()).map_err(|e| self.io(e))?;
        let out = PcapngWriter::new(std::io::BufWriter::new(f)).map_err(|e| self.io(e))?;
        self.written = 28;
        self.out = Some(out);
        Ok(())
    }

    fn write(&mut self, p: &RawPacket<'_>) -> Result<(), CaptureError> {
        let full = self.opts.rotate_bytes.is_some_and(|r| self.written >= r);
        if self.out.is_none() || full {
            if full {
                if let Some(mut o) = self.out.take() {
                    o.flush().map_err(|e| self.io(e))?;
                }
                self.index += 1;
                if self.opts.files.is_some_and(|n| self.index >= n) {
                    self.index = 0;
                }
            }
            self.open()?;
        }
        let Some(out) = self.out.as_mut() else { return Ok(()) };
        let r = out.write(p).and_then(|n| out.flush().map(|_| n));
        self.written += r.map_err(|e| self.io(e))?;
        Ok(())
    }
}

/// A source whose packets are also saved.
pub struct Saved<S> {
    inner: S,
    writer: Writer,
    error: Option<CaptureError>,
}

impl<S: PacketSource> Saved<S> {
    /// Creates the first file at once (an unwritable path is an error before
    /// the capture starts).
    pub fn new(inner: S, opts: SaveOptions) -> Result<Self, CaptureError> {
        let mut writer = Writer { opts, out: None, written: 0, index: 0 };
        writer.open()?;
        Ok(Saved { inner, writer, error: None })
    }
}

impl<S: PacketSource> PacketSource for Saved<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    fn advance(&mut self) -> Result<bool, CaptureError> {
        let more = self.inner.advance()?;
        if more
            && self.error.is_none()
            && let Some(p) = self.inner.current()
            && let Err(e) = self.writer.write(&p)
        {
            // Saving failed (disk full): the analysis goes on; the error is
            // reported at the end.
            self.error = Some(e);
        }
        Ok(more)
    }

    fn current(&self) -> Option<RawPacket<'_>> {
        self.inner.current()
    }

    fn take_error(&mut self) -> Option<CaptureError> {
        self.inner.take_error().or_else(|| self.error.take())
    }

    fn origin(&self) -> Option<Origin<'_>> {
        self.inner.origin()
    }
}
