//! Typed claims both ways: a `Serialize` struct's members issued as custom claims, a
//! `Deserialize` type (owned or borrowing from the token) verified straight from the claims
//! text, with exactly the verdicts of the JSON-map path, and scope checks for every type.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use gatepass::{
    Algorithm, AuthLayer, Authenticated, Claim, IssueError, Issuer, ManualClock, SigningKey,
    VerificationKeys, Verifier, VerifyError,
};
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;

use crate::support::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    roles: Vec<String>,
    tenant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Plan>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Plan {
    name: String,
    seats: u32,
}

/// A strict type: registered claims must be invisible to it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnlyRole {
    role: String,
}

#[derive(Debug, Deserialize)]
struct Borrowed<'a> {
    tenant: &'a str,
    #[serde(borrow)]
    note: Cow<'a, str>,
}

fn hs() -> (Issuer, Verifier) {
    let key =
        Arc::new(SigningKey::from_hmac_secret(Algorithm::HS256, HS_SECRET, Some(HS_KID)).unwrap());
    let issuer = Issuer::new(key.clone(), ISS, AUD).with_clock(Arc::new(ManualClock::new(NOW)));
    let verifier = Verifier::builder(
        VerificationKeys::new([key.verifying_key().clone()]),
        ISS,
        AUD,
    )
    .clock(Arc::new(ManualClock::new(NOW)))
    .build()
    .unwrap();
    (issuer, verifier)
}

#[test]
fn a_serialize_struct_round_trips_through_issue_and_verify_owned_and_borrowed() {
    let (issuer, verifier) = hs();
    let profile = Profile {
        roles: vec!["admin".into(), "billing".into()],
        tenant: "acme".into(),
        plan: Some(Plan {
            name: "pro".into(),
            seats: 12,
        }),
    };
    let token = issuer
        .access_token("alice")
        .claims(&profile)
        .unwrap()
        .claim("note", "caf\u{e9} \"quoted\"")
        .unwrap()
        .issue()
        .unwrap()
        .token;
    let typed = verifier.verify_access_as::<Profile>(&token).unwrap();
    assert_eq!(typed.claims().custom, profile);
    assert_eq!(typed.claims().sub, "alice");
    // The map path sees the same members.
    let map = verifier.verify_access(&token).unwrap();
    assert_eq!(map.claims().custom["plan"]["seats"], 12);
    assert_eq!(
        serde_json::to_value(&profile).unwrap()["roles"],
        map.claims().custom["roles"]
    );

    // Borrowed: `&str` points into the caller's buffer; the escaped string is a Cow copy.
    let mut buf = Vec::new();
    let borrowed = verifier
        .verify_access_in::<Borrowed<'_>>(&token, &mut buf)
        .unwrap();
    assert_eq!(borrowed.claims().custom.tenant, "acme");
    assert_eq!(borrowed.claims().custom.note, "caf\u{e9} \"quoted\"");
    assert!(matches!(borrowed.claims().custom.note, Cow::Owned(_)));
    // Without escapes, the Cow borrows from the buffer.
    let plain = issuer
        .access_token("alice")
        .claim("tenant", "t")
        .unwrap()
        .claim("note", "n")
        .unwrap()
        .issue()
        .unwrap()
        .token;
    let mut buf = Vec::new();
    let borrowed = verifier
        .verify_access_in::<Borrowed<'_>>(&plain, &mut buf)
        .unwrap();
    assert!(matches!(borrowed.claims().custom.note, Cow::Borrowed("n")));

    // An escaped string cannot be borrowed as `&str`: invalid_claim, not a panic.
    let escaped = issuer
        .access_token("alice")
        .claim("tenant", "a\\b")
        .unwrap()
        .claim("note", "n")
        .unwrap()
        .issue()
        .unwrap()
        .token;
    let mut buf = Vec::new();
    assert_eq!(
        verifier
            .verify_access_in::<Borrowed<'_>>(&escaped, &mut buf)
            .unwrap_err(),
        VerifyError::InvalidClaim(Claim::Custom)
    );
}

#[test]
fn the_typed_path_hides_registered_claims_exactly_as_the_map_does() {
    let (issuer, verifier) = hs();
    let token = issuer
        .access_token("alice")
        .claim("role", "admin")
        .unwrap()
        .issue()
        .unwrap()
        .token;
    // deny_unknown_fields: iss, sub, aud, exp, iat, jti and sid are not custom claims.
    assert_eq!(
        verifier
            .verify_access_as::<OnlyRole>(&token)
            .unwrap()
            .claims()
            .custom
            .role,
        "admin"
    );
    #[derive(Debug, Deserialize)]
    struct WantsSub {
        #[allow(dead_code)]
        sub: String,
    }
    assert_eq!(
        verifier.verify_access_as::<WantsSub>(&token).unwrap_err(),
        VerifyError::InvalidClaim(Claim::Custom)
    );
}

#[test]
fn typed_and_map_verification_give_the_same_verdict_on_hostile_claims() {
    let (_, verifier) = hs();
    let cases: Vec<(&str, String)> = vec![
        (
            "duplicate custom",
            claims_with(&[]).replace('}', r#","x":1,"x":2}"#),
        ),
        (
            "nested duplicate",
            claims_with(&[("x", r#"{"a":1,"a":2}"#)]),
        ),
        (
            "deep duplicate",
            claims_with(&[("x", r#"[{"b":[{"a":1,"a":2}]}]"#)]),
        ),
        ("custom beyond a double", claims_with(&[("x", "[1e400]")])),
        (
            "scope beyond a double",
            claims_with(&[("scope", "[1e400]")]),
        ),
        ("bad escape", claims_with(&[("x", r#""\u12""#)])),
        (
            "duplicate scope",
            claims_with(&[("scope", "\"a\"")]).replace('}', r#","scope":"b"}"#),
        ),
        ("custom and registered alike", claims_with(&[("x", "null")])),
        (
            "well-formed",
            claims_with(&[("x", r#"{"a":[1,2.5,"s",true,null]}"#)]),
        ),
    ];
    #[derive(Debug, Deserialize)]
    struct Any {}
    for (what, claims) in cases {
        let token = craft_hs256(&hs_header(), &claims);
        let map = verifier
            .verify_access(&token)
            .map(|_| ())
            .map_err(|e| e.kind());
        let typed = verifier
            .verify_access_as::<Any>(&token)
            .map(|_| ())
            .map_err(|e| e.kind());
        let mut buf = Vec::new();
        let borrowed = verifier
            .verify_access_in::<Any>(&token, &mut buf)
            .map(|_| ())
            .map_err(|e| e.kind());
        assert_eq!(map, typed, "{what}");
        assert_eq!(map, borrowed, "{what}");
    }
    let token = craft_hs256(&hs_header(), &claims_with(&[("x", "[1e400]")]));
    assert_eq!(
        verifier.verify_access_as::<Any>(&token).unwrap_err(),
        VerifyError::InvalidClaim(Claim::Custom)
    );
    let token = craft_hs256(&hs_header(), &claims_with(&[("x", r#"{"a":1,"a":2}"#)]));
    assert_eq!(
        verifier.verify_access_as::<Any>(&token).unwrap_err().kind(),
        "malformed"
    );
}

#[test]
fn scopes_are_read_for_every_claims_type() {
    let (_, verifier) = hs();
    #[derive(Clone, Debug, Deserialize)]
    struct Nothing {}
    for (scope, scp, granted, refused) in [
        (
            "\"read write\"",
            "",
            &["read", "write"][..],
            &["admin", "read write"][..],
        ),
        ("", r#"["a","b c","d"]"#, &["a", "d"], &["b", "c", "b c"]),
        ("\"x\"", "\"y z\"", &["x", "y", "z"], &["w"]),
        ("7", r#"{"a":true}"#, &[], &["7", "a"]),
        // An array with a non-string item grants nothing, whichever path reads it.
        ("", r#"["a",1,null]"#, &[], &["a", "1"]),
    ] {
        let token = craft_hs256(
            &hs_header(),
            &claims_with(&[("scope", scope), ("scp", scp)]),
        );
        let typed = verifier.verify_access_as::<Nothing>(&token).unwrap();
        let map = verifier.verify_access(&token).unwrap();
        for s in granted {
            assert!(typed.has_scope(s) && map.has_scope(s), "{scope} {scp}: {s}");
        }
        for s in refused {
            assert!(
                !typed.has_scope(s) && !map.has_scope(s),
                "{scope} {scp}: {s}"
            );
        }
        let auth = Authenticated::from(typed);
        assert_eq!(
            auth.require_scope(&granted.join(" ")).is_ok(),
            !granted.is_empty()
        );
    }
}

#[tokio::test]
async fn the_layer_requires_scopes_of_a_claims_type_without_any_trait() {
    #[derive(Clone, Debug, Deserialize)]
    struct Tenant {
        tenant: String,
    }
    async fn handler(auth: Authenticated<Tenant>) -> String {
        auth.custom.tenant.clone()
    }
    let (issuer, verifier) = hs();
    let verifier = Arc::new(verifier);
    let app = Router::new()
        .route("/orders", get(handler))
        .route_layer(AuthLayer::with_claims::<Tenant>(verifier).require_scope("orders:read"));
    let call = |token: String| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(
                    Request::get("/orders")
                        .header("authorization", format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, challenge)
        }
    };
    let with = issuer
        .access_token("alice")
        .claim("tenant", "acme")
        .unwrap()
        .claim("scope", "orders:read")
        .unwrap()
        .issue()
        .unwrap()
        .token;
    assert_eq!(call(with).await, (StatusCode::OK, None));
    let without = issuer
        .access_token("alice")
        .claim("tenant", "acme")
        .unwrap()
        .claim("scp", ["orders:write"].as_slice())
        .unwrap()
        .issue()
        .unwrap()
        .token;
    let (status, challenge) = call(without).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.unwrap().contains(r#"error="insufficient_scope""#));
}

#[test]
fn issuing_refuses_registered_names_and_non_objects() {
    let (issuer, _) = hs();
    #[derive(Serialize)]
    struct Sneaky {
        sub: &'static str,
    }
    assert_eq!(
        issuer
            .access_token("alice")
            .claims(&Sneaky { sub: "root" })
            .unwrap_err(),
        IssueError::ReservedClaim("sub".into())
    );
    assert!(matches!(
        issuer
            .access_token("alice")
            .claims(&vec![1, 2])
            .unwrap_err(),
        IssueError::Claims(_)
    ));
    assert!(matches!(
        issuer
            .refresh_token("alice", "sid", 0)
            .claims(&"text")
            .unwrap_err(),
        IssueError::Claims(_)
    ));
    // A map still works.
    let mut map = gatepass::CustomClaims::new();
    map.insert("role".into(), "admin".into());
    assert!(issuer.access_token("alice").claims(&map).is_ok());
}

#[tokio::test]
async fn a_handler_asking_for_another_claims_type_than_its_layer_gets_it_not_a_500() {
    #[derive(Clone, Debug, Deserialize)]
    struct LayerClaims {
        #[allow(dead_code)]
        tenant: String,
    }
    #[derive(Clone, Debug, Deserialize)]
    struct HandlerClaims {
        plan: String,
    }
    async fn handler(auth: Authenticated<HandlerClaims>) -> String {
        format!("{} {}", auth.sub, auth.custom.plan)
    }
    async fn strict(auth: Authenticated<OnlyRole>) -> String {
        auth.custom.role.clone()
    }
    let (issuer, verifier) = hs();
    let app = Router::new()
        .route("/plan", get(handler))
        .route("/role", get(strict))
        .route_layer(AuthLayer::with_claims::<LayerClaims>(Arc::new(verifier)));
    let call = |path: &'static str, token: String| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(
                    Request::get(path)
                        .header("authorization", format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let token = issuer
        .access_token("alice")
        .claim("tenant", "acme")
        .unwrap()
        .claim("plan", "pro")
        .unwrap()
        .issue()
        .unwrap()
        .token;
    assert_eq!(
        call("/plan", token.clone()).await,
        (StatusCode::OK, "alice pro".into())
    );
    // The token lacks what the handler's type needs: the token's fault, 401, never 500.
    let (status, _) = call("/role", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
