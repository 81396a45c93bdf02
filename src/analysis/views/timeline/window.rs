//! The time side of the timeline: the capture's span, the window drawn
//! (the incident's with margins by default, or as asked), the overview
//! strip of the whole capture, the merge lines and the cluster count.

use super::{MARGIN_MAX_US, MARGIN_MIN_US, MergeLine, OVERVIEW_BUCKETS, Overview, Window, WindowKind};
use crate::analysis::model::Analysis;
use crate::analysis::views::incident::{self, hms};

/// The window drawn by default: the incident plus a margin each side,
/// within the capture; the whole capture when nothing happened.
pub fn default_window(a: &Analysis, first: i64, last: i64) -> (i64, i64) {
    match incident::incident_span(a) {
        Some(s) => {
            let (start, end) = (s.first.ts_us, s.last.ts_us);
            let margin = ((end - start) / 10).clamp(MARGIN_MIN_US, MARGIN_MAX_US);
            ((start - margin).max(first), (end + margin).min(last).max(first))
        }
        None => (first, last),
    }
}

/// The capture's first and last moment: of its decoded messages, else of
/// its encrypted connections.
pub fn capture_span(a: &Analysis) -> (i64, i64) {
    let first = a.t0_us().unwrap_or(0);
    let ends = a.captures.iter().filter_map(|c| c.last_ts_us);
    let last = ends.chain(a.coverage.encrypted.iter().map(|f| f.last_ts_us)).max().unwrap_or(first).max(first);
    (first, last)
}

/// The window `[t0, t1]` and what it is.
pub(super) fn window(a: &Analysis, since_us: Option<i64>, until_us: Option<i64>) -> (i64, i64, Window) {
    let (first, last) = capture_span(a);
    let incident = incident::incident_span(a);
    if since_us.is_some() || until_us.is_some() {
        let t0 = since_us.unwrap_or(first).clamp(first, last);
        let t1 = until_us.unwrap_or(last).min(last).max(t0);
        let text = format!("window {} to {} as asked (--since/--until)", hms(t0), hms(t1));
        return (t0, t1, Window { kind: WindowKind::Asked, incident, text });
    }
    let (t0, t1) = default_window(a, first, last);
    let text = match &incident {
        Some(s) => format!(
            "window: the incident, first evidence {} ({}) to last damage {} ({}), plus margins",
            hms(s.first.ts_us),
            s.first.what,
            hms(s.last.ts_us),
            s.last.what
        ),
        None => "window: the whole capture (no incident found)".into(),
    };
    let kind = if incident.is_some() { WindowKind::Incident } else { WindowKind::Capture };
    (t0, t1, Window { kind, incident, text })
}

/// The whole capture: activity per slice, every merge.
pub(super) fn overview(a: &Analysis, first: i64, last: i64, times: &[i64]) -> Overview {
    Overview {
        first_us: first,
        last_us: last,
        activity: buckets(times, first, last),
        merges_us: a.merges.iter().map(|m| m.ts_us).collect(),
    }
}

/// The merges inside the window.
pub(super) fn merge_lines(a: &Analysis, t0: i64, t1: i64) -> Vec<MergeLine> {
    a.merges
        .iter()
        .filter(|m| m.ts_us >= t0 && m.ts_us <= t1)
        .map(|m| MergeLine {
            ts_us: m.ts_us,
            label: format!(
                "merge: {} + {} nodes",
                m.sides.first().map_or(0, Vec::len),
                m.sides.get(1).map_or(0, Vec::len)
            ),
        })
        .collect()
}

/// Separate clusters over `[t0, t1]`: one fewer at each merge.
pub(super) fn cluster_count(a: &Analysis, t0: i64, t1: i64) -> Vec<(i64, usize)> {
    let mut count = a.clusters.len();
    let mut out = vec![(t0, count)];
    for m in &a.merges {
        count = count.saturating_sub(1);
        if m.ts_us > t0 {
            out.push((m.ts_us.min(t1), count));
        } else if let Some(c) = out.first_mut() {
            c.1 = count;
        }
    }
    out.push((t1, count));
    out
}

/// How many of `times` fall in each of [`OVERVIEW_BUCKETS`] slices of
/// `[first, last]`.
fn buckets(times: &[i64], first: i64, last: i64) -> Vec<u32> {
    let mut out = vec![0u32; OVERVIEW_BUCKETS];
    let span = (last - first).max(1) as i128;
    for &ts in times.iter().filter(|&&ts| ts >= first && ts <= last) {
        let k = ((ts - first) as i128 * OVERVIEW_BUCKETS as i128 / span) as usize;
        if let Some(b) = out.get_mut(k.min(OVERVIEW_BUCKETS - 1)) {
            *b += 1;
        }
    }
    out
}
