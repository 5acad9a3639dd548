//! Replay caches for DPoP proofs (RFC 9449 §11.1): each (key, `jti`) is remembered until
//! the proof could no longer verify anyway. Kept here, with the other stores and below the
//! proof checking in `dpop`, so the Redis and PostgreSQL stores can implement it.
//!
//! The store trait names one atomic operation, "remember this key until T, and say
//! whether it was new", so a shared implementation cannot get it wrong with
//! check-then-act: Redis `SET key 1 NX PXAT until_ms`, PostgreSQL
//! `INSERT ... ON CONFLICT` that only overwrites an expired row (plus the prune of
//! expired rows).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::clock::UnixTime;
use crate::crypto::digest;

/// A boxed, `Send` future: what [`ReplayCache`] methods return, so the trait stays
/// object-safe (`Arc<dyn ReplayCache>`) and a shared cache may do network I/O while the
/// in-memory one answers at once.
pub type ReplayFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ReplayCacheError>> + Send + 'a>>;

/// What a replay cache stores for one proof: SHA-256 over the key's thumbprint and the
/// proof's `jti`. No raw id is kept, the length is fixed whatever the `jti`, and every
/// node derives the same key, so a shared cache refuses a replay on any of them.
///
/// ```
/// # use gatepass::*;
/// let key = DpopKey::generate(Algorithm::ES256)?;
/// let proof = key.proof("GET", "https://api.example/x").make_at(1_700_000_000)?;
/// let verified = DpopVerifier::builder().build()?
///     .verify_at(&proof, "GET", "https://api.example/x", None, 1_700_000_000)?;
/// let replay_key = verified.replay_key();
/// assert_eq!(replay_key.as_str().len(), 43);
/// assert_eq!(replay_key, ReplayKey::new(key.thumbprint(), verified.jti()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The key for a proof by the key with thumbprint `jkt` carrying `jti`.
    pub fn new(jkt: &str, jti: &str) -> Self {
        // A thumbprint is base64url, so it has no NUL: the first NUL separates the two
        // and no (jkt, jti) pair can be made to collide with another by shifting bytes.
        let mut input = Vec::with_capacity(24 + jkt.len() + 1 + jti.len());
        input.extend_from_slice(b"gatepass dpop replay v1\0");
        input.extend_from_slice(jkt.as_bytes());
        input.push(0);
        input.extend_from_slice(jti.as_bytes());
        Self(digest::sha256(&input))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 43 base64url characters: a Redis key suffix or a PostgreSQL text value.
    pub fn as_str(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({})", self.as_str())
    }
}

/// Where proofs already seen are remembered until they could no longer verify anyway.
///
/// Implementations must make [`remember`](Self::remember) atomic: of two concurrent
/// calls with one key, exactly one is told `true`. A cache that cannot answer, or has no
/// room, returns an error and the proof is refused: never accepted unchecked.
pub trait ReplayCache: Send + Sync + fmt::Debug {
    /// Remember `key` until `until` (exclusive, unix seconds); `true` when it was not
    /// already remembered (the proof is new), `false` when it was (a replay). `now` lets
    /// the cache forget what has expired.
    fn remember(&self, key: ReplayKey, until: UnixTime, now: UnixTime) -> ReplayFuture<'_, bool>;
}

/// A replay cache in this process's memory, for a single node: bounded, so a flood of
/// proofs cannot exhaust memory. Expired entries are dropped as time passes; when
/// `capacity` unexpired entries are held, new proofs are refused with
/// [`ReplayCacheError::Full`] until some expire.
///
/// ```
/// use gatepass::{MemoryReplayCache, ReplayKey};
/// let cache = MemoryReplayCache::new(2);
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// assert_eq!(cache.remember_at(key, 160, 100), Ok(true));
/// assert_eq!(cache.remember_at(key, 160, 101), Ok(false)); // a replay
/// assert_eq!(cache.remember_at(key, 260, 160), Ok(true));  // expired: forgotten
/// ```
#[derive(Debug)]
pub struct MemoryReplayCache {
    capacity: usize,
    state: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    until: HashMap<ReplayKey, UnixTime>,
    /// The same entries ordered by expiry, so pruning takes the expired ones from the
    /// front instead of scanning everything.
    by_expiry: BTreeSet<(UnixTime, ReplayKey)>,
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` unexpired proofs (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(Entries::default()),
        }
    }

    /// The synchronous form of [`ReplayCache::remember`].
    pub fn remember_at(
        &self,
        key: ReplayKey,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, ReplayCacheError> {
        // Every operation below leaves the two indexes consistent, so the state is
        // usable even if another thread panicked while holding the lock.
        let mut entries = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        entries.prune(now);
        if entries.until.contains_key(&key) {
            return Ok(false);
        }
        if entries.until.len() >= self.capacity {
            return Err(ReplayCacheError::Full {
                capacity: self.capacity,
            });
        }
        if until > now {
            entries.until.insert(key, until);
            entries.by_expiry.insert((until, key));
        }
        Ok(true)
    }

    /// How many unexpired entries the cache holds at `now`.
    pub fn len_at(&self, now: UnixTime) -> usize {
        let mut entries = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        entries.prune(now);
        entries.until.len()
    }
}

impl Entries {
    fn prune(&mut self, now: UnixTime) {
        while let Some(&(until, key)) = self.by_expiry.first() {
            if until > now {
                break;
            }
            self.by_expiry.pop_first();
            self.until.remove(&key);
        }
    }
}

impl ReplayCache for MemoryReplayCache {
    fn remember(&self, key: ReplayKey, until: UnixTime, now: UnixTime) -> ReplayFuture<'_, bool> {
        let answer = self.remember_at(key, until, now);
        Box::pin(std::future::ready(answer))
    }
}

/// Why a replay cache could not answer (the reason inside [`DpopError::ReplayCache`](crate::DpopError::ReplayCache)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayCacheError {
    /// The cache holds as many unexpired proofs as it may: new proofs are refused rather
    /// than accepted unchecked, until entries expire.
    Full {
        /// The cache's capacity in entries.
        capacity: usize,
    },
    /// A shared cache (Redis, PostgreSQL) did not answer; the proof is refused.
    Unavailable(String),
}
