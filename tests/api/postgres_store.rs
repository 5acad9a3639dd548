//! The PostgreSQL store against the PostgreSQL server on 127.0.0.1:5432 (`.ci/run` starts
//! it): each test creates a database of its own and drops it at the end. The store
//! conformance suite, a step-by-step comparison with the in-process store, migrations
//! raced by nodes starting together, two nodes on one
//! database (propagation, reuse across nodes, 32 concurrent refreshes), a node cut off by
//! a TCP proxy (fail closed within the command timeout, the mirror within its bound, the
//! re-sync that recovers what it missed) and TLS. Measurements of propagation delay are
//! an `#[ignore]`d test that prints.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatepass::{
    Algorithm, ConsumeOutcome, EndReason, Keyset, ManualClock, PostgresOptions, PostgresStore,
    RevocationQuery, RevocationView, Revoked, SessionConfig, SessionManager, SessionStore,
    SigningKey, StoreError, SubjectCutoff, VerifyError, ViewHealth,
};

use crate::store_conformance::{consume, record};
use crate::support::{block_on, race_prepared, HS_SECRET, NOW};
use crate::tcp_proxy::Proxy;

#[path = "postgres_store/measurements.rs"]
mod measurements;
#[path = "postgres_store/nodes.rs"]
mod nodes;
#[path = "postgres_store/store.rs"]
mod store;

/// Where the shared test server listens (trust authentication for `postgres`).
pub(crate) const PG_PORT: u16 = 5432;

fn psql(database: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &PG_PORT.to_string(),
            "-U",
            "postgres",
        ])
        .args(["-d", database, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql must be installed (.ci/run installs PostgreSQL)");
    assert!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A database of this test's own, dropped (with any connection still open to it) when
/// the guard goes, even when the test fails.
pub(crate) struct TestDatabase {
    pub(crate) name: String,
}

impl TestDatabase {
    pub(crate) fn create() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "gatepass_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        psql("postgres", &format!("CREATE DATABASE {name}"));
        Self { name }
    }

    /// The URL of this database through `port` (the server's, or a proxy's).
    pub(crate) fn url_via(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{}", self.name)
    }

    pub(crate) fn url(&self) -> String {
        self.url_via(PG_PORT)
    }

    pub(crate) fn query(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &PG_PORT.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-qAtc"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Fast timeouts and a 5 s staleness bound on a manual clock.
fn options(clock: &Arc<ManualClock>, schema: &str) -> PostgresOptions {
    PostgresOptions::new()
        .schema(schema)
        .clock(clock.clone())
        .command_timeout(Duration::from_millis(500))
        .connect_timeout(Duration::from_millis(500))
        .heartbeat(Duration::from_millis(100))
        .staleness_bound(Duration::from_secs(5))
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .pool_size(4)
}

fn connect(
    rt: &tokio::runtime::Runtime,
    url: &str,
    options: PostgresOptions,
) -> Arc<PostgresStore> {
    Arc::new(rt.block_on(PostgresStore::connect(url, options)).unwrap())
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

fn unavailable<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable(_)))
}

fn two_nodes(
    rt: &tokio::runtime::Runtime,
    url: &str,
    clock: &Arc<ManualClock>,
) -> (Arc<PostgresStore>, Arc<PostgresStore>) {
    (
        connect(rt, url, options(clock, "shared")),
        connect(rt, url, options(clock, "shared")),
    )
}

fn keyset() -> Keyset {
    let mut keyset = Keyset::new();
    let key = SigningKey::from_hmac_secret(Algorithm::HS256, HS_SECRET, Some("hs")).unwrap();
    keyset.insert(key, None, NOW).unwrap();
    keyset
}

fn manager(store: Arc<PostgresStore>, clock: &Arc<ManualClock>) -> SessionManager {
    let config = SessionConfig::default().clock(clock.clone());
    SessionManager::new(&keyset(), store, config).unwrap()
}
