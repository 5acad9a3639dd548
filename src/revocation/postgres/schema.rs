//! The tables, their versioned migrations (embedded in the binary, applied at start-up
//! under an advisory lock so that nodes starting together do not race), and every
//! statement the store sends, built once for the configured schema.
//!
//! | table | holds |
//! |---|---|
//! | `sessions` | one row per live session: rotation position, clocks, the grace answer, the client (`user_agent`, at most 256 bytes, and `client_network`, a /24 or /48; version 2); `ends_at` (generated: the earlier of idle and absolute end) is indexed for pruning, `sub` for logout-all and the session listing |
//! | `revocations` | `kind` `t` (jti), `s` (sid) or `u` (subject cut-off, with `before`), `id`, and the prune time `until` (indexed; `NULL`: a cut-off kept until replaced) |
//! | `dpop_replay` | (version 3) one row per DPoP proof seen: `key` (SHA-256 of key thumbprint and `jti`) and `until`, after which the row is dead and pruned |
//! | `schema_version` | the migrations applied, one row each |
//!
//! Every revocation write also `NOTIFY`s `<schema>_events` in the same transaction, so a
//! node's mirror hears of it exactly when it commits.

use tokio_postgres::Client;

use super::pg_error;
use crate::revocation::store::StoreError;

/// The migrations, in order; `{schema}` stands for the quoted schema name. Never edit one
/// that has shipped: add the next.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE TABLE {schema}.sessions (
    sid text PRIMARY KEY,
    sub text NOT NULL,
    gen bigint NOT NULL,
    refresh_jti text NOT NULL,
    created_at bigint NOT NULL,
    last_used_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    idle_timeout bigint NOT NULL,
    ends_at bigint GENERATED ALWAYS AS (LEAST(last_used_at + idle_timeout, expires_at)) STORED,
    grace_parent text,
    grace_rotated_at bigint,
    grace_until bigint,
    grace_access text,
    grace_refresh text,
    grace_expires_in bigint
);
CREATE INDEX sessions_sub ON {schema}.sessions (sub);
CREATE INDEX sessions_ends_at ON {schema}.sessions (ends_at);
CREATE INDEX sessions_grace_until ON {schema}.sessions (grace_until) WHERE grace_until IS NOT NULL;
CREATE TABLE {schema}.revocations (
    kind text NOT NULL CHECK (kind IN ('t', 's', 'u')),
    id text NOT NULL,
    until bigint,
    before bigint,
    PRIMARY KEY (kind, id)
);
CREATE INDEX revocations_until ON {schema}.revocations (until);
"#,
    ),
    // The client of each session, for the session listing. Nullable: rows of sessions
    // created before this version have none, and read back as "unknown".
    (
        2,
        r#"
ALTER TABLE {schema}.sessions ADD COLUMN user_agent text, ADD COLUMN client_network text;
"#,
    ),
    // The DPoP proofs seen (the replay cache shared by every node): one row each until
    // its proof could no longer be accepted anyway.
    (
        3,
        r#"
CREATE TABLE {schema}.dpop_replay (
    key bytea PRIMARY KEY,
    until bigint NOT NULL
);
CREATE INDEX dpop_replay_until ON {schema}.dpop_replay (until);
"#,
    ),
];

/// The newest schema version this build knows.
pub(super) fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// The session columns, in the order [`rows::record`](super::rows::record) reads them.
const SESSION_COLUMNS: &str = "sub, gen, refresh_jti, created_at, last_used_at, expires_at, \
    idle_timeout, grace_parent, grace_rotated_at, grace_until, grace_access, grace_refresh, \
    grace_expires_in, user_agent, client_network";

/// Every statement, for one schema.
#[derive(Debug)]
pub(super) struct Sql {
    pub(super) channel: String,
    pub(super) listen: String,
    pub(super) create: String,
    pub(super) lock_session: String,
    pub(super) select_session: String,
    /// `$1` sub, `$2` now: the subject's live sessions, with their ids.
    pub(super) list_sessions: String,
    pub(super) rotate: String,
    pub(super) delete_session: String,
    /// `$1` sid, `$2` until, `$3` channel, `$4` message: end the session and revoke its
    /// sid in one statement (one round trip, one implicit transaction); answers whether
    /// the session was live.
    pub(super) end_session: String,
    pub(super) delete_subject: String,
    /// `$1` kind, `$2` id, `$3` until, `$4` channel, `$5` message: upsert keeping the
    /// later prune time, and notify.
    pub(super) revoke: String,
    /// `$1` sub, `$2` until (NULL: for good), `$3` before, `$4` channel, `$5` message.
    pub(super) cutoff: String,
    pub(super) load: String,
    pub(super) prune_sessions: String,
    pub(super) prune_grace: String,
    pub(super) prune_revocations: String,
    pub(super) count_sessions: String,
    /// `$1` key, `$2` until, `$3` now: insert a DPoP proof, or take over a dead row of the
    /// same key; one row affected for a new proof, none for a replay.
    pub(super) dpop_remember: String,
    pub(super) prune_dpop: String,
}

impl Sql {
    /// `schema` has been validated (lowercase letters, digits, `_`): quoting it is exact.
    pub(super) fn new(schema: &str) -> Self {
        let s = format!("\"{schema}\"");
        let channel = format!("{schema}_events");
        Self {
            listen: format!("LISTEN \"{channel}\""),
            channel,
            create: format!(
                "INSERT INTO {s}.sessions (sid, {SESSION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 ON CONFLICT (sid) DO UPDATE SET sub = EXCLUDED.sub, gen = EXCLUDED.gen, \
                 refresh_jti = EXCLUDED.refresh_jti, created_at = EXCLUDED.created_at, \
                 last_used_at = EXCLUDED.last_used_at, expires_at = EXCLUDED.expires_at, \
                 idle_timeout = EXCLUDED.idle_timeout, grace_parent = EXCLUDED.grace_parent, \
                 grace_rotated_at = EXCLUDED.grace_rotated_at, grace_until = EXCLUDED.grace_until, \
                 grace_access = EXCLUDED.grace_access, grace_refresh = EXCLUDED.grace_refresh, \
                 grace_expires_in = EXCLUDED.grace_expires_in, user_agent = EXCLUDED.user_agent, \
                 client_network = EXCLUDED.client_network"
            ),
            lock_session: format!(
                "SELECT {SESSION_COLUMNS} FROM {s}.sessions WHERE sid = $1 FOR UPDATE"
            ),
            select_session: format!("SELECT {SESSION_COLUMNS} FROM {s}.sessions WHERE sid = $1"),
            list_sessions: format!(
                "SELECT sid, {SESSION_COLUMNS} FROM {s}.sessions WHERE sub = $1 AND ends_at > $2"
            ),
            rotate: format!(
                "UPDATE {s}.sessions SET gen = $2, refresh_jti = $3, last_used_at = $4, \
                 grace_parent = $5, grace_rotated_at = $6, grace_until = $7, grace_access = $8, \
                 grace_refresh = $9, grace_expires_in = $10, \
                 user_agent = $11, client_network = $12 WHERE sid = $1"
            ),
            delete_session: format!("DELETE FROM {s}.sessions WHERE sid = $1"),
            end_session: format!(
                "WITH d AS (DELETE FROM {s}.sessions WHERE sid = $1 RETURNING 1), \
                 r AS (INSERT INTO {s}.revocations AS old (kind, id, until) \
                 VALUES ('s', $1, $2) ON CONFLICT (kind, id) \
                 DO UPDATE SET until = GREATEST(old.until, EXCLUDED.until) RETURNING 1) \
                 SELECT (SELECT count(*) FROM d) AS live, \
                 (SELECT count(*) FROM (SELECT pg_notify($3, $4) FROM r) n) AS notified"
            ),
            delete_subject: format!("DELETE FROM {s}.sessions WHERE sub = $1 RETURNING sid"),
            revoke: format!(
                "WITH r AS (INSERT INTO {s}.revocations AS old (kind, id, until) \
                 VALUES ($1, $2, $3) ON CONFLICT (kind, id) \
                 DO UPDATE SET until = GREATEST(old.until, EXCLUDED.until) RETURNING 1) \
                 SELECT pg_notify($4, $5) FROM r"
            ),
            cutoff: format!(
                "WITH r AS (INSERT INTO {s}.revocations AS old (kind, id, until, before) \
                 VALUES ('u', $1, $2, $3) ON CONFLICT (kind, id) \
                 DO UPDATE SET until = CASE WHEN old.until IS NULL OR EXCLUDED.until IS NULL \
                 THEN NULL ELSE GREATEST(old.until, EXCLUDED.until) END, \
                 before = GREATEST(old.before, EXCLUDED.before) RETURNING 1) \
                 SELECT pg_notify($4, $5) FROM r"
            ),
            load: format!(
                "SELECT kind, id, until, before FROM {s}.revocations \
                 WHERE until IS NULL OR until > $1"
            ),
            prune_sessions: format!("DELETE FROM {s}.sessions WHERE ends_at <= $1"),
            prune_grace: format!(
                "UPDATE {s}.sessions SET grace_parent = NULL, grace_rotated_at = NULL, \
                 grace_until = NULL, grace_access = NULL, grace_refresh = NULL, \
                 grace_expires_in = NULL WHERE grace_until <= $1"
            ),
            prune_revocations: format!("DELETE FROM {s}.revocations WHERE until <= $1"),
            count_sessions: format!("SELECT count(*) FROM {s}.sessions"),
            dpop_remember: format!(
                "INSERT INTO {s}.dpop_replay (key, until) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET until = EXCLUDED.until \
                 WHERE {s}.dpop_replay.until <= $3"
            ),
            prune_dpop: format!("DELETE FROM {s}.dpop_replay WHERE until <= $1"),
        }
    }
}

/// Bring `schema` to the latest version, holding a session-level advisory lock keyed by
/// the schema name for the whole check (released on every path, and by PostgreSQL itself
/// if the connection drops). A database already newer than this build is refused.
pub(super) async fn migrate(client: &mut Client, schema: &str, now: i64) -> Result<(), StoreError> {
    let key = format!("gatepass migrations {schema}");
    client
        .execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&key])
        .await
        .map_err(|e| pg_error(&e))?;
    let result = migrate_locked(client, schema, now).await;
    let unlocked = client
        .execute(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
            &[&key],
        )
        .await
        .map_err(|e| pg_error(&e));
    result.and(unlocked.map(drop))
}

async fn migrate_locked(client: &mut Client, schema: &str, now: i64) -> Result<(), StoreError> {
    let s = format!("\"{schema}\"");
    // CREATE SCHEMA needs CREATE on the database even when the schema exists: ask first,
    // so a role given only its own schema can start.
    let exists = client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(|e| pg_error(&e))?
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE SCHEMA {s}"))
            .await
            .map_err(|e| pg_error(&e))?;
    }
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {s}.schema_version \
             (version integer PRIMARY KEY, applied_at bigint NOT NULL)"
        ))
        .await
        .map_err(|e| pg_error(&e))?;
    let current: Option<i32> = client
        .query_one(&format!("SELECT max(version) FROM {s}.schema_version"), &[])
        .await
        .map_err(|e| pg_error(&e))?
        .try_get(0)
        .map_err(|_| StoreError::Corrupt("unreadable schema version".into()))?;
    let current = current.unwrap_or(0);
    if current > latest_version() {
        return Err(StoreError::Config(format!(
            "the PostgreSQL schema {schema:?} is at version {current}, newer than this gatepass knows ({}): upgrade gatepass",
            latest_version()
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = client.transaction().await.map_err(|e| pg_error(&e))?;
        tx.batch_execute(&sql.replace("{schema}", &s))
            .await
            .map_err(|e| pg_error(&e))?;
        tx.execute(
            &format!("INSERT INTO {s}.schema_version (version, applied_at) VALUES ($1, $2)"),
            &[version, &now],
        )
        .await
        .map_err(|e| pg_error(&e))?;
        tx.commit().await.map_err(|e| pg_error(&e))?;
        tracing::info!(target: super::TARGET, event = "schema_migrated", schema, version,
            "PostgreSQL session store schema migrated");
    }
    Ok(())
}
