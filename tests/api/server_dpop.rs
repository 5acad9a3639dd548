//! DPoP (RFC 9449) end to end: a real `gatepass serve --dpop ...` and a Python client
//! (PyJWT + cryptography, `tests/interop/dpop_client.py`) that logs in with a proof, calls
//! `/api/me` with `Authorization: DPoP` and a fresh proof, and refreshes with the same key.
//! Then each RFC 9449 §4.3 violation once, with proofs Python makes: refused with the
//! status and `WWW-Authenticate` challenge of RFC 9449 §7.1. A proof replayed to a second
//! node sharing one Redis is refused too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gatepass::{Clock as _, SystemClock};
use serde_json::{json, Value};

use crate::redis_store::redis_server::RedisServer;
use crate::support::*;

const BAD_PROOF: &str = r#"DPoP algs="EdDSA ES256 ES384", error="invalid_dpop_proof""#;
const BAD_TOKEN: &str = r#"DPoP algs="EdDSA ES256 ES384", error="invalid_token""#;

/// The Python with PyJWT and cryptography (`scripts/test-deps` makes the venv).
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("GATEPASS_PYTHON") {
        return python.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/.venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/dpop_client.py")
}

struct Deployment {
    fixture: Fixture,
}

type Server = RunningServer;

impl Deployment {
    fn new() -> Self {
        let fixture = Fixture::new();
        fixture.users(&["alice"]);
        Self { fixture }
    }

    fn serve(&self, extra: &[&str]) -> Server {
        self.fixture.server().args(extra).spawn()
    }

    fn keys_dir(&self) -> String {
        self.fixture.dir.path().display().to_string()
    }

    /// Proofs by the Python client, one per spec (see `dpop_client.py`).
    fn proofs(&self, specs: &[Value]) -> Vec<String> {
        let input = json!({"keys": self.keys_dir(), "proofs": specs}).to_string();
        let output = run_python(&["proofs"], Some(input.as_bytes()));
        serde_json::from_slice(&output).unwrap()
    }

    fn proof(&self, spec: Value) -> String {
        self.proofs(&[spec]).remove(0)
    }

    /// The Python client's whole flow against `server`, with key `a`.
    fn python_flow(&self, server: &Server) -> Value {
        let key = self.fixture.path("a.pem").display().to_string();
        let base = format!("http://{}", server.addr);
        let output = run_python(&["flow", &base, "alice", PASSWORD, &key], None);
        serde_json::from_slice(&output).unwrap()
    }
}

fn run_python(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new(python())
        .arg(client_script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python (run scripts/test-deps for the interop venv)");
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "dpop_client.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

fn me(server: &Server, authorization: &str, proof: Option<&str>) -> Reply {
    let authorization = format!("Authorization: {authorization}");
    let proof = proof.map(|p| format!("DPoP: {p}"));
    let mut headers = vec![authorization.as_str()];
    headers.extend(proof.as_deref());
    server.get("/api/me", &headers)
}

fn post_json(server: &Server, path: &str, proof: Option<&str>, body: &Value) -> Reply {
    let proof = proof.map(|p| format!("DPoP: {p}"));
    let mut headers = vec!["Content-Type: application/json"];
    headers.extend(proof.as_deref());
    server.request("POST", path, &headers, body.to_string().as_bytes())
}

fn login_body() -> Value {
    json!({"username": "alice", "password": PASSWORD})
}

/// A 401 whose one challenge starts with `prefix`.
fn assert_challenge(reply: &Reply, prefix: &str) {
    assert_eq!(reply.status, 401, "{}", reply.text());
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with(prefix), "{challenge}");
}

#[test]
fn a_python_client_logs_in_calls_the_api_and_refreshes_with_one_key_and_every_violation_is_refused()
{
    let deployment = Deployment::new();
    let server = deployment.serve(&["--dpop", "required"]);

    // The happy path, entirely in Python.
    let flow = deployment.python_flow(&server);
    assert_eq!(flow["login"]["status"], 200, "{flow}");
    assert_eq!(flow["login"]["body"]["token_type"], "DPoP");
    assert_eq!(flow["me"]["status"], 200, "{flow}");
    assert_eq!(flow["me"]["body"]["sub"], "alice");
    let jkt = flow["me"]["body"]["cnf"]["jkt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jkt.len(), 43);
    assert_eq!(flow["refresh"]["status"], 200, "{flow}");
    assert_eq!(flow["refresh"]["body"]["token_type"], "DPoP");
    assert_eq!(flow["me_after_refresh"]["status"], 200, "{flow}");
    // The binding survived the rotation.
    assert_eq!(flow["me_after_refresh"]["body"]["cnf"]["jkt"], jkt);

    let access = flow["refresh"]["body"]["access_token"].as_str().unwrap();
    let refresh = flow["refresh"]["body"]["refresh_token"].as_str().unwrap();
    let me_url = url(&server, "/api/me");
    let now = SystemClock.now();
    let dpop = format!("DPoP {access}");
    let spec = |extra: Value| {
        let mut spec = json!({"key": "a", "htm": "GET", "htu": me_url, "token": access});
        for (name, value) in extra.as_object().unwrap() {
            spec[name] = value.clone();
        }
        spec
    };
    let proofs = deployment.proofs(&[
        spec(json!({})),
        spec(json!({"htm": "POST"})),
        spec(json!({"htu": url(&server, "/api/other")})),
        spec(json!({"iat": now - 300})),
        spec(json!({"key": "b"})),
        spec(json!({"no_ath": true})),
        spec(json!({"variant": "hmac"})),
        spec(json!({"variant": "private_jwk"})),
    ]);
    let [fresh, wrong_htm, wrong_htu, stale, other_key, no_ath, hmac, private_jwk] =
        <[String; 8]>::try_from(proofs).unwrap();

    // A fresh proof works once; the same proof again is a replay.
    assert_eq!(me(&server, &dpop, Some(&fresh)).status, 200);
    let replay = me(&server, &dpop, Some(&fresh));
    assert_challenge(&replay, BAD_PROOF);
    assert_eq!(replay.json()["error"], "invalid_dpop_proof");
    assert!(replay.json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with("replayed"));

    for (name, proof, challenge) in [
        ("wrong htm", &wrong_htm, BAD_PROOF),
        ("wrong htu", &wrong_htu, BAD_PROOF),
        ("stale iat", &stale, BAD_PROOF),
        ("missing ath", &no_ath, BAD_PROOF),
        ("HMAC alg", &hmac, BAD_PROOF),
        ("private key in jwk", &private_jwk, BAD_PROOF),
        // The proof is fine, but the token is bound to another key (RFC 9449 §7.1).
        ("another key", &other_key, BAD_TOKEN),
    ] {
        let reply = me(&server, &dpop, Some(proof));
        assert_eq!(reply.status, 401, "{name}: {}", reply.text());
        let got = reply.header("www-authenticate").unwrap_or_default();
        assert!(got.starts_with(challenge), "{name}: {got}");
    }

    // No proof at all with a DPoP token.
    assert_challenge(&me(&server, &dpop, None), BAD_PROOF);
    // The bound token sent as Bearer.
    let bearer = me(&server, &format!("Bearer {access}"), None);
    assert_challenge(&bearer, BAD_TOKEN);
    assert_eq!(bearer.json()["error"], "invalid_token");
    // No credentials: the DPoP challenge alone (DPoP is required here, RFC 9449 §7.1).
    let bare = server.get("/api/me", &[]);
    assert_eq!(bare.status, 401);
    assert_eq!(
        bare.all("www-authenticate"),
        [r#"DPoP algs="EdDSA ES256 ES384""#]
    );

    // The token endpoints: no proof, or a proof by another key for a bound refresh token.
    let refresh_url = url(&server, "/auth/refresh");
    let no_proof = post_json(
        &server,
        "/auth/refresh",
        None,
        &json!({"refresh_token": refresh}),
    );
    assert_eq!(no_proof.status, 400);
    assert_eq!(no_proof.json()["error"], "invalid_dpop_proof");
    let by_b = deployment.proof(json!({"key": "b", "htm": "POST", "htu": refresh_url}));
    let other = post_json(
        &server,
        "/auth/refresh",
        Some(&by_b),
        &json!({"refresh_token": refresh}),
    );
    assert_eq!(other.status, 400, "{}", other.text());
    assert_eq!(other.json()["error"], "invalid_grant");
    // Refused before it was consumed: the right key still refreshes.
    let by_a = deployment.proof(json!({"key": "a", "htm": "POST", "htu": refresh_url}));
    let ok = post_json(
        &server,
        "/auth/refresh",
        Some(&by_a),
        &json!({"refresh_token": refresh}),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    // Logout takes the DPoP token and a proof for it too; then the session is over.
    let latest = ok.json()["access_token"].as_str().unwrap().to_owned();
    let logout_url = url(&server, "/auth/logout");
    let logout_proof =
        deployment.proof(json!({"key": "a", "htm": "POST", "htu": logout_url, "token": latest}));
    let as_bearer = format!("Authorization: Bearer {latest}");
    assert_challenge(
        &server.request("POST", "/auth/logout", &[&as_bearer], b""),
        BAD_TOKEN,
    );
    let (as_dpop, proof_header) = (
        format!("Authorization: DPoP {latest}"),
        format!("DPoP: {logout_proof}"),
    );
    let logout = server.request("POST", "/auth/logout", &[&as_dpop, &proof_header], b"");
    assert_eq!(logout.status, 204, "{}", logout.text());
    let after = deployment.proof(json!({"key": "a", "htm": "GET", "htu": me_url, "token": latest}));
    assert_challenge(
        &me(&server, &format!("DPoP {latest}"), Some(&after)),
        BAD_TOKEN,
    );
    let login = post_json(&server, "/auth/login", None, &login_body());
    assert_eq!(login.status, 400);
    assert_eq!(login.json()["error"], "invalid_dpop_proof");
    // A proof made for a token (with ath) is not a token-endpoint proof, and one for
    // another origin is refused (the Redis test below shows htu follows --public-url,
    // not the Host header).
    let login_url = url(&server, "/auth/login");
    let with_ath =
        deployment.proof(json!({"key": "a", "htm": "POST", "htu": login_url, "token": access}));
    assert_eq!(
        post_json(&server, "/auth/login", Some(&with_ath), &login_body()).status,
        400
    );
    let elsewhere = deployment
        .proof(json!({"key": "a", "htm": "POST", "htu": "http://evil.example/auth/login"}));
    let reply = post_json(&server, "/auth/login", Some(&elsewhere), &login_body());
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_dpop_proof");
}

#[test]
fn optional_dpop_gives_bearer_tokens_without_a_proof_and_bound_ones_with() {
    let deployment = Deployment::new();
    let server = deployment.serve(&["--dpop", "optional"]);

    let plain = post_json(&server, "/auth/login", None, &login_body());
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(plain.json()["token_type"], "Bearer");
    let token = plain.json()["access_token"].as_str().unwrap().to_owned();
    let reply = me(&server, &format!("Bearer {token}"), None);
    assert_eq!(reply.status, 200);
    assert!(reply.json().get("cnf").is_none());
    // An unbound token sent as DPoP is refused, proof or not.
    let proof = deployment
        .proof(json!({"key": "a", "htm": "GET", "htu": url(&server, "/api/me"), "token": token}));
    assert_challenge(
        &me(&server, &format!("DPoP {token}"), Some(&proof)),
        BAD_TOKEN,
    );

    let proof =
        deployment.proof(json!({"key": "a", "htm": "POST", "htu": url(&server, "/auth/login")}));
    let bound = post_json(&server, "/auth/login", Some(&proof), &login_body());
    assert_eq!(bound.status, 200, "{}", bound.text());
    assert_eq!(bound.json()["token_type"], "DPoP");
    let bound_token = bound.json()["access_token"].as_str().unwrap().to_owned();
    assert_challenge(
        &me(&server, &format!("Bearer {bound_token}"), None),
        BAD_TOKEN,
    );

    // No credentials: both challenges, Bearer being accepted too.
    let bare = server.get("/api/me", &[]);
    assert_eq!(bare.status, 401);
    assert_eq!(
        bare.all("www-authenticate"),
        [
            r#"DPoP algs="EdDSA ES256 ES384""#,
            r#"Bearer realm="gatepass""#
        ]
    );
}

#[test]
fn a_proof_replayed_to_a_second_node_sharing_redis_is_refused() {
    let deployment = Deployment::new();
    let redis = RedisServer::start(false);
    let store = redis.url();
    let origin = "http://gatepass.test";
    let args = [
        "--dpop",
        "required",
        "--public-url",
        origin,
        "--store",
        &store,
    ];
    let (one, two) = (deployment.serve(&args), deployment.serve(&args));

    let login =
        deployment.proof(json!({"key": "a", "htm": "POST", "htu": format!("{origin}/auth/login")}));
    let reply = post_json(&one, "/auth/login", Some(&login), &login_body());
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The login proof again, at the other node.
    let again = post_json(&two, "/auth/login", Some(&login), &login_body());
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_dpop_proof");

    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    let proof = deployment.proof(
        json!({"key": "a", "htm": "GET", "htu": format!("{origin}/api/me"), "token": access}),
    );
    let dpop = format!("DPoP {access}");
    assert_eq!(me(&one, &dpop, Some(&proof)).status, 200);
    assert_challenge(&me(&two, &dpop, Some(&proof)), BAD_PROOF);
    // A fresh proof is fine on the second node.
    let fresh = deployment.proof(
        json!({"key": "a", "htm": "GET", "htu": format!("{origin}/api/me"), "token": access}),
    );
    assert_eq!(me(&two, &dpop, Some(&fresh)).status, 200);
}
