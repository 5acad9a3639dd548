//! The Redis store against a real `redis-server` started by each test: the store
//! conformance suite, the Lua rotation against the in-process state machine, two nodes on
//! one Redis (propagation, reuse across nodes, 32 concurrent refreshes), a Redis killed
//! mid-run (fail closed, mirror within its bound, recovery, AOF durability) and a node
//! partitioned from Redis (a missed message recovered by the re-sync). Measurements of
//! propagation delay and bytes per entry are an `#[ignore]`d test that prints.

#[path = "redis_server.rs"]
pub(crate) mod redis_server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatepass::{
    Algorithm, ConsumeOutcome, EndReason, InvalidGrant, Keyset, ManualClock, RedisOptions,
    RedisStore, RevocationQuery, RevocationView, Revoked, SessionConfig, SessionError,
    SessionManager, SessionRecord, SessionStore, SigningKey, StoreError, StoreReadiness,
    SubjectCutoff, VerifyError, ViewHealth,
};
use redis_server::RedisServer;

use crate::store_conformance::{consume, record};
use crate::support::{block_on, race_prepared, HS_SECRET, NOW};
use crate::tcp_proxy::Proxy;

#[path = "redis_store/measurements.rs"]
mod measurements;
#[path = "redis_store/namespace.rs"]
mod namespace;
#[path = "redis_store/outage.rs"]
mod outage;
#[path = "redis_store/reseed.rs"]
mod reseed;
#[path = "redis_store/rotation.rs"]
mod rotation;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Fast timeouts and a 5 s staleness bound on a manual clock.
fn options(clock: &Arc<ManualClock>, prefix: &str) -> RedisOptions {
    RedisOptions::new()
        .prefix(prefix)
        .clock(clock.clone())
        .command_timeout(Duration::from_millis(500))
        .connect_timeout(Duration::from_millis(500))
        .heartbeat(Duration::from_millis(100))
        .staleness_bound(Duration::from_secs(5))
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
}

fn connect(rt: &tokio::runtime::Runtime, url: &str, options: RedisOptions) -> Arc<RedisStore> {
    Arc::new(rt.block_on(RedisStore::connect(url, options)).unwrap())
}

/// Wait (bounded) until `done` holds; propagation is asserted, never its latency.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn revoked(store: &dyn SessionStore, jti: &str, sid: Option<&str>, sub: &str) -> Option<Revoked> {
    store
        .revocations()
        .check(&RevocationQuery::new(jti, sid, sub, 0))
}

fn unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable(_)))
}

fn two_nodes(
    rt: &tokio::runtime::Runtime,
    url: &str,
    clock: &Arc<ManualClock>,
) -> (Arc<RedisStore>, Arc<RedisStore>) {
    (
        connect(rt, url, options(clock, "shared:")),
        connect(rt, url, options(clock, "shared:")),
    )
}

fn keyset() -> Keyset {
    let mut keyset = Keyset::new();
    let key = SigningKey::from_hmac_secret(Algorithm::HS256, HS_SECRET, Some("hs")).unwrap();
    keyset.insert(key, None, NOW).unwrap();
    keyset
}

fn manager(store: Arc<RedisStore>, clock: &Arc<ManualClock>) -> SessionManager {
    let config = SessionConfig::default().clock(clock.clone());
    SessionManager::new(&keyset(), store, config).unwrap()
}

fn zcard(con: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("ZCARD").arg(key).query(con).unwrap()
}
