//! `scalectl forecast`: the picture, and a history made of reports.

use std::fs;

use assert_cmd::Command;
use quick_xml::Reader;
use quick_xml::events::Event;

fn scalectl() -> Command {
    Command::cargo_bin("scalectl").unwrap()
}

/// Element names and the text of every `<text>` in an SVG document, checking
/// that it is well-formed XML.
fn parse_svg(text: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = Reader::from_str(text);
    let mut elements = Vec::new();
    let mut texts = Vec::new();
    let mut in_text = false;
    loop {
        match reader.read_event().expect("well-formed SVG") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref().as_ref()).into_owned();
                let class = e
                    .try_get_attribute("class")
                    .unwrap()
                    .map(|a| String::from_utf8_lossy(a.value.as_ref().as_ref()).into_owned());
                in_text = name == "text";
                elements.push(match class {
                    Some(class) => format!("{name}.{class}"),
                    None => name,
                });
            }
            Event::Text(t) if in_text => texts.push(t.into_inner().into_owned()),
            Event::End(_) => in_text = false,
            Event::Eof => break,
            _ => {}
        }
    }
    (elements, texts)
}

#[test]
fn the_plot_has_a_panel_per_metric_with_points_projection_and_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("forecast.svg");
    scalectl()
        .args(["forecast", "examples/history.csv", "--plot"])
        .arg(&plot)
        .assert()
        .success();
    let svg = fs::read_to_string(&plot).unwrap();
    let (elements, texts) = parse_svg(&svg);
    assert_eq!(elements[0], "svg");
    let count = |name: &str| elements.iter().filter(|e| *e == name).count();
    assert_eq!(count("g.panel"), 6, "users and five metrics");
    assert_eq!(count("polyline.projection"), 6);
    assert_eq!(count("circle.observed"), 6 * 90);
    assert_eq!(
        count("circle.peak"),
        6 * 90,
        "daily data: each day is its own peak"
    );
    assert_eq!(
        count("polygon.band"),
        6,
        "a plausible range around each projection"
    );
    assert_eq!(
        count("line.threshold"),
        10 + 2,
        "two per rule, and the stage 2 and 3 boundaries"
    );
    for title in [
        "users: 10% a month (R² 1.00); dark points: the peaks fitted",
        "db_cpu_pct: a line in users (R² 0.95); shaded: the plausible range",
        "api_p95_ms: a queue in users (R² 0.56); shaded: the plausible range",
        "cache_hit_rate_pct: a line in time (R² 0.76); shaded: the plausible range",
    ] {
        assert!(texts.iter().any(|t| t == title), "{title}: {texts:?}");
    }
    assert!(texts.iter().any(|t| t == "stage 3 Growing"));
    // Threshold labels never overlap: each is at least a line below the one above.
    let mut label_ys: Vec<(f64, f64)> = Vec::new();
    for (panel, chunk) in svg.split("<g class=\"panel\">").skip(1).enumerate() {
        let mut ys: Vec<f64> = chunk
            .split("class=\"threshold-label\"")
            .skip(1)
            .filter_map(|rest| rest.split("y=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        ys.sort_by(f64::total_cmp);
        for pair in ys.windows(2) {
            assert!(
                pair[1] - pair[0] >= 11.9,
                "panel {panel}: labels at {pair:?} overlap"
            );
        }
        label_ys.extend(ys.iter().map(|&y| (panel as f64, y)));
    }
    assert_eq!(label_ys.len(), 12);
    assert!(texts.iter().any(|t| t == "2026-08-29"), "dated axes");
}

#[test]
fn a_large_history_is_drawn_as_a_bounded_downsample() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    let mut text = String::from("date,users,db_cpu_pct\n");
    for i in 0..20_000u32 {
        let day = 1 + i % 28;
        let month = 1 + (i / 28) % 12;
        let year = 2020 + i / (28 * 12);
        text.push_str(&format!(
            "{year}-{month:02}-{day:02},{},{}\n",
            10_000 + i,
            20 + i % 10
        ));
    }
    fs::write(&csv, text).unwrap();
    let plot = dir.path().join("big.svg");
    scalectl()
        .arg("forecast")
        .arg(&csv)
        .arg("--plot")
        .arg(&plot)
        .assert()
        .success();
    let (elements, _) = parse_svg(&fs::read_to_string(&plot).unwrap());
    let points = elements.iter().filter(|e| *e == "circle.observed").count();
    assert!(points <= 2 * 2 * 400, "{points} points drawn");
    assert!(points >= 400);
}

#[test]
fn a_directory_of_reports_is_a_history() {
    let dir = tempfile::tempdir().unwrap();
    for day in 1..=20u32 {
        let users = 10_000.0 * 1.1f64.powf(f64::from(day) / 30.0);
        fs::write(
            dir.path().join(format!("2026-11-{day:02}.yaml")),
            format!(
                "users: {}\nobserved_at: \"2026-11-{day:02}\"\ndb_cpu_pct: {:.2}\n",
                users.round(),
                20.0 + f64::from(day)
            ),
        )
        .unwrap();
    }
    let output = scalectl()
        .args(["forecast", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["observations"], 20);
    assert_eq!(json["from"], "2026-11-01");
    assert_eq!(json["to"], "2026-11-20");
    assert!((json["users"]["growth_pct_per_month"].as_f64().unwrap() - 10.0).abs() < 0.2);
    // db_cpu_pct = 20 + day reaches 60 on day 40 (20 days after the 20th) and passes 70 after day 50.
    let crossing = |severity: &str| {
        json["crossings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["rule"] == "db-cpu" && c["severity"] == severity)
            .unwrap()["days"]
            .as_i64()
            .unwrap()
    };
    assert!((crossing("warning") - 20).abs() <= 1);
    // It is fitted against users, which grow exponentially: a line in time
    // A line in users projects it a few days early (the safe side).
    assert!(
        (27..=31).contains(&crossing("critical")),
        "{}",
        crossing("critical")
    );
}

/// "What breaks first at N users" has one answer: the what-if with a history
/// uses the forecast's own load models, so both name the same rules in the
/// same order, at the same users.
#[test]
fn the_what_if_and_the_forecast_agree_on_what_breaks_first() {
    let json = |args: &[&str]| -> serde_json::Value {
        let output = scalectl().args(args).output().unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let forecast = json(&[
        "forecast",
        "--format",
        "json",
        "--horizon",
        "3650",
        "examples/history.csv",
    ]);
    let assessed = json(&[
        "assess",
        "--format",
        "json",
        "--users",
        "250K",
        "--history",
        "examples/history.csv",
        "examples/stage2-traction.yaml",
    ]);
    let what_if = &assessed["reports"][0]["what_if"];
    assert_eq!(what_if["load"], "history");
    let growth = 1.0 + forecast["users"]["growth_pct_per_month"].as_f64().unwrap() / 100.0;
    let last = forecast["users"]["last"].as_f64().unwrap();
    let mut from_forecast: Vec<(String, i64)> = forecast["crossings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["severity"] == "critical" && c["days"].is_i64())
        .filter(|c| c["metric"] != "cache_hit_rate_pct")
        .map(|c| {
            (
                c["rule"].as_str().unwrap().to_owned(),
                c["days"].as_i64().unwrap(),
            )
        })
        .collect();
    from_forecast.sort_by_key(|c| c.1);
    let breaks: Vec<(String, f64)> = what_if["first_to_break"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["rule"].as_str().unwrap().to_owned(),
                b["users"].as_f64().unwrap(),
            )
        })
        .collect();
    let order: Vec<&str> = breaks
        .iter()
        .map(|b| b.0.as_str())
        .take(from_forecast.len())
        .collect();
    let expected: Vec<&str> = from_forecast.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(order, expected);
    for ((rule, users), (_, days)) in breaks.iter().zip(&from_forecast) {
        let day = 30.0 * (users / last).ln() / growth.ln();
        assert!(
            (day - *days as f64).abs() <= 5.0,
            "{rule}: what-if at day {day:.0}, forecast {days}"
        );
    }
}
