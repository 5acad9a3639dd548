//! Session events as `tracing` events (target `gatepass::session`), each naming the
//! session by a keyed hash: never the raw session id, never a token.
//!
//! | event | level | fields |
//! |---|---|---|
//! | `login` | info | `sub`, `sid_hash` |
//! | `refresh` | info | `sub`, `sid_hash`, `gen` |
//! | `reuse_detected` | warn | `sub`, `sid_hash`, `presented_gen` |
//! | `session_revoked` | info | `sid_hash`, `reason` |
//! | `logout` | info | `sub`, `sid_hash` |
//! | `logout_all` | info | `sub`, `sessions` |
//! | `timeout` | info | `sub`, `sid_hash`, `reason` (`idle_timeout` / `absolute_timeout`) |
//! | `refresh_rejected` | info | `reason` |
//! | `login_failed` | info | `username_hash` (never the raw username: people type passwords into it) |

use crate::crypto::digest::KeyedHasher;

/// Emits session events with hashed session ids.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    hasher: KeyedHasher,
}

const TARGET: &str = "gatepass::session";

impl Events {
    /// Events hashing with `key`, or with a random per-process key.
    pub(crate) fn new(key: Option<&[u8]>) -> Result<Self, crate::crypto::random::RandomFailed> {
        let hasher = match key {
            Some(key) => KeyedHasher::with_key(key),
            None => KeyedHasher::random()?,
        };
        Ok(Self { hasher })
    }

    /// The pseudonym of a session id in logs.
    pub(crate) fn sid_hash(&self, sid: &str) -> String {
        self.hasher.short_hex(sid.as_bytes())
    }

    /// A login refused for bad credentials. The attempted username is hashed like a
    /// session id: users type their password into the username field.
    #[cfg(feature = "server")]
    pub(crate) fn login_failed(&self, username: &str) {
        tracing::info!(target: TARGET, event = "login_failed", username_hash = %self.hasher.short_hex(username.as_bytes()));
    }

    pub(crate) fn login(&self, sub: &str, sid: &str) {
        tracing::info!(target: TARGET, event = "login", sub, sid_hash = %self.sid_hash(sid));
    }

    pub(crate) fn refresh(&self, sub: &str, sid: &str, gen: u64) {
        tracing::info!(target: TARGET, event = "refresh", sub, sid_hash = %self.sid_hash(sid), gen);
    }

    pub(crate) fn reuse_detected(&self, sub: &str, sid: &str, presented_gen: u64) {
        tracing::warn!(target: TARGET, event = "reuse_detected", sub, sid_hash = %self.sid_hash(sid), presented_gen,
            "a rotated refresh token was presented again; the session has been revoked");
    }

    pub(crate) fn session_revoked(&self, sid: &str, reason: &str) {
        tracing::info!(target: TARGET, event = "session_revoked", sid_hash = %self.sid_hash(sid), reason);
    }

    pub(crate) fn logout(&self, sub: &str, sid: &str) {
        tracing::info!(target: TARGET, event = "logout", sub, sid_hash = %self.sid_hash(sid));
    }

    pub(crate) fn logout_all(&self, sub: &str, sessions: usize) {
        tracing::info!(target: TARGET, event = "logout_all", sub, sessions);
    }

    pub(crate) fn timeout(&self, sub: &str, sid: &str, reason: &str) {
        tracing::info!(target: TARGET, event = "timeout", sub, sid_hash = %self.sid_hash(sid), reason);
    }

    pub(crate) fn refresh_rejected(&self, reason: &str) {
        tracing::info!(target: TARGET, event = "refresh_rejected", reason);
    }
}
