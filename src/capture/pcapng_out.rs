//! A pcapng section written block by block, with the options Wireshark
//! shows: the section's comments and writing application, each
//! interface's name, description and snaplen, each packet's comments
//! (`frame.comment`). Times are microseconds (the default `if_tsresol`).
//! Imports: `packet`.

use super::packet::Interface;
use std::io::{self, Write};

/// Block types (pcapng §4).
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
/// Option codes.
const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
/// The longest option value (its length is a u16).
const MAX_OPTION: usize = u16::MAX as usize;

/// A block: type, total length, body padded to 32 bits, total length.
pub(super) fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let len = 12 + body.len().div_ceil(4) * 4;
    let mut w = Vec::with_capacity(len);
    w.extend_from_slice(&kind.to_le_bytes());
    w.extend_from_slice(&(len as u32).to_le_bytes());
    w.extend_from_slice(body);
    w.resize(w.len() + (4 - body.len() % 4) % 4, 0);
    w.extend_from_slice(&(len as u32).to_le_bytes());
    w
}

/// Appends one option (a UTF-8 value longer than an option holds is cut
/// at a character boundary).
fn option(body: &mut Vec<u8>, code: u16, value: &str) {
    let mut end = value.len().min(MAX_OPTION);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let v = &value.as_bytes()[..end];
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(v.len() as u16).to_le_bytes());
    body.extend_from_slice(v);
    body.resize(body.len() + (4 - v.len() % 4) % 4, 0);
}

/// Appends the options and their end marker (nothing when there are none).
fn options<'a>(body: &mut Vec<u8>, opts: impl IntoIterator<Item = (u16, &'a str)>) {
    let start = body.len();
    for (code, value) in opts {
        option(body, code, value);
    }
    if body.len() > start {
        body.extend_from_slice(&OPT_ENDOFOPT.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
    }
}

/// One pcapng section: the header, then interfaces and packets.
pub struct PcapngOut<W: Write> {
    out: W,
    interfaces: u32,
    /// Reused for every block.
    body: Vec<u8>,
}

impl<W: Write> PcapngOut<W> {
    /// Writes the section header, with `comments` and the application
    /// that wrote it.
    pub fn new(mut out: W, comments: &[&str], application: &str) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        let opts = comments.iter().map(|c| (OPT_COMMENT, *c)).chain([(SHB_USERAPPL, application)]);
        options(&mut body, opts);
        out.write_all(&block(SHB, &body))?;
        Ok(PcapngOut { out, interfaces: 0, body: Vec::with_capacity(1 << 16) })
    }

    /// Declares an interface; its id for [`PcapngOut::packet`].
    pub fn interface(&mut self, iface: &Interface) -> io::Result<u32> {
        let mut body = Vec::new();
        body.extend_from_slice(&iface.link.0.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&iface.snaplen.to_le_bytes());
        let name = iface.name.as_deref().map(|n| (IF_NAME, n));
        let description = iface.description.as_deref().map(|d| (IF_DESCRIPTION, d));
        options(&mut body, name.into_iter().chain(description));
        self.out.write_all(&block(IDB, &body))?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one packet captured at `ts_us` (a time before the epoch is
    /// written as the epoch) on `interface`, with its comments.
    pub fn packet(
        &mut self,
        interface: u32,
        ts_us: i64,
        orig_len: u32,
        data: &[u8],
        comments: &[String],
    ) -> io::Result<()> {
        let ts = ts_us.max(0) as u64;
        let b = &mut self.body;
        b.clear();
        b.extend_from_slice(&interface.to_le_bytes());
        b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b.resize(b.len() + (4 - data.len() % 4) % 4, 0);
        options(b, comments.iter().map(|c| (OPT_COMMENT, c.as_str())));
        let len = (12 + b.len()) as u32;
        self.out.write_all(&EPB.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(b)?;
        self.out.write_all(&len.to_le_bytes())
    }

    /// The underlying writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFile, LinkType};

    /// What is written reads back: interfaces, times, lengths and bytes.
    #[test]
    fn a_written_section_reads_back() {
        let mut w = PcapngOut::new(Vec::new(), &["story"], "test").unwrap();
        let eth = Interface { link: LinkType::ETHERNET, snaplen: 96, name: Some("a:eth0".into()), description: None };
        let raw = Interface { link: LinkType::RAW, snaplen: 0, name: None, description: Some("é".repeat(40_000)) };
        assert_eq!((w.interface(&eth).unwrap(), w.interface(&raw).unwrap()), (0, 1));
        w.packet(1, 1_700_000_000_123_456, 60, &[0x45; 5], &["x".repeat(70_000)]).unwrap();
        w.packet(0, -5, 3, &[1, 2, 3], &[]).unwrap();
        let bytes = w.finish().unwrap();
        let mut f = CaptureFile::from_reader("t".into(), Box::new(std::io::Cursor::new(bytes))).unwrap();
        assert!(f.advance().unwrap());
        let p = f.current().unwrap();
        assert_eq!((p.ts_us, p.link, p.orig_len, p.data), (1_700_000_000_123_456, LinkType::RAW, 60, &[0x45u8; 5][..]));
        let o = f.origin().unwrap();
        assert_eq!(
            (o.interface, o.described.description.as_ref().map(|d| d.len() <= MAX_OPTION)),
            (Some(1), Some(true))
        );
        assert!(f.advance().unwrap());
        let o = f.origin().unwrap();
        assert_eq!((o.frame, o.described, f.current().unwrap().ts_us), (2, &eth, 0));
        assert!(!f.advance().unwrap());
    }
}
