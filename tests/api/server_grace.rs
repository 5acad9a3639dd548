//! With `--grace`, a store keeps the answer a rotated refresh token got, for a retry: a
//! real `gatepass serve` with a file store (restarted on the same journal) and two nodes on
//! a real `redis-server`. What the store holds never contains the successor tokens or
//! their signatures, and the retry still gets the byte-identical answer.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

/// The grace window of these tests, in seconds.
const GRACE: u64 = 5;

struct Setup {
    fixture: Fixture,
}

impl Setup {
    fn new() -> Self {
        let fixture = Fixture::new();
        fixture.users(&["alice"]);
        Self { fixture }
    }

    fn serve(&self, store: &str) -> RunningServer {
        self.fixture.server().grace(GRACE).store(store).spawn()
    }
}

fn login(server: &RunningServer) -> Value {
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn refresh(server: &RunningServer, token: &str) -> Reply {
    server.json("/auth/refresh", &json!({"refresh_token": token}))
}

/// Neither token of `pair`, nor its signature, occurs anywhere in `stored`.
fn assert_sealed(stored: &[u8], pair: &Value, what: &str) {
    let contains = |needle: &str| stored.windows(needle.len()).any(|w| w == needle.as_bytes());
    for name in ["access_token", "refresh_token"] {
        let token = pair[name].as_str().unwrap();
        let signature = token.rsplit('.').next().unwrap();
        assert!(!contains(token), "{what} holds the successor {name}");
        assert!(
            !contains(signature),
            "{what} holds the successor {name}'s signature"
        );
    }
}

/// The successor's answer, and when the window that keeps it opened: the retries below
/// must come before it closes, which the test states rather than assumes.
struct Rotated {
    parent: String,
    answer: Reply,
    at: Instant,
}

fn rotate(server: &RunningServer) -> Rotated {
    let parent = login(server)["refresh_token"].as_str().unwrap().to_owned();
    let at = Instant::now();
    let answer = refresh(server, &parent);
    assert_eq!(answer.status, 200, "{}", answer.text());
    Rotated { parent, answer, at }
}

impl Rotated {
    /// Present the parent again: the byte-identical answer, within the window.
    fn assert_retry_gets_the_same_answer(&self, server: &RunningServer, when: &str) {
        let retry = refresh(server, &self.parent);
        assert!(
            self.at.elapsed() < Duration::from_secs(GRACE),
            "the machine was too slow to retry within the {GRACE} s grace window ({when})"
        );
        assert_eq!(retry.status, 200, "{when}: {}", retry.text());
        assert_eq!(retry.body, self.answer.body, "{when}: a different answer");
    }
}

#[test]
fn the_file_journal_keeps_grace_successors_sealed_and_answers_them_after_a_restart() {
    let setup = Setup::new();
    let journal = setup.fixture.path("sessions.journal");
    let store = format!("file:{}", journal.display());
    let mut server = setup.serve(&store);
    let rotated = rotate(&server);
    let successor = rotated.answer.json();
    assert_sealed(&std::fs::read(&journal).unwrap(), &successor, "the journal");
    rotated.assert_retry_gets_the_same_answer(&server, "same process");

    server.stop();
    let server = setup.serve(&store);
    rotated.assert_retry_gets_the_same_answer(&server, "after a restart");
    assert_sealed(&std::fs::read(&journal).unwrap(), &successor, "the journal");
    // The successor itself is the live token, and the grandparent rule still holds.
    let next = refresh(&server, successor["refresh_token"].as_str().unwrap());
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(refresh(&server, &rotated.parent).status, 400);
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use crate::redis_store::redis_server::RedisServer;

    fn unb64(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap()
    }

    /// Every key Redis holds, and every value, read by type (not `DUMP`, which may
    /// compress long strings and hide what is in them).
    fn everything(redis: &RedisServer) -> Vec<u8> {
        let mut conn = redis.connection();
        let keys: Vec<Vec<u8>> = ::redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        assert!(!keys.is_empty());
        let mut out = Vec::new();
        for key in keys {
            let kind: String = ::redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![::redis::cmd("GET").arg(&key).query(&mut conn).unwrap()],
                "hash" => ::redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap(),
                "set" => ::redis::cmd("SMEMBERS").arg(&key).query(&mut conn).unwrap(),
                "zset" => ::redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(&mut conn)
                    .unwrap(),
                "list" => ::redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut conn)
                    .unwrap(),
                "stream" => {
                    let entries: ::redis::Value = ::redis::cmd("XRANGE")
                        .arg(&key)
                        .arg("-")
                        .arg("+")
                        .query(&mut conn)
                        .unwrap();
                    vec![format!("{entries:?}").into_bytes()]
                }
                other => panic!("a {other} key the test does not know how to read"),
            };
            out.extend_from_slice(&key);
            for value in values {
                out.push(b'\n');
                out.extend_from_slice(&value);
            }
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn redis_keeps_grace_successors_sealed_and_another_node_answers_them() {
        let setup = Setup::new();
        let redis = RedisServer::start(true);
        let (a, b) = (setup.serve(&redis.url()), setup.serve(&redis.url()));
        let rotated = rotate(&a);
        let successor = rotated.answer.json();
        let stored = everything(&redis);
        assert_sealed(&stored, &successor, "redis");
        // What was read holds the grace entry: the parent's jti, which it names.
        let claims = rotated.parent.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&unb64(claims)).unwrap();
        let jti = claims["jti"].as_str().unwrap().as_bytes();
        assert!(stored.windows(jti.len()).any(|w| w == jti));
        // The other node derives the same key from the same keyset.
        rotated.assert_retry_gets_the_same_answer(&b, "on the other node");
        rotated.assert_retry_gets_the_same_answer(&a, "on the first node");
        assert_sealed(&everything(&redis), &successor, "redis");
    }
}
