//! Calendar dates as days since 1970-01-01, parsed from `YYYY-MM-DD` or RFC 3339.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number, as (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A day number as `YYYY-MM-DD`.
pub fn format_day(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Unix seconds as an RFC 3339 UTC date-time, to the second: `2026-11-26T14:30:00Z`.
pub fn format_rfc3339(unix_seconds: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let seconds = unix_seconds.floor() as i64;
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_day(days),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The longest duration accepted: 100 years, in seconds.
pub const MAX_DURATION_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

/// Parses a duration such as `90d`, `12h`, `30m`, `45s` or `2w` into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let invalid = || {
        format!(
            "invalid duration \"{text}\"; expected a number and a unit: s, m, h, d or w (such as 90d)"
        )
    };
    let text = text.trim();
    let unit = text.chars().last().ok_or_else(invalid)?;
    let seconds = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3_600.0,
        'd' => 86_400.0,
        'w' => 604_800.0,
        _ => return Err(invalid()),
    };
    let value: f64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| invalid())?;
    if !value.is_finite() || value <= 0.0 {
        return Err(invalid());
    }
    let total = value * seconds;
    if !(1.0..=MAX_DURATION_SECONDS).contains(&total) {
        return Err(format!("duration \"{text}\" is outside 1s to 100 years"));
    }
    Ok(total)
}

/// Parses a point in time: an RFC 3339 date-time, a date, or Unix seconds.
/// Unix seconds are accepted from 1970 up to the end of the year 9999.
pub fn parse_time(text: &str) -> Result<f64, String> {
    const LATEST: f64 = 253_402_300_799.0;
    let seconds = match text.trim().parse::<f64>() {
        Ok(seconds) => seconds,
        Err(_) => parse(text)? * 86_400.0,
    };
    if !(0.0..=LATEST).contains(&seconds) {
        return Err(format!(
            "\"{}\" is outside 1970-01-01 to 9999-12-31",
            crate::escape::echo(text)
        ));
    }
    Ok(seconds)
}

fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY-MM-DD`, or an RFC 3339 date-time (`2026-11-26T14:30:00Z`,
/// `2026-11-26T14:30:00.5+02:00`), into fractional days since 1970-01-01 UTC.
pub fn parse(text: &str) -> Result<f64, String> {
    let invalid =
        || format!("invalid date \"{text}\"; expected YYYY-MM-DD or an RFC 3339 date-time");
    let text = text.trim();
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let year = i64::from(number(y, 4).ok_or_else(invalid)?);
    let month = number(m, 2).ok_or_else(invalid)?;
    let day = number(d, 2).ok_or_else(invalid)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(format!("invalid date \"{text}\": no such day"));
    }
    #[allow(clippy::cast_precision_loss)]
    let mut days = days_from_civil(year, month, day) as f64;
    let Some(time) = time else {
        return Ok(days);
    };
    let (clock, offset_minutes) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0i64)
    } else {
        let at = time.rfind(['+', '-']).ok_or_else(invalid)?;
        let (clock, offset) = time.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':').ok_or_else(invalid)?;
        let hours = i64::from(number(h, 2).ok_or_else(invalid)?);
        let minutes = i64::from(number(m, 2).ok_or_else(invalid)?);
        if hours > 23 || minutes > 59 {
            return Err(invalid());
        }
        (clock, sign * (hours * 60 + minutes))
    };
    let mut fields = clock.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(invalid());
    };
    let (whole_seconds, fraction) = s.split_once('.').unwrap_or((s, ""));
    let hours = number(h, 2).ok_or_else(invalid)?;
    let minutes = number(m, 2).ok_or_else(invalid)?;
    let seconds = number(whole_seconds, 2).ok_or_else(invalid)?;
    if hours > 23 || minutes > 59 || seconds > 60 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let fraction: f64 = if fraction.is_empty() {
        0.0
    } else {
        format!("0.{fraction}").parse().map_err(|_| invalid())?
    };
    #[allow(clippy::cast_precision_loss)]
    let seconds_of_day =
        f64::from(hours * 3600 + minutes * 60 + seconds) + fraction - (offset_minutes * 60) as f64;
    days += seconds_of_day / 86_400.0;
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(format_day(days_from_civil(2026, 11, 27)), "2026-11-27");
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parses_dates_and_rfc3339() {
        let day = days_from_civil(2026, 11, 26) as f64;
        assert_eq!(parse("2026-11-26"), Ok(day));
        assert_eq!(parse("2026-11-26T12:00:00Z"), Ok(day + 0.5));
        assert_eq!(parse("2026-11-26T12:00:00+12:00"), Ok(day));
        assert_eq!(parse("2026-11-26T00:00:00-06:00"), Ok(day + 0.25));
        assert_eq!(
            parse("2026-11-26t06:00:00.5z"),
            Ok(day + (6.0 * 3600.0 + 0.5) / 86_400.0)
        );
        assert_eq!(parse("2024-02-29"), Ok(days_from_civil(2024, 2, 29) as f64));
    }

    #[test]
    fn formats_and_parses_times_and_durations() {
        let t = parse_time("2026-11-26T14:30:05Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-26T14:30:05Z");
        assert_eq!(parse_time("1764167405").unwrap(), 1_764_167_405.0);
        assert_eq!(parse_duration("90d"), Ok(90.0 * 86_400.0));
        assert_eq!(parse_duration("1.5h"), Ok(5_400.0));
        assert_eq!(parse_duration("2w"), Ok(14.0 * 86_400.0));
        for bad in ["", "d", "90", "-1d", "1y", "nand"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_dates() {
        for text in [
            "",
            "2026-11",
            "26-11-2026",
            "2026/11/26",
            "2026-13-01",
            "2026-02-29",
            "2026-11-26T25:00:00Z",
            "2026-11-26T10:00",
            "2026-11-26T10:00:00+5",
            "x",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
