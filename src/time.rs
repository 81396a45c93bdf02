//! Capture timestamps as UTC text (no time-zone database needed). Shared by
//! the analysis (story sentences) and the outputs; imports nothing of the
//! crate.

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

/// Parses `2026-11-24T19:23:01.123456Z` (fraction optional, `Z` optional)
/// or a plain integer of microseconds since the epoch.
pub fn parse_utc_us(s: &str) -> Option<i64> {
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once(['T', ' '])?;
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
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + micros)
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
}
