//! Offline capture files through pcap-parser: pcap (µs and ns, both byte
//! orders) and pcapng (several sections and interfaces, per-interface link
//! type, `if_tsresol` and `if_tsoffset`). Gzip is recognised by its magic
//! bytes and decompressed as a stream. Packets are handed out without
//! copying: [`CaptureFile::current`] borrows the reader's buffer until the
//! next [`CaptureFile::advance`].

use super::byte_stream::{BytesRead, Counted, ReadTrace, Traced, looks_like, read_failure};
use super::error::CaptureError;
use super::packet::{Interface, LinkType, Origin, PacketSource, RawPacket};
use super::read_ahead::{Helper, ReadAhead};
use flate2::read::MultiGzDecoder;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;

/// Initial reader buffer; grows (up to [`MAX_BLOCK`]) for larger blocks.
/// Small enough that what the kernel copies into it is still in the
/// core's cache when the packets are decoded (1 MiB took 12% longer to
/// analyse a 636 MB capture than 256 KiB).
const INITIAL_BUFFER: usize = 1 << 18;
/// Largest block accepted.
const MAX_BLOCK: usize = 64 << 20;

/// One pcapng interface of the current section: how its packets are read.
#[derive(Clone, Copy, Debug)]
struct IfaceClock {
    link: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp.
    offset_s: i64,
    /// Its place in [`FormatState::described`].
    index: usize,
}

/// The index of a packet block's interface that was never declared.
const UNDECLARED: usize = usize::MAX;

/// The packet loaded by `advance`: where its bytes sit in the reader's
/// buffer, and its metadata.
#[derive(Clone, Copy, Debug)]
struct Current {
    start: usize,
    len: usize,
    ts_us: i64,
    link: LinkType,
    orig_len: u32,
    /// Index in [`FormatState::described`] ([`UNDECLARED`]: none).
    interface: usize,
}

/// What earlier blocks said about the following ones.
#[derive(Debug, Default)]
struct FormatState {
    /// Legacy pcap: link type and timestamp units per second.
    legacy: Option<(LinkType, u64)>,
    /// pcapng: interfaces of the current section.
    interfaces: Vec<IfaceClock>,
    /// Every interface of the file, all sections, in order of appearance
    /// (the pcap header's one for legacy pcap).
    described: Vec<Interface>,
    last_ts_us: i64,
}

/// A pcap or pcapng file (optionally gzip-compressed), or stdin.
pub struct CaptureFile {
    name: String,
    /// The input is gzip-compressed.
    gzip: bool,
    trace: ReadTrace,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// Bytes of the previous block still to consume.
    pending_consume: usize,
    frame: u64,
    current: Option<Current>,
    format: FormatState,
    failed: bool,
    buffer_size: usize,
    /// Reads this file ahead from another thread (a regular file,
    /// uncompressed).
    helper: Option<Helper>,
}

fn units_to_us(units: u128, per_sec: u64) -> i64 {
    if per_sec == 0 {
        return 0;
    }
    let us = units.saturating_mul(1_000_000) / u128::from(per_sec);
    i64::try_from(us).unwrap_or(i64::MAX)
}

impl CaptureFile {
    /// Opens `path` (`-` = stdin). Gzip is detected by its magic bytes, not
    /// the file name, and decompressed as a stream.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        Self::open_counted(path, &BytesRead::default())
    }

    /// [`CaptureFile::open`], the file's reads added to `counter` (stdin's
    /// are not counted: its size is not known ahead).
    pub fn open_counted(path: &Path, counter: &BytesRead) -> Result<Self, CaptureError> {
        let name = path.display().to_string();
        if name == "-" {
            return Self::from_reader(name, Box::new(io::stdin()));
        }
        let file = File::open(path).map_err(|source| CaptureError::Io { name: name.clone(), source })?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        Self::from_stream(name, Box::new(Counted(file, counter.clone())), regular)
    }

    /// Reads a capture from any byte stream (gzip or not).
    pub fn from_reader(name: String, raw: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        Self::from_stream(name, raw, false)
    }

    /// [`CaptureFile::from_reader`]; `ahead`: the stream can be read ahead
    /// from another thread ([`PacketSource::read_ahead`]: a regular file,
    /// not compressed).
    fn from_stream(name: String, raw: Box<dyn Read + Send>, ahead: bool) -> Result<Self, CaptureError> {
        let mut raw = BufReader::with_capacity(1 << 16, raw);
        let mut magic = Vec::with_capacity(2);
        (&mut raw).take(2).read_to_end(&mut magic).map_err(|source| CaptureError::Io { name: name.clone(), source })?;
        let rest: Box<dyn Read + Send> = Box::new(Cursor::new(magic.clone()).chain(raw));
        let gzip = magic == [0x1f, 0x8b];
        let trace = ReadTrace::default();
        let inner: Box<dyn Read + Send> = if gzip { Box::new(MultiGzDecoder::new(BufReader::new(rest))) } else { rest };
        let mut stream: Box<dyn Read + Send> = Box::new(Traced { inner, at: 0, trace: trace.clone() });
        let mut helper = None;
        // Not a gzip stream: the helper would inflate it holding the
        // source, and the reader would wait on it (measured: 4% slower).
        if ahead && !gzip {
            let read_ahead = ReadAhead::new(stream);
            helper = Some(read_ahead.helper());
            stream = Box::new(read_ahead);
        }
        // pcap-parser probes the format from one read(); give it a whole
        // prefix so short reads (gzip, pipes) do not fool it.
        let mut prefix = Vec::with_capacity(4096);
        (&mut stream).take(4096).read_to_end(&mut prefix).map_err(|_| read_failure(name.clone(), gzip, &trace))?;
        let magic_prefix = prefix[..prefix.len().min(512)].to_vec();
        let stream: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(stream));
        let reader = match create_reader(INITIAL_BUFFER, stream) {
            Ok(r) => r,
            Err(PcapError::ReadError) => return Err(read_failure(name, gzip, &trace)),
            Err(_) => return Err(CaptureError::NotACapture { looks_like: looks_like(&magic_prefix, gzip), name }),
        };
        Ok(CaptureFile {
            name,
            gzip,
            trace,
            reader,
            pending_consume: 0,
            frame: 0,
            current: None,
            format: FormatState::default(),
            failed: false,
            buffer_size: INITIAL_BUFFER,
            helper,
        })
    }

    /// The name used in output (the path as given, `-` for stdin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops reading on `e`: later calls to `advance` return `Ok(false)`.
    fn fail(&mut self, e: CaptureError) -> Result<bool, CaptureError> {
        self.failed = true;
        self.current = None;
        Err(e)
    }

    /// Loads the next packet. `Ok(false)` at a clean end of file. After an
    /// error, further calls return `Ok(false)`.
    pub fn advance(&mut self) -> Result<bool, CaptureError> {
        if self.failed {
            return Ok(false);
        }
        if self.pending_consume > 0 {
            self.reader.consume_noshift(self.pending_consume);
            self.pending_consume = 0;
        }
        self.current = None;
        loop {
            let consumed = self.reader.consumed() as u64;
            let base = self.reader.data().as_ptr() as usize;
            // The reader's borrow ends with this match: only owned facts
            // leave it.
            let step = match self.reader.next() {
                Ok((used, block)) => Ok((used, self.format.block(block, base))),
                Err(PcapError::Eof) => return Ok(false),
                Err(PcapError::Incomplete(_)) => Err(Stall::NeedData),
                Err(PcapError::BufferTooSmall) => Err(Stall::BlockTooLarge),
                Err(PcapError::UnexpectedEof) => Err(Stall::Truncated),
                Err(PcapError::ReadError) => Err(Stall::ReadError),
                Err(PcapError::HeaderNotRecognized) => Err(Stall::Unrecognised),
                Err(PcapError::NomError(_, k)) | Err(PcapError::OwnedNomError(_, k)) => Err(Stall::Unparsable(k)),
            };
            let read_error = |name: String| read_failure(name, self.gzip, &self.trace);
            match step {
                Ok((used, Some(cur))) => {
                    self.pending_consume = used;
                    self.frame += 1;
                    self.format.last_ts_us = cur.ts_us;
                    self.current = Some(cur);
                    return Ok(true);
                }
                Ok((used, None)) => self.reader.consume_noshift(used),
                Err(Stall::NeedData) => {
                    if self.reader.refill().is_err() {
                        return self.fail(read_error(self.name.clone()));
                    }
                }
                Err(Stall::BlockTooLarge) => {
                    if self.buffer_size >= MAX_BLOCK {
                        let (name, offset) = (self.name.clone(), consumed);
                        let detail = format!("block larger than {MAX_BLOCK} bytes");
                        return self.fail(CaptureError::Corrupt { name, offset, detail });
                    }
                    self.buffer_size *= 2;
                    self.reader.grow(self.buffer_size);
                    if self.reader.refill().is_err() {
                        return self.fail(read_error(self.name.clone()));
                    }
                }
                Err(Stall::Truncated) => {
                    let (name, offset) = (self.name.clone(), consumed);
                    return self.fail(CaptureError::Truncated { name, offset });
                }
                Err(Stall::ReadError) => return self.fail(read_error(self.name.clone())),
                Err(Stall::Unrecognised) => {
                    let (name, offset) = (self.name.clone(), consumed);
                    let detail = "unrecognised block".to_string();
                    return self.fail(CaptureError::Corrupt { name, offset, detail });
                }
                Err(Stall::Unparsable(kind)) => {
                    let (name, offset) = (self.name.clone(), consumed);
                    let detail = format!("unparsable block ({})", kind.description());
                    return self.fail(CaptureError::Corrupt { name, offset, detail });
                }
            }
        }
    }
}

/// Why the reader could not yield the next block.
#[derive(Clone, Copy, Debug)]
enum Stall {
    /// The buffer holds part of a block: read more.
    NeedData,
    /// The block does not fit the buffer: grow it (up to a cap).
    BlockTooLarge,
    /// The file ends inside a block.
    Truncated,
    ReadError,
    /// Not a block type the format knows.
    Unrecognised,
    /// A block whose fields do not parse.
    Unparsable(nom::error::ErrorKind),
}

impl FormatState {
    /// Interprets one block; returns the packet it carries, if any.
    fn block(&mut self, block: PcapBlockOwned<'_>, base: usize) -> Option<Current> {
        let at = |data: &[u8]| (data.as_ptr() as usize).saturating_sub(base);
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                let unit = if h.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 };
                self.legacy = Some((LinkType(h.network.0 as u16), unit));
                let link = LinkType(h.network.0 as u16);
                self.described.push(Interface { link, snaplen: h.snaplen, name: None, description: None });
                None
            }
            PcapBlockOwned::Legacy(b) => {
                let (link, unit) = self.legacy.unwrap_or((LinkType::ETHERNET, 1_000_000));
                let units = u128::from(b.ts_sec) * u128::from(unit) + u128::from(b.ts_usec);
                let len = (b.caplen as usize).min(b.data.len());
                let ts_us = units_to_us(units, unit);
                let interface = if self.described.is_empty() { UNDECLARED } else { 0 };
                Some(Current { start: at(b.data), len, ts_us, link, orig_len: b.origlen, interface })
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.interfaces.clear();
                None
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                let units_per_sec = idb.ts_resolution().unwrap_or(1_000_000);
                let link = LinkType(idb.linktype.0 as u16);
                let text = |o: Option<Result<&str, _>>| o.and_then(Result::ok).map(str::to_string);
                self.described.push(Interface {
                    link,
                    snaplen: idb.snaplen,
                    name: text(idb.if_name()),
                    description: text(idb.if_description()),
                });
                let index = self.described.len() - 1;
                self.interfaces.push(IfaceClock { link, units_per_sec, offset_s: idb.if_tsoffset, index });
                None
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let iface = self.interfaces.get(epb.if_id as usize).copied().unwrap_or(IfaceClock {
                    link: LinkType(u16::MAX),
                    units_per_sec: 1_000_000,
                    offset_s: 0,
                    index: UNDECLARED,
                });
                let units = (u128::from(epb.ts_high) << 32) | u128::from(epb.ts_low);
                let ts_us =
                    units_to_us(units, iface.units_per_sec).saturating_add(iface.offset_s.saturating_mul(1_000_000));
                let len = (epb.caplen as usize).min(epb.data.len());
                let orig_len = epb.origlen;
                Some(Current { start: at(epb.data), len, ts_us, link: iface.link, orig_len, interface: iface.index })
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let (link, interface) =
                    self.interfaces.first().map_or((LinkType(u16::MAX), UNDECLARED), |i| (i.link, i.index));
                let len = (spb.origlen as usize).min(spb.data.len());
                let ts_us = self.last_ts_us;
                Some(Current { start: at(spb.data), len, ts_us, link, orig_len: spb.origlen, interface })
            }
            PcapBlockOwned::NG(_) => None,
        }
    }
}

impl CaptureFile {
    /// The packet loaded by the last successful `advance`.
    pub fn current(&self) -> Option<RawPacket<'_>> {
        let c = self.current?;
        let data = self.reader.data().get(c.start..c.start + c.len)?;
        Some(RawPacket { ts_us: c.ts_us, frame: self.frame, link: c.link, orig_len: c.orig_len, data })
    }

    /// The loaded packet's frame and interface in this file.
    pub fn origin(&self) -> Option<Origin<'_>> {
        let c = self.current?;
        let (interface, described) = match self.format.described.get(c.interface) {
            Some(d) => (Some(c.interface), d),
            None => (None, &Interface::UNDECLARED),
        };
        Some(Origin { file: 0, frame: self.frame, interface, described })
    }
}

impl PacketSource for CaptureFile {
    fn name(&self) -> &str {
        CaptureFile::name(self)
    }
    fn advance(&mut self) -> Result<bool, CaptureError> {
        CaptureFile::advance(self)
    }
    fn current(&self) -> Option<RawPacket<'_>> {
        CaptureFile::current(self)
    }
    fn origin(&self) -> Option<Origin<'_>> {
        CaptureFile::origin(self)
    }
    fn read_ahead(&self) -> Option<Helper> {
        self.helper.clone()
    }
}
