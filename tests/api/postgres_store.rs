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
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gatepass::{
    Algorithm, ConsumeOutcome, ConsumeRequest, EndReason, IssuedPair, Keyset, ManualClock,
    MemoryStore, PostgresOptions, PostgresStore, RevocationQuery, RevocationView, Revoked,
    SessionConfig, SessionManager, SessionRecord, SessionStore, SigningKey, StoreError,
    SubjectCutoff, VerifyError, ViewHealth,
};

use crate::store_conformance::{consume, record};
use crate::support::{block_on, HS_SECRET, NOW};
use crate::tcp_proxy::Proxy;

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

#[test]
fn postgres_store_conforms() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let n = AtomicUsize::new(0);
    // One empty store per check: a schema each, in this test's database.
    crate::store_conformance::run_all(&|| {
        let schema = format!("conformance{}", n.fetch_add(1, Ordering::SeqCst));
        connect(&rt, &db.url(), options(&clock, &schema))
    });
}

#[test]
fn postgres_connecting_needs_a_runtime_a_valid_url_and_never_echoes_the_password() {
    let clock = Arc::new(ManualClock::new(0));
    let outside = block_on(PostgresStore::connect(
        "postgres://postgres@127.0.0.1:5432/postgres",
        options(&clock, "x"),
    ));
    assert!(matches!(outside, Err(StoreError::Config(_))), "{outside:?}");
    let rt = runtime();
    for bad in [
        "http://nope",
        "postgres://u:s3cret@127.0.0.1:notaport/db",
        "postgres://u:s3cret@127.0.0.1:5432/db?sslmode=bogus",
        "postgres://u:s3cret@127.0.0.1:5432/db?sslmode=verify-full",
    ] {
        let result = rt.block_on(PostgresStore::connect(bad, options(&clock, "x")));
        assert!(matches!(result, Err(StoreError::Config(_))), "{result:?}");
        assert!(!format!("{result:?}").contains("s3cret"));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = rt.block_on(PostgresStore::connect(
        &format!("postgres://u:s3cret@127.0.0.1:{port}/db"),
        options(&clock, "x"),
    ));
    assert!(unavailable(&refused), "{refused:?}");
    assert!(!format!("{refused:?}").contains("s3cret"));
    // A database that does not exist is unavailable (retry once it is created).
    let missing = rt.block_on(PostgresStore::connect(
        "postgres://postgres@127.0.0.1:5432/gatepass_test_does_not_exist",
        options(&clock, "x"),
    ));
    assert!(unavailable(&missing), "{missing:?}");
}

#[test]
fn postgres_nodes_starting_together_migrate_the_schema_once() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let url = db.url();
    let stores: Vec<_> = rt.block_on(async {
        let starts = (0..6).map(|_| PostgresStore::connect(&url, options(&clock, "gatepass")));
        let mut handles = Vec::new();
        for start in starts {
            handles.push(start);
        }
        let mut stores = Vec::new();
        for result in futures_join(handles).await {
            stores.push(result.unwrap());
        }
        stores
    });
    assert_eq!(stores.len(), 6);
    assert_eq!(
        db.query(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM gatepass.schema_version"
        ),
        "1,2"
    );
    // They all work on the one schema.
    block_on(stores[0].create_session(record("s", "u", NOW))).unwrap();
    assert!(block_on(stores[5].session("s")).unwrap().is_some());
    // The other spelling of the scheme is the same database.
    let other = connect(
        &rt,
        &url.replacen("postgres://", "postgresql://", 1),
        options(&clock, "gatepass"),
    );
    assert!(block_on(other.session("s")).unwrap().is_some());
    drop(other);
    drop(stores);
    // A database migrated by a newer gatepass is refused, not written to.
    db.query("INSERT INTO gatepass.schema_version VALUES (99, 0)");
    let newer = rt.block_on(PostgresStore::connect(&url, options(&clock, "gatepass")));
    assert!(matches!(newer, Err(StoreError::Config(_))), "{newer:?}");
}

/// Poll every future together (no extra dependency): the connects race for real.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// A tiny deterministic generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random logins, refreshes of current, parent and older tokens with and without grace,
/// logouts and logouts-all, applied to PostgreSQL and to the in-process store: the
/// records read back, the outcomes and the revocations must agree at every step.
#[test]
fn postgres_agrees_with_the_in_process_store_step_by_step() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let pg = connect(&rt, &db.url(), options(&clock, "diff"));
    let memory = MemoryStore::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sids = ["s0", "s1", "s2"];
    let mut history: Vec<Vec<String>> = vec![Vec::new(); sids.len()];
    let (mut now, mut next) = (0, 0);
    for step in 0..300 {
        now += rng.below(30);
        let i = usize::try_from(rng.below(3)).unwrap();
        let sid = sids[i];
        let current = block_on(memory.session(sid)).unwrap();
        assert_eq!(block_on(pg.session(sid)).unwrap(), current, "step {step}");
        let sub = ["u", "v"][i % 2];
        match rng.below(40) {
            0 => {
                let ended = block_on(memory.revoke_session(sid, now + 600, EndReason::Logout));
                let got = block_on(pg.revoke_session(sid, now + 600, EndReason::Logout));
                assert_eq!(got.unwrap(), ended.unwrap(), "step {step}: logout");
                continue;
            }
            1 => {
                let cutoff = SubjectCutoff::new(now, Some(now + 600));
                let mut ended = block_on(memory.revoke_subject(sub, cutoff, now + 600)).unwrap();
                let mut got = block_on(pg.revoke_subject(sub, cutoff, now + 600)).unwrap();
                ended.sort();
                got.sort();
                assert_eq!(got, ended, "step {step}: logout-all");
                continue;
            }
            _ => {}
        }
        if current.is_none() || rng.below(25) == 0 {
            let fresh = SessionRecord::new(
                sid.into(),
                sub.into(),
                format!("{sid}-{next}"),
                now,
                400,
                60,
            );
            next += 1;
            history[i] = vec![fresh.refresh_jti.clone()];
            block_on(memory.create_session(fresh.clone())).unwrap();
            block_on(pg.create_session(fresh)).unwrap();
            continue;
        }
        let chain = &history[i];
        let back = usize::try_from(rng.below(3)).unwrap().min(chain.len() - 1);
        let jti = chain[chain.len() - 1 - back].clone();
        let gen = u64::try_from(chain.len() - 1 - back).unwrap();
        let grace = [0, 5, 20][usize::try_from(rng.below(3)).unwrap()];
        let request = ConsumeRequest::new(
            sid.into(),
            gen,
            jti,
            now,
            format!("{sid}-{next}"),
            IssuedPair::new(format!("a{next}"), format!("r{next}"), 300),
            grace,
            now + 600,
        );
        next += 1;
        let expected = block_on(memory.consume_if_current(request.clone())).unwrap();
        let got = block_on(pg.consume_if_current(request.clone())).unwrap();
        assert_eq!(got, expected, "step {step}: {request:?}");
        if expected == ConsumeOutcome::Rotated {
            history[i].push(request.next_jti.clone());
        }
        for (sid, sub) in [("s0", "u"), ("s1", "v"), ("s2", "u")] {
            let query = RevocationQuery::new("j", Some(sid), sub, now.saturating_sub(1));
            let (got, expected) = (pg.revocations(), memory.revocations());
            assert_eq!(got.check(&query), expected.check(&query), "step {step}");
        }
    }
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

#[test]
fn postgres_two_nodes_share_sessions_revocations_and_reuse_detection() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &db.url(), &clock);

    block_on(a.create_session(record("s", "alice", 10))).unwrap();
    assert_eq!(
        block_on(b.consume_if_current(consume("s", 0, "s-r0", 11, 0))).unwrap(),
        ConsumeOutcome::Rotated,
        "a session created on A rotates on B"
    );
    assert_eq!(
        block_on(a.consume_if_current(consume("s", 0, "s-r0", 12, 0))).unwrap(),
        ConsumeOutcome::Reused,
        "the spent token is reuse on A too"
    );
    eventually("B enforces the session A ended", || {
        revoked(&*b, "j", Some("s"), "alice") == Some(Revoked::Session)
    });
    assert_eq!(
        block_on(b.consume_if_current(consume("s", 1, "s-r1", 13, 0))).unwrap(),
        ConsumeOutcome::Unknown,
        "the newest token died with the session"
    );

    // A grace answer written by one node is read back whole by the other.
    block_on(a.create_session(record("g", "alice", 10))).unwrap();
    block_on(a.consume_if_current(consume("g", 0, "g-r0", 11, 5))).unwrap();
    let on_b = block_on(b.session("g")).unwrap().unwrap();
    assert_eq!(on_b, block_on(a.session("g")).unwrap().unwrap());
    assert_eq!(on_b.grace.unwrap().successor.refresh_token, "refresh-0");

    block_on(a.revoke_token("jti-1", 900)).unwrap();
    eventually("B enforces A's token revocation", || {
        revoked(&*b, "jti-1", None, "x") == Some(Revoked::Token)
    });
    block_on(b.create_session(record("t", "bob", 10))).unwrap();
    let ended = block_on(b.revoke_subject("bob", SubjectCutoff::new(20, Some(900)), 900)).unwrap();
    assert_eq!(ended, ["t"]);
    eventually("A enforces B's logout-all", || {
        revoked(&*a, "j", None, "bob") == Some(Revoked::Subject)
            && revoked(&*a, "j", Some("t"), "bob") == Some(Revoked::Session)
    });
    // A third node started now loads all of it.
    let c = connect(&rt, &db.url(), options(&clock, "shared"));
    assert_eq!(revoked(&*c, "jti-1", None, "x"), Some(Revoked::Token));
    assert_eq!(
        revoked(&*c, "j", Some("s"), "alice"),
        Some(Revoked::Session)
    );
    assert_eq!(revoked(&*c, "j", None, "bob"), Some(Revoked::Subject));
    // Pruning deletes what is dead and keeps what is not.
    block_on(c.prune(901)).unwrap();
    assert_eq!(db.query("SELECT count(*) FROM shared.revocations"), "0");
    assert_eq!(
        db.query("SELECT count(*) FROM shared.sessions"),
        "0",
        "g ended idle at 111"
    );
}

#[test]
fn postgres_thirty_two_concurrent_refreshes_across_two_nodes_have_exactly_one_winner() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &db.url(), &clock);
    for round in 0..3 {
        let sid = format!("race{round}");
        block_on(a.create_session(record(&sid, "u", 0))).unwrap();
        let barrier = Arc::new(Barrier::new(32));
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let node = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (barrier, sid) = (barrier.clone(), sid.clone());
                std::thread::spawn(move || {
                    let request = consume(&sid, 0, &format!("{sid}-r0"), 1, 0);
                    barrier.wait();
                    block_on(node.consume_if_current(request))
                })
            })
            .collect();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners = outcomes
            .iter()
            .filter(|o| **o == Ok(ConsumeOutcome::Rotated))
            .count();
        assert_eq!(winners, 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            Ok(ConsumeOutcome::Rotated | ConsumeOutcome::Reused | ConsumeOutcome::Unknown)
        )));
        for node in [&a, &b] {
            eventually("both nodes enforce the raced session's end", || {
                revoked(&**node, "j", Some(&sid), "u") == Some(Revoked::Session)
            });
        }
    }
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

#[test]
fn postgres_node_cut_off_fails_closed_in_time_serves_its_mirror_then_recovers_what_it_missed() {
    let db = TestDatabase::create();
    let proxy = Proxy::start(PG_PORT);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = connect(&rt, &db.url(), options(&clock, "part"));
    let b = connect(&rt, &db.url_via(proxy.port()), options(&clock, "part"));
    let sessions_b = manager(b.clone(), &clock);
    let live = block_on(sessions_b.login("frank", Default::default())).unwrap();
    block_on(a.create_session(record("s", "frank", NOW))).unwrap();

    proxy.cut();
    block_on(a.revoke_token("while-cut-off", NOW + 3600)).unwrap();
    block_on(a.revoke_session("s", NOW + 3600, EndReason::Logout)).unwrap();
    // Every write on B fails as unavailable, within the command timeout (500 ms).
    let started = Instant::now();
    assert!(unavailable(&block_on(b.revoke_token("x", NOW + 60))));
    assert!(unavailable(&block_on(sessions_b.store().ping())));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match block_on(sessions_b.refresh(&live.refresh_token)) {
        Err(gatepass::SessionError::Store(StoreError::Unavailable(_))) => {}
        other => panic!("refresh while cut off: {other:?}"),
    }
    // Verification goes on from the mirror, within its bound...
    assert_eq!(
        revoked(&*b, "while-cut-off", None, "x"),
        None,
        "B cannot know yet"
    );
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
    // ...and fails closed past it.
    clock.advance(6);
    assert_eq!(b.revocations().health(), ViewHealth::Unavailable);
    assert_eq!(
        sessions_b
            .verifier()
            .verify_access(&live.access_token)
            .err(),
        Some(VerifyError::RevocationsUnavailable)
    );
    eventually("A's next heartbeat keeps it current", || {
        a.revocations().health() == ViewHealth::Current
    });

    proxy.heal();
    eventually("B re-loads what it missed", || {
        revoked(&*b, "while-cut-off", None, "x") == Some(Revoked::Token)
            && revoked(&*b, "j", Some("s"), "frank") == Some(Revoked::Session)
            && b.revocations().health() == ViewHealth::Current
    });
    // Writes work again without a restart (the pool replaces its dead connections).
    eventually("B's writes recover", || {
        block_on(b.revoke_token("after", NOW + 60)).is_ok()
    });
    assert!(block_on(sessions_b.store().ping()).is_ok());
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
}

#[test]
fn postgres_sslmode_require_uses_tls_and_verifies_the_server_certificate() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let url = format!(
        "postgres://postgres@localhost:{PG_PORT}/{}?sslmode=require",
        db.name
    );
    // The server's certificate is self-signed: no webpki root vouches for it.
    let untrusted = rt.block_on(PostgresStore::connect(&url, options(&clock, "tls")));
    assert!(unavailable(&untrusted), "{untrusted:?}");
    // Trusting it explicitly, the store connects over TLS (as PostgreSQL itself reports).
    let pem = std::fs::read(psql(&db.name, "SHOW ssl_cert_file")).unwrap();
    let store = connect(
        &rt,
        &url,
        options(&clock, "tls").tls_root_certificates(pem.clone()),
    );
    assert!(
        store.endpoint().ends_with("?sslmode=require"),
        "{}",
        store.endpoint()
    );
    block_on(store.revoke_token("over-tls", 900)).unwrap();
    let tls_connections = db.query(&format!(
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE datname = '{}' AND ssl",
        db.name
    ));
    assert!(
        tls_connections.parse::<u32>().unwrap() >= 2,
        "{tls_connections}"
    );
    // A certificate for another name is refused even when trusted.
    let by_address = format!(
        "postgres://postgres@127.0.0.1:{PG_PORT}/{}?sslmode=require",
        db.name
    );
    let mismatch = rt.block_on(PostgresStore::connect(
        &by_address,
        options(&clock, "tls").tls_root_certificates(pem),
    ));
    assert!(unavailable(&mismatch), "{mismatch:?}");
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `cargo test --all-features --release --test api postgres_measurements -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints numbers for docs/DEPLOYMENT.md, asserts nothing about them"]
fn postgres_measurements() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &db.url(), &clock);
    let mut from_call = Vec::new();
    let mut from_ack = Vec::new();
    for i in 0..200 {
        let sid = format!("{i:032}");
        let start = Instant::now();
        block_on(a.revoke_session(&sid, NOW + 600, EndReason::Logout)).unwrap();
        let acked = Instant::now();
        while revoked(&*b, "j", Some(&sid), "u").is_none() {
            std::hint::spin_loop();
        }
        from_call.push(start.elapsed());
        from_ack.push(acked.elapsed());
    }
    from_call.sort();
    from_ack.sort();
    println!(
        "propagation A->B over 200 logouts: from the call p50 {:?} p99 {:?} max {:?}; from A's acknowledgement p50 {:?} p99 {:?}",
        percentile(&from_call, 50),
        percentile(&from_call, 99),
        from_call[from_call.len() - 1],
        percentile(&from_ack, 50),
        percentile(&from_ack, 99),
    );
}

#[test]
fn postgres_is_a_dpop_replay_cache_shared_by_two_nodes_and_pruned() {
    use gatepass::{ReplayCache, ReplayKey};
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let one = connect(&rt, &db.url(), options(&clock, "gatepass"));
    let two = connect(&rt, &db.url(), options(&clock, "gatepass"));
    let key = ReplayKey::new("thumbprint", "jti-1");
    assert_eq!(rt.block_on(one.remember(key, NOW + 66, NOW)), Ok(true));
    assert_eq!(rt.block_on(two.remember(key, NOW + 66, NOW + 1)), Ok(false));
    assert_eq!(
        rt.block_on(one.remember(key, NOW + 66, NOW + 65)),
        Ok(false)
    );
    assert_eq!(
        rt.block_on(two.remember(ReplayKey::new("thumbprint", "jti-2"), NOW + 66, NOW)),
        Ok(true)
    );
    // Once its until has passed, the row is dead: the key may be remembered again.
    assert_eq!(
        rt.block_on(two.remember(key, NOW + 132, NOW + 66)),
        Ok(true)
    );
    assert_eq!(
        rt.block_on(one.remember(key, NOW + 132, NOW + 67)),
        Ok(false)
    );
    assert_eq!(db.query("SELECT count(*) FROM gatepass.dpop_replay"), "2");
    // The store's prune deletes the dead rows (jti-2's), not the live one.
    rt.block_on(one.prune(NOW + 100)).unwrap();
    assert_eq!(db.query("SELECT count(*) FROM gatepass.dpop_replay"), "1");
}
