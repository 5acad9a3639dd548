//! The node-local mirror of the revocations in a shared store (Redis, PostgreSQL): what
//! verification reads, with no network round trip. Fed by the store's revocation channel
//! (Redis pub/sub, PostgreSQL `LISTEN/NOTIFY`), loaded in full at start-up and after every
//! reconnect; it knows how long ago it was last known in sync, and says so through
//! [`RevocationView::health`]. Both shared stores use it, its message format, its
//! staleness policy and its reconnect backoff, so they cannot drift apart.
//!
//! Revocations only ever accumulate until they expire (nothing is un-revoked), so every
//! update is a merge that keeps the later time: applying a message twice, or a message
//! and a snapshot in either order, gives the same list. That is why a re-sync merges the
//! snapshot instead of replacing the list: an entry the snapshot lacks (the store lost it)
//! stays enforced here until it expires.
//!
//! It also knows where its node stands with the store ([`Phase`]): in sync, reconnecting,
//! writing back what the store lost, or unable to trust the store at all. Only the last
//! overrides the staleness bound for verification; every phase but `Ready` blocks writes
//! and makes the node unready.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::{Clock, UnixTime};
use crate::error::Revoked;
use crate::revocation::list::{
    RevocationList, RevocationQuery, RevocationSnapshot, RevocationView, ViewHealth,
};
use crate::revocation::store::StoreReadiness;

/// Where a node stands with the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Phase {
    /// Loaded from a store whose epoch this node knows, and following its channel.
    Ready = 0,
    /// The subscription or a heartbeat failed; re-loading.
    Reconnecting = 1,
    /// The store lost its data; writing back what the mirror holds.
    Reseeding = 2,
    /// The store lost its data (or cannot show it did not) and this node has nothing
    /// to restore it from: its revocations are not to be trusted.
    Doubtful = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Ready,
            1 => Self::Reconnecting,
            2 => Self::Reseeding,
            _ => Self::Doubtful,
        }
    }

    /// Why writes are refused in this phase, if they are.
    // Redis only: its epoch/reseed phases (PostgreSQL has none).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn blocks_writes(self) -> Option<&'static str> {
        match self {
            Self::Ready => None,
            Self::Reconnecting => Some("re-loading the revocations after a reconnect to Redis"),
            Self::Reseeding => {
                Some("Redis lost its data; writing back the revocations this node holds")
            }
            Self::Doubtful => Some(
                "Redis lost its data, or cannot show that it did not, and no node has restored it",
            ),
        }
    }
}

/// What verification does once the local revocation mirror has been out of sync with
/// its shared store for longer than the staleness bound.
///
/// ```
/// use gatepass::{RedisOptions, StalePolicy};
/// // Availability over revocation, knowingly: logged as errors while it applies.
/// let options = RedisOptions::new().on_stale(StalePolicy::FailOpen);
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StalePolicy {
    /// Reject every token the mirror does not already know to be revoked with
    /// [`VerifyError::RevocationsUnavailable`](crate::VerifyError::RevocationsUnavailable)
    /// (HTTP 503) until the mirror is back in sync. The default.
    #[default]
    FailClosed,
    /// Keep accepting tokens from the stale mirror, logging an error at every reconnect
    /// attempt: a logout made on another node meanwhile is not enforced here. Choose only
    /// when availability matters more than revocation.
    FailOpen,
}

/// One revocation as published on the channel (the Redis scripts in `redis/lua/`, the
/// PostgreSQL store's `NOTIFY`s):
/// `t <until> <jti>`, `s <until> <sid>` or `u <before> <until|+inf> <sub>`; the id comes
/// last, so it may contain spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Event {
    Token {
        jti: String,
        until: UnixTime,
    },
    Session {
        sid: String,
        until: UnixTime,
    },
    Subject {
        sub: String,
        before: UnixTime,
        until: Option<UnixTime>,
    },
}

/// A prune time as the stores write it: an integer, or `inf` for "kept until replaced".
pub(super) fn parse_until(text: &str) -> Option<Option<UnixTime>> {
    match text {
        "inf" | "+inf" => Some(None),
        _ => text.parse().ok().map(Some),
    }
}

impl Event {
    /// The message announcing this revocation (what [`parse`](Self::parse) reads).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(super) fn message(&self) -> String {
        match self {
            Self::Token { jti, until } => format!("t {until} {jti}"),
            Self::Session { sid, until } => format!("s {until} {sid}"),
            Self::Subject { sub, before, until } => match until {
                Some(until) => format!("u {before} {until} {sub}"),
                None => format!("u {before} +inf {sub}"),
            },
        }
    }

    pub(super) fn parse(payload: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(payload).ok()?;
        let (kind, rest) = text.split_once(' ')?;
        match kind {
            "t" | "s" => {
                let (until, id) = rest.split_once(' ')?;
                let until = parse_until(until)??;
                Some(if kind == "t" {
                    Self::Token {
                        jti: id.to_owned(),
                        until,
                    }
                } else {
                    Self::Session {
                        sid: id.to_owned(),
                        until,
                    }
                })
            }
            "u" => {
                let (before, rest) = rest.split_once(' ')?;
                let (until, sub) = rest.split_once(' ')?;
                Some(Self::Subject {
                    sub: sub.to_owned(),
                    before: before.parse().ok()?,
                    until: parse_until(until)?,
                })
            }
            _ => None,
        }
    }
}

/// The mirror: a revocation list plus when it was last known to match the store.
pub(super) struct Mirror {
    list: Arc<RevocationList>,
    clock: Arc<dyn Clock>,
    staleness_bound: u64,
    policy: StalePolicy,
    /// Clock time at which the mirror was last known in sync (a load, or an answered
    /// heartbeat on a subscription that has been up since a load).
    synced_at: AtomicU64,
    /// A [`Phase`], as its `u8`.
    phase: AtomicU8,
    /// The latest `prune(now)`: an entry dead by then that arrives late (a message that
    /// crossed the prune) is dead still, and is not added back. Held while updating.
    pruned: Mutex<UnixTime>,
}

impl fmt::Debug for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mirror")
            .field("counts", &self.list.counts())
            .field("lag_secs", &self.lag())
            .field("health", &self.health())
            .field("phase", &self.phase())
            .finish()
    }
}

impl Mirror {
    pub(super) fn new(clock: Arc<dyn Clock>, staleness_bound: u64, policy: StalePolicy) -> Self {
        let now = clock.now();
        Self {
            list: Arc::new(RevocationList::new()),
            clock,
            staleness_bound,
            policy,
            synced_at: AtomicU64::new(now),
            phase: AtomicU8::new(Phase::Ready as u8),
            pruned: Mutex::new(0),
        }
    }

    pub(super) fn list(&self) -> &Arc<RevocationList> {
        &self.list
    }

    pub(super) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub(super) fn mark_synced(&self) {
        self.synced_at.store(self.clock.now(), Ordering::SeqCst);
    }

    /// Seconds since the mirror was last known in sync.
    pub(super) fn lag(&self) -> u64 {
        self.clock
            .now()
            .saturating_sub(self.synced_at.load(Ordering::SeqCst))
    }

    pub(super) fn policy(&self) -> StalePolicy {
        self.policy
    }

    pub(super) fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::SeqCst))
    }

    // Redis only: its epoch/reseed phases (PostgreSQL has none).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    /// Enter `Reconnecting` from `Ready` only: a node that was re-seeding or in doubt
    /// stays so until a re-load settles it.
    // Redis only: its epoch/reseed phases (PostgreSQL has none).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn disconnected(&self) {
        let _ = self.phase.compare_exchange(
            Phase::Ready as u8,
            Phase::Reconnecting as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// What a readiness probe should answer.
    // Redis only: its epoch/reseed phases (PostgreSQL has none).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn readiness(&self) -> StoreReadiness {
        match self.phase() {
            Phase::Ready if self.lag() <= self.staleness_bound => StoreReadiness::Ready,
            Phase::Ready | Phase::Reconnecting => StoreReadiness::Unreachable,
            Phase::Reseeding => StoreReadiness::Reseeding,
            Phase::Doubtful => StoreReadiness::DataLost,
        }
    }

    fn pruned(&self) -> MutexGuard<'_, UnixTime> {
        self.pruned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn apply_locked(&self, pruned: UnixTime, event: Event) {
        match event {
            Event::Token { jti, until } if until > pruned => self.list.revoke_token(&jti, until),
            Event::Session { sid, until } if until > pruned => {
                self.list.revoke_session(&sid, until);
            }
            Event::Subject { sub, before, until } if until.is_none_or(|t| t > pruned) => {
                self.list.revoke_subject(&sub, before, until);
            }
            _ => {}
        }
    }

    pub(super) fn apply(&self, event: Event) {
        let pruned = self.pruned();
        self.apply_locked(*pruned, event);
    }

    /// Merge a full load into the list (see the module notes for why not replace).
    pub(super) fn merge(&self, snapshot: RevocationSnapshot) {
        let pruned = self.pruned();
        let events = snapshot
            .tokens
            .into_iter()
            .map(|(jti, until)| Event::Token { jti, until })
            .chain(
                (snapshot.sessions.into_iter()).map(|(sid, until)| Event::Session { sid, until }),
            )
            .chain(
                snapshot
                    .subjects
                    .into_iter()
                    .map(|(sub, c)| Event::Subject {
                        sub,
                        before: c.before,
                        until: c.until,
                    }),
            );
        for event in events {
            self.apply_locked(*pruned, event);
        }
    }

    /// Drop every entry dead by `now`, and refuse late arrivals of such entries.
    pub(super) fn prune(&self, now: UnixTime) -> usize {
        let mut pruned = self.pruned();
        *pruned = (*pruned).max(now);
        self.list.prune(now)
    }
}

impl RevocationView for Mirror {
    fn check(&self, query: &RevocationQuery<'_>) -> Option<Revoked> {
        self.list.check(query)
    }

    /// The staleness bound decides, except in doubt: then the mirror may lack
    /// revocations no node can vouch for, which counts as past the bound whatever its lag
    /// (a node that is re-seeding holds what it had, so its bound still applies).
    fn health(&self) -> ViewHealth {
        let doubtful = self.phase() == Phase::Doubtful;
        if !doubtful && self.lag() <= self.staleness_bound {
            ViewHealth::Current
        } else if self.policy == StalePolicy::FailOpen {
            ViewHealth::Stale
        } else {
            ViewHealth::Unavailable
        }
    }
}

/// The delay before reconnect attempt `attempt`: exponential from `min`, capped at `max`,
/// then "equal jitter" (half fixed, half random) so that nodes cut off together do not
/// reconnect in lockstep.
pub(super) fn jittered((min, max): (Duration, Duration), attempt: u32) -> Duration {
    let random = crate::crypto::random::bytes::<8>()
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    backoff(min, max, attempt, random)
}

fn backoff(min: Duration, max: Duration, attempt: u32, random: u64) -> Duration {
    let cap = min
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    let half = cap / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(random % half_ms.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn events_parse_with_ids_that_contain_spaces() {
        assert_eq!(
            Event::parse(b"t 100 a b"),
            Some(Event::Token {
                jti: "a b".into(),
                until: 100
            })
        );
        assert_eq!(
            Event::parse(b"s 7 sid"),
            Some(Event::Session {
                sid: "sid".into(),
                until: 7
            })
        );
        assert_eq!(
            Event::parse(b"u 5 +inf alice smith"),
            Some(Event::Subject {
                sub: "alice smith".into(),
                before: 5,
                until: None
            })
        );
        assert_eq!(
            Event::parse(b"u 5 9 bob"),
            Some(Event::Subject {
                sub: "bob".into(),
                before: 5,
                until: Some(9)
            })
        );
        for bad in [
            &b"x 1 a"[..],
            b"t nope a",
            b"t 1",
            b"u 1 2",
            b"t +inf a",
            b"\xff 1 a",
        ] {
            assert_eq!(Event::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn health_follows_the_staleness_bound_and_the_policy() {
        let clock = Arc::new(ManualClock::new(1000));
        let closed = Mirror::new(clock.clone(), 30, StalePolicy::FailClosed);
        let open = Mirror::new(clock.clone(), 30, StalePolicy::FailOpen);
        clock.advance(30);
        assert_eq!(closed.health(), ViewHealth::Current);
        clock.advance(1);
        assert_eq!(closed.health(), ViewHealth::Unavailable);
        assert_eq!(open.health(), ViewHealth::Stale);
        closed.mark_synced();
        assert_eq!(closed.health(), ViewHealth::Current);
    }

    #[test]
    fn a_mirror_in_doubt_is_past_its_bound_whatever_its_lag_and_only_then() {
        let clock = Arc::new(ManualClock::new(1000));
        let closed = Mirror::new(clock.clone(), 30, StalePolicy::FailClosed);
        let open = Mirror::new(clock, 30, StalePolicy::FailOpen);
        assert_eq!(closed.readiness(), StoreReadiness::Ready);
        closed.set_phase(Phase::Reseeding);
        assert_eq!(closed.health(), ViewHealth::Current);
        assert_eq!(closed.readiness(), StoreReadiness::Reseeding);
        closed.disconnected();
        assert_eq!(
            closed.phase(),
            Phase::Reseeding,
            "a re-seed is not forgotten"
        );
        closed.set_phase(Phase::Doubtful);
        open.set_phase(Phase::Doubtful);
        assert_eq!(closed.health(), ViewHealth::Unavailable);
        assert_eq!(open.health(), ViewHealth::Stale);
        assert_eq!(closed.readiness(), StoreReadiness::DataLost);
        closed.set_phase(Phase::Ready);
        closed.disconnected();
        assert_eq!(closed.readiness(), StoreReadiness::Unreachable);
        assert_eq!(closed.health(), ViewHealth::Current);
    }

    #[test]
    fn a_merge_never_drops_what_the_mirror_already_knows() {
        let mirror = Mirror::new(Arc::new(ManualClock::new(0)), 30, StalePolicy::FailClosed);
        mirror.apply(Event::Token {
            jti: "seen-by-message".into(),
            until: 50,
        });
        let mut snapshot = RevocationSnapshot::default();
        snapshot.tokens.push(("loaded".into(), 60));
        mirror.merge(snapshot);
        let revoked = |jti| mirror.check(&RevocationQuery::new(jti, None, "u", 0));
        assert_eq!(revoked("seen-by-message"), Some(Revoked::Token));
        assert_eq!(revoked("loaded"), Some(Revoked::Token));
    }

    #[test]
    fn a_message_that_crosses_a_prune_does_not_bring_a_dead_entry_back() {
        let mirror = Mirror::new(Arc::new(ManualClock::new(0)), 30, StalePolicy::FailClosed);
        mirror.apply(Event::Token {
            jti: "a".into(),
            until: 50,
        });
        assert_eq!(mirror.prune(60), 1);
        mirror.apply(Event::Token {
            jti: "a".into(),
            until: 50,
        });
        mirror.apply(Event::Token {
            jti: "b".into(),
            until: 61,
        });
        assert_eq!(mirror.list().counts().tokens, 1);
    }

    #[test]
    fn backoff_grows_exponentially_is_capped_and_jittered_within_half() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(backoff(min, max, 0, 0), Duration::from_millis(50));
        assert_eq!(
            backoff(min, max, 0, u64::MAX),
            Duration::from_millis(50) + Duration::from_millis(u64::MAX % 51)
        );
        assert_eq!(backoff(min, max, 3, 0), Duration::from_millis(400));
        for attempt in [6, 7, 40, u32::MAX] {
            for random in [0, 1, 12345, u64::MAX] {
                let delay = backoff(min, max, attempt, random);
                assert!(
                    delay >= max / 2 && delay <= max,
                    "{attempt} {random} {delay:?}"
                );
            }
        }
    }

    #[test]
    fn messages_round_trip_through_parse() {
        for event in [
            Event::Token {
                jti: "a b".into(),
                until: 9,
            },
            Event::Session {
                sid: "s".into(),
                until: 1,
            },
            Event::Subject {
                sub: "x y".into(),
                before: 3,
                until: None,
            },
            Event::Subject {
                sub: "z".into(),
                before: 3,
                until: Some(4),
            },
        ] {
            assert_eq!(Event::parse(event.message().as_bytes()), Some(event));
        }
    }
}
