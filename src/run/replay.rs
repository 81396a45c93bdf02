//! Every packet again, after the analysis (`analyze --annotate`): the
//! inputs read in [`super::run_merged`]'s order (by time on the reference
//! clock, ties in input order), each packet through its input's pipeline
//! once more, so the sink hears of the messages it completes, then handed
//! on, owned, once no message can still complete in it.
//!
//! A message completes in the packet that carried its last byte. That is
//! the packet just fed, unless reassembly held that byte out of order: a
//! queued segment is delivered, with its own frame, when its hole fills or
//! is given up (10 s of capture time at most, sooner at the buffer caps).
//! So a packet is handed on as soon as its input's reassembly holds
//! nothing out of order; packets wait (in merged order) only while it
//! does, and at most `max_held` bytes of them: past that the oldest is
//! handed on anyway, and a message completing in it later comes too late
//! for it (the sink can tell: its frame was handed on already).

use super::merge::earliest;
use crate::capture::Interface;
use crate::pipeline::{BusSink, Input};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::io;

/// One packet, owned, as it is handed on.
#[derive(Clone, Debug)]
pub struct Held {
    /// Its input's index.
    pub capture: usize,
    /// Capture time on the reference clock.
    pub ts_us: i64,
    /// Its frame number in the input (frames run on across the files of a
    /// rotated capture, as messages and evidence name them).
    pub frame: u64,
    /// The file of the input (0, or its place in a rotated capture) and
    /// the frame number there.
    pub file: usize,
    pub file_frame: u64,
    /// What [`Replay::interface`] returned for its interface.
    pub interface: u32,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Where the packets go: messages and the rest as a [`BusSink`], each
/// interface once (before any packet on it is handed on), then the
/// packets in order.
pub trait Replay: BusSink {
    /// A new interface: number `index` of file `file` of input `capture`
    /// (`None`: never declared); the id its packets will carry.
    fn interface(
        &mut self,
        capture: usize,
        file: usize,
        index: Option<usize>,
        described: &Interface,
    ) -> io::Result<u32>;
    fn packet(&mut self, p: Held) -> io::Result<()>;
}

/// What the replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub packets: u64,
    /// Most packet bytes waiting at once.
    pub peak_held_bytes: u64,
    /// Packets handed on while their input still held bytes out of order
    /// (the bound was reached).
    pub forced: u64,
}

/// Interface ids by (input, file, interface in the file, link type).
type Interfaces = HashMap<(usize, usize, Option<usize>, u16), u32>;

/// The loaded packet of `input`, owned (its interface declared first).
fn take<R: Replay>(capture: usize, input: &Input, ifaces: &mut Interfaces, out: &mut R) -> io::Result<Option<Held>> {
    let (Some(ts_us), Some(p)) = (input.next_ts(), input.file.current()) else { return Ok(None) };
    // A source without files (a live capture): one interface per link type.
    let undeclared;
    let (file, file_frame, index, described) = match input.file.origin() {
        Some(o) => (o.file, o.frame, o.interface, o.described),
        None => {
            undeclared = Interface { link: p.link, ..Interface::UNDECLARED };
            (0, p.frame, None, &undeclared)
        }
    };
    let key = (capture, file, index, p.link.0);
    let interface = match ifaces.get(&key) {
        Some(&id) => id,
        None => {
            let id = out.interface(capture, file, index, described)?;
            ifaces.insert(key, id);
            id
        }
    };
    let data = p.data.to_vec();
    Ok(Some(Held { capture, ts_us, frame: p.frame, file, file_frame, interface, orig_len: p.orig_len, data }))
}

/// Reads every input to its end as the module says, handing each packet
/// to `out`; at most `max_held` packet bytes wait at once.
pub fn replay<R: Replay>(inputs: &mut [Input], out: &mut R, max_held: usize) -> io::Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    let mut ifaces = Interfaces::default();
    let mut held: VecDeque<Held> = VecDeque::new();
    let mut held_bytes = 0usize;
    for i in inputs.iter_mut() {
        if !i.advance() {
            i.pipeline.finish(out);
        }
    }
    while let Some(idx) = earliest(inputs) {
        let input = &mut inputs[idx];
        if let Some(p) = take(idx, input, &mut ifaces, out)? {
            held_bytes += p.data.len();
            held.push_back(p);
        }
        input.process(out);
        if !input.advance() {
            // Its streams end now: what they held is delivered.
            input.pipeline.finish(out);
        }
        stats.peak_held_bytes = stats.peak_held_bytes.max(held_bytes as u64);
        while let Some(front) = held.front() {
            let waits = inputs.get(front.capture).is_some_and(|i| i.pipeline.held_out_of_order() > 0);
            if waits && held_bytes <= max_held {
                break;
            }
            stats.forced += u64::from(waits);
            let Some(p) = held.pop_front() else { break };
            held_bytes -= p.data.len();
            stats.packets += 1;
            out.packet(p)?;
        }
    }
    for p in held {
        stats.packets += 1;
        out.packet(p)?;
    }
    Ok(stats)
}
