//! The PromQL query for each report field, from a TOML file.

use std::path::Path;

use serde::Deserialize;

use crate::error::FileError;
use crate::source::{Format, Source};

/// The built-in queries, written for the common exporters.
pub const DEFAULT_QUERIES: &str = include_str!("queries.toml");

/// The PromQL for one field: one expression, or variants in order of
/// preference (for exporters whose metric names differ between versions):
/// the first whose metrics all exist is used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Query {
    /// One expression.
    One(String),
    /// Variants, best first.
    Variants(Vec<String>),
}

impl Query {
    /// The variants, best first.
    pub fn variants(&self) -> Vec<&str> {
        match self {
            Query::One(query) => vec![query.as_str()],
            Query::Variants(queries) => queries.iter().map(String::as_str).collect(),
        }
    }
}

/// A PromQL expression per report field; a field without one is not collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queries {
    /// Active users.
    pub users: Option<Query>,
    /// API p95 response time, in milliseconds.
    pub api_p95_ms: Option<Query>,
    /// CPU of the busiest database node, in percent.
    pub db_cpu_pct: Option<Query>,
    /// Open database connections.
    pub db_connections: Option<Query>,
    /// The database server's connection limit.
    pub db_max_connections: Option<Query>,
    /// Cache hit rate, in percent.
    pub cache_hit_rate_pct: Option<Query>,
    /// Worst replica lag, in milliseconds.
    pub replication_lag_ms: Option<Query>,
    /// Whether these are the built-in queries: a field whose metrics do not
    /// exist is then left out (that exporter is not run), not an error.
    #[serde(skip)]
    pub built_in: bool,
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
        let mut queries: Self = source
            .deserialize()
            .map_err(|problem| FileError::new(source.name.clone(), problem))?;
        queries.built_in = path.is_none();
        Ok(queries)
    }

    /// (field, query variants) for every field that has a query, in report order.
    pub fn fields(&self) -> Vec<(&'static str, &Query)> {
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
        .filter_map(|(field, query)| Some((field, query.as_ref()?)))
        .collect()
    }

    /// The queries with `${db}` replaced by the label matchers of
    /// `--db-selector` (`{job="postgres-node"}`), or by nothing.
    pub fn with_db_selector(mut self, selector: Option<&str>) -> Result<Self, String> {
        let matchers = match selector.map(str::trim) {
            None | Some("") => String::new(),
            Some(selector) => {
                let inner = selector
                    .strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .ok_or_else(|| {
                        format!("--db-selector {selector:?}: expected label matchers in braces, such as '{{job=\"postgres-node\"}}'")
                    })?
                    .trim();
                if inner.is_empty() {
                    String::new()
                } else {
                    format!(",{inner}")
                }
            }
        };
        let substitute = |query: &mut Option<Query>| {
            if let Some(query) = query {
                *query = match query {
                    Query::One(q) => Query::One(q.replace("${db}", &matchers)),
                    Query::Variants(qs) => {
                        Query::Variants(qs.iter().map(|q| q.replace("${db}", &matchers)).collect())
                    }
                };
            }
        };
        for query in [
            &mut self.users,
            &mut self.api_p95_ms,
            &mut self.db_cpu_pct,
            &mut self.db_connections,
            &mut self.db_max_connections,
            &mut self.cache_hit_rate_pct,
            &mut self.replication_lag_ms,
        ] {
            substitute(query);
        }
        Ok(self)
    }
}

/// The metric names a PromQL expression reads: identifiers that are not
/// functions (followed by `(`), keywords, label names inside `{...}`, quoted
/// strings or durations.
pub fn metric_names(query: &str) -> Vec<String> {
    const KEYWORDS: [&str; 12] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
    ];
    let chars: Vec<char> = query.chars().collect();
    let mut names = Vec::new();
    let (mut i, mut braces, mut brackets) = (0, 0usize, 0usize);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '{' => braces += 1,
            '}' => braces = braces.saturating_sub(1),
            '[' => brackets += 1,
            ']' => brackets = brackets.saturating_sub(1),
            c if (c.is_ascii_alphabetic() || c == '_' || c == ':')
                && braces == 0
                && brackets == 0 =>
            {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
                let prior = chars[..start]
                    .iter()
                    .rev()
                    .find(|c| !c.is_whitespace())
                    .copied();
                let is_label_list = prior == Some('(') && {
                    let before: String = chars[..start].iter().collect();
                    let trimmed = before.trim_end().trim_end_matches('(').trim_end();
                    KEYWORDS[..6].iter().any(|k| trimmed.ends_with(k))
                };
                let is_label_list = is_label_list
                    || (prior == Some(',') && {
                        // Inside `by (a, b)`: the open parenthesis before the comma follows a keyword.
                        let before: String = chars[..start].iter().collect();
                        before
                            .rfind('(')
                            .map(|open| before[..open].trim_end())
                            .is_some_and(|head| KEYWORDS[..6].iter().any(|k| head.ends_with(k)))
                            && !before[before.rfind('(').unwrap_or(0)..].contains(')')
                    });
                let rest: String = chars[i..].iter().collect();
                let next_word: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let aggregation = matches!(next_word.as_str(), "by" | "without");
                if next != Some('(')
                    && !aggregation
                    && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
                    && !is_label_list
                    && !names.contains(&word)
                {
                    names.push(word);
                }
                continue;
            }
            c if c.is_ascii_digit() => {
                // A number or a duration (5m, 1e3): skip it whole.
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
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
        assert!(queries.api_p95_ms.unwrap().variants()[0].contains("histogram_quantile(0.95"));
    }

    #[test]
    fn metric_names_are_found_in_promql() {
        assert_eq!(
            metric_names(
                "1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])))"
            ),
            ["http_request_duration_seconds_bucket"]
        );
        assert_eq!(
            metric_names(
                "100 * max(1 - sum by (instance, cpu) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) / sum by (instance) (rate(node_cpu_seconds_total[5m])))"
            ),
            ["node_cpu_seconds_total"]
        );
        assert_eq!(
            metric_names(
                "max(pg_stat_activity_count) / on (instance) group_left max(pg_settings_max_connections) offset 1h"
            ),
            ["pg_stat_activity_count", "pg_settings_max_connections"]
        );
        assert!(metric_names("vector(1)").is_empty());
        assert_eq!(
            metric_names("sum by (le) (x_bucket) + max without (a) (y)"),
            ["x_bucket", "y"]
        );
    }

    #[test]
    fn the_db_selector_fills_its_placeholder() {
        let queries = Queries::load(None)
            .unwrap()
            .with_db_selector(Some("{job=\"postgres-node\"}"))
            .unwrap();
        let cpu = queries.db_cpu_pct.unwrap().variants()[0].to_owned();
        assert!(
            cpu.contains("node_cpu_seconds_total{mode=\"idle\",job=\"postgres-node\"}"),
            "{cpu}"
        );
        assert!(!cpu.contains("${db}"));
        let plain = Queries::load(None).unwrap().with_db_selector(None).unwrap();
        assert!(plain.db_cpu_pct.unwrap().variants()[0].contains("{mode=\"idle\"}"));
        assert!(
            Queries::load(None)
                .unwrap()
                .with_db_selector(Some("job=x"))
                .is_err()
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
