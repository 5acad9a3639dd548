//! The Redis store against a real `redis-server` started by each test: the store
//! conformance suite, the Lua rotation against the in-process state machine, two nodes on
//! one Redis (propagation, reuse across nodes, 32 concurrent refreshes), a Redis killed
//! mid-run (fail closed, mirror within its bound, recovery, AOF durability) and a node
//! partitioned from Redis (a missed message recovered by the re-sync). Measurements of
//! propagation delay and bytes per entry are an `#[ignore]`d test that prints.

#[path = "redis_server.rs"]
pub(crate) mod redis_server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gatepass::{
    Algorithm, ConsumeOutcome, ConsumeRequest, EndReason, InvalidGrant, IssuedPair, Keyset,
    ManualClock, MemoryStore, RedisOptions, RedisStore, RevocationQuery, RevocationView, Revoked,
    SessionConfig, SessionError, SessionManager, SessionRecord, SessionStore, SigningKey,
    StoreError, StoreReadiness, SubjectCutoff, VerifyError, ViewHealth,
};
use redis_server::RedisServer;

use crate::store_conformance::{consume, record};
use crate::support::{block_on, HS_SECRET, NOW};
use crate::tcp_proxy::Proxy;

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

#[test]
fn connecting_needs_a_tokio_runtime_and_a_valid_url() {
    let clock = Arc::new(ManualClock::new(0));
    let outside = block_on(RedisStore::connect(
        "redis://127.0.0.1:1/0",
        options(&clock, "x:"),
    ));
    assert!(matches!(outside, Err(StoreError::Config(_))), "{outside:?}");
    let rt = runtime();
    let bad = rt.block_on(RedisStore::connect("http://nope", options(&clock, "x:")));
    assert!(matches!(bad, Err(StoreError::Config(_))), "{bad:?}");
    let refused = rt.block_on(RedisStore::connect(
        &format!("redis://127.0.0.1:{}/0", redis_server::free_port()),
        options(&clock, "x:"),
    ));
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
}

#[test]
fn redis_store_conforms() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let n = AtomicUsize::new(0);
    crate::store_conformance::run_all(&|| {
        let prefix = format!("conformance{}:", n.fetch_add(1, Ordering::SeqCst));
        connect(&rt, &server.url(), options(&clock, &prefix))
    });
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

#[test]
fn the_lua_rotation_decides_exactly_like_the_in_process_state_machine() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let redis = connect(&rt, &server.url(), options(&clock, "diff:"));
    let memory = MemoryStore::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sids = ["s0", "s1", "s2"];
    let mut history: Vec<Vec<String>> = vec![Vec::new(); sids.len()];
    let mut now = 0;
    let mut next = 0;
    for step in 0..400 {
        now += rng.below(30);
        let i = usize::try_from(rng.below(3)).unwrap();
        let sid = sids[i];
        let current = block_on(memory.session(sid)).unwrap();
        assert_eq!(
            block_on(redis.session(sid)).unwrap(),
            current,
            "step {step}: records"
        );
        let sub = ["u", "v"][i % 2];
        match rng.below(40) {
            0 => {
                let ended = block_on(memory.revoke_session(sid, now + 600, EndReason::Logout));
                let got = block_on(redis.revoke_session(sid, now + 600, EndReason::Logout));
                assert_eq!(got.unwrap(), ended.unwrap(), "step {step}: logout");
                continue;
            }
            1 => {
                let cutoff = SubjectCutoff::new(now, Some(now + 600));
                let mut ended = block_on(memory.revoke_subject(sub, cutoff, now + 600)).unwrap();
                let mut got = block_on(redis.revoke_subject(sub, cutoff, now + 600)).unwrap();
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
            block_on(redis.create_session(fresh)).unwrap();
            continue;
        }
        // Present the current token, its parent, or an older one, with or without grace.
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
        let got = block_on(redis.consume_if_current(request.clone())).unwrap();
        assert_eq!(got, expected, "step {step}: {request:?}");
        if expected == ConsumeOutcome::Rotated {
            history[i].push(request.next_jti.clone());
        }
        for (sid, sub) in [("s0", "u"), ("s1", "v"), ("s2", "u")] {
            let query = RevocationQuery::new("j", Some(sid), sub, now.saturating_sub(1));
            let (got, expected) = (redis.revocations(), memory.revocations());
            assert_eq!(got.check(&query), expected.check(&query), "step {step}");
        }
    }
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

/// The subject index (sid -> absolute end, what logout-all walks) forgets sessions past
/// their absolute end at the subject's next login or rotation. Found by review: sessions
/// that simply expired stayed in it forever.
#[test]
fn the_subject_index_forgets_sessions_past_their_absolute_end() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let store = connect(&rt, &server.url(), options(&clock, "idx:"));
    let mut con = server.connection();
    let sessions = |con: &mut redis::Connection| -> i64 {
        redis::cmd("HLEN").arg("idx:u:ivy").query(con).unwrap()
    };
    // record(): absolute lifetime 1000 s, idle timeout 100 s.
    for i in 0..10 {
        block_on(store.create_session(record(&format!("old{i}"), "ivy", NOW))).unwrap();
    }
    assert_eq!(sessions(&mut con), 10);
    block_on(store.create_session(record("late", "ivy", NOW + 960))).unwrap();
    assert_eq!(sessions(&mut con), 11, "nothing has ended yet");
    // A login after their absolute end drops the ten.
    block_on(store.create_session(record("new", "ivy", NOW + 1000))).unwrap();
    assert_eq!(sessions(&mut con), 2);
    // A rotation prunes too: at NOW + 1961 "late" is past its end, "new" is not.
    block_on(store.create_session(record("b", "ivy", NOW + 1900))).unwrap();
    assert_eq!(
        block_on(store.consume_if_current(consume("b", 0, "b-r0", NOW + 1961, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert_eq!(sessions(&mut con), 2, "late went, new and b stay");
    // Logout-all still ends exactly the live ones.
    let ended =
        block_on(store.revoke_subject("ivy", SubjectCutoff::new(NOW + 1962, None), NOW + 1962))
            .unwrap();
    assert_eq!(ended.len(), 2);
}

#[test]
fn two_nodes_share_sessions_revocations_and_reuse_detection() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);

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
}

#[test]
fn thirty_two_concurrent_refreshes_across_two_nodes_have_exactly_one_winner() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
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
                    block_on(node.consume_if_current(request)).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners = outcomes
            .iter()
            .filter(|o| **o == ConsumeOutcome::Rotated)
            .count();
        assert_eq!(winners, 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            ConsumeOutcome::Rotated | ConsumeOutcome::Reused | ConsumeOutcome::Unknown
        )));
        // With grace 0 the losers are reuse: the session is over on both nodes.
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

fn manager(store: Arc<RedisStore>, clock: &Arc<ManualClock>) -> SessionManager {
    let config = SessionConfig::default().clock(clock.clone());
    SessionManager::new(&keyset(), store, config).unwrap()
}

#[test]
fn login_on_a_refresh_on_b_logout_on_a_is_rejected_on_b() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    let (a, b) = (manager(a, &clock), manager(b, &clock));

    let first = block_on(a.login("alice", Default::default())).unwrap();
    let second = block_on(b.refresh(&first.refresh_token)).unwrap();
    assert!(b.authenticate(&second.access_token).is_ok());
    let verified = a.authenticate(&second.access_token).unwrap();
    block_on(a.logout(&verified)).unwrap();
    eventually("B rejects the logged-out session's access token", || {
        b.verifier().verify_access(&second.access_token).err()
            == Some(VerifyError::Revoked(Revoked::Session))
    });
    match block_on(b.refresh(&second.refresh_token)) {
        Err(SessionError::InvalidGrant(InvalidGrant::Token(VerifyError::Revoked(_))))
        | Err(SessionError::InvalidGrant(InvalidGrant::UnknownSession)) => {}
        other => panic!("refresh after logout: {other:?}"),
    }
}

#[test]
fn redis_killed_mid_run_fails_closed_serves_the_mirror_then_recovers_with_every_acknowledged_revocation(
) {
    let mut server = RedisServer::start(true);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    let sessions_b = manager(b.clone(), &clock);
    let live = block_on(sessions_b.login("carol", Default::default())).unwrap();
    block_on(a.create_session(record("kept", "dave", NOW))).unwrap();
    block_on(a.revoke_token("revoked-before-the-kill", NOW + 3600)).unwrap();
    eventually("B has the revocation", || {
        revoked(&*b, "revoked-before-the-kill", None, "x") == Some(Revoked::Token)
    });

    server.kill();
    // Writes fail closed.
    assert!(unavailable(block_on(
        a.create_session(record("new", "erin", NOW))
    )));
    assert!(unavailable(block_on(
        a.consume_if_current(consume("kept", 0, "kept-r0", NOW, 0))
    )));
    assert!(unavailable(block_on(a.revoke_token("lost", NOW + 60))));
    assert!(matches!(
        block_on(sessions_b.refresh(&live.refresh_token)),
        Err(SessionError::Store(StoreError::Unavailable(_)))
    ));
    // Verification keeps using the mirror within the staleness bound...
    assert_eq!(b.revocations().health(), ViewHealth::Current);
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
    assert_eq!(
        revoked(&*b, "revoked-before-the-kill", None, "x"),
        Some(Revoked::Token)
    );
    // ...then fails closed.
    clock.advance(6);
    assert_eq!(b.revocations().health(), ViewHealth::Unavailable);
    assert_eq!(
        sessions_b
            .authenticate(&live.access_token)
            .unwrap_err()
            .to_string(),
        SessionError::InvalidToken(VerifyError::RevocationsUnavailable).to_string()
    );
    // Past the bound, refresh and RFC 7009 revocation cannot judge a token either: they
    // fail as an outage (503), never `invalid_grant` (which tells a client to discard its
    // refresh token) nor "revoked" with nothing stored. Found by review.
    assert!(matches!(
        block_on(sessions_b.refresh(&live.refresh_token)),
        Err(SessionError::Store(StoreError::Unavailable(_)))
    ));
    for (token, hint) in [
        (&live.refresh_token, Some("refresh_token")),
        (&live.access_token, Some("access_token")),
        (&live.access_token, None),
    ] {
        assert!(
            matches!(
                block_on(sessions_b.revoke(token, hint)),
                Err(SessionError::Store(StoreError::Unavailable(_)))
            ),
            "{hint:?}"
        );
    }
    // A token that is simply invalid is still ignored, as RFC 7009 asks.
    assert!(block_on(sessions_b.revoke("not-a-token", None)).is_ok());

    server.restart();
    eventually("B re-syncs after the restart", || {
        b.revocations().health() == ViewHealth::Current
    });
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
    eventually("A's writes work again", || {
        block_on(a.create_session(record("after", "erin", NOW + 6))).is_ok()
    });
    // What was acknowledged before the kill survived it (AOF), seen by a new node too.
    let c = connect(&rt, &server.url(), options(&clock, "shared:"));
    assert_eq!(
        revoked(&*c, "revoked-before-the-kill", None, "x"),
        Some(Revoked::Token)
    );
    assert!(block_on(c.session("kept")).unwrap().is_some());
    assert_eq!(
        block_on(c.consume_if_current(consume("kept", 0, "kept-r0", NOW + 6, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert!(block_on(sessions_b.refresh(&live.refresh_token)).is_ok());
}

#[test]
fn a_revocation_made_while_a_node_is_cut_off_reaches_it_through_the_resync() {
    let server = RedisServer::start(false);
    let proxy = Proxy::start(server.port());
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = connect(&rt, &server.url(), options(&clock, "part:"));
    let b = connect(
        &rt,
        &format!("redis://127.0.0.1:{}/0", proxy.port()),
        options(&clock, "part:"),
    );
    block_on(a.create_session(record("s", "frank", NOW))).unwrap();

    proxy.cut();
    block_on(a.revoke_token("while-cut-off", NOW + 3600)).unwrap();
    block_on(a.revoke_session("s", NOW + 3600, EndReason::Logout)).unwrap();
    assert!(unavailable(block_on(b.revoke_token("x", NOW + 60))));
    assert_eq!(
        revoked(&*b, "while-cut-off", None, "x"),
        None,
        "B cannot know yet"
    );
    clock.advance(6);
    assert_eq!(b.revocations().health(), ViewHealth::Unavailable);
    eventually("A's next heartbeat keeps it current", || {
        a.revocations().health() == ViewHealth::Current
    });

    proxy.heal();
    eventually("B re-loads what it missed", || {
        revoked(&*b, "while-cut-off", None, "x") == Some(Revoked::Token)
            && revoked(&*b, "j", Some("s"), "frank") == Some(Revoked::Session)
            && b.revocations().health() == ViewHealth::Current
    });
}

#[test]
fn every_key_carries_a_ttl_and_the_namespace_holds_nothing_else() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let store = connect(&rt, &server.url(), options(&clock, "ttl:"));
    let other = connect(&rt, &server.url(), options(&clock, "other:"));
    block_on(store.create_session(record("s1", "gina", NOW))).unwrap();
    block_on(store.create_session(record("s2", "gina", NOW))).unwrap();
    block_on(store.consume_if_current(consume("s1", 0, "s1-r0", NOW + 1, 5))).unwrap();
    block_on(store.revoke_token("j", NOW + 50)).unwrap();
    block_on(store.revoke_session("s2", NOW + 60, EndReason::Logout)).unwrap();
    block_on(store.revoke_subject("hank", SubjectCutoff::new(NOW, Some(NOW + 70)), NOW + 70))
        .unwrap();
    let mut con = server.connection();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("ttl:*").query(&mut con).unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ttl:epoch",
            "ttl:g:s1",
            "ttl:r:jti",
            "ttl:r:sid",
            "ttl:r:sub",
            "ttl:r:subb",
            "ttl:s:s1",
            "ttl:u:gina"
        ]
    );
    let ttl = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("TTL").arg(key).query(con).unwrap()
    };
    // The epoch alone has none: its absence is what says the store lost its data.
    assert_eq!(ttl(&mut con, "ttl:epoch"), -1);
    let expected = [
        ("ttl:g:s1", 5 + 5),
        ("ttl:r:jti", 50),
        ("ttl:r:sid", 60),
        ("ttl:r:sub", 70),
        ("ttl:r:subb", 70),
        ("ttl:s:s1", 100 + 60),
        ("ttl:u:gina", 100 + 60),
    ];
    for (key, secs) in expected {
        let left = ttl(&mut con, key);
        assert!(
            (secs - 2..=secs).contains(&left),
            "{key}: {left} s left, expected {secs}"
        );
    }
    // The other namespace saw none of it.
    assert_eq!(revoked(&*other, "j", None, "x"), None);
    assert!(block_on(other.session("s1")).unwrap().is_none());
}

#[test]
fn foreign_writes_under_the_prefix_are_reported_as_corrupt_never_trusted() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let store = connect(&rt, &server.url(), options(&clock, "junk:"));
    let mut con = server.connection();
    let _: () = redis::cmd("SET")
        .arg("junk:s:string")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("junk:s:partial")
        .arg("sub")
        .arg("u")
        .query(&mut con)
        .unwrap();
    for sid in ["string", "partial"] {
        let result = block_on(store.consume_if_current(consume(sid, 0, "r0", 1, 0)));
        assert!(
            matches!(result, Err(StoreError::Corrupt(_))),
            "{sid}: {result:?}"
        );
        let result = block_on(store.session(sid));
        assert!(
            matches!(result, Err(StoreError::Corrupt(_))),
            "{sid}: {result:?}"
        );
    }
}

/// Every command the store sends, directly or from its scripts (docs/DEPLOYMENT.md).
const ACL_COMMANDS: &str = "+evalsha +eval +multi +exec +hgetall +hmget +hset +hdel +hget \
    +hkeys +del +exists +expire +persist +ttl +zadd +zremrangebyscore +zrangebyscore +publish \
    +subscribe +ping +select +get +set +scard +sadd +srem";

#[test]
fn auth_from_the_url_with_an_acl_user_limited_to_the_prefix_and_its_channel() {
    let server = RedisServer::start(false);
    let mut con = server.connection();
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER")
        .arg("gatepass")
        .arg("on")
        .arg(">s3cret pass");
    acl.arg("resetkeys")
        .arg("~gp:*")
        .arg("resetchannels")
        .arg("&gp:*")
        .arg("-@all");
    for command in ACL_COMMANDS.split_whitespace() {
        acl.arg(command);
    }
    let _: () = acl.query(&mut con).unwrap();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let url = format!(
        "redis://gatepass:s3cret%20pass@127.0.0.1:{}/0",
        server.port()
    );
    let a = connect(&rt, &url, options(&clock, "gp:"));
    let b = connect(&rt, &url, options(&clock, "gp:"));
    assert!(!format!("{a:?}").contains("s3cret"), "{a:?}");
    block_on(a.create_session(record("s", "ida", 10))).unwrap();
    block_on(a.consume_if_current(consume("s", 0, "s-r0", 11, 5))).unwrap();
    assert!(block_on(b.session("s")).unwrap().unwrap().grace.is_some());
    block_on(b.revoke_subject("ida", SubjectCutoff::new(20, Some(900)), 900)).unwrap();
    block_on(b.prune(1)).unwrap();
    eventually("A sees B's logout-all", || {
        revoked(&*a, "j", Some("s"), "ida") == Some(Revoked::Session)
    });
    // A wrong password, or a prefix outside the user's keys, is refused.
    let wrong = format!("redis://gatepass:nope@127.0.0.1:{}/0", server.port());
    assert!(rt
        .block_on(RedisStore::connect(&wrong, options(&clock, "gp:")))
        .is_err());
    assert!(rt
        .block_on(RedisStore::connect(&url, options(&clock, "other:")))
        .is_err());
}

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, as PEM.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    // Distinct names: OpenSSL takes a leaf named like its issuer for self-signed.
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gatepass test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca,
        server: leaf("127.0.0.1"),
        client: leaf("gatepass-node"),
    }
}

#[test]
fn rediss_connects_through_rustls_on_ring_with_a_private_ca_and_a_client_certificate() {
    let pki = pki();
    let certs = tempfile::tempdir().unwrap();
    let write = |name: &str, pem: &str| {
        let path = certs.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let tls_port = redis_server::free_port();
    let server = RedisServer::start_with(
        false,
        vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            write("server.pem", &pki.server.0),
            "--tls-key-file".into(),
            write("server.key", &pki.server.1),
            "--tls-ca-cert-file".into(),
            write("ca.pem", &pki.ca),
            "--tls-auth-clients".into(),
            "yes".into(),
        ],
    );
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    // A server no trusted root vouches for is refused, and so is a client without a
    // certificate when the server asks for one.
    assert!(rt
        .block_on(RedisStore::connect(&url, options(&clock, "tls:")))
        .is_err());
    let no_identity = options(&clock, "tls:").tls_root_certificates(pki.ca.clone());
    assert!(rt.block_on(RedisStore::connect(&url, no_identity)).is_err());
    // TLS settings on a plain URL are a configuration error, not a silent downgrade.
    let plain = rt.block_on(RedisStore::connect(
        &server.url(),
        options(&clock, "tls:").tls_root_certificates(pki.ca.clone()),
    ));
    assert!(matches!(plain, Err(StoreError::Config(_))), "{plain:?}");

    let over_tls = options(&clock, "tls:")
        .tls_root_certificates(pki.ca.clone())
        .tls_client_identity(pki.client.0.clone(), pki.client.1.clone());
    let a = connect(&rt, &url, over_tls);
    assert!(
        a.endpoint().starts_with("rediss://127.0.0.1:"),
        "{}",
        a.endpoint()
    );
    let b = connect(&rt, &server.url(), options(&clock, "tls:"));
    block_on(a.revoke_token("over-tls", 900)).unwrap();
    eventually("a plain node sees the TLS node's revocation", || {
        revoked(&*b, "over-tls", None, "x") == Some(Revoked::Token)
    });
    block_on(b.revoke_token("to-tls", 900)).unwrap();
    eventually(
        "the TLS node's mirror sees the plain node's revocation",
        || revoked(&*a, "to-tls", None, "x") == Some(Revoked::Token),
    );
}

/// What the tests below revoke: tokens on A, a session and two cut-offs (one kept until
/// replaced) across A and B, and one entry already dead at the loss.
fn revoke_a_mix(a: &RedisStore, b: &RedisStore) {
    for i in 0..10 {
        block_on(a.revoke_token(&format!("jti-{i}"), NOW + 3600)).unwrap();
    }
    block_on(b.create_session(record("ended", "kim", NOW))).unwrap();
    block_on(b.revoke_session("ended", NOW + 3600, EndReason::Logout)).unwrap();
    block_on(a.revoke_subject("lee", SubjectCutoff::new(NOW, None), NOW + 3600)).unwrap();
    block_on(b.revoke_subject(
        "max",
        SubjectCutoff::new(NOW - 5, Some(NOW + 600)),
        NOW + 600,
    ))
    .unwrap();
    block_on(a.revoke_token("dead-at-the-loss", NOW + 1)).unwrap();
}

/// Whether `store` enforces every revocation of [`revoke_a_mix`] still alive.
fn enforces_the_mix(store: &dyn SessionStore) -> bool {
    let check = |jti: &str, sid: Option<&str>, sub: &str, iat: u64| {
        store
            .revocations()
            .check(&RevocationQuery::new(jti, sid, sub, iat))
    };
    (0..10).all(|i| check(&format!("jti-{i}"), None, "x", NOW) == Some(Revoked::Token))
        && check("j", Some("ended"), "kim", NOW) == Some(Revoked::Session)
        && check("j", None, "lee", NOW - 1) == Some(Revoked::Subject)
        && check("j", None, "lee", NOW).is_none()
        && check("j", None, "max", NOW - 6) == Some(Revoked::Subject)
        && check("j", None, "max", NOW - 5).is_none()
}

fn zcard(con: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("ZCARD").arg(key).query(con).unwrap()
}

/// Found by fault injection: Redis without persistence, killed and restarted empty. The
/// running nodes kept refusing what they had mirrored, but a node started afterwards
/// loaded an empty store and accepted every token revoked before the outage.
#[test]
fn a_redis_restarted_empty_gets_back_every_revocation_the_running_nodes_held() {
    let mut server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    let sessions_b = manager(b.clone(), &clock);
    let live = block_on(sessions_b.login("nia", Default::default())).unwrap();
    revoke_a_mix(&a, &b);
    eventually("both mirrors hold every revocation", || {
        enforces_the_mix(&*a) && enforces_the_mix(&*b)
    });
    assert_eq!(a.readiness(), StoreReadiness::Ready);
    clock.advance(2); // "dead-at-the-loss" is dead now: it is not written back

    server.restart(); // SIGKILL, then an empty Redis on the same port
    eventually(
        "A and B notice the loss and write their revocations back",
        || {
            let mut con = server.connection();
            a.readiness() == StoreReadiness::Ready
                && b.readiness() == StoreReadiness::Ready
                && zcard(&mut con, "shared:r:jti") == 10
                && zcard(&mut con, "shared:r:sid") == 1
                && zcard(&mut con, "shared:r:sub") == 2
        },
    );
    let mut con = server.connection();
    let lost: i64 = redis::cmd("SCARD")
        .arg("shared:lost")
        .query(&mut con)
        .unwrap();
    assert_eq!(lost, 0, "no node is still writing back");
    let entries: Vec<String> = redis::cmd("ZRANGE")
        .arg("shared:r:jti")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert!(!entries.contains(&"dead-at-the-loss".to_owned()));

    // A node started after the loss enforces all of it.
    let c = connect(&rt, &server.url(), options(&clock, "shared:"));
    assert_eq!(c.readiness(), StoreReadiness::Ready);
    assert!(enforces_the_mix(&*c), "{:?}", c.list().counts());
    // The cut-off kept until replaced is kept that way (no TTL), the other one expires.
    let ttl = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("TTL").arg(key).query(con).unwrap()
    };
    assert_eq!(ttl(&mut con, "shared:r:sub"), -1);
    // Sessions the store lost stay lost: refresh fails closed.
    assert!(matches!(
        block_on(sessions_b.refresh(&live.refresh_token)),
        Err(SessionError::InvalidGrant(InvalidGrant::UnknownSession))
    ));
    // Writes work again everywhere, and what they revoke reaches every mirror.
    block_on(c.revoke_token("after", NOW + 60)).unwrap();
    eventually("A sees C's revocation", || {
        revoked(&*a, "after", None, "x") == Some(Revoked::Token)
    });
}

/// `FLUSHDB` drops no connection: the heartbeat's epoch check is what notices it.
#[test]
fn a_flushed_redis_is_noticed_by_the_heartbeat_and_written_back() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    revoke_a_mix(&a, &b);
    eventually("A holds every revocation", || enforces_the_mix(&*a));
    let mut con = server.connection();
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    eventually("the revocations are back in Redis", || {
        zcard(&mut con, "shared:r:jti") == 11 && a.readiness() == StoreReadiness::Ready
    });
    let c = connect(&rt, &server.url(), options(&clock, "shared:"));
    assert!(enforces_the_mix(&*c));
}

/// A node with nothing to restore the store from does not trust a store that may have
/// lost data: revocations without an epoch (written by a version without epochs, or the
/// epoch deleted), or a loss another node is still writing back.
#[test]
fn a_new_node_that_cannot_tell_whether_redis_lost_data_fails_closed_until_it_can() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = connect(&rt, &server.url(), options(&clock, "doubt:"));
    let sessions_a = manager(a.clone(), &clock);
    let pair = block_on(sessions_a.login("oli", Default::default())).unwrap();
    block_on(a.revoke_token("gone", NOW + 3600)).unwrap();
    drop(sessions_a);
    drop(a); // no node holds the revocations any more
    let mut con = server.connection();
    let _: () = redis::cmd("DEL")
        .arg("doubt:epoch")
        .query(&mut con)
        .unwrap();

    let c = connect(&rt, &server.url(), options(&clock, "doubt:"));
    let sessions_c = manager(c.clone(), &clock);
    assert_eq!(c.readiness(), StoreReadiness::DataLost);
    assert_eq!(c.revocations().health(), ViewHealth::Unavailable);
    assert_eq!(
        sessions_c
            .verifier()
            .verify_access(&pair.access_token)
            .err(),
        Some(VerifyError::RevocationsUnavailable),
        "fails closed, past any staleness bound"
    );
    assert!(unavailable(block_on(
        c.create_session(record("s", "oli", NOW))
    )));
    assert!(unavailable(block_on(c.revoke_token("x", NOW + 60))));
    assert!(matches!(
        block_on(sessions_c.login("oli", Default::default())),
        Err(SessionError::Store(StoreError::Unavailable(_)))
    ));
    // It keeps re-loading: nothing changes while nothing vouches for the store.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.readiness(), StoreReadiness::DataLost);

    // A loss being written back: still in doubt; once written back, it trusts the store.
    let _: () = redis::cmd("SADD")
        .arg("doubt:lost")
        .arg("another-node")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("doubt:epoch")
        .arg("restored")
        .query(&mut con)
        .unwrap();
    let d = connect(&rt, &server.url(), options(&clock, "doubt:"));
    assert_eq!(d.readiness(), StoreReadiness::DataLost);
    let _: () = redis::cmd("SREM")
        .arg("doubt:lost")
        .arg("another-node")
        .query(&mut con)
        .unwrap();
    for node in [&c, &d] {
        eventually("the nodes trust the restored store", || {
            node.readiness() == StoreReadiness::Ready
        });
        assert_eq!(node.revocations().health(), ViewHealth::Current);
        assert_eq!(revoked(&**node, "gone", None, "x"), Some(Revoked::Token));
    }
    assert!(sessions_c.authenticate(&pair.access_token).is_ok());
    block_on(c.revoke_token("x", NOW + 60)).unwrap();
}

/// A genuinely new, empty Redis: the first node creates the epoch, the next adopts it.
#[test]
fn a_new_empty_redis_is_trusted_at_once() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    assert_eq!(a.readiness(), StoreReadiness::Ready);
    assert_eq!(b.readiness(), StoreReadiness::Ready);
    let mut con = server.connection();
    let epoch: Option<String> = redis::cmd("GET")
        .arg("shared:epoch")
        .query(&mut con)
        .unwrap();
    assert_eq!(epoch.map(|e| e.len()), Some(32));
    block_on(b.revoke_token("j", NOW + 60)).unwrap();
}

/// How long after Redis comes back (empty) the nodes' revocations are back in it.
/// `cargo test --all-features --test api reseed_measurements -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints how long a re-seed takes, asserts only that it happens"]
fn reseed_measurements() {
    for n in [25_usize, 10_000] {
        let mut server = RedisServer::start(false);
        let rt = runtime();
        let clock = Arc::new(ManualClock::new(NOW));
        let a = connect(&rt, &server.url(), options(&clock, "m:"));
        for i in 0..n {
            match i % 3 {
                0 => {
                    block_on(a.revoke_token(&format!("{i:08x}-1111-4000-8000-{i:012x}"), NOW + 600))
                }
                1 => block_on(a.revoke_session(&format!("{i:0>43}"), NOW + 600, EndReason::Logout))
                    .map(drop),
                _ => block_on(a.revoke_subject(
                    &format!("user-{i:010}"),
                    SubjectCutoff::new(NOW, Some(NOW + 600)),
                    NOW + 600,
                ))
                .map(drop),
            }
            .unwrap();
        }
        server.restart();
        let back = Instant::now();
        let mut reseeding_seen = None;
        while a.readiness() != StoreReadiness::Ready {
            if reseeding_seen.is_none() && a.readiness() == StoreReadiness::Reseeding {
                reseeding_seen = Some(back.elapsed());
            }
            assert!(back.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_micros(200));
        }
        let done = back.elapsed();
        let mut con = server.connection();
        let total =
            zcard(&mut con, "m:r:jti") + zcard(&mut con, "m:r:sid") + zcard(&mut con, "m:r:sub");
        assert_eq!(usize::try_from(total).unwrap(), n);
        println!(
            "{n} revocations: Redis answering again -> re-seed started {:?} (reconnect backoff 20-200 ms), -> done {:?} (writing back: {:?})",
            reseeding_seen,
            done,
            reseeding_seen.map(|seen| done - seen)
        );
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `cargo test --all-features --test api redis_measurements -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints numbers for docs/DEPLOYMENT.md, asserts nothing about them"]
fn redis_measurements() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);

    // Propagation: a logout on A until B's mirror enforces it.
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

    // Bytes of one entry as Redis counts them (MEMORY USAGE), from a real login and a
    // refresh with a grace window...
    let config = SessionConfig::default()
        .clock(clock.clone())
        .grace(Duration::from_secs(10));
    let sessions = SessionManager::new(&keyset(), a.clone(), config).unwrap();
    let pair = block_on(sessions.login("user-0001234567", Default::default())).unwrap();
    let mut con = server.connection();
    let usage = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query::<Option<i64>>(con)
            .unwrap()
            .unwrap_or(0)
    };
    let used = |con: &mut redis::Connection| -> i64 {
        let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let session_key = format!("shared:s:{}", pair.sid);
    println!(
        "MEMORY USAGE: session hash {} B, subject index with 1 session {} B (tokens: access {} B, refresh {} B)",
        usage(&mut con, &session_key),
        usage(&mut con, "shared:u:user-0001234567"),
        pair.access_token.len(),
        pair.refresh_token.len()
    );
    block_on(sessions.refresh(&pair.refresh_token)).unwrap();
    println!(
        "MEMORY USAGE after a refresh with grace: session hash {} B, grace entry {} B",
        usage(&mut con, &session_key),
        usage(&mut con, &format!("shared:g:{}", pair.sid))
    );

    // ...and the growth of Redis's whole memory per entry (keys, TTL entries, dict
    // overhead included), over many entries shaped like real ones.
    let n = 20_000;
    let start = used(&mut con);
    for i in 0..n {
        let record = SessionRecord::new(
            format!("{i:0>32}"),
            format!("user-{i:010}"),
            format!("{i:08x}-0000-4000-8000-{i:012x}"),
            NOW,
            12 * 3600,
            1800,
        );
        block_on(a.create_session(record)).unwrap();
    }
    let sessions_done = used(&mut con);
    for i in 0..n {
        block_on(a.revoke_session(&format!("x{i:0>31}"), NOW + 600, EndReason::Logout)).unwrap();
    }
    let sids_done = used(&mut con);
    for i in 0..n {
        let jti = format!("{i:08x}-1111-4000-8000-{i:012x}");
        block_on(a.revoke_token(&jti, NOW + 600)).unwrap();
    }
    let jtis_done = used(&mut con);
    for i in 0..n {
        let record = SessionRecord::new(
            format!("y{i:0>31}"),
            format!("user-{i:010}"),
            format!("{i:08x}-2222-4000-8000-{i:012x}"),
            NOW,
            12 * 3600,
            1800,
        );
        block_on(a.create_session(record)).unwrap();
    }
    let seconds_done = used(&mut con);
    for i in 0..n {
        let cutoff = SubjectCutoff::new(NOW, Some(NOW + 600));
        block_on(a.revoke_subject(&format!("nobody-{i:010}"), cutoff, NOW + 600)).unwrap();
    }
    let cutoffs_done = used(&mut con);
    println!(
        "used_memory per entry over {n}: session (one per subject, with its index) {} B, a second session of a subject {} B, revoked sid {} B, revoked jti {} B, subject cut-off {} B",
        (sessions_done - start) / n,
        (seconds_done - jtis_done) / n,
        (sids_done - sessions_done) / n,
        (jtis_done - sids_done) / n,
        (cutoffs_done - seconds_done) / n,
    );
    println!(
        "MEMORY USAGE per entry of the sets: r:sid {} B, r:jti {} B",
        usage(&mut con, "shared:r:sid") / n,
        usage(&mut con, "shared:r:jti") / n
    );
}

#[test]
fn redis_is_a_dpop_replay_cache_shared_by_two_nodes() {
    use gatepass::{Clock as _, ReplayCache, ReplayKey, SystemClock};
    let redis = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let one = connect(&rt, &redis.url(), options(&clock, "gatepass:"));
    let two = connect(&rt, &redis.url(), options(&clock, "gatepass:"));
    let key = ReplayKey::new("thumbprint", "jti-1");
    let now = SystemClock.now();
    assert_eq!(rt.block_on(one.remember(key, now + 2, now)), Ok(true));
    // The other node sees it: a replay.
    assert_eq!(rt.block_on(two.remember(key, now + 2, now)), Ok(false));
    assert_eq!(rt.block_on(one.remember(key, now + 2, now)), Ok(false));
    // Another jti, or another key, is new.
    assert_eq!(
        rt.block_on(two.remember(ReplayKey::new("thumbprint", "jti-2"), now + 2, now)),
        Ok(true)
    );
    assert_eq!(
        rt.block_on(two.remember(ReplayKey::new("other", "jti-1"), now + 2, now)),
        Ok(true)
    );
    // Redis forgets it once its until has passed (PXAT on the real clock).
    eventually("the replay entry expires", || {
        rt.block_on(one.remember(key, SystemClock.now() + 60, SystemClock.now())) == Ok(true)
    });
}
