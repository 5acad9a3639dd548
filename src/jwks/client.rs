//! The remote JWKS client: a [`KeySource`] that answers from memory and refreshes in the
//! background.
//!
//! How it stays fast and safe (the rustls ticketer pattern: a read lock that is only ever
//! held long enough to clone an `Arc`):
//!
//! * **No lock across a fetch.** The cached set is an `Arc` behind an `RwLock`; a lookup
//!   clones the `Arc` and lets go. A fetch runs as its own task and takes the write lock only
//!   to swap in the new set. Verifications of known kids never wait on the network.
//! * **Single flight.** One fetch at a time; everyone who wants one joins it.
//! * **Cooldown.** Apart from an explicit [`JwksClient::refresh`], no fetch starts within the
//!   cooldown (30 s) of the previous one, so a flood of tokens with made-up kids costs the
//!   issuer at most one request per cooldown.
//! * **Bounded freshness.** The set lives for the server's `Cache-Control: max-age`, clamped
//!   to [floor, ceiling] (default 10 min when the server says nothing). A refresh starts
//!   `refresh_ahead` before expiry, in the background.
//! * **Whole-set replacement.** A refresh replaces the set, so a key removed upstream stops
//!   verifying as soon as the refresh lands.
//! * **Stale on error, then closed.** If refreshing fails the last good set keeps serving
//!   for up to `max_stale` (24 h) past its expiry, with a warning; after that every lookup
//!   fails with [`VerifyError::KeysUnavailable`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::watch;

#[cfg(feature = "axum")]
use super::discovery::FetchPolicy;
use super::error::{FetchError, JwksClientError};
use super::fetch::{default_tls, Fetcher, Target};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::Algorithm;
use crate::error::VerifyError;
use crate::keys::{KeySource, SkippedKey, VerificationKeys, VerifyingKey};

/// Longest kid echoed into a log line: kids come from attackers too.
const MAX_LOGGED_KID: usize = 64;

/// Configures a [`JwksClient`]. Every limit has a default that is safe for an API server.
///
/// ```
/// use std::time::Duration;
/// use gatepass::JwksClient;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), gatepass::JwksClientError> {
/// let jwks = JwksClient::builder("https://auth.example/.well-known/jwks.json")
///     .timeout(Duration::from_secs(2))
///     .cooldown(Duration::from_secs(60))
///     .max_age_bounds(Duration::from_secs(30), Duration::from_secs(900))
///     .max_stale(Duration::from_secs(6 * 3600))
///     .build()?;
/// assert_eq!(jwks.status().keys, 0); // nothing fetched yet
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct JwksClientBuilder {
    url: String,
    timeout: Duration,
    max_bytes: usize,
    cooldown: Duration,
    default_max_age: Duration,
    min_max_age: Duration,
    max_max_age: Duration,
    refresh_ahead: Duration,
    max_stale: Duration,
    allow_insecure_http: bool,
    clock: Arc<dyn Clock>,
    runtime: Option<Handle>,
}

impl JwksClientBuilder {
    /// Default fetch timeout (connect, TLS, headers and body together): 5 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default response size cap: 512 KiB, hundreds of keys.
    pub const DEFAULT_MAX_BYTES: usize = 512 * 1024;
    /// Default cooldown between fetches: 30 s.
    pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
    /// Default lifetime when the server sends no `max-age`: 10 min.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
    /// Default floor for the server's `max-age`: 1 min.
    pub const DEFAULT_MIN_MAX_AGE: Duration = Duration::from_secs(60);
    /// Default ceiling for the server's `max-age`: 1 h (a removed key is gone within it).
    pub const DEFAULT_MAX_MAX_AGE: Duration = Duration::from_secs(3600);
    /// Default head start of a background refresh before expiry: 30 s.
    pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(30);
    /// Default bound on serving the last good set past its expiry: 24 h.
    pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(24 * 3600);

    /// The fetch timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The response size cap, in bytes.
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// The least time between two fetches (explicit [`JwksClient::refresh`] excepted).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The lifetime when the server sends no `Cache-Control: max-age`.
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.default_max_age = max_age;
        self
    }

    /// Bounds for the server's `max-age`: `floor` protects the issuer from a client told
    /// never to cache, `ceiling` bounds how long a removed key can stay trusted.
    pub fn max_age_bounds(mut self, floor: Duration, ceiling: Duration) -> Self {
        self.min_max_age = floor;
        self.max_max_age = ceiling;
        self
    }

    /// How long before expiry the background refresh starts (at most half the lifetime).
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// How long past its expiry the last good set keeps serving while refreshes fail.
    /// `Duration::ZERO` fails closed at expiry.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// Accept a plain `http://` URL to a non-loopback host. Only for networks where
    /// nobody can tamper with traffic: whoever can, can swap the keys.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The clock that ages the cache (default: the system clock). Tests pin it.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The tokio runtime that runs fetches (default: the one `build` is called in).
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Point the builder at another URL, keeping its limits (the JWKS URL that OpenID
    /// Connect discovery found).
    #[cfg(feature = "axum")]
    pub(crate) fn url(mut self, url: String) -> Self {
        self.url = url;
        self
    }

    /// The fetch limits and URL policy, for another fetch made on the client's behalf (the
    /// discovery document): timeout, size cap, whether plain http to any host is allowed.
    #[cfg(feature = "axum")]
    pub(crate) fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            timeout: self.timeout,
            max_bytes: self.max_bytes,
            allow_insecure_http: self.allow_insecure_http,
        }
    }

    /// Check the URL and limits and build the client. Nothing is fetched yet: call
    /// [`JwksClient::refresh`] to load the set up front, or let the first lookup start it.
    pub fn build(self) -> Result<JwksClient, JwksClientError> {
        let target = Target::parse(&self.url, self.allow_insecure_http)?;
        let runtime = match self.runtime {
            Some(handle) => handle,
            None => Handle::try_current().map_err(|_| JwksClientError::NoRuntime)?,
        };
        if self.timeout.is_zero() {
            return Err(JwksClientError::InvalidConfig("the fetch timeout is zero"));
        }
        if self.max_bytes == 0 {
            return Err(JwksClientError::InvalidConfig("the size cap is zero"));
        }
        let secs = |d: Duration| d.as_secs();
        if secs(self.min_max_age) == 0 || self.min_max_age > self.max_max_age {
            return Err(JwksClientError::InvalidConfig(
                "the max-age floor must be at least 1 s and at most the ceiling",
            ));
        }
        let tls = if target.is_https() {
            Some(default_tls()?)
        } else {
            None
        };
        let (done, _) = watch::channel(0);
        Ok(JwksClient {
            inner: Arc::new(Inner {
                fetcher: Fetcher {
                    target,
                    tls,
                    timeout: self.timeout,
                    max_bytes: self.max_bytes,
                },
                limits: Limits {
                    cooldown: secs(self.cooldown),
                    default_max_age: secs(self.default_max_age)
                        .clamp(secs(self.min_max_age), secs(self.max_max_age)),
                    min_max_age: secs(self.min_max_age),
                    max_max_age: secs(self.max_max_age),
                    refresh_ahead: secs(self.refresh_ahead),
                    max_stale: secs(self.max_stale),
                },
                clock: self.clock,
                runtime,
                cache: RwLock::new(None),
                flight: Mutex::new(Flight::default()),
                done,
                stale_warned: AtomicBool::new(false),
                closed_warned: AtomicBool::new(false),
                counters: Counters::default(),
            }),
        })
    }
}

/// A remote JWK Set, cached and refreshed in the background; a [`KeySource`] for a
/// [`Verifier`](crate::Verifier), which then behaves exactly as with a local keyset.
///
/// Cheap to clone (one `Arc`). Needs the `jwks-client` feature and a tokio runtime.
///
/// ```no_run
/// use gatepass::{JwksClient, Verifier};
/// # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let jwks = JwksClient::builder("https://auth.example/.well-known/jwks.json").build()?;
/// jwks.refresh().await?; // optional: load the set before the first request
///
/// let verifier = Verifier::builder(jwks.clone(), "https://auth.example", "api").build()?;
/// // Synchronous, never waits on the network: a token with a kid this client has not seen
/// // yet starts a background refetch (at most one per cooldown) and is rejected...
/// let _ = verifier.verify_access(token);
/// // ...unless the caller can wait: this retries once after that refetch lands.
/// let verified = jwks.verify_with(|| verifier.verify_access(token)).await?;
/// println!("{}", verified.claims().sub);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksClient {
    inner: Arc<Inner>,
}

struct Inner {
    fetcher: Fetcher,
    limits: Limits,
    clock: Arc<dyn Clock>,
    runtime: Handle,
    cache: RwLock<Option<Arc<Cached>>>,
    flight: Mutex<Flight>,
    /// Bumped after every fetch, successful or not; waiters watch it.
    done: watch::Sender<u64>,
    stale_warned: AtomicBool,
    closed_warned: AtomicBool,
    counters: Counters,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    cooldown: u64,
    default_max_age: u64,
    min_max_age: u64,
    max_max_age: u64,
    refresh_ahead: u64,
    max_stale: u64,
}

/// How long a fetched set stays fresh, in seconds: the server's `max_age` (from
/// `cache_lifetime`) or, when it said nothing, `default`, clamped to `[floor, ceiling]`.
pub(crate) fn lifetime(max_age: Option<u64>, default: u64, floor: u64, ceiling: u64) -> u64 {
    max_age.unwrap_or(default).clamp(floor, ceiling)
}

/// One successfully fetched set and its lifetime.
#[derive(Debug)]
struct Cached {
    keys: VerificationKeys,
    skipped: Vec<SkippedKey>,
    fetched_at: UnixTime,
    fresh_until: UnixTime,
    refresh_at: UnixTime,
    stale_until: UnixTime,
}

#[derive(Debug, Default)]
struct Flight {
    in_flight: bool,
    last_started: Option<UnixTime>,
    last_result: Option<Result<usize, FetchError>>,
}

#[derive(Debug, Default)]
struct Counters {
    fetches_ok: AtomicU64,
    fetches_failed: AtomicU64,
    kid_misses: AtomicU64,
    stale_served: AtomicU64,
}

/// Why a fetch is wanted; all but `Forced` respect the cooldown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Forced,
    Empty,
    Expiring,
    KidMiss,
}

/// A point-in-time view of a [`JwksClient`], for health checks and metrics.
///
/// ```no_run
/// # async fn run(jwks: gatepass::JwksClient) {
/// let status = jwks.status();
/// if let Some(error) = &status.last_error {
///     eprintln!("{}: {error} (serving {} keys until {:?})", status.url, status.keys, status.stale_until);
/// }
/// for skipped in &status.skipped {
///     eprintln!("{skipped}");
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStatus {
    /// The URL.
    pub url: String,
    /// How many keys the cached set holds (0 before the first successful fetch).
    pub keys: usize,
    /// The keys the cached set carried but this client refused, each with its reason.
    pub skipped: Vec<SkippedKey>,
    /// When the cached set was fetched.
    pub fetched_at: Option<UnixTime>,
    /// Until when the cached set is fresh.
    pub fresh_until: Option<UnixTime>,
    /// From when the cached set is no longer served (lookups fail closed).
    pub stale_until: Option<UnixTime>,
    /// Whether a fetch is running now.
    pub fetching: bool,
    /// The last fetch's failure, if the last fetch failed.
    pub last_error: Option<FetchError>,
    /// Successful fetches so far.
    pub fetches_ok: u64,
    /// Failed fetches so far.
    pub fetches_failed: u64,
    /// Lookups for a kid the cached set did not hold.
    pub kid_misses: u64,
    /// Lookups answered from a set past its freshness lifetime.
    pub stale_served: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data that is still consistent
    // (every update is a single assignment), so keep going rather than panic too.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn short(kid: Option<&str>) -> &str {
    let kid = kid.unwrap_or("");
    match kid.char_indices().nth(MAX_LOGGED_KID) {
        Some((end, _)) => kid.get(..end).unwrap_or(""),
        None => kid,
    }
}

impl JwksClient {
    /// Start configuring a client for the JWK Set at `url` (`https://`, or `http://` to a
    /// loopback address).
    pub fn builder(url: impl Into<String>) -> JwksClientBuilder {
        JwksClientBuilder {
            url: url.into(),
            timeout: JwksClientBuilder::DEFAULT_TIMEOUT,
            max_bytes: JwksClientBuilder::DEFAULT_MAX_BYTES,
            cooldown: JwksClientBuilder::DEFAULT_COOLDOWN,
            default_max_age: JwksClientBuilder::DEFAULT_MAX_AGE,
            min_max_age: JwksClientBuilder::DEFAULT_MIN_MAX_AGE,
            max_max_age: JwksClientBuilder::DEFAULT_MAX_MAX_AGE,
            refresh_ahead: JwksClientBuilder::DEFAULT_REFRESH_AHEAD,
            max_stale: JwksClientBuilder::DEFAULT_MAX_STALE,
            allow_insecure_http: false,
            clock: Arc::new(SystemClock),
            runtime: None,
        }
    }

    /// The URL this client fetches.
    pub fn url(&self) -> &str {
        &self.inner.fetcher.target.url
    }

    /// Fetch the set now, ignoring the cooldown (joining a fetch already running), and
    /// return how many keys it holds. On failure the previous set stays in place.
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        let mut done = self.inner.done.subscribe();
        self.inner.start(Reason::Forced, self.inner.clock.now());
        let _ = done.changed().await;
        lock(&self.inner.flight)
            .last_result
            .clone()
            .unwrap_or(Err(FetchError::Abandoned))
    }

    /// Wait until no fetch is running (returns at once when none is).
    pub async fn settled(&self) {
        loop {
            let mut done = self.inner.done.subscribe();
            if !lock(&self.inner.flight).in_flight {
                return;
            }
            if done.changed().await.is_err() {
                return;
            }
        }
    }

    /// Run a verification, and if it failed for want of a key (an unknown kid, or no usable
    /// set yet) while a fetch was started or running, wait for that fetch and run it once
    /// more. The way for async callers to accept a token signed by a key published since
    /// the last fetch without an error in between; the cooldown still bounds the fetches.
    ///
    /// ```no_run
    /// # async fn run(jwks: gatepass::JwksClient, verifier: gatepass::Verifier, token: &str)
    /// # -> Result<(), gatepass::VerifyError> {
    /// let verified = jwks.verify_with(|| verifier.verify_access(token)).await?;
    /// let refresh = jwks.verify_with(|| verifier.verify_refresh(token)).await;
    /// # Ok(()) }
    /// ```
    pub async fn verify_with<T>(
        &self,
        verify: impl Fn() -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        // Watch first: a fetch that completes between the attempt and the wait is seen.
        let watch = self.watch_fetches();
        let first = verify();
        if !matches!(
            first,
            Err(VerifyError::UnknownKey | VerifyError::KeysUnavailable)
        ) || !watch.worth_waiting()
        {
            return first;
        }
        watch.wait().await;
        verify()
    }

    /// The first half of [`verify_with`](Self::verify_with) for callers that verify
    /// synchronously and decide afterwards whether to wait (the axum layer, which stays
    /// allocation-free unless it has to wait): take this before the first attempt.
    pub(crate) fn watch_fetches(&self) -> FetchWatch {
        FetchWatch {
            inner: Arc::clone(&self.inner),
            done: self.inner.done.subscribe(),
        }
    }

    /// Start the first fetch in the background unless one ran already (cooldown rules),
    /// so that the first request finds the set or joins the fetch.
    #[cfg(feature = "axum")]
    pub(crate) fn prefetch(&self) {
        if self.inner.snapshot().is_none() {
            self.inner.start(Reason::Empty, self.inner.clock.now());
        }
    }

    /// The client's state and counters.
    pub fn status(&self) -> JwksStatus {
        let inner = &self.inner;
        let cached = inner.snapshot();
        let flight = lock(&inner.flight);
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        JwksStatus {
            url: self.url().to_owned(),
            keys: cached.as_ref().map_or(0, |c| c.keys.len()),
            skipped: cached.as_ref().map_or_else(Vec::new, |c| c.skipped.clone()),
            fetched_at: cached.as_ref().map(|c| c.fetched_at),
            fresh_until: cached.as_ref().map(|c| c.fresh_until),
            stale_until: cached.as_ref().map(|c| c.stale_until),
            fetching: flight.in_flight,
            last_error: flight.last_result.clone().and_then(Result::err),
            fetches_ok: count(&inner.counters.fetches_ok),
            fetches_failed: count(&inner.counters.fetches_failed),
            kid_misses: count(&inner.counters.kid_misses),
            stale_served: count(&inner.counters.stale_served),
        }
    }

    /// Refresh in the background on a timer, so even an idle service has a fresh set when
    /// a request comes: every `interval` the task refreshes if the set is due (the
    /// cooldown and refresh-ahead rules apply). Runs until the returned handle is aborted
    /// or the runtime shuts down. Lookups start due refreshes on their own; this is for
    /// services with long quiet spells.
    pub fn spawn_refresher(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let inner = Arc::clone(&self.inner);
        let interval = interval.max(Duration::from_secs(1));
        self.inner.runtime.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let now = inner.clock.now();
                match inner.snapshot() {
                    None => inner.start(Reason::Empty, now),
                    Some(cached) if now >= cached.refresh_at => inner.start(Reason::Expiring, now),
                    Some(_) => false,
                };
            }
        })
    }
}

/// A view on the client's fetches, taken before a verification attempt: after a miss,
/// whether a fetch was started or finished since (then waiting for it can help), and the
/// wait itself.
pub(crate) struct FetchWatch {
    inner: Arc<Inner>,
    done: watch::Receiver<u64>,
}

impl FetchWatch {
    /// Whether a fetch is running, or one finished since this watch was taken: only then
    /// can another attempt see keys the first one did not.
    pub(crate) fn worth_waiting(&self) -> bool {
        lock(&self.inner.flight).in_flight || self.done.has_changed().unwrap_or(false)
    }

    /// Wait for the end of the running fetch (at once if one ended since the watch was
    /// taken). At most one fetch: the caller then verifies once more and answers.
    pub(crate) async fn wait(mut self) {
        let _ = self.done.changed().await;
    }
}

impl fmt::Debug for FetchWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchWatch").finish_non_exhaustive()
    }
}

impl Inner {
    fn snapshot(&self) -> Option<Arc<Cached>> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Start a fetch unless one is running (then join it) or the cooldown forbids it.
    /// Returns whether a fetch is now running. Never blocks: the fetch is a task.
    fn start(self: &Arc<Self>, reason: Reason, now: UnixTime) -> bool {
        let mut flight = lock(&self.flight);
        if flight.in_flight {
            return true;
        }
        if reason != Reason::Forced {
            if let Some(last) = flight.last_started {
                if now < last.saturating_add(self.limits.cooldown) {
                    return false;
                }
            }
        }
        flight.in_flight = true;
        flight.last_started = Some(now);
        drop(flight);
        tracing::debug!(url = %self.fetcher.target.url, ?reason, "JWKS fetch started");
        let guard = FlightGuard {
            inner: Arc::clone(self),
            finished: false,
        };
        // The task owns the guard: if the runtime drops it unfinished, the guard still
        // ends the flight, so a lost task cannot wedge every later refresh.
        drop(self.runtime.spawn(guard.run()));
        true
    }

    fn lifetime(&self, max_age: Option<u64>) -> u64 {
        let limits = &self.limits;
        lifetime(
            max_age,
            limits.default_max_age,
            limits.min_max_age,
            limits.max_max_age,
        )
    }

    /// Parse, validate and install a fetched set; the old set is replaced whole.
    fn install(&self, body: &[u8], max_age: Option<u64>) -> Result<usize, FetchError> {
        let (keys, skipped) = VerificationKeys::from_jwks_json(body).map_err(FetchError::Format)?;
        for skip in &skipped {
            tracing::warn!(url = %self.fetcher.target.url, "JWKS key skipped: {skip}");
        }
        if keys.is_empty() {
            return Err(FetchError::NoUsableKeys {
                skipped: skipped.len(),
            });
        }
        let count = keys.len();
        let skipped_count = skipped.len();
        let now = self.clock.now();
        let lifetime = self.lifetime(max_age);
        let fresh_until = now.saturating_add(lifetime);
        let ahead = self.limits.refresh_ahead.min(lifetime / 2);
        let cached = Cached {
            keys,
            skipped,
            fetched_at: now,
            fresh_until,
            refresh_at: fresh_until.saturating_sub(ahead),
            stale_until: fresh_until.saturating_add(self.limits.max_stale),
        };
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(cached));
        self.stale_warned.store(false, Ordering::Relaxed);
        self.closed_warned.store(false, Ordering::Relaxed);
        tracing::info!(
            url = %self.fetcher.target.url,
            keys = count,
            skipped = skipped_count,
            lifetime_secs = lifetime,
            "JWKS fetch ok"
        );
        Ok(count)
    }
}

struct FlightGuard {
    inner: Arc<Inner>,
    finished: bool,
}

impl FlightGuard {
    async fn run(mut self) {
        let inner = Arc::clone(&self.inner);
        let result = match inner.fetcher.fetch().await {
            Ok(fetched) => inner.install(&fetched.body, fetched.max_age),
            Err(err) => Err(err),
        };
        self.finish(result);
    }

    fn finish(&mut self, result: Result<usize, FetchError>) {
        self.finished = true;
        let inner = &self.inner;
        match &result {
            Ok(_) => {
                inner.counters.fetches_ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                inner
                    .counters
                    .fetches_failed
                    .fetch_add(1, Ordering::Relaxed);
                let kept = inner.snapshot();
                tracing::warn!(
                    url = %inner.fetcher.target.url,
                    error = %err,
                    kind = err.kind(),
                    serving_last_good_set = kept.is_some(),
                    stale_until = kept.as_ref().map(|c| c.stale_until),
                    "JWKS fetch failed"
                );
            }
        }
        let mut flight = lock(&inner.flight);
        flight.in_flight = false;
        flight.last_result = Some(result);
        drop(flight);
        inner.done.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(Err(FetchError::Abandoned));
        }
    }
}

impl KeySource for JwksClient {
    /// Answer from the cached set, never waiting. Starts a background fetch when the set is
    /// missing, due for refresh, or lacks the kid (the last two within the cooldown rule).
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<VerifyingKey>, VerifyError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let Some(cached) = inner.snapshot() else {
            inner.start(Reason::Empty, now);
            return Err(VerifyError::KeysUnavailable);
        };
        if now >= cached.stale_until {
            inner.start(Reason::Expiring, now);
            // Once per outage: every lookup fails from here on, the log need not say so each time.
            if !inner.closed_warned.swap(true, Ordering::Relaxed) {
                tracing::error!(
                url = %inner.fetcher.target.url,
                fetched_at = cached.fetched_at,
                stale_until = cached.stale_until,
                "JWKS set is past its staleness bound; failing closed"
                );
            }
            return Err(VerifyError::KeysUnavailable);
        }
        if now >= cached.refresh_at {
            inner.start(Reason::Expiring, now);
        }
        if now >= cached.fresh_until {
            inner.counters.stale_served.fetch_add(1, Ordering::Relaxed);
            // Warn once per outage, and only once a refresh has actually failed (a lookup
            // just past expiry usually finds the refresh still running).
            let failed = || matches!(lock(&inner.flight).last_result, Some(Err(_)));
            if !inner.stale_warned.load(Ordering::Relaxed)
                && failed()
                && !inner.stale_warned.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    url = %inner.fetcher.target.url,
                    fresh_until = cached.fresh_until,
                    stale_until = cached.stale_until,
                    "JWKS stale set served: refreshing has not succeeded since it expired"
                );
            }
        }
        match cached.keys.find(kid, alg) {
            Err(VerifyError::UnknownKey) => {
                inner.counters.kid_misses.fetch_add(1, Ordering::Relaxed);
                let refetch = inner.start(Reason::KidMiss, now);
                tracing::debug!(
                    url = %inner.fetcher.target.url,
                    kid = short(kid),
                    refetch,
                    "JWKS kid miss"
                );
                Err(VerifyError::UnknownKey)
            }
            other => other,
        }
    }
}

impl fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksClient")
            .field("url", &self.inner.fetcher.target.url)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}
