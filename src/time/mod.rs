//! Capture time: timestamps as UTC text (no time-zone database needed), and
//! capture clocks ([`clocks`]: how a capture's clock sits against the
//! reference, offsets between two captures' clocks). Shared by the vantage
//! plan, the analysis and the outputs; imports nothing of the crate.

pub mod clocks;

/// `2026-11-24T19:23:01.123456Z` for microseconds since the Unix epoch.
pub fn format_utc_us(ts_us: i64) -> String {
    let secs = ts_us.div_euclid(1_000_000);
    let micros = ts_us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, (sod % 3600) / 60, sod % 60)
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A time as a user writes it on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// Microseconds since the epoch (RFC 3339 with any offset, or a plain
    /// integer).
    Absolute(i64),
    /// `+6.923s` (or `+6.923`): after the first message of the captures,
    /// as the report prints it.
    Relative(i64),
    /// `18:49:40.5`: a time of day (UTC) on the date of the first message.
    TimeOfDay(i64),
}

impl TimeSpec {
    /// Parses any of the forms above.
    pub fn parse(s: &str) -> Option<TimeSpec> {
        let s = s.trim();
        if let Some(rel) = s.strip_prefix('+') {
            let secs: f64 = rel.strip_suffix('s').unwrap_or(rel).parse().ok()?;
            return (secs.is_finite() && secs >= 0.0).then(|| TimeSpec::Relative((secs * 1e6).round() as i64));
        }
        if !s.contains(['T', '-', ' ']) && s.contains(':') {
            let t = parse_utc_us(&format!("1970-01-01T{s}"))?;
            return (t < 86_400_000_000).then_some(TimeSpec::TimeOfDay(t));
        }
        parse_utc_us(s).map(TimeSpec::Absolute)
    }

    /// The instant, given the first message's time `t0`.
    pub fn resolve(self, t0: i64) -> i64 {
        match self {
            TimeSpec::Absolute(t) => t,
            TimeSpec::Relative(d) => t0 + d,
            TimeSpec::TimeOfDay(tod) => t0.div_euclid(86_400_000_000) * 86_400_000_000 + tod,
        }
    }
}

/// Parses `2026-11-24T19:23:01.123456Z` (fraction optional; `Z`, an offset
/// such as `+02:00`/`-0500`, or nothing for UTC) or a plain integer of
/// microseconds since the epoch.
pub fn parse_utc_us(s: &str) -> Option<i64> {
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once(['T', ' '])?;
    // A UTC offset after the time: `+HH:MM`, `-HH:MM`, `+HHMM`, `+HH`.
    let (time, offset_us) = match time.rfind(['+', '-']) {
        Some(i) => {
            let (t, off) = time.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
                return None;
            }
            let h: i64 = digits[..2].parse().ok()?;
            let m: i64 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
            (t, sign * (h * 3600 + m * 60) * 1_000_000)
        }
        None => (time, 0),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: i64 = dp.next()?.parse().ok()?;
    let d: i64 = dp.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.split(':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut micros = 0i64;
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{frac:0<6}");
        micros = padded[..6].parse().ok()?;
    }
    let days = days_from_civil(y, m, d);
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + micros - offset_us)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_utc_us(0), "1970-01-01T00:00:00.000000Z");
        // 1795546173963000 us: the operator's MEET in the shared 3.0.7 capture.
        assert_eq!(format_utc_us(1_795_546_173_963_000), "2026-11-24T18:49:33.963000Z");
        assert_eq!(format_utc_us(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
        assert_eq!(format_utc_us(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn parse_round_trips() {
        for t in [0i64, 1_795_546_173_963_123, 951_782_400_000_001, 4_102_444_800_000_000] {
            assert_eq!(parse_utc_us(&format_utc_us(t)), Some(t));
        }
        assert_eq!(parse_utc_us("2026-11-24T18:49:33Z"), Some(1_795_546_173_000_000));
        assert_eq!(parse_utc_us("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc_us("garbage"), None);
    }

    #[test]
    fn offsets_and_the_reports_forms_are_accepted() {
        let t = 1_795_546_173_000_000; // 2026-11-24T18:49:33Z
        assert_eq!(parse_utc_us("2026-11-24T20:49:33+02:00"), Some(t));
        assert_eq!(parse_utc_us("2026-11-24T13:49:33-0500"), Some(t));
        assert_eq!(TimeSpec::parse("+6.923s"), Some(TimeSpec::Relative(6_923_000)));
        assert_eq!(TimeSpec::parse("+6.923"), Some(TimeSpec::Relative(6_923_000)));
        assert_eq!(TimeSpec::parse("18:49:40.5").map(|s| s.resolve(t)), Some(t + 7_500_000));
        assert_eq!(TimeSpec::parse("2026-11-24T18:49:33Z"), Some(TimeSpec::Absolute(t)));
        assert_eq!(TimeSpec::parse("+abc"), None);
        assert_eq!(TimeSpec::parse("25:00"), None);
    }
}
