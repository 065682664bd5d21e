//! How a load metric grows with users: one model behind `forecast` and the
//! what-if answers, so that "what breaks first at N users" has one answer.

use serde::Serialize;

use crate::forecast::fit::{Line, median, r2, theil_sen};
use crate::metric::Metric;

/// The shape of a load metric against users.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadModel {
    /// value = intercept + slope x users.
    Linear(Line),
    /// A single queue: 1 / value = intercept + slope x users, so the value
    /// bends upward and runs away at `-intercept / slope` users (the
    /// capacity the data implies).
    Queue(Line),
}

/// The name of a load model in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// A straight line in users.
    Linear,
    /// A queue that runs away near capacity.
    Queue,
}

impl LoadModel {
    /// The metric's value at `users`; infinite past a queue's capacity.
    pub fn at(&self, users: f64) -> f64 {
        match self {
            LoadModel::Linear(line) => line.at(users),
            LoadModel::Queue(line) => {
                let inverse = line.at(users);
                if inverse > 0.0 {
                    1.0 / inverse
                } else {
                    f64::INFINITY
                }
            }
        }
    }

    /// The users at which a queue runs away, when the data implies one.
    pub fn capacity(&self) -> Option<f64> {
        match self {
            LoadModel::Queue(line) if line.slope < 0.0 && line.intercept > 0.0 => {
                Some(-line.intercept / line.slope)
            }
            _ => None,
        }
    }

    /// Its shape.
    pub fn shape(&self) -> Shape {
        match self {
            LoadModel::Linear(_) => Shape::Linear,
            LoadModel::Queue(_) => Shape::Queue,
        }
    }

    /// The model of `metric` fitted robustly to (users, value) points, and
    /// its R². Latency bends upward near saturation, so it is fitted as a
    /// queue unless a straight line fits clearly better (a few months of data
    /// rarely show the bend plainly, and choosing by a small difference would
    /// pick the line about half the time).
    pub fn fit(metric: Metric, points: &[(f64, f64)]) -> Option<(Self, f64)> {
        let line = theil_sen(points)?;
        let linear = (LoadModel::Linear(line), r2(&line, points));
        if !is_latency(metric) || points.iter().any(|p| p.1 <= 0.0) {
            return Some(linear);
        }
        let inverse: Vec<(f64, f64)> = points.iter().map(|&(u, v)| (u, 1.0 / v)).collect();
        let Some(queue_line) = theil_sen(&inverse) else {
            return Some(linear);
        };
        let queue = LoadModel::Queue(queue_line);
        let spread = |model: &LoadModel| {
            let mut residuals: Vec<f64> = points
                .iter()
                .map(|&(u, v)| (v - model.at(u)).abs())
                .collect();
            median(&mut residuals).unwrap_or(f64::INFINITY)
        };
        if spread(&linear.0) < 0.5 * spread(&queue) {
            return Some(linear);
        }
        let fitted: Vec<(f64, f64)> = points.iter().map(|&(u, v)| (queue.at(u), v)).collect();
        let identity = Line {
            intercept: 0.0,
            slope: 1.0,
        };
        Some((queue, r2(&identity, &fitted)))
    }

    /// The model of a given shape fitted robustly to (users, value) points.
    pub fn fit_shape(shape: Shape, points: &[(f64, f64)]) -> Option<Self> {
        match shape {
            Shape::Linear => theil_sen(points).map(LoadModel::Linear),
            Shape::Queue => {
                let inverse: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| p.1 > 0.0)
                    .map(|&(u, v)| (u, 1.0 / v))
                    .collect();
                theil_sen(&inverse).map(LoadModel::Queue)
            }
        }
    }

    /// The model through one observation, for a what-if from a single
    /// report: load in proportion to users (the line through the origin).
    pub fn proportional(users: f64, value: f64) -> Self {
        let slope = if users > 0.0 { value / users } else { 0.0 };
        LoadModel::Linear(Line {
            intercept: 0.0,
            slope,
        })
    }
}

/// Whether a metric is a response time, which queues near saturation.
pub fn is_latency(metric: Metric) -> bool {
    metric == Metric::ApiP95Ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_recognised_and_its_capacity_found() {
        // p95 = 80 / (1 - users / 200,000), observed from 50,000 to 120,000 users.
        let points: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let users = 50_000.0 + f64::from(i) * 1_200.0;
                (users, 80.0 / (1.0 - users / 200_000.0))
            })
            .collect();
        let (model, r2) = LoadModel::fit(Metric::ApiP95Ms, &points).unwrap();
        assert_eq!(model.shape(), Shape::Queue);
        assert!((model.capacity().unwrap() - 200_000.0).abs() < 1.0);
        assert!(r2 > 0.999);
        assert!((model.at(150_000.0) - 320.0).abs() < 0.01);
        assert!(model.at(250_000.0).is_infinite());
        // CPU is a straight line in users.
        let cpu: Vec<(f64, f64)> = points.iter().map(|&(u, _)| (u, 5.0 + 0.0004 * u)).collect();
        let (model, _) = LoadModel::fit(Metric::DbCpuPct, &cpu).unwrap();
        assert_eq!(model.shape(), Shape::Linear);
        assert!((model.at(100_000.0) - 45.0).abs() < 1e-9);
    }

    #[test]
    fn latency_that_is_clearly_straight_stays_a_line() {
        let points: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let users = 10_000.0 + f64::from(i) * 1_000.0;
                (users, 300.0 - 0.002 * users)
            })
            .collect();
        let (model, _) = LoadModel::fit(Metric::ApiP95Ms, &points).unwrap();
        assert_eq!(model.shape(), Shape::Linear);
    }
}
