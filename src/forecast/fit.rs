//! Least-squares straight lines, accumulated one point at a time (Welford's
//! method, so that a million points in any order stay numerically stable).

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

#[cfg(test)]
mod tests {
    use super::*;

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
