//! `gatepass serve` as a real process over real loopback HTTP: every route of the server
//! (docs/REFERENCE.md), one concern per submodule.

use std::sync::Arc;

use gatepass::{Algorithm, KeySelector, ManualClock};
use serde_json::{json, Value};

use crate::support::*;

#[path = "server/login.rs"]
mod login;
#[path = "server/operations.rs"]
mod operations;
#[path = "server/requests.rs"]
mod requests;
#[path = "server/sessions.rs"]
mod sessions;

/// A keyset and a users file on disk, and a server over them.
struct Setup {
    fixture: Fixture,
}

impl Setup {
    fn new() -> Self {
        let fixture = Fixture::new();
        fixture.users(&["alice", "bob"]);
        Self { fixture }
    }

    fn serve(&self, extra: &[&str]) -> RunningServer {
        self.fixture.server().args(extra).spawn()
    }
}

fn login(server: &RunningServer, user: &str) -> Value {
    let reply = server.json(
        "/auth/login",
        &json!({"username": user, "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn me(server: &RunningServer, token: &str) -> Reply {
    server.get("/api/me", &[&bearer(token)])
}

fn refresh(server: &RunningServer, token: &str) -> Reply {
    server.json("/auth/refresh", &json!({"refresh_token": token}))
}

fn assert_invalid_token(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text());
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge
            .starts_with(r#"Bearer realm="gatepass", error="invalid_token", error_description=""#),
        "{challenge}"
    );
}
