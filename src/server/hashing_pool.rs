//! Password checks on a small pool of long-lived threads, with a short queue.
//!
//! An argon2id check holds about 19 MiB for tens of milliseconds. Run on tokio's blocking
//! pool (up to 512 threads), a burst of logins made hundreds of them at once: gigabytes of
//! memory, and each short-lived thread left its allocator arena behind, so the memory was
//! never returned. Here at most one thread per core checks passwords, the same threads
//! every time (their memory is reused), and a request that would wait behind more than a
//! short queue is refused at once, so the server answers "busy" instead of falling over.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{oneshot, Semaphore};

/// How many threads check passwords, and how many checks may wait for one.
///
/// Defaults: one thread per core ([`std::thread::available_parallelism`]) and a queue of
/// four checks per thread. More threads than cores are never started: argon2id is bound by
/// the CPU and its memory, so extra threads would only add memory and latency. Logins
/// beyond the threads and the queue answer 503 `temporarily_unavailable` with
/// `Retry-After`.
///
/// ```
/// use gatepass::HashingLimits;
/// let limits = HashingLimits::new(1, 8);
/// assert_eq!((limits.threads, limits.queue), (1, 8));
/// assert!(HashingLimits::default().threads >= 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashingLimits {
    /// Threads checking passwords: at least 1, at most the number of cores.
    pub threads: usize,
    /// Checks that may wait for a free thread before logins are refused.
    pub queue: usize,
}

/// Checks that may wait per hashing thread by default: a short wait (a few checks of
/// tens of milliseconds each) before the server answers "busy".
const QUEUE_PER_THREAD: usize = 4;

impl HashingLimits {
    /// `threads` threads (clamped to 1..=cores) and a queue of `queue` waiting checks.
    pub fn new(threads: usize, queue: usize) -> Self {
        Self {
            threads: threads.clamp(1, cores()),
            queue,
        }
    }

    /// `threads` threads (clamped to 1..=cores) and the default queue for that many.
    ///
    /// ```
    /// use gatepass::HashingLimits;
    /// assert_eq!(HashingLimits::with_threads(1), HashingLimits::new(1, 4));
    /// ```
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.clamp(1, cores());
        Self::new(threads, threads.saturating_mul(QUEUE_PER_THREAD))
    }
}

impl Default for HashingLimits {
    fn default() -> Self {
        Self::with_threads(cores())
    }
}

/// The machine's cores, as the standard library sees them (cgroup quotas included).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Why a check did not run to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolError {
    /// Every thread is busy and the queue is full: nothing was checked.
    Busy,
    /// The check panicked, or no thread could be started.
    Failed,
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads are started on the first check, so a router that never serves a login
/// costs none; they end when the pool is dropped.
#[derive(Debug)]
pub(crate) struct HashingPool {
    limits: HashingLimits,
    /// One permit per check running or waiting.
    admitted: Arc<Semaphore>,
    jobs: OnceLock<Option<Sender<Job>>>,
}

impl HashingPool {
    pub(crate) fn new(limits: HashingLimits) -> Self {
        let limits = HashingLimits::new(limits.threads, limits.queue);
        Self {
            admitted: Arc::new(Semaphore::new(
                limits
                    .threads
                    .saturating_add(limits.queue)
                    .min(Semaphore::MAX_PERMITS),
            )),
            limits,
            jobs: OnceLock::new(),
        }
    }

    fn jobs(&self) -> Option<&Sender<Job>> {
        self.jobs
            .get_or_init(|| spawn_workers(self.limits.threads))
            .as_ref()
    }

    /// Run `check` on a pool thread, or refuse at once with [`PoolError::Busy`] when the
    /// threads and the queue are full. A check whose caller went away still runs to its
    /// end and holds its place meanwhile: the pool's bound is on work, not on waiters.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let permit = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| PoolError::Busy)?;
        let jobs = self.jobs().ok_or(PoolError::Failed)?;
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(check));
            // Free the place before answering, so a client that logs in again right
            // after its answer finds it free.
            drop(permit);
            if let Ok(value) = result {
                let _ = done.send(value);
            }
        });
        jobs.send(job).map_err(|_| PoolError::Failed)?;
        outcome.await.map_err(|_| PoolError::Failed)
    }
}

fn spawn_workers(threads: usize) -> Option<Sender<Job>> {
    let (jobs, queue) = channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    let started = (0..threads)
        .filter(|n| {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("gatepass-hash-{n}"))
                .spawn(move || work(&queue))
                .is_ok()
        })
        .count();
    if started == 0 {
        tracing::error!(
            target: "gatepass::http",
            "cannot start a password hashing thread: logins fail"
        );
        return None;
    }
    Some(jobs)
}

/// Take jobs until the pool is dropped. A panicking check is caught in its job, so the
/// thread survives it.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn threads_are_clamped_to_the_cores() {
        assert_eq!(HashingLimits::new(0, 3).threads, 1);
        assert_eq!(HashingLimits::new(100_000, 3).threads, cores());
        let default = HashingLimits::default();
        assert_eq!(default.threads, cores());
        assert_eq!(default.queue, 4 * cores());
        assert_eq!(HashingLimits::with_threads(0), HashingLimits::new(1, 4));
    }

    #[test]
    fn checks_beyond_the_threads_and_the_queue_are_refused_at_once() {
        let pool = Arc::new(HashingPool::new(HashingLimits::new(1, 1)));
        let release = Arc::new(Barrier::new(2));
        let rt = runtime();
        rt.block_on(async {
            let hold = release.clone();
            let running = tokio::spawn({
                let pool = pool.clone();
                async move { pool.run(move || hold.wait().is_leader()).await }
            });
            let queued = tokio::spawn({
                let pool = pool.clone();
                async move { pool.run(|| 7).await }
            });
            // Both are admitted once their tasks have been polled.
            while pool.admitted.available_permits() > 0 {
                tokio::task::yield_now().await;
            }
            assert_eq!(pool.run(|| 8).await, Err(PoolError::Busy));
            release.wait();
            assert!(running.await.unwrap().is_ok());
            assert_eq!(queued.await.unwrap(), Ok(7));
            assert_eq!(pool.run(|| 9).await, Ok(9));
        });
    }

    #[test]
    fn the_same_threads_do_every_check() {
        let pool = HashingPool::new(HashingLimits::new(1, 0));
        let rt = runtime();
        let names: Vec<_> = (0..5)
            .map(|_| {
                rt.block_on(pool.run(|| std::thread::current().id()))
                    .unwrap()
            })
            .collect();
        assert!(names.iter().all(|id| *id == names[0]), "{names:?}");
        assert_ne!(names[0], std::thread::current().id());
    }

    #[test]
    fn a_panicking_check_fails_alone_and_the_thread_survives() {
        let pool = HashingPool::new(HashingLimits::new(1, 0));
        let rt = runtime();
        let first = rt
            .block_on(pool.run(|| std::thread::current().id()))
            .unwrap();
        assert_eq!(
            rt.block_on(pool.run(|| -> u8 { panic!("a broken credentials check") })),
            Err(PoolError::Failed)
        );
        let after = rt
            .block_on(pool.run(|| std::thread::current().id()))
            .unwrap();
        assert_eq!(first, after);
    }
}
