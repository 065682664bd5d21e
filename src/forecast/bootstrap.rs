//! How sure a date is: a moving-block bootstrap of the whole fitting
//! procedure. Blocks of consecutive periods (a week or more) are drawn with
//! replacement, so that day-to-day correlation survives in each resample;
//! the generator is seeded, so the same history gives the same interval.

/// Resamples drawn for every interval.
pub const RESAMPLES: usize = 200;

/// A small, fast, seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub fn seeded() -> Self {
        Self(0x5CA1_EC71_D00D_F00D)
    }

    /// The next number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        #[allow(clippy::cast_possible_truncation)]
        let index = (z % bound as u64) as usize;
        index
    }
}

/// The indices of one resample of `n` points in blocks of `block`, in order
/// of the points they stand for.
pub fn resample(n: usize, block: usize, rng: &mut Rng) -> Vec<usize> {
    let block = block.clamp(1, n.max(1));
    let mut indices = Vec::with_capacity(n + block);
    while indices.len() < n {
        let start = rng.below(n - block + 1);
        indices.extend(start..start + block);
    }
    indices.truncate(n);
    indices.sort_unstable();
    indices
}

/// The 5th and 95th percentiles of crossing offsets, where `None` means
/// "not within the horizon" and sorts last.
pub fn interval(mut offsets: Vec<Option<u32>>) -> (Option<u32>, Option<u32>) {
    if offsets.is_empty() {
        return (None, None);
    }
    offsets.sort_by_key(|o| o.unwrap_or(u32::MAX));
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((offsets.len() - 1) as f64 * q).round() as usize;
        offsets[rank]
    };
    (at(0.05), at(0.95))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_are_reproducible_and_in_blocks() {
        let a = resample(30, 7, &mut Rng::seeded());
        let b = resample(30, 7, &mut Rng::seeded());
        assert_eq!(a, b);
        assert_eq!(a.len(), 30);
        assert!(a.iter().all(|&i| i < 30));
        assert_eq!(
            interval(vec![Some(3), None, Some(1), Some(2)]),
            (Some(1), None)
        );
    }
}
