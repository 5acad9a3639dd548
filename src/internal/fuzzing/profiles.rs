//! The claims paths and profiles `verify_token` compares against the JSON-map path of the
//! gatepass profile: the typed paths (owned and borrowed) must reach the same verdict, and
//! the jwt profile must relate to the gatepass profile as its rules say.

use serde::Deserialize;
use serde_json::Value;

use super::{fixture, model, NOW};
use crate::{AccessClaims, JwtClaims, Verified, VerifyError};

/// A claims type that reads no custom claim: every unknown member is ignored.
#[derive(Deserialize)]
struct NoCustom {}

/// A claims type that reads one custom claim, whatever its JSON type.
#[derive(Debug, Deserialize)]
struct OneCustom {
    #[serde(default)]
    role: Option<Value>,
}

/// The registered claims and scopes of a verified token, as comparable data.
#[derive(Debug, PartialEq)]
struct Registered {
    claims: Value,
    scopes: Vec<String>,
}

fn registered<C>(verified: &Verified<AccessClaims<C>>) -> Registered {
    let c = verified.claims();
    Registered {
        claims: serde_json::json!({
            "iss": c.iss, "sub": c.sub, "aud": c.aud, "exp": c.exp, "iat": c.iat,
            "nbf": c.nbf, "jti": c.jti, "sid": c.sid,
        }),
        scopes: verified.scopes().map(str::to_owned).collect(),
    }
}

/// What the map holds for `role`, as `OneCustom` sees it (`null` reads as absent).
fn map_role(map: &Verified<AccessClaims>) -> Option<Value> {
    map.claims()
        .custom
        .get("role")
        .filter(|v| !v.is_null())
        .cloned()
}

/// The typed paths against the map path: the same verdict kind for every token, and on
/// acceptance the same header, registered claims and scopes, and the map's `role`.
pub(super) fn check_typed(token: &str, map: &Result<Verified<AccessClaims>, VerifyError>) {
    let verifier = fixture().verifier();
    let owned = verifier.verify_access_as_at::<NoCustom>(token, NOW);
    let one = verifier.verify_access_as_at::<OneCustom>(token, NOW);
    let mut buf = Vec::new();
    let borrowed = verifier.verify_access_in::<OneCustom>(token, &mut buf);
    match map {
        Err(e) => {
            for (path, typed) in [
                ("owned", owned.as_ref().err()),
                ("owned one-claim", one.as_ref().err()),
                ("borrowed", borrowed.as_ref().err()),
            ] {
                assert_eq!(
                    typed.map(VerifyError::kind),
                    Some(e.kind()),
                    "the map path refused with {e:?}, the {path} typed path says {typed:?}"
                );
            }
        }
        Ok(map) => {
            let expected = registered(map);
            let owned = owned.expect("the map path accepted; the typed path must too");
            let one = one.expect("the map path accepted; the one-claim path must too");
            let borrowed = borrowed.expect("the map path accepted; the borrowed path must too");
            for (path, header, got) in [
                ("owned", owned.header(), registered(&owned)),
                ("owned one-claim", one.header(), registered(&one)),
                ("borrowed", borrowed.header(), registered(&borrowed)),
            ] {
                assert_eq!(header, map.header(), "{path}: header differs");
                assert_eq!(got, expected, "{path}: registered claims or scopes differ");
            }
            assert_eq!(
                one.claims().custom.role,
                map_role(map),
                "owned role differs"
            );
            assert_eq!(
                borrowed.claims().custom.role,
                map_role(map),
                "borrowed role differs"
            );
        }
    }
}

/// Whether the jwt profile's rules admit header `typ`: absent, or `JWT` / `at+jwt`
/// (any case, with or without `application/`). Written from the rules, not the code.
fn jwt_typ_ok(header: Option<&serde_json::Map<String, Value>>) -> bool {
    let Some(typ) = header.and_then(|h| h.get("typ")) else {
        return true;
    };
    let Some(typ) = typ.as_str() else {
        return false;
    };
    let lower = typ.to_ascii_lowercase();
    let short = lower.strip_prefix("application/").unwrap_or(&lower);
    short == "jwt" || short == "at+jwt"
}

/// The jwt profile (plain, without the audience check, requiring `scope`) against the
/// gatepass profile's access verdict on the same token.
pub(super) fn check_jwt(
    token: &str,
    header: Option<&serde_json::Map<String, Value>>,
    access: &Result<Verified<AccessClaims>, VerifyError>,
) {
    let [plain, no_audience, require_scope] = fixture().jwt_verifiers();
    let jwt = plain.verify_jwt_at(token, NOW);
    let loose = no_audience.verify_jwt_at(token, NOW);
    let scoped = require_scope.verify_jwt_at(token, NOW);
    for (name, result) in [
        ("jwt", &jwt),
        ("jwt without audience", &loose),
        ("jwt requiring scope", &scoped),
    ] {
        check_jwt_result(name, header, access, result);
    }
    // The typed jwt path reaches the same verdict as the jwt map path.
    let typed = plain.verify_jwt_as::<OneCustom>(token);
    match (&jwt, &typed) {
        (Err(e), Err(t)) => assert_eq!(e.kind(), t.kind(), "typed jwt path: {t:?} vs {e:?}"),
        (Ok(map), Ok(typed)) => {
            assert_eq!(typed.header(), map.header());
            assert_eq!(
                claims_json(typed.claims(), false),
                claims_json(map.claims(), false)
            );
            assert_eq!(
                typed.scopes().collect::<Vec<_>>(),
                map.scopes().collect::<Vec<_>>()
            );
            let role = map.claims().custom.get("role").filter(|v| !v.is_null());
            assert_eq!(typed.claims().custom.role.as_ref(), role);
        }
        (map, typed) => panic!("jwt map path says {map:?}, typed path says {typed:?}"),
    }
    // Dropping the audience check only ever accepts more; requiring a claim only less.
    if let Ok(jwt) = &jwt {
        let loose = loose.expect("accepted with the audience check, refused without it");
        assert_eq!(
            claims_json(loose.claims(), true),
            claims_json(jwt.claims(), true)
        );
        assert_eq!(loose.claims().custom, jwt.claims().custom);
        match &scoped {
            Ok(scoped) => assert_eq!(scoped.claims(), jwt.claims()),
            Err(e) => assert!(
                !has_scope(&jwt.claims().custom) && e.kind() == "missing_claim",
                "a token with a scope claim refused: {e:?}"
            ),
        }
    }
    if let Ok(scoped) = &scoped {
        assert!(has_scope(&scoped.claims().custom));
        assert!(
            jwt.is_ok(),
            "accepted requiring scope, refused without the requirement"
        );
    }
}

fn check_jwt_result(
    name: &str,
    header: Option<&serde_json::Map<String, Value>>,
    access: &Result<Verified<AccessClaims>, VerifyError>,
    jwt: &Result<Verified<JwtClaims>, VerifyError>,
) {
    // Size, structure, algorithm, key and signature do not depend on the profile.
    let early = |r: Result<(), &VerifyError>| r.err().filter(|e| model::stage(e) < 4).cloned();
    assert_eq!(
        early(jwt.as_ref().map(|_| ())),
        early(access.as_ref().map(|_| ())),
        "{name}: an early verdict differs from the gatepass profile's"
    );
    if let Err(e) = jwt {
        assert!(
            model::ERROR_KINDS.contains(&e.kind()) && e.kind() != "revoked",
            "{name} returned {e:?}, not a contract kind"
        );
    }
    if jwt.is_ok() {
        assert!(
            jwt_typ_ok(header),
            "{name} accepted typ {:?}",
            header.and_then(|h| h.get("typ"))
        );
    }
    // The gatepass profile's rules are a superset of the jwt profile's (for one with
    // `require`, once the required claim is there).
    if let Ok(access) = access {
        let required_absent = name.contains("scope") && !has_scope(&access.claims().custom);
        if !required_absent {
            let jwt = jwt
                .as_ref()
                .unwrap_or_else(|e| panic!("gatepass accepted, {name} refused with {e:?}"));
            assert_eq!(jwt.header(), access.header(), "{name}: header differs");
            assert_eq!(
                serde_json::to_value(jwt.claims()).expect("claims serialize"),
                serde_json::to_value(access.claims()).expect("claims serialize"),
                "{name}: claims differ"
            );
            assert_eq!(
                jwt.scopes().collect::<Vec<_>>(),
                access.scopes().collect::<Vec<_>>(),
                "{name}: scopes differ"
            );
        }
    }
}

/// Whether the custom claims hold a `scope` member: a required claim is one that is there
/// (`null` included; only its absence is `missing_claim`).
fn has_scope(custom: &serde_json::Map<String, Value>) -> bool {
    custom.contains_key("scope")
}

/// A jwt-profile claims set's registered claims as JSON (custom claims left out, since
/// `C` differs between the paths compared), optionally with the audience left out too.
fn claims_json<C>(c: &JwtClaims<C>, without_aud: bool) -> Value {
    let mut value = serde_json::json!({
        "iss": c.iss, "sub": c.sub, "aud": c.aud, "exp": c.exp, "iat": c.iat,
        "nbf": c.nbf, "jti": c.jti, "sid": c.sid,
    });
    if without_aud {
        if let Some(map) = value.as_object_mut() {
            map.remove("aud");
        }
    }
    value
}
