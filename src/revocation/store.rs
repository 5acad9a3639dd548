//! The store trait: the atomic operations session logic needs, and nothing it could get
//! wrong with check-then-act.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::client_info::ClientInfo;
use super::list::{RevocationView, SubjectCutoff, ViewHealth};
use crate::clock::UnixTime;

/// A boxed, `Send` future: what [`SessionStore`] methods return, so the trait stays
/// object-safe (`Arc<dyn SessionStore>`) and a store may do network I/O (Redis) while
/// in-process stores answer immediately.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store could not do what was asked. Session operations fail closed on these.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing service is unreachable or timed out; retrying later may work.
    Unavailable(String),
    /// Another process holds the store (the durable file is locked).
    Locked(String),
    /// Reading or writing durable state failed.
    Io(String),
    /// Durable state is corrupt beyond a torn last record, or a shared store answered
    /// something it could not have written.
    Corrupt(String),
    /// The store's settings are invalid (a bad URL, a contradictory option).
    Config(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "session store unavailable: {why}"),
            Self::Locked(why) => write!(f, "session store is in use by another process: {why}"),
            Self::Io(why) => write!(f, "session store I/O failed: {why}"),
            Self::Corrupt(why) => write!(f, "session store is corrupt: {why}"),
            Self::Config(why) => write!(f, "invalid session store configuration: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The already-issued successor of a rotated refresh token, kept for the grace window so
/// a retried refresh gets the byte-identical answer instead of a fork of the chain.
///
/// What a store receives here is sealed by the session manager (each token encrypted and
/// bound to its session and generation), never the tokens in clear: a store keeps the two
/// strings as opaque values and hands them back unchanged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IssuedPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The access token's lifetime in seconds, as first answered.
    pub expires_in: u64,
}

impl IssuedPair {
    /// A pair of tokens.
    pub fn new(access_token: String, refresh_token: String, expires_in: u64) -> Self {
        Self {
            access_token,
            refresh_token,
            expires_in,
        }
    }
}

impl fmt::Debug for IssuedPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The direct parent of a session's current refresh token, within its grace window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GraceRecord {
    /// The parent token's `jti`.
    pub parent_jti: String,
    /// When the parent was rotated.
    pub rotated_at: UnixTime,
    /// The grace window ends at this time (exclusive).
    pub until: UnixTime,
    /// The answer the parent got, as sealed by the session manager.
    pub successor: IssuedPair,
}

/// What a store keeps per live session: its rotation position and its clocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Session id.
    pub sid: String,
    /// Subject.
    pub sub: String,
    /// Generation of the current refresh token.
    pub gen: u64,
    /// `jti` of the current refresh token.
    pub refresh_jti: String,
    /// Login time (the absolute lifetime counts from here).
    pub created_at: UnixTime,
    /// Last login or refresh (the idle timeout counts from here).
    pub last_used_at: UnixTime,
    /// Absolute end of the session.
    pub expires_at: UnixTime,
    /// Idle timeout in seconds.
    pub idle_timeout: u64,
    /// The grace entry of the last rotation, while its window is open.
    pub grace: Option<GraceRecord>,
    /// The client of the last login or refresh that told (user agent and truncated
    /// address), for the session listing. Absent from records written before sessions
    /// kept it, which read back as [`ClientInfo::default`].
    #[serde(default, skip_serializing_if = "ClientInfo::is_empty")]
    pub client: ClientInfo,
}

impl SessionRecord {
    /// A session just logged in.
    pub fn new(
        sid: String,
        sub: String,
        refresh_jti: String,
        now: UnixTime,
        absolute_timeout: u64,
        idle_timeout: u64,
    ) -> Self {
        Self {
            sid,
            sub,
            gen: 0,
            refresh_jti,
            created_at: now,
            last_used_at: now,
            expires_at: now.saturating_add(absolute_timeout),
            idle_timeout,
            grace: None,
            client: ClientInfo::default(),
        }
    }

    /// This record, remembering `client` as the session's client.
    #[must_use]
    pub fn with_client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }

    /// Whether the session is still live at `now` (neither idle nor past its end).
    pub fn is_live_at(&self, now: UnixTime) -> bool {
        now < self.ends_at()
    }

    /// When the session stops on its own: the earlier of idle and absolute expiry.
    pub fn ends_at(&self) -> UnixTime {
        self.last_used_at
            .saturating_add(self.idle_timeout)
            .min(self.expires_at)
    }
}

/// A refresh attempt: "if `(gen, jti)` is the session's current token, make `next` current".
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConsumeRequest {
    /// Session id from the presented token.
    pub sid: String,
    /// Generation from the presented token.
    pub gen: u64,
    /// `jti` of the presented token.
    pub jti: String,
    /// The time of the attempt.
    pub now: UnixTime,
    /// `jti` of the successor refresh token.
    pub next_jti: String,
    /// The successor pair, already signed, and sealed for the store.
    pub next: IssuedPair,
    /// Grace window in seconds (0: none).
    pub grace: u64,
    /// How long to keep the session's revocation if this attempt ends it: until every
    /// access token it may have issued has expired.
    pub revoke_until: UnixTime,
    /// The client refreshing, to remember with the session if it rotates (`None`: keep
    /// what the session holds).
    pub client: Option<ClientInfo>,
}

impl ConsumeRequest {
    /// A refresh attempt.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sid: String,
        gen: u64,
        jti: String,
        now: UnixTime,
        next_jti: String,
        next: IssuedPair,
        grace: u64,
        revoke_until: UnixTime,
    ) -> Self {
        Self {
            sid,
            gen,
            jti,
            now,
            next_jti,
            next,
            grace,
            revoke_until,
            client: None,
        }
    }

    /// This attempt, remembering `client` with the session if it rotates.
    #[must_use]
    pub fn with_client(mut self, client: ClientInfo) -> Self {
        self.client = Some(client);
        self
    }
}

/// Why a session is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndReason {
    /// No refresh for longer than the idle timeout.
    IdleTimeout,
    /// Past the absolute lifetime.
    AbsoluteTimeout,
    /// A rotated refresh token was presented again.
    Reuse,
    /// Logout.
    Logout,
    /// Logout everywhere.
    LogoutAll,
    /// Explicit revocation (RFC 7009, CLI).
    Revoked,
}

impl EndReason {
    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdleTimeout => "idle_timeout",
            Self::AbsoluteTimeout => "absolute_timeout",
            Self::Reuse => "reuse",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Revoked => "revoked",
        }
    }
}

/// The result of [`SessionStore::consume_if_current`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsumeOutcome {
    /// The presented token was current; `next` is now current.
    Rotated,
    /// The presented token is the direct parent of the current one, within the grace
    /// window: here is the answer it already got.
    Grace(IssuedPair),
    /// The presented token was rotated before: the session has been ended.
    Reused,
    /// The session timed out (and has been ended now).
    Ended(EndReason),
    /// The store does not know the session (ended, never existed, or another deployment).
    Unknown,
}

/// The durable (or shared) state of sessions and revocations, as atomic operations.
///
/// Every method is one atomic step on the store: implementations must never let two
/// concurrent [`consume_if_current`](Self::consume_if_current) calls for one token both
/// see it as current. Revocations written here are visible in
/// [`revocations`](Self::revocations) before the returned future completes.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Record a new session (login).
    fn create_session(&self, record: SessionRecord) -> StoreFuture<'_, ()>;

    /// Rotate a refresh token, exactly once, or say why not (see [`ConsumeOutcome`]).
    /// Reuse and timeouts end the session and revoke its `sid` until
    /// `request.revoke_until`.
    fn consume_if_current(&self, request: ConsumeRequest) -> StoreFuture<'_, ConsumeOutcome>;

    /// End session `sid`: forget its refresh state and revoke its tokens until `until`.
    /// Returns whether the session was live.
    fn revoke_session(
        &self,
        sid: &str,
        until: UnixTime,
        reason: EndReason,
    ) -> StoreFuture<'_, bool>;

    /// Log `sub` out everywhere: end every live session of `sub` (revoking each `sid`
    /// until `until`) and record the cut-off `cutoff`. Returns the ended session ids.
    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: SubjectCutoff,
        until: UnixTime,
    ) -> StoreFuture<'_, Vec<String>>;

    /// Revoke one token by `jti` until `until`.
    fn revoke_token(&self, jti: &str, until: UnixTime) -> StoreFuture<'_, ()>;

    /// The session's record, if live.
    fn session(&self, sid: &str) -> StoreFuture<'_, Option<SessionRecord>>;

    /// Every session of `sub` that is live at `now` (not ended, not timed out), read in
    /// one atomic step, in no particular order. What a "your sessions" page shows; a
    /// shared store also drops index entries of sessions that expired on their own.
    fn list_sessions(&self, sub: &str, now: UnixTime) -> StoreFuture<'_, Vec<SessionRecord>>;

    /// Drop expired sessions and revocations (and compact durable state if useful).
    fn prune(&self, now: UnixTime) -> StoreFuture<'_, PruneReport>;

    /// The synchronous view verifiers consult (kept in memory by every store).
    fn revocations(&self) -> Arc<dyn RevocationView>;

    /// Whether the store can serve requests now: the readiness check of a server
    /// (`GET /readyz`). The default judges by the health of
    /// [`revocations`](Self::revocations) (a store that is its own source of truth is
    /// always ready); a networked store asks its server, bounded by its command timeout.
    fn ping(&self) -> StoreFuture<'_, ()> {
        let result = match self.revocations().health() {
            ViewHealth::Unavailable => Err(StoreError::Unavailable(
                "the revocation view is out of date".to_owned(),
            )),
            _ => Ok(()),
        };
        Box::pin(std::future::ready(result))
    }

    /// Whether this store can serve now, for a readiness probe. In-process stores are
    /// always [`StoreReadiness::Ready`] (the default); a shared store reports when it is
    /// reconnecting or repairing a loss of its data, during which its writes fail with
    /// [`StoreError::Unavailable`].
    fn readiness(&self) -> StoreReadiness {
        StoreReadiness::Ready
    }
}

/// The answer of [`SessionStore::readiness`]: whether the node should receive traffic.
///
/// ```
/// use gatepass::{MemoryStore, SessionStore, StoreReadiness};
/// let readiness = MemoryStore::new().readiness();
/// assert_eq!(readiness, StoreReadiness::Ready);
/// assert_eq!(readiness.as_str(), "ready");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreReadiness {
    /// The store answers and this node's view of it is complete.
    Ready,
    /// The shared store does not answer, or the node is re-loading it after a reconnect:
    /// writes fail closed until the re-load is done.
    Unreachable,
    /// The shared store lost its data (it restarted empty, was flushed, or failed over to
    /// a replica without it); this node is writing back the revocations it holds before
    /// it serves writes again.
    Reseeding,
    /// The shared store lost its data, or holds revocations that nothing shows to be
    /// complete, and no node has restored them yet: this node cannot trust the store's
    /// revocations, so it rejects tokens it cannot vouch for and refuses writes until a
    /// node that held them writes them back (or an operator vouches for the store).
    DataLost,
}

impl StoreReadiness {
    /// Whether the node should receive traffic.
    pub fn is_ready(self) -> bool {
        self == Self::Ready
    }

    /// A stable snake_case name: `ready`, `store_unreachable`, `store_reseeding` or
    /// `store_data_lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Unreachable => "store_unreachable",
            Self::Reseeding => "store_reseeding",
            Self::DataLost => "store_data_lost",
        }
    }
}

impl fmt::Display for StoreReadiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ready => "ready",
            Self::Unreachable => "unready: the session store does not answer",
            Self::Reseeding => "unready: the session store lost its data; re-seeding it",
            Self::DataLost => {
                "unready: the session store lost its data and no node has restored it"
            }
        })
    }
}

/// What a prune removed and what is left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneReport {
    /// Sessions removed (timed out).
    pub sessions_removed: usize,
    /// Revocation entries removed.
    pub revocations_removed: usize,
    /// Live sessions left.
    pub sessions_live: usize,
}
