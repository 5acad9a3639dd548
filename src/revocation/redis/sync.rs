//! Keeping the mirror in sync: subscribe, then load everything; follow the channel with a
//! heartbeat; on any doubt (closed subscription, unanswered heartbeat, unreadable
//! message) reconnect with a bounded, jittered backoff and load everything again.
//!
//! Why pub/sub and not a stream: a message missed while disconnected is recovered by the
//! full re-load after every reconnect, and the sorted sets already are the compacted log,
//! so a stream would only duplicate them (with its own trimming problem: entries live for
//! different times). Redis drops a subscriber whose buffer overflows rather than skip
//! messages, so every loss is a disconnect, and every disconnect ends in a re-load.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use redis::aio::{ConnectionManager, PubSub};
use redis::Value;
use tokio::time::{self, MissedTickBehavior};

use super::keys::{self, Keys};
use super::{reply, store_error};
use crate::revocation::list::{RevocationSnapshot, RevocationView, ViewHealth};
use crate::revocation::mirror::{jittered, Event, Mirror, StalePolicy};
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
    /// after the subscription is delivered, and the subscription came first.
    pub(super) async fn subscribe_and_load(&self) -> Result<PubSub, StoreError> {
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
        let snapshot = within(self.timeout, "loading the revocations", self.load()).await??;
        self.mirror.merge(snapshot);
        self.mirror.mark_synced();
        Ok(pubsub)
    }

    /// Every live revocation, read in one transaction.
    async fn load(&self) -> redis::RedisResult<Result<RevocationSnapshot, StoreError>> {
        let above = format!("({}", keys::time(self.mirror.now()));
        let mut con = self.con.clone();
        let (tokens, sessions, cutoffs, befores): (Value, Value, Value, Value) = redis::pipe()
            .atomic()
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
        Ok(reply::snapshot(tokens, sessions, cutoffs, befores))
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
                _ = tick.tick() => match time::timeout(self.timeout, sink.ping::<Value>()).await {
                    Ok(Ok(_)) => self.mirror.mark_synced(),
                    _ => return "a heartbeat went unanswered",
                },
            }
        }
    }

    /// The sync task: runs until the store is dropped (which aborts it).
    pub(super) async fn run(self: Arc<Self>, mut pubsub: PubSub) {
        loop {
            let reason = self.follow(pubsub).await;
            tracing::warn!(target: TARGET, event = "mirror_disconnected", reason,
                "lost the revocation subscription; reconnecting to re-load every revocation");
            let mut attempt: u32 = 0;
            pubsub = loop {
                time::sleep(jittered(self.backoff, attempt)).await;
                attempt = attempt.saturating_add(1);
                match self.subscribe_and_load().await {
                    Ok(pubsub) => break pubsub,
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
