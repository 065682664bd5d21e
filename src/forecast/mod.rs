//! When will each threshold break, and when must the system be on the next
//! rung: the history reduced to its peaks, trends fitted robustly and
//! projected forward, each date with the earliest and latest plausible day.
//! Pure: no I/O and no clock; "today" is the last observation.

mod bootstrap;
pub mod fit;
mod periods;

use serde::Serialize;

use crate::date::format_day;
use crate::engine::Severity;
use crate::ladder::{Ladder, Rule, Stage};
use crate::load::{LoadModel, Shape};
use crate::metric::{Direction, Metric, format_count, format_number};

pub use fit::{Fit, Line};
pub use periods::{Accumulator, Peak, Period, Point};

use bootstrap::{RESAMPLES, Rng, interval, resample};
use fit::{median, r2, theil_sen};

/// Below this R², a fit is called poor and the note says so; it widens the
/// interval, it does not change the model.
pub const POOR_FIT: f64 = 0.5;

/// Fewer periods than this make the dates rough.
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

/// How a forecast is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Days past the last observation to project (at most [`MAX_HORIZON`]).
    pub horizon: u32,
    /// The period each value stands for; chosen from the data when `None`.
    pub period: Option<Period>,
    /// Which value of a period stands for it.
    pub peak: Peak,
    /// Fit only the history from this day on.
    pub since: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            horizon: 365,
            period: None,
            peak: Peak::Max,
            since: None,
        }
    }
}

/// Which trend a metric follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// A load model in users, projected through the users forecast.
    Users,
    /// A straight line in time.
    Time,
}

/// The users trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsersTrend {
    /// Users now: the recent peak level (the median of the last week's peaks).
    pub last: u64,
    /// Growth per 30 days, in percent.
    pub growth_pct_per_month: f64,
    /// Days to double; `None` when users are not measurably growing.
    pub doubling_days: Option<f64>,
    /// R² of the exponential fit.
    pub r2: f64,
    /// Periods with users in the fit.
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
    /// Its shape against users: a line, or a queue that runs away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
    /// R² of that model's fit.
    pub r2: f64,
    /// For a queue: the users at which the metric runs away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_users: Option<u64>,
    /// With a level shift (or `--since`): the first day fitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitted_from: Option<String>,
    /// Periods of the metric in the fit.
    #[serde(skip)]
    pub points: usize,
    /// The recent level (the median of the last week's peaks).
    #[serde(skip)]
    pub last: f64,
    #[serde(skip)]
    fitted: Fitted,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fitted {
    Load(LoadModel),
    Time(Line),
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
    /// The earliest plausible offset, in days.
    pub earliest: Option<i64>,
    /// The latest plausible offset, in days; `None` beyond the horizon.
    pub latest: Option<i64>,
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
    /// Whether the recent level is already beyond it.
    pub already: bool,
    /// The day number of the crossing, within the horizon (the last
    /// observation's day when `already`).
    pub day: Option<i64>,
    /// Days after the last observation (0 when `already`).
    pub days: Option<i64>,
    /// The earliest plausible offset, in days (0 when `already`).
    pub earliest: Option<i64>,
    /// The latest plausible offset, in days; `None` beyond the horizon.
    pub latest: Option<i64>,
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
    /// The period each fitted value stands for.
    pub period: Period,
    /// Which value of a period stood for it.
    pub peak: Peak,
    /// The users trend.
    pub users: UsersTrend,
    /// The stage of the recent users.
    pub stage: &'a Stage,
    /// One model per metric present.
    pub metrics: Vec<MetricModel>,
    /// Stages reached within the horizon.
    pub stage_changes: Vec<StageChange<'a>>,
    /// Every rule value of every present metric, with when it is crossed.
    pub crossings: Vec<Crossing<'a>>,
    /// The worst severity crossed (or already crossed) within the horizon.
    pub status: Severity,
    /// Caveats: few points, flat users, level shifts, long extrapolations.
    pub notes: Vec<String>,
    /// The periods' values that were fitted.
    pub reduced: Vec<Point>,
    users_line: Line,
    origin: f64,
    /// The fits of every resample: users, then one per metric plan.
    resampled: Vec<(Line, Vec<Option<Fitted>>)>,
    /// The metric of each plan, in the order of the resampled fits.
    planned: Vec<Metric>,
}

impl Forecast<'_> {
    /// Projected users on a day.
    pub fn users_at(&self, day: f64) -> f64 {
        users_on(&self.users_line, self.origin, day)
    }

    /// A metric's projection on a day, or `None` when it was not observed.
    pub fn metric_at(&self, metric: Metric, day: f64) -> Option<f64> {
        let model = self.metrics.iter().find(|m| m.metric == metric)?;
        Some(project(
            metric,
            &model.fitted,
            &self.users_line,
            self.origin,
            day,
        ))
    }

    /// The plausible range (5th to 95th percentile over the resamples) of
    /// the users projection on a day.
    pub fn users_band(&self, day: f64) -> Option<(f64, f64)> {
        let mut values: Vec<f64> = self
            .resampled
            .iter()
            .map(|(users, _)| users_on(users, self.origin, day))
            .collect();
        Some((
            fit::quantile(&mut values, 0.05)?,
            fit::quantile(&mut values, 0.95)?,
        ))
    }

    /// The plausible range of a metric's projection on a day.
    pub fn metric_band(&self, metric: Metric, day: f64) -> Option<(f64, f64)> {
        let index = self.planned.iter().position(|m| *m == metric)?;
        let mut values: Vec<f64> = self
            .resampled
            .iter()
            .filter_map(|(users, fits)| {
                Some(project(metric, &fits[index]?, users, self.origin, day))
            })
            .collect();
        Some((
            fit::quantile(&mut values, 0.05)?,
            fit::quantile(&mut values, 0.95)?,
        ))
    }

    /// The load model of a metric against users, when it follows users.
    pub fn load_model(&self, metric: Metric) -> Option<LoadModel> {
        match self.metrics.iter().find(|m| m.metric == metric)?.fitted {
            Fitted::Load(model) => Some(model),
            Fitted::Time(_) => None,
        }
    }
}

/// Why a forecast cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    /// Fewer than three periods with users.
    #[error(
        "a forecast needs users (above 0) in at least 3 periods (here {1}s); the history has {0}"
    )]
    TooFew(usize, &'static str),
}

fn users_on(line: &Line, origin: f64, day: f64) -> f64 {
    line.at(day - origin).exp()
}

fn project(metric: Metric, fitted: &Fitted, users: &Line, origin: f64, day: f64) -> f64 {
    let value = match fitted {
        Fitted::Load(model) => model.at(users_on(users, origin, day)),
        Fitted::Time(line) => line.at(day - origin),
    };
    if metric.unit() == "%" {
        value.clamp(0.0, 100.0)
    } else {
        value.max(0.0)
    }
}

/// Whether a metric's worst values are its highest, by the ladder's rules.
fn worst_is_high(ladder: &Ladder) -> [bool; 5] {
    Metric::ALL.map(|metric| {
        ladder
            .rules()
            .iter()
            .find(|rule| rule.metric == metric)
            .is_none_or(|rule| rule.direction == Direction::Above)
    })
}

/// Load metrics grow with users; the cache hit rate is a property of the
/// cache, fitted in time only.
fn metric_follows_users(metric: Metric) -> bool {
    metric != Metric::CacheHitRatePct
}

/// How many periods make the "recent level": a week's worth.
fn recent_periods(period: Period) -> usize {
    match period {
        Period::Hour => 168,
        Period::Day => 7,
        Period::Week => 2,
    }
}

/// The bootstrap's block: a week or more of consecutive periods.
fn block_periods(period: Period) -> usize {
    match period {
        Period::Hour => 168,
        Period::Day => 7,
        Period::Week => 2,
    }
}

/// The recent level of a series: the median of the last week's peaks (for
/// hourly periods, of the last seven days' highest hours).
fn recent(values: &[f64], period: Period, worst_is_high: bool) -> Option<f64> {
    if period != Period::Hour {
        return periods::recent_level(values, recent_periods(period));
    }
    let tail = &values[values.len().saturating_sub(168)..];
    let mut daily: Vec<f64> = tail
        .chunks(24)
        .filter_map(|day| {
            day.iter()
                .copied()
                .reduce(if worst_is_high { f64::max } else { f64::min })
        })
        .collect();
    median(&mut daily)
}

/// The first day offset within the horizon at which `beyond` holds.
fn first_offset(
    horizon: u32,
    to: i64,
    beyond: impl Fn(f64) -> bool,
    value: impl Fn(f64) -> f64,
) -> Option<u32> {
    #[allow(clippy::cast_precision_loss)]
    (1..=horizon).find(|&d| beyond(value((to + i64::from(d)) as f64)))
}

/// Where a level shift starts in `residuals` (in time order): the split with
/// the largest jump between the medians before and after, when it stands far
/// above the noise within each side. At least `min_side` points each side.
fn level_shift(residuals: &[f64], min_side: usize) -> Option<usize> {
    let n = residuals.len();
    if n < 2 * min_side {
        return None;
    }
    let mut best: Option<(usize, f64)> = None;
    // Candidates on a stride keep a long history linear-ish; the best one is
    // then refined point by point around it.
    let stride = (n / 120).max(1);
    let score = |k: usize| -> f64 {
        let mut before = residuals[..k].to_vec();
        let mut after = residuals[k..].to_vec();
        let (Some(m1), Some(m2)) = (median(&mut before), median(&mut after)) else {
            return 0.0;
        };
        let mut spread: Vec<f64> = residuals[..k]
            .iter()
            .map(|r| (r - m1).abs())
            .chain(residuals[k..].iter().map(|r| (r - m2).abs()))
            .collect();
        let sigma = 1.4826 * median(&mut spread).unwrap_or(0.0);
        (m2 - m1).abs() / sigma.max(1e-9 * (m1.abs() + m2.abs()).max(1e-12))
    };
    let candidates = (min_side..=n - min_side).step_by(stride);
    let coarse = candidates.max_by(|&a, &b| score(a).total_cmp(&score(b)));
    let refine =
        coarse.map(|k| k.saturating_sub(stride).max(min_side)..=(k + stride).min(n - min_side));
    for k in refine.into_iter().flatten() {
        let score = score(k);
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((k, score));
        }
    }
    // Autocorrelated noise has runs that look like steps against the noise
    // within each side; a real step also stands far above the noise of the
    // whole series, most of which sits on one level.
    let mut all = residuals.to_vec();
    let centre = median(&mut all).unwrap_or(0.0);
    let mut deviations: Vec<f64> = residuals.iter().map(|r| (r - centre).abs()).collect();
    let overall = 1.4826 * median(&mut deviations).unwrap_or(0.0);
    best.filter(|&(k, score)| {
        let mut before = residuals[..k].to_vec();
        let mut after = residuals[k..].to_vec();
        let jump = (median(&mut after).unwrap_or(0.0) - median(&mut before).unwrap_or(0.0)).abs();
        score > 4.0 && jump > 4.0 * overall
    })
    .map(|(k, _)| k)
}

/// What the fit of one metric needs, decided once on the whole history and
/// kept for every resample.
#[derive(Debug, Clone)]
struct MetricPlan {
    metric: Metric,
    index: usize,
    model: Model,
    shape: Option<Shape>,
    from_day: f64,
}

fn fit_users(points: &[Point], origin: f64) -> Option<Line> {
    let pairs: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.day - origin, p.users?.ln())))
        .collect();
    theil_sen(&pairs)
}

fn fit_metric(plan: &MetricPlan, points: &[Point], origin: f64) -> Option<Fitted> {
    let pairs = |x: fn(&Point, f64) -> Option<f64>| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|p| p.day >= plan.from_day)
            .filter_map(|p| Some((x(p, origin)?, p.metrics[plan.index]?)))
            .collect()
    };
    match plan.model {
        Model::Users => {
            let points = pairs(|p, _| p.users);
            LoadModel::fit_shape(plan.shape.unwrap_or(Shape::Linear), &points).map(Fitted::Load)
        }
        Model::Time => theil_sen(&pairs(|p, origin| Some(p.day - origin))).map(Fitted::Time),
    }
}

/// Fits the trends of a history's peaks and projects them.
pub fn forecast<'a>(
    acc: &Accumulator,
    ladder: &'a Ladder,
    options: &Options,
) -> Result<Forecast<'a>, ForecastError> {
    let horizon = options.horizon.clamp(1, MAX_HORIZON);
    let high = worst_is_high(ladder);
    let mut notes = Vec::new();

    // 1. Peaks: one value per period.
    let period = options.period.unwrap_or_else(|| {
        let daily = acc.reduce(Period::Day, options.peak, high);
        let series = |value: fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
            daily
                .iter()
                .filter_map(|p| Some((p.day, value(p)?)))
                .collect()
        };
        let cycle = periods::weekly_cycle(&series(|p| p.users))
            || (0..5).any(|i| {
                let values: Vec<(f64, f64)> = daily
                    .iter()
                    .filter_map(|p| Some((p.day, p.metrics[i]?)))
                    .collect();
                periods::weekly_cycle(&values)
            });
        if cycle { Period::Week } else { Period::Day }
    });
    let mut reduced = acc.reduce(period, options.peak, high);
    let (first_day, last_day) = acc.span();
    // A last period that is mostly still to come would read low: leave it out.
    #[allow(clippy::cast_precision_loss)]
    let period_days = period.hours() as f64 / 24.0;
    // A first or last period that the history covers less than half of
    // would read low (its busiest hours or days are missing): leave it out.
    let sampled_within = period == Period::Week || acc.per_day() > 1.5;
    if period != Period::Hour && sampled_within && reduced.len() > 4 {
        if reduced
            .last()
            .is_some_and(|p| last_day < p.start + period_days / 2.0)
        {
            reduced.pop();
        }
        if reduced
            .first()
            .is_some_and(|p| first_day > p.start + period_days / 2.0)
        {
            reduced.remove(0);
        }
    }
    if let Some(since) = options.since {
        reduced.retain(|p| p.day + period_days / 2.0 >= since);
    }
    let user_periods = reduced.iter().filter(|p| p.users.is_some()).count();
    if user_periods < 3 {
        return Err(ForecastError::TooFew(user_periods, period.name()));
    }
    if acc.per_day() > 1.5 || period != Period::Day {
        notes.push(format!(
            "peaks: each {}'s {} of users and of each metric's worst value (max; min for {}) is fitted, not the average",
            period.name(),
            match options.peak {
                Peak::Max => "highest",
                Peak::P95 => "95th percentile",
                Peak::P99 => "99th percentile",
            },
            Metric::ALL
                .iter()
                .zip(high)
                .filter(|(_, h)| !h)
                .map(|(m, _)| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    let (from, to) = (first_day.floor() as i64, last_day.floor() as i64);
    let origin = reduced[0].day;

    // 2. Users: exponential, fitted robustly; growth is real only when its
    // interval excludes zero.
    let users_line =
        fit_users(&reduced, origin).ok_or(ForecastError::TooFew(user_periods, period.name()))?;
    let mut rng = Rng::seeded();
    let block = block_periods(period);
    let samples: Vec<Vec<usize>> = (0..RESAMPLES)
        .map(|_| resample(reduced.len(), block, &mut rng))
        .collect();
    let pick = |indices: &[usize]| -> Vec<Point> { indices.iter().map(|&i| reduced[i]).collect() };
    let mut slopes: Vec<f64> = samples
        .iter()
        .filter_map(|s| fit_users(&pick(s), origin).map(|l| l.slope))
        .collect();
    let low = fit::quantile(&mut slopes, 0.05).unwrap_or(0.0);
    let top = fit::quantile(&mut slopes, 0.95).unwrap_or(0.0);
    let growing = low > 0.0;
    let falling = top < 0.0;
    let flat = !growing && !falling;
    let users_values: Vec<f64> = reduced.iter().filter_map(|p| p.users).collect();
    let users_pairs: Vec<(f64, f64)> = reduced
        .iter()
        .filter_map(|p| Some((p.day - origin, p.users?.ln())))
        .collect();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let now_users = recent(&users_values, period, true).unwrap_or(0.0).round() as u64;
    let growth = users_line.slope;
    let users = UsersTrend {
        last: now_users,
        growth_pct_per_month: round_to(((30.0 * growth).exp() - 1.0) * 100.0, 1),
        doubling_days: growing.then(|| round_to(std::f64::consts::LN_2 / growth, 1)),
        r2: round_to(r2(&users_line, &users_pairs), 2),
        points: user_periods,
    };
    if user_periods < FEW_POINTS {
        notes.push(format!(
            "only {user_periods} {}s with users: the dates are rough",
            period.name()
        ));
    }
    if flat {
        notes.push(format!(
            "users are not measurably growing ({}% a month is within the noise): no stage change ahead, and load metrics are fitted in time",
            format_number(users.growth_pct_per_month)
        ));
    } else if falling {
        notes.push("users are falling: no stage change ahead".into());
    }
    let span = last_day - first_day;
    if f64::from(horizon) > 3.0 * span.max(1.0) {
        notes.push(format!(
            "the history covers {} days and the projection {horizon}: the later dates are a long extrapolation",
            format_number(span.round())
        ));
    }

    // 3. Metrics: a load model in users (a queue for latency), or a line in
    // time when users are flat; a level shift restarts the fit.
    let mut plans = Vec::new();
    for (index, metric) in Metric::ALL.into_iter().enumerate() {
        let values: Vec<(f64, f64)> = reduced
            .iter()
            .filter_map(|p| Some((p.day, p.metrics[index]?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        let by_users = metric_follows_users(metric) && !flat;
        let mut plan = MetricPlan {
            metric,
            index,
            model: if by_users { Model::Users } else { Model::Time },
            shape: None,
            from_day: f64::NEG_INFINITY,
        };
        if by_users {
            let pairs: Vec<(f64, f64)> = reduced
                .iter()
                .filter_map(|p| Some((p.users?, p.metrics[index]?)))
                .collect();
            plan.shape = LoadModel::fit(metric, &pairs).map(|(m, _)| m.shape());
        }
        if let Some(fitted) = fit_metric(&plan, &reduced, origin) {
            let dated: Vec<(f64, f64)> = reduced
                .iter()
                .filter_map(|p| {
                    let value = p.metrics[index]?;
                    let expected = project(metric, &fitted, &users_line, origin, p.day);
                    Some((p.day, value - expected))
                })
                .collect();
            let residuals: Vec<f64> = dated.iter().map(|d| d.1).collect();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let min_side = (14.0 / period_days).ceil().max(3.0) as usize;
            if let Some(k) = level_shift(&residuals, min_side) {
                plan.from_day = dated[k].0 - period_days / 2.0;
            }
        }
        plans.push(plan);
    }
    let mut metrics = Vec::new();
    for plan in &plans {
        let Some(fitted) = fit_metric(plan, &reduced, origin) else {
            continue;
        };
        let used: Vec<&Point> = reduced
            .iter()
            .filter(|p| p.day >= plan.from_day && p.metrics[plan.index].is_some())
            .collect();
        let values: Vec<f64> = used.iter().filter_map(|p| p.metrics[plan.index]).collect();
        let fitted_pairs: Vec<(f64, f64)> = used
            .iter()
            .filter_map(|p| {
                Some((
                    project(plan.metric, &fitted, &users_line, origin, p.day),
                    p.metrics[plan.index]?,
                ))
            })
            .collect();
        let identity = Line {
            intercept: 0.0,
            slope: 1.0,
        };
        let fit_r2 = r2(&identity, &fitted_pairs);
        let capacity = match fitted {
            Fitted::Load(model) => model.capacity(),
            Fitted::Time(_) => None,
        };
        #[allow(clippy::cast_possible_truncation)]
        let fitted_from = plan
            .from_day
            .is_finite()
            .then(|| format_day(plan.from_day.floor() as i64));
        if let Some(day) = &fitted_from {
            notes.push(format!(
                "{}: level shift on {day}, fitted on the {} {}s since",
                plan.metric,
                used.len(),
                period.name()
            ));
        }
        if let Some(capacity) = capacity {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let capacity = capacity.round() as u64;
            notes.push(format!(
                "{} rises like a queue: it runs away near {} users, the capacity the data implies",
                plan.metric,
                format_count(capacity)
            ));
        }
        if fit_r2 < POOR_FIT {
            notes.push(format!(
                "{} scatters widely around its trend (R² {fit_r2:.2}): its interval is wide",
                plan.metric
            ));
        }
        let high = high[plan.index];
        metrics.push(MetricModel {
            metric: plan.metric,
            model: plan.model,
            shape: plan.shape.filter(|_| plan.model == Model::Users),
            r2: round_to(fit_r2, 2),
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            capacity_users: capacity.map(|c| c.round() as u64),
            fitted_from,
            points: values.len(),
            last: recent(&values, period, high).unwrap_or(0.0),
            fitted,
        });
    }

    // 4. Dates: the point estimate, and an interval from the resamples.
    let stage = ladder.stage_for(now_users);
    let resampled: Vec<(Line, Vec<Option<Fitted>>)> = samples
        .iter()
        .filter_map(|s| {
            let points = pick(s);
            let users = fit_users(&points, origin)?;
            Some((
                users,
                plans
                    .iter()
                    .map(|p| fit_metric(p, &points, origin))
                    .collect(),
            ))
        })
        .collect();
    let stage_changes = if growing {
        ladder
            .stages()
            .iter()
            .filter(|s| s.id > stage.id)
            .filter_map(|s| {
                #[allow(clippy::cast_precision_loss)]
                let boundary = s.users_min as f64;
                let when = |line: &Line| {
                    first_offset(
                        horizon,
                        to,
                        |u| u >= boundary,
                        |day| users_on(line, origin, day),
                    )
                };
                let offset = when(&users_line)?;
                let (earliest, latest) = interval(resampled.iter().map(|(u, _)| when(u)).collect());
                Some(StageChange {
                    stage: s,
                    day: to + i64::from(offset),
                    days: i64::from(offset),
                    earliest: earliest.map(i64::from),
                    latest: latest.map(i64::from),
                })
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut crossings = Vec::new();
    for rule in ladder.rules() {
        let Some(position) = metrics.iter().position(|m| m.metric == rule.metric) else {
            continue;
        };
        let model = &metrics[position];
        let plan_index = plans.iter().position(|p| p.metric == rule.metric);
        for (severity, threshold) in [
            (Severity::Warning, rule.warning),
            (Severity::Critical, rule.critical),
        ] {
            let beyond = |value: f64| match severity {
                Severity::Critical => rule.direction.exceeds(value, threshold),
                _ => rule.direction.reaches(value, threshold),
            };
            let when = |fitted: &Fitted, users: &Line| {
                first_offset(horizon, to, beyond, |day| {
                    project(rule.metric, fitted, users, origin, day)
                })
            };
            let already = beyond(model.last);
            let (offset, earliest, latest) = if already {
                (Some(0), Some(0), Some(0))
            } else {
                let offset = when(&model.fitted, &users_line);
                let (earliest, latest) = interval(
                    resampled
                        .iter()
                        .map(|(users, fits)| {
                            let fitted = plan_index.and_then(|i| fits[i])?;
                            when(&fitted, users)
                        })
                        .collect(),
                );
                (offset, earliest, latest)
            };
            crossings.push(Crossing {
                rule,
                severity,
                threshold,
                already,
                day: offset.map(|d| to + i64::from(d)),
                days: offset.map(i64::from),
                earliest: earliest.map(i64::from),
                latest: latest.map(i64::from),
            });
        }
    }
    let status = crossings
        .iter()
        .filter(|c| c.days.is_some())
        .map(|c| c.severity)
        .max()
        .unwrap_or(Severity::Ok);
    notes.push("dates are UTC days".into());

    Ok(Forecast {
        observations: acc.observations(),
        from,
        to,
        horizon,
        period,
        peak: options.peak,
        users,
        stage,
        metrics,
        stage_changes,
        crossings,
        status,
        notes,
        reduced,
        users_line,
        origin,
        planned: plans.iter().map(|p| p.metric).collect(),
        resampled,
    })
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
