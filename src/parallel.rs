//! Mapping over many items on every core, keeping their order.

/// `f` applied to every item, on as many threads as there are cores when
/// there are at least `min_parallel` items (below that, threads cost more
/// than they save). The results keep the items' order.
pub fn map_ordered<T: Sync, R: Send>(
    items: &[T],
    min_parallel: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < min_parallel.max(2) {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_whether_parallel_or_not() {
        let items: Vec<u32> = (0..10_000).collect();
        let squares = map_ordered(&items, 64, |x| u64::from(*x) * u64::from(*x));
        assert_eq!(squares.len(), items.len());
        assert!(
            squares
                .iter()
                .enumerate()
                .all(|(i, s)| *s == (i as u64) * (i as u64))
        );
        assert_eq!(map_ordered(&items[..3], 64, |x| x + 1), [1, 2, 3]);
        assert!(map_ordered(&[] as &[u32], 1, |x| *x).is_empty());
    }
}
