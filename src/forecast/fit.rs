//! Straight lines: least squares accumulated one point at a time (Welford's
//! method, so that a million points in any order stay numerically stable),
//! and robust lines (Theil–Sen) that one incident or a launch spike cannot
//! pull.

/// A running least-squares fit of y = intercept + slope * x.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fit {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Fit {
    /// Adds a point.
    pub fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        let dx = x - self.mean_x;
        self.mean_x += dx / self.n;
        let dy = y - self.mean_y;
        self.mean_y += dy / self.n;
        self.sxx += dx * (x - self.mean_x);
        self.syy += dy * (y - self.mean_y);
        self.sxy += dx * (y - self.mean_y);
    }

    /// How many points were added.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn count(&self) -> usize {
        self.n as usize
    }

    /// The slope; 0 when x never varied.
    pub fn slope(&self) -> f64 {
        if self.sxx > 0.0 {
            self.sxy / self.sxx
        } else {
            0.0
        }
    }

    /// The intercept.
    pub fn intercept(&self) -> f64 {
        self.mean_y - self.slope() * self.mean_x
    }

    /// The fitted value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept() + self.slope() * x
    }

    /// The coefficient of determination: 1 for a perfect line (or a constant
    /// y), 0 when x explains nothing or never varied.
    pub fn r2(&self) -> f64 {
        if self.syy <= f64::EPSILON * self.n * self.mean_y.abs().max(1.0) {
            1.0
        } else if self.sxx <= 0.0 {
            0.0
        } else {
            (self.sxy * self.sxy / (self.sxx * self.syy)).clamp(0.0, 1.0)
        }
    }

    /// The standard deviation of x relative to its mean (0 when the mean is 0).
    pub fn x_variation(&self) -> f64 {
        if self.n < 2.0 || self.mean_x == 0.0 {
            return 0.0;
        }
        (self.sxx / self.n).sqrt() / self.mean_x.abs()
    }
}

/// A straight line y = intercept + slope * x.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Line {
    /// The value at x = 0.
    pub intercept: f64,
    /// The change of y per unit of x.
    pub slope: f64,
}

impl Line {
    /// The value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The median of `values` (reordered); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The `q` quantile of `values` (reordered), by the nearest rank below.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, value, _) = values.select_nth_unstable_by(rank, f64::total_cmp);
    Some(*value)
}

/// All pairs up to this many points; beyond, pairs at lags spread over the
/// series, so a fit stays linear in time for long histories.
const ALL_PAIRS_UP_TO: usize = 300;

/// The Theil–Sen line: the median of the slopes between pairs of points, and
/// the median intercept for that slope. Robust to nearly 30% of points being
/// wild; `None` with fewer than two distinct x.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len();
    let mut slopes = Vec::new();
    let mut push = |i: usize, j: usize| {
        let (a, b) = (points[i], points[j]);
        let dx = b.0 - a.0;
        if dx.abs() > f64::EPSILON * (a.0.abs() + b.0.abs()).max(1.0) {
            slopes.push((b.1 - a.1) / dx);
        }
    };
    if n <= ALL_PAIRS_UP_TO {
        for i in 0..n {
            for j in i + 1..n {
                push(i, j);
            }
        }
    } else {
        // Points are in x order; pairs at lags from a quarter to three
        // quarters of the series.
        let lags = 16;
        for step in 0..lags {
            let lag = n / 4 + step * (n / 2) / lags;
            for i in 0..n - lag {
                push(i, i + lag);
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut intercepts: Vec<f64> = points.iter().map(|&(x, y)| y - slope * x).collect();
    let intercept = median(&mut intercepts)?;
    Some(Line { intercept, slope })
}

/// A robust coefficient of determination of `line` on `points`: 1 minus
/// the median squared residual over the median squared deviation from the
/// median. 1 for a perfect fit (or constant y), lower as the points scatter,
/// never below 0; one wild point moves it no more than any other.
pub fn r2(line: &Line, points: &[(f64, f64)]) -> f64 {
    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let Some(centre) = median(&mut ys) else {
        return 0.0;
    };
    let mut total: Vec<f64> = points.iter().map(|p| (p.1 - centre).powi(2)).collect();
    let mut residual: Vec<f64> = points
        .iter()
        .map(|p| (p.1 - line.at(p.0)).powi(2))
        .collect();
    let total = median(&mut total).unwrap_or(0.0);
    let residual = median(&mut residual).unwrap_or(0.0);
    if total <= f64::EPSILON * centre.abs().max(1.0) {
        return if residual <= f64::EPSILON * centre.abs().max(1.0) {
            1.0
        } else {
            0.0
        };
    }
    (1.0 - residual / total).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theil_sen_ignores_a_spike_that_pulls_least_squares() {
        let mut points: Vec<(f64, f64)> = (0..90)
            .map(|x| (f64::from(x), 40.0 + 0.2 * f64::from(x)))
            .collect();
        points[45].1 = 99.0;
        points[89].1 = 99.0;
        let line = theil_sen(&points).unwrap();
        assert!((line.slope - 0.2).abs() < 1e-9, "{line:?}");
        assert!((line.intercept - 40.0).abs() < 1e-9, "{line:?}");
        let mut fit = Fit::default();
        for &(x, y) in &points {
            fit.add(x, y);
        }
        assert!((fit.slope() - 0.2).abs() > 1e-3, "least squares is pulled");
        // Long series use lagged pairs, with the same answer on a clean line.
        let long: Vec<(f64, f64)> = (0..5_000)
            .map(|x| (f64::from(x), 3.0 - 0.5 * f64::from(x)))
            .collect();
        let line = theil_sen(&long).unwrap();
        assert!((line.slope + 0.5).abs() < 1e-9 && (line.intercept - 3.0).abs() < 1e-6);
        assert!(theil_sen(&[(1.0, 2.0), (1.0, 3.0)]).is_none());
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(quantile(&mut [1.0, 2.0, 3.0, 4.0, 5.0], 1.0), Some(5.0));
    }

    #[test]
    fn fits_an_exact_line_in_any_order() {
        let mut fit = Fit::default();
        for x in [5.0, 1.0, 9.0, 3.0, 7.0] {
            fit.add(x, 2.0 + 0.5 * x);
        }
        assert!((fit.slope() - 0.5).abs() < 1e-12);
        assert!((fit.intercept() - 2.0).abs() < 1e-12);
        assert!((fit.r2() - 1.0).abs() < 1e-12);
        assert_eq!(fit.count(), 5);
    }

    #[test]
    fn stays_accurate_with_large_offsets_and_many_points() {
        let mut fit = Fit::default();
        for i in 0..1_000_000 {
            let x = 20_000.0 + f64::from(i) / 10_000.0;
            fit.add(x, 3.0 * (x - 20_000.0) + 1.0);
        }
        assert!((fit.slope() - 3.0).abs() < 1e-6, "{}", fit.slope());
        assert!((fit.r2() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_fits() {
        let mut flat = Fit::default();
        for x in 0..10 {
            flat.add(f64::from(x), 4.0);
        }
        assert_eq!(flat.slope(), 0.0);
        assert_eq!(flat.r2(), 1.0);
        let mut vertical = Fit::default();
        for y in 0..10 {
            vertical.add(1.0, f64::from(y));
        }
        assert_eq!(vertical.slope(), 0.0);
        assert_eq!(vertical.r2(), 0.0);
        let mut noise = Fit::default();
        for (x, y) in [(0.0, 1.0), (1.0, -1.0), (2.0, 1.0), (3.0, -1.0), (4.0, 1.0)] {
            noise.add(x, y);
        }
        assert!(noise.r2() < 0.1);
    }
}
