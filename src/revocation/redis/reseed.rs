//! When Redis loses its data (restarted without persistence, flushed, failed over to a
//! replica without it), the revocations it held live on only in the mirrors of the nodes
//! that were running. A node started afterwards would load an empty store and accept every
//! token revoked before the loss. This file keeps the store holding the union of what the
//! nodes knew, and keeps a node that cannot know from trusting the store.
//!
//! Two keys, neither with a TTL (their absence is the signal): `P epoch`, a random id that
//! names the store's current life, and `P lost`, the set of nodes writing back right now.
//! Each node remembers the epoch it last loaded. At every load (start-up and each re-sync
//! after a reconnect) the node reads the epoch, `P lost` and the revocations in one
//! transaction, and every heartbeat compares the epoch with the one it remembers. Then:
//!
//! 1. **A node that remembers an epoch** (it has loaded this store before):
//!    - the store has the same epoch: nothing was lost; carry on;
//!    - the epoch is missing or different: **the store lost its data** since this node last
//!      loaded it. The node stops serving writes, adds itself to `P lost`, sets a new epoch
//!      unless another node already did, writes back every live revocation its mirror holds
//!      (jti, sid, subject cut-off, each with its expiry) with the merge rules of the revoke
//!      scripts, removes itself from `P lost`, adopts the epoch, and serves writes again.
//!      If any step fails it stays unready and starts over at its next re-sync attempt.
//! 2. **A node without one** (its first load):
//!    - `P lost` is not empty: a loss is being repaired; the node is in doubt until it is;
//!    - the store has an epoch: adopt it;
//!    - no epoch, no revocations: a new store; create its epoch (atomically, re-checking);
//!    - no epoch but revocations: nothing shows whether some were lost (they were written
//!      without an epoch, or the epoch key was deleted or evicted): in doubt.
//!
//!    In doubt, the node rejects every token its mirror does not find revoked (as past the
//!    staleness bound, so `StalePolicy::FailOpen` still applies), refuses writes, reports
//!    itself unready, and re-loads with backoff until the doubt is settled.
//!
//! What this cannot see: a node that starts after the loss but before any surviving node
//! has reconnected finds a new, empty store and creates its epoch; the survivors then find
//! an epoch they do not know, write back, and their writes reach that node through the
//! channel. And a replica that missed the last writes before a failover but kept the epoch
//! looks intact: the survivors' mirrors keep enforcing what it missed, new nodes do not.

use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::Value;

use super::keys::{self, Keys, MAX_TTL};
use super::reply::{self, EpochAnswer};
use super::script::{Script, Scripts};
use super::store_error;
use crate::clock::UnixTime;
use crate::revocation::list::RevocationSnapshot;
use crate::revocation::store::StoreError;

/// Revocations written back per script call: big enough that 10,000 take a few round
/// trips, small enough that no call holds Redis (single-threaded) for long.
const BATCH: usize = 500;

/// What a load tells a node to do (rule in the module notes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    /// Nothing was lost: carry on.
    Keep,
    /// First load of a store with an epoch: remember it.
    Adopt(String),
    /// First load of a store without an epoch: create one if it is new.
    Genesis,
    /// The store lost its data since this node loaded it: write back.
    WriteBack,
    /// A loss is being repaired by another node.
    Repairing,
}

/// The rule, given the epoch this node remembers, the one the store has, and whether any
/// node is writing back.
pub(super) fn decide(known: Option<&str>, found: Option<&str>, repairing: bool) -> Decision {
    match (known, found) {
        (Some(known), Some(found)) if known == found => Decision::Keep,
        (Some(_), _) => Decision::WriteBack,
        (None, _) if repairing => Decision::Repairing,
        (None, Some(found)) => Decision::Adopt(found.to_owned()),
        (None, None) => Decision::Genesis,
    }
}

/// A new random id (an epoch, or a node's name in `P lost`): 128 bits, hex.
pub(super) fn new_id() -> Result<String, StoreError> {
    let bytes = crate::crypto::random::bytes::<16>()
        .map_err(|_| StoreError::Unavailable("the system's random source failed".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Talking to Redis for the epoch and the write-back.
pub(super) struct Epochs<'a> {
    pub(super) con: &'a ConnectionManager,
    pub(super) keys: &'a Keys,
    pub(super) scripts: &'a Scripts,
    pub(super) node: &'a str,
    pub(super) timeout: Duration,
}

impl Epochs<'_> {
    async fn run(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<Value, StoreError> {
        let mut con = self.con.clone();
        match tokio::time::timeout(self.timeout, script.run(&mut con, keys, args)).await {
            Ok(result) => result.map_err(|e| store_error(&e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Redis did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    async fn step(&self, step: &str) -> Result<EpochAnswer, StoreError> {
        let keys = [
            self.keys.epoch(),
            self.keys.lost(),
            self.keys.revoked_tokens(),
            self.keys.revoked_sessions(),
            self.keys.cutoffs(),
            self.keys.cutoff_befores(),
        ];
        let args = [step.to_owned(), new_id()?, self.node.to_owned()];
        reply::epoch_answer(self.run(&self.scripts.epoch, &keys, &args).await?)
    }

    /// Create the epoch of a new store, if it is one.
    pub(super) async fn genesis(&self) -> Result<EpochAnswer, StoreError> {
        self.step("genesis").await
    }

    /// Write `snapshot`'s entries alive at `now` back into a store that lost its data;
    /// returns the store's epoch and how many entries went back.
    pub(super) async fn write_back(
        &self,
        snapshot: RevocationSnapshot,
        now: UnixTime,
    ) -> Result<(String, usize), StoreError> {
        let EpochAnswer::Epoch(epoch) = self.step("begin").await? else {
            return Err(StoreError::Corrupt("Redis answered no epoch".into()));
        };
        let entries = entries(snapshot, now);
        let keys = [
            self.keys.revoked_tokens(),
            self.keys.revoked_sessions(),
            self.keys.cutoffs(),
            self.keys.cutoff_befores(),
        ];
        let head = [
            keys::time(now),
            self.keys.channel(),
            self.keys.session_prefix(),
            self.keys.grace_prefix(),
            self.keys.subject_prefix(),
        ];
        for batch in entries.chunks(BATCH) {
            let mut args = Vec::with_capacity(head.len() + batch.len() * 5);
            args.extend(head.iter().cloned());
            for entry in batch {
                args.extend(entry.iter().cloned());
            }
            self.run(&self.scripts.reseed, &keys, &args).await?;
        }
        match self.step("end").await? {
            EpochAnswer::Epoch(now_epoch) if now_epoch == epoch => Ok((epoch, entries.len())),
            // Lost again while writing back: the next re-sync starts over.
            _ => Err(StoreError::Unavailable(
                "Redis lost its data again while revocations were written back".into(),
            )),
        }
    }
}

/// The arguments of each live entry: kind, id, until, ttl, cut-off.
fn entries(snapshot: RevocationSnapshot, now: UnixTime) -> Vec<[String; 5]> {
    let ttl = |until: UnixTime| keys::ttl(until.saturating_sub(now));
    let RevocationSnapshot {
        tokens,
        sessions,
        subjects,
    } = snapshot;
    let tokens = tokens
        .into_iter()
        .map(|(id, until)| ("t", id, until))
        .chain(sessions.into_iter().map(|(id, until)| ("s", id, until)))
        .filter(|(_, _, until)| *until > now)
        .map(|(kind, id, until)| {
            [
                kind.to_owned(),
                id,
                keys::time(until),
                ttl(until),
                String::new(),
            ]
        });
    let cutoffs = subjects
        .into_iter()
        .filter(|(_, c)| c.until.is_none_or(|until| until > now))
        .map(|(sub, c)| {
            let (until, ttl) = match c.until {
                Some(until) => (keys::time(until), ttl(until)),
                None => ("+inf".to_owned(), keys::ttl(MAX_TTL)),
            };
            ["u".to_owned(), sub, until, ttl, keys::time(c.before)]
        });
    tokens.chain(cutoffs).collect()
}

/// Milliseconds since `started`, for the log.
pub(super) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::list::SubjectCutoff;

    #[test]
    fn the_rule_trusts_only_a_known_or_a_new_store() {
        assert_eq!(decide(Some("e"), Some("e"), false), Decision::Keep);
        assert_eq!(
            decide(Some("e"), Some("e"), true),
            Decision::Keep,
            "a node that wrote back, or never lost anything, need not wait for others"
        );
        assert_eq!(decide(Some("e"), None, false), Decision::WriteBack);
        assert_eq!(decide(Some("e"), Some("f"), false), Decision::WriteBack);
        assert_eq!(decide(Some("e"), Some("f"), true), Decision::WriteBack);
        assert_eq!(decide(None, Some("f"), true), Decision::Repairing);
        assert_eq!(decide(None, None, true), Decision::Repairing);
        assert_eq!(decide(None, Some("f"), false), Decision::Adopt("f".into()));
        assert_eq!(decide(None, None, false), Decision::Genesis);
    }

    #[test]
    fn only_live_entries_go_back_with_their_expiry_and_cutoff() {
        let snapshot = RevocationSnapshot {
            tokens: vec![("dead".into(), 100), ("j".into(), 160)],
            sessions: vec![("s".into(), 200)],
            subjects: vec![
                ("old".into(), SubjectCutoff::new(1, Some(90))),
                ("alice".into(), SubjectCutoff::new(80, Some(400))),
                ("bob".into(), SubjectCutoff::new(70, None)),
            ],
        };
        let row =
            |a: &str, b: &str, c: &str, d: &str, e: &str| [a, b, c, d, e].map(|s| s.to_owned());
        assert_eq!(
            entries(snapshot, 100),
            [
                row("t", "j", "160", "60", ""),
                row("s", "s", "200", "100", ""),
                row("u", "alice", "400", "300", "80"),
                row("u", "bob", "+inf", &MAX_TTL.to_string(), "70"),
            ]
        );
    }

    #[test]
    fn ids_are_128_random_bits_in_hex() {
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
