//! Two `gatepass serve` nodes sharing one real `redis-server` (started by the test on a
//! free loopback port): sessions move between nodes, logouts propagate, one winner among
//! concurrent refreshes on both, and a Redis outage fails closed and recovers.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::redis_store::redis_server::RedisServer;
use crate::support::*;

struct Cluster {
    fixture: Fixture,
    redis: RedisServer,
}

impl Cluster {
    fn new() -> Self {
        Self::with_redis(true, &["alice"])
    }

    /// A Redis with AOF on or off, and users (all with [`PASSWORD`]).
    fn with_redis(aof: bool, names: &[&str]) -> Self {
        let fixture = Fixture::new();
        fixture.users(names);
        Self {
            fixture,
            redis: RedisServer::start(aof),
        }
    }

    fn node(&self) -> RunningServer {
        self.node_with(&[])
    }

    fn node_with(&self, extra: &[&str]) -> RunningServer {
        self.fixture
            .server()
            .store(self.redis.url())
            .args(extra)
            .spawn()
    }
}

fn login(node: &RunningServer) -> Value {
    let reply = node.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn refresh(node: &RunningServer, token: &str) -> Reply {
    node.json("/auth/refresh", &json!({"refresh_token": token}))
}

fn me(node: &RunningServer, token: &str) -> u16 {
    node.get("/api/me", &[&format!("Authorization: Bearer {token}")])
        .status
}

fn s(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap().to_owned()
}

/// Poll `check` for up to two seconds (propagation is asynchronous; the bound is generous
/// for a loaded CI machine, the measured p99 is milliseconds).
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    check()
}

#[test]
fn a_session_started_on_one_node_refreshes_and_ends_on_the_other() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.node(), cluster.node());
    let pair = login(&a);
    let next = refresh(&b, &s(&pair, "refresh_token"));
    assert_eq!(next.status, 200, "{}", next.text());
    let next = next.json();
    assert_eq!(me(&a, &s(&next, "access_token")), 200);
    assert_eq!(me(&b, &s(&next, "access_token")), 200);
    // Logout on A: B rejects the access token (from its mirror, no Redis round trip).
    let out = a.request(
        "POST",
        "/auth/logout",
        &[&format!(
            "Authorization: Bearer {}",
            s(&next, "access_token")
        )],
        b"",
    );
    assert_eq!(out.status, 204);
    assert!(
        eventually(|| me(&b, &s(&next, "access_token")) == 401),
        "B never saw A's logout"
    );
    assert_eq!(refresh(&b, &s(&next, "refresh_token")).status, 400);
}

#[test]
fn reuse_is_detected_across_nodes() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.node(), cluster.node());
    let pair = login(&a);
    let next = refresh(&a, &s(&pair, "refresh_token")).json();
    let reuse = refresh(&b, &s(&pair, "refresh_token"));
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert_eq!(
        refresh(&a, &s(&next, "refresh_token")).status,
        400,
        "the session is over everywhere"
    );
    assert!(eventually(|| me(&a, &s(&next, "access_token")) == 401));
}

#[test]
fn thirty_two_concurrent_refreshes_across_both_nodes_have_one_winner() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.node(), cluster.node());
    let token = s(&login(&a), "refresh_token");
    let statuses = concurrent_refreshes(&[a.addr, b.addr], &token, 32);
    assert_one_winner(&statuses);
}

#[test]
fn a_redis_outage_fails_closed_serves_verification_from_the_mirror_and_recovers() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node(), cluster.node());
    let live = login(&a);
    let logged_out = login(&a);
    let bearer = format!("Authorization: Bearer {}", s(&logged_out, "access_token"));
    assert_eq!(
        a.request("POST", "/auth/logout", &[&bearer], b"").status,
        204
    );
    assert!(eventually(|| me(&b, &s(&logged_out, "access_token")) == 401));

    cluster.redis.kill();
    // Writes fail closed with 503 and Retry-After; nothing is half-done.
    let refused = refresh(&b, &s(&live, "refresh_token"));
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    let login_refused = b.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(login_refused.status, 503);
    // Verification keeps working from the mirror (within its staleness bound), and the
    // logout made before the outage is still enforced.
    assert_eq!(me(&b, &s(&live, "access_token")), 200);
    assert_eq!(me(&b, &s(&logged_out, "access_token")), 401);

    cluster.redis.restart();
    assert!(
        eventually_long(|| refresh(&b, &s(&live, "refresh_token")).status == 200),
        "no recovery after restart"
    );
    // A node started after the restart knows the pre-outage logout (AOF kept it).
    let c = cluster.node();
    assert_eq!(me(&c, &s(&logged_out, "access_token")), 401);
}

fn login_as(node: &RunningServer, username: &str) -> Value {
    let reply = node.json(
        "/auth/login",
        &json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn post_bearer(node: &RunningServer, path: &str, access_token: &str) -> u16 {
    let bearer = format!("Authorization: Bearer {access_token}");
    node.request("POST", path, &[&bearer], b"").status
}

fn rfc_7009(node: &RunningServer, token: &str, hint: &str) -> u16 {
    node.request(
        "POST",
        "/auth/revoke",
        &["Content-Type: application/x-www-form-urlencoded"],
        format!("token={token}&token_type_hint={hint}").as_bytes(),
    )
    .status
}

/// Found by fault injection: Redis without persistence, killed and restarted empty. Nodes
/// A and B kept refusing the tokens revoked before the outage (their mirrors), but a node
/// C started afterwards accepted all 25. Now A and B write their revocations back when
/// they find the store's epoch gone, before serving writes again.
#[test]
fn tokens_revoked_before_redis_restarted_empty_stay_revoked_on_a_node_started_after() {
    let mut cluster = Cluster::with_redis(false, &["alice", "bob", "carol", "dave", "erin"]);
    let lifted = ["--max-login-attempts", "100000"];
    let (a, b) = (cluster.node_with(&lifted), cluster.node_with(&lifted));
    let node = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    let mut revoked = Vec::new();
    // 10 logouts (session revoked by sid), on both nodes.
    for i in 0..10 {
        let token = s(&login_as(node(i), "alice"), "access_token");
        assert_eq!(post_bearer(node(i + 1), "/auth/logout", &token), 204);
        revoked.push(token);
    }
    // 10 sessions ended by two logouts-all (cut-off and sids), one on each node.
    for (i, user) in ["bob", "carol"].into_iter().enumerate() {
        let tokens: Vec<String> = (0..5)
            .map(|j| s(&login_as(node(j), user), "access_token"))
            .collect();
        assert_eq!(post_bearer(node(i), "/auth/logout-all", &tokens[0]), 204);
        revoked.extend(tokens);
    }
    // 5 RFC 7009 revocations: 3 access tokens by jti, 2 sessions by their refresh token.
    for i in 0..5 {
        let pair = login_as(node(i), "dave");
        let status = if i < 3 {
            rfc_7009(node(i + 1), &s(&pair, "access_token"), "access_token")
        } else {
            rfc_7009(node(i + 1), &s(&pair, "refresh_token"), "refresh_token")
        };
        assert_eq!(status, 200);
        revoked.push(s(&pair, "access_token"));
    }
    assert_eq!(revoked.len(), 25);
    let live = login_as(&a, "erin");
    for token in &revoked {
        assert!(eventually(|| me(&a, token) == 401 && me(&b, token) == 401));
    }

    cluster.redis.restart(); // SIGKILL; no AOF, so it comes back empty
                             // A and B serve writes again only once they have written their revocations back.
    for (name, node) in [("A", &a), ("B", &b)] {
        assert!(
            eventually_long(|| {
                node.json(
                    "/auth/login",
                    &json!({"username": "erin", "password": PASSWORD}),
                )
                .status
                    == 200
            }),
            "{name} never served writes again: {}",
            node.logs()
        );
    }

    let c = cluster.node();
    for (i, token) in revoked.iter().enumerate() {
        let reply = c.get("/api/me", &[&format!("Authorization: Bearer {token}")]);
        assert_eq!(
            reply.status,
            401,
            "token {i} is accepted by C: {}",
            reply.text()
        );
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    // C is not failing closed: a token that was never revoked is accepted...
    assert_eq!(me(&c, &s(&live, "access_token")), 200);
    // ...and a session the store lost stays unusable.
    let lost = refresh(&c, &s(&live, "refresh_token"));
    assert_eq!(lost.status, 400);
    assert_eq!(lost.json()["error"], "invalid_grant");
}

fn eventually_long(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Propagation A → B at the HTTP level: logout on A, then poll B's `/api/me` until it
/// answers 401, 200 times. Prints p50/p99; run with
/// `cargo test --all-features --release --test api server_redis::propagation -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check: prints p50/p99"]
fn propagation_of_logouts_between_nodes() {
    let cluster = Cluster::new();
    // 200 logins from one address: lift the per-address login throttle for the measurement.
    let a = cluster.node_with(&["--max-login-attempts", "100000"]);
    let b = cluster.node();
    let mut delays = Vec::new();
    for _ in 0..200 {
        let pair = login(&a);
        let token = s(&pair, "access_token");
        assert_eq!(me(&b, &token), 200);
        let started = Instant::now();
        assert_eq!(
            a.request(
                "POST",
                "/auth/logout",
                &[&format!("Authorization: Bearer {token}")],
                b""
            )
            .status,
            204
        );
        let acknowledged = started.elapsed();
        while me(&b, &token) != 401 {
            assert!(started.elapsed() < Duration::from_secs(5));
        }
        delays.push((started.elapsed(), acknowledged));
    }
    delays.sort();
    let pct = |p: usize| delays[(delays.len() * p / 100).min(delays.len() - 1)].0;
    println!(
        "logout on A enforced on B (HTTP, incl. one poll round trip): p50 {:?}, p99 {:?}, max {:?}",
        pct(50),
        pct(99),
        delays.last().unwrap().0
    );
}

/// How long after Redis comes back a node answers refreshes and verifications again,
/// after an outage long enough for the reconnect backoff to reach its maximum (printed;
/// docs/DEPLOYMENT.md reports it). `cargo test --all-features --test api --
/// --ignored --nocapture recovery_after_an_outage`.
#[test]
#[ignore = "a measurement; run by hand"]
fn recovery_after_an_outage_is_measured() {
    let mut cluster = Cluster::new();
    let b = cluster.node();
    let mut live = login(&b);
    let mut waits = Vec::new();
    for _ in 0..3 {
        cluster.redis.kill();
        std::thread::sleep(Duration::from_secs(8));
        cluster.redis.restart();
        let started = Instant::now();
        let next = loop {
            let reply = refresh(&b, &s(&live, "refresh_token"));
            if reply.status == 200 {
                break reply.json();
            }
            assert!(started.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(20));
        };
        let refreshed = started.elapsed();
        while me(&b, &s(&next, "access_token")) != 200 {
            std::thread::sleep(Duration::from_millis(20));
        }
        waits.push((refreshed, started.elapsed()));
        live = next;
    }
    println!("after Redis returned: refresh 200 / verify 200 after {waits:?}");
}

/// Readiness follows the store: `/readyz` turns 503 within 5 s of Redis going away and 200
/// again after it returns, while `/healthz` (liveness) stays 200 throughout.
#[test]
fn readyz_follows_redis_away_and_back() {
    let mut cluster = Cluster::new();
    let node = cluster.node();
    assert_eq!(node.get("/readyz", &[]).status, 200);
    cluster.redis.kill();
    let started = Instant::now();
    let unready = loop {
        let reply = node.get("/readyz", &[]);
        if reply.status == 503 {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still ready 5 s after Redis went away"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(unready.json()["status"], "unready");
    assert_eq!(unready.json()["reason"], "store_unreachable");
    assert_eq!(unready.header("cache-control"), Some("no-store"));
    assert_eq!(node.get("/healthz", &[]).status, 200);
    cluster.redis.restart();
    assert!(
        eventually_long(|| node.get("/readyz", &[]).status == 200),
        "not ready again after Redis returned"
    );
    assert_eq!(node.get("/readyz", &[]).json(), json!({"status": "ready"}));
}
