//! Reassembly's counters (`dump --stats`), and how a run adds them up.

use serde::Serialize;

/// Counters for `--stats`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ReassemblyStats {
    pub connections: u64,
    pub segments: u64,
    pub delivered_bytes: u64,
    pub duplicate_bytes: u64,
    pub gaps_not_captured: u64,
    pub gap_bytes_not_captured: u64,
    pub gaps_snaplen: u64,
    pub gap_bytes_snaplen: u64,
    pub gaps_cap_hit: u64,
    pub gap_bytes_cap_hit: u64,
    pub gaps_unfilled: u64,
    pub gap_bytes_unfilled: u64,
    pub cap_hits: u64,
    pub segments_after_close: u64,
    pub idle_evictions: u64,
    /// Open connections closed early because `max_connections` was reached.
    pub connections_evicted: u64,
    pub port_reuses: u64,
    pub peak_pending_bytes: u64,
    pub peak_connections: u64,
}

impl ReassemblyStats {
    /// Adds another reassembler's counters (run totals); peaks take the
    /// larger.
    pub fn absorb(&mut self, o: &ReassemblyStats) {
        // Destructured so that a new counter cannot be left out.
        let ReassemblyStats {
            connections,
            segments,
            delivered_bytes,
            duplicate_bytes,
            gaps_not_captured,
            gap_bytes_not_captured,
            gaps_snaplen,
            gap_bytes_snaplen,
            gaps_cap_hit,
            gap_bytes_cap_hit,
            gaps_unfilled,
            gap_bytes_unfilled,
            cap_hits,
            segments_after_close,
            idle_evictions,
            connections_evicted,
            port_reuses,
            peak_pending_bytes,
            peak_connections,
        } = self;
        for (sum, add) in [
            (connections, o.connections),
            (segments, o.segments),
            (delivered_bytes, o.delivered_bytes),
            (duplicate_bytes, o.duplicate_bytes),
            (gaps_not_captured, o.gaps_not_captured),
            (gap_bytes_not_captured, o.gap_bytes_not_captured),
            (gaps_snaplen, o.gaps_snaplen),
            (gap_bytes_snaplen, o.gap_bytes_snaplen),
            (gaps_cap_hit, o.gaps_cap_hit),
            (gap_bytes_cap_hit, o.gap_bytes_cap_hit),
            (gaps_unfilled, o.gaps_unfilled),
            (gap_bytes_unfilled, o.gap_bytes_unfilled),
            (cap_hits, o.cap_hits),
            (segments_after_close, o.segments_after_close),
            (idle_evictions, o.idle_evictions),
            (connections_evicted, o.connections_evicted),
            (port_reuses, o.port_reuses),
        ] {
            *sum += add;
        }
        *peak_pending_bytes = (*peak_pending_bytes).max(o.peak_pending_bytes);
        *peak_connections = (*peak_connections).max(o.peak_connections);
    }
}
