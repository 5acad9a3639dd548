//! examples/auth_server.rs, in process: the application's own async user directory logs
//! users in (disabled and unknown ones not), its roles reach the tokens and its own route,
//! and its metrics route counts what happened.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::auth_server_example::{app, Accounts, AppConfig};
use crate::support::block_on;

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn login(app: &Router, username: &str, password: &str) -> (StatusCode, String) {
    let body = json!({ "username": username, "password": password }).to_string();
    let request = Request::post("/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    call(app, request).await
}

#[test]
fn the_example_logs_in_through_its_own_directory_with_roles_and_counts_it() {
    block_on(async {
        let config = AppConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            keyset: None,
            issuer: "https://example.test".into(),
            audience: "example-api".into(),
            access_ttl: Duration::from_secs(60),
        };
        let accounts = std::sync::Arc::new(Accounts::new().unwrap());
        accounts
            .insert("alice", "alice password", &["admin", "billing"])
            .await
            .unwrap();
        let (app, _maintenance) = app(&config, accounts).unwrap();

        assert_eq!(
            login(&app, "alice", "wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login(&app, "mallory", "alice password").await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, body) = login(&app, "alice", "alice password").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let pair: Value = serde_json::from_str(&body).unwrap();
        let access = pair["access_token"].as_str().unwrap();

        let hello = Request::get("/hello")
            .header("authorization", format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            call(&app, hello).await,
            (
                StatusCode::OK,
                "hello, alice (roles: admin, billing)\n".into()
            )
        );
        let me = Request::get("/api/me")
            .header("authorization", format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap();
        let (status, body) = call(&app, me).await;
        assert_eq!(status, StatusCode::OK);
        let claims: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(claims["roles"], json!(["admin", "billing"]));
        assert_eq!(claims["iss"], "https://example.test");

        let metrics = Request::get("/internal/metrics")
            .body(Body::empty())
            .unwrap();
        let (status, text) = call(&app, metrics).await;
        assert_eq!(status, StatusCode::OK);
        for line in [
            "gatepass_logins_total{outcome=\"success\"} 1",
            "gatepass_logins_total{outcome=\"invalid_credentials\"} 2",
            // /api/me is the server's protected route; /hello is the app's own.
            "gatepass_verifications_total{outcome=\"success\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
        }
    });
}
