//! Third-party libraries verifying what gatepass issues (and vice versa). The Python
//! dependencies are pinned in `tests/interop/requirements.txt` and installed by `.ci/run`
//! into `tests/interop/.venv`.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// The Python with the interop dependencies: `$GATEPASS_PYTHON`, else the venv `.ci/run`
/// creates, else `python3`.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("GATEPASS_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/.venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

pub fn interop_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

fn require_pyjwt() {
    let ok = Command::new(python())
        .args(["-c", "import jwt"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "PyJWT is not installed for {}: run `bash .ci/run` once, or \
         `python3 -m venv tests/interop/.venv && tests/interop/.venv/bin/pip install -r tests/interop/requirements.txt`",
        python().display()
    );
}

#[test]
fn pyjwt_verifies_cli_tokens_against_the_cli_jwks() {
    require_pyjwt();
    let fixture = Fixture::new();
    let keyset = fixture.keyset_path.display().to_string();
    let jwks = run_str(&["jwks", "--keyset", &keyset]);
    assert!(jwks.status.success());
    let jwks_path = fixture.path("jwks.json");
    std::fs::write(&jwks_path, &jwks.stdout).unwrap();
    for alg in ["EdDSA", "ES256"] {
        let out = run_str(&[
            "issue",
            "--keyset",
            &keyset,
            "--iss",
            ISS,
            "--aud",
            AUD,
            "--sub",
            "py",
            "--alg",
            alg,
            "--claim",
            "role=\"reader\"",
        ]);
        assert!(out.status.success());
        let token = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
        let py = Command::new(python())
            .arg(interop_script("pyjwt_verify.py"))
            .args([jwks_path.to_str().unwrap(), &token, ISS, AUD])
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let claims: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
        assert_eq!(claims["sub"], "py");
        assert_eq!(claims["role"], "reader");
        // And a tampered token is refused by PyJWT too (the test can fail).
        let mut forged = token.clone().into_bytes();
        let i = forged.len() - 3;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let py = Command::new(python())
            .arg(interop_script("pyjwt_verify.py"))
            .args([
                jwks_path.to_str().unwrap(),
                std::str::from_utf8(&forged).unwrap(),
                ISS,
                AUD,
            ])
            .output()
            .unwrap();
        assert!(
            !py.status.success(),
            "{alg}: PyJWT accepted a forged signature"
        );
    }
}
