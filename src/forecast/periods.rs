//! A history reduced to one value per period: users as the period's most
//! active users, each load metric as its worst value (the highest, or the
//! lowest for a metric such as the cache hit rate), or a high quantile.
//! Capacity breaks at the peak hour and the busiest weekday, not on average.
//!
//! Observations are gathered into hourly buckets as they stream in, so a
//! history of any length and order is held as at most one bucket an hour.

use std::collections::{BTreeMap, HashMap};

use clap::ValueEnum;
use serde::Serialize;

use super::Observation;
use super::fit::{median, quantile, theil_sen};

/// The span that each reduced value covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// An hour.
    Hour,
    /// A UTC day.
    Day,
    /// A week, Monday to Sunday (UTC).
    Week,
}

impl Period {
    /// Its length in hours.
    pub fn hours(self) -> i64 {
        match self {
            Period::Hour => 1,
            Period::Day => 24,
            Period::Week => 168,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
        }
    }

    fn index(self, hour: i64) -> i64 {
        match self {
            // 1970-01-01 was a Thursday: shift so weeks start on Monday.
            Period::Week => (hour + 3 * 24).div_euclid(168),
            other => hour.div_euclid(other.hours()),
        }
    }

    fn start_day(self, index: i64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        match self {
            Period::Week => (index * 7 - 3) as f64,
            other => (index * other.hours()) as f64 / 24.0,
        }
    }
}

/// Which value of a period stands for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Peak {
    /// The worst value.
    Max,
    /// The 95th percentile of the period's hourly worst values.
    P95,
    /// The 99th percentile of the period's hourly worst values.
    P99,
}

impl Peak {
    fn pick(self, values: &mut [f64], worst_is_high: bool) -> Option<f64> {
        let q = match self {
            Peak::Max => 1.0,
            Peak::P95 => 0.95,
            Peak::P99 => 0.99,
        };
        quantile(values, if worst_is_high { q } else { 1.0 - q })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Peak::Max => "max",
            Peak::P95 => "p95",
            Peak::P99 => "p99",
        }
    }
}

/// One hour of observations; NaN stands for "none seen" (f64::max and
/// f64::min ignore it), which keeps a bucket small and cache-friendly.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    day_sum: f64,
    count: f64,
    users: f64,
    high: [f64; 5],
    low: [f64; 5],
}

fn seen(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

/// Everything a forecast needs from a history, gathered one observation at a
/// time: at most one bucket per hour of the history.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    observations: usize,
    first: f64,
    last: f64,
    buckets: HashMap<i64, Bucket>,
}

impl Accumulator {
    /// Adds one observation.
    pub fn add(&mut self, obs: &Observation) {
        if self.observations == 0 {
            self.first = obs.day;
            self.last = obs.day;
        }
        self.observations += 1;
        self.first = self.first.min(obs.day);
        self.last = self.last.max(obs.day);
        #[allow(clippy::cast_possible_truncation)]
        let hour = (obs.day * 24.0).floor() as i64;
        let bucket = self.buckets.entry(hour).or_insert(Bucket {
            day_sum: 0.0,
            count: 0.0,
            users: f64::NAN,
            high: [f64::NAN; 5],
            low: [f64::NAN; 5],
        });
        bucket.day_sum += obs.day;
        bucket.count += 1.0;
        if let Some(users) = obs.users.filter(|&u| u > 0.0) {
            bucket.users = bucket.users.max(users);
        }
        for (index, value) in obs.metrics.iter().enumerate() {
            if let Some(value) = *value {
                bucket.high[index] = bucket.high[index].max(value);
                bucket.low[index] = bucket.low[index].min(value);
            }
        }
    }

    /// How many observations were added.
    pub fn observations(&self) -> usize {
        self.observations
    }

    /// The first and last observation's days.
    pub fn span(&self) -> (f64, f64) {
        (self.first, self.last)
    }

    /// Observations per day, over the history's span.
    pub fn per_day(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let rows = self.observations as f64;
        rows / (self.last - self.first).max(1.0)
    }

    /// The history reduced to one point per `period`, each metric's worst
    /// value high (`worst_is_high[i]`) or low, picked by `peak`.
    pub fn reduce(&self, period: Period, peak: Peak, worst_is_high: [bool; 5]) -> Vec<Point> {
        let mut groups: BTreeMap<i64, Vec<&Bucket>> = BTreeMap::new();
        let mut hours: Vec<(&i64, &Bucket)> = self.buckets.iter().collect();
        hours.sort_unstable_by_key(|(hour, _)| **hour);
        for (&hour, bucket) in hours {
            groups.entry(period.index(hour)).or_default().push(bucket);
        }
        groups
            .into_iter()
            .map(|(index, buckets)| {
                let mut users: Vec<f64> = buckets.iter().filter_map(|b| seen(b.users)).collect();
                let mut metrics = [None; 5];
                for (i, slot) in metrics.iter_mut().enumerate() {
                    let mut values: Vec<f64> = buckets
                        .iter()
                        .filter_map(|b| {
                            seen(if worst_is_high[i] {
                                b.high[i]
                            } else {
                                b.low[i]
                            })
                        })
                        .collect();
                    *slot = peak.pick(&mut values, worst_is_high[i]);
                }
                // The period stands at the mean time of its observations.
                let (sum, count) = buckets
                    .iter()
                    .fold((0.0, 0.0), |(s, c), b| (s + b.day_sum, c + b.count));
                let day = sum / count;
                debug_assert!(period.start_day(index) <= day);
                Point {
                    start: period.start_day(index),
                    day,
                    users: peak.pick(&mut users, true),
                    metrics,
                }
            })
            .collect()
    }
}

/// One period's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When the period starts, in days since 1970-01-01.
    pub start: f64,
    /// The mean time of the period's observations, in days since 1970-01-01.
    pub day: f64,
    /// The period's peak of active users.
    pub users: Option<f64>,
    /// Each metric's worst value, in [`crate::metric::Metric::ALL`] order.
    pub metrics: [Option<f64>; 5],
}

/// Whether daily values follow a weekly cycle: the spread between weekday
/// means, after the trend is removed, is large against the noise. Needs
/// three weeks.
pub fn weekly_cycle(points: &[(f64, f64)]) -> bool {
    if points.len() < 21 {
        return false;
    }
    let Some(line) = theil_sen(points) else {
        return false;
    };
    let residuals: Vec<(usize, f64)> = points
        .iter()
        .map(|&(day, value)| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let weekday = (day.floor() as i64).rem_euclid(7) as usize;
            (weekday, value - line.at(day))
        })
        .collect();
    let mut sums = [0.0; 7];
    let mut counts = [0.0f64; 7];
    for &(weekday, r) in &residuals {
        sums[weekday] += r;
        counts[weekday] += 1.0;
    }
    let means: Vec<f64> = (0..7)
        .filter(|&d| counts[d] > 0.0)
        .map(|d| sums[d] / counts[d])
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let variance = |values: &mut dyn Iterator<Item = f64>| {
        let values: Vec<f64> = values.collect();
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len().max(1) as f64
    };
    let between = variance(&mut means.iter().copied());
    let total = variance(&mut residuals.iter().map(|r| r.1));
    // Noise alone gives a ratio near 1 / weeks; a cycle, far more.
    total > 0.0 && between / total > 0.3
}

/// The median of the last `count` values, as a level that one wild sample
/// cannot move.
pub fn recent_level(values: &[f64], count: usize) -> Option<f64> {
    let mut tail: Vec<f64> = values[values.len().saturating_sub(count)..].to_vec();
    median(&mut tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(values: &[f64]) -> Accumulator {
        let mut acc = Accumulator::default();
        for (hour, &value) in values.iter().enumerate() {
            let mut metrics = [None; 5];
            metrics[1] = Some(value);
            metrics[3] = Some(100.0 - value);
            #[allow(clippy::cast_precision_loss)]
            acc.add(&Observation {
                day: 20_000.0 + hour as f64 / 24.0,
                users: Some(value * 1000.0),
                metrics,
            });
        }
        acc
    }

    #[test]
    fn periods_keep_their_worst_value_or_a_high_quantile() {
        let values: Vec<f64> = (0..48).map(|h| f64::from(h % 24)).collect();
        let acc = hourly(&values);
        let high = [true, true, true, false, true];
        let days = acc.reduce(Period::Day, Peak::Max, high);
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].users, Some(23_000.0));
        assert_eq!(days[0].metrics[1], Some(23.0));
        assert_eq!(
            days[0].metrics[3],
            Some(77.0),
            "the worst of a below metric is its lowest"
        );
        let p95 = acc.reduce(Period::Day, Peak::P95, high);
        assert_eq!(p95[0].metrics[1], Some(22.0));
        assert_eq!(p95[0].metrics[3], Some(78.0));
        let hours = acc.reduce(Period::Hour, Peak::Max, high);
        assert_eq!(hours.len(), 48);
        // 2024-10-28 (day 20,024) was a Monday: a week runs Monday to Sunday.
        assert_eq!(
            Period::Week.index(20_024 * 24),
            Period::Week.index(20_030 * 24 + 23)
        );
        assert_ne!(
            Period::Week.index(20_024 * 24),
            Period::Week.index(20_023 * 24)
        );
    }

    #[test]
    fn a_weekly_cycle_is_told_from_noise() {
        let cycle: Vec<(f64, f64)> = (0..42)
            .map(|d| {
                let day = 20_000.0 + f64::from(d);
                let weekend = matches!((20_000 + d) % 7, 2 | 3);
                (day, if weekend { 50.0 } else { 100.0 } + f64::from(d))
            })
            .collect();
        assert!(weekly_cycle(&cycle));
        let line: Vec<(f64, f64)> = (0..42)
            .map(|d| (f64::from(d), f64::from(d) + f64::from(d % 3)))
            .collect();
        assert!(!weekly_cycle(&line));
    }
}
