//! How a [`PostgresStore`](super::PostgresStore) talks to PostgreSQL and what it does when
//! it cannot.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::revocation::mirror::StalePolicy;
use crate::revocation::store::StoreError;

/// Settings of a [`PostgresStore`](super::PostgresStore). The defaults suit a few nodes
/// next to one PostgreSQL on a LAN.
///
/// ```
/// use std::time::Duration;
/// use gatepass::{PostgresOptions, StalePolicy};
/// let options = PostgresOptions::new()
///     .schema("auth_prod")
///     .staleness_bound(Duration::from_secs(10))
///     .on_stale(StalePolicy::FailClosed)
///     .pool_size(8);
/// # let _ = options;
/// ```
#[derive(Clone)]
#[must_use]
pub struct PostgresOptions {
    pub(super) schema: String,
    pub(super) staleness_bound: Duration,
    pub(super) on_stale: StalePolicy,
    pub(super) command_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) heartbeat: Duration,
    pub(super) backoff_min: Duration,
    pub(super) backoff_max: Duration,
    pub(super) pool_size: usize,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) tls_roots: Option<Vec<u8>>,
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("schema", &self.schema)
            .field("staleness_bound", &self.staleness_bound)
            .field("on_stale", &self.on_stale)
            .field("command_timeout", &self.command_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("heartbeat", &self.heartbeat)
            .field("backoff", &(self.backoff_min, self.backoff_max))
            .field("pool_size", &self.pool_size)
            .field("tls_roots", &self.tls_roots.as_ref().map(|_| "custom"))
            .finish_non_exhaustive()
    }
}

/// The default schema.
const DEFAULT_SCHEMA: &str = "gatepass";
/// The longest schema name: the notification channel `<schema>_events` must fit in
/// PostgreSQL's 63-byte identifiers.
const MAX_SCHEMA_LEN: usize = 48;

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: DEFAULT_SCHEMA.to_owned(),
            staleness_bound: Duration::from_secs(30),
            on_stale: StalePolicy::FailClosed,
            command_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            heartbeat: Duration::from_secs(1),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            pool_size: 16,
            clock: Arc::new(SystemClock),
            tls_roots: None,
        }
    }
}

impl PostgresOptions {
    /// The defaults: schema `gatepass`, staleness bound 30 s failing closed, 2 s command
    /// and connect timeouts, a 1 s heartbeat, reconnects backing off from 100 ms to 5 s, at
    /// most 16 pooled connections (plus one for the notifications).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep the tables in this schema (default `gatepass`; created if missing), and name
    /// the notification channel after it (`<schema>_events`), so several deployments can
    /// share one database. Lowercase ASCII letters, digits and `_`, not starting with a
    /// digit, at most 48 bytes.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How long verification may keep trusting the local revocation mirror after it was
    /// last known in sync with PostgreSQL (default 30 s). Past it,
    /// [`on_stale`](Self::on_stale) decides.
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

    /// How long one store operation may take, waiting for a pooled connection included,
    /// before it fails with [`StoreError::Unavailable`] (default 2 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long one connection attempt may take (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How often the notification connection is queried to prove it is alive (default
    /// 1 s); each answer marks the mirror in sync. Keep it well under the staleness bound.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// Reconnect delays of the notification connection: exponential from `min` to at most
    /// `max`, each jittered (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// At most this many pooled connections for store operations (default 16). Each node
    /// also holds one more, for `LISTEN`.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// The clock for timeouts, pruning and staleness (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// With `sslmode=require`, trust only these CA certificates (PEM) instead of the
    /// webpki roots: for a PostgreSQL behind a private CA.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots = Some(pem.into());
        self
    }

    pub(super) fn validate(&self) -> Result<(), StoreError> {
        let invalid = |why: &str| Err(StoreError::Config(why.to_owned()));
        let schema = self.schema.as_bytes();
        let valid_schema = !schema.is_empty()
            && schema.len() <= MAX_SCHEMA_LEN
            && !schema.first().is_some_and(u8::is_ascii_digit)
            && schema
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if !valid_schema {
            return invalid(
                "the PostgreSQL schema must be 1 to 48 lowercase ASCII letters, digits or '_', not starting with a digit",
            );
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
        if self.pool_size == 0 {
            return invalid("the connection pool needs at least one connection");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contradictory_settings_are_refused_before_connecting() {
        assert_eq!(PostgresOptions::new().validate(), Ok(()));
        assert_eq!(PostgresOptions::new().schema("a_1").validate(), Ok(()));
        let refused = [
            PostgresOptions::new().schema(""),
            PostgresOptions::new().schema("Upper"),
            PostgresOptions::new().schema("1st"),
            PostgresOptions::new().schema("a;drop"),
            PostgresOptions::new().schema("a\"b"),
            PostgresOptions::new().schema("x".repeat(49)),
            PostgresOptions::new().staleness_bound(Duration::from_millis(500)),
            PostgresOptions::new().heartbeat(Duration::from_secs(30)),
            PostgresOptions::new().command_timeout(Duration::ZERO),
            PostgresOptions::new().pool_size(0),
            PostgresOptions::new()
                .reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1)),
        ];
        for options in refused {
            assert!(
                matches!(options.validate(), Err(StoreError::Config(_))),
                "{options:?}"
            );
        }
    }
}
