//! The PostgreSQL store as a DPoP replay cache: a row per proof in `dpop_replay`, written
//! by one `INSERT ... ON CONFLICT` that only takes over a dead row, so "was it new?" and
//! "remember it" are one atomic statement every node shares. Dead rows are deleted by the
//! store's `prune`.

use super::error::pg_error;
use super::rows::db;
use super::PostgresStore;
use crate::clock::UnixTime;
use crate::revocation::replay::{ReplayCache, ReplayCacheError, ReplayFuture, ReplayKey};

impl ReplayCache for PostgresStore {
    /// One row affected: a new proof (or one whose earlier row was dead); none: a replay.
    /// A proof whose `until` has passed is not stored, as
    /// [`MemoryReplayCache`](crate::MemoryReplayCache) does. When PostgreSQL does not
    /// answer, every proof is refused with [`ReplayCacheError::Unavailable`].
    fn remember(&self, key: ReplayKey, until: UnixTime, now: UnixTime) -> ReplayFuture<'_, bool> {
        if until <= now {
            return Box::pin(std::future::ready(Ok(true)));
        }
        let answer = self.spawn("dpop_replay", move |s| async move {
            let client = s.connection().await?;
            let statement = client
                .prepare_cached(&s.sql.dpop_remember)
                .await
                .map_err(|e| pg_error(&e))?;
            let key: &[u8] = key.as_bytes();
            let rows = client
                .execute(&statement, &[&key, &db(until), &db(now)])
                .await
                .map_err(|e| pg_error(&e))?;
            Ok(rows == 1)
        });
        Box::pin(async move {
            answer
                .await
                .map_err(|e| ReplayCacheError::Unavailable(e.to_string()))
        })
    }
}
