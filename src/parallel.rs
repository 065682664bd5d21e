//! Mapping over many items on every core, keeping their order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

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

/// Items a worker of [`for_each_ordered`] takes at a time, at most: enough
/// that the first thread is woken rarely; fewer for few items, so that the
/// work is shared out evenly.
const TAKE: usize = 64;

/// Fewer items than this are not worth a thread.
const PARALLEL_FROM: usize = 32;

/// `f` applied to every item on as many threads as there are cores, each
/// result handed to `consume` on the calling thread in the items' order
/// while the workers go on: a pipeline whose memory is bounded by `window`
/// results in flight, not by the number of items. The first error from
/// `consume` stops the workers and is returned.
pub fn for_each_ordered<T: Sync, R: Send, E>(
    items: &[T],
    window: usize,
    f: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.iter().try_for_each(|item| consume(f(item)));
    }
    let take = (items.len() / (threads * 8)).clamp(1, TAKE);
    let window = window.max(threads * take);
    let next = AtomicUsize::new(0);
    let progress = Progress::default();
    let f = &f;
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, Vec<R>)>();
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, progress) = (&next, &progress);
            workers.push(scope.spawn(move || {
                // A worker that panics stops the others, which would
                // otherwise wait for its results forever.
                let _stop = StopOnPanic(progress);
                loop {
                    let start = next.fetch_add(take, Ordering::Relaxed);
                    if start >= items.len() || !progress.wait_until_within(start, window) {
                        break;
                    }
                    let end = (start + take).min(items.len());
                    let results = items[start..end].iter().map(f).collect();
                    if sender.send((start, results)).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(sender);
        let outcome = (|| {
            // Stops the workers however this loop ends: done, an error
            // from `consume`, or a panic.
            let _stop = Stop(&progress);
            let mut waiting = std::collections::BTreeMap::new();
            let mut done = 0;
            while done < items.len() {
                let Ok((start, results)) = receiver.recv() else {
                    // A worker panicked: joining it below passes its panic on.
                    break;
                };
                waiting.insert(start, results);
                while let Some(results) = waiting.remove(&done) {
                    done += results.len();
                    for result in results {
                        consume(result)?;
                    }
                    progress.advance(done);
                }
            }
            Ok(())
        })();
        for worker in workers {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        outcome
    })
}

/// How far [`for_each_ordered`]'s results have been consumed, for workers
/// that must not run more than a window ahead.
#[derive(Default)]
struct Progress {
    state: Mutex<State>,
    changed: Condvar,
}

/// What [`Progress`] guards.
#[derive(Default)]
struct State {
    /// Results consumed so far.
    done: usize,
    stopped: bool,
    /// Workers waiting: with none, nobody needs waking.
    waiting: usize,
}

impl Progress {
    /// Waits until `start` is within `window` of the results consumed;
    /// false when the run has stopped.
    fn wait_until_within(&self, start: usize, window: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.stopped {
                return false;
            }
            if start < state.done + window {
                return true;
            }
            state.waiting += 1;
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
    }

    fn advance(&self, done: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.done = done;
        if state.waiting > 0 {
            self.changed.notify_all();
        }
    }

    fn stop(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopped = true;
        self.changed.notify_all();
    }
}

struct Stop<'p>(&'p Progress);

struct StopOnPanic<'p>(&'p Progress);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
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

    #[test]
    fn for_each_ordered_hands_every_result_over_in_order() {
        for len in [0, 1, 31, 32, 33, 1000, 10_007] {
            let items: Vec<u64> = (0..len).collect();
            for window in [0, 1, 64, 100_000] {
                let mut seen = Vec::new();
                let result: Result<(), ()> = for_each_ordered(
                    &items,
                    window,
                    |x| x * x,
                    |r| {
                        seen.push(r);
                        Ok(())
                    },
                );
                assert_eq!(result, Ok(()));
                assert_eq!(seen, items.iter().map(|x| x * x).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn for_each_ordered_stops_at_the_first_error_without_hanging() {
        let items: Vec<u32> = (0..100_000).collect();
        let mut seen = 0;
        let result = for_each_ordered(
            &items,
            64,
            |x| *x,
            |r| {
                seen += 1;
                if r == 500 { Err(r) } else { Ok(()) }
            },
        );
        assert_eq!(result, Err(500));
        assert_eq!(seen, 501);
    }

    #[test]
    fn for_each_ordered_keeps_the_workers_within_the_window() {
        let items: Vec<usize> = (0..5_000).collect();
        let started = AtomicUsize::new(0);
        let mut done = 0;
        let mut furthest = 0;
        let window = 256;
        for_each_ordered(
            &items,
            window,
            |x| {
                started.fetch_max(*x + 1, Ordering::Relaxed);
                *x
            },
            |_| {
                done += 1;
                furthest = furthest.max(started.load(Ordering::Relaxed) - done);
                Ok::<_, ()>(())
            },
        )
        .unwrap();
        assert_eq!(done, items.len());
        assert!(furthest <= window + TAKE, "{furthest} ahead");
    }

    #[test]
    #[should_panic(expected = "item 700")]
    fn for_each_ordered_passes_a_worker_s_panic_on() {
        let items: Vec<u32> = (0..2_000).collect();
        let _ = for_each_ordered(
            &items,
            64,
            |x| assert_ne!(*x, 700, "item 700"),
            |()| Ok::<_, ()>(()),
        );
    }
}
