//! Keeping the mirror in sync: subscribe, then load everything; follow the channel with a
//! heartbeat; on any doubt (closed subscription, unanswered heartbeat, unreadable
//! message) reconnect with a bounded, jittered backoff and load everything again.
//!
//! Why pub/sub and not a stream: a message missed while disconnected is recovered by the
//! full re-load after every reconnect, and the sorted sets already are the compacted log,
//! so a stream would only duplicate them (with its own trimming problem: entries live for
//! different times). Redis drops a subscriber whose buffer overflows rather than skip
//! messages, so every loss is a disconnect, and every disconnect ends in a re-load.
//!
//! Every load also checks the store's epoch, and every heartbeat compares it with the one
//! this node knows: a store that lost its data is written back to before the node serves
//! writes again (`reseed.rs`).

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_core::Stream;
use redis::aio::{ConnectionManager, PubSub};
use redis::Value;
use tokio::time::{self, MissedTickBehavior};

use super::keys::{self, Keys};
use super::reply::EpochAnswer;
use super::reseed::{self, Decision, Epochs};
use super::script::Scripts;
use super::{reply, store_error};
use crate::revocation::list::{RevocationSnapshot, RevocationView, ViewHealth};
use crate::revocation::mirror::{jittered, Event, Mirror, Phase, StalePolicy};
use crate::revocation::store::StoreError;

const TARGET: &str = "gatepass::redis";

/// What the sync task needs.
pub(super) struct Feed {
    pub(super) client: redis::Client,
    pub(super) con: ConnectionManager,
    pub(super) keys: Keys,
    pub(super) mirror: Arc<Mirror>,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Duration,
    pub(super) backoff: (Duration, Duration),
    pub(super) scripts: Arc<Scripts>,
    /// This node's name in `P lost` while it writes back.
    pub(super) node: String,
    /// The epoch of the store this node last loaded (`None` before its first load).
    pub(super) epoch: Mutex<Option<String>>,
}

/// One load: the revocations, and the store's epoch and repair state read with them.
struct Load {
    snapshot: RevocationSnapshot,
    epoch: Option<String>,
    repairing: bool,
}

async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match time::timeout(limit, fut).await {
        Ok(result) => result.map_err(|e| store_error(&e)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "{what} timed out after {limit:?}"
        ))),
    }
}

impl Feed {
    /// Subscribe, then load: a revocation written before the load is in it, one written
    /// after the subscription is delivered, and the subscription came first. Then settle
    /// the store's epoch (see `reseed.rs`): `Some` once the node may serve, `None` when it
    /// is in doubt and must try again later.
    pub(super) async fn subscribe_and_load(&self) -> Result<Option<PubSub>, StoreError> {
        let mut pubsub = within(
            self.timeout,
            "connecting the subscriber",
            self.client.get_async_pubsub(),
        )
        .await?;
        within(
            self.timeout,
            "subscribing",
            pubsub.subscribe(self.keys.channel()),
        )
        .await?;
        let load = within(self.timeout, "loading the revocations", self.load()).await??;
        self.mirror.merge(load.snapshot);
        let known = self.known().clone();
        let epoch = match reseed::decide(known.as_deref(), load.epoch.as_deref(), load.repairing) {
            Decision::Keep => None,
            Decision::Adopt(epoch) => Some(epoch),
            Decision::Genesis => match self.epochs().genesis().await? {
                EpochAnswer::Epoch(epoch) => {
                    if load.epoch.is_none() {
                        tracing::info!(target: TARGET, event = "store_epoch_created",
                            "a new, empty Redis store: its epoch is created");
                    }
                    Some(epoch)
                }
                EpochAnswer::Unmarked => return Ok(self.doubt("unmarked")),
                EpochAnswer::Repairing | EpochAnswer::Lost => return Ok(self.doubt("repairing")),
            },
            Decision::Repairing => return Ok(self.doubt("repairing")),
            Decision::WriteBack => Some(self.write_back().await?),
        };
        if let Some(epoch) = epoch {
            *self.known() = Some(epoch);
        }
        self.mirror.mark_synced();
        self.mirror.set_phase(Phase::Ready);
        Ok(Some(pubsub))
    }

    fn known(&self) -> MutexGuard<'_, Option<String>> {
        self.epoch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn epochs(&self) -> Epochs<'_> {
        Epochs {
            con: &self.con,
            keys: &self.keys,
            scripts: &self.scripts,
            node: &self.node,
            timeout: self.timeout,
        }
    }

    /// A node in doubt: nothing to restore the store from, and no reason to trust it.
    fn doubt(&self, why: &'static str) -> Option<PubSub> {
        if self.mirror.phase() != Phase::Doubtful {
            self.mirror.set_phase(Phase::Doubtful);
            let detail = match why {
                "unmarked" => {
                    "Redis holds revocations but no epoch: nothing shows whether some were lost"
                }
                _ => "another node is writing back what Redis lost",
            };
            tracing::error!(target: TARGET, event = "store_unverified", reason = why, detail,
                "cannot trust the revocations in Redis: rejecting tokens and refusing writes until a node that held them writes them back");
        }
        None
    }

    /// The store lost its data: write back what the mirror holds, then serve again.
    async fn write_back(&self) -> Result<String, StoreError> {
        let started = Instant::now();
        if self.mirror.phase() != Phase::Reseeding {
            self.mirror.set_phase(Phase::Reseeding);
            tracing::error!(target: TARGET, event = "store_lost_data",
                revocations = ?self.mirror.list().counts(),
                "Redis lost its data (its epoch changed): writing back the revocations this node holds before serving writes again");
        }
        let snapshot = self.mirror.list().snapshot();
        let (epoch, written) = self
            .epochs()
            .write_back(snapshot, self.mirror.now())
            .await?;
        tracing::warn!(target: TARGET, event = "store_reseeded", written,
            elapsed_ms = reseed::elapsed_ms(started),
            "revocations written back to Redis; serving writes again");
        Ok(epoch)
    }

    /// Every live revocation, the epoch and the repair state, read in one transaction.
    async fn load(&self) -> redis::RedisResult<Result<Load, StoreError>> {
        let above = format!("({}", keys::time(self.mirror.now()));
        let mut con = self.con.clone();
        let (epoch, repairing, tokens, sessions, cutoffs, befores): (
            Value,
            Value,
            Value,
            Value,
            Value,
            Value,
        ) = redis::pipe()
            .atomic()
            .cmd("GET")
            .arg(self.keys.epoch())
            .cmd("SCARD")
            .arg(self.keys.lost())
            .cmd("ZRANGEBYSCORE")
            .arg(self.keys.revoked_tokens())
            .arg(&above)
            .arg("+inf")
            .arg("WITHSCORES")
            .cmd("ZRANGEBYSCORE")
            .arg(self.keys.revoked_sessions())
            .arg(&above)
            .arg("+inf")
            .arg("WITHSCORES")
            .cmd("ZRANGEBYSCORE")
            .arg(self.keys.cutoffs())
            .arg(&above)
            .arg("+inf")
            .arg("WITHSCORES")
            .cmd("HGETALL")
            .arg(self.keys.cutoff_befores())
            .query_async(&mut con)
            .await?;
        Ok((|| -> Result<Load, StoreError> {
            Ok(Load {
                snapshot: reply::snapshot(tokens, sessions, cutoffs, befores)?,
                epoch: reply::optional_text(epoch)?,
                repairing: reply::count(repairing)? > 0,
            })
        })())
    }

    /// Whether the store still has the epoch this node knows.
    async fn same_epoch(&self) -> Result<bool, StoreError> {
        let mut con = self.con.clone();
        let found: Value = within(
            self.timeout,
            "reading the epoch",
            redis::cmd("GET")
                .arg(self.keys.epoch())
                .query_async(&mut con),
        )
        .await?;
        Ok(reply::optional_text(found)? == *self.known())
    }

    /// Apply messages and answer heartbeats until something is wrong; say what.
    async fn follow(&self, pubsub: PubSub) -> &'static str {
        let (mut sink, mut stream) = pubsub.split();
        let mut tick = time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                message = poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)) => match message {
                    Some(message) => match Event::parse(message.get_payload_bytes()) {
                        Some(event) => self.mirror.apply(event),
                        None => return "an unreadable revocation message",
                    },
                    None => return "the subscription closed",
                },
                _ = tick.tick() => {
                    if !matches!(time::timeout(self.timeout, sink.ping::<Value>()).await, Ok(Ok(_))) {
                        return "a heartbeat went unanswered";
                    }
                    match self.same_epoch().await {
                        Ok(true) => self.mirror.mark_synced(),
                        Ok(false) => return "the store's epoch changed: Redis lost its data",
                        Err(_) => return "a heartbeat went unanswered",
                    }
                }
            }
        }
    }

    /// The sync task: runs until the store is dropped (which aborts it). Starts by
    /// following `pubsub`, or, for a node in doubt at start-up, by re-loading.
    pub(super) async fn run(self: Arc<Self>, mut pubsub: Option<PubSub>) {
        loop {
            if let Some(subscribed) = pubsub.take() {
                let reason = self.follow(subscribed).await;
                self.mirror.disconnected();
                tracing::warn!(target: TARGET, event = "mirror_disconnected", reason,
                    "lost the revocation subscription; reconnecting to re-load every revocation");
            }
            let mut attempt: u32 = 0;
            pubsub = loop {
                time::sleep(jittered(self.backoff, attempt)).await;
                attempt = attempt.saturating_add(1);
                match self.subscribe_and_load().await {
                    Ok(Some(subscribed)) => break Some(subscribed),
                    Ok(None) => {}
                    Err(error) => self.report(&error, attempt),
                }
            };
            tracing::info!(target: TARGET, event = "mirror_resynced", attempts = attempt,
                "revocation mirror re-loaded and subscribed again");
        }
    }

    fn report(&self, error: &StoreError, attempt: u32) {
        let lag_secs = self.mirror.lag();
        match self.mirror.health() {
            ViewHealth::Current => {
                tracing::warn!(target: TARGET, event = "mirror_reconnect_failed",
                attempt, lag_secs, %error, "cannot reach Redis; verifying from the mirror within its staleness bound")
            }
            _ if self.mirror.policy() == StalePolicy::FailOpen => tracing::error!(target: TARGET,
                event = "mirror_stale_fail_open", attempt, lag_secs, %error,
                "REVOCATIONS ARE STALE AND VERIFICATION FAILS OPEN (operator's choice): logouts made on other nodes since are NOT enforced here"),
            _ => tracing::error!(target: TARGET, event = "mirror_stale_fail_closed", attempt,
                lag_secs, %error, "revocation mirror past its staleness bound: every token is rejected (revocations_unavailable) until Redis is back"),
        }
    }
}
