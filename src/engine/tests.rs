use super::*;
use crate::metrics::RawReport;
use crate::source::{Format, Source};

fn ladder() -> Ladder {
    Ladder::embedded().unwrap()
}

fn report(yaml: &str) -> Report {
    let source =
        Source::from_bytes("t.yaml".into(), yaml.as_bytes().to_vec(), Format::Yaml).unwrap();
    Report::parse(&source, &ladder()).unwrap()
}

fn alarm_summary(a: &Assessment<'_>) -> Vec<(String, Severity, f64)> {
    a.alarms
        .iter()
        .map(|x| (x.rule.clone(), x.severity, x.threshold))
        .collect()
}

#[test]
fn stage_boundaries_follow_the_ladder() {
    let ladder = ladder();
    for (users, stage, next) in [
        (0, 1, Some(2)),
        (9_999, 1, Some(2)),
        (10_000, 2, Some(3)),
        (99_999, 2, Some(3)),
        (100_000, 3, Some(4)),
        (1_000_000, 4, None),
    ] {
        let a = assess(&Report::with_users(users), &ladder);
        assert_eq!(a.stage.id, stage, "{users}");
        assert_eq!(a.recommended_stage.id, stage, "{users}");
        assert_eq!(a.next_stage.map(|s| s.id), next, "{users}");
        assert_eq!(a.status, Severity::Ok);
    }
}

#[test]
fn a_metric_exactly_at_its_warning_value_warns() {
    let ladder = ladder();
    let a = assess(&report("users: 5000\ndb_cpu_pct: 60\n"), &ladder);
    assert_eq!(
        alarm_summary(&a),
        [("db-cpu".to_owned(), Severity::Warning, 60.0)]
    );
    let a = assess(&report("users: 5000\ndb_cpu_pct: 59.99\n"), &ladder);
    assert!(a.alarms.is_empty());
}

#[test]
fn a_metric_exactly_at_its_critical_value_is_only_a_warning() {
    let ladder = ladder();
    let a = assess(&report("users: 5000\ndb_cpu_pct: 70\n"), &ladder);
    assert_eq!(
        alarm_summary(&a),
        [("db-cpu".to_owned(), Severity::Warning, 60.0)]
    );
    let a = assess(&report("users: 5000\ndb_cpu_pct: 70.01\n"), &ladder);
    assert_eq!(
        alarm_summary(&a),
        [("db-cpu".to_owned(), Severity::Critical, 70.0)]
    );
    assert_eq!(a.status, Severity::Critical);
}

#[test]
fn below_rules_fire_on_small_values() {
    let ladder = ladder();
    let at = |pct: f64| {
        assess(
            &report(&format!("users: 1\ncache_hit_rate_pct: {pct}\n")),
            &ladder,
        )
        .alarms
        .first()
        .map(|a| (a.severity, a.threshold))
    };
    assert_eq!(at(85.01), None);
    assert_eq!(at(85.0), Some((Severity::Warning, 85.0)));
    assert_eq!(at(80.0), Some((Severity::Warning, 85.0)));
    assert_eq!(at(79.99), Some((Severity::Critical, 80.0)));
}

#[test]
fn connections_are_checked_as_a_percentage_of_the_limit() {
    let ladder = ladder();
    let a = assess(
        &report("users: 1\ndb_connections: 81\ndb_max_connections: 100\n"),
        &ladder,
    );
    assert_eq!(
        alarm_summary(&a),
        [("db-connections".to_owned(), Severity::Critical, 80.0)]
    );
    assert_eq!(a.alarms[0].observed, 81.0);
}

#[test]
fn the_trigger_of_the_architecture_in_use_moves_one_rung_up() {
    let ladder = ladder();
    // Stage 1's trigger is api-p95.
    let a = assess(&report("users: 5000\napi_p95_ms: 250\n"), &ladder);
    assert_eq!(a.stage.id, 1);
    assert_eq!(a.recommended_stage.id, 2);
    assert_eq!(a.next_stage.unwrap().id, 3);
    assert_eq!(
        a.triggers.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["api-p95"]
    );
    assert_eq!(
        a.reason,
        "api-p95 is critical (250 ms over 200 ms), the trigger to move up from stage 1 (Startup)"
    );

    // db-cpu is not stage 1's trigger: it alarms but does not move the system.
    let a = assess(&report("users: 5000\ndb_cpu_pct: 90\n"), &ladder);
    assert_eq!(a.recommended_stage.id, 1);
    assert_eq!(a.status, Severity::Critical);
    assert!(a.triggers.is_empty());
}

#[test]
fn the_trigger_is_read_from_current_stage_when_given() {
    let ladder = ladder();
    // 5,000 users would be stage 1, but stage 2 runs; its trigger is db-cpu.
    let a = assess(
        &report("users: 5000\ncurrent_stage: 2\ndb_cpu_pct: 75\n"),
        &ladder,
    );
    assert_eq!(a.recommended_stage.id, 3);
    assert!(a.alarms.iter().all(|x| x.rule != "over-engineered"));
}

#[test]
fn the_top_stage_caps_the_recommendation() {
    let ladder = ladder();
    let a = assess(&report("users: 2M\ndb_cpu_pct: 99\n"), &ladder);
    assert_eq!(a.recommended_stage.id, 4);
    assert!(a.next_stage.is_none());
}

#[test]
fn the_recommendation_never_falls_below_the_users_stage() {
    let ladder = ladder();
    // Stage 1 architecture with stage 3 users and stage 1's trigger firing.
    let a = assess(
        &report("users: 500K\ncurrent_stage: 1\napi_p95_ms: 300\n"),
        &ladder,
    );
    assert_eq!(a.stage.id, 3);
    assert_eq!(a.recommended_stage.id, 3);
    let rules: Vec<_> = a.alarms.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, ["api-p95", "under-scaled"]);
    let under = &a.alarms[1];
    assert_eq!((under.observed, under.threshold), (500_000.0, 10_000.0));
}

#[test]
fn over_engineering_is_a_warning_with_the_cost_difference() {
    let ladder = ladder();
    let a = assess(&report("users: 12K\ncurrent_stage: 4\n"), &ladder);
    assert_eq!(a.recommended_stage.id, 2);
    assert_eq!(a.status, Severity::Warning);
    let alarm = &a.alarms[0];
    assert_eq!(alarm.rule, "over-engineered");
    assert_eq!(alarm.metric, "current_stage");
    assert_eq!((alarm.observed, alarm.threshold), (4.0, 2.0));
    assert!(
        alarm
            .message
            .contains("about $49,000-$197,000 a month more"),
        "{}",
        alarm.message
    );
    assert_eq!(
        a.next_steps[0],
        "Add no more architecture: stage 4 (Scale) already runs ahead of the load"
    );
}

#[test]
fn spend_above_the_recommended_range_warns() {
    let ladder = ladder();
    let a = assess(&report("users: 12K\nmonthly_cost_usd: 3000\n"), &ladder);
    assert!(a.alarms.is_empty());
    let a = assess(&report("users: 12K\nmonthly_cost_usd: 3000.5\n"), &ladder);
    assert_eq!(
        alarm_summary(&a),
        [("cost-above-range".to_owned(), Severity::Warning, 3000.0)]
    );
}

#[test]
fn alarms_list_critical_first_then_ladder_order() {
    let ladder = ladder();
    let a = assess(
        &report(
            "users: 1\napi_p95_ms: 170\ndb_cpu_pct: 65\ncache_hit_rate_pct: 50\nreplication_lag_ms: 500\n",
        ),
        &ladder,
    );
    let rules: Vec<_> = a
        .alarms
        .iter()
        .map(|x| (x.rule.as_str(), x.severity))
        .collect();
    assert_eq!(
        rules,
        [
            ("cache-hit-rate", Severity::Critical),
            ("replication-lag", Severity::Critical),
            ("api-p95", Severity::Warning),
            ("db-cpu", Severity::Warning),
        ]
    );
}

#[test]
fn missing_metrics_name_the_fields_to_add() {
    let ladder = ladder();
    let a = assess(
        &report("users: 1\ndb_connections: 5\napi_p95_ms: 10\n"),
        &ladder,
    );
    assert_eq!(
        a.missing_metrics,
        [
            "db_cpu_pct",
            "db_max_connections",
            "cache_hit_rate_pct",
            "replication_lag_ms"
        ]
    );
}

#[test]
fn next_steps_put_cheap_fixes_first_and_skip_the_done_ones() {
    let ladder = ladder();
    let a = assess(
        &report(
            "users: 50K\ndb_cpu_pct: 80\nchecklist:\n  indexes_optimized: true\n  connection_pooling: false\n",
        ),
        &ladder,
    );
    assert_eq!(a.recommended_stage.id, 3);
    let steps = &a.next_steps;
    assert!(
        steps[0].starts_with("Find and fix slow queries"),
        "{steps:?}"
    );
    assert!(steps[1].starts_with("Eliminate N+1 queries"));
    assert!(steps[2].starts_with("Pool database connections"));
    assert!(steps[3].starts_with(
        "Move to stage 3 (Growing) at $5,000-$20,000/month; database first: Sharding"
    ));
    assert_eq!(steps[4], "Add auto-scaling web servers (10-20)");
    assert!(steps.iter().all(|s| !s.contains("indexes_optimized")));
}

#[test]
fn with_no_trigger_the_steps_say_stay_and_name_the_next_condition() {
    let ladder = ladder();
    let a = assess(&report("users: 50K\ndb_cpu_pct: 65\n"), &ladder);
    assert_eq!(
        a.next_steps,
        [
            "Stay on stage 2 (Traction): the measurements do not call for more",
            "db-cpu is in warning: work through the 'before optimization' checklist now, before it turns critical",
            "Plan for stage 3 (Growing) when db-cpu goes critical (db_cpu_pct over 70%) or users reach 100,000",
        ]
    );
    let top = assess(&Report::with_users(5_000_000), &ladder);
    assert!(top.next_steps[1].starts_with("stage 4 (Scale) is the top of the ladder"));
}

#[test]
fn a_custom_ladder_changes_every_answer() {
    let text = crate::ladder::DEFAULT_STAGES
        .replace("users_max = 10_000", "users_max = 500")
        .replace("users_min = 10_000", "users_min = 500")
        .replace("warning = 60\ncritical = 70", "warning = 30\ncritical = 40");
    let source = Source::from_bytes("custom.toml".into(), text.into_bytes(), Format::Toml).unwrap();
    let custom = Ladder::parse(&source).unwrap();
    let raw = RawReport {
        users: crate::metrics::Users(600),
        db_cpu_pct: Some(crate::metrics::Percent(45.0)),
        current_stage: Some(crate::metrics::Whole(2)),
        ..RawReport::default()
    };
    let report = raw.validate(&custom).unwrap();
    let a = assess(&report, &custom);
    assert_eq!(a.stage.id, 2);
    assert_eq!(a.recommended_stage.id, 3);
    assert_eq!(
        alarm_summary(&a),
        [("db-cpu".to_owned(), Severity::Critical, 40.0)]
    );
    let default_ladder = ladder();
    let default = assess(&report, &default_ladder);
    assert_eq!(default.stage.id, 1);
    assert!(default.alarms.iter().all(|x| x.rule != "db-cpu"));
}
