//! Login throttling: token buckets per username and per client address (IPv6 per /64),
//! spent by failed attempts, bounded in memory.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use crate::clock::{Clock, SystemClock, UnixTime};

/// One bucket's shape: `burst` attempts at once, then one more every `refill_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limit {
    /// Attempts allowed in a burst.
    pub burst: u32,
    /// Seconds to earn one attempt back.
    pub refill_secs: u64,
}

impl Limit {
    /// A limit of `burst` attempts, refilled one per `refill_secs`.
    pub fn new(burst: u32, refill_secs: u64) -> Self {
        Self {
            burst: burst.max(1),
            refill_secs: refill_secs.max(1),
        }
    }
}

/// Login throttling settings.
///
/// Defaults: 5 failed attempts per username, then one per minute (OWASP's "lock out
/// slowly, never permanently"); 20 failed attempts per client address, then one per 3
/// seconds; at most 100 000 tracked keys of each kind. Successful logins spend neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginLimits {
    /// Failed attempts per username.
    pub per_username: Limit,
    /// Failed attempts per client address (an IPv6 address counts for its whole /64).
    pub per_address: Limit,
    /// Keys tracked per kind before new keys share one strict overflow bucket.
    pub max_tracked: usize,
}

impl LoginLimits {
    /// Limits of failed attempts per username and per client address, with the default
    /// cap on tracked keys.
    ///
    /// ```
    /// use gatepass::{Limit, LoginLimits};
    /// let strict = LoginLimits::new(Limit::new(3, 300), Limit::new(10, 6));
    /// assert_eq!(strict.per_username.burst, 3);
    /// ```
    pub fn new(per_username: Limit, per_address: Limit) -> Self {
        Self {
            per_username,
            per_address,
            ..Self::default()
        }
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_username: Limit::new(5, 60),
            per_address: Limit::new(20, 3),
            max_tracked: 100_000,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    updated: UnixTime,
}

impl Bucket {
    fn refill(&mut self, limit: Limit, now: UnixTime) {
        let earned = now.saturating_sub(self.updated) / limit.refill_secs;
        if earned > 0 {
            let tokens = u64::from(self.tokens)
                .saturating_add(earned)
                .min(u64::from(limit.burst));
            self.tokens = u32::try_from(tokens).unwrap_or(limit.burst);
            self.updated = self
                .updated
                .saturating_add(earned.saturating_mul(limit.refill_secs));
        }
        if self.tokens >= limit.burst {
            self.updated = now;
        }
    }

    fn retry_after(&self, limit: Limit, now: UnixTime) -> u64 {
        self.updated
            .saturating_add(limit.refill_secs)
            .saturating_sub(now)
            .max(1)
    }
}

#[derive(Debug)]
struct Buckets<K> {
    limit: Limit,
    map: HashMap<K, Bucket>,
    overflow: Bucket,
    max: usize,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(limit: Limit, max: usize) -> Self {
        Self {
            limit,
            map: HashMap::new(),
            overflow: Bucket {
                tokens: limit.burst,
                updated: 0,
            },
            max,
        }
    }

    /// The bucket for `key`, refilled to `now`. Past capacity, full buckets are dropped
    /// first; if still full, unknown keys share the overflow bucket.
    fn bucket(&mut self, key: &K, now: UnixTime) -> &mut Bucket {
        let limit = self.limit;
        if !self.map.contains_key(key) && self.map.len() >= self.max {
            self.map.retain(|_, b| {
                b.refill(limit, now);
                b.tokens < limit.burst
            });
        }
        let bucket = if self.map.contains_key(key) || self.map.len() < self.max {
            self.map.entry(key.clone()).or_insert(Bucket {
                tokens: limit.burst,
                updated: now,
            })
        } else {
            &mut self.overflow
        };
        bucket.refill(limit, now);
        bucket
    }
}

/// Throttles login attempts. Check before verifying the password; report the outcome
/// after.
///
/// Every attempt is counted against its username and its client address while it is in
/// flight; a failure keeps both counted, a success gives the address its attempt back and
/// starts the username's count over, so logging in never leads to throttling by itself.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{LoginLimiter, LoginLimits, ManualClock};
/// let clock = Arc::new(ManualClock::new(0));
/// let limiter = LoginLimiter::new(LoginLimits::default(), clock.clone());
/// let ip = "127.0.0.1".parse().unwrap();
/// for _ in 0..5 {
///     limiter.check("alice", ip).unwrap();
///     limiter.failed("alice");
/// }
/// assert_eq!(limiter.check("alice", ip), Err(60)); // retry after 60 s
/// clock.advance(60);
/// assert!(limiter.check("alice", ip).is_ok());
/// limiter.succeeded("alice", ip); // alice's failures start over
/// ```
pub struct LoginLimiter {
    users: Mutex<Buckets<String>>,
    addresses: Mutex<Buckets<IpAddr>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginLimiter").finish_non_exhaustive()
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(LoginLimits::default(), Arc::new(SystemClock))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LoginLimiter {
    /// A limiter with these limits and clock.
    pub fn new(limits: LoginLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            users: Mutex::new(Buckets::new(limits.per_username, limits.max_tracked)),
            addresses: Mutex::new(Buckets::new(limits.per_address, limits.max_tracked)),
            clock,
        }
    }

    /// May this attempt proceed? `Err(secs)`: no, retry after that many seconds.
    ///
    /// *Reserves* one of the address's attempts, then one of the username's: the attempt
    /// counts as a failure until [`succeeded`](Self::succeeded) says otherwise, so
    /// attempts in flight at once (the password check takes tens of milliseconds) cannot
    /// all pass a bucket that has room for one. The address is checked first, so a
    /// throttled client adds no username entry (and a throttled username gives the
    /// address its attempt back); a username is tracked by at most its first 256 bytes
    /// (the longest `gatepass users add` accepts), so no request can make an entry bigger
    /// than that. IPv6 addresses are tracked per /64, the block one subscriber holds.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), u64> {
        let now = self.clock.now();
        let address = address_key(address);
        {
            let mut addresses = lock(&self.addresses);
            let limit = addresses.limit;
            let bucket = addresses.bucket(&address, now);
            if bucket.tokens == 0 {
                return Err(bucket.retry_after(limit, now));
            }
            bucket.tokens -= 1;
        }
        let refused = {
            let mut users = lock(&self.users);
            let limit = users.limit;
            let bucket = users.bucket(&tracked(username), now);
            if bucket.tokens == 0 {
                Some(bucket.retry_after(limit, now))
            } else {
                bucket.tokens -= 1;
                None
            }
        };
        match refused {
            Some(retry_after) => {
                self.refund_address(address, now);
                Err(retry_after)
            }
            None => Ok(()),
        }
    }

    /// A failed attempt for `username`. Its attempt was already reserved by
    /// [`check`](Self::check); this keeps it spent (and exists so that callers state the
    /// outcome either way).
    pub fn failed(&self, username: &str) {
        let _ = username;
    }

    /// A successful login for `username` from `address`: the username's failure count
    /// starts over, and the address gets back the attempt [`check`](Self::check)
    /// reserved.
    pub fn succeeded(&self, username: &str, address: IpAddr) {
        {
            let mut users = lock(&self.users);
            users.map.remove(tracked(username).as_str());
        }
        self.refund_address(address_key(address), self.clock.now());
    }

    /// An attempt that was never judged (the server was too busy to check the password):
    /// both attempts [`check`](Self::check) reserved are given back, and nothing else
    /// changes.
    pub fn cancelled(&self, username: &str, address: IpAddr) {
        let now = self.clock.now();
        {
            let mut users = lock(&self.users);
            let burst = users.limit.burst;
            let bucket = users.bucket(&tracked(username), now);
            bucket.tokens = bucket.tokens.saturating_add(1).min(burst);
        }
        self.refund_address(address_key(address), now);
    }

    fn refund_address(&self, key: IpAddr, now: UnixTime) {
        let mut addresses = lock(&self.addresses);
        let burst = addresses.limit.burst;
        let bucket = addresses.bucket(&key, now);
        bucket.tokens = bucket.tokens.saturating_add(1).min(burst);
    }
}

/// The key an address is tracked under: an IPv4 address (IPv4-mapped IPv6 included) as
/// itself, an IPv6 address as its /64. One IPv6 subscriber usually holds a whole /64, so
/// counting single addresses would give it 2^64 fresh buckets.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(
            u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
        )),
        v4 => v4,
    }
}

/// The key a username is tracked under: its first 256 bytes (at a character boundary).
fn tracked(username: &str) -> String {
    let mut end = username.len().min(256);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    username[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    fn limiter(limits: LoginLimits) -> (Arc<ManualClock>, LoginLimiter) {
        let clock = Arc::new(ManualClock::new(1000));
        (clock.clone(), LoginLimiter::new(limits, clock))
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn successes_do_not_count_against_the_username() {
        let (_, l) = limiter(LoginLimits::default());
        for _ in 0..10 {
            l.check("alice", ip(1)).unwrap();
            l.succeeded("alice", ip(1));
        }
    }

    #[test]
    fn addresses_are_limited_across_usernames() {
        let (clock, l) = limiter(LoginLimits::default());
        for n in 0..20 {
            l.check(&format!("user{n}"), ip(1)).unwrap();
        }
        assert_eq!(l.check("other", ip(1)), Err(3));
        assert!(l.check("other", ip(2)).is_ok());
        clock.advance(3);
        assert!(l.check("other", ip(1)).is_ok());
    }

    #[test]
    fn tracked_keys_are_bounded_by_an_overflow_bucket() {
        let limits = LoginLimits {
            max_tracked: 10,
            ..LoginLimits::default()
        };
        let (_, l) = limiter(limits);
        for n in 0..200u8 {
            let _ = l.check(&format!("user{n}"), ip(n));
        }
        assert!(lock(&l.users).map.len() <= 10);
        assert!(lock(&l.addresses).map.len() <= 10);
    }

    /// Found by review: `check` only looked at the username's bucket and `failed` spent
    /// it after the password check, so 19 concurrent guesses all passed a limit of 5.
    #[test]
    fn attempts_in_flight_are_counted_before_their_outcome_is_known() {
        let (_, l) = limiter(LoginLimits::default());
        let addresses = (1..=6).map(ip);
        let passed = addresses.filter(|a| l.check("alice", *a).is_ok()).count();
        assert_eq!(passed, 5, "five attempts, whatever their outcome");
        assert_eq!(l.check("alice", ip(7)), Err(60));
        // A success gives the username its attempts back.
        l.succeeded("alice", ip(6));
        assert!(l.check("alice", ip(8)).is_ok());
    }

    /// Found by review: a throttled address still created a username entry (with a copy
    /// of a username up to 16 KiB long), so refused requests grew memory without bound.
    #[test]
    fn throttled_addresses_add_no_username_and_usernames_are_capped() {
        let (_, l) = limiter(LoginLimits::default());
        for n in 0..20 {
            l.check(&format!("user{n}"), ip(1)).unwrap();
        }
        let before = lock(&l.users).map.len();
        for n in 0..100 {
            assert!(l.check(&format!("x{n}"), ip(1)).is_err());
        }
        assert_eq!(lock(&l.users).map.len(), before);
        let long = "é".repeat(10_000);
        l.check(&long, ip(2)).unwrap();
        assert!(lock(&l.users).map.keys().all(|k| k.len() <= 256));
        // The same long name is the same bucket, and succeeded() finds it.
        l.succeeded(&long, ip(2));
        assert_eq!(lock(&l.users).map.len(), before);
    }

    /// Found by review: every login spent an address attempt, so behind one address 20
    /// logins, however successful, locked the address out.
    #[test]
    fn successful_logins_never_lead_to_throttling() {
        let (_, l) = limiter(LoginLimits::default());
        for _ in 0..100 {
            l.check("alice", ip(1)).unwrap();
            l.succeeded("alice", ip(1));
        }
        // Failures still count against the address, across usernames.
        for n in 0..20 {
            l.check(&format!("user{n}"), ip(1)).unwrap();
            l.failed(&format!("user{n}"));
        }
        assert_eq!(l.check("alice", ip(1)), Err(3));
    }

    #[test]
    fn a_success_does_not_refund_more_than_the_burst() {
        let limits = LoginLimits::new(Limit::new(5, 60), Limit::new(2, 60));
        let (_, l) = limiter(limits);
        l.check("alice", ip(1)).unwrap();
        l.succeeded("alice", ip(1));
        l.succeeded("alice", ip(1));
        l.check("bob", ip(1)).unwrap();
        l.check("carol", ip(1)).unwrap();
        assert_eq!(l.check("dave", ip(1)), Err(60));
    }

    #[test]
    fn a_throttled_username_gives_the_address_its_attempt_back() {
        let limits = LoginLimits::new(Limit::new(1, 60), Limit::new(3, 60));
        let (_, l) = limiter(limits);
        l.check("alice", ip(1)).unwrap();
        for _ in 0..10 {
            assert_eq!(l.check("alice", ip(1)), Err(60));
        }
        l.check("bob", ip(1)).unwrap();
        l.check("carol", ip(1)).unwrap();
        assert_eq!(l.check("dave", ip(1)), Err(60));
    }

    #[test]
    fn cancelled_attempts_give_both_reservations_back() {
        let limits = LoginLimits::new(Limit::new(1, 60), Limit::new(1, 60));
        let (_, l) = limiter(limits);
        for _ in 0..10 {
            l.check("alice", ip(1)).unwrap();
            l.cancelled("alice", ip(1));
        }
        l.check("alice", ip(1)).unwrap();
        l.failed("alice");
        assert_eq!(l.check("alice", ip(2)), Err(60));
        assert_eq!(l.check("bob", ip(1)), Err(60));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let limits = LoginLimits::new(Limit::new(100, 60), Limit::new(2, 60));
        let (_, l) = limiter(limits);
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        l.check("a", v6("2001:db8:1:2::1")).unwrap();
        l.check("b", v6("2001:db8:1:2:ffff:ffff:ffff:ffff"))
            .unwrap();
        assert_eq!(l.check("c", v6("2001:db8:1:2:1234::5")), Err(60));
        // The next /64 is another client.
        assert!(l.check("d", v6("2001:db8:1:3::1")).is_ok());
        // IPv4 is per address, and an IPv4-mapped address is that IPv4 address.
        l.check("e", ip(9)).unwrap();
        l.check("f", v6("::ffff:127.0.0.9")).unwrap();
        assert_eq!(l.check("g", ip(9)), Err(60));
        assert!(l.check("h", ip(10)).is_ok());
        assert_eq!(
            address_key(v6("2001:db8:1:2:3:4:5:6")),
            v6("2001:db8:1:2::")
        );
    }
}
