//! Properties of the engine and the parsers, over generated inputs. The
//! arbitrary and mutated inputs stand in, in `cargo test`, for the fuzz
//! targets under `fuzz/`.

use proptest::prelude::*;
use scalectl::baseline::Baseline;
use scalectl::engine::{Options, Severity, assess, assess_with};
use scalectl::fuzzing::{format_from, ladder, render_all};
use scalectl::gate::{FailOn, Outcome};
use scalectl::history::{History, read_csv_from};
use scalectl::ladder::Ladder;
use scalectl::metric::{Direction, Metric};
use scalectl::metrics::Report;
use scalectl::render::{Entry, Run};
use scalectl::source::{Format, Source};
use scalectl::template::metrics_template;

fn source(text: &str, format: Format) -> Source {
    Source::from_bytes("prop".into(), text.as_bytes().to_vec(), format).unwrap()
}

fn report(yaml: &str, ladder: &Ladder) -> Report {
    Report::parse(&source(yaml, Format::Yaml), ladder).unwrap()
}

/// A valid report as YAML: random users and any subset of the metrics.
fn report_yaml() -> impl Strategy<Value = String> {
    (
        0u64..5_000_000,
        proptest::option::of(0.0f64..2_000.0),
        proptest::option::of(0.0f64..=100.0),
        proptest::option::of((1u64..500).prop_flat_map(|max| (0..=max, Just(max)))),
        proptest::option::of(0.0f64..=100.0),
        proptest::option::of(0.0f64..1_000.0),
        proptest::option::of(1u32..=4),
        proptest::option::of(0.0f64..300_000.0),
        proptest::collection::btree_map(
            prop::sample::select(vec![
                "indexes_optimized",
                "slow_queries_fixed",
                "redis_cache",
                "alerts_set",
            ]),
            any::<bool>(),
            0..4,
        ),
        proptest::option::of((1990i64..2030, 1u32..=12, 1u32..=28)),
    )
        .prop_map(
            |(users, p95, cpu, conns, cache, lag, stage, cost, checklist, observed)| {
                let mut yaml = format!("service: \"svc <&> \\\"x\\\"\"\nusers: {users}\n");
                if let Some(v) = p95 {
                    yaml += &format!("api_p95_ms: {v}\n");
                }
                if let Some(v) = cpu {
                    yaml += &format!("db_cpu_pct: {v}\n");
                }
                if let Some((open, max)) = conns {
                    yaml += &format!("db_connections: {open}\ndb_max_connections: {max}\n");
                }
                if let Some(v) = cache {
                    yaml += &format!("cache_hit_rate_pct: {v}\n");
                }
                if let Some(v) = lag {
                    yaml += &format!("replication_lag_ms: {v}\n");
                }
                if let Some(v) = stage {
                    yaml += &format!("current_stage: {v}\n");
                }
                if let Some(v) = cost {
                    yaml += &format!("monthly_cost_usd: {v}\n");
                }
                if let Some((year, month, day)) = observed {
                    yaml += &format!("observed_at: \"{year}-{month:02}-{day:02}\"\n");
                }
                if !checklist.is_empty() {
                    yaml += "checklist:\n";
                    for (id, done) in checklist {
                        yaml += &format!("  {id}: {done}\n");
                    }
                }
                yaml
            },
        )
}

fn worst(a: &scalectl::engine::Assessment<'_>, rule: &str) -> Severity {
    a.alarms
        .iter()
        .filter(|x| x.rule == rule)
        .map(|x| x.severity)
        .max()
        .unwrap_or(Severity::Ok)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn more_users_never_give_a_lower_stage(a in 0u64..10_000_000, b in 0u64..10_000_000) {
        let ladder = ladder();
        let (low, high) = (a.min(b), a.max(b));
        let low = assess(&Report::with_users(low), &ladder);
        let high = assess(&Report::with_users(high), &ladder);
        prop_assert!(low.stage.id <= high.stage.id);
        prop_assert!(low.recommended_stage.id <= high.recommended_stage.id);
    }

    #[test]
    fn a_worse_metric_never_gives_a_lower_severity_or_stage(
        yaml in report_yaml(),
        metric in prop::sample::select(Metric::ALL.to_vec()),
        worse_by in 0.0f64..150.0,
    ) {
        let ladder = ladder();
        let before = report(&yaml, &ladder);
        let Some(value) = before.metric(metric) else { return Ok(()) };
        let rule = ladder.rules().iter().find(|r| r.metric == metric).unwrap();
        let mut after = before.clone();
        let worse = match rule.direction {
            Direction::Above => value + worse_by,
            Direction::Below => (value - worse_by).max(0.0),
        };
        match metric {
            Metric::ApiP95Ms => after.api_p95_ms = Some(worse),
            Metric::DbCpuPct => after.db_cpu_pct = Some(worse.min(100.0)),
            Metric::DbConnectionsPct => {
                let max = after.db_max_connections.unwrap();
                after.db_connections = Some((worse * max as f64 / 100.0).ceil() as u64);
            }
            Metric::CacheHitRatePct => after.cache_hit_rate_pct = Some(worse),
            Metric::ReplicationLagMs => after.replication_lag_ms = Some(worse),
        }
        let a = assess(&before, &ladder);
        let b = assess(&after, &ladder);
        prop_assert!(worst(&a, &rule.id) <= worst(&b, &rule.id));
        prop_assert!(a.status <= b.status || b.alarms.iter().any(|x| x.rule == rule.id));
        prop_assert!(a.recommended_stage.id <= b.recommended_stage.id);
    }

    #[test]
    fn every_alarm_is_answered_in_the_next_steps(yaml in report_yaml(), age in 0.0f64..4_000.0) {
        let ladder = ladder();
        let report = report(&yaml, &ladder);
        let options = Options {
            today: report.observed_at.map(|at| at + age),
            max_age_days: 30.0,
            ..Options::default()
        };
        let a = assess_with(&report, &ladder, &options);
        for alarm in &a.alarms {
            let prefix = format!("{} ({}): ", alarm.rule, alarm.severity);
            prop_assert!(
                a.next_steps.iter().any(|step| step.starts_with(&prefix)),
                "{} is not answered in {:#?}", alarm.rule, a.next_steps
            );
        }
        prop_assert!(
            a.alarms.is_empty() || a.next_steps.iter().all(|step| !step.starts_with("Stay")),
            "\"stay\" beside an alarm: {:#?}", a.next_steps
        );
    }

    #[test]
    fn the_recommendation_is_never_more_than_one_rung_above_the_architecture_in_use(
        yaml in report_yaml(),
    ) {
        let ladder = ladder();
        let a = assess(&report(&yaml, &ladder), &ladder);
        prop_assert!(a.recommended_stage.id <= a.in_use().id + 1);
        if a.in_use().id > a.stage.id {
            prop_assert!(a.recommended_stage.id <= a.in_use().id, "never further up when over-engineered");
        }
    }

    #[test]
    fn a_report_that_measures_nothing_never_passes_the_gate(
        users in 0u64..5_000_000,
        stage in proptest::option::of(1u32..=4),
        cost in proptest::option::of(0.0f64..300_000.0),
        fail_on in prop::sample::select(vec![FailOn::Warning, FailOn::Critical]),
    ) {
        let ladder = ladder();
        let mut yaml = format!("users: {users}\n");
        if let Some(stage) = stage {
            yaml += &format!("current_stage: {stage}\n");
        }
        if let Some(cost) = cost {
            yaml += &format!("monthly_cost_usd: {cost}\n");
        }
        let report = report(&yaml, &ladder);
        let entry = |ladder| Entry {
            file: "r.yaml".into(),
            assessment: assess(&report, ladder),
            lines: Vec::new(),
            change: None,
            what_if: None,
        };
        let mut run = Run::new(&ladder, fail_on);
        run.results.push(Ok(entry(&ladder)));
        prop_assert_eq!(run.status(), Severity::Unknown);
        prop_assert_eq!(Outcome::of_run(&run), Outcome::GateFailed);
        run.allow_unmeasured = true;
        let others_fail = run
            .entries()
            .flat_map(|e| &e.assessment.alarms)
            .any(|a| a.severity != Severity::Unknown && fail_on.fails(a.severity));
        let expected = if others_fail { Outcome::GateFailed } else { Outcome::Pass };
        prop_assert_eq!(Outcome::of_run(&run), expected);
    }

    /// The fast path answers only as the full parser does, and answers for
    /// every plain report.
    #[test]
    fn the_fast_path_equals_the_full_parser(yaml in report_yaml(), plain in any::<bool>()) {
        let ladder = ladder();
        // Generated reports, and the same without the quoted, escaped
        // service name, which is what the fast path takes.
        let text = if plain {
            yaml.lines()
                .filter(|l| !l.starts_with("service"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        } else {
            yaml
        };
        if plain {
            prop_assert!(scalectl::metrics::fast::parse(&text).is_some(), "{text:?}");
        }
        same_as_full_parser(&text, &ladder);
    }

    #[test]
    fn every_format_is_produced_for_every_valid_report(yaml in report_yaml()) {
        let ladder = ladder();
        let report = report(&yaml, &ladder);
        let outputs = render_all(&report, &ladder);
        let json: serde_json::Value = serde_json::from_slice(&outputs[1]).unwrap();
        let entry = &json["reports"][0];
        for key in ["file", "service", "users", "stage", "current_stage", "recommended_stage",
                    "next_stage", "alarms", "missing_metrics", "next_steps", "status"] {
            prop_assert!(entry.get(key).is_some(), "missing {key}");
        }
        let sarif: serde_json::Value = serde_json::from_slice(&outputs[5]).unwrap();
        prop_assert_eq!(&sarif["version"], "2.1.0");
        let xml = String::from_utf8(outputs[4].clone()).unwrap();
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => prop_assert!(false, "JUnit XML is not well-formed: {e}"),
            }
        }
    }

    #[test]
    fn the_init_template_filled_with_valid_values_parses(
        users in 0u64..100_000_000,
        p95 in 0.0f64..10_000.0,
        cpu in 0.0f64..=100.0,
        open in 0u64..10_000,
        max in 1u64..10_000,
        cache in 0.0f64..=100.0,
        stage in 1u32..=4,
        answer in any::<bool>(),
    ) {
        let ladder = ladder();
        let open = open % (max + 1);
        let text = metrics_template()
            .replace("users:\n", &format!("users: {users}\n"))
            .replace("api_p95_ms:\n", &format!("api_p95_ms: {p95}\n"))
            .replace("db_cpu_pct:\n", &format!("db_cpu_pct: {cpu}\n"))
            .replace("db_connections:\n", &format!("db_connections: {open}\n"))
            .replace("db_max_connections:\n", &format!("db_max_connections: {max}\n"))
            .replace("cache_hit_rate_pct:\n", &format!("cache_hit_rate_pct: {cache}\n"))
            .replace("current_stage:\n", &format!("current_stage: {stage}\n"))
            .replace("  # redis_cache: true", &format!("  redis_cache: {answer}"));
        let parsed = report(&text, &ladder);
        prop_assert_eq!(parsed.users, users);
        prop_assert_eq!(parsed.current_stage, Some(stage));
        prop_assert_eq!(parsed.checklist.0.get("redis_cache"), Some(&answer));
    }

    #[test]
    fn any_valid_ladder_gives_every_user_count_exactly_one_stage(
        bounds in proptest::collection::btree_set(1u64..u64::MAX / 2, 0..6),
        users in proptest::collection::vec(any::<u64>(), 1..20),
    ) {
        let mut text = String::from("schema_version = 1\n");
        let bounds: Vec<u64> = bounds.into_iter().collect();
        let mut min = 0;
        for (i, max) in bounds.iter().map(Some).chain([None]).enumerate() {
            text += &format!(
                "[[stage]]\nid = {}\nname = \"s{i}\"\nusers_min = {min}\n{}cost_usd_month = {{ min = 1, max = 2 }}\ndatabase = \"d\"\nteam = \"t\"\n",
                i + 1,
                max.map_or(String::new(), |m| format!("users_max = {m}\n")),
            );
            min = max.copied().unwrap_or(0);
        }
        let ladder = Ladder::parse(&source(&text, Format::Toml)).unwrap();
        for users in users.into_iter().chain(bounds.iter().flat_map(|b| [b - 1, *b])) {
            let holding = ladder.stages().iter().filter(|s| s.holds(users)).count();
            prop_assert_eq!(holding, 1);
            prop_assert!(ladder.stage_for(users).holds(users));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512), selector in any::<u8>()) {
        feed(&bytes, selector);
    }

    #[test]
    fn mutated_inputs_never_panic_any_parser(
        seed in prop::sample::select(seeds()),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let (mut bytes, selector) = seed;
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let at = at.index(bytes.len());
            match kind {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => { bytes.remove(at); }
            }
        }
        feed(&bytes, selector);
    }
}

/// The examples and fixtures, with the format byte their extension gives.
fn seeds() -> Vec<(Vec<u8>, u8)> {
    let mut seeds = Vec::new();
    for dir in ["examples", "tests/fixtures", "tests/fleet"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let selector = match path.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml") => 0,
                Some("json") => 1,
                Some("toml") => 2,
                Some("csv") => 3,
                _ => continue,
            };
            seeds.push((std::fs::read(&path).unwrap(), selector));
        }
    }
    seeds.push((std::fs::read("stages.toml").unwrap(), 2));
    seeds
}

/// Feeds bytes to every parser; each must return, with a value or an error.
/// Whenever the fast path reads a report, the full parser reads the same.
fn same_as_full_parser(text: &str, ladder: &Ladder) {
    let Some(fast) = scalectl::metrics::fast::parse(text).and_then(|raw| raw.validate(ladder).ok())
    else {
        return;
    };
    let source = source(text, Format::Yaml);
    assert_eq!(Report::parse_full(&source, ladder), Ok(fast), "{text:?}");
}

fn feed(bytes: &[u8], selector: u8) {
    let ladder = ladder();
    if let Ok(text) = std::str::from_utf8(bytes) {
        same_as_full_parser(text, &ladder);
    }
    if let Ok(source) = Source::from_bytes("fuzz".into(), bytes.to_vec(), format_from(selector)) {
        let parsed = Report::parse(&source, &ladder);
        assert_eq!(
            parsed.is_ok(),
            Report::problems(&source, &ladder).is_empty()
        );
        if let Ok(report) = parsed {
            render_all(&report, &ladder);
        }
        let _ = Ladder::parse(&source);
        let _ = Baseline::parse(&source, std::path::Path::new("/work"));
        if let Ok(config) =
            scalectl::config::Config::parse(source.clone(), std::path::Path::new("scalectl.toml"))
        {
            let _ = config.check_rules(&scalectl::engine::alarm_ids(&ladder));
        }
        if let Ok(queries) = source.deserialize::<scalectl::collect::prometheus::Queries>() {
            for (_, query) in queries.fields() {
                for variant in query.variants() {
                    let _ = scalectl::collect::prometheus::metric_names(variant);
                }
            }
        }
    }
    let mut history = History::default();
    let _ = read_csv_from(bytes, "fuzz.csv", &mut history, true);
}
