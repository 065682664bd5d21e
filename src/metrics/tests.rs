use super::*;
use crate::source::Format;

fn parse_as(format: Format, text: &str) -> Result<Report, FileError> {
    let ladder = Ladder::embedded().unwrap();
    let source = Source::from_bytes("m".into(), text.as_bytes().to_vec(), format)?;
    Report::parse(&source, &ladder)
}

fn parse(text: &str) -> Result<Report, FileError> {
    parse_as(Format::Yaml, text)
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn parses_a_full_report_in_each_format() {
    let yaml = "service: api\nusers: 42K\napi_p95_ms: 120\ndb_cpu_pct: 55.5\ndb_connections: 40\n\
                db_max_connections: 200\ncache_hit_rate_pct: 91\nreplication_lag_ms: 12\n\
                current_stage: 2\nmonthly_cost_usd: 1800\nchecklist:\n  indexes_optimized: true\n";
    let json = r#"{"service": "api", "users": 42000, "api_p95_ms": 120, "db_cpu_pct": 55.5,
        "db_connections": 40, "db_max_connections": 200, "cache_hit_rate_pct": 91,
        "replication_lag_ms": 12, "current_stage": 2, "monthly_cost_usd": 1800,
        "checklist": {"indexes_optimized": true}}"#;
    let toml = "service = \"api\"\nusers = 42_000\napi_p95_ms = 120\ndb_cpu_pct = 55.5\n\
                db_connections = 40\ndb_max_connections = 200\ncache_hit_rate_pct = 91\n\
                replication_lag_ms = 12\ncurrent_stage = 2\nmonthly_cost_usd = 1800\n\
                [checklist]\nindexes_optimized = true\n";
    let reports: Vec<Report> = [
        (Format::Yaml, yaml),
        (Format::Json, json),
        (Format::Toml, toml),
    ]
    .into_iter()
    .map(|(format, text)| parse_as(format, text).unwrap())
    .collect();
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
    let report = &reports[0];
    assert_eq!(report.users, 42_000);
    assert_eq!(report.metric(Metric::DbConnectionsPct), Some(20.0));
    assert_eq!(report.metric(Metric::DbCpuPct), Some(55.5));
    assert_eq!(report.checklist.0.get("indexes_optimized"), Some(&true));
}

#[test]
fn only_users_is_required() {
    let report = parse("users: 0\n").unwrap();
    assert_eq!(report.users, 0);
    for metric in Metric::ALL {
        assert_eq!(report.metric(metric), None);
    }
    assert!(error("service: x\n").ends_with("missing field `users`"));
}

#[test]
fn connection_percentage_needs_both_fields() {
    assert_eq!(
        parse("users: 1\ndb_connections: 5\n")
            .unwrap()
            .metric(Metric::DbConnectionsPct),
        None
    );
    assert_eq!(
        parse("users: 1\ndb_max_connections: 5\n")
            .unwrap()
            .metric(Metric::DbConnectionsPct),
        None
    );
    let full = parse("users: 1\ndb_connections: 100\ndb_max_connections: 100\n").unwrap();
    assert_eq!(full.metric(Metric::DbConnectionsPct), Some(100.0));
}

#[test]
fn more_connections_than_the_limit_is_an_error_naming_both_fields() {
    assert_eq!(
        error("users: 1\ndb_connections: 101\ndb_max_connections: 100\n"),
        "m:2:1: db_connections: 101 open connections is more than db_max_connections, the server's limit of 100; one of the two is wrong (`db_max_connections` is on line 3)"
    );
}

#[test]
fn rejects_out_of_range_values_with_their_location() {
    assert_eq!(
        error("users: 1\ndb_cpu_pct: 101\n"),
        "m:2:13: db_cpu_pct: 101 is over 100; expected a percentage from 0 to 100"
    );
    assert_eq!(
        error("users: 1\ncache_hit_rate_pct: -1\n"),
        "m:2:21: cache_hit_rate_pct: -1 is negative; expected a number >= 0"
    );
    assert_eq!(
        error("users: 1\napi_p95_ms: .nan\n"),
        "m:2:13: api_p95_ms: NaN is not a number; leave the field out when it is not measured"
    );
    assert_eq!(
        error("users: 1\nreplication_lag_ms: -.inf\n"),
        "m:2:21: replication_lag_ms: the number is too large (or infinite); expected a finite number"
    );
    assert_eq!(
        error("users: -5\n"),
        "m:1:8: users must not be negative, found -5"
    );
    assert_eq!(
        error("users: 2.5\n"),
        "m:1:8: users must be a whole number, found 2.5"
    );
    assert_eq!(
        error("users: 1\ndb_max_connections: 0\n"),
        "m:2:21: db_max_connections: the connection limit must be greater than 0"
    );
}

#[test]
fn negative_zero_is_zero() {
    let report = parse("users: 1\napi_p95_ms: -0.0\n").unwrap();
    assert!(report.api_p95_ms.unwrap().is_sign_positive());
}

#[test]
fn rejects_wrong_types() {
    assert!(error("users: 1\ndb_cpu_pct: \"high\"\n").starts_with("m:2:13:"));
    assert!(error("users: [1]\n").contains("expected a whole number of users"));
    assert_eq!(
        error("users: 1\ndb_cpu_pct: \"95\"\n"),
        "m:2:13: db_cpu_pct: expected a number, found the string \"95\""
    );
    assert!(error("users: 1\ndb_connections: \"9\"\n").contains("must be a number"));
    assert!(error("users: 1\nchecklist:\n  redis_cache: 3\n").starts_with("m:3:16:"));
    assert!(error("users: 1\nservice: [a]\n").starts_with("m:2:10:"));
}

#[test]
fn misspelled_fields_name_the_nearest_field() {
    assert_eq!(
        error("users: 1\ndb_cpu: 95\n"),
        "m:2:1: unknown field `db_cpu`; did you mean `db_cpu_pct`?"
    );
    assert_eq!(
        parse_as(Format::Json, "{\"users\": 1, \"api_p95\": 3}")
            .unwrap_err()
            .to_string(),
        "m:1:22: unknown field `api_p95`; did you mean `api_p95_ms`?"
    );
}

#[test]
fn current_stage_must_be_on_the_ladder() {
    assert_eq!(
        error("users: 1\ncurrent_stage: 5\n"),
        "m:2:1: current_stage 5 is not a stage of the ladder; expected 1 to 4"
    );
    assert!(error("users: 1\ncurrent_stage: 0\n").contains("current_stage 0 is not a stage"));
    assert!(error("users: 1\ncurrent_stage: -1\n").starts_with("m:2:16:"));
}

#[test]
fn duplicate_checklist_answers_are_errors_in_json() {
    let error = parse_as(
        Format::Json,
        r#"{"users": 1, "checklist": {"redis_cache": true, "redis_cache": false}}"#,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("duplicate checklist item `redis_cache`"),
        "{error}"
    );
}

#[test]
fn multi_document_yaml_is_an_error() {
    assert_eq!(
        error("users: 1\n---\nusers: 2\n"),
        "m:3:1: the file holds several YAML documents (`---`); a report is a single document"
    );
}
