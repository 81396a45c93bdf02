//! A reading thread: it reads one input through its pipeline and sends
//! the events, packed in batches ([`super::batch`]), with each packet's
//! time; [`Stream`] is that thread's events as the analysing thread
//! receives them.

use super::batch::{Batch, PackSink, Unpacker};
use crate::capture::Helper;
use crate::clusterbus::Message;
use crate::events::BusEvent;
use crate::events::numbered::WireNumbers;
use crate::pipeline::{Anomaly, BusSink, CommandMeta, Input, MessageMeta, StreamEnd};
use std::sync::mpsc::{Receiver, SyncSender};

/// Events travel from a reading thread to the analysing one in batches of
/// about this many (a live capture's sooner: see [`LIVE_FLUSH`]).
pub(super) const BATCH: usize = 256;
/// Batches in flight per reading thread; when the analysis falls this far
/// behind, reading waits (bounded memory: 2-4 MB). The analysis runs in
/// bursts (its first minutes of a capture, a merge's slot moves): with 4
/// (under 1 ms of reading) the reader of the 30-node lab capture waited
/// 12-25 ms of its 170; with 32, 0-5.
pub(super) const IN_FLIGHT: usize = 32;
/// The same for a live capture (`watch`): its batches go out every few
/// milliseconds, so this many bound the memory of a backlog only.
pub(super) const IN_FLIGHT_LIVE: usize = 4;
/// The same with several captures (about 3 MB each): the merge takes
/// each stream's events as their times come, and a stream denser than the
/// others for a while needs its reader ahead; with 4, the analysis waited
/// for one reader while the others sat full (two cores 76-80% busy during
/// the analysis of three captures, 85-88% with 32).
pub(super) const IN_FLIGHT_SEVERAL: usize = 32;
/// A live capture's events wait at most about this long for their batch
/// to fill (checked after each packet).
const LIVE_FLUSH: std::time::Duration = std::time::Duration::from_millis(2);

/// What a reading thread sends: the events of consecutive packets that
/// made events (each packet's time on the reference clock, held back as
/// `read_one` says, and how many events it made), then the events of the
/// end of the input (every connection still open ends: a batch at a
/// time, `last` on the last one).
pub(super) enum Part {
    Packets { packets: Vec<(i64, u32)>, batch: Batch },
    End { batch: Batch, last: bool },
}

/// The end of an input, into a reading thread's sink, sent a batch at a
/// time (a capture ending with a million connections open makes as many
/// events).
struct Ending<'a, B: FnMut() -> Batch> {
    sink: &'a mut PackSink,
    tx: &'a SyncSender<Part>,
    next_batch: B,
    batch: usize,
}

impl<B: FnMut() -> Batch> Ending<'_, B> {
    fn sent(&mut self) {
        if self.sink.len() >= self.batch {
            let batch = self.sink.take((self.next_batch)());
            let _ = self.tx.send(Part::End { batch, last: false });
        }
    }
}

impl<B: FnMut() -> Batch> BusSink for Ending<'_, B> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        self.sink.message(meta, msg);
        self.sent();
    }
    fn anomaly(&mut self, a: &Anomaly) {
        self.sink.anomaly(a);
        self.sent();
    }
    fn stream_end(&mut self, e: &StreamEnd) {
        self.sink.stream_end(e);
        self.sent();
    }
    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.sink.command(meta, args);
        self.sent();
    }
}

/// How many times the analysis of a single input looks for its next batch
/// on a busy core before sleeping (about 50 µs: a batch about to come is
/// taken without waking; a longer wait sleeps, so the core goes to the
/// reader or to other work — spinning up to 2 ms was 13% of the CPU time
/// at 100 nodes, the analysis waiting for its reader).
const SPIN: u32 = 1000;
/// Batches the analysis is done with go back to their reading thread, to
/// be filled again there (no allocation per batch); past this many
/// waiting (with several captures: as many as may be in flight, and 2),
/// they are freed (and the reader fills a new one, growing it again).
pub(super) const RETURN_IN_FLIGHT: usize = 8;

/// Reads one input on this thread and sends its events, packet by packet.
/// `batch`: events per batch ([`BATCH`]; tests use small ones).
pub(super) fn read_one(
    input: &mut Input,
    several: bool,
    batch: usize,
    tx: SyncSender<Part>,
    returned: Receiver<Batch>,
) {
    let live = input.file.is_live();
    let mut packets: Vec<(i64, u32)> = Vec::new();
    let mut counted = 0usize;
    let mut last_flush = std::time::Instant::now();
    let mut sink = PackSink::default();
    // With several captures the analysis fingerprints every message
    // (clock offsets): done here, beside the busy analysis thread.
    sink.fingerprints = several;
    // A packet that made no event matters to the merge only by its time:
    // it holds back this stream's later packets until the others pass it.
    // The next packet that makes events is sent at the latest of their
    // times, which orders the same (the merge would take it right after
    // that packet), so packets without events are not sent.
    let mut held: Option<i64> = None;
    let mut next_batch = || returned.try_recv().unwrap_or_default();
    run_single(input, &mut sink, |sink, ts| {
        if sink.len() == counted {
            held = Some(held.map_or(ts, |h| h.max(ts)));
            // Live: what waits still goes out on time.
            if !live || packets.is_empty() {
                return;
            }
        } else {
            packets.push((held.take().map_or(ts, |h| h.max(ts)), (sink.len() - counted) as u32));
        }
        counted = sink.len();
        if sink.len() >= batch || (live && last_flush.elapsed() >= LIVE_FLUSH) {
            let batch = sink.take(next_batch());
            // The analysing side hangs up only when it panicked; the join
            // reports that.
            let _ = tx.send(Part::Packets { packets: std::mem::take(&mut packets), batch });
            counted = 0;
            last_flush = std::time::Instant::now();
        }
    });
    let _ = tx.send(Part::Packets { packets, batch: sink.take(next_batch()) });
    input.pipeline.finish(&mut Ending { sink: &mut sink, tx: &tx, next_batch: &mut next_batch, batch });
    let _ = tx.send(Part::End { batch: sink.take(Batch::default()), last: true });
}

/// Runs one input alone through its pipeline: `sink` gets its events and
/// `after_packet` is called after each packet with the packet's time on
/// the reference clock (so a caller reading several inputs on their own
/// threads can interleave them exactly as [`super::run_merged`] does).
/// Does not finish the pipeline.
pub fn run_single<K: BusSink>(input: &mut Input, sink: &mut K, mut after_packet: impl FnMut(&mut K, i64)) {
    while input.advance() {
        if let Some(ts) = input.process(sink) {
            after_packet(sink, ts);
        }
    }
}

/// What the merge hands each event to: the event, and for a message
/// its gossip's numbers in its reading thread's numbering.
pub(super) type OnEvent<'a> = dyn FnMut(&BusEvent, Option<WireNumbers<'_>>) + 'a;

/// One reading thread's stream, as the merge sees it.
pub(super) struct Stream {
    rx: Receiver<Part>,
    packets: std::vec::IntoIter<(i64, u32)>,
    /// The batch being read, and its next event.
    batch: Batch,
    next: usize,
    unpacker: Unpacker,
    pub(super) head: Option<(i64, u32)>,
    /// The end of the input began (its events are in `batch`, more may
    /// come), and its last batch arrived.
    ended: bool,
    finished: bool,
    back: SyncSender<Batch>,
    /// Wait for the next part on a busy core first (one file, not live).
    spin: bool,
    /// Reads the reader's file ahead while waiting for it.
    helper: Option<Helper>,
}

impl Stream {
    pub(super) fn new(rx: Receiver<Part>, back: SyncSender<Batch>, spin: bool) -> Stream {
        Stream {
            rx,
            packets: Vec::new().into_iter(),
            batch: Batch::default(),
            next: 0,
            unpacker: Unpacker::default(),
            head: None,
            ended: false,
            finished: false,
            back,
            spin,
            helper: None,
        }
    }

    /// While waiting on a busy core, reads the reader's file ahead with
    /// `helper` (the reader is behind: its next reads then cost it a copy
    /// from memory, not the kernel's read of the file).
    pub(super) fn helped_by(mut self, helper: Option<Helper>) -> Stream {
        self.helper = helper;
        self
    }

    /// The next packet's time and event count (`None`: no more packets;
    /// the end's events, if any, are then the batch's).
    pub(super) fn head(&mut self) -> Option<(i64, u32)> {
        while self.head.is_none() && !self.ended {
            if let Some(p) = self.packets.next() {
                self.head = Some(p);
                break;
            }
            self.receive();
        }
        self.head
    }

    /// Takes the next part in; `false` when nothing more comes.
    fn receive(&mut self) -> bool {
        match self.wait() {
            Ok(Part::Packets { packets, batch }) => {
                self.packets = packets.into_iter();
                self.open(batch);
            }
            Ok(Part::End { batch, last }) => {
                self.open(batch);
                self.ended = true;
                self.finished = last;
            }
            Err(_) => {
                (self.ended, self.finished) = (true, true);
                return false;
            }
        }
        true
    }

    /// Reads `batch` next; the one read so far goes back to be filled.
    fn open(&mut self, batch: Batch) {
        let done = std::mem::replace(&mut self.batch, batch);
        let _ = self.back.try_send(done);
        self.unpacker.open(&self.batch);
        self.next = 0;
    }

    /// The batch's next event, with its gossip's numbers as the reading
    /// thread gave them (a message).
    pub(super) fn event(&mut self) -> Option<(&BusEvent, Option<WireNumbers<'_>>)> {
        if self.next >= self.batch.len() {
            return None;
        }
        self.next += 1;
        self.unpacker.event(&mut self.batch, self.next - 1);
        Some((self.unpacker.current(), self.unpacker.wire()))
    }

    /// The next part, waiting for it on a busy core before sleeping: the
    /// one stream's reader then never pays for waking this thread.
    fn wait(&mut self) -> Result<Part, std::sync::mpsc::RecvError> {
        if !self.spin {
            return self.rx.recv();
        }
        for _ in 0..SPIN {
            match self.rx.try_recv() {
                Ok(p) => return Ok(p),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(std::sync::mpsc::RecvError),
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    if !self.helper.as_ref().is_some_and(Helper::help) {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        self.rx.recv()
    }

    /// Every event of this stream not read yet, in order (the only
    /// stream's, or the end's once every stream's packets are read).
    pub(super) fn drain(&mut self, f: &mut OnEvent<'_>) {
        loop {
            while let Some((e, wire)) = self.event() {
                f(e, wire);
            }
            if self.finished || !self.receive() {
                return;
            }
        }
    }
}
