use super::*;
use crate::source::{Format, Source};

fn ladder() -> Ladder {
    Ladder::embedded().unwrap()
}

fn report(yaml: &str) -> Report {
    let source =
        Source::from_bytes("t.yaml".into(), yaml.as_bytes().to_vec(), Format::Yaml).unwrap();
    Report::parse(&source, &ladder()).unwrap()
}

fn status_of(sections: &[CheckedSection], id: &str) -> Status {
    sections
        .iter()
        .flat_map(|s| &s.items)
        .find(|i| i.item.id == id)
        .unwrap()
        .status
}

#[test]
fn the_checklist_has_the_articles_sections_and_ids() {
    let layout: Vec<(&str, Vec<&str>)> = SECTIONS
        .iter()
        .map(|s| (s.id, s.items.iter().map(|i| i.id).collect()))
        .collect();
    assert_eq!(
        layout,
        [
            (
                "measurement",
                vec![
                    "db_cpu_under_70",
                    "api_p95_under_200ms",
                    "db_connections_under_max",
                    "bottleneck_identified"
                ]
            ),
            (
                "before_optimization",
                vec![
                    "indexes_optimized",
                    "slow_queries_fixed",
                    "n_plus_one_eliminated",
                    "connection_pooling"
                ]
            ),
            (
                "caching",
                vec![
                    "redis_cache",
                    "cache_hit_rate_over_80",
                    "cache_invalidation_strategy",
                    "cache_monitoring"
                ]
            ),
            (
                "read_replicas",
                vec![
                    "read_replicas_deployed",
                    "replication_lag_under_100ms",
                    "read_traffic_distributed",
                    "failover_tested"
                ]
            ),
            (
                "monitoring",
                vec![
                    "db_metrics_monitored",
                    "alerts_set",
                    "query_performance_monitored",
                    "response_times_trending"
                ]
            ),
        ]
    );
    let measured: Vec<&str> = items()
        .filter(|i| matches!(i.answer, Answer::Measured(_)))
        .map(|i| i.id)
        .collect();
    assert_eq!(
        measured,
        [
            "db_cpu_under_70",
            "api_p95_under_200ms",
            "db_connections_under_max",
            "cache_hit_rate_over_80",
            "replication_lag_under_100ms"
        ]
    );
}

#[test]
fn without_a_report_every_item_is_unknown() {
    let sections = check(None, &ladder(), &[]);
    assert_eq!(sections.iter().map(|s| s.items.len()).sum::<usize>(), 20);
    assert!(
        sections
            .iter()
            .flat_map(|s| &s.items)
            .all(|i| i.status == Status::Unknown)
    );
}

#[test]
/// The article's checklist is strict: CPU < 70%, p95 < 200 ms, hit rate >
/// 80%, lag < 100 ms, connections < 80% of the limit; a value at the
/// threshold does not pass.
fn measured_items_pass_only_strictly_within_their_threshold() {
    let ladder = ladder();
    for (yaml, id, expected) in [
        ("db_cpu_pct: 69.9", "db_cpu_under_70", Status::Pass),
        ("db_cpu_pct: 70", "db_cpu_under_70", Status::Fail),
        ("db_cpu_pct: 70.5", "db_cpu_under_70", Status::Fail),
        ("api_p95_ms: 199.9", "api_p95_under_200ms", Status::Pass),
        ("api_p95_ms: 200", "api_p95_under_200ms", Status::Fail),
        ("api_p95_ms: 201", "api_p95_under_200ms", Status::Fail),
        (
            "cache_hit_rate_pct: 80.1",
            "cache_hit_rate_over_80",
            Status::Pass,
        ),
        (
            "cache_hit_rate_pct: 80",
            "cache_hit_rate_over_80",
            Status::Fail,
        ),
        (
            "cache_hit_rate_pct: 79",
            "cache_hit_rate_over_80",
            Status::Fail,
        ),
        (
            "replication_lag_ms: 99.9",
            "replication_lag_under_100ms",
            Status::Pass,
        ),
        (
            "replication_lag_ms: 100",
            "replication_lag_under_100ms",
            Status::Fail,
        ),
        (
            "replication_lag_ms: 101",
            "replication_lag_under_100ms",
            Status::Fail,
        ),
        (
            "db_connections: 79\ndb_max_connections: 100",
            "db_connections_under_max",
            Status::Pass,
        ),
        (
            "db_connections: 80\ndb_max_connections: 100",
            "db_connections_under_max",
            Status::Fail,
        ),
        (
            "db_connections: 81\ndb_max_connections: 100",
            "db_connections_under_max",
            Status::Fail,
        ),
        (
            "db_connections: 81",
            "db_connections_under_max",
            Status::Unknown,
        ),
        ("api_p95_ms: 10", "db_cpu_under_70", Status::Unknown),
    ] {
        let report = report(&format!("users: 20K\n{yaml}\n"));
        assert_eq!(
            status_of(&check(Some(&report), &ladder, &[]), id),
            expected,
            "{yaml}"
        );
    }
}

#[test]
fn connections_at_the_limit_fail_whatever_the_rule_says() {
    let text = crate::ladder::DEFAULT_STAGES.replace(
        "warning = 70\ncritical = 80",
        "warning = 150\ncritical = 200",
    );
    let source = Source::from_bytes("s.toml".into(), text.into_bytes(), Format::Toml).unwrap();
    let lenient = Ladder::parse(&source).unwrap();
    let at_limit = report("users: 1\ndb_connections: 100\ndb_max_connections: 100\n");
    assert_eq!(
        status_of(
            &check(Some(&at_limit), &lenient, &[]),
            "db_connections_under_max"
        ),
        Status::Fail
    );
    let below = report("users: 1\ndb_connections: 99\ndb_max_connections: 100\n");
    assert_eq!(
        status_of(
            &check(Some(&below), &lenient, &[]),
            "db_connections_under_max"
        ),
        Status::Pass
    );
}

#[test]
fn a_custom_ladder_moves_measured_items_and_their_text() {
    let text = crate::ladder::DEFAULT_STAGES
        .replace("warning = 60\ncritical = 70", "warning = 40\ncritical = 50");
    let source = Source::from_bytes("s.toml".into(), text.into_bytes(), Format::Toml).unwrap();
    let strict = Ladder::parse(&source).unwrap();
    let report = report("users: 1\ndb_cpu_pct: 60\n");
    let sections = check(Some(&report), &strict, &[]);
    assert_eq!(status_of(&sections, "db_cpu_under_70"), Status::Fail);
    assert_eq!(sections[0].items[0].text, "Database CPU under 50% (db-cpu)");
    assert_eq!(
        status_of(&check(Some(&report), &ladder(), &[]), "db_cpu_under_70"),
        Status::Pass
    );
}

#[test]
fn manual_items_follow_the_answers() {
    let report = report("users: 20K\nchecklist:\n  redis_cache: true\n  failover_tested: false\n");
    let sections = check(Some(&report), &ladder(), &[]);
    assert_eq!(status_of(&sections, "redis_cache"), Status::Pass);
    assert_eq!(status_of(&sections, "failover_tested"), Status::Fail);
    assert_eq!(status_of(&sections, "alerts_set"), Status::Unknown);
}

#[test]
fn read_replicas_do_not_apply_below_the_stage_that_adds_them() {
    let ladder = ladder();
    let section = |yaml: &str| {
        let report = report(yaml);
        check(Some(&report), &ladder, &[])[3]
            .items
            .iter()
            .map(|i| i.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(section("users: 9999\n"), [Status::NotApplicable; 4]);
    // An explicit answer is always shown and counted, even where n/a.
    assert_eq!(
        section("users: 9999\nchecklist: {failover_tested: true}\n"),
        [
            Status::NotApplicable,
            Status::NotApplicable,
            Status::NotApplicable,
            Status::Pass
        ]
    );
    // Running a stage with replicas makes the section apply, whatever the users.
    assert_eq!(
        section(
            "users: 8000\ncurrent_stage: 2\nchecklist: {read_replicas_deployed: true, failover_tested: false}\n"
        ),
        [Status::Pass, Status::Unknown, Status::Unknown, Status::Fail]
    );
    assert_eq!(
        section("users: 8000\ncurrent_stage: 1\nchecklist: {failover_tested: false}\n"),
        [
            Status::NotApplicable,
            Status::NotApplicable,
            Status::NotApplicable,
            Status::Fail
        ]
    );
    assert_eq!(
        section("users: 10000\n"),
        [
            Status::Unknown,
            Status::Unknown,
            Status::Unknown,
            Status::Unknown
        ]
    );
    // A measured lag means replicas exist.
    assert_eq!(
        section("users: 500\nreplication_lag_ms: 20\n"),
        [Status::Pass, Status::Pass, Status::Unknown, Status::Unknown]
    );
}

#[test]
fn answers_must_name_manual_items() {
    assert_eq!(
        answer_problems(["redis_cahce", "db_cpu_under_70", "alerts_set", "zzzz"]),
        [
            ("redis_cahce".to_owned(), "unknown checklist item `redis_cahce`; did you mean `redis_cache`?".to_owned()),
            (
                "db_cpu_under_70".to_owned(),
                "checklist item `db_cpu_under_70` is measured, not answered by hand: set `db_cpu_pct` instead".to_owned()
            ),
            ("zzzz".to_owned(), "unknown checklist item `zzzz`; `scalectl checklist` lists the item ids".to_owned()),
        ]
    );
    assert!(
        answer_problems(["db_connections_under_max"])[0]
            .1
            .ends_with("set `db_connections` and `db_max_connections` instead")
    );
}

fn measured(id: &'static str, status: Status) -> Measured {
    Measured {
        id,
        status,
        rule: "a rule".into(),
        evidence: vec!["what showed it".into()],
        warnings: Vec::new(),
        read_from: "a view".into(),
    }
}

#[test]
fn measured_answers_override_manual_ones_and_show_the_conflict() {
    let report = report(
        "users: 50000\nchecklist:\n  indexes_optimized: true\n  slow_queries_fixed: true\n  failover_tested: false\n",
    );
    let sections = check(
        Some(&report),
        &ladder(),
        &[
            measured("indexes_optimized", Status::Fail),
            measured("slow_queries_fixed", Status::Pass),
            measured("failover_tested", Status::Unknown),
        ],
    );
    let find = |id: &str| {
        sections
            .iter()
            .flat_map(|s| &s.items)
            .find(|i| i.item.id == id)
            .unwrap()
    };
    assert_eq!(find("indexes_optimized").status, Status::Fail);
    assert_eq!(find("indexes_optimized").contradicts, Some(true));
    assert_eq!(find("slow_queries_fixed").status, Status::Pass);
    assert_eq!(find("slow_queries_fixed").contradicts, None);
    // Nothing measured: the report's own answer stands, the evidence is kept.
    assert_eq!(find("failover_tested").status, Status::Fail);
    assert!(find("failover_tested").measured.is_some());
}

#[test]
fn the_buffer_cache_item_appears_only_when_measured() {
    let ids = |sections: &[CheckedSection]| -> Vec<&str> {
        sections
            .iter()
            .flat_map(|s| &s.items)
            .map(|i| i.item.id)
            .collect()
    };
    let blank = check(None, &ladder(), &[]);
    assert!(!ids(&blank).contains(&DB_BUFFER_CACHE.id));
    let found = check(
        None,
        &ladder(),
        &[measured(DB_BUFFER_CACHE.id, Status::Pass)],
    );
    assert!(ids(&found).contains(&DB_BUFFER_CACHE.id));
    assert_eq!(status_of(&found, DB_BUFFER_CACHE.id), Status::Pass);
}

#[test]
fn no_replica_on_a_small_system_is_not_applicable_not_a_failure() {
    let small = report("users: 500\n");
    let sections = check(
        Some(&small),
        &ladder(),
        &[measured("read_replicas_deployed", Status::Fail)],
    );
    assert_eq!(
        status_of(&sections, "read_replicas_deployed"),
        Status::NotApplicable
    );
    let big = report("users: 50000\n");
    let sections = check(
        Some(&big),
        &ladder(),
        &[measured("read_replicas_deployed", Status::Fail)],
    );
    assert_eq!(status_of(&sections, "read_replicas_deployed"), Status::Fail);
}

#[test]
fn measured_numbers_answer_the_obvious_items_unless_the_report_says_otherwise() {
    let ladder = ladder();
    let find = |yaml: &str, id: &str| {
        let report = report(yaml);
        check(Some(&report), &ladder, &[])
            .into_iter()
            .flat_map(|s| s.items)
            .find(|i| i.item.id == id)
            .map(|i| (i.status, i.implied_by))
            .unwrap()
    };
    assert_eq!(
        find("users: 20K\ncache_hit_rate_pct: 90\n", "redis_cache"),
        (Status::Pass, Some("cache_hit_rate_pct"))
    );
    assert_eq!(find("users: 20K\n", "redis_cache"), (Status::Unknown, None));
    assert_eq!(
        find(
            "users: 20K\nreplication_lag_ms: 30\n",
            "read_replicas_deployed"
        ),
        (Status::Pass, Some("replication_lag_ms"))
    );
    // The report's own answer stands, and the conflict is kept to be shown.
    assert_eq!(
        find(
            "users: 20K\ncache_hit_rate_pct: 90\nchecklist: {redis_cache: false}\n",
            "redis_cache"
        ),
        (Status::Fail, Some("cache_hit_rate_pct"))
    );
}
