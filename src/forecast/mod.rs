//! When will each threshold break, and when must the system be on the next
//! rung: trends fitted to a history of observations and projected forward.
//! Pure: no I/O and no clock; "today" is the last observation.

mod fit;

use serde::Serialize;

use crate::engine::Severity;
use crate::ladder::{Ladder, Rule, Stage};
use crate::metric::{Metric, format_number};

pub use fit::Fit;

/// Below this R², a fit is called poor and the note says so.
pub const POOR_FIT: f64 = 0.5;

/// Below this relative spread (standard deviation / mean), users "barely
/// change" and load metrics are fitted against time instead.
pub const FLAT_USERS: f64 = 0.02;

/// Fewer observations of users than this make the dates rough.
pub const FEW_POINTS: usize = 10;

/// The longest horizon, in days.
pub const MAX_HORIZON: u32 = 3650;

/// One dated observation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observation {
    /// Days since 1970-01-01 (fractional for date-times).
    pub day: f64,
    /// Active users.
    pub users: Option<f64>,
    /// The metrics, in [`Metric::ALL`] order.
    pub metrics: [Option<f64>; 5],
}

#[derive(Debug, Clone, Copy, Default)]
struct MetricTrend {
    vs_users: Fit,
    vs_time: Fit,
    last: Option<(f64, f64)>,
}

/// Everything a forecast needs from a history, accumulated one observation
/// at a time so that a history never has to be held in memory.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    observations: usize,
    origin: Option<f64>,
    first: f64,
    last: f64,
    users: Fit,
    /// Users as x alone, for their spread (whether they "barely change").
    users_level: Fit,
    last_users: Option<(f64, f64)>,
    metrics: [MetricTrend; 5],
}

fn keep_latest(slot: &mut Option<(f64, f64)>, day: f64, value: f64) {
    if slot.is_none_or(|(seen, _)| day >= seen) {
        *slot = Some((day, value));
    }
}

impl Accumulator {
    /// Adds one observation.
    pub fn add(&mut self, obs: &Observation) {
        let origin = *self.origin.get_or_insert(obs.day);
        let x = obs.day - origin;
        if self.observations == 0 {
            self.first = obs.day;
            self.last = obs.day;
        }
        self.observations += 1;
        self.first = self.first.min(obs.day);
        self.last = self.last.max(obs.day);
        let users = obs.users.filter(|&u| u > 0.0);
        if let Some(users) = users {
            self.users.add(x, users.ln());
            self.users_level.add(users, 0.0);
        }
        if let Some(users) = obs.users {
            keep_latest(&mut self.last_users, obs.day, users);
        }
        for (trend, value) in self.metrics.iter_mut().zip(obs.metrics) {
            let Some(value) = value else { continue };
            trend.vs_time.add(x, value);
            if let Some(users) = users {
                trend.vs_users.add(users, value);
            }
            keep_latest(&mut trend.last, obs.day, value);
        }
    }

    /// How many observations were added.
    pub fn observations(&self) -> usize {
        self.observations
    }
}

/// Which trend a metric follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// A straight line in users, projected through the users forecast.
    Users,
    /// A straight line in time.
    Time,
}

/// The users trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsersTrend {
    /// Users at the last observation.
    pub last: u64,
    /// Growth per 30 days, in percent.
    pub growth_pct_per_month: f64,
    /// Days to double; `None` when users are not growing.
    pub doubling_days: Option<f64>,
    /// R² of the exponential fit.
    pub r2: f64,
    /// Observations of users in the fit.
    #[serde(skip)]
    pub points: usize,
}

/// The model chosen for a metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricModel {
    /// The metric.
    pub metric: Metric,
    /// Its model.
    pub model: Model,
    /// R² of that model's fit.
    pub r2: f64,
    /// Observations of the metric.
    #[serde(skip)]
    pub points: usize,
    /// The last observed value.
    #[serde(skip)]
    pub last: f64,
    /// The fitted line: against users or against time, as the model says.
    #[serde(skip)]
    pub fit: Fit,
}

/// When users reach a higher stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageChange<'a> {
    /// The stage reached.
    pub stage: &'a Stage,
    /// Its day number.
    pub day: i64,
    /// Days after the last observation.
    pub days: i64,
}

/// When a metric's projection crosses one of a rule's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossing<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Which of its values.
    pub severity: Severity,
    /// The value.
    pub threshold: f64,
    /// Whether the last observation is already beyond it.
    pub already: bool,
    /// The day number of the crossing, within the horizon (the last
    /// observation's day when `already`).
    pub day: Option<i64>,
    /// Days after the last observation (0 when `already`).
    pub days: Option<i64>,
}

/// A forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast<'a> {
    /// Observations read.
    pub observations: usize,
    /// Day number of the first observation.
    pub from: i64,
    /// Day number of the last observation.
    pub to: i64,
    /// Days projected ahead.
    pub horizon: u32,
    /// The users trend.
    pub users: UsersTrend,
    /// The stage of the last observed users.
    pub stage: &'a Stage,
    /// One model per metric present.
    pub metrics: Vec<MetricModel>,
    /// Stages reached within the horizon.
    pub stage_changes: Vec<StageChange<'a>>,
    /// Every rule value of every present metric, with when it is crossed.
    pub crossings: Vec<Crossing<'a>>,
    /// The worst severity crossed (or already crossed) within the horizon.
    pub status: Severity,
    /// Caveats: few points, poor fits, flat users.
    pub notes: Vec<String>,
    /// The fit of ln(users) against days since `origin`.
    pub users_fit: Fit,
    /// The day the fits count time from.
    pub origin: f64,
}

impl Forecast<'_> {
    /// Projected users on a day.
    pub fn users_at(&self, day: f64) -> f64 {
        users_on(&self.users_fit, self.origin, day)
    }

    /// A metric's projection on a day, or `None` when it was not observed.
    pub fn metric_at(&self, metric: Metric, day: f64) -> Option<f64> {
        let model = self.metrics.iter().find(|m| m.metric == metric)?;
        Some(metric_on(model, &self.users_fit, self.origin, day))
    }
}

/// Why a forecast cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    /// Fewer than three dated observations of users.
    #[error(
        "a forecast needs at least 3 dated observations of users (above 0); the history has {0}"
    )]
    TooFew(usize),
}

/// Projected users on `day`, from the fit of ln(users) against days since `origin`.
fn users_on(users: &Fit, origin: f64, day: f64) -> f64 {
    users.at(day - origin).exp()
}

/// A metric's projection on `day`, through its model.
fn metric_on(model: &MetricModel, users: &Fit, origin: f64, day: f64) -> f64 {
    match model.model {
        Model::Users => model.fit.at(users_on(users, origin, day)),
        Model::Time => model.fit.at(day - origin),
    }
}

/// Fits the trends and projects them `horizon` days past the last observation.
pub fn forecast<'a>(
    acc: &Accumulator,
    ladder: &'a Ladder,
    horizon: u32,
) -> Result<Forecast<'a>, ForecastError> {
    if acc.users.count() < 3 {
        return Err(ForecastError::TooFew(acc.users.count()));
    }
    let horizon = horizon.min(MAX_HORIZON);
    #[allow(clippy::cast_possible_truncation)]
    let (from, to) = (acc.first.floor() as i64, acc.last.floor() as i64);
    let origin = acc.origin.unwrap_or_default();
    let growth = acc.users.slope();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let last_users = acc.last_users.map_or(0, |(_, u)| u.max(0.0).round() as u64);
    let users = UsersTrend {
        last: last_users,
        growth_pct_per_month: round_to(((30.0 * growth).exp() - 1.0) * 100.0, 1),
        doubling_days: (growth > 1e-9).then(|| round_to(std::f64::consts::LN_2 / growth, 1)),
        r2: round_to(acc.users.r2(), 2),
        points: acc.users.count(),
    };
    let mut notes = Vec::new();
    if users.points < FEW_POINTS {
        notes.push(format!(
            "only {} observations of users: the dates are rough",
            users.points
        ));
    }
    if acc.users.r2() < POOR_FIT {
        notes.push(format!(
            "users follow an exponential trend poorly (R² {:.2}): the dates are rough",
            acc.users.r2()
        ));
    }
    let users_flat = acc.users_level.x_variation() < FLAT_USERS;
    if users.doubling_days.is_none() {
        notes.push("users are not growing: no stage change ahead".into());
    }

    let mut metrics = Vec::new();
    for (metric, trend) in Metric::ALL.iter().zip(&acc.metrics) {
        let Some((_, last)) = trend.last else {
            continue;
        };
        let by_users = metric_follows_users(*metric)
            && !users_flat
            && trend.vs_users.count() >= 3
            && trend.vs_users.r2() >= POOR_FIT;
        let (model, r2) = if by_users {
            (Model::Users, trend.vs_users.r2())
        } else {
            (Model::Time, trend.vs_time.r2())
        };
        if trend.vs_time.count() < 3 {
            notes.push(format!(
                "{metric}: only {} observations",
                trend.vs_time.count()
            ));
        } else if r2 < POOR_FIT {
            notes.push(format!(
                "{metric} has no clear trend (R² {r2:.2}): its dates are rough"
            ));
        }
        metrics.push(MetricModel {
            metric: *metric,
            model,
            r2: round_to(r2, 2),
            points: trend.vs_time.count(),
            last,
            fit: match model {
                Model::Users => trend.vs_users,
                Model::Time => trend.vs_time,
            },
        });
    }

    #[allow(clippy::cast_precision_loss)]
    let day_at = |offset: u32| (to + i64::from(offset)) as f64;
    let stage = ladder.stage_for(last_users);
    let stage_changes = ladder
        .stages()
        .iter()
        .filter(|s| s.id > stage.id)
        .filter_map(|s| {
            #[allow(clippy::cast_precision_loss)]
            let boundary = s.users_min as f64;
            let offset =
                (1..=horizon).find(|&d| users_on(&acc.users, origin, day_at(d)) >= boundary)?;
            Some(StageChange {
                stage: s,
                day: to + i64::from(offset),
                days: i64::from(offset),
            })
        })
        .collect();

    let mut crossings = Vec::new();
    for rule in ladder.rules() {
        let Some(model) = metrics.iter().find(|m| m.metric == rule.metric) else {
            continue;
        };
        for (severity, threshold) in [
            (Severity::Warning, rule.warning),
            (Severity::Critical, rule.critical),
        ] {
            let beyond = |value: f64| match severity {
                Severity::Critical => rule.direction.exceeds(value, threshold),
                _ => rule.direction.reaches(value, threshold),
            };
            let (already, offset) = if beyond(model.last) {
                (true, Some(0))
            } else {
                (
                    false,
                    (1..=horizon)
                        .find(|&d| beyond(metric_on(model, &acc.users, origin, day_at(d)))),
                )
            };
            crossings.push(Crossing {
                rule,
                severity,
                threshold,
                already,
                day: offset.map(|d| to + i64::from(d)),
                days: offset.map(i64::from),
            });
        }
    }
    let status = crossings
        .iter()
        .filter(|c| c.days.is_some())
        .map(|c| c.severity)
        .max()
        .unwrap_or(Severity::Ok);

    Ok(Forecast {
        observations: acc.observations,
        from,
        to,
        horizon,
        users,
        stage,
        metrics,
        stage_changes,
        crossings,
        status,
        notes,
        users_fit: acc.users,
        origin,
    })
}

/// Load metrics grow with users; the cache hit rate is a property of the
/// cache, fitted in time only.
fn metric_follows_users(metric: Metric) -> bool {
    metric != Metric::CacheHitRatePct
}

fn round_to(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

impl Crossing<'_> {
    /// "goes critical (over 70%)".
    pub fn describe(&self) -> String {
        format!(
            "goes {} ({} {}{})",
            self.severity,
            self.rule.direction.word(),
            format_number(self.threshold),
            self.rule.metric.unit()
        )
    }
}

#[cfg(test)]
mod tests;
