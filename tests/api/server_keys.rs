//! A running `gatepass serve` follows its keyset file: a key revoked, retired or removed
//! with the CLI takes effect within seconds, even when it was the last active key.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatepass::{Algorithm, GenerateOptions, Keyset, UsersFile};
use serde_json::{json, Value};

use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

/// One active EdDSA key in a keyset file, a user, and a server over them.
struct OneKey {
    dir: tempfile::TempDir,
    keyset: PathBuf,
    users: PathBuf,
    kid: String,
}

impl OneKey {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut keyset = Keyset::new();
        let kid = keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), now())
            .unwrap();
        let path = dir.path().join("keyset.json");
        keyset.save(&path).unwrap();
        let users = dir.path().join("users.json");
        UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
        Self {
            dir,
            keyset: path,
            users,
            kid,
        }
    }

    fn serve(&self) -> RunningServer {
        ServerBuilder::new()
            .keyset(&self.keyset)
            .users(&self.users)
            .log_dir(self.dir.path())
            .spawn()
    }

    /// `gatepass keys <verb> KID --keyset FILE`, which must succeed.
    fn keys(&self, verb: &str, kid: &str) {
        let keyset = self.keyset.display().to_string();
        let out = run_str(&["keys", verb, "--keyset", &keyset, "--", kid]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `gatepass keygen --alg EdDSA --keyset FILE`: becomes active when none is.
    fn keygen(&self) {
        let keyset = self.keyset.display().to_string();
        let out = run_str(&["keygen", "--alg", "EdDSA", "--keyset", &keyset]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn login(server: &RunningServer) -> Reply {
    server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    )
}

fn tokens(server: &RunningServer) -> (String, String) {
    let reply = login(server);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn me(server: &RunningServer, token: &str) -> Reply {
    server.get("/api/me", &[&format!("Authorization: Bearer {token}")])
}

fn refresh(server: &RunningServer, token: &str) -> Reply {
    server.json("/auth/refresh", &json!({"refresh_token": token}))
}

fn published_kids(server: &RunningServer) -> Vec<String> {
    let reply = server.get("/.well-known/jwks.json", &[]);
    assert_eq!(reply.status, 200);
    reply.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Wait (at most the contract's 10 s) until `done` holds; how long it took.
fn within_ten_seconds(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not within 10 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

/// 503 `temporarily_unavailable`, not cached, with a `Retry-After`.
fn assert_temporarily_unavailable(reply: &Reply) {
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
}

fn readiness(server: &RunningServer) -> (u16, Value) {
    let reply = server.get("/readyz", &[]);
    (reply.status, reply.json())
}

fn assert_invalid_token(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text());
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}

#[test]
fn revoking_the_last_active_key_stops_verifying_issuing_and_publishing_it() {
    let setup = OneKey::new();
    let server = setup.serve();
    let (access, refresh_token) = tokens(&server);
    assert_eq!(me(&server, &access).status, 200);
    assert_eq!(readiness(&server), (200, json!({"status": "ready"})));
    assert_eq!(published_kids(&server), std::slice::from_ref(&setup.kid));

    setup.keys("revoke", &setup.kid);
    within_ten_seconds("the revoked key stops verifying", || {
        me(&server, &access).status == 401
    });
    assert_invalid_token(&me(&server, &access));
    assert!(published_kids(&server).is_empty());
    // Nothing can be issued: 503 with Retry-After; the refresh token is not consumed.
    assert_temporarily_unavailable(&login(&server));
    assert_temporarily_unavailable(&refresh(&server, &refresh_token));
    assert_eq!(
        readiness(&server),
        (
            503,
            json!({"status": "unready", "reason": "no_signing_key"})
        )
    );
    // Liveness is not readiness.
    assert_eq!(server.get("/healthz", &[]).status, 200);
    assert!(server.logs().contains("no active signing key"));

    // A new key brings issuing back without a restart; the revoked key stays dead, and
    // so does the refresh token it signed (it no longer verifies).
    setup.keygen();
    within_ten_seconds("the new key signs", || readiness(&server).0 == 200);
    let (fresh, _) = tokens(&server);
    assert_eq!(me(&server, &fresh).status, 200);
    assert_invalid_token(&me(&server, &access));
    let reply = refresh(&server, &refresh_token);
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_grant");
    let kids = published_kids(&server);
    assert_eq!(kids.len(), 1);
    assert_ne!(kids[0], setup.kid);
}

#[test]
fn removing_the_last_key_is_revoking_it_and_retiring_it_only_stops_issuing() {
    // Retire: its tokens keep verifying (it is still published), nothing new is issued.
    let setup = OneKey::new();
    let server = setup.serve();
    let (access, refresh_token) = tokens(&server);
    setup.keys("retire", &setup.kid);
    within_ten_seconds("issuing stops after retire", || {
        login(&server).status == 503
    });
    assert_eq!(me(&server, &access).status, 200);
    assert_eq!(published_kids(&server), std::slice::from_ref(&setup.kid));
    assert_temporarily_unavailable(&refresh(&server, &refresh_token));
    assert_eq!(readiness(&server).0, 503);

    // Remove: gone from verification and from the JWKS.
    setup.keys("remove", &setup.kid);
    within_ten_seconds("the removed key stops verifying", || {
        me(&server, &access).status == 401
    });
    assert!(published_kids(&server).is_empty());
    assert_temporarily_unavailable(&login(&server));
}

#[test]
fn a_server_started_on_a_keyset_without_an_active_key_runs_unready() {
    let setup = OneKey::new();
    setup.keys("revoke", &setup.kid);
    let server = setup.serve();
    assert_eq!(
        readiness(&server),
        (
            503,
            json!({"status": "unready", "reason": "no_signing_key"})
        )
    );
    assert_temporarily_unavailable(&login(&server));
    assert!(published_kids(&server).is_empty());
    assert_eq!(server.get("/healthz", &[]).status, 200);

    setup.keygen();
    within_ten_seconds("the new key signs", || readiness(&server).0 == 200);
    let (access, _) = tokens(&server);
    assert_eq!(me(&server, &access).status, 200);
}

#[test]
fn a_broken_keyset_file_keeps_the_previous_keys() {
    let setup = OneKey::new();
    let server = setup.serve();
    let (access, _) = tokens(&server);
    write_atomically(&setup.keyset, b"{\"keys\": [");
    // The failure is logged; nothing changes for clients.
    within_ten_seconds("the reload failure is logged", || {
        server.logs().contains("keyset_reload_failed")
    });
    assert_eq!(me(&server, &access).status, 200);
    assert_eq!(readiness(&server).0, 200);
    assert_eq!(login(&server).status, 200);
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The users file's claims reach the access tokens, and `gatepass users` changes reach a
/// running server without a restart.
#[test]
fn a_users_claims_appear_in_their_tokens_and_changes_reach_a_running_server() {
    let setup = OneKey::new();
    let users = setup.users.display().to_string();
    let out = run_str(&[
        "users",
        "set-claims",
        "--users",
        &users,
        "--username",
        "alice",
        "--claims",
        r#"{"roles":["admin"],"scope":"orders:read"}"#,
    ]);
    assert!(out.status.success(), "{out:?}");
    let server = setup.serve();
    let (access, _) = tokens(&server);
    let me_reply = me(&server, &access).json();
    assert_eq!(me_reply["roles"], json!(["admin"]));
    assert_eq!(me_reply["scope"], "orders:read");
    assert_eq!(me_reply["sub"], "alice");

    // A new user, and new claims for alice, while the server runs.
    let out = run(
        &[
            "users".into(),
            "add".into(),
            "--users".into(),
            users.clone(),
            "--username".into(),
            "bob".into(),
        ],
        Some(b"bob's long password\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let out = run_str(&[
        "users",
        "set-claims",
        "--users",
        &users,
        "--username",
        "alice",
        "--claims",
        r#"{"roles":["viewer"]}"#,
    ]);
    assert!(out.status.success(), "{out:?}");
    // Polled through the log, not by logging in: failed logins would be throttled.
    let reloads = |server: &RunningServer| server.logs().matches("users_reloaded").count();
    within_ten_seconds("the users file is reloaded", || reloads(&server) >= 1);
    let bob = server.json(
        "/auth/login",
        &json!({"username": "bob", "password": "bob's long password"}),
    );
    assert_eq!(bob.status, 200, "{}", bob.text());
    let (access, _) = tokens(&server);
    assert_eq!(me(&server, &access).json()["roles"], json!(["viewer"]));
    // Removed users cannot log in any more.
    let out = run_str(&["users", "remove", "--users", &users, "--username", "alice"]);
    assert!(out.status.success(), "{out:?}");
    let before = reloads(&server);
    within_ten_seconds("the users file is reloaded again", || {
        reloads(&server) > before
    });
    assert_eq!(login(&server).status, 401);
}
