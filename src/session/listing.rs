//! The session listing: what a user sees of their live sessions ([`SessionInfo`]), and
//! the opaque handle that names a session there.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::crypto::digest;
use crate::revocation::SessionRecord;

/// Domain separation: a handle is never equal to any other hash of a session id gatepass
/// computes (the log pseudonyms are keyed HMACs under another key).
const HANDLE_CONTEXT: &[u8] = b"gatepass session handle v1\0";

/// Bytes of the digest kept in a handle: 128 bits, as unguessable as a session id needs.
const HANDLE_BYTES: usize = 16;

/// The opaque handle of session `sid` of `sub`: the first 128 bits of
/// SHA-256(context ‖ len(sub) ‖ sub ‖ sid), base64url without padding (22 characters).
///
/// Derived rather than stored, so every node of a shared store, and every restart, names
/// a session alike with no new column, key or secret to distribute. It is safe to show:
/// the session id has at least 128 random bits, so the one-way hash neither reveals it
/// nor can be computed by anyone who does not already hold it. Binding the subject in
/// means a handle only ever names a session of that subject, and ending one looks it up
/// among the caller's own sessions only, so another subject's handle is simply unknown.
pub(crate) fn session_handle(sub: &str, sid: &str) -> String {
    let sub_len = u64::try_from(sub.len()).unwrap_or(u64::MAX).to_be_bytes();
    let input = [HANDLE_CONTEXT, &sub_len, sub.as_bytes(), sid.as_bytes()].concat();
    let hash = digest::sha256(&input);
    URL_SAFE_NO_PAD.encode(hash.get(..HANDLE_BYTES).unwrap_or(&hash))
}

/// One live session of a subject, as `GET /auth/sessions` shows it.
///
/// Serializes as `{"id", "created_at", "last_used_at", "expires_at", "current",
/// "user_agent", "ip"}` (times in unix seconds; `user_agent` and `ip` are `null` when the
/// login or refresh did not tell them). The session id itself is never shown: `id` is an
/// opaque handle that [`SessionManager::end_session`](crate::SessionManager::end_session)
/// accepts from the same subject only.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{
///     Algorithm, ClientInfo, GenerateOptions, Keyset, MemoryStore, RequestContext, SessionConfig,
///     SessionManager,
/// };
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let waker = std::task::Waker::noop();
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut std::task::Context::from_waker(&waker)) { return v } }
/// # }
/// let mut keyset = Keyset::new();
/// keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 0)?;
/// let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?;
/// block_on(async {
///     let laptop = ClientInfo::new(Some("Firefox"), Some("192.0.2.10".parse().unwrap()));
///     let phone = ClientInfo::new(Some("MyApp/2.1"), None);
///     let here = sessions
///         .login_with("alice", Default::default(), RequestContext::new().client(laptop))
///         .await?;
///     sessions
///         .login_with("alice", Default::default(), RequestContext::new().client(phone))
///         .await?;
///
///     let me = sessions.authenticate(&here.access_token)?;
///     let listed = sessions.list_sessions(&me).await?;
///     assert_eq!(listed.len(), 2);
///     let mine = listed.iter().find(|s| s.current).unwrap();
///     assert_eq!(mine.ip.as_deref(), Some("192.0.2.0/24"));
///
///     // End the phone's session from the laptop.
///     let phone_session = listed.iter().find(|s| !s.current).unwrap();
///     sessions.end_session(&me, &phone_session.id).await?;
///     assert_eq!(sessions.list_sessions(&me).await?.len(), 1);
///     Ok::<(), gatepass::SessionError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's opaque handle (never its session id).
    pub id: String,
    /// Login time.
    pub created_at: UnixTime,
    /// Last login or refresh.
    pub last_used_at: UnixTime,
    /// When the session ends unless refreshed: the earlier of its idle and its absolute
    /// end (a refresh moves the idle end, never the absolute one).
    pub expires_at: UnixTime,
    /// Whether this is the session of the token that asked.
    pub current: bool,
    /// The user agent of the last login or refresh, at most
    /// [`MAX_USER_AGENT_BYTES`](crate::MAX_USER_AGENT_BYTES).
    pub user_agent: Option<String>,
    /// The client's network at the last login or refresh: `a.b.c.0/24` or `x:y:z::/48`.
    pub ip: Option<String>,
}

impl SessionInfo {
    /// What `record` shows to its subject; `current` if it is the asking session `sid`.
    pub(crate) fn from_record(record: &SessionRecord, current_sid: Option<&str>) -> Self {
        Self {
            id: session_handle(&record.sub, &record.sid),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            expires_at: record.ends_at(),
            current: current_sid == Some(record.sid.as_str()),
            user_agent: record.client.user_agent().map(str::to_owned),
            ip: record.client.network().map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_stable_opaque_and_bound_to_the_subject() {
        let sid = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let handle = session_handle("alice", sid);
        assert_eq!(handle, session_handle("alice", sid));
        assert_eq!(handle.len(), 22);
        assert!(!handle.contains(sid) && !sid.contains(&handle));
        assert_ne!(handle, session_handle("bob", sid));
        // The length prefix keeps (sub, sid) pairs from running into each other.
        assert_ne!(session_handle("ab", "c"), session_handle("a", "bc"));
    }
}
