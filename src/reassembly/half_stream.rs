//! One direction of a TCP connection: expected sequence number, where
//! each segment goes (delivered now, queued out of order, or dropped as
//! already seen), and the end of the direction; `holes.rs` decides when a
//! hole in the queue is lost. Sequence arithmetic is wrapping: every
//! sequence number is turned into a 64-bit stream offset relative to the
//! next expected byte, which is exact as long as segments are within
//! 2 GiB of it (TCP windows are far smaller).

use super::stream::{ChunkMeta, CloseReason, GapReason, StreamConsumer};
use std::collections::BTreeMap;

/// When and where bytes were captured: frame and time of their packet.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stamp {
    pub frame: u64,
    pub ts_us: i64,
}

/// One TCP segment's share of this direction: where it starts in sequence
/// space, its captured bytes, the bytes the snaplen cut, and FIN.
#[derive(Clone, Copy, Debug)]
pub(super) struct Segment<'a> {
    pub seq: u32,
    pub payload: &'a [u8],
    pub missing: u32,
    pub fin: bool,
}

/// Bytes at a stream offset (captured, then `missing` cut by the snaplen).
#[derive(Clone, Copy, Debug)]
struct Piece<'a> {
    off: u64,
    payload: &'a [u8],
    missing: u32,
}

/// An out-of-order segment waiting for the bytes before it.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) data: Vec<u8>,
    /// Bytes after `data` cut by snaplen.
    pub(super) missing: u32,
    pub(super) frame: u64,
    pub(super) ts_us: i64,
}

/// What one direction knows. `S` is the consumer's per-direction state.
#[derive(Debug)]
pub struct HalfStream<S> {
    pub(super) started: bool,
    midstream: bool,
    /// Sequence number of the next byte to deliver.
    pub(super) next_seq: u32,
    /// Stream offset of that byte.
    pub(super) next_off: u64,
    pub(super) pending: BTreeMap<u64, Pending>,
    pub(super) pending_bytes: usize,
    /// Capture time the oldest still-open hole was first noticed.
    pub(super) hole_since: Option<i64>,
    /// Highest offset the peer acknowledged.
    pub(super) peer_acked: u64,
    /// Offset of the FIN, once seen.
    fin_off: Option<u64>,
    pub(super) closed: bool,
    /// Frame of the latest segment of this direction (for the close).
    last_frame: u64,
    pub(super) state: S,
}

impl<S: Default> Default for HalfStream<S> {
    fn default() -> Self {
        HalfStream {
            started: false,
            midstream: false,
            next_seq: 0,
            next_off: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            hole_since: None,
            peer_acked: 0,
            fin_off: None,
            closed: false,
            last_frame: 0,
            state: S::default(),
        }
    }
}

/// Static facts about the connection needed to build [`ChunkMeta`].
#[derive(Clone, Copy, Debug)]
pub(super) struct MetaBase {
    pub conn_id: u64,
    pub src: crate::decode::Endpoint,
    pub dst: crate::decode::Endpoint,
    pub from_initiator: Option<bool>,
}

/// Limits applied while buffering.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub max_pending: usize,
    pub hole_timeout_us: i64,
}

/// Counters the table aggregates.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Effects {
    pub duplicate_bytes: u64,
    pub delivered_bytes: u64,
    pub pending_delta: i64,
    pub cap_hit: bool,
    pub gaps: [(u64, u64); 4],
}

fn reason_index(r: GapReason) -> usize {
    match r {
        GapReason::NotCaptured => 0,
        GapReason::Snaplen => 1,
        GapReason::CapHit => 2,
        GapReason::Unfilled => 3,
    }
}

impl<S> HalfStream<S> {
    pub fn is_started(&self) -> bool {
        self.started
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes waiting in the out-of-order queue.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Starts the stream at `seq` (the first data byte).
    pub(super) fn start(&mut self, seq: u32, midstream: bool) {
        self.started = true;
        self.midstream = midstream;
        self.next_seq = seq;
        self.next_off = 0;
        self.peer_acked = 0;
    }

    /// Stream offset of `seq`, or `None` when it lies before the stream start.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let rel = i64::from(seq.wrapping_sub(self.next_seq) as i32);
        let off = self.next_off as i64 + rel;
        (off >= 0).then_some(off as u64)
    }

    fn meta(&self, base: &MetaBase, ts_us: i64, frame: u64) -> ChunkMeta {
        ChunkMeta {
            conn_id: base.conn_id,
            src: base.src,
            dst: base.dst,
            from_initiator: base.from_initiator,
            ts_us,
            frame,
            offset: self.next_off,
            midstream: self.midstream,
        }
    }

    fn advance(&mut self, n: u64) {
        self.next_off += n;
        self.next_seq = self.next_seq.wrapping_add(n as u32);
    }

    pub(super) fn deliver<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        data: &[u8],
        missing: u32,
        at: Stamp,
        fx: &mut Effects,
    ) {
        if !data.is_empty() {
            let meta = self.meta(base, at.ts_us, at.frame);
            c.data(&mut self.state, &meta, data);
            self.advance(data.len() as u64);
            fx.delivered_bytes += data.len() as u64;
        }
        if missing > 0 {
            self.emit_gap(c, base, u64::from(missing), GapReason::Snaplen, at, fx);
        }
    }

    pub(super) fn emit_gap<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        len: u64,
        reason: GapReason,
        at: Stamp,
        fx: &mut Effects,
    ) {
        let meta = self.meta(base, at.ts_us, at.frame);
        c.gap(&mut self.state, &meta, len, reason);
        self.advance(len);
        let slot = &mut fx.gaps[reason_index(reason)];
        slot.0 += 1;
        slot.1 += len;
    }

    /// Handles one segment of this direction.
    pub(super) fn segment<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        seg: Segment<'_>,
        at: Stamp,
        limits: Limits,
        fx: &mut Effects,
    ) {
        if self.closed {
            return;
        }
        let Segment { seq, payload, missing, fin } = seg;
        self.last_frame = at.frame;
        let total = payload.len() as u64 + u64::from(missing);
        if let Some(off) = self.offset_of(seq) {
            if fin {
                let fin_off = off + total;
                if self.fin_off.is_none() {
                    self.fin_off = Some(fin_off);
                }
            }
            if total > 0 {
                self.place(c, base, Piece { off, payload, missing }, at, limits, fx);
            }
        } else {
            fx.duplicate_bytes += payload.len() as u64;
        }
        if !self.pending.is_empty() {
            self.resolve_holes(c, base, at.ts_us, limits, fx);
        }
        self.check_fin(c, base, at.ts_us, fx);
    }

    fn place<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        piece: Piece<'_>,
        at: Stamp,
        limits: Limits,
        fx: &mut Effects,
    ) {
        let Piece { off, payload, missing } = piece;
        let Stamp { frame, ts_us } = at;
        let end = off + payload.len() as u64 + u64::from(missing);
        if end <= self.next_off {
            fx.duplicate_bytes += payload.len() as u64;
            return;
        }
        if off <= self.next_off {
            let skip = (self.next_off - off) as usize;
            if skip >= payload.len() {
                fx.duplicate_bytes += payload.len() as u64;
                let rest = (end - self.next_off) as u32;
                self.deliver(c, base, &[], rest, at, fx);
            } else {
                fx.duplicate_bytes += skip as u64;
                let avail = &payload[skip..];
                // Queued bytes were captured first: deliver only up to them.
                let next_queued = self.pending.first_key_value().map(|(&k, _)| k);
                match next_queued {
                    Some(q) if q < self.next_off + avail.len() as u64 => {
                        let take = (q - self.next_off) as usize;
                        self.deliver(c, base, &avail[..take], 0, at, fx);
                        self.drain(c, base, fx);
                        let rest = Piece { off: q, payload: &avail[take..], missing };
                        return self.place(c, base, rest, at, limits, fx);
                    }
                    _ => self.deliver(c, base, avail, missing, at, fx),
                }
            }
            self.drain(c, base, fx);
            return;
        }
        // Out of order: queue it (first copy of an offset wins).
        if self.pending.contains_key(&off) {
            let existing_end = self.pending.get(&off).map_or(off, |p| off + p.data.len() as u64 + u64::from(p.missing));
            if end <= existing_end {
                fx.duplicate_bytes += payload.len() as u64;
                return;
            }
            // Keep the longer tail as its own entry.
            let cut = (existing_end - off) as usize;
            if cut < payload.len() {
                let tail = Piece { off: existing_end, payload: &payload[cut..], missing };
                return self.place(c, base, tail, at, limits, fx);
            }
            return;
        }
        if self.hole_since.is_none() {
            self.hole_since = Some(ts_us);
        }
        self.pending.insert(off, Pending { data: payload.to_vec(), missing, frame, ts_us });
        self.pending_bytes += payload.len();
        fx.pending_delta += payload.len() as i64;
        while self.pending_bytes > limits.max_pending && !self.pending.is_empty() {
            fx.cap_hit = true;
            self.skip_hole(c, base, GapReason::CapHit, fx);
        }
    }

    pub(super) fn check_fin<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        ts_us: i64,
        fx: &mut Effects,
    ) {
        if let Some(fin_off) = self.fin_off
            && self.next_off >= fin_off
            && !self.closed
        {
            let frame = self.last_frame;
            self.close(c, base, CloseReason::Fin, ts_us, frame, fx);
        }
    }

    /// Ends the direction: remaining holes become gaps, queued data is
    /// delivered, and the consumer is told.
    pub(super) fn close<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        reason: CloseReason,
        ts_us: i64,
        frame: u64,
        fx: &mut Effects,
    ) {
        if self.closed {
            return;
        }
        while !self.pending.is_empty() {
            self.skip_hole(c, base, GapReason::Unfilled, fx);
        }
        self.closed = true;
        if self.started {
            let meta = self.meta(base, ts_us, frame);
            c.close(&mut self.state, &meta, reason);
        }
    }
}
