//! The interop harness: the pinned third-party libraries (found, version-checked, or a
//! failing test that says how to install them), one batched process per runtime, gatepass's
//! verdicts in one shape, token surgery, the pass/fail matrix, and a loopback JWKS server.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatepass::Verifier;
use serde_json::{json, Value};

use crate::support::*;

const INSTALL: &str = "the interop tests need the pinned third-party libraries: run \
    `scripts/test-deps` from the repository root (scripts/test runs it first)";

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// The Python with the interop dependencies: `$GATEPASS_PYTHON`, else the venv `.ci/run`
/// creates, else `python3`.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("GATEPASS_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = interop_dir().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Node: `$GATEPASS_NODE`, else `node` on the PATH. `jose` comes from
/// `tests/interop/node_modules` (`npm ci`), found by Node's resolution from the script.
pub fn node() -> PathBuf {
    std::env::var_os("GATEPASS_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from)
}

pub fn interop_script(name: &str) -> PathBuf {
    interop_dir().join(name)
}

/// The versions pinned in `requirements.txt` (`Name[extras]==version`) and `package.json`.
fn pins() -> BTreeMap<String, String> {
    let mut pins = BTreeMap::new();
    let requirements = std::fs::read_to_string(interop_script("requirements.txt")).unwrap();
    for line in requirements.lines().map(str::trim) {
        if let Some((name, version)) = line.split_once("==") {
            let name = name.split('[').next().unwrap_or(name).trim();
            pins.insert(name.to_owned(), version.trim().to_owned());
        }
    }
    let package: Value =
        serde_json::from_slice(&std::fs::read(interop_script("package.json")).unwrap()).unwrap();
    for (name, version) in package["dependencies"].as_object().unwrap() {
        pins.insert(name.clone(), version.as_str().unwrap().to_owned());
    }
    pins
}

/// Check, once per test binary, that each runtime answers and reports exactly the pinned
/// versions; otherwise every interop test fails with the install instructions. Returns
/// the versions found.
fn require(runtime: &'static str) -> &'static Value {
    static PYTHON: OnceLock<Result<Value, String>> = OnceLock::new();
    static NODE: OnceLock<Result<Value, String>> = OnceLock::new();
    let (cell, names): (_, &[&str]) = match runtime {
        "python" => (&PYTHON, &["PyJWT", "jwcrypto", "cryptography"]),
        _ => (&NODE, &["jose"]),
    };
    let checked = cell.get_or_init(|| {
        let found = try_batch(runtime, &[json!({ "op": "versions" })])?.remove(0);
        let pins = pins();
        for name in names {
            let (want, got) = (pins.get(*name), found[*name].as_str());
            if want.map(String::as_str) != got {
                return Err(format!("{name} {got:?} is installed, {want:?} is pinned"));
            }
        }
        Ok(found)
    });
    match checked {
        Ok(found) => found,
        Err(why) => panic!("{runtime}: {why}\n{INSTALL}"),
    }
}

fn try_batch(runtime: &str, ops: &[Value]) -> Result<Vec<Value>, String> {
    let (program, script) = match runtime {
        "python" => (python(), "python_libs.py"),
        _ => (node(), "node_jose.mjs"),
    };
    let request = serde_json::to_vec(&json!({ "ops": ops })).unwrap();
    let mut child = Command::new(&program)
        .arg(interop_script(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let writer = {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || stdin.write_all(&request))
    };
    let output = child.wait_with_output().unwrap();
    let _ = writer.join();
    if !output.status.success() {
        return Err(format!(
            "{} {script} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let response: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{script} printed no JSON ({e})"))?;
    let results = response["results"].as_array().cloned().unwrap_or_default();
    if results.len() != ops.len() {
        return Err(format!(
            "{script}: {} results for {} ops",
            results.len(),
            ops.len()
        ));
    }
    Ok(results)
}

/// Run `ops` in one Python process (PyJWT, jwcrypto); one result per op.
pub fn python_batch(ops: &[Value]) -> Vec<Value> {
    require("python");
    try_batch("python", ops).unwrap_or_else(|why| panic!("{why}\n{INSTALL}"))
}

/// Run `ops` in one Node process (jose); one result per op.
pub fn node_batch(ops: &[Value]) -> Vec<Value> {
    require("node");
    try_batch("node", ops).unwrap_or_else(|why| panic!("{why}\n{INSTALL}"))
}

/// Make sure the pinned libraries are present before a test spends time on set-up.
pub fn require_all() {
    require("python");
    require("node");
}

/// The installed versions, for the matrix header.
pub fn versions() -> String {
    let (py, js) = (require("python"), require("node"));
    format!(
        "PyJWT {}, jwcrypto {} (cryptography {}), jose {} on Node {}",
        py["PyJWT"], py["jwcrypto"], py["cryptography"], js["jose"], js["node"]
    )
    .replace('"', "")
}

/// A library's verdict: the claims, or its error text.
pub fn verdict(result: &Value) -> Result<&Value, String> {
    if result["ok"] == true {
        Ok(result)
    } else {
        Err(result["error"]
            .as_str()
            .unwrap_or("no error text")
            .to_owned())
    }
}

/// PyJWT (`jwt.PyJWKClient`) verifying `token` against the JWK Set at `url`: the check a
/// Python resource server in front of a gatepass auth server makes. `Ok` holds
/// `{"header", "claims"}`; `Err` PyJWT's error.
pub fn pyjwt_verify_via_jwks_url(
    url: &str,
    token: &str,
    iss: &str,
    aud: &str,
) -> Result<Value, String> {
    let op = json!({ "op": "verify", "lib": "pyjwt", "jwks_url": url,
                     "token": token, "iss": iss, "aud": aud });
    let result = python_batch(&[op]).remove(0);
    verdict(&result).cloned()
}

/// What gatepass makes of a token: `Ok(claims)` or the contract kind.
pub type Outcome = Result<Value, String>;

/// `gatepass verify <source...> --iss ISS --aud AUD [--at NOW] -- TOKEN`, with the
/// contract's output shape asserted: JSON on stdout and exit 0, or exit 1 and one JSON line.
pub fn cli_verify(source: &[&str], at: Option<u64>, token: &str) -> Outcome {
    let mut args: Vec<String> = vec!["verify".into()];
    args.extend(source.iter().map(|s| (*s).to_owned()));
    args.extend(["--iss".into(), ISS.into(), "--aud".into(), AUD.into()]);
    if let Some(at) = at {
        args.extend(["--at".into(), at.to_string()]);
    }
    args.extend(["--".into(), token.to_owned()]);
    let output: Output = run(&args, None);
    match output.status.code() {
        Some(0) => Ok(stdout_json(&output)["claims"].clone()),
        Some(1) => Err(cli_rejection(&output)),
        _ => panic!(
            "gatepass verify: usage error: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// The library verifier's outcome, in the same terms as [`cli_verify`].
pub fn lib_verify(verifier: &Verifier, token: &str) -> Outcome {
    verifier
        .verify_access(token)
        .map(|v| serde_json::to_value(v.claims()).unwrap())
        .map_err(|e| e.kind().to_owned())
}

fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.split('.');
    let parts = (parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(h), Some(c), Some(s), None) = parts else {
        panic!("not a compact JWS: {token}");
    };
    (h, c, s)
}

/// The token with its claims re-encoded as `sub: mallory`, signature kept.
pub fn tamper_claims(token: &str) -> String {
    let (h, c, s) = segments(token);
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).unwrap()).unwrap();
    claims["sub"] = "mallory".into();
    format!("{h}.{}.{s}", b64(claims.to_string()))
}

/// The token with another header, claims and signature kept.
pub fn replace_header(token: &str, header: &Value) -> String {
    let (_, c, s) = segments(token);
    format!("{}.{c}.{s}", b64(header.to_string()))
}

/// One row of the matrix: who produced, who consumed, what was expected.
pub struct Matrix {
    name: &'static str,
    rows: Vec<(String, Result<(), String>)>,
}

impl Matrix {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            rows: Vec::new(),
        }
    }

    /// Record one pair: `outcome` is `Err(why)` when it did not go as expected.
    pub fn record(&mut self, pair: String, outcome: Result<(), String>) {
        self.rows.push((pair, outcome));
    }

    /// gatepass's outcome against the expected kind (`None`: accepted, with `sub`).
    pub fn expect(&mut self, pair: String, got: &Outcome, want: Option<&str>, sub: &str) {
        let outcome = match (got, want) {
            (Ok(claims), None) if claims["sub"] == sub => Ok(()),
            (Ok(claims), None) => Err(format!("accepted with sub {}", claims["sub"])),
            (Err(kind), Some(want)) if kind == want => Ok(()),
            (Ok(_), Some(want)) => Err(format!("accepted; expected {want}")),
            (Err(kind), _) => Err(format!(
                "rejected as {kind}; expected {}",
                want.unwrap_or("ok")
            )),
        };
        self.record(pair, outcome);
    }

    /// Print every row and the count, then fail listing every pair that did not pass.
    pub fn finish(self) -> usize {
        let passed = self.rows.iter().filter(|(_, r)| r.is_ok()).count();
        println!(
            "interop matrix `{}`: {passed}/{} pairs pass ({})",
            self.name,
            self.rows.len(),
            versions()
        );
        let mut failures = Vec::new();
        for (pair, result) in &self.rows {
            match result {
                Ok(()) => println!("  pass  {pair}"),
                Err(why) => {
                    println!("  FAIL  {pair}: {why}");
                    failures.push(format!("{pair}: {why}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{}: {} of {} interop pairs failed:\n{}",
            self.name,
            failures.len(),
            self.rows.len(),
            failures.join("\n")
        );
        assert!(passed > 0, "{}: the matrix is empty", self.name);
        passed
    }
}

/// A loopback HTTP server answering every request with one JSON body, for clients that
/// take a JWKS URL. Stops (and reports how many requests it served) when dropped/stopped.
pub struct JsonServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl JsonServer {
    pub fn start(body: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut served = 0;
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                served += 1;
            }
            served
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stop accepting and return how many requests were answered.
    pub fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map_or(0, |t| t.join().unwrap())
    }
}

impl Drop for JsonServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
