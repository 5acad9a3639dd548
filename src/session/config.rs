//! Session settings and their defaults (docs/REFERENCE.md §2), validated once.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;

/// How long sessions and their tokens live, and who they are for.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `access_ttl` | 300 s | access-token lifetime |
/// | `idle_timeout` | 30 min | a session with no refresh for this long ends |
/// | `absolute_timeout` | 12 h | a session ends this long after login, whatever happens |
/// | `refresh_ttl` | = `idle_timeout` | refresh-token lifetime (capped by the absolute end) |
/// | `grace` | 0 s | how long the direct parent of the current refresh token gets the already-issued answer |
/// | `leeway` | 0 s | clock skew allowed when verifying the server's own tokens |
/// | `issuer`, `audience` | `gatepass` | `iss` and `aud` of every token |
///
/// ```
/// use std::time::Duration;
/// use gatepass::SessionConfig;
/// let config = SessionConfig::default()
///     .idle_timeout(Duration::from_secs(600))
///     .grace(Duration::from_secs(10));
/// assert!(config.validate().is_ok());
/// assert!(SessionConfig::default().access_ttl(Duration::ZERO).validate().is_err());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of every token.
    pub audience: String,
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Inactivity limit.
    pub idle_timeout: Duration,
    /// Absolute session lifetime from login.
    pub absolute_timeout: Duration,
    /// Refresh-token lifetime; `None`: the idle timeout.
    pub refresh_ttl: Option<Duration>,
    /// Rotation grace window.
    pub grace: Duration,
    /// Leeway for verifying the server's own tokens.
    pub leeway: Duration,
    /// Key for hashing session ids in logs; `None`: a random key per process (hashes then
    /// correlate within one process only).
    pub event_key: Option<Vec<u8>>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// A verified-token cache for the session verifier: `(capacity, TTL)`; `None` (the
    /// default): no cache. See [`TokenCache`](crate::TokenCache).
    pub token_cache: Option<(usize, Duration)>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            issuer: "gatepass".into(),
            audience: "gatepass".into(),
            access_ttl: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            refresh_ttl: None,
            grace: Duration::ZERO,
            leeway: Duration::ZERO,
            event_key: None,
            clock: Arc::new(SystemClock),
            token_cache: None,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value.into();
            self
        }
    };
}

impl SessionConfig {
    setter!(
        /// Set `iss`.
        issuer: &str
    );
    setter!(
        /// Set `aud`.
        audience: &str
    );
    setter!(
        /// Set the access-token lifetime.
        access_ttl: Duration
    );
    setter!(
        /// Set the idle timeout.
        idle_timeout: Duration
    );
    setter!(
        /// Set the absolute lifetime.
        absolute_timeout: Duration
    );
    setter!(
        /// Set the refresh-token lifetime.
        refresh_ttl: Duration
    );
    setter!(
        /// Set the rotation grace window.
        grace: Duration
    );
    setter!(
        /// Set the leeway for the server's own tokens.
        leeway: Duration
    );
    setter!(
        /// Set the clock.
        clock: Arc<dyn Clock>
    );

    /// Set the key that session ids are hashed with in logs.
    #[must_use]
    pub fn event_key(mut self, key: &[u8]) -> Self {
        self.event_key = Some(key.to_vec());
        self
    }

    /// Give the session verifier a verified-token cache of `capacity` tokens kept at
    /// most `ttl` each (see [`TokenCache`](crate::TokenCache); off by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use gatepass::SessionConfig;
    /// let config = SessionConfig::default().token_cache(10_000, Duration::from_secs(60));
    /// assert_eq!(config.token_cache, Some((10_000, Duration::from_secs(60))));
    /// ```
    #[must_use]
    pub fn token_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.token_cache = Some((capacity, ttl));
        self
    }

    /// The effective refresh-token lifetime in seconds.
    pub fn refresh_ttl_secs(&self) -> u64 {
        self.refresh_ttl.unwrap_or(self.idle_timeout).as_secs()
    }

    /// Refuse settings that make no sense or weaken the session.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let secs = |d: Duration| d.as_secs();
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(ConfigError::EmptyIssuerOrAudience);
        }
        if secs(self.access_ttl) == 0 {
            return Err(ConfigError::InvalidDuration(
                "access TTL: it must be at least 1 s",
            ));
        }
        if secs(self.idle_timeout) == 0
            || secs(self.absolute_timeout) == 0
            || self.refresh_ttl_secs() == 0
        {
            return Err(ConfigError::InvalidDuration(
                "timeout: timeouts must be at least 1 s",
            ));
        }
        if self.idle_timeout > self.absolute_timeout {
            return Err(ConfigError::InvalidDuration(
                "idle timeout: it cannot exceed the absolute session lifetime",
            ));
        }
        if self.grace >= self.idle_timeout {
            return Err(ConfigError::InvalidDuration(
                "grace: it must be shorter than the idle timeout",
            ));
        }
        crate::token::check_leeway(self.leeway)?;
        // Every time must stay in the JSON-safe integer range for centuries to come.
        let max = Duration::from_secs(100 * 365 * 24 * 3600);
        if [self.access_ttl, self.idle_timeout, self.absolute_timeout]
            .iter()
            .any(|d| *d > max)
        {
            return Err(ConfigError::InvalidDuration("duration: at most 100 years"));
        }
        Ok(())
    }
}
