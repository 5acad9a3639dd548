//! `gatepass serve --metrics` / `--metrics-listen`: what a scripted sequence of logins,
//! refreshes, a reuse and protected requests leaves in `GET /metrics`, exactly; where the
//! route is served and where it is not; key reloads counted by result.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

type Server = RunningServer;

/// `gatepass serve ARGS` logging into `dir`.
fn start(args: &[&str], dir: &std::path::Path) -> Server {
    ServerBuilder::new().args(args).log_dir(dir).spawn()
}

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

fn assert_samples(text: &str, expected: &[(&str, f64)]) {
    for (series, value) in expected {
        assert_eq!(sample(text, series), Some(*value), "{series} in:\n{text}");
    }
}

fn scrape(server: &Server) -> String {
    let reply = server.get("/metrics", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some(CONTENT_TYPE));
    reply.text()
}

fn login(server: &Server, password: &str) -> Reply {
    server.json(
        "/auth/login",
        &json!({"username": "demo", "password": password}),
    )
}

fn refresh(server: &Server, token: &Value) -> Reply {
    server.json("/auth/refresh", &json!({ "refresh_token": token }))
}

fn me(server: &Server, access: &Value) -> Reply {
    let bearer = format!("Authorization: Bearer {}", access.as_str().unwrap());
    server.get("/api/me", &[&bearer])
}

#[test]
fn metrics_count_logins_refreshes_reuse_and_verifications_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&["--demo", "--metrics"], dir.path());
    let password = server.log_line("demo password: ");

    // Nothing happened yet: every counter at zero, every histogram empty.
    let before = scrape(&server);
    assert_samples(
        &before,
        &[
            ("gatepass_logins_total{outcome=\"success\"}", 0.0),
            ("gatepass_reuse_detections_total", 0.0),
            ("gatepass_login_duration_seconds_count", 0.0),
        ],
    );

    assert_eq!(login(&server, "wrong password 1").status, 401);
    assert_eq!(login(&server, "wrong password 2").status, 401);
    let first = login(&server, &password);
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    let mine = me(&server, &first["access_token"]);
    assert_eq!(mine.status, 200);
    let sid = mine.json()["sid"].as_str().unwrap().to_owned();
    let second = refresh(&server, &first["refresh_token"]);
    assert_eq!(second.status, 200, "{}", second.text());
    let second = second.json();
    // The old refresh token again: reuse, the whole session ends.
    let reused = refresh(&server, &first["refresh_token"]);
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json()["error"], "invalid_grant");
    let revoked = me(&server, &second["access_token"]);
    assert_eq!(revoked.status, 401);
    assert!(revoked
        .header("www-authenticate")
        .unwrap()
        .contains("revoked"));

    let text = scrape(&server);
    assert_samples(
        &text,
        &[
            ("gatepass_logins_total{outcome=\"success\"}", 1.0),
            (
                "gatepass_logins_total{outcome=\"invalid_credentials\"}",
                2.0,
            ),
            ("gatepass_logins_total{outcome=\"throttled\"}", 0.0),
            ("gatepass_refreshes_total{outcome=\"success\"}", 1.0),
            (
                "gatepass_refreshes_total{outcome=\"invalid_grant_reused\"}",
                1.0,
            ),
            ("gatepass_verifications_total{outcome=\"success\"}", 1.0),
            ("gatepass_verifications_total{outcome=\"revoked\"}", 1.0),
            ("gatepass_reuse_detections_total", 1.0),
            ("gatepass_revocations_total{reason=\"reuse\"}", 1.0),
            ("gatepass_revocations_total{reason=\"logout\"}", 0.0),
            ("gatepass_revocations_total{reason=\"logout_all\"}", 0.0),
            ("gatepass_revocations_total{reason=\"revoke\"}", 0.0),
            ("gatepass_store_errors_total{operation=\"refresh\"}", 0.0),
            ("gatepass_store_errors_total{operation=\"login\"}", 0.0),
            ("gatepass_login_duration_seconds_count", 3.0),
            ("gatepass_login_duration_seconds_bucket{le=\"+Inf\"}", 3.0),
            ("gatepass_refresh_duration_seconds_count", 2.0),
            ("gatepass_verify_duration_seconds_count", 2.0),
        ],
    );
    // No other outcome appeared, and nothing names a user, a session or a token.
    let series = |name: &str| {
        text.lines()
            .filter(|l| l.starts_with(name) && !l.ends_with(" 0"))
            .count()
    };
    assert_eq!(series("gatepass_logins_total{"), 2, "{text}");
    assert_eq!(series("gatepass_refreshes_total{"), 2, "{text}");
    assert_eq!(series("gatepass_verifications_total{"), 2, "{text}");
    assert_eq!(series("gatepass_key_reloads_total{"), 0, "{text}");
    assert!(!text.contains("demo"), "{text}");
    assert!(!text.contains(&sid), "{text}");
    assert!(text.contains("# TYPE gatepass_login_duration_seconds histogram"));

    // Logout and logout-all count as revocations by reason; a bearer-less call is a
    // verification refused for missing credentials.
    let third = login(&server, &password).json();
    let bearer = format!(
        "Authorization: Bearer {}",
        third["access_token"].as_str().unwrap()
    );
    assert_eq!(
        server
            .request("POST", "/auth/logout", &[&bearer], b"")
            .status,
        204
    );
    let fourth = login(&server, &password).json();
    let _fifth = login(&server, &password).json();
    let bearer = format!(
        "Authorization: Bearer {}",
        fourth["access_token"].as_str().unwrap()
    );
    assert_eq!(
        server
            .request("POST", "/auth/logout-all", &[&bearer], b"")
            .status,
        204
    );
    assert_eq!(server.get("/api/me", &[]).status, 401);
    let text = scrape(&server);
    assert_samples(
        &text,
        &[
            ("gatepass_logins_total{outcome=\"success\"}", 4.0),
            ("gatepass_revocations_total{reason=\"logout\"}", 1.0),
            ("gatepass_revocations_total{reason=\"logout_all\"}", 2.0),
            ("gatepass_verifications_total{outcome=\"success\"}", 3.0),
            (
                "gatepass_verifications_total{outcome=\"missing_credentials\"}",
                1.0,
            ),
            ("gatepass_verify_duration_seconds_count", 5.0),
        ],
    );
}

#[test]
fn ending_a_session_by_its_handle_counts_as_a_logout_and_a_verification() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&["--demo", "--metrics"], dir.path());
    let password = server.log_line("demo password: ");
    let first = login(&server, &password).json();
    login(&server, &password);
    let bearer = format!(
        "Authorization: Bearer {}",
        first["access_token"].as_str().unwrap()
    );
    let listed = server.get("/auth/sessions", &[&bearer]).json();
    let other = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/auth/sessions/{other}");
    assert_eq!(server.request("DELETE", &path, &[&bearer], b"").status, 204);
    // The same handle again: not one of the subject's live sessions any more.
    assert_eq!(server.request("DELETE", &path, &[&bearer], b"").status, 404);
    assert_samples(
        &scrape(&server),
        &[
            ("gatepass_revocations_total{reason=\"logout\"}", 1.0),
            ("gatepass_verifications_total{outcome=\"success\"}", 3.0),
            ("gatepass_store_errors_total{operation=\"sessions\"}", 0.0),
        ],
    );
}

#[test]
fn metrics_are_served_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let plain = start(&["--demo"], dir.path());
    assert_eq!(plain.get("/metrics", &[]).status, 404);

    // GATEPASS_METRICS, like every serve flag, comes from the environment too.
    let from_env = ServerBuilder::new()
        .arg("--demo")
        .env("GATEPASS_METRICS", "true")
        .log_dir(dir.path())
        .spawn();
    assert!(scrape(&from_env).contains("gatepass_logins_total"));
}

#[test]
fn metrics_listen_serves_them_on_their_own_listener_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        &["--demo", "--metrics", "--metrics-listen", "127.0.0.1:0"],
        dir.path(),
    );
    let metrics_addr = server.announced["metrics"]
        .as_str()
        .unwrap_or_else(|| panic!("no metrics address in {}", server.announced))
        .parse()
        .unwrap();
    assert_ne!(metrics_addr, server.addr);
    assert_eq!(server.get("/metrics", &[]).status, 404);

    assert_eq!(login(&server, "wrong password").status, 401);
    let reply = request(metrics_addr, "GET", "/metrics", &[], b"");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(CONTENT_TYPE));
    assert_samples(
        &reply.text(),
        &[(
            "gatepass_logins_total{outcome=\"invalid_credentials\"}",
            1.0,
        )],
    );
    // Only the metrics there: no auth route.
    assert_eq!(
        request(metrics_addr, "GET", "/healthz", &[], b"").status,
        404
    );
}

/// Poll `/metrics` until `series` reads `value` (key reloads happen on a 2 s tick).
fn wait_for(server: &Server, series: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = scrape(server);
        if sample(&text, series) == Some(value) {
            return;
        }
        assert!(Instant::now() < deadline, "{series} never {value}:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn key_reloads_are_counted_by_result() {
    let fixture = Fixture::new();
    let keyset = fixture.keyset_path.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        &["--keyset", &keyset, "--iss", ISS, "--aud", AUD, "--metrics"],
        dir.path(),
    );
    let original = std::fs::read(&fixture.keyset_path).unwrap();
    // An atomic rewrite with the same keys is a new version of the file: reloaded.
    let replace = |bytes: &[u8]| {
        let temp = fixture.path("keys.next");
        std::fs::write(&temp, bytes).unwrap();
        std::fs::rename(&temp, &fixture.keyset_path).unwrap();
    };
    replace(&original);
    wait_for(
        &server,
        "gatepass_key_reloads_total{result=\"success\"}",
        1.0,
    );
    replace(b"{\"keys\": 7}");
    wait_for(
        &server,
        "gatepass_key_reloads_total{result=\"failed\"}",
        1.0,
    );
    let text = scrape(&server);
    assert_samples(
        &text,
        &[("gatepass_key_reloads_total{result=\"success\"}", 1.0)],
    );
}
