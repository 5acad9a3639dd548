//! Where gatepass is stricter than PyJWT, jwcrypto and jose, on purpose: tokens that are
//! validly signed but that gatepass refuses (with the contract kind asserted), next to what
//! each library, configured as a careful resource server (key and algorithm pinned; `iss`,
//! `aud` and every claim gatepass requires checked), makes of them. The libraries' column
//! is the table in docs/STANDARDS.md ("More lenient elsewhere"): when a pinned version
//! changes its behaviour, this test fails until the table is updated.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::harness::{cli_verify, lib_verify, node_batch, python_batch, verdict, Matrix};
use super::keysets::Keysets;
use super::{lib_name, with_lib, PYTHON_LIBS};
use crate::support::*;

/// One validly signed token, gatepass's kind for it, and which libraries accept it.
struct Lenient {
    case: &'static str,
    token: String,
    kind: &'static str,
    /// PyJWT, jwcrypto, jose: `true` where the library accepts the token.
    accepted_by: [bool; 3],
}

fn cases(now: u64) -> Vec<Lenient> {
    let header = hs_header();
    let claims = |exp: &str, iat: u64, extra: &str| {
        format!(
            r#"{{"iss":"{ISS}","sub":"alice","aud":"{AUD}","iat":{iat},"jti":"j-1","exp":{exp}{extra}}}"#
        )
    };
    let exp = (now + 300).to_string();
    let good = craft_hs256(&header, &claims(&exp, now, ""));
    // Same signature bytes, the base64url text made non-canonical: '=' padding, and the
    // unused low bits of the last character set (43 characters carry 258 bits for 256).
    let padded = format!("{good}=");
    let (signed, last) = good.split_at(good.len() - 1);
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let tail_bits = format!("{signed}{}", &alphabet[(index | 3)..=(index | 3)]);
    let deep = format!(r#","x":{}{}"#, "[".repeat(40), "]".repeat(40));
    vec![
        Lenient {
            case: "duplicate sub (alice, then admin)",
            token: craft_hs256(&header, &claims(&exp, now, r#","sub":"admin""#)),
            kind: "malformed",
            accepted_by: [true, true, true],
        },
        Lenient {
            case: "signature with '=' padding",
            token: padded,
            kind: "malformed",
            accepted_by: [true, true, true],
        },
        Lenient {
            case: "signature with non-zero unused base64url bits",
            token: tail_bits,
            kind: "malformed",
            accepted_by: [false, true, true],
        },
        Lenient {
            case: "claims nested 41 levels deep",
            token: craft_hs256(&header, &claims(&exp, now, &deep)),
            kind: "too_large",
            accepted_by: [true, true, true],
        },
        Lenient {
            case: "exp 1e400 (beyond a double)",
            token: craft_hs256(&header, &claims("1e400", now, "")),
            kind: "invalid_claim",
            accepted_by: [false, false, true],
        },
        Lenient {
            case: "exp a float (now + 300.5)",
            token: craft_hs256(&header, &claims(&format!("{exp}.5"), now, "")),
            kind: "invalid_claim",
            accepted_by: [true, true, true],
        },
        Lenient {
            case: "exp a string",
            token: craft_hs256(&header, &claims(&format!("\"{exp}\""), now, "")),
            kind: "invalid_claim",
            accepted_by: [true, false, false],
        },
        Lenient {
            case: "iat an hour in the future",
            token: craft_hs256(&header, &claims(&(now + 7200).to_string(), now + 3600, "")),
            kind: "not_yet_valid",
            accepted_by: [false, true, true],
        },
    ]
}

#[test]
fn gatepass_refuses_what_pyjwt_jwcrypto_or_jose_let_through() {
    let keysets = Keysets::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cases = cases(now);
    let trust = keysets.main.trust_for("HS256");
    let ops: Vec<Value> = cases
        .iter()
        .map(|c| json!({ "op": "verify", "token": c.token, "iss": ISS, "aud": AUD, "jwks": trust }))
        .collect();
    let py_ops: Vec<Value> = PYTHON_LIBS
        .iter()
        .flat_map(|lib| ops.iter().map(|op| with_lib(op, lib)))
        .collect();
    let results = [python_batch(&py_ops), node_batch(&ops)].concat();

    let keyset = keysets.main.path.to_str().unwrap();
    let verifier = keysets.main.verifier_at(now);
    let mut matrix = Matrix::new("stricter than the others (docs/STANDARDS.md)");
    for (i, case) in cases.iter().enumerate() {
        let got = cli_verify(&["--keyset", keyset], Some(now), &case.token);
        let pair = format!("{} → gatepass verify: {}", case.case, case.kind);
        matrix.expect(pair, &got, Some(case.kind), "");
        let got = lib_verify(&verifier, &case.token);
        let pair = format!("{} → gatepass Verifier: {}", case.case, case.kind);
        matrix.expect(pair, &got, Some(case.kind), "");
        for (l, lib) in PYTHON_LIBS.into_iter().chain(["jose"]).enumerate() {
            let result = &results[l * cases.len() + i];
            let accepted = verdict(result).is_ok();
            let documented = case.accepted_by[l];
            let verb = |yes| if yes { "accepts" } else { "rejects" };
            matrix.record(
                format!(
                    "{} → {} {} (as documented)",
                    case.case,
                    lib_name(lib),
                    verb(documented)
                ),
                if accepted == documented {
                    Ok(())
                } else {
                    Err(format!(
                        "it {} ({:?}): update the table in docs/STANDARDS.md",
                        verb(accepted),
                        result.get("error")
                    ))
                },
            );
        }
    }
    matrix.finish();
}
