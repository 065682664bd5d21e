//! The metrics that ladder rules evaluate.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A measured (or derived) number that a rule can check.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// API p95 response time, in milliseconds.
    ApiP95Ms,
    /// CPU of the busiest database node, in percent.
    DbCpuPct,
    /// Open database connections as a percentage of the server's limit.
    DbConnectionsPct,
    /// Cache hit rate, in percent.
    CacheHitRatePct,
    /// Worst replica lag, in milliseconds.
    ReplicationLagMs,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 5] = [
        Metric::ApiP95Ms,
        Metric::DbCpuPct,
        Metric::DbConnectionsPct,
        Metric::CacheHitRatePct,
        Metric::ReplicationLagMs,
    ];

    /// The field name, as written in reports and ladder files.
    pub fn name(self) -> &'static str {
        match self {
            Metric::ApiP95Ms => "api_p95_ms",
            Metric::DbCpuPct => "db_cpu_pct",
            Metric::DbConnectionsPct => "db_connections_pct",
            Metric::CacheHitRatePct => "cache_hit_rate_pct",
            Metric::ReplicationLagMs => "replication_lag_ms",
        }
    }

    /// The metric with this field name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The unit written after a value: `ms` or `%`.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::ApiP95Ms | Metric::ReplicationLagMs => " ms",
            Metric::DbCpuPct | Metric::DbConnectionsPct | Metric::CacheHitRatePct => "%",
        }
    }

    /// The report fields a metric is read from (the derived connection
    /// percentage comes from two of them).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Metric::ApiP95Ms => &["api_p95_ms"],
            Metric::DbCpuPct => &["db_cpu_pct"],
            Metric::DbConnectionsPct => &["db_connections", "db_max_connections"],
            Metric::CacheHitRatePct => &["cache_hit_rate_pct"],
            Metric::ReplicationLagMs => &["replication_lag_ms"],
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger values are worse (latency, CPU).
    Above,
    /// Smaller values are worse (cache hit rate).
    Below,
}

impl Direction {
    /// Whether `value` is at `threshold` or beyond it in the bad direction.
    pub fn reaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => value >= threshold,
            Direction::Below => value <= threshold,
        }
    }

    /// Whether `value` is strictly beyond `threshold` in the bad direction.
    pub fn exceeds(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => value > threshold,
            Direction::Below => value < threshold,
        }
    }

    /// "over" or "under", for messages.
    pub fn word(self) -> &'static str {
        match self {
            Direction::Above => "over",
            Direction::Below => "under",
        }
    }
}

/// Formats a number without a needless fractional part: `70`, `72.5`.
/// Rounds to two decimals, as `{:.2}` does.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        if value == 0.0 && value.is_sign_negative() {
            return "-0".to_owned();
        }
        // Exact: every whole number under 2^53 is an `i64`.
        #[allow(clippy::cast_possible_truncation)]
        return (value as i64).to_string();
    }
    if value.abs() < 1e12 {
        // Under 10^12 a float is within 0.0001 of its shortest decimal, so
        // when that has at most two decimals it is also the rounded one.
        let shortest = value.to_string();
        if shortest
            .split_once('.')
            .is_some_and(|(_, decimals)| decimals.len() <= 2)
        {
            return shortest;
        }
    }
    exact_number(value)
}

/// [`format_number`] the slow way: the exact value rounded to two decimals.
fn exact_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Formats a whole number with thousands separators: `42,000`.
pub fn format_count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_as_the_exact_rounding_does() {
        for value in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            70.0,
            72.5,
            0.005,
            0.015,
            0.125,
            1.005,
            2.675,
            99.995,
            0.1,
            0.2,
            0.30000000000000004,
            1e-9,
            -1e-9,
            999_999_999_999.99,
            1e12,
            1e15,
            1e16,
            1e23,
            123_456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert_eq!(format_number(value), exact_number(value), "{value:?}");
        }
        assert_eq!(format_number(72.5), "72.5");
        assert_eq!(format_number(2.675), "2.67");
        assert_eq!(format_number(-0.0), "-0");
    }

    proptest::proptest! {
        #[test]
        fn any_number_formats_as_the_exact_rounding_does(value: f64) {
            proptest::prop_assert_eq!(format_number(value), exact_number(value));
        }

        #[test]
        fn report_like_numbers_format_as_the_exact_rounding_does(
            hundredths in -10_000_000_000_000i64..10_000_000_000_000,
            scale in 0u32..6,
        ) {
            // Values as reports and ratios give them: few decimals, any size.
            let value = hundredths as f64 / 10f64.powi(scale as i32);
            proptest::prop_assert_eq!(format_number(value), exact_number(value));
        }
    }

    #[test]
    fn names_round_trip() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
        }
        assert_eq!(Metric::from_name("db_cpu"), None);
    }

    #[test]
    fn direction_compares_at_and_beyond() {
        assert!(Direction::Above.reaches(70.0, 70.0));
        assert!(!Direction::Above.exceeds(70.0, 70.0));
        assert!(Direction::Above.exceeds(70.1, 70.0));
        assert!(Direction::Below.reaches(80.0, 80.0));
        assert!(!Direction::Below.exceeds(80.0, 80.0));
        assert!(Direction::Below.exceeds(79.9, 80.0));
        assert!(!Direction::Below.reaches(80.1, 80.0));
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(format_number(70.0), "70");
        assert_eq!(format_number(72.5), "72.5");
        assert_eq!(format_number(0.126), "0.13");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(42_000), "42,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
    }
}
