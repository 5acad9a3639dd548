//! The verified-token cache: a bounded CLOCK cache from a keyed hash of a token to what
//! verifying it produced, so a token presented again skips parsing and the signature check.
//!
//! This module only stores; the rules that make serving an entry safe (the key that
//! verified it is still trusted, the time checks, the revocation check) run in the
//! [`Verifier`](crate::Verifier) on every hit.
//!
//! * **Keyed by HMAC-SHA-256** of the token under a random key drawn when the cache is
//!   made: the table never holds a token or anything that could be turned back into one,
//!   and nobody without the key can aim tokens at one bucket. The digest's first 8 bytes
//!   (uniform, unpredictable) are the table hash, so no second hash function runs.
//! * **Bounded**: at most `capacity` entries; when full, CLOCK evicts (a hit sets a
//!   "referenced" bit under the read lock; the insert that needs room sweeps the hand,
//!   giving referenced entries a second chance and dropping dead ones first).
//! * **Read-lock fast path** (like rustls's ticketer): hits take only the read lock and
//!   touch one atomic; inserts and removals take the write lock.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hashbrown::HashTable;
use ring::hmac;

use crate::clock::UnixTime;
use crate::error::ConfigError;

/// The HMAC-SHA-256 of a token (with its expected type): a cache key.
pub(crate) type Digest = [u8; 32];

/// An optional, bounded cache of verified tokens for one [`Verifier`](crate::Verifier)
/// (set with [`VerifierBuilder::cache`](crate::VerifierBuilder::cache); off by default).
///
/// A token presented again within the cache's TTL is answered without parsing or
/// checking its signature, which is most of the cost of EdDSA and ECDSA verification.
/// What is never skipped on a hit:
///
/// * **expiry**: `exp`, `nbf`, `iat` and max-age are checked against the time of *this*
///   verification, and an entry is dropped at the token's `exp` or after the TTL,
///   whichever comes first;
/// * **revocation**: the verifier's [`RevocationView`](crate::RevocationView) is
///   consulted on every hit, so a revoked token is never served from the cache;
/// * **keys**: an entry is served only while the key source still returns the very key
///   that verified it. A key removed, revoked or replaced (a `ReloadableKeys::replace`, a
///   `SessionManager::update_keys`, a JWKS refresh) takes its entries with it.
///
/// Entries are keyed by an HMAC-SHA-256 of the token under a random per-cache key, never
/// by the token itself. One cache belongs to one verifier (the builder takes it by value),
/// so a token verified for one issuer, audience or algorithm list is never served to a
/// verifier configured differently.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use gatepass::*;
///
/// let key = Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
/// let token = Issuer::new(key.clone(), "https://auth.example", "api").access_token("alice").issue()?.token;
///
/// let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "https://auth.example", "api")
///     .cache(TokenCache::new(10_000, Duration::from_secs(60))?)
///     .build()?;
/// let first = verifier.verify_access(&token)?; // verified, then cached
/// let again = verifier.verify_access(&token)?; // served from the cache
/// assert_eq!(first, again);
/// assert_eq!(verifier.cache().map(TokenCache::len), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TokenCache {
    key: hmac::Key,
    capacity: usize,
    ttl: u64,
    table: RwLock<Table>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("len", &self.len())
            .field("hits", &self.hits.load(Ordering::Relaxed))
            .field("misses", &self.misses.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// One cached verification.
struct Slot {
    digest: Digest,
    /// The `kid` of the key that verified it, for [`TokenCache::flush_key`].
    kid: Option<Box<str>>,
    /// min(`exp`, insertion + TTL): not served at or after this time.
    dies_at: UnixTime,
    referenced: AtomicBool,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
struct Table {
    /// Indices into `slots`, hashed by the digest's first 8 bytes.
    index: HashTable<usize>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
}

fn table_hash(digest: &Digest) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(prefix)
}

impl Table {
    fn position(&self, digest: &Digest) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(table_hash(digest), |&i| {
                slots
                    .get(i)
                    .and_then(Option::as_ref)
                    .is_some_and(|s| s.digest == *digest)
            })
            .copied()
    }

    fn remove_at(&mut self, i: usize) -> Option<Slot> {
        let slot = self.slots.get_mut(i)?.take()?;
        if let Ok(entry) = self.index.find_entry(table_hash(&slot.digest), |&j| j == i) {
            entry.remove();
        }
        self.free.push(i);
        Some(slot)
    }

    /// A free slot index, evicting with CLOCK when the table is full.
    fn make_room(&mut self, capacity: usize, now: UnixTime) -> usize {
        if let Some(i) = self.free.pop() {
            return i;
        }
        if self.slots.len() < capacity {
            self.slots.push(None);
            return self.slots.len() - 1;
        }
        // Every slot is taken (no free list, full length). Two sweeps at most: the first
        // clears every referenced bit it passes, so the second finds a victim.
        let len = self.slots.len();
        for _ in 0..2 * len {
            let i = self.hand % len;
            self.hand = (i + 1) % len;
            let evict = match self.slots.get(i).and_then(Option::as_ref) {
                None => true,
                Some(slot) => {
                    slot.dies_at <= now || !slot.referenced.swap(false, Ordering::Relaxed)
                }
            };
            if evict {
                self.remove_at(i);
                return self.free.pop().unwrap_or(i);
            }
        }
        let i = self.hand % len;
        self.remove_at(i);
        self.free.pop().unwrap_or(i)
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens, each kept at most `ttl` (and never past its
    /// `exp`). The HMAC key is drawn from the system random number generator.
    ///
    /// A capacity or TTL of zero is refused (`ConfigError::InvalidDuration`), as is a
    /// failing random number generator (`ConfigError::Randomness`).
    pub fn new(capacity: usize, ttl: Duration) -> Result<Self, ConfigError> {
        if capacity == 0 {
            return Err(ConfigError::InvalidDuration("token cache capacity"));
        }
        if ttl.as_secs() == 0 {
            return Err(ConfigError::InvalidDuration("token cache TTL"));
        }
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
            .map_err(|_| ConfigError::Randomness)?;
        Ok(Self {
            key,
            capacity,
            ttl: ttl.as_secs(),
            table: RwLock::new(Table::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The most tokens the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The longest an entry is kept.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl)
    }

    /// How many tokens are cached now (dead entries included until they are swept).
    pub fn len(&self) -> usize {
        self.read().index.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hits and misses so far, for metrics: `(hits, misses)`.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Drop every entry.
    pub fn clear(&self) {
        *self.write() = Table::default();
    }

    /// Drop every entry verified by the key `kid` (for example when that key is removed
    /// or revoked). Entries of a key that is gone are never served anyway; this frees
    /// their memory at once.
    pub fn flush_key(&self, kid: &str) -> usize {
        self.retain_kids(|k| k != Some(kid))
    }

    /// Keep only the entries whose verifying key's `kid` passes `keep`; how many went.
    pub(crate) fn retain_kids(&self, mut keep: impl FnMut(Option<&str>) -> bool) -> usize {
        let mut table = self.write();
        let doomed: Vec<usize> = table
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().filter(|s| !keep(s.kid.as_deref())).map(|_| i))
            .collect();
        for &i in &doomed {
            table.remove_at(i);
        }
        doomed.len()
    }

    /// The cache key of `token` verified as `kind` (one byte, so an access and a refresh
    /// verification of the same bytes never share an entry).
    pub(crate) fn digest(&self, kind: u8, token: &str) -> Digest {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(&[kind]);
        context.update(token.as_bytes());
        let mut digest = [0u8; 32];
        let tag = context.sign();
        if let Some(bytes) = tag.as_ref().get(..32) {
            digest.copy_from_slice(bytes);
        }
        digest
    }

    /// The live entry for `digest`, marked as recently used. Read lock only.
    pub(crate) fn get(&self, digest: &Digest, now: UnixTime) -> Option<Arc<dyn Any + Send + Sync>> {
        let table = self.read();
        let found = table
            .position(digest)
            .and_then(|i| table.slots.get(i))
            .and_then(Option::as_ref)
            .filter(|slot| now < slot.dies_at)
            .map(|slot| {
                slot.referenced.store(true, Ordering::Relaxed);
                slot.value.clone()
            });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Cache `value` for `digest` until min(`exp`, now + TTL).
    pub(crate) fn insert(
        &self,
        digest: Digest,
        kid: Option<&str>,
        exp: UnixTime,
        now: UnixTime,
        value: Arc<dyn Any + Send + Sync>,
    ) {
        let dies_at = exp.min(now.saturating_add(self.ttl));
        if dies_at <= now {
            return;
        }
        let mut table = self.write();
        if let Some(i) = table.position(&digest) {
            // A concurrent verification of the same token got here first.
            table.remove_at(i);
        }
        let i = table.make_room(self.capacity, now);
        let slot = Slot {
            digest,
            kid: kid.map(Box::from),
            dies_at,
            referenced: AtomicBool::new(false),
            value,
        };
        let Table { index, slots, .. } = &mut *table;
        match slots.get_mut(i) {
            Some(place) => *place = Some(slot),
            None => return,
        }
        index.insert_unique(table_hash(&digest), i, |&j| {
            slots
                .get(j)
                .and_then(Option::as_ref)
                .map_or(0, |s| table_hash(&s.digest))
        });
    }

    /// Drop the entry for `digest` (expired, revoked, or its key is gone).
    pub(crate) fn remove(&self, digest: &Digest) {
        let mut table = self.write();
        if let Some(i) = table.position(digest) {
            table.remove_at(i);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // A writer that panicked left the table consistent (each change is one call); at
        // worst an entry is missing, which only costs a full verification.
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(n: u32) -> Arc<dyn Any + Send + Sync> {
        Arc::new(n)
    }

    fn get(cache: &TokenCache, token: &str, now: UnixTime) -> Option<u32> {
        let v = cache.get(&cache.digest(0, token), now)?;
        v.downcast_ref::<u32>().copied()
    }

    #[test]
    fn digests_are_keyed_per_cache_and_per_kind() {
        let a = TokenCache::new(4, Duration::from_secs(60)).unwrap();
        let b = TokenCache::new(4, Duration::from_secs(60)).unwrap();
        assert_ne!(a.digest(0, "t"), b.digest(0, "t"));
        assert_ne!(a.digest(0, "t"), a.digest(1, "t"));
        assert_eq!(a.digest(0, "t"), a.digest(0, "t"));
    }

    #[test]
    fn entries_die_at_exp_or_after_the_ttl_whichever_is_first() {
        let cache = TokenCache::new(4, Duration::from_secs(60)).unwrap();
        cache.insert(cache.digest(0, "short"), None, 1_030, 1_000, value(1));
        cache.insert(cache.digest(0, "long"), None, 5_000, 1_000, value(2));
        assert_eq!(get(&cache, "short", 1_029), Some(1));
        assert_eq!(get(&cache, "short", 1_030), None);
        assert_eq!(get(&cache, "long", 1_059), Some(2));
        assert_eq!(get(&cache, "long", 1_060), None);
        // Already dead: not even stored.
        cache.insert(cache.digest(0, "dead"), None, 1_000, 1_000, value(3));
        assert_eq!(get(&cache, "dead", 999), None);
    }

    #[test]
    fn clock_keeps_recently_used_entries_and_stays_bounded() {
        let cache = TokenCache::new(3, Duration::from_secs(600)).unwrap();
        for (n, t) in [(0, "a"), (1, "b"), (2, "c")] {
            cache.insert(cache.digest(0, t), None, 9_999, 1_000, value(n));
        }
        // a and c are used; b is not, so b is the one to go.
        assert!(get(&cache, "a", 1_001).is_some());
        assert!(get(&cache, "c", 1_001).is_some());
        cache.insert(cache.digest(0, "d"), None, 9_999, 1_001, value(3));
        assert_eq!(cache.len(), 3);
        assert_eq!(get(&cache, "b", 1_002), None);
        for t in ["a", "c", "d"] {
            assert!(get(&cache, t, 1_002).is_some(), "{t}");
        }
        for i in 0..100 {
            cache.insert(
                cache.digest(0, &format!("x{i}")),
                None,
                9_999,
                1_002,
                value(i),
            );
            assert!(cache.len() <= 3);
        }
    }

    #[test]
    fn flush_key_drops_only_that_keys_entries() {
        let cache = TokenCache::new(8, Duration::from_secs(600)).unwrap();
        cache.insert(cache.digest(0, "a"), Some("k1"), 9_999, 1_000, value(1));
        cache.insert(cache.digest(0, "b"), Some("k2"), 9_999, 1_000, value(2));
        cache.insert(cache.digest(0, "c"), None, 9_999, 1_000, value(3));
        assert_eq!(cache.flush_key("k1"), 1);
        assert_eq!(get(&cache, "a", 1_000), None);
        assert_eq!(get(&cache, "b", 1_000), Some(2));
        assert_eq!(get(&cache, "c", 1_000), Some(3));
        cache.remove(&cache.digest(0, "b"));
        assert_eq!(get(&cache, "b", 1_000), None);
        // Freed slots are reused.
        cache.insert(cache.digest(0, "e"), None, 9_999, 1_000, value(5));
        assert_eq!(get(&cache, "e", 1_000), Some(5));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn zero_capacity_or_ttl_is_refused() {
        assert!(TokenCache::new(0, Duration::from_secs(1)).is_err());
        assert!(TokenCache::new(1, Duration::from_millis(999)).is_err());
    }
}
