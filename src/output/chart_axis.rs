//! The chart's time axis: round tick steps and wall-clock labels (UTC).

use crate::time::format_utc_us;

/// Tick steps, µs: the first that gives few enough ticks is used.
const TICK_STEPS_US: [i64; 27] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    15_000_000,
    30_000_000,
    60_000_000,
    120_000_000,
    300_000_000,
    600_000_000,
    900_000_000,
    1_800_000_000,
    3_600_000_000,
    7_200_000_000,
    10_800_000_000,
    21_600_000_000,
    43_200_000_000,
    86_400_000_000,
];

/// `HH:MM:SS` with `decimals` digits of the second.
pub fn clock(ts_us: i64, decimals: usize) -> String {
    let s = format_utc_us(ts_us);
    let end = if decimals == 0 { 19 } else { 20 + decimals.min(6) };
    s.get(11..end).unwrap_or(&s).to_string()
}

/// Tick times in `[t0, t1]` at a round step, at most `max` of them, and the
/// decimals their labels need.
pub fn ticks(t0: i64, t1: i64, max: usize) -> (Vec<i64>, usize) {
    let span = (t1 - t0).max(1);
    let step = TICK_STEPS_US.iter().copied().find(|s| span / s <= max.max(2) as i64).unwrap_or(86_400_000_000);
    let decimals = match step {
        s if s >= 1_000_000 => 0,
        s if s >= 100_000 => 1,
        s if s >= 10_000 => 2,
        _ => 3,
    };
    let mut out = Vec::new();
    let mut ts = t0.div_euclid(step) * step;
    if ts < t0 {
        ts += step;
    }
    while ts <= t1 {
        out.push(ts);
        ts += step;
    }
    (out, decimals)
}

/// A duration for the title: seconds, or minutes past two.
pub fn seconds(us: i64) -> String {
    let s = us as f64 / 1e6;
    if s < 120.0 { format!("{s:.1} s") } else { format!("{:.1} min", s / 60.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_window() {
        let t0 = 1_795_546_173_052_225; // 18:49:33.052225
        let (ts, d) = ticks(t0, t0 + 11_000_000, 8);
        assert_eq!(d, 0);
        assert_eq!(ts.len(), 6, "every 2 s");
        assert!(ts.iter().all(|&x| x % 2_000_000 == 0 && x >= t0 && x <= t0 + 11_000_000));
        assert_eq!(clock(ts[0], 0), "18:49:34");
        let (ts, d) = ticks(t0, t0 + 1_000_000, 8);
        assert_eq!((d, ts.len()), (1, 5));
        assert_eq!(clock(ts[0], d), "18:49:33.2");
    }
}
