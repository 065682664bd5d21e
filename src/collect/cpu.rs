//! The CPU of this machine, from `/proc/stat`: honest only when scalectl
//! runs on the database host (`--local`).

use std::time::Duration;

use super::SourceError;

/// Idle and total time of all CPUs, in clock ticks, from `/proc/stat`'s
/// first line; idle counts `iowait` as node_exporter's idle modes do.
fn times(stat: &str) -> Option<(u64, u64)> {
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    (fields.len() == 8).then(|| (fields[3] + fields[4], fields.iter().sum()))
}

fn read() -> Result<(u64, u64), SourceError> {
    let stat = std::fs::read_to_string("/proc/stat").map_err(|e| {
        SourceError(format!(
            "--local: cannot read /proc/stat ({}); --local needs Linux",
            crate::source::io_reason(&e)
        ))
    })?;
    times(&stat).ok_or_else(|| SourceError("--local: /proc/stat is not as Linux writes it".into()))
}

/// The busy share of all CPUs over `window`, in percent.
pub fn busy_pct(window: Duration) -> Result<f64, SourceError> {
    let (idle_before, total_before) = read()?;
    std::thread::sleep(window);
    let (idle_after, total_after) = read()?;
    Ok(busy(
        idle_after.saturating_sub(idle_before),
        total_after.saturating_sub(total_before),
    ))
}

fn busy(idle: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * total.saturating_sub(idle) as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_counts_iowait_and_busy_is_the_rest() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n";
        assert_eq!(times(stat), Some((850, 1000)));
        assert_eq!(busy(850, 1000), 15.0);
        assert_eq!(busy(0, 0), 0.0);
        assert_eq!(times("intr 1 2"), None);
        assert_eq!(times("cpu  1 2 x 4 5 6 7 8"), None);
    }
}
