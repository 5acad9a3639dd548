//! The login path of a real `gatepass serve` under load and behind proxies: bounded
//! password hashing (503 + Retry-After when busy), successes that never throttle, and
//! client addresses from trusted proxies only.

use serde_json::json;

use crate::support::*;

struct Setup {
    fixture: Fixture,
}

impl Setup {
    fn new() -> Self {
        let fixture = Fixture::new();
        fixture.users(&["alice"]);
        Self { fixture }
    }

    fn serve(&self, extra: &[&str]) -> RunningServer {
        self.fixture.server().args(extra).spawn()
    }
}

fn login_body(user: &str, password: &str) -> Vec<u8> {
    json!({"username": user, "password": password})
        .to_string()
        .into_bytes()
}

/// A login with extra request headers (`X-Forwarded-For: ...`).
fn login_with(server: &RunningServer, user: &str, password: &str, headers: &[&str]) -> Reply {
    let mut all = vec!["Content-Type: application/json"];
    all.extend_from_slice(headers);
    server.request("POST", "/auth/login", &all, &login_body(user, password))
}

/// Found by review: every login hashed on its own blocking thread (up to 512 of them, 19
/// MiB each), so a burst of logins took gigabytes. With one hashing thread and no queue,
/// a burst must be partly refused with the busy answer, and nothing else may fail.
#[test]
fn logins_beyond_the_hashing_threads_and_queue_answer_503_with_retry_after() {
    let setup = Setup::new();
    let server = setup.serve(&[
        "--hashing-threads",
        "1",
        "--hashing-queue",
        "0",
        "--max-login-attempts",
        "1000",
        "--max-login-failures",
        "1000",
    ]);
    let n = 16;
    let replies: Vec<Reply> = race_prepared(
        n,
        |_| login_body("alice", "wrong password"),
        |body| {
            let headers = ["Content-Type: application/json"];
            request(server.addr, "POST", "/auth/login", &headers, &body)
        },
    );
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&401), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    for busy in replies.iter().filter(|r| r.status == 503) {
        assert_eq!(busy.header("retry-after"), Some("1"));
        assert_eq!(busy.header("cache-control"), Some("no-store"));
        assert_eq!(
            busy.json(),
            json!({
                "error": "temporarily_unavailable",
                "error_description": "the server is busy; retry later"
            })
        );
    }
    // Once the burst is over, logins work again.
    assert_eq!(login_with(&server, "alice", PASSWORD, &[]).status, 200);
}

/// Found by review: successful logins spent the address's attempts, so 20 logins from
/// one address (one office, one load balancer) locked it out.
#[test]
fn twenty_five_successful_logins_in_a_row_are_never_throttled() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    for n in 0..25 {
        let reply = login_with(&server, "alice", PASSWORD, &[]);
        assert_eq!(reply.status, 200, "login {n}: {}", reply.text());
    }
}

/// Found by review: behind a load balancer every client was the balancer's address, so
/// its bucket throttled the whole site. From a trusted proxy the forwarded address is the
/// client; without `--trusted-proxy` the header is ignored (anyone can send it).
#[test]
fn behind_a_trusted_proxy_forwarded_clients_have_their_own_buckets() {
    let setup = Setup::new();
    let wrong = |server: &RunningServer, client: &str| {
        login_with(
            server,
            "alice",
            "wrong password",
            &[&format!("X-Forwarded-For: {client}")],
        )
        .status
    };
    let limits = ["--max-login-attempts", "2", "--max-login-failures", "100"];

    let mut args = limits.to_vec();
    args.extend([
        "--trusted-proxy",
        "127.0.0.0/8",
        "--trusted-proxy",
        "fd00::/8",
    ]);
    let proxied = setup.serve(&args);
    assert_eq!(wrong(&proxied, "203.0.113.1"), 401);
    assert_eq!(wrong(&proxied, "6.6.6.6, 203.0.113.1"), 401);
    assert_eq!(wrong(&proxied, "203.0.113.1"), 429);
    assert_eq!(wrong(&proxied, "203.0.113.2"), 401);
    // RFC 7239 with a bracketed IPv6 address and a port: another client again.
    let forwarded = login_with(
        &proxied,
        "alice",
        "wrong password",
        &["Forwarded: for=\"[2001:db8::17]:4711\";proto=https"],
    );
    assert_eq!(forwarded.status, 401);

    let direct = setup.serve(&limits);
    assert_eq!(wrong(&direct, "203.0.113.1"), 401);
    assert_eq!(wrong(&direct, "203.0.113.2"), 401);
    assert_eq!(
        wrong(&direct, "203.0.113.3"),
        429,
        "without --trusted-proxy every client is the peer 127.0.0.1"
    );
}

#[test]
fn a_bad_trusted_proxy_is_a_usage_error_naming_the_flag() {
    for bad in ["10.0.0.1/8", "10.0.0.0/33", "proxy.internal", "fd00::/200"] {
        let output = run_str(&["serve", "--demo", "--trusted-proxy", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--trusted-proxy"), "{bad}: {stderr}");
    }
}
