//! How a [`RedisStore`](super::RedisStore) talks to Redis and what it does when it cannot.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};

use super::super::mirror::StalePolicy;
use super::super::store::StoreError;

/// Settings of a [`RedisStore`](super::RedisStore). The defaults suit a few nodes next to
/// one Redis on a LAN.
///
/// ```
/// use std::time::Duration;
/// use gatepass::{RedisOptions, StalePolicy};
/// let options = RedisOptions::new()
///     .prefix("{auth-prod}:")
///     .staleness_bound(Duration::from_secs(10))
///     .on_stale(StalePolicy::FailClosed);
/// # let _ = options;
/// ```
#[derive(Clone)]
#[must_use]
pub struct RedisOptions {
    pub(super) prefix: String,
    pub(super) staleness_bound: Duration,
    pub(super) on_stale: StalePolicy,
    pub(super) command_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) heartbeat: Duration,
    pub(super) backoff_min: Duration,
    pub(super) backoff_max: Duration,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) tls_roots: Option<Vec<u8>>,
    pub(super) tls_identity: Option<(Vec<u8>, Zeroizing<Vec<u8>>)>,
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("prefix", &self.prefix)
            .field("staleness_bound", &self.staleness_bound)
            .field("on_stale", &self.on_stale)
            .field("command_timeout", &self.command_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("heartbeat", &self.heartbeat)
            .field("backoff", &(self.backoff_min, self.backoff_max))
            .field("tls_roots", &self.tls_roots.as_ref().map(|_| "custom"))
            .field(
                "tls_identity",
                &self.tls_identity.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The default key prefix.
pub(super) const DEFAULT_PREFIX: &str = "gatepass:";

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            staleness_bound: Duration::from_secs(30),
            on_stale: StalePolicy::FailClosed,
            command_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            heartbeat: Duration::from_secs(1),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
            tls_roots: None,
            tls_identity: None,
        }
    }
}

impl RedisOptions {
    /// The defaults: prefix `gatepass:`, staleness bound 30 s failing closed, 2 s command
    /// and connect timeouts, a 1 s heartbeat, reconnects backing off from 100 ms to 1 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Namespace every key and the pub/sub channel under `prefix` (default `gatepass:`),
    /// so several deployments can share one Redis: give them prefixes neither of which
    /// starts with the other. On Redis Cluster use a hash tag (`{gatepass}:`) so that all
    /// keys live in one slot, as the atomic scripts need.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long verification may keep trusting the local revocation mirror after it was
    /// last known in sync with Redis (default 30 s). Past it, [`on_stale`](Self::on_stale)
    /// decides.
    pub fn staleness_bound(mut self, bound: Duration) -> Self {
        self.staleness_bound = bound;
        self
    }

    /// What verification does past the staleness bound (default
    /// [`StalePolicy::FailClosed`]).
    pub fn on_stale(mut self, policy: StalePolicy) -> Self {
        self.on_stale = policy;
        self
    }

    /// How long one store operation may take before it fails with
    /// [`StoreError::Unavailable`] (default 2 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long one connection attempt may take (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How often the mirror's subscription is pinged to prove it is alive (default 1 s);
    /// each answered ping marks the mirror in sync. Keep it well under the staleness bound.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// Reconnect delays: exponential from `min` to at most `max`, each jittered (default
    /// 100 ms to 1 s: a node is back within about a second of Redis, at the cost of one
    /// connection attempt a second per node while Redis is down).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// The clock for TTLs, trimming and staleness (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Trust only these CA certificates (PEM) for `rediss://` instead of the system's
    /// roots: for a Redis behind a private CA.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots = Some(pem.into());
        self
    }

    /// Present this client certificate and private key (PEM) to a `rediss://` server that
    /// requires client authentication (`tls-auth-clients yes`). The key is zeroized on drop.
    pub fn tls_client_identity(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls_identity = Some((certificate_pem.into(), Zeroizing::new(key_pem.into())));
        self
    }

    pub(super) fn validate(&self) -> Result<(), StoreError> {
        let invalid = |why: &str| Err(StoreError::Config(why.to_owned()));
        if self.prefix.is_empty() {
            return invalid("the Redis key prefix must not be empty");
        }
        if self.staleness_bound < Duration::from_secs(1) {
            return invalid("the staleness bound must be at least one second");
        }
        if self.heartbeat.is_zero() || self.heartbeat >= self.staleness_bound {
            return invalid("the heartbeat must be positive and shorter than the staleness bound");
        }
        if self.command_timeout.is_zero() || self.connect_timeout.is_zero() {
            return invalid("timeouts must be positive");
        }
        if self.backoff_min.is_zero() || self.backoff_max < self.backoff_min {
            return invalid("the reconnect backoff needs 0 < min <= max");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contradictory_settings_are_refused_before_connecting() {
        assert_eq!(RedisOptions::new().validate(), Ok(()));
        let refused = [
            RedisOptions::new().prefix(""),
            RedisOptions::new().staleness_bound(Duration::from_millis(500)),
            RedisOptions::new().heartbeat(Duration::from_secs(30)),
            RedisOptions::new().heartbeat(Duration::ZERO),
            RedisOptions::new().command_timeout(Duration::ZERO),
            RedisOptions::new().reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1)),
        ];
        for options in refused {
            assert!(
                matches!(options.validate(), Err(StoreError::Config(_))),
                "{options:?}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_client_key() {
        let options = RedisOptions::new().tls_client_identity("CERT", "SECRET KEY");
        assert!(!format!("{options:?}").contains("SECRET"));
    }
}
