//! docs/openapi.yaml against a running server: exactly the served routes, every documented
//! answer real (including the 503s of a server without a signing key).

use super::*;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// The routes `gatepass serve` answers (without `--metrics`).
const SERVED: [(&str, &str); 11] = [
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("POST", "/auth/revoke"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/api/me"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/auth/sessions"),
    ("DELETE", "/auth/sessions/{id}"),
];

/// A documented path as a request names it: a template's parameter filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "x")
}

fn openapi() -> Value {
    let doc: Value = serde_norway::from_str(&repo_file("docs/openapi.yaml")).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    doc
}

/// (METHOD, path) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    ops
}

/// A documented response of an operation, `$ref`s followed.
fn documented_response(doc: &Value, method: &str, path: &str, status: u16) -> Value {
    let op = &doc["paths"][path][method.to_ascii_lowercase()];
    let mut response = op["responses"][status.to_string()].clone();
    assert!(
        !response.is_null(),
        "{method} {path} answers {status}, which docs/openapi.yaml does not list"
    );
    while let Some(reference) = response["$ref"].as_str() {
        let pointer = reference.trim_start_matches('#');
        response = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling {reference}"))
            .clone();
    }
    response
}

/// `reply` is documented for the route: its status is listed, with the headers the document
/// promises (`WWW-Authenticate`, `Retry-After`) and, where it documents a JSON body, JSON
/// with the schema's required members.
fn check(doc: &Value, method: &str, path: &str, reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
    let response = documented_response(doc, method, path, status);
    if let Some(headers) = response["headers"].as_object() {
        for name in headers.keys() {
            if name == "WWW-Authenticate" || name == "Retry-After" {
                assert!(
                    reply.header(name).is_some(),
                    "{method} {path} {status}: no {name}"
                );
            }
        }
    }
    if let Some(schema) = response.pointer("/content/application~1json/schema") {
        let mut schema = schema.clone();
        if let Some(reference) = schema["$ref"].as_str() {
            schema = doc
                .pointer(reference.trim_start_matches('#'))
                .unwrap()
                .clone();
        }
        let body = reply.json();
        for member in schema["required"].as_array().into_iter().flatten() {
            let member = member.as_str().unwrap();
            assert!(
                body.get(member).is_some(),
                "{method} {path} {status}: no {member:?} in {body}"
            );
        }
        // Fixed values (`const`, `enum`) are the ones the server sends.
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let Some(value) = body.get(name) else {
                continue;
            };
            if let Some(expected) = property.get("const") {
                assert_eq!(value, expected, "{method} {path} {status}: {name}");
            }
            if let Some(allowed) = property["enum"].as_array() {
                assert!(
                    allowed.contains(value),
                    "{method} {path} {status}: {name} = {value} is not one of {allowed:?}"
                );
            }
        }
    }
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn login(server: &RunningServer) -> Value {
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// A request whose head arrives but whose body never does, until the server gives up.
fn unfinished_request(server: &RunningServer, path: &str) -> u16 {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{{"
    )
    .unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let head = String::from_utf8_lossy(&bytes);
    head.split(' ').nth(1).unwrap_or("0").parse().unwrap()
}

#[test]
fn openapi_document_lists_exactly_the_served_routes_and_their_real_answers() {
    let doc = openapi();
    let ops = documented(&doc);
    let served: BTreeSet<(String, String)> = SERVED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        ops, served,
        "docs/openapi.yaml and the served routes differ"
    );

    let fixture = Fixture::new();
    let users = fixture.users(&["alice"]);
    let server = ServerBuilder::new()
        .keyset(&fixture.keyset_path)
        .users(users)
        .args(["--max-login-failures", "2", "--request-timeout", "1"])
        .log_dir(fixture.dir.path())
        .spawn();

    // Every documented operation exists; every other method on its path is 405, and a path
    // that is not documented is 404: the server answers nothing the document leaves out.
    for (method, path) in &ops {
        let status = server.request(method, &concrete(path), &[], b"").status;
        assert!(
            status != 404 && status != 405,
            "{method} {path} is documented, the server answers {status}"
        );
        for other in METHODS {
            if !ops.contains(&(other.to_owned(), path.clone())) {
                let status = server.request(other, &concrete(path), &[], b"").status;
                assert_eq!(status, 405, "{other} {path} is not documented");
            }
        }
    }
    for path in [
        "/",
        "/auth",
        "/auth/sessions/a/b",
        "/auth/token",
        "/metrics",
        "/api/you",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(
            server.get(path, &[]).status,
            404,
            "{path} is not documented"
        );
    }

    let json_type = "Content-Type: application/json";
    let form_type = "Content-Type: application/x-www-form-urlencoded";
    let oversized = vec![b'a'; 17 * 1024];

    // 413 on every route, 415 where a body has a type.
    for (method, path) in &ops {
        let reply = server.request(method, &concrete(path), &[json_type], &oversized);
        check(&doc, method, path, &reply, 413);
    }
    for (path, wrong) in [
        ("/auth/login", form_type),
        ("/auth/refresh", "Content-Type: text/plain"),
        ("/auth/revoke", json_type),
    ] {
        let reply = server.request("POST", path, &[wrong], b"{}");
        check(&doc, "POST", path, &reply, 415);
    }

    // Login: 200, 400, 401, then 429 once the username has failed too often.
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    check(&doc, "POST", "/auth/login", &reply, 200);
    let reply = server.json("/auth/login", &json!({"username": 1, "password": "x"}));
    check(&doc, "POST", "/auth/login", &reply, 400);
    assert_eq!(reply.json()["error"], "invalid_request");
    let wrong = json!({"username": "mallory", "password": "wrong"});
    for _ in 0..2 {
        let reply = server.json("/auth/login", &wrong);
        check(&doc, "POST", "/auth/login", &reply, 401);
        assert_eq!(reply.json()["error"], "invalid_credentials");
    }
    let reply = server.json("/auth/login", &wrong);
    check(&doc, "POST", "/auth/login", &reply, 429);

    // Refresh: 200, 400 invalid_grant and invalid_request.
    let pair = login(&server);
    let reply = server.json(
        "/auth/refresh",
        &json!({"refresh_token": pair["refresh_token"]}),
    );
    check(&doc, "POST", "/auth/refresh", &reply, 200);
    let reply = server.json(
        "/auth/refresh",
        &json!({"refresh_token": pair["refresh_token"]}),
    );
    check(&doc, "POST", "/auth/refresh", &reply, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
    let reply = server.json("/auth/refresh", &json!({}));
    check(&doc, "POST", "/auth/refresh", &reply, 400);
    assert_eq!(reply.json()["error"], "invalid_request");

    // The protected routes: 400 for a malformed Authorization, 401 with the challenge for
    // none or a bad token, then 200 / 204 with a good one.
    for (method, path) in [
        ("GET", "/api/me"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/logout-all"),
        ("GET", "/auth/sessions"),
        ("DELETE", "/auth/sessions/{id}"),
    ] {
        let target = concrete(path);
        let reply = server.request(method, &target, &["Authorization: Bearer a b"], b"");
        check(&doc, method, path, &reply, 400);
        let reply = server.request(method, &target, &[], b"");
        check(&doc, method, path, &reply, 401);
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="gatepass""#)
        );
        let reply = server.request(method, &target, &[&bearer("not.a.token")], b"");
        check(&doc, method, path, &reply, 401);
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#));
    }
    let access = login(&server)["access_token"].as_str().unwrap().to_owned();
    let reply = server.get("/api/me", &[&bearer(&access)]);
    check(&doc, "GET", "/api/me", &reply, 200);
    // The session listing, and ending a session by its handle: 204, then 404.
    let reply = server.get("/auth/sessions", &[&bearer(&access)]);
    check(&doc, "GET", "/auth/sessions", &reply, 200);
    let listed = reply.json()["sessions"].as_array().unwrap().clone();
    let item = &doc["components"]["schemas"]["SessionInfo"];
    for session in &listed {
        for member in item["required"].as_array().unwrap() {
            assert!(session.get(member.as_str().unwrap()).is_some(), "{session}");
        }
    }
    let handle = listed.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/auth/sessions/{handle}");
    let reply = server.request("DELETE", &path, &[&bearer(&access)], b"");
    check(&doc, "DELETE", "/auth/sessions/{id}", &reply, 204);
    let reply = server.request("DELETE", &path, &[&bearer(&access)], b"");
    check(&doc, "DELETE", "/auth/sessions/{id}", &reply, 404);
    assert_eq!(reply.json()["error"], "not_found");
    let left = server.get("/auth/sessions", &[&bearer(&access)]).json();
    assert_eq!(left["sessions"].as_array().unwrap().len(), listed.len() - 1);
    let reply = server.request("POST", "/auth/logout", &[&bearer(&access)], b"");
    check(&doc, "POST", "/auth/logout", &reply, 204);
    let access = login(&server)["access_token"].as_str().unwrap().to_owned();
    let reply = server.request("POST", "/auth/logout-all", &[&bearer(&access)], b"");
    check(&doc, "POST", "/auth/logout-all", &reply, 204);

    // Revocation: 200 even for an unknown token, 400 without one.
    let reply = server.request("POST", "/auth/revoke", &[form_type], b"token=unknown");
    check(&doc, "POST", "/auth/revoke", &reply, 200);
    let reply = server.request("POST", "/auth/revoke", &[form_type], b"token_type_hint=x");
    check(&doc, "POST", "/auth/revoke", &reply, 400);

    // The public routes.
    for path in ["/.well-known/jwks.json", "/healthz", "/readyz"] {
        let reply = server.get(path, &[]);
        check(&doc, "GET", path, &reply, 200);
    }
    assert!(server
        .get("/.well-known/jwks.json", &[])
        .header("cache-control")
        .unwrap()
        .starts_with("public, max-age="));

    // 408: a body that never arrives (`--request-timeout 1`).
    let status = unfinished_request(&server, "/auth/login");
    assert_eq!(status, 408);
    documented_response(&doc, "POST", "/auth/login", 408);
}

#[test]
fn openapi_document_lists_the_503_answers_of_a_server_without_a_signing_key() {
    let doc = openapi();
    let dir = tempfile::tempdir().unwrap();
    let keyset = dir.path().join("keys.json").display().to_string();
    let out = Command::new(gatepass_bin())
        .args(["keygen", "--alg", "EdDSA", "--state", "pending", "--keyset"])
        .arg(&keyset)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let users = dir.path().join("users.json");
    UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
    let server = ServerBuilder::new()
        .keyset(&keyset)
        .users(&users)
        .log_dir(dir.path())
        .spawn();

    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    check(&doc, "POST", "/auth/login", &reply, 503);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    let reply = server.get("/readyz", &[]);
    check(&doc, "GET", "/readyz", &reply, 503);
    assert_eq!(
        reply.json(),
        json!({"status": "unready", "reason": "no_signing_key"})
    );
}
