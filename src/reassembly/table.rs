//! The connection table: finds the connection of each segment, handles
//! SYN/FIN/RST, port reuse, idle eviction and the global buffer cap.

use super::half_stream::{Effects, HalfStream, Limits, MetaBase, Segment, Stamp};
use super::stats::ReassemblyStats;
use super::stream::{CloseReason, GapReason, StreamConsumer};
use crate::decode::{Endpoint, TcpSegment};
use rustc_hash::FxHashMap as HashMap;

/// Reassembly limits. Times are capture time.
#[derive(Clone, Copy, Debug)]
pub struct ReassemblyConfig {
    /// Out-of-order bytes buffered per direction before the oldest hole is
    /// declared lost.
    pub max_pending_per_stream: usize,
    /// Out-of-order bytes buffered over all connections.
    pub max_pending_total: usize,
    /// A hole still open after this long is declared lost.
    pub hole_timeout_us: i64,
    /// Connections without packets for this long are closed.
    pub idle_timeout_us: i64,
    /// Closed connections are remembered this long, so late retransmissions
    /// are not taken for a new connection.
    pub linger_us: i64,
    /// Connections tracked at once (open or lingering). Past it, closed
    /// ones are forgotten and then the least recently active open ones are
    /// closed as idle (counted in `connections_evicted`), a tenth at a time.
    pub max_connections: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_pending_per_stream: 1 << 20,
            max_pending_total: 64 << 20,
            hole_timeout_us: 10_000_000,
            idle_timeout_us: 120_000_000,
            linger_us: 30_000_000,
            max_connections: 100_000,
        }
    }
}

struct Conn<S> {
    id: u64,
    /// `ends[0] < ends[1]`; direction 0 is ends[0] → ends[1].
    ends: [Endpoint; 2],
    halves: [HalfStream<S>; 2],
    /// Direction index of the side that sent the SYN.
    initiator: Option<usize>,
    /// ISN of each direction when its SYN was seen.
    isn: [Option<u32>; 2],
    last_ts: i64,
    closed_at: Option<i64>,
}

impl<S: Default> Conn<S> {
    fn base(&self, dir: usize) -> MetaBase {
        MetaBase {
            conn_id: self.id,
            src: self.ends[dir],
            dst: self.ends[1 - dir],
            from_initiator: self.initiator.map(|i| i == dir),
        }
    }
}

/// TCP reassembler for one capture (one vantage point).
pub struct Reassembler<S> {
    /// Boxed: the table's slots stay small (a connection's state is a few
    /// hundred bytes; empty slots would cost as much).
    conns: HashMap<[Endpoint; 2], Box<Conn<S>>>,
    next_id: u64,
    config: ReassemblyConfig,
    stats: ReassemblyStats,
    pending_total: i64,
    last_sweep: Option<i64>,
}

impl<S: Default> Reassembler<S> {
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            conns: HashMap::default(),
            next_id: 1,
            config,
            stats: ReassemblyStats::default(),
            pending_total: 0,
            last_sweep: None,
        }
    }

    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Out-of-order bytes held now, waiting for a hole to fill: while none
    /// are, everything the streams will deliver comes from packets not
    /// fed yet.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_total.max(0) as u64
    }

    fn limits(&self) -> Limits {
        Limits { max_pending: self.config.max_pending_per_stream, hole_timeout_us: self.config.hole_timeout_us }
    }

    fn apply(&mut self, fx: &Effects) {
        let s = &mut self.stats;
        s.delivered_bytes += fx.delivered_bytes;
        s.duplicate_bytes += fx.duplicate_bytes;
        s.gaps_not_captured += fx.gaps[0].0;
        s.gap_bytes_not_captured += fx.gaps[0].1;
        s.gaps_snaplen += fx.gaps[1].0;
        s.gap_bytes_snaplen += fx.gaps[1].1;
        s.gaps_cap_hit += fx.gaps[2].0;
        s.gap_bytes_cap_hit += fx.gaps[2].1;
        s.gaps_unfilled += fx.gaps[3].0;
        s.gap_bytes_unfilled += fx.gaps[3].1;
        s.cap_hits += u64::from(fx.cap_hit);
        self.pending_total += fx.pending_delta;
        s.peak_pending_bytes = s.peak_pending_bytes.max(self.pending_total.max(0) as u64);
    }

    /// Feeds one decoded segment captured at `ts_us` in frame `frame`.
    pub fn feed<C: StreamConsumer<State = S>>(
        &mut self,
        seg: &TcpSegment<'_>,
        ts_us: i64,
        frame: u64,
        consumer: &mut C,
    ) {
        self.stats.segments += 1;
        self.sweep(ts_us, consumer);
        let (key, dir) = if seg.src <= seg.dst { ([seg.src, seg.dst], 0) } else { ([seg.dst, seg.src], 1) };
        let syn_only = seg.flags.syn && !seg.flags.ack;
        let carries = !seg.payload.is_empty() || seg.missing > 0 || seg.flags.fin;

        // A segment of an open connection that is not a new SYN (nearly
        // all of them) skips the checks below.
        let open = !syn_only && self.conns.get(&key).is_some_and(|c| c.closed_at.is_none());
        if !open {
            // Port reuse and segments after close.
            if let Some(conn) = self.conns.get(&key) {
                let reused = syn_only && conn.isn[dir].is_some_and(|isn| isn != seg.seq);
                let fresh_after_close = syn_only && conn.closed_at.is_some();
                if reused || fresh_after_close {
                    if let Some(mut old) = self.conns.remove(&key)
                        && old.closed_at.is_none()
                    {
                        self.stats.port_reuses += 1;
                        let mut fx = Effects::default();
                        close_conn(&mut old, consumer, CloseReason::Reused, ts_us, frame, &mut fx);
                        self.apply(&fx);
                    }
                } else if conn.closed_at.is_some() {
                    self.stats.segments_after_close += 1;
                    return;
                }
            }
            if !self.conns.contains_key(&key) {
                if !(seg.flags.syn || carries) || seg.flags.rst {
                    return;
                }
                if self.conns.len() >= self.config.max_connections.max(1) {
                    self.evict(consumer, ts_us, frame);
                }
                let id = self.next_id;
                self.next_id += 1;
                self.stats.connections += 1;
                self.conns.insert(
                    key,
                    Box::new(Conn {
                        id,
                        ends: key,
                        halves: [HalfStream::default(), HalfStream::default()],
                        initiator: None,
                        isn: [None, None],
                        last_ts: ts_us,
                        closed_at: None,
                    }),
                );
                self.stats.peak_connections = self.stats.peak_connections.max(self.conns.len() as u64);
            }
        }
        let limits = self.limits();
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        conn.last_ts = ts_us;
        let mut fx = Effects::default();

        if seg.flags.syn {
            if conn.isn[dir].is_none() {
                conn.isn[dir] = Some(seg.seq);
            }
            if conn.initiator.is_none() {
                conn.initiator = Some(if seg.flags.ack { 1 - dir } else { dir });
            }
            if !conn.halves[dir].is_started() {
                conn.halves[dir].start(seg.seq.wrapping_add(1), false);
            }
        } else if carries && !conn.halves[dir].is_started() {
            conn.halves[dir].start(seg.seq, true);
        }

        if seg.flags.ack {
            let base = conn.base(1 - dir);
            conn.halves[1 - dir].ack(consumer, &base, seg.ack, ts_us, limits, &mut fx);
        }
        if carries {
            let base = conn.base(dir);
            let seq = if seg.flags.syn { seg.seq.wrapping_add(1) } else { seg.seq };
            let piece = Segment { seq, payload: seg.payload, missing: seg.missing, fin: seg.flags.fin };
            conn.halves[dir].segment(consumer, &base, piece, Stamp { frame, ts_us }, limits, &mut fx);
        }
        if seg.flags.rst {
            close_conn(conn, consumer, CloseReason::Rst, ts_us, frame, &mut fx);
        }
        if conn.halves.iter().all(|h| h.is_closed()) {
            conn.closed_at = Some(ts_us);
        }
        if conn.closed_at.is_some() {
            drop_state(conn);
        }
        self.apply(&fx);

        if self.pending_total > self.config.max_pending_total as i64 {
            self.shed(consumer, ts_us, frame);
        }
    }

    /// Global cap: declares the holes of the most-buffered streams lost.
    fn shed<C: StreamConsumer<State = S>>(&mut self, consumer: &mut C, ts_us: i64, frame: u64) {
        let mut fx = Effects::default();
        let mut order: Vec<([Endpoint; 2], usize, usize)> = Vec::new();
        for (k, c) in &self.conns {
            for d in 0..2 {
                let n = c.halves[d].pending_bytes();
                if n > 0 {
                    order.push((*k, d, n));
                }
            }
        }
        order.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        let mut total = self.pending_total;
        for (k, d, n) in order {
            if total <= (self.config.max_pending_total / 2) as i64 {
                break;
            }
            if let Some(conn) = self.conns.get_mut(&k) {
                let base = conn.base(d);
                conn.halves[d].flush_holes(consumer, &base, GapReason::CapHit, ts_us, frame, &mut fx);
                fx.cap_hit = true;
                total -= n as i64;
            }
        }
        self.apply(&fx);
    }

    /// The bound on tracked connections: forgets closed connections, then
    /// closes the least recently active open ones until a tenth is free.
    fn evict<C: StreamConsumer<State = S>>(&mut self, consumer: &mut C, ts_us: i64, frame: u64) {
        self.conns.retain(|_, c| c.closed_at.is_none());
        let keep = self.config.max_connections - self.config.max_connections / 10;
        if self.conns.len() < keep.max(1) {
            return;
        }
        // Connections the consumer values (cluster bus) go last.
        let mut order: Vec<(bool, i64, u64, [Endpoint; 2])> = self
            .conns
            .iter()
            .map(|(k, c)| (c.halves.iter().any(|h| consumer.precious(&h.state)), c.last_ts, c.id, *k))
            .collect();
        order.sort_unstable();
        let excess = self.conns.len() + 1 - keep.max(1);
        let mut fx = Effects::default();
        for (_, _, _, k) in order.into_iter().take(excess) {
            if let Some(mut conn) = self.conns.remove(&k) {
                self.stats.connections_evicted += 1;
                close_conn(&mut conn, consumer, CloseReason::Idle, ts_us, frame, &mut fx);
            }
        }
        self.apply(&fx);
    }

    /// Closes idle connections and forgets closed ones after the linger time.
    fn sweep<C: StreamConsumer<State = S>>(&mut self, now: i64, consumer: &mut C) {
        let due = match self.last_sweep {
            None => {
                self.last_sweep = Some(now);
                false
            }
            Some(t) => now.saturating_sub(t) >= 1_000_000,
        };
        if !due {
            return;
        }
        self.last_sweep = Some(now);
        // Holes on directions that went quiet (a capture that dropped
        // packets, then the connection idled) would hold their queued
        // bytes until the idle timeout: expire them here.
        let limits = self.limits();
        let mut waiting: Vec<(u64, [Endpoint; 2])> = self
            .conns
            .iter()
            .filter(|(_, c)| c.halves.iter().any(|h| h.pending_bytes() > 0))
            .map(|(k, c)| (c.id, *k))
            .collect();
        waiting.sort();
        let mut fx = Effects::default();
        for (_, k) in waiting {
            if let Some(conn) = self.conns.get_mut(&k) {
                for d in 0..2 {
                    let base = conn.base(d);
                    conn.halves[d].expire_holes(consumer, &base, now, limits, &mut fx);
                }
            }
        }
        self.apply(&fx);
        let idle = self.config.idle_timeout_us;
        let linger = self.config.linger_us;
        let mut expired: Vec<[Endpoint; 2]> = self
            .conns
            .iter()
            .filter(|(_, c)| match c.closed_at {
                Some(t) => now.saturating_sub(t) > linger,
                None => now.saturating_sub(c.last_ts) > idle,
            })
            .map(|(k, _)| *k)
            .collect();
        expired.sort();
        let mut fx = Effects::default();
        for k in expired {
            if let Some(mut conn) = self.conns.remove(&k)
                && conn.closed_at.is_none()
            {
                self.stats.idle_evictions += 1;
                close_conn(&mut conn, consumer, CloseReason::Idle, now, 0, &mut fx);
            }
        }
        self.apply(&fx);
    }

    /// Ends the capture: every open stream is closed (holes become gaps).
    pub fn finish<C: StreamConsumer<State = S>>(&mut self, consumer: &mut C, ts_us: i64) {
        // In the order the connections were first seen (ids are unique):
        // sorted with their ids beside them, not looked up per comparison.
        let mut keys: Vec<(u64, [Endpoint; 2])> = self.conns.iter().map(|(k, c)| (c.id, *k)).collect();
        keys.sort_unstable_by_key(|&(id, _)| id);
        let mut fx = Effects::default();
        for (_, k) in keys {
            if let Some(mut conn) = self.conns.remove(&k)
                && conn.closed_at.is_none()
            {
                close_conn(&mut conn, consumer, CloseReason::EndOfCapture, ts_us, 0, &mut fx);
            }
        }
        self.apply(&fx);
    }
}

fn close_conn<C: StreamConsumer>(
    conn: &mut Conn<C::State>,
    consumer: &mut C,
    reason: CloseReason,
    ts_us: i64,
    frame: u64,
    fx: &mut Effects,
) {
    for d in 0..2 {
        let base = conn.base(d);
        conn.halves[d].close(consumer, &base, reason, ts_us, frame, fx);
    }
    conn.closed_at = Some(ts_us);
}

/// Frees the consumer state of a closed connection early (tombstones stay
/// small).
fn drop_state<S: Default>(conn: &mut Conn<S>) {
    for h in &mut conn.halves {
        h.state = S::default();
    }
}
