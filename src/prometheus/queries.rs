//! The PromQL query for each report field, from a TOML file.

use std::path::Path;

use serde::Deserialize;

use crate::error::FileError;
use crate::source::{Format, Source};

/// The built-in queries, written for the common exporters.
pub const DEFAULT_QUERIES: &str = include_str!("queries.toml");

/// A PromQL expression per report field; a field without one is not collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queries {
    /// Active users.
    pub users: Option<String>,
    /// API p95 response time, in milliseconds.
    pub api_p95_ms: Option<String>,
    /// CPU of the busiest database node, in percent.
    pub db_cpu_pct: Option<String>,
    /// Open database connections.
    pub db_connections: Option<String>,
    /// The database server's connection limit.
    pub db_max_connections: Option<String>,
    /// Cache hit rate, in percent.
    pub cache_hit_rate_pct: Option<String>,
    /// Worst replica lag, in milliseconds.
    pub replication_lag_ms: Option<String>,
}

impl Queries {
    /// The queries in `path`, or the built-in ones.
    pub fn load(path: Option<&Path>) -> Result<Self, FileError> {
        let source = match path {
            Some(path) => Source::read(path)?,
            None => Source::from_bytes(
                "<built-in queries.toml>".into(),
                DEFAULT_QUERIES.into(),
                Format::Toml,
            )?,
        };
        source
            .deserialize()
            .map_err(|problem| FileError::new(source.name.clone(), problem))
    }

    /// (field, query) for every field that has a query, in report order.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("users", &self.users),
            ("api_p95_ms", &self.api_p95_ms),
            ("db_cpu_pct", &self.db_cpu_pct),
            ("db_connections", &self.db_connections),
            ("db_max_connections", &self.db_max_connections),
            ("cache_hit_rate_pct", &self.cache_hit_rate_pct),
            ("replication_lag_ms", &self.replication_lag_ms),
        ]
        .into_iter()
        .filter_map(|(field, query)| Some((field, query.as_deref()?)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_queries_cover_every_metric_but_users() {
        let queries = Queries::load(None).unwrap();
        let fields: Vec<&str> = queries.fields().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "api_p95_ms",
                "db_cpu_pct",
                "db_connections",
                "db_max_connections",
                "cache_hit_rate_pct",
                "replication_lag_ms"
            ]
        );
        assert!(
            queries
                .api_p95_ms
                .unwrap()
                .contains("histogram_quantile(0.95")
        );
    }

    #[test]
    fn a_misspelled_field_is_an_error() {
        let source =
            Source::from_bytes("q.toml".into(), b"db_cpu = \"up\"\n".to_vec(), Format::Toml)
                .unwrap();
        let problem = source.deserialize::<Queries>().unwrap_err();
        assert_eq!(
            problem.message,
            "unknown field `db_cpu`; did you mean `db_cpu_pct`?"
        );
    }
}
