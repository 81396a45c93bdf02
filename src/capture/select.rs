//! Selecting packets of any source as tcpdump does: a BPF filter (libpcap's
//! offline filter, feature `live`) and a packet count (`-c`). Frame numbers
//! stay those of the file, as Wireshark shows them.

use super::error::{CaptureError, FilterError};
use super::packet::{Origin, PacketSource, RawPacket};
use super::read_ahead::Helper;

/// A compiled filter per link type (compiled when a link type first
/// appears).
#[cfg(feature = "live")]
pub struct Bpf {
    expr: String,
    programs: std::collections::HashMap<u16, pcap::BpfProgram>,
}

#[cfg(feature = "live")]
impl Bpf {
    /// Checks the expression once (on Ethernet) so that a typo is an error
    /// before any reading.
    pub fn new(expr: &str) -> Result<Self, FilterError> {
        let mut b = Bpf { expr: expr.to_string(), programs: Default::default() };
        b.program(1)?;
        Ok(b)
    }

    fn program(&mut self, link: u16) -> Result<&pcap::BpfProgram, FilterError> {
        use std::collections::hash_map::Entry;
        match self.programs.entry(link) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let dead = pcap::Capture::dead(pcap::Linktype(i32::from(link)))
                    .map_err(|x| FilterError::Link { link, detail: x.to_string() })?;
                let expr = &self.expr;
                let p = dead
                    .compile(expr, true)
                    .map_err(|x| FilterError::Invalid { expr: expr.clone(), detail: x.to_string() })?;
                Ok(e.insert(p))
            }
        }
    }

    fn matches(&mut self, p: &RawPacket<'_>) -> bool {
        match self.program(p.link.0) {
            Ok(prog) => prog.filter(p.data),
            // A link type libpcap cannot filter: keep the packet (the decoder
            // reports the link type if it cannot read it either).
            Err(_) => true,
        }
    }
}

/// Without libpcap there is no filter: construction says so.
#[cfg(not(feature = "live"))]
pub struct Bpf;

#[cfg(not(feature = "live"))]
impl Bpf {
    pub fn new(_expr: &str) -> Result<Self, FilterError> {
        Err(FilterError::NeedsLibpcap)
    }

    fn matches(&mut self, _p: &RawPacket<'_>) -> bool {
        true
    }
}

/// A source that passes only the packets `filter` accepts, at most `count`.
pub struct Select<S> {
    inner: S,
    filter: Option<Bpf>,
    count: Option<u64>,
    passed: u64,
}

impl<S: PacketSource> Select<S> {
    pub fn new(inner: S, filter: Option<Bpf>, count: Option<u64>) -> Self {
        Select { inner, filter, count, passed: 0 }
    }
}

impl<S: PacketSource> PacketSource for Select<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    fn read_ahead(&self) -> Option<Helper> {
        self.inner.read_ahead()
    }

    fn advance(&mut self) -> Result<bool, CaptureError> {
        if self.count.is_some_and(|c| self.passed >= c) {
            return Ok(false);
        }
        loop {
            if !self.inner.advance()? {
                return Ok(false);
            }
            let keep = match (&mut self.filter, self.inner.current()) {
                (Some(f), Some(p)) => f.matches(&p),
                _ => true,
            };
            if keep {
                self.passed += 1;
                return Ok(true);
            }
        }
    }

    fn current(&self) -> Option<RawPacket<'_>> {
        self.inner.current()
    }

    fn take_error(&mut self) -> Option<CaptureError> {
        self.inner.take_error()
    }

    fn origin(&self) -> Option<Origin<'_>> {
        self.inner.origin()
    }
}

/// What to select from every file source: tcpdump's filter expression and
/// `-c`.
#[derive(Clone, Debug, Default)]
pub struct SelectSpec {
    pub filter: Option<String>,
    pub count: Option<u64>,
}

impl SelectSpec {
    /// Wraps `src` (unchanged when nothing is selected).
    pub fn apply(&self, src: Box<dyn PacketSource>) -> Result<Box<dyn PacketSource>, FilterError> {
        if self.filter.is_none() && self.count.is_none() {
            return Ok(src);
        }
        let bpf = self.filter.as_deref().map(Bpf::new).transpose()?;
        Ok(Box::new(Select::new(src, bpf, self.count)))
    }
}
