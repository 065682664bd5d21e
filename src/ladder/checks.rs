//! The thresholds of the checklist items measured straight from PostgreSQL
//! and Redis: the `[checks]` table of a ladder file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where each measured checklist answer turns, by checklist item id.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// `indexes_optimized`: big tables read mostly by sequential scans.
    pub indexes_optimized: IndexChecks,
    /// `slow_queries_fixed`: statements slow on average.
    pub slow_queries_fixed: SlowQueryChecks,
    /// `n_plus_one_eliminated`: a cheap one-row statement run once per row of another.
    pub n_plus_one_eliminated: NPlusOneChecks,
    /// `connection_pooling`: a connection opened per request.
    pub connection_pooling: PoolingChecks,
    /// `db_buffer_cache_hit`: PostgreSQL's own buffer cache.
    pub db_buffer_cache_hit: BufferCacheChecks,
}

/// Thresholds of `indexes_optimized`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexChecks {
    /// Tables with fewer live rows than this are cheap to scan and are not judged.
    pub min_rows: u64,
    /// A judged table fails when more than this share of its scans (in
    /// percent) are sequential.
    pub max_seq_scan_pct: f64,
}

/// Thresholds of `slow_queries_fixed`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowQueryChecks {
    /// A statement whose mean execution time is above this, in milliseconds, is slow.
    pub max_mean_ms: f64,
    /// Statements run fewer times than this are not judged (one-off maintenance).
    pub min_calls: u64,
}

/// Thresholds of `n_plus_one_eliminated`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NPlusOneChecks {
    /// The child statement returns at most one row a call and takes at most
    /// this long on average, in milliseconds.
    pub max_mean_ms: f64,
    /// The child statement ran at least this many times.
    pub min_calls: u64,
    /// The child ran at least this many times as often as a parent statement
    /// that returns at least this many rows a call.
    pub multiple: f64,
}

/// Thresholds of `connection_pooling`, read from the connection pattern
/// when no pooler is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolingChecks {
    /// Sessions shorter than this on average, in milliseconds, mean a
    /// connection opened per request.
    pub max_mean_session_ms: f64,
    /// The pattern is judged once at least this many sessions were opened.
    pub min_sessions: u64,
}

/// Thresholds of `db_buffer_cache_hit`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BufferCacheChecks {
    /// The share of block reads served from shared buffers, in percent, at least.
    pub min_hit_pct: f64,
}

impl Checks {
    /// Every threshold that is out of its range, as `(field, problem)`,
    /// the field written `table.key`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let mut check = |field: &'static str, value: f64, min: f64, max: f64| {
            if !(value.is_finite() && (min..=max).contains(&value)) {
                problems.push((
                    field,
                    format!(
                        "checks.{field}: {value} is out of range; it must be between {min} and {max}"
                    ),
                ));
            }
        };
        let pct = 100.0;
        let big = 1e12;
        check(
            "indexes_optimized.max_seq_scan_pct",
            self.indexes_optimized.max_seq_scan_pct,
            0.0,
            pct,
        );
        check(
            "slow_queries_fixed.max_mean_ms",
            self.slow_queries_fixed.max_mean_ms,
            0.0,
            big,
        );
        check(
            "n_plus_one_eliminated.max_mean_ms",
            self.n_plus_one_eliminated.max_mean_ms,
            0.0,
            big,
        );
        check(
            "n_plus_one_eliminated.multiple",
            self.n_plus_one_eliminated.multiple,
            1.0,
            big,
        );
        check(
            "connection_pooling.max_mean_session_ms",
            self.connection_pooling.max_mean_session_ms,
            0.0,
            big,
        );
        check(
            "db_buffer_cache_hit.min_hit_pct",
            self.db_buffer_cache_hit.min_hit_pct,
            0.0,
            pct,
        );
        problems
    }
}
