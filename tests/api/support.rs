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

/// RFC 7515 A.2: the modulus of the RFC's RSA example key.
pub const RFC7515_A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
/// RFC 7515 A.2: the private half of the RFC's 2048-bit RSA example key, whose public half
/// is [`RFC7515_A2_N`] and `AQAB` (published in the RFC: a test key, never a secret).
pub const RFC7515_A2_D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
pub const RFC7515_A2_P: &str = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
pub const RFC7515_A2_Q: &str = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
pub const RFC7515_A2_DP: &str = "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0";
pub const RFC7515_A2_DQ: &str = "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU";
pub const RFC7515_A2_QI: &str = "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U";

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

/// Run the real binary with `args`, optionally feeding `stdin`.
pub fn run(args: &[String], stdin: Option<&[u8]>) -> Output {
    run_os(args, stdin)
}

/// [`run`] with arguments that need not be UTF-8.
pub fn run_os<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatepass"))
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
