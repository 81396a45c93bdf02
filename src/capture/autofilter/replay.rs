//! A capture file read as the auto filter would have let a live capture
//! see it: each packet run through the program of what was learned so
//! far (the same program the kernel gets, by [`super::run`]), a new
//! program taking effect `lag_us` of capture time after the packet that
//! taught it (a live capture installs it a little after the chain
//! learned). Frames
//! keep their numbers in the file, so evidence reads the same.

use super::{BusLearning, Insn, Learned, Link, program, run};
use crate::capture::{CaptureError, Origin, PacketSource, RawPacket};

/// A packet source filtered by the auto filter.
pub struct Replayed {
    inner: Box<dyn PacketSource>,
    learning: BusLearning,
    lag_us: i64,
    /// The generation the programs were made of.
    installed: u64,
    /// The program in effect, per link.
    programs: Vec<(Link, Vec<Insn>)>,
    /// When the newer generation takes effect.
    pending: Option<i64>,
    /// The time of the last packet read.
    now: i64,
}

impl Replayed {
    /// `inner` filtered by what `learning` records (the pipeline reading
    /// this source must learn into the same record).
    pub fn new(inner: Box<dyn PacketSource>, learning: BusLearning, lag_us: i64) -> Self {
        Replayed { inner, learning, lag_us, installed: u64::MAX, programs: Vec::new(), pending: None, now: i64::MIN }
    }

    /// Notes news learned from the packets read so far (taking effect
    /// `lag_us` after the last one).
    fn note_learning(&mut self) {
        let g = self.learning.generation();
        if self.installed == u64::MAX || (g != self.installed && self.lag_us <= 0) {
            self.install();
        } else if g != self.installed && self.pending.is_none() {
            self.pending = Some(self.now.saturating_add(self.lag_us));
        }
    }

    /// Installs what was learned by now if its time came at `ts`.
    fn take_effect(&mut self, ts: i64) {
        if self.pending.is_some_and(|at| ts >= at) {
            self.pending = None;
            self.install();
        }
    }

    fn install(&mut self) {
        let (g, learned): (u64, Learned) = self.learning.learned();
        self.installed = g;
        self.programs = [Link::Ethernet, Link::Ip, Link::Cooked]
            .into_iter()
            .map(|l| (l, program(&learned, l, u32::MAX, false)))
            .collect();
    }

    /// Whether the kernel would pass `p` (links without a filter pass).
    fn passes(&self, p: &RawPacket<'_>) -> bool {
        let prog = |l: Link| self.programs.iter().find(|(k, _)| *k == l).map(|(_, p)| p.as_slice()).unwrap_or(&[]);
        let (link, data, protocol) = match p.link.0 {
            // Linux cooked v1 and v2: the kernel filters from the network
            // header and knows the protocol.
            113 => match (p.data.get(14..16), p.data.get(16..)) {
                (Some(t), Some(d)) => (Link::Cooked, d, u16::from_be_bytes([t[0], t[1]])),
                _ => return true,
            },
            276 => match (p.data.get(0..2), p.data.get(20..)) {
                (Some(t), Some(d)) => (Link::Cooked, d, u16::from_be_bytes([t[0], t[1]])),
                _ => return true,
            },
            l => match Link::of_dlt(i32::from(l)) {
                Some(link) => (link, p.data, 0),
                None => return true,
            },
        };
        run(prog(link), data, protocol) != 0
    }
}

impl PacketSource for Replayed {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn advance(&mut self) -> Result<bool, CaptureError> {
        loop {
            self.note_learning();
            if !self.inner.advance()? {
                return Ok(false);
            }
            let ts = self.inner.current().map_or(self.now, |p| p.ts_us);
            self.take_effect(ts);
            self.now = ts;
            let pass = self.inner.current().is_some_and(|p| self.passes(&p));
            if pass {
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
