//! The shared store on PostgreSQL (feature `postgres`): sessions and revocations in two
//! tables, every decision one transaction (the rotation under the session row's lock),
//! and on each node the same local mirror of the revocations as the Redis store, fed by
//! `LISTEN/NOTIFY`.
//!
//! - `operations.rs`: the `SessionStore` operations, each one statement or transaction.
//! - `schema.rs`: tables, migrations, statements; `rows.rs`: rows to store types.
//! - `sync.rs`: listen, load, heartbeat, reconnect with backoff (the mirror itself is
//!   `../mirror.rs`, shared with the Redis store).
//! - `tls.rs`: `sslmode=require` through rustls on ring; `url.rs`: the URL and its
//!   timeouts; `error.rs`: PostgreSQL errors as store errors.

mod error;
mod operations;
mod options;
mod replay;
mod rows;
mod schema;
mod sync;
mod tls;
mod url;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

pub use options::PostgresOptions;

use self::error::{pg_error, pool_error};
use self::rows::db;
use self::schema::Sql;
use self::sync::Feed;
use self::tls::MakeRustls;
use self::url::{config, endpoint};
use super::list::RevocationList;
use super::mirror::Mirror;
use super::store::{StoreError, StoreFuture};

const TARGET: &str = "gatepass::postgres";

/// Sessions and revocations in PostgreSQL, shared by every node of a deployment
/// (`--store postgres://USER[:PASSWORD]@HOST:PORT/DB`, `postgresql://` too, with
/// `?sslmode=require` for TLS).
///
/// - **Atomic**: a refresh is one transaction that locks the session's row
///   (`SELECT … FOR UPDATE`), decides with the same state machine as the in-process
///   stores, and writes; so of N nodes refreshing one token at once exactly one rotates
///   it, and a reuse ends the session everywhere.
/// - **No database hop on verify**: [`revocations`](crate::SessionStore::revocations) is a local
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
}
