//! The store operations: each one statement or one transaction, and the local mirror
//! told of every revocation this node writes as soon as it commits.

use std::sync::Arc;

use super::error::pg_error;
use super::rows::{self, db};
use super::{PostgresStore, Shared};
use crate::clock::UnixTime;
use crate::revocation::list::{RevocationView, SubjectCutoff, ViewHealth};
use crate::revocation::mirror::Event;
use crate::revocation::store::{
    ConsumeOutcome, ConsumeRequest, EndReason, PruneReport, SessionRecord, SessionStore,
    StoreError, StoreFuture,
};
use crate::revocation::table::{decide, Change};

impl Shared {
    /// Revoke `event` (a token or a session) in `client`'s transaction and notify every
    /// node; the notification goes out when the transaction commits.
    async fn revoke(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        event: &Event,
    ) -> Result<(), StoreError> {
        let (kind, id, until) = match event {
            Event::Token { jti, until } => ("t", jti, *until),
            Event::Session { sid, until } => ("s", sid, *until),
            Event::Subject { .. } => {
                return Err(StoreError::Config("not a token or session".into()))
            }
        };
        let statement = client
            .prepare_cached(&self.sql.revoke)
            .await
            .map_err(|e| pg_error(&e))?;
        client
            .execute(
                &statement,
                &[&kind, id, &db(until), &self.sql.channel, &event.message()],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(())
    }
}

impl SessionStore for PostgresStore {
    fn create_session(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        self.spawn("create_session", move |s| async move {
            let client = s.connection().await?;
            let statement = client
                .prepare_cached(&s.sql.create)
                .await
                .map_err(|e| pg_error(&e))?;
            let (parent, rotated, until, access, refresh, expires_in) =
                rows::grace_columns(record.grace.as_ref());
            client
                .execute(
                    &statement,
                    &[
                        &record.sid,
                        &record.sub,
                        &db(record.gen),
                        &record.refresh_jti,
                        &db(record.created_at),
                        &db(record.last_used_at),
                        &db(record.expires_at),
                        &db(record.idle_timeout),
                        &parent,
                        &rotated,
                        &until,
                        &access,
                        &refresh,
                        &expires_in,
                        &record.client.user_agent(),
                        &record.client.network(),
                    ],
                )
                .await
                .map_err(|e| pg_error(&e))?;
            Ok(())
        })
    }

    fn consume_if_current(&self, request: ConsumeRequest) -> StoreFuture<'_, ConsumeOutcome> {
        self.spawn("consume_if_current", move |s| async move {
            let mut client = s.connection().await?;
            let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
            let lock = tx
                .prepare_cached(&s.sql.lock_session)
                .await
                .map_err(|e| pg_error(&e))?;
            // Held until commit: a concurrent attempt waits here, then sees our write.
            let row = tx
                .query_opt(&lock, &[&request.sid])
                .await
                .map_err(|e| pg_error(&e))?;
            let record = row
                .map(|row| rows::record(&request.sid, &row))
                .transpose()?;
            let (outcome, change) = decide(record.as_ref(), &request);
            let mut ended = None;
            match change {
                Change::None => {}
                Change::Updated(next) => {
                    let rotate = tx
                        .prepare_cached(&s.sql.rotate)
                        .await
                        .map_err(|e| pg_error(&e))?;
                    let (parent, rotated, until, access, refresh, expires_in) =
                        rows::grace_columns(next.grace.as_ref());
                    // `next` carries the refreshing client if one was given, else the
                    // session's own (read under the row lock).
                    tx.execute(
                        &rotate,
                        &[
                            &next.sid,
                            &db(next.gen),
                            &next.refresh_jti,
                            &db(next.last_used_at),
                            &parent,
                            &rotated,
                            &until,
                            &access,
                            &refresh,
                            &expires_in,
                            &next.client.user_agent(),
                            &next.client.network(),
                        ],
                    )
                    .await
                    .map_err(|e| pg_error(&e))?;
                }
                Change::Ended { sid, .. } => {
                    let delete = tx
                        .prepare_cached(&s.sql.delete_session)
                        .await
                        .map_err(|e| pg_error(&e))?;
                    tx.execute(&delete, &[&sid])
                        .await
                        .map_err(|e| pg_error(&e))?;
                    let event = Event::Session {
                        sid,
                        until: request.revoke_until,
                    };
                    s.revoke(&tx, &event).await?;
                    ended = Some(event);
                }
            }
            tx.commit().await.map_err(|e| pg_error(&e))?;
            if let Some(event) = ended {
                s.mirror.apply(event);
            }
            Ok(outcome)
        })
    }

    fn revoke_session(
        &self,
        sid: &str,
        until: UnixTime,
        _reason: EndReason,
    ) -> StoreFuture<'_, bool> {
        let sid = sid.to_owned();
        self.spawn("revoke_session", move |s| async move {
            let client = s.connection().await?;
            let statement = client
                .prepare_cached(&s.sql.end_session)
                .await
                .map_err(|e| pg_error(&e))?;
            let message = Event::Session {
                sid: sid.clone(),
                until,
            }
            .message();
            let row = client
                .query_one(&statement, &[&sid, &db(until), &s.sql.channel, &message])
                .await
                .map_err(|e| pg_error(&e))?;
            let live: i64 = row
                .try_get("live")
                .map_err(|_| StoreError::Corrupt("unreadable logout answer".into()))?;
            s.mirror.apply(Event::Session { sid, until });
            Ok(live > 0)
        })
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: SubjectCutoff,
        until: UnixTime,
    ) -> StoreFuture<'_, Vec<String>> {
        let sub = sub.to_owned();
        self.spawn("revoke_subject", move |s| async move {
            let mut client = s.connection().await?;
            let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
            let delete = tx
                .prepare_cached(&s.sql.delete_subject)
                .await
                .map_err(|e| pg_error(&e))?;
            let mut ended = Vec::new();
            for row in tx.query(&delete, &[&sub]).await.map_err(|e| pg_error(&e))? {
                let sid: String = row
                    .try_get(0)
                    .map_err(|_| StoreError::Corrupt("unreadable session id".into()))?;
                let event = Event::Session {
                    sid: sid.clone(),
                    until,
                };
                s.revoke(&tx, &event).await?;
                ended.push(sid);
            }
            let statement = tx
                .prepare_cached(&s.sql.cutoff)
                .await
                .map_err(|e| pg_error(&e))?;
            let event = Event::Subject {
                sub: sub.clone(),
                before: cutoff.before,
                until: cutoff.until,
            };
            tx.execute(
                &statement,
                &[
                    &sub,
                    &cutoff.until.map(db),
                    &db(cutoff.before),
                    &s.sql.channel,
                    &event.message(),
                ],
            )
            .await
            .map_err(|e| pg_error(&e))?;
            tx.commit().await.map_err(|e| pg_error(&e))?;
            for sid in &ended {
                s.mirror.apply(Event::Session {
                    sid: sid.clone(),
                    until,
                });
            }
            s.mirror.apply(event);
            Ok(ended)
        })
    }

    fn revoke_token(&self, jti: &str, until: UnixTime) -> StoreFuture<'_, ()> {
        let jti = jti.to_owned();
        self.spawn("revoke_token", move |s| async move {
            let client = s.connection().await?;
            let event = Event::Token { jti, until };
            s.revoke(&client, &event).await?;
            s.mirror.apply(event);
            Ok(())
        })
    }

    fn session(&self, sid: &str) -> StoreFuture<'_, Option<SessionRecord>> {
        let sid = sid.to_owned();
        self.spawn("session", move |s| async move {
            let client = s.connection().await?;
            let statement = client
                .prepare_cached(&s.sql.select_session)
                .await
                .map_err(|e| pg_error(&e))?;
            client
                .query_opt(&statement, &[&sid])
                .await
                .map_err(|e| pg_error(&e))?
                .map(|row| rows::record(&sid, &row))
                .transpose()
        })
    }

    fn list_sessions(&self, sub: &str, now: UnixTime) -> StoreFuture<'_, Vec<SessionRecord>> {
        let sub = sub.to_owned();
        self.spawn("list_sessions", move |s| async move {
            let client = s.connection().await?;
            let statement = client
                .prepare_cached(&s.sql.list_sessions)
                .await
                .map_err(|e| pg_error(&e))?;
            let rows = client
                .query(&statement, &[&sub, &db(now)])
                .await
                .map_err(|e| pg_error(&e))?;
            rows.iter()
                .map(|row| {
                    let sid: String = row
                        .try_get("sid")
                        .map_err(|_| StoreError::Corrupt("unreadable session id".into()))?;
                    rows::record(&sid, row)
                })
                .collect()
        })
    }

    /// Delete the sessions that have ended (idle or absolute), drop grace answers whose
    /// window has closed, and delete dead revocations; then prune this node's mirror.
    /// `revocations_removed` counts the rows deleted, or this node's mirror entries if
    /// another node's prune got to the rows first.
    fn prune(&self, now: UnixTime) -> StoreFuture<'_, PruneReport> {
        self.spawn("prune", move |s| async move {
            let client = s.connection().await?;
            let now_db = db(now);
            let run = |sql: &str| {
                let client = &client;
                let sql = sql.to_owned();
                async move {
                    client
                        .execute(&sql, &[&now_db])
                        .await
                        .map_err(|e| pg_error(&e))
                }
            };
            let sessions_removed = run(&s.sql.prune_sessions).await?;
            run(&s.sql.prune_grace).await?;
            let rows_removed = run(&s.sql.prune_revocations).await?;
            // Dead DPoP replay rows (the store doubles as the replay cache).
            run(&s.sql.prune_dpop).await?;
            let live: i64 = client
                .query_one(&s.sql.count_sessions, &[])
                .await
                .map_err(|e| pg_error(&e))?
                .try_get(0)
                .map_err(|_| StoreError::Corrupt("unreadable session count".into()))?;
            let mirror_removed = s.mirror.prune(now);
            let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
            Ok(PruneReport {
                sessions_removed: count(sessions_removed),
                revocations_removed: count(rows_removed).max(mirror_removed),
                sessions_live: usize::try_from(live).unwrap_or(0),
            })
        })
    }

    fn revocations(&self) -> Arc<dyn RevocationView> {
        self.shared.mirror.clone()
    }

    /// Ready when PostgreSQL answers `SELECT 1` within the command timeout and this node's
    /// mirror is in sync (a node whose notifications are down past the staleness bound
    /// would refuse every token).
    fn ping(&self) -> StoreFuture<'_, ()> {
        self.spawn("ping", move |s| async move {
            let client = s.connection().await?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| pg_error(&e))?;
            if s.mirror.health() == ViewHealth::Unavailable {
                return Err(StoreError::Unavailable(
                    "the revocation mirror is out of sync with PostgreSQL".to_owned(),
                ));
            }
            Ok(())
        })
    }
}
