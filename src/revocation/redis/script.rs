//! The Lua scripts (in `lua/`, each prefixed with `lua/lib.lua`), run by digest with
//! `EVALSHA` and loaded on `NOSCRIPT` (after a Redis restart or failover the script cache
//! is empty). The digest is SHA-1 as Redis defines it, computed by ring.

use redis::aio::ConnectionManager;
use redis::{RedisResult, Value};

/// One script: its source and the digest Redis knows it by.
#[derive(Debug)]
pub(super) struct Script {
    source: &'static str,
    sha1: String,
}

macro_rules! script {
    ($file:literal) => {
        concat!(
            include_str!("lua/lib.lua"),
            include_str!(concat!("lua/", $file))
        )
    };
}

impl Script {
    fn new(source: &'static str) -> Self {
        let digest =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, source.as_bytes());
        let sha1 = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Self { source, sha1 }
    }

    /// Run the script atomically on the server.
    pub(super) async fn run(
        &self,
        con: &mut ConnectionManager,
        keys: &[String],
        args: &[String],
    ) -> RedisResult<Value> {
        let by_digest = redis::cmd("EVALSHA")
            .arg(&self.sha1)
            .arg(keys.len())
            .arg(keys)
            .arg(args)
            .query_async(con)
            .await;
        match by_digest {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                // EVAL runs it and caches it, so the next call finds the digest.
                redis::cmd("EVAL")
                    .arg(self.source)
                    .arg(keys.len())
                    .arg(keys)
                    .arg(args)
                    .query_async(con)
                    .await
            }
            other => other,
        }
    }
}

/// All scripts, built once per store.
#[derive(Debug)]
pub(super) struct Scripts {
    pub(super) create: Script,
    pub(super) consume: Script,
    pub(super) revoke_session: Script,
    pub(super) revoke_subject: Script,
    pub(super) revoke_token: Script,
    pub(super) list_sessions: Script,
    pub(super) prune: Script,
    pub(super) epoch: Script,
    pub(super) reseed: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            create: Script::new(script!("create.lua")),
            consume: Script::new(script!("consume.lua")),
            revoke_session: Script::new(script!("revoke_session.lua")),
            revoke_subject: Script::new(script!("revoke_subject.lua")),
            revoke_token: Script::new(script!("revoke_token.lua")),
            list_sessions: Script::new(script!("list_sessions.lua")),
            prune: Script::new(script!("prune.lua")),
            epoch: Script::new(script!("epoch.lua")),
            reseed: Script::new(script!("reseed.lua")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_redis_script_sha1_in_lowercase_hex() {
        // SHA-1("return 1"), as `SCRIPT LOAD "return 1"` answers.
        assert_eq!(
            Script::new("return 1").sha1,
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
