//! The shared store on PostgreSQL (feature `postgres`): sessions and revocations in two
//! tables, every decision one transaction (the rotation under the session row's lock),
//! and on each node the same local mirror of the revocations as the Redis store, fed by
//! `LISTEN/NOTIFY`.
//!
//! - `schema.rs`: tables, migrations, statements; `rows.rs`: rows to store types.
//! - `sync.rs`: listen, load, heartbeat, reconnect with backoff (the mirror itself is
//!   `../mirror.rs`, shared with the Redis store).
//! - `tls.rs`: `sslmode=require` through rustls on ring.

mod options;
mod rows;
mod schema;
mod sync;
mod tls;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode};

pub use options::PostgresOptions;

use self::rows::db;
use self::schema::Sql;
use self::sync::Feed;
use self::tls::MakeRustls;
use super::list::{RevocationList, RevocationView, SubjectCutoff, ViewHealth};
use super::mirror::{Event, Mirror};
use super::store::{
    ConsumeOutcome, ConsumeRequest, EndReason, PruneReport, SessionRecord, SessionStore,
    StoreError, StoreFuture,
};
use super::table::{decide, Change};
use crate::clock::UnixTime;

const TARGET: &str = "gatepass::postgres";

/// Sessions and revocations in PostgreSQL, shared by every node of a deployment
/// (`--store postgres://USER[:PASSWORD]@HOST:PORT/DB`, `postgresql://` too, with
/// `?sslmode=require` for TLS).
///
/// - **Atomic**: a refresh is one transaction that locks the session's row
///   (`SELECT … FOR UPDATE`), decides with the same state machine as the in-process
///   stores, and writes; so of N nodes refreshing one token at once exactly one rotates
///   it, and a reuse ends the session everywhere.
/// - **No database hop on verify**: [`revocations`](SessionStore::revocations) is a local
///   mirror fed by `LISTEN/NOTIFY`, loaded in full at start-up and after every reconnect.
/// - **Fails closed**: when PostgreSQL is unreachable, login, refresh and logout fail with
///   [`StoreError::Unavailable`] (HTTP 503) within the command timeout; verification keeps
///   using the mirror for [`PostgresOptions::staleness_bound`], then rejects tokens with
///   [`VerifyError::RevocationsUnavailable`](crate::VerifyError::RevocationsUnavailable)
///   (or, with [`StalePolicy::FailOpen`](crate::StalePolicy::FailOpen), accepts them,
///   logging errors).
/// - **Migrates itself**: the schema is created and upgraded at start-up under an advisory
///   lock, so nodes may start together.
///
/// Its operations run on the Tokio runtime that called [`connect`](Self::connect) (so a
/// caller that drops a future does not cancel a half-done rotation), and can be awaited
/// from any executor.
///
/// ```no_run
/// use std::sync::Arc;
/// use gatepass::{Keyset, PostgresOptions, PostgresStore, SessionConfig, SessionManager};
///
/// # async fn run(keyset: Keyset) -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect(
///     "postgres://gatepass@db.internal:5432/auth?sslmode=require",
///     PostgresOptions::new(),
/// )
/// .await?;
/// let sessions = SessionManager::new(&keyset, Arc::new(store), SessionConfig::default())?;
/// let pair = sessions.login("alice", Default::default()).await?;
/// // Verified from this node's mirror of the revocations: no database round trip.
/// let verified = sessions.authenticate(&pair.access_token)?;
/// // One transaction; every node's mirror enforces it once it commits.
/// sessions.logout(&verified).await?;
/// # Ok(())
/// # }
/// ```
pub struct PostgresStore {
    shared: Arc<Shared>,
    handle: Handle,
    sync: JoinHandle<()>,
    endpoint: String,
}

/// What every operation needs; shared with the tasks they run as.
struct Shared {
    pool: Pool,
    sql: Arc<Sql>,
    mirror: Arc<Mirror>,
    options: PostgresOptions,
    /// Whether the last operation failed for want of PostgreSQL (to log transitions only).
    down: AtomicBool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("endpoint", &self.endpoint)
            .field("schema", &self.shared.options.schema)
            .field("mirror", &self.shared.mirror)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

/// A PostgreSQL failure as a store error. Lost or refused connections, timeouts, a server
/// shutting down or out of resources, serialization failures and deadlocks, refused
/// authentication and a missing database are [`StoreError::Unavailable`]: retry later.
/// Any other error the server reports (an altered table, a value out of range) means the
/// database holds what the store never wrote: [`StoreError::Corrupt`].
pub(super) fn pg_error(error: &tokio_postgres::Error) -> StoreError {
    let Some(code) = error.code() else {
        return StoreError::Unavailable(format!("PostgreSQL: {error}"));
    };
    let class = code.code().get(..2).unwrap_or("");
    let message = error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_owned());
    match class {
        "08" | "53" | "57" | "58" | "40" | "28" | "3D" | "55" => {
            StoreError::Unavailable(format!("PostgreSQL: {message} ({})", code.code()))
        }
        _ => StoreError::Corrupt(format!("PostgreSQL: {message} ({})", code.code())),
    }
}

fn pool_error(error: &PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => pg_error(e),
        PoolError::Timeout(_) => {
            StoreError::Unavailable("PostgreSQL: no connection within the timeout".into())
        }
        other => StoreError::Unavailable(format!("PostgreSQL connection pool: {other}")),
    }
}

/// `postgres://host:port/db`, never the credentials.
fn endpoint(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    let tls = if config.get_ssl_mode() == SslMode::Require {
        "?sslmode=require"
    } else {
        ""
    };
    format!("postgres://{host}:{port}/{db}{tls}")
}

/// The connection settings of `url`, with the store's timeouts.
fn config(url: &str, options: &PostgresOptions) -> Result<tokio_postgres::Config, StoreError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::Config(
            "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
        ));
    }
    // The parser's messages may quote the URL, password included: say only what is wrong.
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
        StoreError::Config(
            "invalid PostgreSQL URL (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|require])".into(),
        )
    })?;
    // Opportunistic TLS (`prefer`, the driver's default) is either unverified, so no
    // protection against an active attacker, or verified, so it breaks on the self-signed
    // certificates many servers ship with: TLS is on when asked for, and then verified.
    if config.get_ssl_mode() == SslMode::Prefer {
        config.ssl_mode(SslMode::Disable);
    }
    if config.get_application_name().is_none() {
        config.application_name("gatepass");
    }
    config.connect_timeout(options.connect_timeout);
    config.keepalives(true);
    config.keepalives_idle(std::time::Duration::from_secs(30));
    Ok(config)
}

impl PostgresStore {
    /// Connect to PostgreSQL at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, or
    /// `postgresql://`; `?sslmode=require` for TLS through rustls with the ring provider,
    /// verifying the server against the webpki roots or
    /// [`PostgresOptions::tls_root_certificates`]), create or migrate the schema, start
    /// listening for revocations and load every live one.
    ///
    /// Must run inside a Tokio runtime with I/O and time enabled (`#[tokio::main]` is);
    /// the store's work runs on that runtime from then on.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for a bad URL or options, a schema newer than this build, or
    /// outside a Tokio runtime; [`StoreError::Unavailable`] if PostgreSQL cannot be reached
    /// within the timeouts or refuses the credentials.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        options.validate()?;
        let handle = Handle::try_current().map_err(|_| {
            StoreError::Config("PostgresStore::connect must run inside a Tokio runtime".into())
        })?;
        let config = config(url, &options)?;
        let endpoint = endpoint(&config);
        let tls = MakeRustls::new(options.tls_roots.as_deref())?;
        let sql = Arc::new(Sql::new(&options.schema));

        // The schema first, on a connection of its own: its advisory lock dies with it.
        let limit = options
            .connect_timeout
            .saturating_add(options.command_timeout.saturating_mul(10));
        let migrated = tokio::time::timeout(limit, async {
            let (mut client, connection) = config
                .connect(tls.clone())
                .await
                .map_err(|e| pg_error(&e))?;
            let driver = handle.spawn(connection);
            let result =
                schema::migrate(&mut client, &options.schema, db(options.clock.now())).await;
            drop(client);
            let _ = driver.await;
            result
        })
        .await;
        match migrated {
            Ok(result) => result?,
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "preparing the schema on {endpoint} timed out"
                )))
            }
        }

        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.command_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.command_timeout))
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL connection pool: {e}")))?;

        let bound = options.staleness_bound.as_secs();
        let mirror = Arc::new(Mirror::new(options.clock.clone(), bound, options.on_stale));
        let feed = Arc::new(Feed {
            config,
            tls,
            sql: sql.clone(),
            mirror: mirror.clone(),
            timeout: options.command_timeout,
            heartbeat: options.heartbeat,
            backoff: (options.backoff_min, options.backoff_max),
        });
        let listener = feed.listen_and_load().await?;
        let sync = handle.spawn(feed.run(listener));
        tracing::info!(target: TARGET, event = "connected", endpoint = %endpoint,
            schema = %options.schema, revocations = ?mirror.list().counts(),
            "PostgreSQL session store connected; revocation mirror loaded");
        Ok(Self {
            shared: Arc::new(Shared {
                pool,
                sql,
                mirror,
                options,
                down: AtomicBool::new(false),
            }),
            handle,
            sync,
            endpoint,
        })
    }

    /// The local revocation mirror's list (for metrics and tests).
    pub fn list(&self) -> &Arc<RevocationList> {
        self.shared.mirror.list()
    }

    /// Seconds since the local mirror was last known in sync with PostgreSQL.
    pub fn mirror_lag(&self) -> u64 {
        self.shared.mirror.lag()
    }

    /// Where the store connects (`postgres://host:port/db`, without credentials).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Run `op` on the store's runtime, bounded by the command timeout; the returned
    /// future only waits for it, so dropping it does not cancel the operation.
    fn spawn<T, F>(
        &self,
        op: &'static str,
        work: impl FnOnce(Arc<Shared>) -> F,
    ) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let shared = self.shared.clone();
        let limit = shared.options.command_timeout;
        let fut = work(shared.clone());
        let task = self.handle.spawn(async move {
            let result = match tokio::time::timeout(limit, fut).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "PostgreSQL did not answer within {limit:?}"
                ))),
            };
            shared.note(op, &result);
            result
        });
        Box::pin(async move {
            task.await.map_err(|e| {
                StoreError::Unavailable(format!("the PostgreSQL store's task did not finish: {e}"))
            })?
        })
    }
}

/// A pooled connection.
type Connection = deadpool_postgres::Object;

impl Shared {
    /// Log when PostgreSQL goes away and comes back, not at every failed call.
    fn note<T>(&self, op: &'static str, result: &Result<T, StoreError>) {
        match result {
            Err(StoreError::Unavailable(error)) => {
                if !self.down.swap(true, Ordering::SeqCst) {
                    tracing::error!(target: TARGET, event = "store_unavailable", op, %error,
                        "PostgreSQL is unreachable: logins, refreshes and logouts fail closed");
                }
            }
            Err(error) => {
                tracing::error!(target: TARGET, event = "store_error", op, %error);
            }
            Ok(_) => {
                if self.down.swap(false, Ordering::SeqCst) {
                    tracing::info!(target: TARGET, event = "store_available", op, "PostgreSQL answers again");
                }
            }
        }
    }

    async fn connection(&self) -> Result<Connection, StoreError> {
        self.pool.get().await.map_err(|e| pool_error(&e))
    }

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
