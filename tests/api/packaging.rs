//! What an operator deploys `gatepass serve` with: the `Dockerfile`, the systemd unit
//! (packaging/gatepass.service) and the OpenAPI document (docs/openapi.yaml), each checked
//! against the built binary so none of them can drift from it.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use gatepass::UsersFile;
use serde_json::{json, Value};

use crate::server_support::{Reply, Server};
use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The long flags `gatepass serve --help` lists.
fn serve_flags() -> BTreeSet<String> {
    let out = Command::new(gatepass_bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let flags: BTreeSet<String> = help
        .split_whitespace()
        .map(|word| word.trim_end_matches(','))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.split('=').next().unwrap().to_owned())
        .collect();
    // The check below would pass on anything if the help were not what it expects.
    for known in [
        "--listen",
        "--config",
        "--store",
        "--keyset",
        "--log-format",
    ] {
        assert!(flags.contains(known), "{known} not in {flags:?}");
    }
    assert!(!flags.contains("--no-such-flag"));
    flags
}

/// `GATEPASS_LOG_FORMAT` names `--log-format`.
fn flag_of_env(var: &str) -> String {
    format!(
        "--{}",
        var.trim_start_matches("GATEPASS_")
            .to_ascii_lowercase()
            .replace('_', "-")
    )
}

/// Every `GATEPASS_*` variable named in `text`.
fn env_vars(text: &str) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("GATEPASS_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        vars.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    vars
}

fn assert_flags_exist(what: &str, flags: impl IntoIterator<Item = String>) {
    let known = serve_flags();
    for flag in flags {
        assert!(
            known.contains(&flag),
            "{what} uses {flag}, which `gatepass serve` does not have"
        );
    }
}

/// The Dockerfile's instructions, continuation lines joined, comments left out:
/// (INSTRUCTION, arguments).
fn dockerfile_instructions() -> Vec<(String, String)> {
    let text = repo_file("Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (name, args) = current.split_once(' ').unwrap_or((&current, ""));
        instructions.push((name.to_ascii_uppercase(), args.trim().to_owned()));
        current.clear();
    }
    assert!(current.is_empty(), "a dangling continuation line");
    instructions
}

fn all_args<'a>(instructions: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    instructions
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, args)| args.as_str())
        .collect()
}

#[test]
fn dockerfile_builds_locked_and_runs_serve_as_a_non_root_user_on_a_read_only_root() {
    let instructions = dockerfile_instructions();
    let from = all_args(&instructions, "FROM");
    assert!(from.len() >= 2, "multi-stage: {from:?}");
    assert!(
        from[0].to_ascii_lowercase().contains(" as "),
        "the builder stage is named: {from:?}"
    );
    assert!(
        all_args(&instructions, "RUN")
            .iter()
            .any(|run| run.contains("cargo build --release --locked")),
        "the builder builds the locked release binary"
    );
    assert!(
        all_args(&instructions, "COPY")
            .iter()
            .any(|copy| copy.starts_with("--from=")),
        "the runtime stage takes only the binary from the builder"
    );

    // The runtime stage: everything after the last FROM.
    let last_from = instructions.iter().rposition(|(n, _)| n == "FROM").unwrap();
    let runtime = &instructions[last_from..];
    let user = all_args(runtime, "USER");
    let user = user.last().expect("a USER in the runtime stage");
    let uid = user.split(':').next().unwrap();
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("a numeric UID, so the runtime can check it: {user}"));
    assert_ne!(uid, 0, "not root");
    let user_at = runtime.iter().rposition(|(n, _)| n == "USER").unwrap();
    assert!(
        !runtime[user_at..].iter().any(|(n, _)| n == "RUN"),
        "nothing runs as the server's user at build time"
    );

    assert!(
        all_args(runtime, "EXPOSE")
            .iter()
            .any(|e| e.split_whitespace().any(|p| p == "8080" || p == "8080/tcp")),
        "EXPOSE 8080"
    );
    let env = all_args(runtime, "ENV").join(" ");
    assert!(
        env.contains("GATEPASS_LISTEN=0.0.0.0:8080"),
        "listens on every interface inside the container: {env}"
    );
    assert!(
        env.contains("GATEPASS_CONFIG=/etc/gatepass/"),
        "the settings come from the mounted /etc/gatepass: {env}"
    );
    let health = all_args(runtime, "HEALTHCHECK");
    assert_eq!(health.len(), 1, "{health:?}");
    assert!(
        health[0].contains("CMD") && health[0].contains("http://127.0.0.1:8080/readyz"),
        "{}",
        health[0]
    );
    // A read-only root: the only place written is a volume.
    let volumes = all_args(runtime, "VOLUME").join(" ");
    assert!(volumes.contains("/var/lib/gatepass"), "{volumes}");

    // The command is `gatepass serve`, with flags and variables the binary has.
    let command = [
        all_args(runtime, "ENTRYPOINT").join(" "),
        all_args(runtime, "CMD").join(" "),
    ]
    .join(" ");
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || "[],\"".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    assert!(words.contains(&"serve"), "{command}");
    let mut flags: Vec<String> = words
        .iter()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap().to_owned())
        .collect();
    let vars = env_vars(&repo_file("Dockerfile"));
    assert!(vars.contains("GATEPASS_LISTEN"), "{vars:?}");
    flags.extend(vars.iter().map(|v| flag_of_env(v)));
    assert_flags_exist("the Dockerfile", flags);

    let ignored = repo_file(".dockerignore");
    assert!(
        ignored.lines().any(|l| l.trim() == "target"),
        "the build context leaves out target/"
    );
}

/// `[Service]` settings of the unit, in order (a key may repeat).
fn unit_settings(text: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut settings = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]" {
            let (key, value) = line.split_once('=').expect("KEY=VALUE");
            settings.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    settings
}

#[test]
fn systemd_unit_is_sandboxed_and_starts_serve_with_real_flags() {
    let text = repo_file("packaging/gatepass.service");
    let settings = unit_settings(&text);
    let values = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    for (key, expected) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "gatepass"),
        ("ConfigurationDirectory", "gatepass"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(values(key), [expected], "{key}");
    }
    assert!(values("SystemCallFilter").contains(&"@system-service"));
    let families = values("RestrictAddressFamilies");
    assert_eq!(families.len(), 1, "{families:?}");
    let families: BTreeSet<&str> = families[0].split_whitespace().collect();
    assert!(
        families.contains("AF_INET") && families.contains("AF_INET6"),
        "{families:?}"
    );
    assert!(
        families.iter().all(|f| f.starts_with("AF_")),
        "an allow-list: {families:?}"
    );
    let env_files = values("EnvironmentFile");
    assert_eq!(env_files.len(), 1);
    assert!(env_files[0]
        .trim_start_matches('-')
        .starts_with("/etc/gatepass/"));

    let exec = values("ExecStart");
    assert_eq!(exec.len(), 1, "{exec:?}");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert!(words[0].ends_with("/gatepass"), "{exec:?}");
    assert_eq!(words[1], "serve");
    let flags: Vec<String> = words
        .iter()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap().to_owned())
        .collect();
    // The store URL may carry a password: it comes from the EnvironmentFile, never argv
    // (and a flag would beat the environment).
    assert!(!flags.iter().any(|f| f == "--store"), "{exec:?}");
    let mut all = flags;
    all.extend(env_vars(&text).iter().map(|v| flag_of_env(v)));
    assert_flags_exist("the systemd unit", all);

    // systemd's own reading of the unit, where systemd is installed.
    let analyze = Command::new("systemd-analyze").arg("--version").output();
    if !analyze.is_ok_and(|o| o.status.success()) {
        println!("systemd-analyze not found: the unit was checked by the rules above only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("gatepass.service");
    // `verify` wants ExecStart's binary to exist: point it at the one just built.
    let installed = words[0];
    std::fs::write(
        &unit,
        text.replace(installed, &gatepass_bin().display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.lines().any(|l| l.contains("gatepass.service")),
        "systemd-analyze verify complains: {stderr}"
    );
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// The routes `gatepass serve` answers (without `--metrics`).
const SERVED: [(&str, &str); 9] = [
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("POST", "/auth/revoke"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/api/me"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
];

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

fn login(server: &Server) -> Value {
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// A request whose head arrives but whose body never does, until the server gives up.
fn unfinished_request(server: &Server, path: &str) -> u16 {
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
    let users = fixture.path("users.json");
    UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
    let keyset = fixture.keyset_path.display().to_string();
    let users = users.display().to_string();
    let server = Server::start(
        &[
            "--keyset",
            &keyset,
            "--users",
            &users,
            "--max-login-failures",
            "2",
            "--request-timeout",
            "1",
        ],
        fixture.dir.path(),
    );

    // Every documented operation exists; every other method on its path is 405, and a path
    // that is not documented is 404: the server answers nothing the document leaves out.
    for (method, path) in &ops {
        let status = server.request(method, path, &[], b"").status;
        assert!(
            status != 404 && status != 405,
            "{method} {path} is documented, the server answers {status}"
        );
        for other in METHODS {
            if !ops.contains(&(other.to_owned(), path.clone())) {
                let status = server.request(other, path, &[], b"").status;
                assert_eq!(status, 405, "{other} {path} is not documented");
            }
        }
    }
    for path in [
        "/",
        "/auth",
        "/auth/sessions",
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
        let reply = server.request(method, path, &[json_type], &oversized);
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
    ] {
        let reply = server.request(method, path, &["Authorization: Bearer a b"], b"");
        check(&doc, method, path, &reply, 400);
        let reply = server.request(method, path, &[], b"");
        check(&doc, method, path, &reply, 401);
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="gatepass""#)
        );
        let reply = server.request(method, path, &[&bearer("not.a.token")], b"");
        check(&doc, method, path, &reply, 401);
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#));
    }
    let access = login(&server)["access_token"].as_str().unwrap().to_owned();
    let reply = server.get("/api/me", &[&bearer(&access)]);
    check(&doc, "GET", "/api/me", &reply, 200);
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
    let users = users.display().to_string();
    let server = Server::start(&["--keyset", &keyset, "--users", &users], dir.path());

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

/// A config directory like /etc/gatepass: gatepass.toml naming a keyset, a users file and a
/// file store under `dir`.
fn config_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let fixture_keyset = Fixture::new();
    let keyset = dir.join("keys.json");
    std::fs::copy(&fixture_keyset.keyset_path, &keyset).unwrap();
    let users = dir.join("users.json");
    UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
    let config = dir.join("gatepass.toml");
    std::fs::write(
        &config,
        format!(
            "keyset = {:?}\nusers = {:?}\nstore = {:?}\n",
            keyset.display().to_string(),
            users.display().to_string(),
            format!("file:{}", dir.join("sessions.journal").display()),
        ),
    )
    .unwrap();
    config
}

/// The server the way the packaging starts it (its environment, its arguments, a config
/// file where it expects one) is ready and logs JSON.
fn assert_starts_ready(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) {
    let server = Server::start_with_env(args, env, dir);
    let reply = server.get("/readyz", &[]);
    assert_eq!(reply.status, 200, "{}", server.logs());
    let login = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(login.status, 200, "{}", login.text());
    let first = server.log_line("{");
    assert!(
        serde_json::from_str::<Value>(&format!("{{{first}")).is_ok(),
        "JSON log lines: {}",
        server.logs()
    );
    assert!(
        dir.join("sessions.journal").exists(),
        "the file store is used"
    );
}

#[test]
fn the_images_environment_and_the_units_command_start_a_ready_server() {
    // The Dockerfile's ENV, with its /etc/gatepass config file moved to a temporary one.
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path()).display().to_string();
    let instructions = dockerfile_instructions();
    let env_line = all_args(&instructions, "ENV").join(" ");
    let mut env: Vec<(String, String)> = env_line
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(env.iter().any(|(k, _)| k == "GATEPASS_CONFIG"));
    for (key, value) in &mut env {
        if key == "GATEPASS_CONFIG" {
            value.clone_from(&config);
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Server::start's `--listen 127.0.0.1:0` beats the image's 0.0.0.0:8080.
    assert_starts_ready(&[], &env, dir.path());

    // The unit's ExecStart, its /etc/gatepass config file moved likewise.
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path()).display().to_string();
    let text = repo_file("packaging/gatepass.service");
    let exec = unit_settings(&text)
        .into_iter()
        .find(|(k, _)| k == "ExecStart")
        .unwrap()
        .1;
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(2)
        .map(|arg| {
            if arg == "/etc/gatepass/gatepass.toml" {
                config.clone()
            } else {
                arg.to_owned()
            }
        })
        .collect();
    assert!(args.contains(&config), "{exec}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_starts_ready(&args, &[], dir.path());
}
