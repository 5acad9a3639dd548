//! The key layout under the configured prefix `P` (default `gatepass:`), and TTLs.
//!
//! | key | type | holds | TTL |
//! |---|---|---|---|
//! | `P s:<sid>` | hash | `sub gen jti created last exp idle`: the rotation position and clocks; `ua ip` (optional): the client's user agent (at most 256 bytes) and network (/24 or /48) | session end + 60 s |
//! | `P g:<sid>` | hash | `parent rotated until access refresh expires_in`: the grace answer | grace window + 5 s |
//! | `P u:<sub>` | hash | the subject's session ids → absolute end (for logout-all and the session listing) | latest absolute end + 60 s |
//! | `P r:jti` | zset | revoked `jti` → prune time | latest prune time |
//! | `P r:sid` | zset | revoked `sid` → prune time | latest prune time |
//! | `P r:sub` | zset | subject → cut-off prune time (`+inf`: kept until replaced) | latest prune time |
//! | `P r:subb` | hash | subject → cut-off (`iat < before` is revoked) | as `P r:sub` |
//! | `P epoch` | string | a random id naming this life of the store | none |
//! | `P lost` | set | ids of the nodes writing back what the store lost, while they do | none |
//! | `P events` | channel | one message per revocation, for every node's mirror | — |
//! | `P dpop:<hex>` | string | a DPoP proof seen (SHA-256 of key thumbprint and `jti`) | until the proof's `iat` leaves the window |
//!
//! Revocations live in three sorted sets rather than a key each so that a node (re)loads
//! them all with three range reads, without scanning the keyspace; their dead members are
//! trimmed by every revocation write and by `prune`, and each set's own TTL removes it
//! once its last member is dead. `P epoch` and `P lost` have no TTL on purpose: their
//! absence is what tells a node that the store lost its data (see `reseed.rs`).

use crate::clock::UnixTime;

/// Extra life of session, grace and index keys past their logical end, so the scripts'
/// own clock checks (not a key vanishing a second early) decide timeouts.
pub(super) const KEY_MARGIN: u64 = 60;
/// Extra life of a grace entry past its window: shorter, since the entry holds a whole
/// token pair and most of its life would otherwise be this margin.
pub(super) const GRACE_MARGIN: u64 = 5;
/// The longest TTL set (ten years): EXPIRE needs an integer Redis accepts.
pub(super) const MAX_TTL: u64 = 10 * 365 * 86_400;
/// The largest time sent to Redis: the scripts compare times as doubles, exact below 2^53.
pub(super) const MAX_TIME: UnixTime = (1 << 53) - 1;

/// A time as sent to the scripts.
pub(super) fn time(t: UnixTime) -> String {
    t.min(MAX_TIME).to_string()
}

/// A TTL of `secs` (at least 1, at most [`MAX_TTL`]).
pub(super) fn ttl(secs: u64) -> String {
    secs.clamp(1, MAX_TTL).to_string()
}

/// The keys of one namespace.
#[derive(Clone, Debug)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}{id}", self.prefix)
    }

    pub(super) fn session(&self, sid: &str) -> String {
        self.key("s:", sid)
    }

    pub(super) fn grace(&self, sid: &str) -> String {
        self.key("g:", sid)
    }

    pub(super) fn subject(&self, sub: &str) -> String {
        self.key("u:", sub)
    }

    /// Prefixes the scripts complete with an id.
    pub(super) fn session_prefix(&self) -> String {
        self.key("s:", "")
    }

    pub(super) fn grace_prefix(&self) -> String {
        self.key("g:", "")
    }

    pub(super) fn subject_prefix(&self) -> String {
        self.key("u:", "")
    }

    pub(super) fn revoked_tokens(&self) -> String {
        self.key("r:jti", "")
    }

    pub(super) fn revoked_sessions(&self) -> String {
        self.key("r:sid", "")
    }

    pub(super) fn cutoffs(&self) -> String {
        self.key("r:sub", "")
    }

    pub(super) fn cutoff_befores(&self) -> String {
        self.key("r:subb", "")
    }

    pub(super) fn epoch(&self) -> String {
        self.key("epoch", "")
    }

    pub(super) fn lost(&self) -> String {
        self.key("lost", "")
    }

    pub(super) fn channel(&self) -> String {
        self.key("events", "")
    }

    /// A DPoP proof already seen, by the hex of its replay key.
    pub(super) fn dpop_replay(&self, hex: &str) -> String {
        self.key("dpop:", hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_prefix_directly_so_ids_cannot_collide_across_kinds() {
        let keys = Keys::new("{gp}:");
        assert_eq!(keys.session("a:b"), "{gp}:s:a:b");
        assert_eq!(keys.grace("x"), "{gp}:g:x");
        assert_eq!(keys.subject("alice"), "{gp}:u:alice");
        assert_eq!(keys.revoked_tokens(), "{gp}:r:jti");
        assert_eq!(keys.channel(), "{gp}:events");
        assert_eq!(keys.dpop_replay("ab01"), "{gp}:dpop:ab01");
    }

    #[test]
    fn times_and_ttls_are_clamped_to_what_redis_and_lua_handle_exactly() {
        assert_eq!(time(u64::MAX), "9007199254740991");
        assert_eq!(time(42), "42");
        assert_eq!(ttl(0), "1");
        assert_eq!(ttl(u64::MAX), MAX_TTL.to_string());
    }
}
