use super::*;

fn parse(text: &str) -> Result<Ladder, FileError> {
    let source = Source::from_bytes("s.toml".into(), text.as_bytes().to_vec(), Format::Toml)?;
    Ladder::parse(&source)
}

fn messages(text: &str) -> Vec<String> {
    parse(text)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| p.message)
        .collect()
}

/// The embedded ladder with one edit applied.
fn edited(from: &str, to: &str) -> String {
    assert!(
        DEFAULT_STAGES.contains(from),
        "default stages lack {from:?}"
    );
    DEFAULT_STAGES.replacen(from, to, 1)
}

#[test]
fn embedded_ladder_is_valid_and_has_the_articles_rungs() {
    let ladder = Ladder::embedded().unwrap();
    let summary: Vec<_> = ladder
        .stages()
        .iter()
        .map(|s| (s.id, s.name.as_str(), s.users_min, s.users_max))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "Startup", 0, Some(10_000)),
            (2, "Traction", 10_000, Some(100_000)),
            (3, "Growing", 100_000, Some(1_000_000)),
            (4, "Scale", 1_000_000, None),
        ]
    );
    let rules: Vec<_> = ladder
        .rules()
        .iter()
        .map(|r| (r.id.as_str(), r.warning, r.critical))
        .collect();
    assert_eq!(
        rules,
        [
            ("api-p95", 160.0, 200.0),
            ("db-cpu", 60.0, 70.0),
            ("db-connections", 70.0, 80.0),
            ("cache-hit-rate", 85.0, 80.0),
            ("replication-lag", 80.0, 100.0),
        ]
    );
}

#[test]
fn stage_for_respects_exclusive_upper_bounds() {
    let ladder = Ladder::embedded().unwrap();
    for (users, stage) in [
        (0, 1),
        (9_999, 1),
        (10_000, 2),
        (99_999, 2),
        (100_000, 3),
        (999_999, 3),
        (1_000_000, 4),
        (u64::MAX, 4),
    ] {
        assert_eq!(ladder.stage_for(users).id, stage, "{users} users");
        assert!(ladder.stage_for(users).holds(users));
    }
}

#[test]
fn stage_lookup_by_id() {
    let ladder = Ladder::embedded().unwrap();
    assert_eq!(ladder.stage(1).unwrap().name, "Startup");
    assert!(ladder.stage(0).is_none());
    assert!(ladder.stage(5).is_none());
    assert_eq!(ladder.next(ladder.stage(3).unwrap()).unwrap().id, 4);
    assert!(ladder.next(ladder.top()).is_none());
}

#[test]
fn rejects_other_schema_versions() {
    let problems = parse(&edited("schema_version = 1", "schema_version = 2"))
        .unwrap_err()
        .problems;
    assert_eq!(
        problems[0].message,
        "schema_version 2 is not supported; this scalectl reads version 1"
    );
    assert_eq!(problems[0].location.unwrap().line, 7);
}

#[test]
fn rejects_stage_ids_out_of_order() {
    assert_eq!(
        messages(&edited("id = 2\n", "id = 3\n")),
        ["stage #2 has id 3; stage ids must run 1, 2, 3, ... in order"]
    );
}

#[test]
fn rejects_gaps_overlaps_and_open_middle_stages() {
    assert_eq!(
        messages(&edited("users_min = 0\n", "users_min = 1\n")),
        ["stage 1: users_min is 1; the first stage must start at 0"]
    );
    assert_eq!(
        messages(&edited("users_min = 10_000\n", "users_min = 12_000\n")),
        [
            "stage 2: users_min is 12000 but the stage below ends at 10000; ranges must be contiguous"
        ]
    );
    assert_eq!(
        messages(&edited("users_max = 100_000\n", "")),
        ["stage 2 has no users_max; only the top stage may be open-ended"]
    );
    assert_eq!(
        messages(&edited(
            "users_min = 1_000_000\n",
            "users_min = 1_000_000\nusers_max = 2_000_000\n"
        )),
        ["stage 4 is the top stage and must not have a users_max"]
    );
    let inverted = edited("users_max = 10_000\n", "users_max = 0\n").replacen(
        "users_min = 10_000\n",
        "users_min = 0\n",
        1,
    );
    assert_eq!(
        messages(&inverted),
        ["stage 1: users_max 0 must be greater than users_min 0"]
    );
}

#[test]
fn rejects_inverted_costs() {
    let problems = parse(&edited(
        "cost_usd_month = { min = 1_000, max = 3_000 }",
        "cost_usd_month = { min = 3_001, max = 3_000 }",
    ))
    .unwrap_err()
    .problems;
    assert_eq!(
        problems[0].message,
        "stage 2: cost_usd_month min 3001 is greater than max 3000"
    );
    let second_stage = DEFAULT_STAGES
        .lines()
        .enumerate()
        .filter(|(_, line)| *line == "[[stage]]")
        .nth(1)
        .map(|(index, _)| index + 1);
    assert_eq!(
        Some(problems[0].location.unwrap().line),
        second_stage,
        "points at the second [[stage]]"
    );
}

#[test]
fn rejects_unknown_rules_in_scale_when() {
    assert_eq!(
        messages(&edited(
            "scale_when = [\"api-p95\"]",
            "scale_when = [\"api-p59\"]"
        )),
        ["stage 1: scale_when names `api-p59`, which is not a rule; did you mean `api-p95`?"]
    );
}

#[test]
fn rejects_unknown_metrics() {
    assert_eq!(
        messages(&edited("metric = \"db_cpu_pct\"", "metric = \"db_cpu\"")),
        ["rule `db-cpu`: unknown metric `db_cpu`; did you mean `db_cpu_pct`?"]
    );
}

#[test]
fn rejects_thresholds_in_the_wrong_order() {
    assert_eq!(
        messages(&edited(
            "warning = 60\ncritical = 70",
            "warning = 75\ncritical = 70"
        )),
        ["rule `db-cpu`: warning 75 must be at most critical 70 when direction is \"above\""]
    );
    assert_eq!(
        messages(&edited(
            "warning = 85\ncritical = 80",
            "warning = 75\ncritical = 80"
        )),
        [
            "rule `cache-hit-rate`: warning 75 must be at least critical 80 when direction is \"below\""
        ]
    );
    assert_eq!(
        messages(&edited(
            "warning = 85\ncritical = 80",
            "warning = nan\ncritical = 80"
        )),
        ["rule `cache-hit-rate`: warning and critical must be finite numbers"]
    );
}

#[test]
fn rejects_duplicate_and_reserved_rule_ids() {
    assert_eq!(
        messages(&edited("id = \"db-connections\"", "id = \"db-cpu\"")),
        ["rule `db-cpu` is defined more than once"]
    );
    assert_eq!(
        messages(&edited("id = \"db-connections\"", "id = \"under-scaled\"")),
        ["rule `under-scaled`: the id is reserved for scalectl's own alarms"]
    );
}

#[test]
fn reports_every_problem_not_only_the_first() {
    let text =
        edited("id = 2\n", "id = 7\n").replacen("metric = \"db_cpu_pct\"", "metric = \"cpu\"", 1);
    assert_eq!(parse(&text).unwrap_err().problems.len(), 2);
}

#[test]
fn rejects_misspelled_keys_with_a_suggestion() {
    let error = parse(&edited(
        "scale_when = [\"db-cpu\"]",
        "scale_whne = [\"db-cpu\"]",
    ))
    .unwrap_err();
    assert_eq!(
        error.problems[0].message,
        "unknown field `scale_whne`; did you mean `scale_when`?"
    );
}

#[test]
fn rejects_a_ladder_without_stages() {
    assert_eq!(
        messages("schema_version = 1\n"),
        ["the ladder has no [[stage]]; it needs at least one"]
    );
}
