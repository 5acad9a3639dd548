//! The session table and its rotation state machine, shared by every in-process store
//! (memory, file, and the Redis store's tests): one function decides every refresh (the
//! PostgreSQL store runs it too, on the row it holds locked).

use std::collections::HashMap;

use super::store::{ConsumeOutcome, ConsumeRequest, EndReason, GraceRecord, SessionRecord};
use crate::clock::UnixTime;

/// What a consume attempt changed, so a durable store can journal exactly that.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing changed (unknown session, grace replay).
    None,
    /// The session's record is now this (boxed: a record is ten times the other variants).
    Updated(Box<SessionRecord>),
    /// The session ended: forget it, revoke its sid.
    Ended { sid: String, reason: EndReason },
}

/// Live sessions by id, plus an index of each subject's sessions for logout-all.
#[derive(Debug, Default)]
pub(crate) struct SessionTable {
    sessions: HashMap<String, SessionRecord>,
    by_subject: HashMap<String, Vec<String>>,
}

impl SessionTable {
    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn get(&self, sid: &str) -> Option<&SessionRecord> {
        self.sessions.get(sid)
    }

    pub(crate) fn records(&self) -> impl Iterator<Item = &SessionRecord> {
        self.sessions.values()
    }

    pub(crate) fn upsert(&mut self, record: SessionRecord) {
        // A rotation (most of a journal's records) replaces the record in place.
        if let Some(slot) = self.sessions.get_mut(&record.sid) {
            *slot = record;
            return;
        }
        self.by_subject
            .entry(record.sub.clone())
            .or_default()
            .push(record.sid.clone());
        self.sessions.insert(record.sid.clone(), record);
    }

    pub(crate) fn remove(&mut self, sid: &str) -> Option<SessionRecord> {
        let record = self.sessions.remove(sid)?;
        if let Some(sids) = self.by_subject.get_mut(&record.sub) {
            sids.retain(|s| s != sid);
            if sids.is_empty() {
                self.by_subject.remove(&record.sub);
            }
        }
        Some(record)
    }

    pub(crate) fn sids_of(&self, sub: &str) -> Vec<String> {
        self.by_subject.get(sub).cloned().unwrap_or_default()
    }

    /// The records of `sub`'s sessions live at `now`.
    pub(crate) fn live_sessions_of(&self, sub: &str, now: UnixTime) -> Vec<SessionRecord> {
        self.by_subject
            .get(sub)
            .into_iter()
            .flatten()
            .filter_map(|sid| self.sessions.get(sid))
            .filter(|record| record.is_live_at(now))
            .cloned()
            .collect()
    }

    /// Decide a refresh attempt against this table (see [`decide`]).
    pub(crate) fn decide(&self, request: &ConsumeRequest) -> (ConsumeOutcome, Change) {
        decide(self.sessions.get(&request.sid), request)
    }

    /// Remove sessions that have ended on their own by `now`; returns them.
    pub(crate) fn expire(&mut self, now: UnixTime) -> Vec<SessionRecord> {
        let dead: Vec<String> = self
            .sessions
            .values()
            .filter(|r| r.ends_at() <= now)
            .map(|r| r.sid.clone())
            .collect();
        let removed = dead.iter().filter_map(|sid| self.remove(sid)).collect();
        for record in self.sessions.values_mut() {
            if record.grace.as_ref().is_some_and(|g| g.until <= now) {
                record.grace = None;
            }
        }
        shrink(&mut self.sessions);
        shrink(&mut self.by_subject);
        removed
    }

    /// Allocated slots of the two maps (for tests of shrinking).
    #[cfg(test)]
    fn capacity(&self) -> (usize, usize) {
        (self.sessions.capacity(), self.by_subject.capacity())
    }
}

/// Maps smaller than this are never shrunk: not worth a rehash.
const MIN_SHRINK_CAPACITY: usize = 1024;

/// Give back most of a map's slots once it is under a quarter full (a large prune), so
/// memory follows the live state; leaving room for twice what is left keeps a table that
/// refills from rehashing at every prune.
fn shrink<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > MIN_SHRINK_CAPACITY && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len().saturating_mul(2));
    }
}

/// Decide a refresh attempt against the session's record (`None`: the store does not know
/// it). The one rotation state machine: the in-process stores call it through
/// [`SessionTable::decide`], the PostgreSQL store on the row it holds locked.
pub(crate) fn decide(
    record: Option<&SessionRecord>,
    request: &ConsumeRequest,
) -> (ConsumeOutcome, Change) {
    let Some(record) = record else {
        return (ConsumeOutcome::Unknown, Change::None);
    };
    let now = request.now;
    let ended = |reason| {
        (
            if reason == EndReason::Reuse {
                ConsumeOutcome::Reused
            } else {
                ConsumeOutcome::Ended(reason)
            },
            Change::Ended {
                sid: record.sid.clone(),
                reason,
            },
        )
    };
    if now >= record.expires_at {
        return ended(EndReason::AbsoluteTimeout);
    }
    let is_current = request.gen == record.gen && request.jti == record.refresh_jti;
    if is_current {
        if now >= record.last_used_at.saturating_add(record.idle_timeout) {
            return ended(EndReason::IdleTimeout);
        }
        let mut next = record.clone();
        next.gen = record.gen.saturating_add(1);
        next.refresh_jti = request.next_jti.clone();
        next.last_used_at = now;
        if let Some(client) = &request.client {
            next.client = client.clone();
        }
        next.grace = (request.grace > 0).then(|| GraceRecord {
            parent_jti: request.jti.clone(),
            rotated_at: now,
            until: now.saturating_add(request.grace),
            successor: request.next.clone(),
        });
        return (ConsumeOutcome::Rotated, Change::Updated(Box::new(next)));
    }
    // Only the direct parent, only within the window, gets the already-issued answer.
    if let Some(grace) = &record.grace {
        if request.gen.saturating_add(1) == record.gen
            && request.jti == grace.parent_jti
            && now < grace.until
        {
            return (ConsumeOutcome::Grace(grace.successor.clone()), Change::None);
        }
    }
    ended(EndReason::Reuse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::store::IssuedPair;

    fn request(gen: u64, jti: &str, now: UnixTime, grace: u64) -> ConsumeRequest {
        ConsumeRequest::new(
            "s".into(),
            gen,
            jti.into(),
            now,
            format!("{jti}+"),
            IssuedPair::new(format!("a{gen}"), format!("r{gen}"), 300),
            grace,
            now + 300,
        )
    }

    fn table() -> SessionTable {
        let mut table = SessionTable::default();
        table.upsert(SessionRecord::new(
            "s".into(),
            "u".into(),
            "j0".into(),
            0,
            1000,
            100,
        ));
        table
    }

    fn apply(table: &mut SessionTable, change: Change) {
        match change {
            Change::Updated(r) => table.upsert(*r),
            Change::Ended { sid, .. } => {
                table.remove(&sid);
            }
            Change::None => {}
        }
    }

    #[test]
    fn current_token_rotates_and_parent_is_reuse_without_grace() {
        let mut t = table();
        let (outcome, change) = t.decide(&request(0, "j0", 10, 0));
        assert_eq!(outcome, ConsumeOutcome::Rotated);
        apply(&mut t, change);
        assert_eq!(t.get("s").unwrap().gen, 1);
        assert_eq!(t.decide(&request(0, "j0", 11, 0)).0, ConsumeOutcome::Reused);
    }

    #[test]
    fn grace_answers_the_direct_parent_only_within_the_window() {
        let mut t = table();
        let (_, change) = t.decide(&request(0, "j0", 10, 5));
        apply(&mut t, change);
        let (outcome, _) = t.decide(&request(0, "j0", 14, 5));
        assert_eq!(
            outcome,
            ConsumeOutcome::Grace(IssuedPair::new("a0".into(), "r0".into(), 300))
        );
        assert_eq!(t.decide(&request(0, "j0", 15, 5)).0, ConsumeOutcome::Reused);
        let (_, change) = t.decide(&request(1, "j0+", 12, 5));
        apply(&mut t, change);
        assert_eq!(
            t.decide(&request(0, "j0", 13, 5)).0,
            ConsumeOutcome::Reused,
            "grandparent"
        );
    }

    #[test]
    fn idle_and_absolute_timeouts_end_the_session() {
        let t = table();
        assert_eq!(
            t.decide(&request(0, "j0", 100, 0)).0,
            ConsumeOutcome::Ended(EndReason::IdleTimeout)
        );
        let mut t = table();
        for (i, now) in (1..=12).map(|i| (i, i * 90)) {
            let jti = if i == 1 {
                "j0".to_owned()
            } else {
                t.get("s").unwrap().refresh_jti.clone()
            };
            let (outcome, change) = t.decide(&request(i - 1, &jti, now, 0));
            if now >= 1000 {
                assert_eq!(outcome, ConsumeOutcome::Ended(EndReason::AbsoluteTimeout));
                return;
            }
            assert_eq!(outcome, ConsumeOutcome::Rotated);
            apply(&mut t, change);
        }
        panic!("the absolute timeout never fired");
    }

    #[test]
    fn a_large_prune_gives_the_maps_memory_back() {
        let mut t = SessionTable::default();
        for i in 0..100_000u64 {
            // Ten live sessions; the rest end at 50.
            let lifetime = if i < 10 { 1000 } else { 50 };
            t.upsert(SessionRecord::new(
                format!("s{i}"),
                format!("u{i}"),
                "j".into(),
                0,
                lifetime,
                lifetime,
            ));
        }
        let (sessions, subjects) = t.capacity();
        assert!(sessions >= 100_000 && subjects >= 100_000);
        assert_eq!(t.expire(50).len(), 99_990);
        assert_eq!(t.len(), 10);
        let (sessions, subjects) = t.capacity();
        assert!(
            sessions <= MIN_SHRINK_CAPACITY && subjects <= MIN_SHRINK_CAPACITY,
            "capacity after the prune: {sessions}, {subjects}"
        );
        // A small prune of a well-filled table does not rehash it.
        for i in 0..4000u64 {
            t.upsert(SessionRecord::new(
                format!("n{i}"),
                "v".into(),
                "j".into(),
                0,
                2000,
                2000,
            ));
        }
        let before = t.capacity().0;
        t.expire(50);
        assert_eq!(t.capacity().0, before);
    }
}
