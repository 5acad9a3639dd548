//! Races: `n` threads released together by one barrier, each doing one thing, and every
//! result collected in thread order. Every "N callers present the same refresh token at
//! once, exactly one wins" test is this helper plus its assertions.

use std::sync::Barrier;

/// Start `n` threads, release them together, run `attempt(i)` on thread `i` and return the
/// results in order of `i`. Scoped threads: `attempt` may borrow from the caller.
pub fn race<T: Send>(n: usize, attempt: impl Fn(usize) -> T + Sync) -> Vec<T> {
    race_prepared(n, |i| i, attempt)
}

/// [`race`] with a per-thread `prepare(i)` done before the barrier (building a request),
/// so that only `attempt` itself runs in the contended window.
pub fn race_prepared<P, T: Send>(
    n: usize,
    prepare: impl Fn(usize) -> P + Sync,
    attempt: impl Fn(P) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(n);
    let (barrier, prepare, attempt) = (&barrier, &prepare, &attempt);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                scope.spawn(move || {
                    let prepared = prepare(i);
                    barrier.wait();
                    attempt(prepared)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a racing thread panicked"))
            .collect()
    })
}

/// [`race`] for futures (a store's or a session manager's): thread `i` drives
/// `attempt(i)` to completion with [`block_on`](super::block_on).
pub fn race_futures<F: std::future::Future>(
    n: usize,
    attempt: impl Fn(usize) -> F + Sync,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    race(n, |i| super::block_on(attempt(i)))
}
