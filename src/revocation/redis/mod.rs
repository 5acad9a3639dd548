//! The shared store for several nodes (feature `redis`): sessions and revocations in
//! Redis, every decision one Lua script (atomic on the server), and on each node a local
//! mirror of the revocations that verification reads without a round trip.
//!
//! - `keys.rs`: the key layout and TTLs; `lua/`: the scripts; `script.rs`: running them.
//! - `../mirror.rs` (shared with the PostgreSQL store): the local revocation view and its
//!   health; `sync.rs`: subscribe, load, heartbeat, reconnect with backoff; `reseed.rs`: the
//!   store's epoch, and writing back what a store that lost its data held.
//! - `reply.rs`: Redis replies to store types.

mod keys;
mod options;
mod replay;
mod reply;
mod reseed;
mod script;
mod sync;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionAddr, RedisError, Value};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

pub use options::RedisOptions;

use self::keys::{time, ttl, Keys, GRACE_MARGIN, KEY_MARGIN, MAX_TTL};
use self::script::Scripts;
use self::sync::Feed;
use super::list::{RevocationList, RevocationView, SubjectCutoff, ViewHealth};
use super::mirror::Mirror;
use super::store::{
    ConsumeOutcome, ConsumeRequest, EndReason, PruneReport, SessionRecord, SessionStore,
    StoreError, StoreFuture, StoreReadiness,
};
use crate::clock::UnixTime;

const TARGET: &str = "gatepass::redis";

/// Sessions and revocations in Redis, shared by every node of a deployment
/// (`--store redis://HOST:PORT[/DB]`, `rediss://` for TLS, `redis://USER:PASSWORD@...`
/// for AUTH).
///
/// - **Atomic**: every operation is one Lua script, so of N nodes refreshing one token at
///   once exactly one rotates it, and a reuse ends the session everywhere.
/// - **No Redis hop on verify**: [`revocations`](SessionStore::revocations) is a local
///   mirror fed by pub/sub, loaded in full at start-up and after every reconnect.
/// - **Fails closed**: when Redis is unreachable, login, refresh and logout fail with
///   [`StoreError::Unavailable`] (HTTP 503); verification keeps using the mirror for
///   [`RedisOptions::staleness_bound`], then rejects tokens with
///   [`VerifyError::RevocationsUnavailable`](crate::VerifyError::RevocationsUnavailable)
///   (or, if the operator chose [`StalePolicy::FailOpen`](crate::StalePolicy::FailOpen), accepts them, logging errors).
/// - **Survives a Redis that loses its data**: a node that finds the store's epoch gone
///   (Redis restarted empty, was flushed, failed over to a replica without it) writes back
///   every revocation its mirror holds before it serves writes again, so a node started
///   afterwards enforces them too; a node that cannot tell whether the store lost data
///   stays unready and fails closed ([`readiness`](SessionStore::readiness)).
/// - **Bounded memory**: every key but the epoch's two small ones carries a TTL matching
///   what it describes; see `docs/DEPLOYMENT.md` for the layout and the bytes per session
///   and per revocation.
///
/// Its operations run on the Tokio runtime that called [`connect`](Self::connect) (so a
/// caller that drops a future does not cancel a half-done rotation), and can be awaited
/// from any executor.
///
/// ```no_run
/// use std::sync::Arc;
/// use gatepass::{Keyset, RedisOptions, RedisStore, SessionConfig, SessionManager};
///
/// # async fn run(keyset: Keyset) -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0", RedisOptions::new()).await?;
/// let sessions = SessionManager::new(&keyset, Arc::new(store), SessionConfig::default())?;
/// let pair = sessions.login("alice", Default::default()).await?;
/// // Verified from this node's mirror of the revocations: no Redis round trip.
/// let verified = sessions.authenticate(&pair.access_token)?;
/// // One script in Redis; every node's mirror enforces it within milliseconds.
/// sessions.logout(&verified).await?;
/// # Ok(())
/// # }
/// ```
pub struct RedisStore {
    shared: Arc<Shared>,
    handle: Handle,
    sync: JoinHandle<()>,
    endpoint: String,
}

/// What every operation needs; shared with the tasks they run as.
struct Shared {
    con: ConnectionManager,
    keys: Keys,
    scripts: Arc<Scripts>,
    mirror: Arc<Mirror>,
    options: RedisOptions,
    /// Whether the last operation failed for want of Redis (to log transitions only).
    down: AtomicBool,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.shared.keys.prefix())
            .field("mirror", &self.shared.mirror)
            .finish_non_exhaustive()
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

/// A Redis failure as a store error. An answer that contradicts what the scripts write
/// (a wrong type under our prefix, an unparsable reply, a script's `CORRUPT` error) is
/// [`StoreError::Corrupt`]; a client setting Redis refuses is [`StoreError::Config`];
/// everything else — refused or dropped connections, timeouts, `LOADING`, `READONLY`
/// after a failover, authentication — is [`StoreError::Unavailable`]: retry later.
pub(super) fn store_error(error: &RedisError) -> StoreError {
    // A transaction or pipeline reports the errors of its commands.
    let contradicts = error.clone().into_server_errors().is_some_and(|errors| {
        errors
            .iter()
            .any(|(_, e)| matches!(e.code(), "WRONGTYPE" | "CORRUPT"))
    });
    match error.kind() {
        redis::ErrorKind::InvalidClientConfig => StoreError::Config(format!("Redis: {error}")),
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => {
            StoreError::Corrupt(format!("Redis: {error}"))
        }
        _ if contradicts => StoreError::Corrupt(format!("Redis: {error}")),
        _ => StoreError::Unavailable(format!("Redis: {error}")),
    }
}

/// A client for `url`, with the TLS settings of `options` for `rediss://`.
fn client(url: &str, options: &RedisOptions) -> Result<redis::Client, StoreError> {
    let config = |e: RedisError| StoreError::Config(format!("invalid Redis URL: {e}"));
    // TCP_NODELAY: redis-rs leaves Nagle on by default, and on the one multiplexed
    // connection every node shares, Nagle let one write out per ACK round trip, so
    // concurrent refreshes queued behind delayed ACKs (338 refreshes/s, p50 22 ms).
    let info = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(config)?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    let custom = options.tls_roots.is_some() || options.tls_identity.is_some();
    if !matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
        if custom {
            return Err(StoreError::Config(
                "TLS certificates were given for a URL without TLS (use rediss://)".into(),
            ));
        }
        return redis::Client::open(info).map_err(config);
    }
    // rustls builds its configuration with the process-wide provider: make sure there is
    // one, ring, unless the application installed another first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !custom {
        return redis::Client::open(info).map_err(config);
    }
    let certificates = redis::TlsCertificates {
        client_tls: options
            .tls_identity
            .as_ref()
            .map(|(cert, key)| redis::ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.to_vec(),
            }),
        root_cert: options.tls_roots.clone(),
    };
    redis::Client::build_with_tls(info, certificates)
        .map_err(|e| StoreError::Config(format!("invalid TLS settings: {e}")))
}

/// `host:port/db` with the scheme, never the credentials.
fn endpoint(client: &redis::Client) -> String {
    let info = client.get_connection_info();
    let scheme = match info.addr() {
        ConnectionAddr::TcpTls { .. } => "rediss",
        ConnectionAddr::Unix(_) => "redis+unix",
        _ => "redis",
    };
    format!("{scheme}://{}/{}", info.addr(), info.redis_settings().db())
}

impl RedisStore {
    /// Connect to Redis at `url` (`redis://[USER:PASSWORD@]HOST:PORT[/DB]`, `rediss://`
    /// for TLS through rustls with the ring provider and the system's root certificates),
    /// subscribe to the revocation channel and load every live revocation.
    ///
    /// Must run inside a Tokio runtime with I/O and time enabled (`#[tokio::main]` is);
    /// the store's work runs on that runtime from then on.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for a bad URL or options, or outside a Tokio runtime;
    /// [`StoreError::Unavailable`] if Redis cannot be reached within the timeouts.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        options.validate()?;
        let handle = Handle::try_current().map_err(|_| {
            StoreError::Config("RedisStore::connect must run inside a Tokio runtime".into())
        })?;
        let client = client(url, &options)?;
        let endpoint = endpoint(&client);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_min_delay(options.backoff_min)
            .set_max_delay(options.backoff_max)
            .set_number_of_retries(3);
        let con = match tokio::time::timeout(
            options.connect_timeout.saturating_mul(2),
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        {
            Ok(Ok(con)) => con,
            Ok(Err(e)) => return Err(store_error(&e)),
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "connecting to {endpoint} timed out"
                )))
            }
        };
        let keys = Keys::new(&options.prefix);
        let bound = options.staleness_bound.as_secs();
        let mirror = Arc::new(Mirror::new(options.clock.clone(), bound, options.on_stale));
        let scripts = Arc::new(Scripts::new());
        let feed = Arc::new(Feed {
            client,
            con: con.clone(),
            keys: keys.clone(),
            mirror: mirror.clone(),
            timeout: options.command_timeout,
            heartbeat: options.heartbeat,
            backoff: (options.backoff_min, options.backoff_max),
            scripts: scripts.clone(),
            node: reseed::new_id()?,
            epoch: Mutex::new(None),
        });
        // A node in doubt still starts (unready, failing closed) and keeps re-loading.
        let pubsub = feed.subscribe_and_load().await?;
        let sync = handle.spawn(feed.run(pubsub));
        tracing::info!(target: TARGET, event = "connected", endpoint = %endpoint,
            prefix = %keys.prefix(), revocations = ?mirror.list().counts(),
            readiness = mirror.readiness().as_str(),
            "Redis session store connected; revocation mirror loaded");
        Ok(Self {
            shared: Arc::new(Shared {
                con,
                keys,
                scripts,
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

    /// Seconds since the local mirror was last known in sync with Redis.
    pub fn mirror_lag(&self) -> u64 {
        self.shared.mirror.lag()
    }

    /// Where the store connects (`redis://host:port/db`, without credentials).
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
        // Writes wait until this node has re-loaded the store and checked its epoch (and
        // written back what a store that lost its data held): never into a store this
        // node has not vouched for.
        if let Some(why) = shared.mirror.phase().blocks_writes() {
            return Box::pin(std::future::ready(Err(StoreError::Unavailable(why.into()))));
        }
        let limit = shared.options.command_timeout;
        let fut = work(shared.clone());
        let task = self.handle.spawn(async move {
            let result = match tokio::time::timeout(limit, fut).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "Redis did not answer within {limit:?}"
                ))),
            };
            shared.note(op, &result);
            result
        });
        Box::pin(async move {
            task.await.map_err(|e| {
                StoreError::Unavailable(format!("the Redis store's task did not finish: {e}"))
            })?
        })
    }
}

impl Shared {
    fn now(&self) -> UnixTime {
        self.options.clock.now()
    }

    /// Log when Redis goes away and comes back, not at every failed call.
    fn note<T>(&self, op: &'static str, result: &Result<T, StoreError>) {
        match result {
            Err(StoreError::Unavailable(error)) => {
                if !self.down.swap(true, Ordering::SeqCst) {
                    tracing::error!(target: TARGET, event = "store_unavailable", op, %error,
                        "Redis is unreachable: logins, refreshes and logouts fail closed");
                }
            }
            Err(error) => {
                tracing::error!(target: TARGET, event = "store_error", op, %error);
            }
            Ok(_) => {
                if self.down.swap(false, Ordering::SeqCst) {
                    tracing::info!(target: TARGET, event = "store_available", op, "Redis answers again");
                }
            }
        }
    }

    async fn run(
        &self,
        script: &script::Script,
        keys: &[String],
        args: &[String],
    ) -> Result<Value, StoreError> {
        let mut con = self.con.clone();
        script
            .run(&mut con, keys, args)
            .await
            .map_err(|e| store_error(&e))
    }

    /// TTL of a revocation kept until `until`, as of now.
    fn revocation_ttl(&self, until: UnixTime) -> String {
        ttl(until.saturating_sub(self.now()))
    }
}

impl SessionStore for RedisStore {
    fn create_session(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        self.spawn("create_session", move |s| async move {
            let keys = [
                s.keys.session(&record.sid),
                s.keys.grace(&record.sid),
                s.keys.subject(&record.sub),
            ];
            let lived = record.last_used_at;
            let mut args = vec![
                record.sid.clone(),
                record.sub.clone(),
                record.gen.to_string(),
                record.refresh_jti.clone(),
                time(record.created_at),
                time(record.last_used_at),
                time(record.expires_at),
                time(record.idle_timeout),
                ttl(record
                    .ends_at()
                    .saturating_sub(lived)
                    .saturating_add(KEY_MARGIN)),
                record.client.user_agent().unwrap_or_default().to_owned(),
                record.client.network().unwrap_or_default().to_owned(),
            ];
            if let Some(grace) = &record.grace {
                args.extend([
                    grace.parent_jti.clone(),
                    time(grace.rotated_at),
                    time(grace.until),
                    grace.successor.access_token.clone(),
                    grace.successor.refresh_token.clone(),
                    grace.successor.expires_in.to_string(),
                    ttl(grace
                        .until
                        .saturating_sub(lived)
                        .saturating_add(GRACE_MARGIN)),
                ]);
            }
            s.run(&s.scripts.create, &keys, &args).await.map(drop)
        })
    }

    fn consume_if_current(&self, request: ConsumeRequest) -> StoreFuture<'_, ConsumeOutcome> {
        self.spawn("consume_if_current", move |s| async move {
            let r = &request;
            let keys = [
                s.keys.session(&r.sid),
                s.keys.grace(&r.sid),
                s.keys.revoked_sessions(),
            ];
            let (client_given, user_agent, network) = match &r.client {
                Some(client) => (
                    "1",
                    client.user_agent().unwrap_or_default(),
                    client.network().unwrap_or_default(),
                ),
                None => ("0", "", ""),
            };
            let args = [
                r.sid.clone(),
                r.gen.to_string(),
                r.gen.saturating_add(1).to_string(),
                r.jti.clone(),
                time(r.now),
                r.gen.saturating_add(1).to_string(),
                r.next_jti.clone(),
                r.grace.to_string(),
                time(r.now.saturating_add(r.grace)),
                ttl(r.grace.saturating_add(GRACE_MARGIN)),
                r.next.access_token.clone(),
                r.next.refresh_token.clone(),
                r.next.expires_in.to_string(),
                time(r.revoke_until),
                ttl(r.revoke_until.saturating_sub(r.now)),
                KEY_MARGIN.to_string(),
                MAX_TTL.to_string(),
                s.keys.channel(),
                s.keys.subject_prefix(),
                client_given.to_owned(),
                user_agent.to_owned(),
                network.to_owned(),
            ];
            let outcome = reply::consume_outcome(s.run(&s.scripts.consume, &keys, &args).await?)?;
            if matches!(outcome, ConsumeOutcome::Reused | ConsumeOutcome::Ended(_)) {
                s.mirror.list().revoke_session(&r.sid, r.revoke_until);
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
            let keys = [
                s.keys.session(&sid),
                s.keys.grace(&sid),
                s.keys.revoked_sessions(),
            ];
            let args = [
                sid.clone(),
                time(until),
                s.revocation_ttl(until),
                time(s.now()),
                s.keys.channel(),
                s.keys.subject_prefix(),
            ];
            let live = s.run(&s.scripts.revoke_session, &keys, &args).await?;
            s.mirror.list().revoke_session(&sid, until);
            Ok(live == Value::Int(1))
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
            let keys = [
                s.keys.subject(&sub),
                s.keys.revoked_sessions(),
                s.keys.cutoffs(),
                s.keys.cutoff_befores(),
            ];
            let (cutoff_until, cutoff_ttl) = match cutoff.until {
                Some(t) => (time(t), s.revocation_ttl(t)),
                None => ("+inf".to_owned(), ttl(MAX_TTL)),
            };
            let args = [
                sub.clone(),
                time(cutoff.before),
                cutoff_until,
                cutoff_ttl,
                time(until),
                s.revocation_ttl(until),
                time(s.now()),
                s.keys.channel(),
                s.keys.session_prefix(),
                s.keys.grace_prefix(),
            ];
            let ended = reply::strings(s.run(&s.scripts.revoke_subject, &keys, &args).await?)?;
            let list = s.mirror.list();
            for sid in &ended {
                list.revoke_session(sid, until);
            }
            list.revoke_subject(&sub, cutoff.before, cutoff.until);
            Ok(ended)
        })
    }

    fn revoke_token(&self, jti: &str, until: UnixTime) -> StoreFuture<'_, ()> {
        let jti = jti.to_owned();
        self.spawn("revoke_token", move |s| async move {
            let keys = [s.keys.revoked_tokens()];
            let args = [
                jti.clone(),
                time(until),
                s.revocation_ttl(until),
                time(s.now()),
                s.keys.channel(),
            ];
            s.run(&s.scripts.revoke_token, &keys, &args).await?;
            s.mirror.list().revoke_token(&jti, until);
            Ok(())
        })
    }

    fn session(&self, sid: &str) -> StoreFuture<'_, Option<SessionRecord>> {
        let sid = sid.to_owned();
        self.spawn("session", move |s| async move {
            let mut con = s.con.clone();
            let (session, grace): (Value, Value) = redis::pipe()
                .atomic()
                .cmd("HGETALL")
                .arg(s.keys.session(&sid))
                .cmd("HGETALL")
                .arg(s.keys.grace(&sid))
                .query_async(&mut con)
                .await
                .map_err(|e| store_error(&e))?;
            reply::session_record(&sid, session, grace)
        })
    }

    fn list_sessions(&self, sub: &str, now: UnixTime) -> StoreFuture<'_, Vec<SessionRecord>> {
        let sub = sub.to_owned();
        self.spawn("list_sessions", move |s| async move {
            let keys = [s.keys.subject(&sub)];
            let args = [time(now), s.keys.session_prefix(), s.keys.grace_prefix()];
            reply::session_records(s.run(&s.scripts.list_sessions, &keys, &args).await?)
        })
    }

    /// Trim dead revocations in Redis and in this node's mirror. Redis expires sessions by
    /// itself, so the report's session counts are 0 (counting them would scan the
    /// keyspace); `revocations_removed` counts this node's mirror.
    fn prune(&self, now: UnixTime) -> StoreFuture<'_, PruneReport> {
        self.spawn("prune", move |s| async move {
            let keys = [
                s.keys.revoked_tokens(),
                s.keys.revoked_sessions(),
                s.keys.cutoffs(),
                s.keys.cutoff_befores(),
            ];
            s.run(&s.scripts.prune, &keys, &[time(now)]).await?;
            Ok(PruneReport {
                sessions_removed: 0,
                revocations_removed: s.mirror.prune(now),
                sessions_live: 0,
            })
        })
    }

    fn revocations(&self) -> Arc<dyn RevocationView> {
        self.shared.mirror.clone()
    }

    /// Ready when Redis answers a `PING` within the command timeout and this node's
    /// mirror is in sync (a node whose subscription is down past the staleness bound
    /// would refuse every token).
    fn ping(&self) -> StoreFuture<'_, ()> {
        self.spawn("ping", move |s| async move {
            let mut con = s.con.clone();
            let _: Value = redis::cmd("PING")
                .query_async(&mut con)
                .await
                .map_err(|e| store_error(&e))?;
            if s.mirror.health() == ViewHealth::Unavailable {
                return Err(StoreError::Unavailable(
                    "the revocation mirror is out of sync with Redis".to_owned(),
                ));
            }
            Ok(())
        })
    }

    /// Unready while reconnecting, while writing back what a store that lost its data
    /// held, and while in doubt whether it lost data that no node has restored.
    fn readiness(&self) -> StoreReadiness {
        self.shared.mirror.readiness()
    }
}
