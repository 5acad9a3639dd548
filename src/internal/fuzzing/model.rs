//! The verification rules (docs/REFERENCE.md §1) restated as a model: from a token's decoded header and claims, the verdict
//! a conforming verifier must give. Written from the contract's text, not from the
//! verifier's code, so that the two can disagree and the fuzzer can notice.

use serde_json::{Map, Value};

use super::fixture::{Fixture, FixtureKey, AUDIENCE, ISSUER, LEEWAY, NOW};
use crate::{Algorithm, Claim, Malformed, TokenType, VerifyError};

/// Largest integer a time claim may hold (docs/REFERENCE.md §1: 0 <= n < 2^53).
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Deepest nesting of the header or the claims (the top-level object is level 1).
pub(crate) const MAX_DEPTH: usize = 32;

/// Every error kind docs/REFERENCE.md §1 names. `revoked` needs a revocation list, which the
/// fixture verifiers do not have, so the targets also check it never shows up.
pub(crate) const ERROR_KINDS: [&str; 13] = [
    "malformed",
    "too_large",
    "unsupported_algorithm",
    "unknown_key",
    "bad_signature",
    "wrong_type",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "missing_claim",
    "invalid_claim",
    "revoked",
];

/// Where in the contract's order an error is reported: structure (0), algorithm (1),
/// key (2), signature (3), claims (4), revocation (5).
pub(crate) fn stage(error: &VerifyError) -> u8 {
    match error.kind() {
        "malformed" | "too_large" => 0,
        "unsupported_algorithm" => 1,
        "unknown_key" => 2,
        "bad_signature" => 3,
        "revoked" => 5,
        _ => 4,
    }
}

/// Nesting depth of a JSON value: scalars 0, each array or object adds one.
pub(crate) fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Assert that the verifier's error and the model's agree: the same kind always, and the
/// same variant except for `malformed`, whose sub-reason the contract leaves open.
pub(crate) fn assert_same_error(model: &VerifyError, actual: &VerifyError, context: &str) {
    assert_eq!(
        model.kind(),
        actual.kind(),
        "{context}: the contract says {model:?}, the verifier says {actual:?}"
    );
    if model.kind() != "malformed" {
        assert_eq!(model, actual, "{context}: same kind, different detail");
    }
}

fn is_string_array(value: &Value, allow_empty: bool) -> bool {
    value.as_array().is_some_and(|items| {
        (allow_empty || !items.is_empty()) && items.iter().all(Value::is_string)
    })
}

/// The header checks, then algorithm, key and signature: the stages before any claim is
/// read. Returns the key that verified the signature.
pub(crate) fn key_stage<'a>(
    fixture: &'a Fixture,
    header: &Map<String, Value>,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<FixtureKey<'a>, VerifyError> {
    let malformed = |name: &'static str| VerifyError::Malformed(Malformed::HeaderParameter(name));
    let Some(Value::String(alg)) = header.get("alg") else {
        return Err(VerifyError::Malformed(Malformed::MissingAlg));
    };
    // RFC 7515 §4.1: every registered parameter has a JSON type.
    for name in ["kid", "typ", "cty", "jku", "x5u", "x5t", "x5t#S256"] {
        if header.get(name).is_some_and(|v| !v.is_string()) {
            return Err(malformed(name));
        }
    }
    if header.get("jwk").is_some_and(|v| !v.is_object()) {
        return Err(malformed("jwk"));
    }
    if header.get("x5c").is_some_and(|v| !is_string_array(v, true)) {
        return Err(malformed("x5c"));
    }
    if header
        .get("crit")
        .is_some_and(|v| !is_string_array(v, false))
    {
        return Err(malformed("crit"));
    }
    // `none` in any spelling is not an Algorithm; nor is anything unknown. No extension
    // is understood, so any `crit` is refused.
    let Some(alg) = Algorithm::from_name(alg) else {
        return Err(VerifyError::UnsupportedAlgorithm);
    };
    if header.contains_key("crit") {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let Some(key) = fixture.lookup(kid, alg) else {
        return Err(VerifyError::UnknownKey);
    };
    if key.alg() != alg {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    if !key.genuine(signing_input, signature) {
        return Err(VerifyError::BadSignature);
    }
    Ok(key)
}

/// Whether the header's `typ` is the expected kind's (checked first among the claims).
pub(crate) fn typ_accepted(header: &Map<String, Value>, kind: TokenType) -> bool {
    let Some(typ) = header.get("typ").and_then(Value::as_str) else {
        return false;
    };
    let short = kind.typ();
    let long = format!("application/{short}");
    typ.eq_ignore_ascii_case(short) || typ.eq_ignore_ascii_case(&long)
}

/// A claim as the model sees it: its JSON value, or `None` for a value holding a number no
/// JSON library holds (such as `1e400`), which the contract calls invalid rather than
/// malformed.
pub(crate) type ModelClaim = Option<Value>;

fn time_value(value: &ModelClaim) -> Option<u64> {
    match value {
        Some(Value::Number(n)) => n.as_u64().filter(|n| *n <= MAX_SAFE_INTEGER),
        _ => None,
    }
}

fn audience_valid(value: &ModelClaim) -> bool {
    match value {
        Some(Value::String(_)) => true,
        Some(aud) => is_string_array(aud, false),
        None => false,
    }
}

/// A registered claim: name, error variant, type rule, and whether it is required.
type Rule<'a> = (&'static str, Claim, &'a dyn Fn(&ModelClaim) -> bool, bool);

/// The claim checks in the contract's order: types of the registered claims, presence of
/// the required ones, time, issuer, audience. `claims` has no duplicate names.
pub(crate) fn claims_stage(
    claims: &[(String, ModelClaim)],
    kind: TokenType,
) -> Result<(), VerifyError> {
    let refresh = kind == TokenType::Refresh;
    let get = |name: &str| claims.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let is_string = |v: &ModelClaim| matches!(v, Some(Value::String(_)));
    let is_time = |v: &ModelClaim| time_value(v).is_some();
    // `gen` is registered only in refresh tokens; in an access token it is a custom claim.
    let registered: [Rule<'_>; 9] = [
        ("iss", Claim::Iss, &is_string, true),
        ("sub", Claim::Sub, &is_string, true),
        ("aud", Claim::Aud, &audience_valid, true),
        ("exp", Claim::Exp, &is_time, true),
        ("nbf", Claim::Nbf, &is_time, false),
        ("iat", Claim::Iat, &is_time, true),
        ("jti", Claim::Jti, &is_string, true),
        ("sid", Claim::Sid, &is_string, refresh),
        ("gen", Claim::Gen, &is_time, refresh),
    ];
    for (name, claim, valid, _) in &registered {
        if *name == "gen" && !refresh {
            continue;
        }
        if get(name).is_some_and(|v| !valid(v)) {
            return Err(VerifyError::InvalidClaim(*claim));
        }
    }
    for (name, claim, _, required) in &registered {
        if *required && get(name).is_none() {
            return Err(VerifyError::MissingClaim(*claim));
        }
    }
    let time = |name: &str| get(name).and_then(time_value);
    let (Some(exp), Some(iat)) = (time("exp"), time("iat")) else {
        unreachable!("exp and iat were checked present and valid");
    };
    if NOW >= exp + LEEWAY {
        return Err(VerifyError::Expired);
    }
    if time("nbf").is_some_and(|nbf| NOW < nbf.saturating_sub(LEEWAY)) || iat > NOW + LEEWAY {
        return Err(VerifyError::NotYetValid);
    }
    if get("iss") != Some(&Some(Value::String(ISSUER.into()))) {
        return Err(VerifyError::WrongIssuer);
    }
    let audience_matches = match get("aud") {
        Some(Some(Value::String(aud))) => aud == AUDIENCE,
        Some(Some(Value::Array(auds))) => auds.iter().any(|a| a == AUDIENCE),
        _ => false,
    };
    if !audience_matches {
        return Err(VerifyError::WrongAudience);
    }
    // The contract types only the registered claims; a custom one holding a number no
    // JSON library holds is invalid too (`custom`), checked last.
    let is_registered = |name: &str| registered.iter().any(|(n, ..)| *n == name);
    if claims
        .iter()
        .any(|(name, v)| v.is_none() && !(is_registered(name) && (name != "gen" || refresh)))
    {
        return Err(VerifyError::InvalidClaim(Claim::Custom));
    }
    Ok(())
}

/// The whole verdict for a token of `token_len` bytes whose parts decode to `header` and
/// `claims` (in document order, duplicates kept), signed as in `signing_input`/`signature`.
pub(crate) fn verdict<'a>(
    fixture: &'a Fixture,
    token_len: usize,
    header: &Map<String, Value>,
    claims: &[(String, ModelClaim)],
    signing_input: &[u8],
    signature: &[u8],
    kind: TokenType,
) -> Result<FixtureKey<'a>, VerifyError> {
    use crate::{TooLarge, MAX_TOKEN_BYTES};
    if token_len > MAX_TOKEN_BYTES {
        return Err(VerifyError::TooLarge(TooLarge::Length {
            max: MAX_TOKEN_BYTES,
        }));
    }
    let claims_depth = 1 + claims
        .iter()
        .map(|(_, v)| v.as_ref().map_or(0, depth))
        .max()
        .unwrap_or(0);
    if depth(&Value::Object(header.clone())) > MAX_DEPTH || claims_depth > MAX_DEPTH {
        return Err(VerifyError::TooLarge(TooLarge::Depth { max: MAX_DEPTH }));
    }
    let duplicate = claims
        .iter()
        .enumerate()
        .any(|(i, (name, _))| claims.iter().skip(i + 1).any(|(other, _)| other == name));
    // A number beyond any double is not a structural error anywhere: docs/REFERENCE.md §1 calls
    // such a registered claim invalid, and `claims_stage` says the same of a custom one.
    if duplicate {
        return Err(VerifyError::Malformed(Malformed::ClaimsJson));
    }
    let key = key_stage(fixture, header, signing_input, signature)?;
    if !typ_accepted(header, kind) {
        return Err(VerifyError::WrongType);
    }
    claims_stage(claims, kind)?;
    Ok(key)
}
