//! Keeping the mirror in sync: on a dedicated connection, `LISTEN`, then load every live
//! revocation; follow the notifications with a heartbeat query; on any doubt (closed
//! connection, unanswered heartbeat, unreadable notification) reconnect with a bounded,
//! jittered backoff and load everything again.
//!
//! `LISTEN` takes effect before the load reads, so a revocation committed before the
//! load is in it and one committed after is notified. A notification missed while the
//! connection was down is recovered by the full re-load after every reconnect; the
//! `revocations` table is the compacted log.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{self, MissedTickBehavior};
use tokio_postgres::{AsyncMessage, Client, Config};

use super::schema::Sql;
use super::tls::MakeRustls;
use super::{pg_error, rows, TARGET};
use crate::revocation::list::{RevocationView, ViewHealth};
use crate::revocation::mirror::{jittered, Event, Mirror, StalePolicy};
use crate::revocation::store::StoreError;

/// What the sync task needs.
pub(super) struct Feed {
    pub(super) config: Config,
    pub(super) tls: MakeRustls,
    pub(super) sql: Arc<Sql>,
    pub(super) mirror: Arc<Mirror>,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Duration,
    pub(super) backoff: (Duration, Duration),
}

/// A listening connection: the client, and what its driver task hears (`None`: the
/// connection ended).
pub(super) struct Listener {
    client: Client,
    heard: mpsc::UnboundedReceiver<Option<String>>,
    driver: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    match time::timeout(limit, fut).await {
        Ok(result) => result.map_err(|e| pg_error(&e)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "{what} timed out after {limit:?}"
        ))),
    }
}

impl Feed {
    /// Connect, `LISTEN`, then load (see the module notes for why in this order).
    pub(super) async fn listen_and_load(&self) -> Result<Listener, StoreError> {
        let (client, mut connection) = within(
            self.timeout,
            "connecting the listener",
            self.config.connect(self.tls.clone()),
        )
        .await?;
        let (tell, heard) = mpsc::unbounded_channel();
        // The connection does the I/O of the client's queries too: it must be polled all
        // along, and notifications come out of it.
        let driver = tokio::spawn(async move {
            loop {
                match poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        if tell.send(Some(n.payload().to_owned())).is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        let _ = tell.send(None);
                        return;
                    }
                }
            }
        });
        let listener = Listener {
            client,
            heard,
            driver,
        };
        within(
            self.timeout,
            "listening",
            listener.client.batch_execute(&self.sql.listen),
        )
        .await?;
        let now = rows::db(self.mirror.now());
        let loaded = within(
            self.timeout,
            "loading the revocations",
            listener.client.query(&self.sql.load, &[&now]),
        )
        .await?;
        self.mirror.merge(rows::snapshot(&loaded)?);
        self.mirror.mark_synced();
        Ok(listener)
    }

    /// Apply notifications and answer heartbeats until something is wrong; say what.
    async fn follow(&self, listener: &mut Listener) -> &'static str {
        let mut tick = time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                heard = listener.heard.recv() => match heard {
                    Some(Some(payload)) => match Event::parse(payload.as_bytes()) {
                        Some(event) => self.mirror.apply(event),
                        None => return "an unreadable revocation notification",
                    },
                    _ => return "the notification connection closed",
                },
                _ = tick.tick() => {
                    match time::timeout(self.timeout, listener.client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => self.mirror.mark_synced(),
                        _ => return "a heartbeat went unanswered",
                    }
                }
            }
        }
    }

    /// The sync task: runs until the store is dropped (which aborts it).
    pub(super) async fn run(self: Arc<Self>, mut listener: Listener) {
        loop {
            let reason = self.follow(&mut listener).await;
            drop(listener);
            tracing::warn!(target: TARGET, event = "mirror_disconnected", reason,
                "lost the revocation notifications; reconnecting to re-load every revocation");
            let mut attempt: u32 = 0;
            listener = loop {
                time::sleep(jittered(self.backoff, attempt)).await;
                attempt = attempt.saturating_add(1);
                match self.listen_and_load().await {
                    Ok(listener) => break listener,
                    Err(error) => self.report(&error, attempt),
                }
            };
            tracing::info!(target: TARGET, event = "mirror_resynced", attempts = attempt,
                "revocation mirror re-loaded and listening again");
        }
    }

    fn report(&self, error: &StoreError, attempt: u32) {
        let lag_secs = self.mirror.lag();
        match self.mirror.health() {
            ViewHealth::Current => {
                tracing::warn!(target: TARGET, event = "mirror_reconnect_failed",
                attempt, lag_secs, %error, "cannot reach PostgreSQL; verifying from the mirror within its staleness bound")
            }
            _ if self.mirror.policy() == StalePolicy::FailOpen => tracing::error!(target: TARGET,
                event = "mirror_stale_fail_open", attempt, lag_secs, %error,
                "REVOCATIONS ARE STALE AND VERIFICATION FAILS OPEN (operator's choice): logouts made on other nodes since are NOT enforced here"),
            _ => tracing::error!(target: TARGET, event = "mirror_stale_fail_closed", attempt,
                lag_secs, %error, "revocation mirror past its staleness bound: every token is rejected (revocations_unavailable) until PostgreSQL is back"),
        }
    }
}
