//! `dump --stats`: the counters of each capture and of the whole run.

use crate::pipeline::{CaptureStats, TunnelStats};
use crate::time::format_utc_us;
use serde_json::json;
use std::io::{self, Write};

fn write_block(w: &mut dyn Write, title: &str, s: &CaptureStats) -> io::Result<()> {
    writeln!(w, "== {title}")?;
    let span = match (s.first_ts_us, s.last_ts_us) {
        (Some(a), Some(b)) => format!("{} .. {} ({:.3} s)", format_utc_us(a), format_utc_us(b), (b - a) as f64 / 1e6),
        _ => "-".to_string(),
    };
    writeln!(w, "time           {span}")?;
    writeln!(w, "packets        {} ({} bytes captured)", s.packets, s.bytes)?;
    writeln!(
        w,
        "tcp segments   {} (non-tcp packets {}, filtered out {})",
        s.tcp_segments, s.non_tcp_packets, s.filtered_segments
    )?;
    writeln!(w, "tcp flows      {}", s.tcp_flows)?;
    writeln!(w, "bus streams    {} (directions carrying cluster-bus messages)", s.bus_streams)?;
    writeln!(w, "messages       {} ({} bytes)", s.messages, s.message_bytes)?;
    if s.commands > 0 {
        writeln!(w, "commands       {} (CLUSTER commands on data ports)", s.commands)?;
    }
    for (t, n) in &s.messages_by_type {
        writeln!(w, "  type   {t:<24} {n}")?;
    }
    for (id, n) in &s.messages_by_sender {
        writeln!(w, "  sender {id} {n}")?;
    }
    let r = &s.reassembly;
    writeln!(
        w,
        "reassembly     delivered {} B, duplicate {} B, port reuses {}, idle evictions {}, evicted at the connection bound {}, peak buffered {} B",
        r.delivered_bytes,
        r.duplicate_bytes,
        r.port_reuses,
        r.idle_evictions,
        r.connections_evicted,
        r.peak_pending_bytes
    )?;
    if s.cut_packets > 0 {
        let at = s.snaplen.map(|n| format!(" at {n} bytes (snaplen)")).unwrap_or_default();
        writeln!(w, "cut packets    {}{at}: shorter than on the wire", s.cut_packets)?;
    }
    for line in tunnel_lines(&s.tunnels) {
        writeln!(w, "{line}")?;
    }
    if s.anomalies.is_empty() {
        writeln!(w, "anomalies      none")?;
    } else {
        let total: u64 = s.anomalies.values().sum();
        writeln!(w, "anomalies      {total}")?;
        for (k, n) in &s.anomalies {
            writeln!(w, "  {k:<24} {n}")?;
        }
    }
    Ok(())
}

/// What was taken off a capture's packets, one line each: the packets
/// that came out of tunnels, then each tunnel (kind, outer endpoints, UDP
/// port, VNI / key / session / label) with its packets, then what was
/// named but not decoded, broken or nested too deep. Empty for a capture
/// in no tunnel.
pub fn tunnel_lines(t: &TunnelStats) -> Vec<String> {
    if t.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("tunnels        {} packet(s) decapsulated", t.packets)];
    out.extend(t.tunnels.iter().map(|(tunnel, n)| format!("  {tunnel}  {n} packet(s)")));
    out.extend(t.unlisted.iter().map(|(k, n)| format!("  {k} (further tunnels, not listed)  {n} packet(s)")));
    out.extend(t.undecoded.iter().map(|(u, n)| format!("  not decoded: {u}  {n} packet(s)")));
    out.extend(t.malformed.iter().map(|(k, n)| format!("  broken {k} header: {n} packet(s)")));
    if t.too_deep > 0 {
        out.push(format!("  nested too deep: {} packet(s)", t.too_deep));
    }
    out
}

/// Human-readable statistics: one block per capture, then the total when
/// there are several.
pub fn write_stats_text(w: &mut dyn Write, per_capture: &[(String, CaptureStats)]) -> io::Result<()> {
    let mut total = CaptureStats::default();
    for (name, s) in per_capture {
        write_block(w, name, s)?;
        total.absorb(s);
    }
    if per_capture.len() > 1 {
        write_block(w, "total", &total)?;
    }
    Ok(())
}

/// One JSON object: `{"record":"stats","captures":{name: stats},"total":stats}`.
pub fn write_stats_json(w: &mut dyn Write, per_capture: &[(String, CaptureStats)]) -> io::Result<()> {
    let mut total = CaptureStats::default();
    let mut caps = serde_json::Map::new();
    for (name, s) in per_capture {
        total.absorb(s);
        caps.insert(name.clone(), serde_json::to_value(s).unwrap_or_default());
    }
    let v = json!({"record": "stats", "captures": caps, "total": total});
    writeln!(w, "{v}")
}
