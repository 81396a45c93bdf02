//! The holes of one direction's out-of-order queue: when a hole is given
//! up for lost (the peer acknowledged past it, it waited longer than the
//! hole timeout, a buffer cap was hit, the connection ended) and becomes a
//! gap, and the queued bytes behind it are delivered.

use super::half_stream::{Effects, HalfStream, Limits, MetaBase, Stamp};
use super::stream::{GapReason, StreamConsumer};

impl<S> HalfStream<S> {
    /// Delivers queued segments that have become contiguous.
    pub(super) fn drain<C: StreamConsumer<State = S>>(&mut self, c: &mut C, base: &MetaBase, fx: &mut Effects) {
        while let Some(entry) = self.pending.first_entry() {
            let off = *entry.key();
            if off > self.next_off {
                break;
            }
            let p = entry.remove();
            let total = p.data.len() as u64 + u64::from(p.missing);
            self.pending_bytes -= p.data.len();
            fx.pending_delta -= p.data.len() as i64;
            let end = off + total;
            if end <= self.next_off {
                fx.duplicate_bytes += p.data.len() as u64;
                continue;
            }
            let skip = (self.next_off - off) as usize;
            if skip >= p.data.len() {
                // Only snaplen-missing bytes remain.
                let rest = (end - self.next_off) as u32;
                fx.duplicate_bytes += p.data.len() as u64;
                self.deliver(c, base, &[], rest, Stamp { frame: p.frame, ts_us: p.ts_us }, fx);
            } else {
                fx.duplicate_bytes += skip as u64;
                self.deliver(c, base, &p.data[skip..], p.missing, Stamp { frame: p.frame, ts_us: p.ts_us }, fx);
            }
        }
        if self.pending.is_empty() {
            self.hole_since = None;
        }
    }

    /// Declares the hole before the first queued segment lost and delivers
    /// what follows it.
    pub(super) fn skip_hole<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        reason: GapReason,
        fx: &mut Effects,
    ) {
        if let Some((&off, p)) = self.pending.first_key_value()
            && off > self.next_off
        {
            let at = Stamp { frame: p.frame, ts_us: p.ts_us };
            self.emit_gap(c, base, off - self.next_off, reason, at, fx);
        }
        self.hole_since = None;
        self.drain(c, base, fx);
    }

    /// Resolves holes the peer has acknowledged past (lost to the capture,
    /// not to the network), and holes older than the timeout.
    pub(super) fn resolve_holes<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        now_us: i64,
        limits: Limits,
        fx: &mut Effects,
    ) {
        while let Some((&off, _)) = self.pending.first_key_value() {
            let acked = self.peer_acked >= off;
            let timed_out = self.hole_since.is_some_and(|t| now_us.saturating_sub(t) > limits.hole_timeout_us);
            if acked {
                self.skip_hole(c, base, GapReason::NotCaptured, fx);
            } else if timed_out {
                self.skip_hole(c, base, GapReason::Unfilled, fx);
            } else {
                break;
            }
            if !self.pending.is_empty() {
                self.hole_since = Some(now_us);
            }
        }
        self.check_fin(c, base, now_us, fx);
    }

    /// Declares holes lost that waited longer than the hole timeout, on a
    /// direction that may get no more packets (so the bytes queued behind
    /// them are delivered, and freed).
    pub(super) fn expire_holes<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        now_us: i64,
        limits: Limits,
        fx: &mut Effects,
    ) {
        if !self.pending.is_empty() && !self.closed {
            self.resolve_holes(c, base, now_us, limits, fx);
        }
    }

    /// Records an acknowledgment sent by the peer for this direction.
    pub(super) fn ack<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        ack: u32,
        now_us: i64,
        limits: Limits,
        fx: &mut Effects,
    ) {
        if !self.started || self.closed {
            return;
        }
        let rel = ack.wrapping_sub(self.next_seq) as i32;
        if rel > 0 {
            let off = self.next_off + rel as u64;
            if off > self.peer_acked {
                self.peer_acked = off;
            }
            if !self.pending.is_empty() {
                self.resolve_holes(c, base, now_us, limits, fx);
            }
        }
    }

    /// Declares every open hole lost now (global cap) and delivers what
    /// was queued behind them.
    pub(super) fn flush_holes<C: StreamConsumer<State = S>>(
        &mut self,
        c: &mut C,
        base: &MetaBase,
        reason: GapReason,
        ts_us: i64,
        _frame: u64,
        fx: &mut Effects,
    ) {
        while !self.pending.is_empty() {
            self.skip_hole(c, base, reason, fx);
        }
        self.check_fin(c, base, ts_us, fx);
    }
}
