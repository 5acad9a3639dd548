//! Shared helpers for the integration tests: a keyset fixture with known keys, a way to
//! sign arbitrary header/claims bytes (for attacks the issuer would never produce), and
//! a runner for the real `gatepass` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatepass::{
    Algorithm, GenerateOptions, Issuer, KeySelector, KeyState, Keyset, ManualClock, SigningKey,
    Verifier,
};

/// A fixed "now" for every test that pins the clock.
pub const NOW: u64 = 1_800_000_000;
pub const ISS: &str = "https://auth.test";
pub const AUD: &str = "api";
/// The HS256 secret of the fixture keyset (32 bytes: the minimum).
pub const HS_SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
pub const HS_KID: &str = "hs";

/// RFC 7515 A.2's RSA example key (published in the RFC: a test key, never a secret),
/// owned by the fuzz fixture, which verifies with it.
pub use gatepass::internal::fuzzing::{
    RSA_D as RFC7515_A2_D, RSA_DP as RFC7515_A2_DP, RSA_DQ as RFC7515_A2_DQ, RSA_N as RFC7515_A2_N,
    RSA_P as RFC7515_A2_P, RSA_Q as RFC7515_A2_Q, RSA_QI as RFC7515_A2_QI,
};

/// A keyset on disk with an active HS256 key ("hs"), an active EdDSA key, an active
/// ES256 key and a pending EdDSA key, plus a temp dir for the test's files.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub keyset: Keyset,
    pub keyset_path: PathBuf,
    pub pending_kid: String,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut keyset = Keyset::new();
        let hs = SigningKey::from_hmac_secret(Algorithm::HS256, HS_SECRET, Some(HS_KID)).unwrap();
        keyset.insert(hs, None, NOW - 1000).unwrap();
        keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW - 1000)
            .unwrap();
        keyset
            .generate(Algorithm::ES256, GenerateOptions::default(), NOW - 1000)
            .unwrap();
        let pending_kid = keyset
            .generate(
                Algorithm::EdDSA,
                GenerateOptions::default().state(KeyState::Pending),
                NOW,
            )
            .unwrap();
        let keyset_path = dir.path().join("keyset.json");
        keyset.save(&keyset_path).unwrap();
        Self {
            dir,
            keyset,
            keyset_path,
            pending_kid,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn issuer(&self, alg: Algorithm) -> Issuer {
        let key = self
            .keyset
            .signing_key(&KeySelector::Algorithm(alg))
            .unwrap();
        Issuer::new(key, ISS, AUD).with_clock(Arc::new(ManualClock::new(NOW)))
    }

    /// A signed access token for `sub` from the fixture's active `alg` key.
    pub fn access_token(&self, alg: Algorithm, sub: &str) -> String {
        self.issuer(alg).access_token(sub).issue().unwrap().token
    }

    pub fn verifier(&self) -> Verifier {
        self.verifier_with(|b| b)
    }

    pub fn verifier_with(
        &self,
        configure: impl FnOnce(gatepass::VerifierBuilder) -> gatepass::VerifierBuilder,
    ) -> Verifier {
        let builder = Verifier::builder(self.keyset.verification_keys(), ISS, AUD)
            .clock(Arc::new(ManualClock::new(NOW)));
        configure(builder).build().unwrap()
    }

    /// `gatepass verify --keyset <fixture> --iss ISS --aud AUD --at NOW <extra...> -- TOKEN`
    pub fn cli_verify(&self, token: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "verify".to_owned(),
            "--keyset".into(),
            self.keyset_path.display().to_string(),
            "--iss".into(),
            ISS.into(),
            "--aud".into(),
            AUD.into(),
            "--at".into(),
            NOW.to_string(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.push("--".into());
        args.push(token.to_owned());
        run(&args, None)
    }
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Sign arbitrary header and claims JSON with the fixture's HS256 secret.
pub fn craft_hs256(header: &str, claims: &str) -> String {
    craft_hs256_bytes(header, claims.as_bytes())
}

/// [`craft_hs256`] for claims that are any bytes (not even UTF-8).
pub fn craft_hs256_bytes(header: &str, claims: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS_SECRET);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// The header of a well-formed access token signed by the fixture's HMAC key.
pub fn hs_header() -> String {
    format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{HS_KID}"}}"#)
}

/// Claims that pass every check at [`NOW`], with `extra` members spliced in (which may
/// override the defaults when `replace` names them).
pub fn claims_with(replace: &[(&str, &str)]) -> String {
    let mut members: Vec<(String, String)> = vec![
        ("iss".into(), format!("\"{ISS}\"")),
        ("sub".into(), "\"alice\"".into()),
        ("aud".into(), format!("\"{AUD}\"")),
        ("exp".into(), (NOW + 300).to_string()),
        ("iat".into(), NOW.to_string()),
        (
            "jti".into(),
            "\"7f1c4a2e-0d5b-4c39-9a53-1e6a3f8b2d10\"".into(),
        ),
    ];
    for (name, value) in replace {
        members.retain(|(n, _)| n != name);
        if !value.is_empty() {
            members.push(((*name).into(), (*value).into()));
        }
    }
    let body: Vec<String> = members
        .iter()
        .map(|(n, v)| format!("\"{n}\":{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// The `gatepass` binary, built by the workspace's `gatepass-cli` package in the same
/// `cargo test --workspace` run (its own tests make cargo build it). `GATEPASS_BIN` names
/// another build (say, a release binary) to test instead.
pub fn gatepass_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("GATEPASS_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/api-<hash> -> target/<profile>/gatepass
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let bin = dir.join(format!("gatepass{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (the gatepass-cli \
         package builds the binary), or set GATEPASS_BIN",
        bin.display()
    );
    bin
}

/// Run the real binary with `args`, optionally feeding `stdin`.
pub fn run(args: &[String], stdin: Option<&[u8]>) -> Output {
    run_os(args, stdin)
}

/// [`run`] with arguments that need not be UTF-8.
pub fn run_os<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(gatepass_bin())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        use std::io::Write as _;
        // The child may stop reading early (that is the point of some tests).
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    child.wait_with_output().unwrap()
}

pub fn run_str(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    run(&args, None)
}

/// The `error` kind of a rejected CLI run, asserting the contract's shape: exit 1, empty
/// stdout, exactly one line of JSON on stderr with `error` and `message`.
pub fn cli_rejection(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.is_empty(),
        "stdout must be empty on rejection"
    );
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(
        stderr.lines().count(),
        1,
        "exactly one line on stderr: {stderr:?}"
    );
    let line: serde_json::Value = serde_json::from_str(stderr.trim_end()).unwrap();
    assert!(line["message"].as_str().is_some_and(|m| !m.is_empty()));
    line["error"].as_str().unwrap().to_owned()
}

pub fn stdout_json(output: &Output) -> serde_json::Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Run a future to completion on this thread. The memory store answers immediately, the
/// file store from its writer thread (which wakes this one); anything else is polled
/// again at least every millisecond.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(1));
    }
}
