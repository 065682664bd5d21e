//! "What if we had N users": today's load scaled with users.

use serde::Serialize;

use crate::ladder::Ladder;
use crate::metric::{Direction, Metric};
use crate::metrics::Report;

/// Where a what-if answer came from, and which of today's metrics break first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIf {
    /// The users the report observed.
    pub observed_users: u64,
    /// The users assumed.
    pub users: u64,
    /// Load rules, soonest first, with the users at which each turns
    /// critical if load grows in proportion to users (0 when it already is).
    pub first_to_break: Vec<BreakingPoint>,
}

/// The users at which a rule turns critical.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakingPoint {
    /// The rule id.
    pub rule: String,
    /// The metric.
    pub metric: Metric,
    /// Users at which the rule's critical value is passed.
    pub users: u64,
}

/// Metrics that grow with load; the cache hit rate does not.
fn grows_with_load(metric: Metric) -> bool {
    metric != Metric::CacheHitRatePct
}

/// The report as it would read with `users` users, load metrics scaled in
/// proportion (a percentage of CPU stops at 100), and which rules break first.
pub fn what_if(report: &Report, users: u64, ladder: &Ladder) -> (Report, WhatIf) {
    #[allow(clippy::cast_precision_loss)]
    let factor = if report.users == 0 {
        1.0
    } else {
        users as f64 / report.users as f64
    };
    let scale = |value: Option<f64>| value.map(|v| v * factor);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let scaled = Report {
        users,
        api_p95_ms: scale(report.api_p95_ms),
        db_cpu_pct: scale(report.db_cpu_pct).map(|v| v.min(100.0)),
        db_connections: report
            .db_connections
            .map(|c| (c as f64 * factor).round() as u64),
        replication_lag_ms: scale(report.replication_lag_ms),
        ..report.clone()
    };
    let mut first_to_break: Vec<BreakingPoint> = ladder
        .rules()
        .iter()
        .filter(|rule| grows_with_load(rule.metric) && rule.direction == Direction::Above)
        .filter_map(|rule| {
            let value = report.metric(rule.metric)?;
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let at = if value > rule.critical {
                0
            } else if value <= 0.0 || report.users == 0 {
                return None;
            } else {
                (report.users as f64 * rule.critical / value).floor() as u64 + 1
            };
            Some(BreakingPoint {
                rule: rule.id.clone(),
                metric: rule.metric,
                users: at,
            })
        })
        .collect();
    first_to_break.sort_by_key(|b| b.users);
    (
        scaled,
        WhatIf {
            observed_users: report.users,
            users,
            first_to_break,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Format, Source};

    #[test]
    fn scales_load_and_orders_the_breaking_points() {
        let ladder = Ladder::embedded().unwrap();
        let yaml = "users: 50K\napi_p95_ms: 100\ndb_cpu_pct: 40\ndb_connections: 20\ndb_max_connections: 100\ncache_hit_rate_pct: 90\n";
        let source =
            Source::from_bytes("t".into(), yaml.as_bytes().to_vec(), Format::Yaml).unwrap();
        let report = Report::parse(&source, &ladder).unwrap();
        let (scaled, answer) = what_if(&report, 100_000, &ladder);
        assert_eq!(scaled.users, 100_000);
        assert_eq!(scaled.api_p95_ms, Some(200.0));
        assert_eq!(scaled.db_cpu_pct, Some(80.0));
        assert_eq!(scaled.db_connections, Some(40));
        assert_eq!(scaled.cache_hit_rate_pct, Some(90.0));
        let order: Vec<(&str, u64)> = answer
            .first_to_break
            .iter()
            .map(|b| (b.rule.as_str(), b.users))
            .collect();
        // db-cpu passes 70% at 87,500 users, api-p95 200 ms at 100,000, connections 80% at 200,000.
        assert_eq!(
            order,
            [
                ("db-cpu", 87_501),
                ("api-p95", 100_001),
                ("db-connections", 200_001)
            ]
        );
        let (capped, _) = what_if(&report, 1_000_000, &ladder);
        assert_eq!(capped.db_cpu_pct, Some(100.0));
    }
}
