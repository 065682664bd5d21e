//! "What if we had N users": today's load scaled with users.

use serde::Serialize;

use crate::ladder::Ladder;
use crate::load::LoadModel;
use crate::metric::{Direction, Metric};
use crate::metrics::Report;

/// Where a what-if answer came from, and which of today's metrics break first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIf {
    /// The users the report observed.
    pub observed_users: u64,
    /// The users assumed.
    pub users: u64,
    /// How load follows users: `proportional`, or `history` (the load
    /// models `forecast` fits to a history).
    pub load: &'static str,
    /// Load rules, soonest first, with the users at which each turns
    /// critical (0 when it already is).
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

/// The most users a breaking point is looked for at.
const MAX_USERS: f64 = 1e12;

/// The users (above `from`) at which `model` passes `rule`'s critical value,
/// by bisection (a load model only grows with users); `None` if never.
fn breaks_at(model: &LoadModel, rule: &crate::ladder::Rule, from: f64) -> Option<u64> {
    let beyond = |users: f64| rule.direction.exceeds(model.at(users), rule.critical);
    if !beyond(MAX_USERS) {
        return None;
    }
    let (mut low, mut high) = (from.max(0.0), MAX_USERS);
    while high - low > 0.5 {
        let mid = low + (high - low) / 2.0;
        if beyond(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(high.ceil() as u64)
}

/// The report as it would read with `users` users, and which rules break
/// first. Each load metric follows its load model: the one fitted to a
/// history when `models` gives it (the forecast's own), else load in
/// proportion to users. A percentage of CPU stops at 100.
pub fn what_if(
    report: &Report,
    users: u64,
    ladder: &Ladder,
    models: &[Option<LoadModel>; 5],
) -> (Report, WhatIf) {
    #[allow(clippy::cast_precision_loss)]
    let (observed, target) = (report.users as f64, users as f64);
    let model_of = |metric: Metric| -> Option<LoadModel> {
        let index = Metric::ALL.iter().position(|m| *m == metric)?;
        models[index].or_else(|| {
            let value = report.metric(metric)?;
            (observed > 0.0).then(|| LoadModel::proportional(observed, value))
        })
    };
    let scale = |metric: Metric, value: Option<f64>| -> Option<f64> {
        let value = value?;
        Some(model_of(metric).map_or(value, |m| m.at(target)))
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let scaled = Report {
        users,
        api_p95_ms: scale(Metric::ApiP95Ms, report.api_p95_ms).map(|v| v.min(1e12)),
        db_cpu_pct: scale(Metric::DbCpuPct, report.db_cpu_pct).map(|v| v.clamp(0.0, 100.0)),
        db_connections: match (report.db_connections, report.db_max_connections) {
            (Some(open), Some(max)) => {
                let pct = scale(
                    Metric::DbConnectionsPct,
                    report.metric(Metric::DbConnectionsPct),
                )
                .unwrap_or(0.0);
                let _ = open;
                Some((pct / 100.0 * max as f64).round().max(0.0) as u64)
            }
            (open, _) => open,
        },
        replication_lag_ms: scale(Metric::ReplicationLagMs, report.replication_lag_ms)
            .map(|v| v.max(0.0)),
        ..report.clone()
    };
    let mut first_to_break: Vec<BreakingPoint> = ladder
        .rules()
        .iter()
        .filter(|rule| grows_with_load(rule.metric) && rule.direction == Direction::Above)
        .filter_map(|rule| {
            let value = report.metric(rule.metric)?;
            let at = if value > rule.critical && models.iter().all(Option::is_none) {
                0
            } else {
                breaks_at(&model_of(rule.metric)?, rule, 0.0)?
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
            load: if models.iter().any(Option::is_some) {
                "history"
            } else {
                "proportional"
            },
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
        let (scaled, answer) = what_if(&report, 100_000, &ladder, &[None; 5]);
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
        let (capped, _) = what_if(&report, 1_000_000, &ladder, &[None; 5]);
        assert_eq!(capped.db_cpu_pct, Some(100.0));
    }
}
