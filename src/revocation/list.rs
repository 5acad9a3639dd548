//! The in-memory revocation list every verifier reads: dead `jti`s, dead sessions and
//! per-subject cut-offs, each entry kept only as long as what it revokes can still verify.

use std::fmt;
use std::sync::RwLock;

use crate::clock::UnixTime;
use crate::error::Revoked;

/// What a verifier asks about a token whose signature and claims already checked out.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RevocationQuery<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// The token's `sid`, if it has one.
    pub sid: Option<&'a str>,
    /// The token's `sub`.
    pub sub: &'a str,
    /// The token's `iat`.
    pub iat: UnixTime,
}

impl<'a> RevocationQuery<'a> {
    /// A query for one token.
    pub fn new(jti: &'a str, sid: Option<&'a str>, sub: &'a str, iat: UnixTime) -> Self {
        Self { jti, sid, sub, iat }
    }
}

/// A synchronous, non-blocking answer to "is this token revoked?", consulted by the
/// [`Verifier`](crate::Verifier) after every other check. Implementations answer from
/// memory: the verify path never waits on a network or a disk.
pub trait RevocationView: Send + Sync + fmt::Debug {
    /// `Some(reason)` if the token is revoked.
    fn check(&self, query: &RevocationQuery<'_>) -> Option<Revoked>;

    /// Whether the answers of [`check`](Self::check) can be trusted now. A view that is
    /// its own source of truth (the in-memory list) is always [`ViewHealth::Current`],
    /// the default; a mirror of a shared store (the Redis store's) reports how far it may
    /// lag. The verifier rejects a token that `check` does not find revoked with
    /// [`VerifyError::RevocationsUnavailable`](crate::VerifyError::RevocationsUnavailable)
    /// while the view is [`ViewHealth::Unavailable`].
    fn health(&self) -> ViewHealth {
        ViewHealth::Current
    }
}

/// Whether a [`RevocationView`] can vouch for its answers.
///
/// ```
/// use gatepass::{RevocationList, RevocationView, ViewHealth};
/// // The in-memory list is the source of truth: always current.
/// assert_eq!(RevocationList::new().health(), ViewHealth::Current);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewHealth {
    /// The view is its own source of truth, or a mirror that was last known in sync with
    /// its source less than its staleness bound ago.
    Current,
    /// A mirror out of sync for longer than its staleness bound that still answers
    /// because its operator chose to fail open: revocations made elsewhere since then may
    /// be missing. Verifiers accept tokens it does not find revoked.
    Stale,
    /// A mirror out of sync for longer than its staleness bound: verifiers fail closed.
    Unavailable,
}

/// A subject's "log out everywhere" cut-off: tokens issued strictly before `before` are
/// dead. Kept until `until` (`None`: until replaced or removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubjectCutoff {
    /// Tokens with `iat < before` are revoked.
    pub before: UnixTime,
    /// When the entry may be pruned.
    pub until: Option<UnixTime>,
}

impl SubjectCutoff {
    /// A cut-off at `before`, kept until `until` (`None`: for good).
    pub fn new(before: UnixTime, until: Option<UnixTime>) -> Self {
        Self { before, until }
    }
}

/// The maps' hasher: foldhash, seeded at random per map. The ids looked up are those of
/// tokens whose signature and claims already verified, and the ids stored are random
/// (jti, sid) or the server's own subjects, so SipHash's defence against chosen-key
/// flooding buys nothing here; foldhash costs a fraction of it per lookup.
type Map<V> = hashbrown::HashMap<Box<str>, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Entries {
    /// jti → prune time.
    tokens: Map<UnixTime>,
    /// sid → prune time.
    sessions: Map<UnixTime>,
    subjects: Map<SubjectCutoff>,
}

/// Counts of live entries, for tests, metrics and capacity planning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationCounts {
    /// Revoked token ids.
    pub tokens: usize,
    /// Revoked session ids.
    pub sessions: usize,
    /// Subject cut-offs.
    pub subjects: usize,
}

/// The revocation list: three maps behind one read-write lock. Lookups take the read
/// lock only; writers are logouts and prunes.
///
/// ```
/// use gatepass::{RevocationList, RevocationQuery, RevocationView, Revoked};
/// let list = RevocationList::new();
/// list.revoke_session("sid-1", 2_000);
/// let query = RevocationQuery::new("jti-1", Some("sid-1"), "alice", 1_000);
/// assert_eq!(list.check(&query), Some(Revoked::Session));
/// list.prune(2_000); // the session's tokens have all expired by now
/// assert_eq!(list.check(&query), None);
/// ```
#[derive(Default)]
pub struct RevocationList {
    entries: RwLock<Entries>,
}

impl fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationList")
            .field("counts", &self.counts())
            .finish()
    }
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        // A poisoned lock means a writer panicked mid-update of plain maps; the maps are
        // still consistent (each insert is one call), so keep serving rather than fail open.
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Revoke one token until `until` (its `exp` plus leeway).
    pub fn revoke_token(&self, jti: &str, until: UnixTime) {
        let mut entries = self.write();
        let slot = entries.tokens.entry(Box::from(jti)).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Revoke every token of session `sid` until `until` (the last of them expires).
    pub fn revoke_session(&self, sid: &str, until: UnixTime) {
        let mut entries = self.write();
        let slot = entries.sessions.entry(Box::from(sid)).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Revoke every token of `sub` issued before `before`. A later cut-off replaces an
    /// earlier one; an earlier one never weakens a later one.
    pub fn revoke_subject(&self, sub: &str, before: UnixTime, until: Option<UnixTime>) {
        let mut entries = self.write();
        let cutoff = entries
            .subjects
            .entry(Box::from(sub))
            .or_insert(SubjectCutoff { before, until });
        if before >= cutoff.before {
            cutoff.before = before;
        }
        cutoff.until = match (cutoff.until, until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }

    /// Whether session `sid` is revoked.
    pub fn is_session_revoked(&self, sid: &str) -> bool {
        self.read().sessions.contains_key(sid)
    }

    /// The cut-off for `sub`, if any.
    pub fn subject_cutoff(&self, sub: &str) -> Option<SubjectCutoff> {
        self.read().subjects.get(sub).copied()
    }

    /// Drop every entry whose prune time is at or before `now`; returns how many went.
    pub fn prune(&self, now: UnixTime) -> usize {
        let mut entries = self.write();
        let before = entries.tokens.len() + entries.sessions.len() + entries.subjects.len();
        entries.tokens.retain(|_, until| *until > now);
        entries.sessions.retain(|_, until| *until > now);
        entries
            .subjects
            .retain(|_, c| c.until.is_none_or(|until| until > now));
        shrink(&mut entries.tokens);
        shrink(&mut entries.sessions);
        shrink(&mut entries.subjects);
        before - (entries.tokens.len() + entries.sessions.len() + entries.subjects.len())
    }

    /// How many entries of each kind are live.
    pub fn counts(&self) -> RevocationCounts {
        let entries = self.read();
        RevocationCounts {
            tokens: entries.tokens.len(),
            sessions: entries.sessions.len(),
            subjects: entries.subjects.len(),
        }
    }

    /// Every entry, for snapshots (journal compaction, Redis re-sync).
    pub fn snapshot(&self) -> RevocationSnapshot {
        let entries = self.read();
        RevocationSnapshot {
            tokens: entries
                .tokens
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            sessions: entries
                .sessions
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            subjects: entries
                .subjects
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }

    /// Replace every entry with `snapshot` (a full re-sync).
    pub fn replace(&self, snapshot: RevocationSnapshot) {
        let mut entries = self.write();
        entries.tokens = snapshot.tokens.into_iter().map(boxed).collect();
        entries.sessions = snapshot.sessions.into_iter().map(boxed).collect();
        entries.subjects = snapshot.subjects.into_iter().map(boxed).collect();
    }
}

/// Maps smaller than this are never shrunk: not worth a rehash.
const MIN_SHRINK_CAPACITY: usize = 1024;

/// Give back most of a map's slots once it is under a quarter full (a large prune), so
/// memory follows the live entries; room for twice what is left keeps a list that refills
/// from rehashing at every prune.
fn shrink<V>(map: &mut Map<V>) {
    if map.capacity() > MIN_SHRINK_CAPACITY && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len().saturating_mul(2));
    }
}

fn boxed<V>((key, value): (String, V)) -> (Box<str>, V) {
    (key.into_boxed_str(), value)
}

/// All entries of a [`RevocationList`] at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationSnapshot {
    /// (jti, prune time)
    pub tokens: Vec<(String, UnixTime)>,
    /// (sid, prune time)
    pub sessions: Vec<(String, UnixTime)>,
    /// (sub, cut-off)
    pub subjects: Vec<(String, SubjectCutoff)>,
}

impl RevocationView for RevocationList {
    fn check(&self, query: &RevocationQuery<'_>) -> Option<Revoked> {
        let entries = self.read();
        // An empty map is answered without hashing: most deployments revoke sessions and
        // rarely single tokens or whole subjects.
        if !entries.tokens.is_empty() && entries.tokens.contains_key(query.jti) {
            return Some(Revoked::Token);
        }
        if !entries.sessions.is_empty()
            && query
                .sid
                .is_some_and(|sid| entries.sessions.contains_key(sid))
        {
            return Some(Revoked::Session);
        }
        if entries.subjects.is_empty() {
            return None;
        }
        match entries.subjects.get(query.sub) {
            Some(cutoff) if query.iat < cutoff.before => Some(Revoked::Subject),
            _ => None,
        }
    }
}

impl<V: RevocationView + ?Sized> RevocationView for std::sync::Arc<V> {
    fn check(&self, query: &RevocationQuery<'_>) -> Option<Revoked> {
        (**self).check(query)
    }

    fn health(&self) -> ViewHealth {
        (**self).health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_cutoff_is_strict_and_only_moves_forward() {
        let list = RevocationList::new();
        list.revoke_subject("alice", 100, None);
        let at = |iat| list.check(&RevocationQuery::new("j", None, "alice", iat));
        assert_eq!(at(99), Some(Revoked::Subject));
        assert_eq!(
            at(100),
            None,
            "a session created in the cut-off second survives"
        );
        list.revoke_subject("alice", 50, None);
        assert_eq!(at(99), Some(Revoked::Subject));
        assert_eq!(list.check(&RevocationQuery::new("j", None, "bob", 1)), None);
    }

    #[test]
    fn prune_drops_only_what_has_expired() {
        let list = RevocationList::new();
        list.revoke_token("a", 10);
        list.revoke_token("b", 20);
        list.revoke_session("s", 10);
        list.revoke_subject("x", 5, Some(10));
        list.revoke_subject("y", 5, None);
        assert_eq!(list.prune(10), 3);
        assert_eq!(
            list.counts(),
            RevocationCounts {
                tokens: 1,
                sessions: 0,
                subjects: 1
            }
        );
    }

    #[test]
    fn a_large_prune_gives_the_maps_memory_back() {
        let list = RevocationList::new();
        for i in 0..100_000u64 {
            let until = if i < 10 { 1000 } else { 50 };
            list.revoke_token(&format!("j{i}"), until);
            list.revoke_session(&format!("s{i}"), until);
            list.revoke_subject(&format!("u{i}"), 1, Some(until));
        }
        let capacity = |list: &RevocationList| {
            let entries = list.read();
            [
                entries.tokens.capacity(),
                entries.sessions.capacity(),
                entries.subjects.capacity(),
            ]
        };
        assert!(capacity(&list).iter().all(|&c| c >= 100_000));
        assert_eq!(list.prune(50), 3 * 99_990);
        let after = capacity(&list);
        assert!(
            after.iter().all(|&c| c <= MIN_SHRINK_CAPACITY),
            "capacity after the prune: {after:?}"
        );
        assert_eq!(
            list.check(&RevocationQuery::new("j3", None, "x", 0)),
            Some(Revoked::Token)
        );
    }
}
