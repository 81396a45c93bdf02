//! Several files of one vantage (a rotated capture) read as one source, so
//! TCP streams continue across the file boundaries. Frame numbers run on
//! across files; `AnalysisConfig::evidence` turns them back into (file,
//! Wireshark frame) with the plan's `frame_bases`.

use crate::capture::{BytesRead, CaptureError, CaptureFile, Origin, PacketSource, RawPacket};
use std::path::PathBuf;

pub struct ChainSource {
    name: String,
    files: Vec<PathBuf>,
    /// Where the files' reads are counted.
    bytes_read: BytesRead,
    next: usize,
    current: Option<CaptureFile>,
    /// Frames of the files already finished.
    base: u64,
    /// Last frame number of the current file.
    read: u64,
    /// Damage met in a file; reading went on with the next one.
    errors: Vec<CaptureError>,
}

impl ChainSource {
    /// The files, in reading order, their reads counted in `bytes_read`.
    pub fn new(name: String, files: Vec<PathBuf>, bytes_read: BytesRead) -> Self {
        ChainSource { name, files, bytes_read, next: 0, current: None, base: 0, read: 0, errors: Vec::new() }
    }
}

impl PacketSource for ChainSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn advance(&mut self) -> Result<bool, CaptureError> {
        loop {
            if let Some(f) = &mut self.current {
                match f.advance() {
                    Ok(true) => {
                        self.read = f.current().map_or(self.read, |p| p.frame);
                        return Ok(true);
                    }
                    Ok(false) => {}
                    Err(e) => self.errors.push(e),
                }
                self.current = None;
                self.base += self.read;
                self.read = 0;
            }
            let Some(path) = self.files.get(self.next) else { return Ok(false) };
            self.next += 1;
            match CaptureFile::open_counted(path, &self.bytes_read) {
                Ok(f) => self.current = Some(f),
                Err(e) => self.errors.push(e),
            }
        }
    }

    fn current(&self) -> Option<RawPacket<'_>> {
        let p = self.current.as_ref()?.current()?;
        Some(RawPacket { frame: self.base + p.frame, ..p })
    }

    /// The file is the current one's position in the chain; frames are
    /// the file's own.
    fn origin(&self) -> Option<Origin<'_>> {
        let o = self.current.as_ref()?.origin()?;
        Some(Origin { file: self.next.saturating_sub(1), ..o })
    }

    fn take_error(&mut self) -> Option<CaptureError> {
        if self.errors.is_empty() { None } else { Some(self.errors.remove(0)) }
    }
}
