//! `GET /auth/sessions` and `DELETE /auth/sessions/{id}` on real `gatepass serve`
//! processes: one node on the memory store, two nodes sharing Redis, two sharing
//! PostgreSQL. A user with three sessions lists them and ends one; another user can
//! neither see nor end them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

struct Setup {
    fixture: Fixture,
}

impl Setup {
    fn new() -> Self {
        let fixture = Fixture::new();
        fixture.users(&["alice", "bob"]);
        Self { fixture }
    }

    fn node(&self, extra: &[&str]) -> Server {
        self.fixture.server().args(extra).spawn()
    }
}

type Server = RunningServer;

/// A logged-in session: its tokens and its sid (from `/api/me`).
struct Session {
    access: String,
    refresh: String,
    sid: String,
}

fn login(node: &Server, user: &str, agent: &str, extra: &[&str]) -> Session {
    let ua = format!("User-Agent: {agent}");
    let mut headers = vec!["Content-Type: application/json", ua.as_str()];
    headers.extend_from_slice(extra);
    let body = json!({"username": user, "password": PASSWORD}).to_string();
    let reply = node.request("POST", "/auth/login", &headers, body.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let pair = reply.json();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let me = me(node, &access);
    assert_eq!(me.status, 200, "{}", me.text());
    Session {
        sid: me.json()["sid"].as_str().unwrap().to_owned(),
        access,
        refresh: pair["refresh_token"].as_str().unwrap().to_owned(),
    }
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn me(node: &Server, access: &str) -> Reply {
    node.get("/api/me", &[&bearer(access)])
}

fn refresh(node: &Server, token: &str, agent: &str) -> Reply {
    let ua = format!("User-Agent: {agent}");
    let body = json!({"refresh_token": token}).to_string();
    node.request(
        "POST",
        "/auth/refresh",
        &["Content-Type: application/json", &ua],
        body.as_bytes(),
    )
}

/// `GET /auth/sessions` as the holder of `access`: the listed sessions.
fn list(node: &Server, access: &str) -> Vec<Value> {
    let reply = node.get("/auth/sessions", &[&bearer(access)]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    body["sessions"].as_array().unwrap().clone()
}

fn end(node: &Server, access: &str, id: &str) -> Reply {
    node.request(
        "DELETE",
        &format!("/auth/sessions/{id}"),
        &[&bearer(access)],
        b"",
    )
}

/// The listed session whose user agent starts with `agent`.
fn by_agent<'a>(sessions: &'a [Value], agent: &str) -> &'a Value {
    sessions
        .iter()
        .find(|s| {
            s["user_agent"]
                .as_str()
                .is_some_and(|ua| ua.starts_with(agent))
        })
        .unwrap_or_else(|| panic!("no session of {agent} in {sessions:?}"))
}

fn id(session: &Value) -> String {
    session["id"].as_str().unwrap().to_owned()
}

/// Poll `check` for up to five seconds (propagation between nodes is asynchronous).
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}

/// The whole story, with the sessions created on `a` and listed and ended from `b` (the
/// same node on a single-node store).
fn three_sessions_listed_and_one_ended(a: &Server, b: &Server) {
    let long_agent = format!("Agent-Three/{}", "x".repeat(300));
    let one = login(a, "alice", "Agent-One/1.0", &[]);
    let two = login(a, "alice", "Agent-Two/2.0 (ünïcode)", &[]);
    let three = login(a, "alice", &long_agent, &[]);
    let bob = login(b, "bob", "Bob-Agent", &[]);

    // Alice lists from session one, on the other node: exactly her three sessions.
    let listed = list(b, &one.access);
    assert_eq!(listed.len(), 3, "{listed:?}");
    let agents: BTreeSet<&str> = listed
        .iter()
        .map(|s| s["user_agent"].as_str().unwrap())
        .collect();
    assert!(agents.contains("Agent-One/1.0") && agents.contains("Agent-Two/2.0 (ünïcode)"));
    // The long user agent is cut to 256 bytes.
    let cut = by_agent(&listed, "Agent-Three")["user_agent"]
        .as_str()
        .unwrap();
    assert_eq!(cut.len(), 256);
    assert!(long_agent.starts_with(cut));
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Agent-One/1.0");
    let ids: BTreeSet<String> = listed.iter().map(id).collect();
    assert_eq!(ids.len(), 3, "handles are distinct");
    for session in &listed {
        let members: BTreeSet<&str> = session
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            members,
            BTreeSet::from([
                "id",
                "created_at",
                "last_used_at",
                "expires_at",
                "current",
                "user_agent",
                "ip"
            ])
        );
        // The client is on loopback: its /24 only.
        assert_eq!(session["ip"], "127.0.0.0/24");
        let (created, used, expires) = (
            session["created_at"].as_u64().unwrap(),
            session["last_used_at"].as_u64().unwrap(),
            session["expires_at"].as_u64().unwrap(),
        );
        assert!(created <= used && used < expires, "{session}");
        // The default idle timeout (30 min) ends a fresh session before its 12 h.
        assert_eq!(expires, used + 1800, "{session}");
        // The handle is not a session id.
        let handle = id(session);
        for sid in [&one.sid, &two.sid, &three.sid] {
            assert!(!handle.contains(sid.as_str()) && !sid.contains(&handle));
        }
    }
    // The same handles whichever of her sessions (and node) asks; only `current` moves.
    let from_three = list(a, &three.access);
    assert_eq!(from_three.iter().map(id).collect::<BTreeSet<_>>(), ids);
    assert_eq!(by_agent(&from_three, "Agent-Three")["current"], true);
    assert_eq!(by_agent(&from_three, "Agent-One")["current"], false);

    // Bob sees only his own session, and cannot end Alice's: 404, and it stays alive.
    let bobs = list(b, &bob.access);
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["user_agent"], "Bob-Agent");
    assert!(!ids.contains(&id(&bobs[0])));
    let two_id = id(by_agent(&listed, "Agent-Two"));
    let refused = end(b, &bob.access, &two_id);
    assert_eq!(refused.status, 404, "{}", refused.text());
    assert_eq!(refused.json()["error"], "not_found");
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    assert_eq!(me(a, &two.access).status, 200);
    assert_eq!(list(b, &one.access).len(), 3);
    // Nor can anyone end a made-up handle, or a session id used as a handle.
    assert_eq!(end(b, &one.access, "bm90LWEtaGFuZGxl").status, 404);
    assert_eq!(end(b, &one.access, &two.sid).status, 404);

    // Alice ends session two from session one, on node B.
    let ended = end(b, &one.access, &two_id);
    assert_eq!(ended.status, 204, "{}", ended.text());
    assert_eq!(ended.header("cache-control"), Some("no-store"));
    assert!(ended.body.is_empty());
    // On node A: its refresh token is refused, its access token rejected by sid.
    let spent = refresh(a, &two.refresh, "Agent-Two/2.0");
    assert_eq!(spent.status, 400, "{}", spent.text());
    assert_eq!(spent.json()["error"], "invalid_grant");
    assert!(eventually(|| me(a, &two.access).status == 401));
    let rejected = me(a, &two.access);
    let challenge = rejected.header("www-authenticate").unwrap_or_default();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // The others live on; the list no longer shows it; ending it again is 404.
    assert_eq!(me(a, &one.access).status, 200);
    assert_eq!(me(a, &three.access).status, 200);
    assert_eq!(me(b, &bob.access).status, 200);
    let left = list(a, &one.access);
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|s| id(s) != two_id));
    assert_eq!(end(b, &one.access, &two_id).status, 404);

    // A refresh moves the session's clock and records the client it came from.
    let before = by_agent(&left, "Agent-Three").clone();
    std::thread::sleep(Duration::from_millis(1100));
    let rotated = refresh(b, &three.refresh, "Agent-Three-Renewed/4");
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let after = list(a, &one.access);
    let renewed = by_agent(&after, "Agent-Three-Renewed/4");
    assert_eq!(
        renewed["id"], before["id"],
        "the handle is stable across rotation"
    );
    assert_eq!(renewed["created_at"], before["created_at"]);
    assert!(renewed["last_used_at"].as_u64() > before["last_used_at"].as_u64());

    // Nothing logged holds a session id or a handle in clear (the access log names the
    // route, not the path), though ids of both were sent in request paths above.
    assert!(
        b.logs().contains("path=/auth/sessions/{id}"),
        "{}",
        b.logs()
    );
    for node in [a, b] {
        let logs = node.logs();
        for secret in [&one.sid, &two.sid, &three.sid, &bob.sid, &two_id] {
            assert!(!logs.contains(secret.as_str()), "an id in the log: {logs}");
        }
    }
}

#[test]
fn sessions_are_listed_and_ended_on_the_memory_store() {
    let setup = Setup::new();
    let node = setup.node(&[]);
    three_sessions_listed_and_one_ended(&node, &node);
}

#[test]
fn session_routes_follow_rfc_6750_and_truncate_forwarded_addresses() {
    let setup = Setup::new();
    let node = setup.node(&["--trusted-proxy", "127.0.0.0/8"]);
    for (method, path) in [("GET", "/auth/sessions"), ("DELETE", "/auth/sessions/abc")] {
        let none = node.request(method, path, &[], b"");
        assert_eq!(none.status, 401, "{method} {path}");
        assert_eq!(
            none.header("www-authenticate"),
            Some("Bearer realm=\"gatepass\"")
        );
        let basic = node.request(method, path, &["Authorization: Basic YTpi"], b"");
        assert_eq!(basic.status, 401);
        let malformed = node.request(method, path, &["Authorization: Bearer a b"], b"");
        assert_eq!(malformed.status, 400);
        assert!(malformed
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_request\""));
        let bad = node.request(method, path, &[&bearer("not.a.token")], b"");
        assert_eq!(bad.status, 401);
        assert!(bad
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    }
    // Behind a trusted proxy the client is the forwarded address, kept as its network.
    let v4 = login(&node, "alice", "V4", &["X-Forwarded-For: 203.0.113.77"]);
    login(
        &node,
        "alice",
        "V6",
        &["X-Forwarded-For: 2001:db8:abcd:12::1"],
    );
    let listed = list(&node, &v4.access);
    assert_eq!(by_agent(&listed, "V4")["ip"], "203.0.113.0/24");
    assert_eq!(by_agent(&listed, "V6")["ip"], "2001:db8:abcd::/48");
    // No User-Agent header: null, not an empty string.
    let body = json!({"username": "bob", "password": PASSWORD}).to_string();
    let reply = node.request(
        "POST",
        "/auth/login",
        &["Content-Type: application/json"],
        body.as_bytes(),
    );
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    let bobs = list(&node, &access);
    assert_eq!(bobs[0]["user_agent"], Value::Null);
    // A refresh token is not an access token here either.
    let refresh_token = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        node.get("/auth/sessions", &[&bearer(&refresh_token)])
            .status,
        401
    );
    // Other methods on the session routes are not routes.
    assert_eq!(
        node.request("POST", "/auth/sessions", &[&bearer(&access)], b"")
            .status,
        405
    );
}

#[cfg(feature = "redis")]
#[test]
fn sessions_created_on_one_redis_node_are_listed_and_ended_on_the_other() {
    let setup = Setup::new();
    let redis = crate::redis_store::redis_server::RedisServer::start(false);
    let url = redis.url();
    let (a, b) = (
        setup.node(&["--store", &url]),
        setup.node(&["--store", &url]),
    );
    three_sessions_listed_and_one_ended(&a, &b);
}

#[cfg(feature = "postgres")]
#[test]
fn sessions_created_on_one_postgres_node_are_listed_and_ended_on_the_other() {
    let setup = Setup::new();
    let db = crate::postgres_store::TestDatabase::create();
    let url = db.url();
    let (a, b) = (
        setup.node(&["--store", &url]),
        setup.node(&["--store", &url]),
    );
    three_sessions_listed_and_one_ended(&a, &b);
}
