use super::*;

fn ladder() -> Ladder {
    Ladder::embedded().unwrap()
}

const START: f64 = 20_000.0;

/// 90 daily observations: users growing exactly 10% every 30 days from
/// 50,000, db_cpu_pct exactly linear in users, cache hit rate exactly linear
/// in time.
fn growing(days: std::ops::Range<i32>) -> Vec<Observation> {
    days.map(|d| {
        let t = f64::from(d);
        let users = 50_000.0 * 1.1f64.powf(t / 30.0);
        let mut metrics = [None; 5];
        metrics[1] = Some(5.0 + 0.0008 * users);
        metrics[3] = Some(95.05 - 0.1 * t);
        Observation {
            day: START + t,
            users: Some(users),
            metrics,
        }
    })
    .collect()
}

fn accumulate(observations: &[Observation]) -> Accumulator {
    let mut acc = Accumulator::default();
    for obs in observations {
        acc.add(obs);
    }
    acc
}

fn crossing<'a>(f: &'a Forecast<'_>, rule: &str, severity: Severity) -> &'a Crossing<'a> {
    f.crossings
        .iter()
        .find(|c| c.rule.id == rule && c.severity == severity)
        .unwrap()
}

fn close(actual: Option<i64>, expected: f64) {
    let actual = actual.expect("a crossing") as f64;
    assert!((actual - expected).abs() <= 1.0, "{actual} vs {expected}");
}

#[test]
fn exponential_users_give_growth_and_doubling_time() {
    let ladder = ladder();
    let f = forecast(&accumulate(&growing(0..90)), &ladder, 365).unwrap();
    assert_eq!(f.observations, 90);
    assert_eq!(f.users.growth_pct_per_month, 10.0);
    let doubling = 30.0 * std::f64::consts::LN_2 / 1.1f64.ln();
    assert!((f.users.doubling_days.unwrap() - doubling).abs() < 0.1);
    assert_eq!(f.users.r2, 1.0);
    assert_eq!(f.from, START as i64);
    assert_eq!(f.to, START as i64 + 89);
    assert_eq!(f.stage.id, 2);
    // 100,000 users, the start of stage 3, at t = 30 ln 2 / ln 1.1 days.
    assert_eq!(f.stage_changes.len(), 1);
    assert_eq!(f.stage_changes[0].stage.id, 3);
    close(Some(f.stage_changes[0].days), doubling - 89.0);
    assert!(f.notes.is_empty(), "{:?}", f.notes);
}

#[test]
fn a_metric_linear_in_users_is_projected_through_the_users_forecast() {
    let ladder = ladder();
    let f = forecast(&accumulate(&growing(0..90)), &ladder, 365).unwrap();
    let model = f
        .metrics
        .iter()
        .find(|m| m.metric == Metric::DbCpuPct)
        .unwrap();
    assert_eq!((model.model, model.r2), (Model::Users, 1.0));
    // db_cpu_pct = 5 + 0.0008 users reaches 60 at 68,750 users and passes 70 at 81,250.
    let at = |users: f64| 30.0 * (users / 50_000.0).ln() / 1.1f64.ln() - 89.0;
    let warning = crossing(&f, "db-cpu", Severity::Warning);
    assert!(!warning.already);
    close(warning.days, at(68_750.0));
    close(
        crossing(&f, "db-cpu", Severity::Critical).days,
        at(81_250.0),
    );
    assert_eq!(f.status, Severity::Critical);
}

#[test]
fn a_metric_linear_in_time_is_projected_in_time() {
    let ladder = ladder();
    let f = forecast(&accumulate(&growing(0..90)), &ladder, 365).unwrap();
    let model = f
        .metrics
        .iter()
        .find(|m| m.metric == Metric::CacheHitRatePct)
        .unwrap();
    assert_eq!((model.model, model.r2), (Model::Time, 1.0));
    // 95.05 - 0.1 t reaches 85 at t = 100.5 and drops below 80 after t = 150.5.
    close(
        crossing(&f, "cache-hit-rate", Severity::Warning).days,
        100.5 - 89.0,
    );
    close(
        crossing(&f, "cache-hit-rate", Severity::Critical).days,
        150.5 - 89.0,
    );
}

#[test]
fn crossings_beyond_the_horizon_are_none_and_past_ones_are_already() {
    let ladder = ladder();
    let f = forecast(&accumulate(&growing(0..90)), &ladder, 30).unwrap();
    assert_eq!(crossing(&f, "db-cpu", Severity::Critical).days, None);
    assert!(f.stage_changes.is_empty());
    let late = forecast(&accumulate(&growing(0..160)), &ladder, 30).unwrap();
    let critical = crossing(&late, "cache-hit-rate", Severity::Critical);
    assert!(critical.already);
    assert_eq!((critical.days, critical.day), (Some(0), Some(late.to)));
}

#[test]
fn flat_users_fall_back_to_time_and_never_double() {
    let ladder = ladder();
    let observations: Vec<Observation> = (0..60)
        .map(|d| {
            let mut metrics = [None; 5];
            metrics[0] = Some(100.0 + f64::from(d));
            Observation {
                day: START + f64::from(d),
                users: Some(20_000.0),
                metrics,
            }
        })
        .collect();
    let f = forecast(&accumulate(&observations), &ladder, 365).unwrap();
    assert_eq!(f.users.doubling_days, None);
    assert_eq!(f.users.growth_pct_per_month, 0.0);
    assert!(f.stage_changes.is_empty());
    assert_eq!(f.metrics[0].model, Model::Time);
    // api_p95_ms = 100 + t reaches 160 at t = 60 and passes 200 after t = 100.
    close(crossing(&f, "api-p95", Severity::Warning).days, 60.0 - 59.0);
    close(
        crossing(&f, "api-p95", Severity::Critical).days,
        101.0 - 59.0,
    );
    assert!(f.notes.iter().any(|n| n.contains("not growing")));
}

#[test]
fn row_order_does_not_matter() {
    let ladder = ladder();
    let ordered = growing(0..90);
    let mut shuffled = ordered.clone();
    // A fixed permutation: stride through the rows.
    shuffled.sort_by_key(|o| ((o.day - START) as i64 * 37) % 90);
    let a = forecast(&accumulate(&ordered), &ladder, 365).unwrap();
    let b = forecast(&accumulate(&shuffled), &ladder, 365).unwrap();
    assert_eq!(a.users, b.users);
    assert_eq!(a.stage_changes, b.stage_changes);
    assert_eq!(a.crossings, b.crossings);
}

#[test]
fn too_few_observations_are_an_error() {
    let ladder = ladder();
    assert_eq!(
        forecast(&accumulate(&growing(0..2)), &ladder, 365).unwrap_err(),
        ForecastError::TooFew(2)
    );
    let mut acc = accumulate(&growing(0..2));
    acc.add(&Observation {
        day: START + 5.0,
        users: Some(0.0),
        metrics: [None; 5],
    });
    assert_eq!(
        forecast(&acc, &ladder, 365).unwrap_err(),
        ForecastError::TooFew(2)
    );
}

#[test]
fn few_points_and_poor_fits_are_called_out() {
    let ladder = ladder();
    let f = forecast(&accumulate(&growing(0..5)), &ladder, 365).unwrap();
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("only 5 observations of users"))
    );
    let noisy: Vec<Observation> = (0..40)
        .map(|d| Observation {
            day: START + f64::from(d),
            users: Some(if d % 2 == 0 { 10_000.0 } else { 30_000.0 }),
            metrics: [None; 5],
        })
        .collect();
    let f = forecast(&accumulate(&noisy), &ladder, 365).unwrap();
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("users follow an exponential trend poorly")),
        "{:?}",
        f.notes
    );
}
