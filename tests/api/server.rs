//! `gatepass serve` as a real process over real loopback HTTP: every row of CONTRACT §5.

use std::sync::Arc;

use gatepass::{Algorithm, KeySelector, ManualClock, UsersFile};
use serde_json::{json, Value};

use crate::server_support::{Reply, Server};
use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

/// A keyset and a users file on disk, and a server over them.
struct Setup {
    fixture: Fixture,
    users: String,
    keyset: String,
}

impl Setup {
    fn new() -> Self {
        let fixture = Fixture::new();
        let users = fixture.path("users.json");
        UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
        UsersFile::add(&users, "bob", PASSWORD, false).unwrap();
        let keyset = fixture.keyset_path.display().to_string();
        Self {
            users: users.display().to_string(),
            keyset,
            fixture,
        }
    }

    fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec![
            "--keyset",
            &self.keyset,
            "--users",
            &self.users,
            "--iss",
            ISS,
            "--aud",
            AUD,
        ];
        args.extend_from_slice(extra);
        Server::start(&args, self.fixture.dir.path())
    }
}

fn login(server: &Server, user: &str) -> Value {
    let reply = server.json(
        "/auth/login",
        &json!({"username": user, "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn me(server: &Server, token: &str) -> Reply {
    server.get("/api/me", &[&bearer(token)])
}

fn refresh(server: &Server, token: &str) -> Reply {
    server.json("/auth/refresh", &json!({"refresh_token": token}))
}

fn assert_invalid_token(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text());
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge
            .starts_with(r#"Bearer realm="gatepass", error="invalid_token", error_description=""#),
        "{challenge}"
    );
}

#[test]
fn login_answers_the_contract_token_response() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body.as_object().unwrap().len(), 4);
    // The access token verifies offline with the keyset, as any API would.
    let verifier = gatepass::Verifier::builder(setup.fixture.keyset.verification_keys(), ISS, AUD)
        .build()
        .unwrap();
    let access = verifier
        .verify_access(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(access.claims().sub, "alice");
    assert_eq!(access.header().typ(), Some("at+jwt"));
    let refresh = verifier
        .verify_refresh(body["refresh_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(refresh.claims().gen, 0);
    assert_eq!(
        Some(refresh.claims().sid.as_str()),
        access.claims().sid.as_deref()
    );
    // /api/me shows the claims; /healthz is up.
    let me = me(&server, body["access_token"].as_str().unwrap());
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["sub"], "alice");
    assert_eq!(me.json()["sid"], access.claims().sid.clone().unwrap());
    assert!(me.json()["exp"].is_u64());
    assert_eq!(server.get("/healthz", &[]).status, 200);
}

#[test]
fn bad_credentials_are_401_invalid_credentials_alike_for_unknown_users() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let wrong = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": "nope nope nope"}),
    );
    let unknown = server.json(
        "/auth/login",
        &json!({"username": "mallory", "password": PASSWORD}),
    );
    for reply in [&wrong, &unknown] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), json!({"error": "invalid_credentials"}));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
}

#[test]
fn repeated_login_failures_are_throttled_with_retry_after() {
    let setup = Setup::new();
    let server = setup.serve(&["--max-login-failures", "2"]);
    for _ in 0..2 {
        let reply = server.json(
            "/auth/login",
            &json!({"username": "alice", "password": "wrong password"}),
        );
        assert_eq!(reply.status, 401);
    }
    let throttled = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(throttled.status, 429);
    // One attempt back per 60 s; the server's clock may have crossed a second since.
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (55..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    // Another user is not affected.
    assert_eq!(
        server
            .json(
                "/auth/login",
                &json!({"username": "bob", "password": PASSWORD})
            )
            .status,
        200
    );
}

#[test]
fn protected_routes_answer_rfc_6750() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let bare = r#"Bearer realm="gatepass""#;
    let none = server.get("/api/me", &[]);
    assert_eq!(
        (none.status, none.header("www-authenticate")),
        (401, Some(bare))
    );
    let basic = server.get("/api/me", &["Authorization: Basic YWxpY2U6cHc="]);
    assert_eq!(
        (basic.status, basic.header("www-authenticate")),
        (401, Some(bare))
    );
    for malformed in [
        "Authorization: Bearer",
        "Authorization: Bearer a b",
        "Authorization: Bearer a,b",
    ] {
        let reply = server.get("/api/me", &[malformed]);
        assert_eq!(reply.status, 400, "{malformed}");
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_request""#));
    }
    let issuer = setup.fixture.issuer(Algorithm::EdDSA);
    let expired = gatepass::Issuer::new(
        setup
            .fixture
            .keyset
            .signing_key(&KeySelector::Algorithm(Algorithm::EdDSA))
            .unwrap(),
        ISS,
        AUD,
    )
    .with_clock(Arc::new(ManualClock::new(1_000_000)))
    .access_token("alice")
    .issue()
    .unwrap()
    .token;
    let refresh_typed = issuer
        .refresh_token("alice", "sid", 0)
        .issue()
        .unwrap()
        .token;
    let alg_none = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"none","typ":"at+jwt"}"#),
        b64(claims_with(&[("iss", &format!("\"{ISS}\""))])),
        b64("x")
    );
    let mut forged = login(&server, "alice")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'Q' } else { 'A' });
    for (name, token) in [
        ("expired", &expired),
        ("refresh", &refresh_typed),
        ("none", &alg_none),
        ("forged", &forged),
    ] {
        let reply = me(&server, token);
        assert_invalid_token(&reply);
        assert_eq!(reply.json()["error"], "invalid_token", "{name}");
    }
    assert!(me(&server, &expired)
        .header("www-authenticate")
        .unwrap()
        .contains("expired"));
}

#[test]
fn refresh_rotates_and_reuse_kills_the_session_and_its_access_tokens() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let first = login(&server, "alice");
    let second = refresh(&server, first["refresh_token"].as_str().unwrap());
    assert_eq!(second.status, 200);
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let second = second.json();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        me(&server, second["access_token"].as_str().unwrap()).status,
        200
    );
    // Reuse of the first refresh token: 400 invalid_grant, and the whole session ends.
    let reuse = refresh(&server, first["refresh_token"].as_str().unwrap());
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert!(reuse.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    assert_eq!(
        refresh(&server, second["refresh_token"].as_str().unwrap()).status,
        400
    );
    assert_invalid_token(&me(&server, second["access_token"].as_str().unwrap()));
    // Unknown or garbage refresh tokens are invalid_grant too.
    assert_eq!(refresh(&server, "garbage").json()["error"], "invalid_grant");
    let other = setup.serve(&[]);
    let foreign = login(&other, "bob");
    assert_eq!(
        refresh(&server, foreign["refresh_token"].as_str().unwrap()).json()["error"],
        "invalid_grant"
    );
}

#[test]
fn of_sixteen_concurrent_refreshes_exactly_one_wins() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let pair = login(&server, "alice");
    let token = pair["refresh_token"].as_str().unwrap().to_owned();
    let statuses = crate::server_support::concurrent_refreshes(&[server.addr], &token, 16);
    crate::server_support::assert_one_winner(&statuses);
}

#[test]
fn grace_returns_the_identical_successor_to_the_direct_parent() {
    let setup = Setup::new();
    let server = setup.serve(&["--grace", "30"]);
    let pair = login(&server, "alice");
    let token = pair["refresh_token"].as_str().unwrap();
    let a = refresh(&server, token).json();
    let b = refresh(&server, token).json();
    assert_eq!(a, b);
    let c = refresh(&server, a["refresh_token"].as_str().unwrap()).json();
    assert_ne!(c["refresh_token"], a["refresh_token"]);
    assert_eq!(
        refresh(&server, token).status,
        400,
        "the grandparent is reuse"
    );
}

#[test]
fn logout_and_logout_all_end_sessions() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let one = login(&server, "alice");
    let two = login(&server, "alice");
    let bob = login(&server, "bob");
    let access = |p: &Value| p["access_token"].as_str().unwrap().to_owned();
    let refresh_of = |p: &Value| p["refresh_token"].as_str().unwrap().to_owned();

    let out = server.request("POST", "/auth/logout", &[&bearer(&access(&one))], b"");
    assert_eq!(out.status, 204);
    assert_invalid_token(&me(&server, &access(&one)));
    assert_eq!(refresh(&server, &refresh_of(&one)).status, 400);
    assert_eq!(
        me(&server, &access(&two)).status,
        200,
        "the other session lives"
    );
    assert_eq!(server.request("POST", "/auth/logout", &[], b"").status, 401);

    let three = login(&server, "alice");
    let all = server.request("POST", "/auth/logout-all", &[&bearer(&access(&two))], b"");
    assert_eq!(all.status, 204);
    for pair in [&two, &three] {
        assert_invalid_token(&me(&server, &access(pair)));
        assert_eq!(refresh(&server, &refresh_of(pair)).status, 400);
    }
    assert_eq!(
        me(&server, &access(&bob)).status,
        200,
        "another subject is untouched"
    );
    // A login after the answer works, even within the same second.
    let after = login(&server, "alice");
    assert_eq!(me(&server, &access(&after)).status, 200);
    assert_eq!(refresh(&server, &refresh_of(&after)).status, 200);
}

#[test]
fn rfc_7009_revocation_answers_200_and_ends_the_session() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let pair = login(&server, "alice");
    let form = |body: &str| {
        server.request(
            "POST",
            "/auth/revoke",
            &["Content-Type: application/x-www-form-urlencoded"],
            body.as_bytes(),
        )
    };
    let token = pair["refresh_token"].as_str().unwrap();
    assert_eq!(
        form(&format!("token={token}&token_type_hint=refresh_token")).status,
        200
    );
    assert_eq!(refresh(&server, token).status, 400);
    assert_invalid_token(&me(&server, pair["access_token"].as_str().unwrap()));
    assert_eq!(form("token=unknown-token").status, 200);
    assert_eq!(form("token_type_hint=access_token").status, 400);
    assert_eq!(form("token=a&token=b").status, 400);
    let json = server.json("/auth/revoke", &json!({"token": token}));
    assert_eq!(json.status, 415);
}

/// CONTRACT §5 "Bodies over 16 KiB answer 413" holds on the routes that ignore their
/// body too, before the token is looked at, and the session is not ended. Found by review:
/// logout answered 204 to a 20 KB body.
#[test]
fn logout_routes_refuse_oversized_bodies_and_keep_the_session() {
    use std::io::{Read as _, Write as _};
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let pair = login(&server, "alice");
    let access = pair["access_token"].as_str().unwrap();
    let big = vec![b'x'; 20_000];
    for path in ["/auth/logout", "/auth/logout-all"] {
        let reply = server.request("POST", path, &[&bearer(access)], &big);
        assert_eq!(reply.status, 413, "{path}");
        // Declared size alone is enough: no token at all still gets 413, not 401.
        assert_eq!(
            server.request("POST", path, &[], &big).status,
            413,
            "{path}"
        );
        // A chunked body has no declared size: it is cut at the limit while read.
        let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", big.len(), "x".repeat(big.len()));
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{}\r\nTransfer-Encoding: chunked\r\n\r\n",
            server.addr,
            bearer(access)
        );
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(chunk.as_bytes());
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 413"),
            "{path}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(40)])
        );
        assert_eq!(me(&server, access).status, 200, "{path} ended the session");
    }
    // At the limit the body is ignored and logout works.
    let exact = vec![b'x'; 16 * 1024];
    let reply = server.request("POST", "/auth/logout", &[&bearer(access)], &exact);
    assert_eq!(reply.status, 204);
    assert_invalid_token(&me(&server, access));
}

#[test]
fn bodies_are_limited_typed_and_strict() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let big = vec![b' '; 16 * 1024 + 1];
    let reply = server.request(
        "POST",
        "/auth/login",
        &["Content-Type: application/json"],
        &big,
    );
    assert_eq!(reply.status, 413);
    let mut exact = br#"{"username":"alice","password":"x"}"#.to_vec();
    exact.resize(16 * 1024, b' ');
    assert_eq!(
        server
            .request(
                "POST",
                "/auth/login",
                &["Content-Type: application/json"],
                &exact
            )
            .status,
        401
    );
    let text = server.request(
        "POST",
        "/auth/login",
        &["Content-Type: text/plain"],
        br#"{"username":"alice","password":"x"}"#,
    );
    assert_eq!(text.status, 415);
    assert_eq!(
        server
            .request("POST", "/auth/login", &[], br#"{"username":"alice"}"#)
            .status,
        415
    );
    let charset = server.request(
        "POST",
        "/auth/login",
        &["Content-Type: application/json; charset=utf-8"],
        format!(r#"{{"username":"alice","password":"{PASSWORD}"}}"#).as_bytes(),
    );
    assert_eq!(charset.status, 200);
    for bad in [
        &b"{"[..],
        b"[]",
        br#"{"username":1,"password":"x"}"#,
        br#"{"username":"a","username":"b","password":"x"}"#,
    ] {
        let reply = server.request(
            "POST",
            "/auth/login",
            &["Content-Type: application/json"],
            bad,
        );
        assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(bad));
        assert_eq!(reply.json()["error"], "invalid_request");
    }
    assert_eq!(server.get("/auth/login", &[]).status, 405);
    assert_eq!(server.get("/nowhere", &[]).status, 404);
}

#[test]
fn the_jwks_is_public_and_cacheable() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let reply = server.get("/.well-known/jwks.json", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=600"));
    let served = reply.json();
    let expected = serde_json::to_value(setup.fixture.keyset.public_jwks()).unwrap();
    assert_eq!(served, expected);
    assert!(!reply.text().contains("\"d\"") && !reply.text().contains("\"k\""));
}

#[test]
fn logs_never_contain_passwords_tokens_or_session_ids() {
    let setup = Setup::new();
    let server = setup.serve(&["--log-format", "json", "--log-level", "debug"]);
    let pair = login(&server, "alice");
    server.json(
        "/auth/login",
        &json!({"username": "alice", "password": "a wrong password"}),
    );
    // A password typed into the username field (found by review: login_failed logged the
    // raw username).
    server.json(
        "/auth/login",
        &json!({"username": "hunter2-typed-as-a-username", "password": "x"}),
    );
    let next = refresh(&server, pair["refresh_token"].as_str().unwrap()).json();
    refresh(&server, pair["refresh_token"].as_str().unwrap());
    server.request(
        "POST",
        "/auth/logout",
        &[&bearer(next["access_token"].as_str().unwrap())],
        b"",
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = server.logs();
    let sid = gatepass::UntrustedToken::new(pair["access_token"].as_str().unwrap())
        .unwrap()
        .insecure_inspect()
        .unwrap()
        .claims["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        logs.contains("\"event\":\"login\"")
            && logs.contains("reuse_detected")
            && logs.contains("\"event\":\"login_failed\""),
        "{logs}"
    );
    for secret in [
        PASSWORD,
        "a wrong password",
        "hunter2-typed-as-a-username",
        &sid,
        pair["access_token"].as_str().unwrap(),
        pair["refresh_token"].as_str().unwrap(),
        next["access_token"].as_str().unwrap(),
    ] {
        assert!(
            !logs.contains(secret),
            "the log contains a secret ({} chars)",
            secret.len()
        );
    }
    // Every line is JSON.
    for line in logs.lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
}

#[test]
fn cookie_mode_keeps_the_refresh_token_in_a_secure_cookie() {
    let setup = Setup::new();
    let server = setup.serve(&["--cookies"]);
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200);
    let cookie = reply.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("__Host-refresh=ey"), "{cookie}");
    assert!(
        cookie.ends_with("; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=1800"),
        "{cookie}"
    );
    assert!(
        reply.json().get("refresh_token").is_none(),
        "the body does not repeat the cookie"
    );
    let value = cookie.split(';').next().unwrap().to_owned();
    let origin = format!("Origin: http://{}", server.addr);
    // Same origin: rotated, with a new cookie.
    let rotated = server.request(
        "POST",
        "/auth/refresh",
        &[&format!("Cookie: {value}"), &origin],
        b"",
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let next = rotated
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(next, value);
    // No Origin, or a foreign one: refused before the token is touched (CSRF).
    let none = server.request("POST", "/auth/refresh", &[&format!("Cookie: {next}")], b"");
    assert_eq!(none.status, 403);
    let evil = server.request(
        "POST",
        "/auth/refresh",
        &[&format!("Cookie: {next}"), "Origin: https://evil.example"],
        b"",
    );
    assert_eq!(evil.status, 403);
    let still = server.request(
        "POST",
        "/auth/refresh",
        &[&format!("Cookie: {next}"), &origin],
        b"",
    );
    assert_eq!(
        still.status, 200,
        "the refused attempts did not spend the token"
    );
    // Logout clears the cookie and the site's data.
    let access = still.json()["access_token"].as_str().unwrap().to_owned();
    let out = server.request("POST", "/auth/logout", &[&bearer(&access)], b"");
    assert_eq!(out.status, 204);
    assert_eq!(
        out.header("set-cookie"),
        Some("__Host-refresh=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    );
    assert_eq!(out.header("clear-site-data"), Some("\"cookies\""));
}

#[test]
fn logouts_survive_a_restart_with_the_file_store() {
    let setup = Setup::new();
    let journal = format!("file:{}", setup.fixture.path("sessions.journal").display());
    let mut server = setup.serve(&["--store", &journal]);
    let out = login(&server, "alice");
    let kept = login(&server, "alice");
    assert_eq!(
        server
            .request(
                "POST",
                "/auth/logout",
                &[&bearer(out["access_token"].as_str().unwrap())],
                b""
            )
            .status,
        204
    );
    server.stop();
    let server = setup.serve(&["--store", &journal]);
    assert_invalid_token(&me(&server, out["access_token"].as_str().unwrap()));
    assert_eq!(
        refresh(&server, out["refresh_token"].as_str().unwrap()).status,
        400
    );
    // The session that was not logged out still refreshes after the restart.
    assert_eq!(
        refresh(&server, kept["refresh_token"].as_str().unwrap()).status,
        200
    );
}

#[test]
fn two_hundred_concurrent_requests_are_all_answered() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let token = login(&server, "alice")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let addr = server.addr;
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let token = token.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| {
                        crate::server_support::request(
                            addr,
                            "GET",
                            "/api/me",
                            &[&format!("Authorization: Bearer {token}")],
                            b"",
                        )
                        .status
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[test]
fn demo_mode_prints_a_password_that_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--demo"], dir.path());
    let password = server.log_line("demo password: ");
    assert!(server
        .log_line("try: ")
        .starts_with("curl -s -X POST http://"));
    let reply = server.json(
        "/auth/login",
        &json!({"username": "demo", "password": password}),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        me(&server, reply.json()["access_token"].as_str().unwrap()).status,
        200
    );
}

#[test]
fn serve_refuses_bad_configuration_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0"],
        // An allowed origin that would never match, or match anything.
        vec![
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--cookies",
            "--allowed-origin",
            "null",
        ],
        vec![
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--cookies",
            "--allowed-origin",
            "https://app.example/login",
        ],
        vec![
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--store",
            "postgres://x",
        ],
        vec![
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--leeway",
            "301",
        ],
        vec![
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--grace",
            "99999",
        ],
        vec![
            "serve",
            "--keyset",
            "/nonexistent.json",
            "--listen",
            "127.0.0.1:0",
        ],
    ] {
        let out = run_str(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    drop(dir);
}

#[test]
fn pyjwt_verifies_a_login_token_against_the_served_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--demo"], dir.path());
    let password = server.log_line("demo password: ");
    let reply = server.json(
        "/auth/login",
        &json!({"username": "demo", "password": password}),
    );
    assert_eq!(reply.status, 200);
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let url = format!("http://{}/.well-known/jwks.json", server.addr);
    let claims = crate::interop::pyjwt_verify_via_jwks_url(&url, &token, "gatepass", "gatepass")
        .unwrap_or_else(|e| panic!("PyJWT refused the server's token: {e}"));
    assert_eq!(claims["claims"]["sub"], "demo");
    // A tampered token is refused by PyJWT too (the check can fail).
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'Q' } else { 'A' });
    assert!(
        crate::interop::pyjwt_verify_via_jwks_url(&url, &forged, "gatepass", "gatepass").is_err()
    );
}
