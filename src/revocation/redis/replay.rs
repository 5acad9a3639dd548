//! The Redis store as a DPoP replay cache: one key per proof, `P dpop:<hex>`, set with
//! `SET ... NX PXAT <until ms>` so that "was it new?" and "remember it" are one atomic
//! command every node shares, and Redis forgets it when the proof could no longer verify.

use super::{store_error, RedisStore};
use crate::clock::UnixTime;
use crate::revocation::replay::{ReplayCache, ReplayCacheError, ReplayFuture, ReplayKey};

/// The largest expiry sent, in milliseconds: the store's bound on every time it sends.
const MAX_UNTIL_MS: u64 = super::keys::MAX_TIME;

/// The key's 32 bytes as 64 lowercase hex digits.
fn hex(key: &ReplayKey) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(64);
    for byte in key.as_bytes() {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Until when, in Unix milliseconds, as `PXAT` takes it.
fn until_ms(until: UnixTime) -> u64 {
    until.saturating_mul(1000).min(MAX_UNTIL_MS)
}

impl ReplayCache for RedisStore {
    /// `SET P dpop:<hex key> 1 NX PXAT <until ms>`: `OK` for a new proof, nil for one
    /// already remembered. A proof whose `until` has passed is not stored (it is refused
    /// by its `iat` anyway), as [`MemoryReplayCache`](crate::MemoryReplayCache) does.
    ///
    /// Uses the store's connection and command timeout; while the store cannot be written
    /// (Redis unreachable, or this node re-checking a store that lost its data) every
    /// proof is refused with [`ReplayCacheError::Unavailable`], never accepted unchecked.
    fn remember(&self, key: ReplayKey, until: UnixTime, now: UnixTime) -> ReplayFuture<'_, bool> {
        if until <= now {
            return Box::pin(std::future::ready(Ok(true)));
        }
        let answer = self.spawn("dpop_replay", move |s| async move {
            let mut con = s.con.clone();
            let set: Option<String> = redis::cmd("SET")
                .arg(s.keys.dpop_replay(&hex(&key)))
                .arg(1)
                .arg("NX")
                .arg("PXAT")
                .arg(until_ms(until))
                .query_async(&mut con)
                .await
                .map_err(|e| store_error(&e))?;
            Ok(set.is_some())
        });
        Box::pin(async move {
            answer
                .await
                .map_err(|e| ReplayCacheError::Unavailable(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hex_and_expiries_milliseconds() {
        let key = ReplayKey::new("thumbprint", "jti");
        let hex = hex(&key);
        assert_eq!(hex.len(), 64);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(until_ms(1_700_000_065), 1_700_000_065_000);
        assert_eq!(until_ms(u64::MAX), MAX_UNTIL_MS);
    }
}
