use super::*;
use crate::metrics::RawReport;
use crate::source::{Format, Source};

fn ladder() -> Ladder {
    Ladder::embedded().unwrap()
}

/// The checklist of a report whose cheap fixes are all done.
const FIXES_DONE: &str = "checklist:\n  indexes_optimized: true\n  slow_queries_fixed: true\n  n_plus_one_eliminated: true\n  connection_pooling: true\n";

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
        // Users alone measure nothing: never a pass.
        assert_eq!(a.status, Severity::Unknown);
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
        "api-p95 is critical (250 ms over 200 ms), the trigger to move up from stage 1 (Startup), and the move is due: users-near-next held"
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
    // 15,000 users on stage 2 architecture: its trigger is db-cpu.
    // Far from stage 3 with the cheap fixes not answered: fix first.
    let a = assess(
        &report("users: 15000\ncurrent_stage: 2\ndb_cpu_pct: 75\n"),
        &ladder,
    );
    assert_eq!(a.recommended_stage.id, 2);
    assert_eq!(a.decision.action, Action::FixFirst);
    assert_eq!(a.decision.move_to.map(|s| s.id), Some(3));
    // The same with the cheap fixes done: the trigger stands.
    let a = assess(
        &report(&format!(
            "users: 15000\ncurrent_stage: 2\ndb_cpu_pct: 75\n{FIXES_DONE}"
        )),
        &ladder,
    );
    assert_eq!(a.recommended_stage.id, 3);
    assert_eq!(a.decision.action, Action::Move);
    // The same users on stage 1 architecture: api-p95 is stage 1's trigger, db-cpu is not.
    let a = assess(
        &report("users: 15000\ncurrent_stage: 1\ndb_cpu_pct: 75\n"),
        &ladder,
    );
    assert!(a.triggers.is_empty());
    assert_eq!(a.recommended_stage.id, 2, "under-scaled moves one rung");
}

#[test]
fn an_over_engineered_system_whose_trigger_fires_is_relieved_within_its_rung() {
    let ladder = ladder();
    // 30,000 users on a sharded stage-3 architecture with one shard at 80% CPU.
    let a = assess(
        &report("users: 30K\ncurrent_stage: 3\ndb_cpu_pct: 80\nmonthly_cost_usd: 9000\n"),
        &ladder,
    );
    assert_eq!(
        a.recommended_stage.id, 3,
        "never further up, never simpler while hot"
    );
    assert_eq!(a.decision.action, Action::Relieve);
    let rules: Vec<_> = a.alarms.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, ["db-cpu", "over-engineered"]);
    assert!(
        a.next_steps
            .iter()
            .any(|s| s == "Within stage 3 (Growing): Rebalance or split the hot shard and cache its hottest reads"),
        "{:#?}",
        a.next_steps
    );
    assert!(
        a.next_steps.iter().all(|s| !s.contains("stage 4")),
        "{:#?}",
        a.next_steps
    );
    let over = a
        .alarms
        .iter()
        .find(|x| x.rule == "over-engineered")
        .unwrap();
    assert!(
        over.remedy
            .starts_with("Keep the architecture in use while db-cpu is critical"),
        "{}",
        over.remedy
    );
    assert!(
        a.reason.contains("relieve it within the rung"),
        "{}",
        a.reason
    );
}

#[test]
fn the_top_stage_caps_the_recommendation() {
    let ladder = ladder();
    let a = assess(&report("users: 2M\ndb_cpu_pct: 99\n"), &ladder);
    assert_eq!(a.recommended_stage.id, 4);
    assert!(a.next_stage.is_none());
}

#[test]
fn the_recommendation_climbs_one_rung_at_a_time() {
    let ladder = ladder();
    // Stage 1 architecture with stage 3 users and stage 1's trigger firing.
    let a = assess(
        &report("users: 500K\ncurrent_stage: 1\napi_p95_ms: 300\n"),
        &ladder,
    );
    assert_eq!(a.stage.id, 3);
    assert_eq!(a.recommended_stage.id, 2);
    let rules: Vec<_> = a.alarms.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, ["api-p95", "under-scaled"]);
    let under = &a.alarms[1];
    assert_eq!((under.observed, under.threshold), (500_000.0, 10_000.0));
}

#[test]
fn over_engineering_is_a_warning_with_the_cost_difference() {
    let ladder = ladder();
    let a = assess(
        &report("users: 12K\ncurrent_stage: 4\napi_p95_ms: 80\n"),
        &ladder,
    );
    assert_eq!(a.recommended_stage.id, 2);
    assert_eq!(a.status, Severity::Warning);
    let alarm = &a.alarms[0];
    assert_eq!(alarm.rule, "over-engineered");
    assert_eq!(alarm.metric, "current_stage");
    assert_eq!((alarm.observed, alarm.threshold), (4.0, 2.0));
    assert!(
        alarm.message.contains(
            "stage 4 (Scale) costs $50,000-$200,000/month against stage 2's $1,000-$3,000"
        ),
        "{}",
        alarm.message
    );
    assert!(
        a.next_steps[0].starts_with("over-engineered (warning): Build no more architecture"),
        "{:?}",
        a.next_steps
    );
}

#[test]
fn over_engineering_uses_the_spend_the_report_gives() {
    let ladder = ladder();
    let a = assess(
        &report("users: 12K\ncurrent_stage: 4\nmonthly_cost_usd: 60000\napi_p95_ms: 90\n"),
        &ladder,
    );
    let over = a
        .alarms
        .iter()
        .find(|x| x.rule == "over-engineered")
        .unwrap();
    assert!(
        over.message
            .contains("$60,000/month is $57,000-$59,000 above stage 2's $1,000-$3,000"),
        "{}",
        over.message
    );
    let cost = a
        .alarms
        .iter()
        .find(|x| x.rule == "cost-above-range")
        .unwrap();
    assert!(
        cost.message
            .contains("$60,000/month is $57,000-$59,000 above stage 2's $1,000-$3,000"),
        "{}",
        cost.message
    );
    let delta = a.cost_delta_usd_month.unwrap();
    assert_eq!((delta.min, delta.max), (-59_000.0, -57_000.0));
}

#[test]
fn spend_above_the_recommended_range_warns() {
    let ladder = ladder();
    let a = assess(
        &report("users: 12K\nmonthly_cost_usd: 3000\napi_p95_ms: 1\n"),
        &ladder,
    );
    assert!(a.alarms.is_empty());
    let a = assess(
        &report("users: 12K\nmonthly_cost_usd: 3000.5\napi_p95_ms: 1\n"),
        &ladder,
    );
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
            // A replica's lag on a stage that runs no replicas.
            ("stage-mismatch", Severity::Warning),
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
fn next_steps_answer_the_alarm_then_cheap_fixes_then_the_move() {
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
        steps[0].starts_with("db-cpu (critical): Fix the database"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with("Find and fix slow queries"),
        "{steps:?}"
    );
    assert!(steps[2].starts_with("Eliminate N+1 queries"));
    assert!(steps[3].starts_with("Pool database connections"));
    assert_eq!(
        steps[4],
        "Move to stage 3 (Growing) at $5,000-$20,000/month, database first. Sharding: split the data across independent databases so that writes scale as well as reads"
    );
    assert_eq!(steps[5], "Add auto-scaling web servers (10-20)");
    assert!(
        steps
            .last()
            .unwrap()
            .contains("a planned refactor costs $200,000-$500,000 over 2-3 months")
    );
    assert!(
        steps
            .last()
            .unwrap()
            .contains("$500,000-$2,000,000 over 3-6 months")
    );
    assert!(steps.iter().all(|s| !s.contains("indexes_optimized")));
    assert!(
        steps.iter().all(|s| !s.contains(": Sharding")),
        "no double colons"
    );
}

#[test]
fn with_nothing_fired_the_steps_say_stay_and_name_the_next_condition() {
    let ladder = ladder();
    let a = assess(&report("users: 50K\ndb_cpu_pct: 50\n"), &ladder);
    assert_eq!(
        a.next_steps,
        [
            "Stay on stage 2 (Traction): nothing fired, so nothing calls for more",
            "Plan for stage 3 (Growing) when db-cpu goes critical (db_cpu_pct over 70%) or users reach 100,000",
        ]
    );
    // A warning is answered with its remedy, and there is no "stay".
    let a = assess(&report("users: 50K\ndb_cpu_pct: 65\n"), &ladder);
    assert!(a.next_steps[0].starts_with("db-cpu (warning): Fix the database"));
    assert!(
        a.next_steps.iter().all(|s| !s.starts_with("Stay")),
        "{:?}",
        a.next_steps
    );
    let top = assess(&report("users: 5M\ndb_cpu_pct: 10\n"), &ladder);
    assert!(top.next_steps[1].starts_with("stage 4 (Scale) is the top of the ladder"));
}

/// Each critical alarm that is not the stage's trigger: its remedy and the
/// stage's own way to relieve the database, never "stay".
#[test]
fn every_critical_alarm_gets_its_remedy_and_the_stages_own_relief() {
    let ladder = ladder();
    // The stage's relief is used only when it is the relief of that rule's
    // alarm; without one, the rule's own remedy stands alone.
    for (yaml, rule, within) in [
        (
            "users: 5000\ndb_cpu_pct: 90\n",
            "db-cpu",
            Some("Within stage 1 (Startup): Scale the one database vertically"),
        ),
        (
            "users: 50K\nreplication_lag_ms: 900\n",
            "replication-lag",
            Some("Within stage 2 (Traction): Find what holds the replicas back"),
        ),
        (
            "users: 50K\ncache_hit_rate_pct: 40\n",
            "cache-hit-rate",
            None,
        ),
        (
            "users: 50K\napi_p95_ms: 900\ndb_cpu_pct: 30\n",
            "api-p95",
            Some("Within stage 2 (Traction): The database is not the bottleneck"),
        ),
        (
            "users: 50K\napi_p95_ms: 900\n",
            "api-p95",
            Some("Measure the database (db_cpu_pct) before acting on the slow API"),
        ),
        (
            "users: 5000\ndb_connections: 150\ndb_max_connections: 150\n",
            "db-connections",
            None,
        ),
    ] {
        let a = assess(&report(yaml), &ladder);
        assert_eq!(a.status, Severity::Critical, "{yaml}");
        assert!(a.triggers.is_empty(), "{yaml}");
        let remedy = &ladder.rule(rule).unwrap().remedy;
        assert_eq!(
            a.next_steps[0],
            format!("{rule} (critical): {remedy}"),
            "{yaml}"
        );
        match within {
            Some(within) => assert!(
                a.next_steps.iter().any(|s| s.starts_with(within)),
                "{yaml}: {:#?}",
                a.next_steps
            ),
            None => assert!(
                a.next_steps.iter().all(|s| !s.starts_with("Within")),
                "{yaml}: {:#?}",
                a.next_steps
            ),
        }
        assert!(
            a.next_steps.iter().all(|s| !s.starts_with("Stay")),
            "{yaml}: {:#?}",
            a.next_steps
        );
    }
}

#[test]
fn far_behind_its_users_the_path_is_laid_out_rung_by_rung() {
    let ladder = ladder();
    let a = assess(
        &report("users: 2M\ncurrent_stage: 1\napi_p95_ms: 90\ndb_cpu_pct: 30\n"),
        &ladder,
    );
    assert_eq!(a.stage.id, 4);
    assert_eq!(a.recommended_stage.id, 2);
    let under = a.alarms.iter().find(|x| x.rule == "under-scaled").unwrap();
    assert!(under.message.contains("3 rungs up"), "{}", under.message);
    assert!(
        a.reason.contains("3 rungs above stage 1 (Startup)"),
        "{}",
        a.reason
    );
    let moves: Vec<&String> = a
        .next_steps
        .iter()
        .filter(|s| s.contains("/month, database first"))
        .collect();
    assert_eq!(moves.len(), 3, "{moves:#?}");
    assert!(moves[0].starts_with("Move to stage 2 (Traction)"));
    assert!(moves[1].contains("move to stage 3 (Growing)"));
    assert!(moves[2].contains("move to stage 4 (Scale)"));
    assert!(a.next_steps.iter().any(|s| s.contains("panicked rebuild")));
}

#[test]
fn a_report_that_measures_nothing_is_unknown_not_ok() {
    let ladder = ladder();
    let a = assess(&report("users: 0\n"), &ladder);
    assert_eq!(a.status, Severity::Unknown);
    assert_eq!(a.alarms[0].rule, "not-measured");
    assert!(a.next_steps[0].starts_with("not-measured (unknown): Measure before optimizing"));
    let measured = assess(&report("users: 0\ncache_hit_rate_pct: 99\n"), &ladder);
    assert_eq!(measured.status, Severity::Ok);
}

#[test]
fn without_text_only_the_sentences_are_left_out() {
    let ladder = ladder();
    let r = report(
        "users: 60000\ndb_cpu_pct: 95\napi_p95_ms: 900\ncurrent_stage: 4\nmonthly_cost_usd: 90000\nobserved_at: \"2019-03-01\"\nignore:\n  api-p95: known\n",
    );
    let today = crate::date::days_from_civil(2026, 11, 28) as f64;
    let options = Options {
        today: Some(today),
        ..Options::default()
    };
    let full = assess_with(&r, &ladder, &options);
    assert!(!full.reason.is_empty() && !full.next_steps.is_empty());
    assert!(full.alarms.len() >= 3 && !full.suppressed.is_empty());
    let bare = assess_with(
        &r,
        &ladder,
        &Options {
            text: false,
            ..options
        },
    );
    let silent = |alarm: &Alarm| Alarm {
        message: String::new(),
        remedy: String::new(),
        ..alarm.clone()
    };
    let with_text_removed = Assessment {
        reason: String::new(),
        next_steps: Vec::new(),
        alarms: full.alarms.iter().map(silent).collect(),
        suppressed: full
            .suppressed
            .iter()
            .map(|s| Suppressed {
                alarm: silent(&s.alarm),
                reason: s.reason.clone(),
            })
            .collect(),
        ..full
    };
    assert_eq!(bare, with_text_removed);
}

#[test]
fn a_report_older_than_the_limit_is_stale() {
    let ladder = ladder();
    let old = report("users: 5000\napi_p95_ms: 50\nobserved_at: \"2019-03-01\"\n");
    let today = crate::date::days_from_civil(2026, 11, 28) as f64;
    let options = Options {
        today: Some(today),
        max_age_days: 30.0,
        ..Options::default()
    };
    let a = assess_with(&old, &ladder, &options);
    let stale = a.alarms.iter().find(|x| x.rule == "stale-report").unwrap();
    assert_eq!(stale.severity, Severity::Warning);
    assert!(
        stale
            .message
            .contains("observed on 2019-03-01, 2,829 days ago"),
        "{}",
        stale.message
    );
    let fresh = Options {
        today: Some(today),
        max_age_days: 3_000.0,
        ..Options::default()
    };
    assert!(assess_with(&old, &ladder, &fresh).alarms.is_empty());
    // Exactly at the limit is not stale.
    let at = Options {
        today: Some(crate::date::days_from_civil(2019, 3, 31) as f64),
        max_age_days: 30.0,
        ..Options::default()
    };
    assert!(assess_with(&old, &ladder, &at).alarms.is_empty());
    assert!(
        assess(&old, &ladder).alarms.is_empty(),
        "no clock, no age check"
    );
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
    // Its trigger fires far below stage 3, with no cheap fix answered.
    assert_eq!(a.recommended_stage.id, 2);
    assert_eq!(a.decision.action, Action::FixFirst);
    assert_eq!(
        alarm_summary(&a),
        [("db-cpu".to_owned(), Severity::Critical, 40.0)]
    );
    let default_ladder = ladder();
    let default = assess(&report, &default_ladder);
    assert_eq!(default.stage.id, 1);
    assert!(default.alarms.iter().all(|x| x.rule != "db-cpu"));
}

#[test]
fn suppressed_alarms_keep_their_reason_and_leave_the_status() {
    let ladder = ladder();
    let r = report(
        "users: 50K\nreplication_lag_ms: 900\ndb_cpu_pct: 65\nignore:\n  replication-lag: \"no replicas yet\"\n",
    );
    let a = assess(&r, &ladder);
    assert_eq!(a.status, Severity::Warning);
    assert_eq!(a.suppressed.len(), 1);
    assert_eq!(a.suppressed[0].alarm.rule, "replication-lag");
    assert_eq!(a.suppressed[0].reason, "no replicas yet");
    assert!(
        a.next_steps
            .iter()
            .all(|s| !s.starts_with("replication-lag"))
    );
    let options = Options {
        select: vec!["replication-lag".into()],
        ignore: vec![("replication-lag".into(), "ignored with --ignore".into())],
        ..Options::default()
    };
    let selected = assess_with(&r, &ladder, &options);
    assert!(selected.alarms.is_empty());
    let reasons: Vec<&str> = selected
        .suppressed
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        ["no replicas yet", "not selected (--select)"],
        "the report's reason wins"
    );
}

/// The rows of the advice issue: each report a CTO might bring, with what
/// the article says about it.
mod article {
    use super::*;

    fn steps(a: &Assessment<'_>) -> String {
        a.next_steps.join("\n")
    }

    #[test]
    fn a_hot_write_heavy_primary_at_15k_users_fixes_first() {
        let ladder = ladder();
        let a = assess(
            &report("users: 15K\ncurrent_stage: 2\ndb_cpu_pct: 82\nmonthly_cost_usd: 1600\n"),
            &ladder,
        );
        assert_eq!(a.recommended_stage.id, 2, "no sharding at 15K users");
        assert_eq!(a.decision.action, Action::FixFirst);
        assert_eq!(a.decision.move_to.map(|s| s.id), Some(3));
        let held: Vec<(&str, bool)> = a
            .decision
            .conditions
            .iter()
            .map(|c| (c.id.id(), c.held))
            .collect();
        assert_eq!(
            held,
            [("cheap-fixes-done", false), ("users-near-next", false)]
        );
        let steps = steps(&a);
        assert!(
            steps.contains("Move to stage 3 (Growing) only if Database CPU stays over 70% once these are done: indexes_optimized (not answered)"),
            "{steps}"
        );
        assert!(!steps.contains("planned refactor"), "{steps}");
        // The cost is the rung in use, not stage 3's.
        let delta = a.cost_delta_usd_month.unwrap();
        assert_eq!((delta.min, delta.max), (-600.0, 1400.0));
    }

    #[test]
    fn with_the_cheap_fixes_done_the_trigger_stands() {
        let ladder = ladder();
        let a = assess(
            &report(&format!(
                "users: 15K\ncurrent_stage: 2\ndb_cpu_pct: 82\n{FIXES_DONE}"
            )),
            &ladder,
        );
        assert_eq!(a.recommended_stage.id, 3);
        assert_eq!(a.decision.action, Action::Move);
        // A move to stage 3 quotes the article's refactor figures.
        assert!(steps(&a).contains("planned refactor costs $200,000"));
        // One fix not done is not all of them.
        let partial = FIXES_DONE.replace("connection_pooling: true", "connection_pooling: false");
        let a = assess(
            &report(&format!(
                "users: 15K\ncurrent_stage: 2\ndb_cpu_pct: 82\n{partial}"
            )),
            &ladder,
        );
        assert_eq!(a.decision.action, Action::FixFirst);
        assert!(steps(&a).contains("connection_pooling (not done)"));
    }

    #[test]
    fn users_near_the_next_stage_move_at_the_boundary() {
        let ladder = ladder();
        // Near stage 3 starts at 50% of its 100,000 users.
        for (users, action) in [(49_999, Action::FixFirst), (50_000, Action::Move)] {
            let a = assess(
                &report(&format!(
                    "users: {users}\ncurrent_stage: 2\ndb_cpu_pct: 82\n"
                )),
                &ladder,
            );
            assert_eq!(a.decision.action, action, "{users}");
        }
    }

    #[test]
    fn one_hot_shard_is_split_within_stage_3() {
        let ladder = ladder();
        let a = assess(
            &report("users: 400K\ncurrent_stage: 3\ndb_cpu_pct: 85\n"),
            &ladder,
        );
        assert_eq!(a.recommended_stage.id, 3, "no microservices at 400K users");
        assert_eq!(a.decision.action, Action::Relieve);
        let steps = steps(&a);
        assert!(
            steps.contains("Within stage 3 (Growing): Rebalance or split the hot shard"),
            "{steps}"
        );
        assert!(!steps.contains("microservices"), "{steps}");
        // All shards hot, but far from 1M users: still within stage 3.
        let a = assess(
            &report(
                "users: 400K\ncurrent_stage: 3\ndb_cpu_pct: 85\ndb_shards: 4\ndb_shards_hot: 4\n",
            ),
            &ladder,
        );
        assert_eq!(a.recommended_stage.id, 3);
        // All shards at capacity and users approaching 1M: stage 4 is due.
        let a = assess(
            &report(
                "users: 600K\ncurrent_stage: 3\ndb_cpu_pct: 85\ndb_shards: 4\ndb_shards_hot: 4\n",
            ),
            &ladder,
        );
        assert_eq!(a.recommended_stage.id, 4);
        assert_eq!(a.decision.action, Action::Move);
        // One hot shard of four, near 1M: rebalance, not microservices.
        let a = assess(
            &report(
                "users: 900K\ncurrent_stage: 3\ndb_cpu_pct: 85\ndb_shards: 4\ndb_shards_hot: 1\n",
            ),
            &ladder,
        );
        assert_eq!(a.recommended_stage.id, 3);
    }

    #[test]
    fn following_the_advice_is_not_called_over_engineered() {
        let ladder = ladder();
        // 400K users on stage 4 that the advice never recommended: over-engineered.
        let a = assess(
            &report("users: 400K\ncurrent_stage: 4\ndb_cpu_pct: 50\n"),
            &ladder,
        );
        assert!(a.alarms.iter().any(|x| x.rule == "over-engineered"));
        // The move the advice made at 15K users with the fixes done, run forward.
        let a = assess(
            &report(&format!(
                "users: 15K\ncurrent_stage: 3\ndb_cpu_pct: 50\n{FIXES_DONE}"
            )),
            &ladder,
        );
        assert!(a.alarms.is_empty(), "{:?}", a.alarms);
        assert_eq!(a.recommended_stage.id, 3);
    }

    #[test]
    fn a_hot_over_engineered_system_is_not_simplified_until_cool() {
        let ladder = ladder();
        let a = assess(
            &report("users: 3K\ncurrent_stage: 2\ndb_cpu_pct: 80\nmonthly_cost_usd: 2500\n"),
            &ladder,
        );
        assert_eq!(a.decision.action, Action::Relieve);
        assert_eq!(a.recommended_stage.id, 2);
        let steps = steps(&a);
        assert!(!steps.contains("idle replicas"), "{steps}");
        assert!(!steps.contains("Add "), "{steps}");
        assert!(steps.contains("once it is cool, simplify"), "{steps}");
        // Cool: now simplify.
        let a = assess(
            &report("users: 3K\ncurrent_stage: 2\ndb_cpu_pct: 40\n"),
            &ladder,
        );
        assert_eq!(a.decision.action, Action::Simplify);
        assert_eq!(a.recommended_stage.id, 1);
    }

    #[test]
    fn a_slow_api_with_a_cool_database_is_an_application_problem() {
        let ladder = ladder();
        let a = assess(
            &report("users: 50K\ncurrent_stage: 2\napi_p95_ms: 400\ndb_cpu_pct: 35\n"),
            &ladder,
        );
        assert_eq!(a.decision.bottleneck, Some(Bottleneck::Application));
        let steps = steps(&a);
        assert!(!steps.contains("replica"), "{steps}");
        assert!(steps.contains("app servers"), "{steps}");
        // A hot database with the same slow API: the database first.
        let a = assess(
            &report("users: 50K\ncurrent_stage: 2\napi_p95_ms: 400\ndb_cpu_pct: 65\n"),
            &ladder,
        );
        assert_eq!(a.decision.bottleneck, Some(Bottleneck::Database));
        assert!(steps_have(&a, "[checklist: indexes_optimized]"));
    }

    fn steps_have(a: &Assessment<'_>, text: &str) -> bool {
        a.next_steps.iter().any(|s| s.contains(text))
    }

    #[test]
    fn a_lag_alarm_gets_a_lag_remedy_and_a_stage_1_lag_is_a_mismatch() {
        let ladder = ladder();
        let a = assess(
            &report("users: 4K\ncurrent_stage: 1\nreplication_lag_ms: 5000\n"),
            &ladder,
        );
        let steps = steps(&a);
        assert!(!steps.contains("vertically"), "{steps}");
        assert!(steps.contains("lagging replica"), "{steps}");
        let mismatch = a
            .alarms
            .iter()
            .find(|x| x.rule == "stage-mismatch")
            .unwrap();
        assert!(
            mismatch
                .message
                .contains("declared current_stage is probably wrong")
        );
    }

    #[test]
    fn small_moves_quote_the_monthly_delta_only() {
        let ladder = ladder();
        let a = assess(
            &report(&format!(
                "users: 1500\ncurrent_stage: 1\nmonthly_cost_usd: 80\napi_p95_ms: 350\ndb_cpu_pct: 40\n{FIXES_DONE}"
            )),
            &ladder,
        );
        assert_eq!(a.decision.action, Action::Move);
        assert!(!steps(&a).contains("refactor"), "{}", steps(&a));
        let delta = a.cost_delta_usd_month.unwrap();
        assert_eq!((delta.min, delta.max), (920.0, 2920.0));
    }

    #[test]
    fn suppressed_rules_drive_nothing() {
        let ladder = ladder();
        let r = report(
            "users: 15K\ncurrent_stage: 2\ndb_cpu_pct: 82\ndb_connections: 90\ndb_max_connections: 100\n",
        );
        let options = Options {
            ignore: vec![
                ("db-cpu".into(), "known".into()),
                ("db-connections".into(), "known".into()),
            ],
            ..Options::default()
        };
        let a = assess_with(&r, &ladder, &options);
        assert_eq!(a.status, Severity::Ok);
        assert!(a.decision.trigger.is_none());
        assert_eq!(a.decision.action, Action::Stay);
        assert_eq!(a.recommended_stage.id, 2);
        assert!(!a.reason.contains("db-cpu"), "{}", a.reason);
        assert!(!steps(&a).contains("db-cpu (critical)"), "{}", steps(&a));
        assert_eq!(a.suppressed.len(), 2);
    }

    #[test]
    fn a_percentage_at_or_below_1_looks_like_a_fraction() {
        let ladder = ladder();
        for (yaml, fired) in [
            ("db_cpu_pct: 0.75", true),
            ("db_cpu_pct: 1", true),
            ("db_cpu_pct: 1.01", false),
            ("db_cpu_pct: 0", false),
            ("cache_hit_rate_pct: 0.9", true),
        ] {
            let a = assess(&report(&format!("users: 20K\n{yaml}\n")), &ladder);
            let found = a.alarms.iter().find(|x| x.rule == "percent-as-fraction");
            assert_eq!(found.is_some(), fired, "{yaml}");
            if let Some(alarm) = found {
                assert_eq!(alarm.severity, Severity::Warning);
            }
        }
        let a = assess(&report("users: 20K\ndb_cpu_pct: 0.75\n"), &ladder);
        assert!(
            a.alarms[0]
                .message
                .contains("0.75% looks like a fraction: did you mean 75%?")
                || a.alarms
                    .iter()
                    .any(|x| x.message.contains("did you mean 75%?"))
        );
    }
}

/// Running the advice forward: the report with the recommended stage in use
/// and its alarms relieved. It must not contradict the advice.
mod forward {
    use super::*;
    use proptest::prelude::*;

    fn yaml(
        users: u64,
        stage: u32,
        cpu: f64,
        p95: f64,
        fixes: [bool; 4],
        shards: Option<(u64, u64)>,
    ) -> String {
        let mut yaml = format!(
            "users: {users}\ncurrent_stage: {stage}\ndb_cpu_pct: {cpu}\napi_p95_ms: {p95}\nchecklist:\n"
        );
        for (id, done) in [
            "indexes_optimized",
            "slow_queries_fixed",
            "n_plus_one_eliminated",
            "connection_pooling",
        ]
        .iter()
        .zip(fixes)
        {
            yaml += &format!("  {id}: {done}\n");
        }
        if let Some((count, hot)) = shards {
            yaml += &format!("db_shards: {count}\ndb_shards_hot: {hot}\n");
        }
        yaml
    }

    proptest! {
        #[test]
        fn the_advice_run_forward_does_not_contradict_itself(
            users in 0u64..3_000_000,
            stage in 1u32..=4,
            cpu in 2.0f64..100.0,
            p95 in 10.0f64..600.0,
            fixes in any::<[bool; 4]>(),
            shards in proptest::option::of((1u64..8).prop_flat_map(|n| (Just(n), 0..=n))),
        ) {
            let ladder = ladder();
            let before = assess(&report(&yaml(users, stage, cpu, p95, fixes, shards)), &ladder);
            let in_use = before.in_use().id;
            let steps = before.next_steps.join("\n");
            let critical = before
                .alarms
                .iter()
                .any(|a| a.severity == Severity::Critical && ladder.rule(&a.rule).is_some());
            // One rung at a time, and never simpler while something is critical.
            prop_assert!(before.recommended_stage.id <= in_use + 1);
            if critical {
                prop_assert!(before.recommended_stage.id >= in_use, "{steps}");
                prop_assert_ne!(before.decision.action, Action::Simplify);
            }
            // One consistent plan: never "simplify" and "add" in the same list.
            if before.decision.action == Action::Simplify || steps.contains("simplify") {
                prop_assert!(!steps.lines().any(|s| s.starts_with("Add ") || s.starts_with("Move to")), "{steps}");
            }
            // Microservices before 1M users only with every shard at capacity.
            if before.recommended_stage.id == 4 && in_use == 3 && users < 1_000_000 {
                prop_assert!(matches!(shards, Some((n, hot)) if hot >= n), "{steps}");
            }
            if before.decision.action == Action::Move {
                let to = before.recommended_stage.id;
                // The move done, the alarms relieved, the shards split.
                let after = assess(
                    &report(&yaml(users, to, 40.0, 100.0, fixes, shards.map(|(n, _)| (n, 0)))),
                    &ladder,
                );
                prop_assert!(
                    after.alarms.iter().all(|a| a.rule != "over-engineered"),
                    "{steps}\n---\n{:#?}", after.alarms
                );
                prop_assert!(after.recommended_stage.id >= to);
            }
        }
    }
}
