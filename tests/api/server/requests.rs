//! What requests get: RFC 6750 answers on protected routes, body limits and types, the public
//! JWKS, cookie mode, and two hundred concurrent requests all answered.

use super::*;

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
                        request(
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
