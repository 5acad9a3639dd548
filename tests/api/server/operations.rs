//! Running the server: logs without secrets, demo mode, bad configuration refused with exit 2,
//! and a login token a third-party library (PyJWT) verifies against the served JWKS.

use super::*;

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
fn demo_mode_prints_a_password_that_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerBuilder::new()
        .arg("--demo")
        .log_dir(dir.path())
        .spawn();
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
    let server = ServerBuilder::new()
        .arg("--demo")
        .log_dir(dir.path())
        .spawn();
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
