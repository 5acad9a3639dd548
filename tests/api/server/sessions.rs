//! Sessions over HTTP: refresh rotation and reuse, one winner among concurrent refreshes,
//! grace, logout, RFC 7009 revocation, and logouts that survive a restart.

use super::*;

#[test]
fn refresh_rotates_and_reuse_kills_the_session_and_its_access_tokens() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let first = login(&server, "alice");
    let second = refresh(&server, first["refresh_token"].as_str().unwrap());
    assert_eq!(second.status, 200);
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let second = second.json();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        me(&server, second["access_token"].as_str().unwrap()).status,
        200
    );
    // Reuse of the first refresh token: 400 invalid_grant, and the whole session ends.
    let reuse = refresh(&server, first["refresh_token"].as_str().unwrap());
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert!(reuse.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    assert_eq!(
        refresh(&server, second["refresh_token"].as_str().unwrap()).status,
        400
    );
    assert_invalid_token(&me(&server, second["access_token"].as_str().unwrap()));
    // Unknown or garbage refresh tokens are invalid_grant too.
    assert_eq!(refresh(&server, "garbage").json()["error"], "invalid_grant");
    let other = setup.serve(&[]);
    let foreign = login(&other, "bob");
    assert_eq!(
        refresh(&server, foreign["refresh_token"].as_str().unwrap()).json()["error"],
        "invalid_grant"
    );
}

#[test]
fn of_sixteen_concurrent_refreshes_exactly_one_wins() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let pair = login(&server, "alice");
    let token = pair["refresh_token"].as_str().unwrap().to_owned();
    let statuses = concurrent_refreshes(&[server.addr], &token, 16);
    assert_one_winner(&statuses);
}

#[test]
fn grace_returns_the_identical_successor_to_the_direct_parent() {
    let setup = Setup::new();
    let server = setup.serve(&["--grace", "30"]);
    let pair = login(&server, "alice");
    let token = pair["refresh_token"].as_str().unwrap();
    let a = refresh(&server, token).json();
    let b = refresh(&server, token).json();
    assert_eq!(a, b);
    let c = refresh(&server, a["refresh_token"].as_str().unwrap()).json();
    assert_ne!(c["refresh_token"], a["refresh_token"]);
    assert_eq!(
        refresh(&server, token).status,
        400,
        "the grandparent is reuse"
    );
}

#[test]
fn logout_and_logout_all_end_sessions() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let one = login(&server, "alice");
    let two = login(&server, "alice");
    let bob = login(&server, "bob");
    let access = |p: &Value| p["access_token"].as_str().unwrap().to_owned();
    let refresh_of = |p: &Value| p["refresh_token"].as_str().unwrap().to_owned();

    let out = server.request("POST", "/auth/logout", &[&bearer(&access(&one))], b"");
    assert_eq!(out.status, 204);
    assert_invalid_token(&me(&server, &access(&one)));
    assert_eq!(refresh(&server, &refresh_of(&one)).status, 400);
    assert_eq!(
        me(&server, &access(&two)).status,
        200,
        "the other session lives"
    );
    assert_eq!(server.request("POST", "/auth/logout", &[], b"").status, 401);

    let three = login(&server, "alice");
    let all = server.request("POST", "/auth/logout-all", &[&bearer(&access(&two))], b"");
    assert_eq!(all.status, 204);
    for pair in [&two, &three] {
        assert_invalid_token(&me(&server, &access(pair)));
        assert_eq!(refresh(&server, &refresh_of(pair)).status, 400);
    }
    assert_eq!(
        me(&server, &access(&bob)).status,
        200,
        "another subject is untouched"
    );
    // A login after the answer works, even within the same second.
    let after = login(&server, "alice");
    assert_eq!(me(&server, &access(&after)).status, 200);
    assert_eq!(refresh(&server, &refresh_of(&after)).status, 200);
}

#[test]
fn rfc_7009_revocation_answers_200_and_ends_the_session() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let pair = login(&server, "alice");
    let form = |body: &str| {
        server.request(
            "POST",
            "/auth/revoke",
            &["Content-Type: application/x-www-form-urlencoded"],
            body.as_bytes(),
        )
    };
    let token = pair["refresh_token"].as_str().unwrap();
    assert_eq!(
        form(&format!("token={token}&token_type_hint=refresh_token")).status,
        200
    );
    assert_eq!(refresh(&server, token).status, 400);
    assert_invalid_token(&me(&server, pair["access_token"].as_str().unwrap()));
    assert_eq!(form("token=unknown-token").status, 200);
    assert_eq!(form("token_type_hint=access_token").status, 400);
    assert_eq!(form("token=a&token=b").status, 400);
    let json = server.json("/auth/revoke", &json!({"token": token}));
    assert_eq!(json.status, 415);
}

#[test]
fn logouts_survive_a_restart_with_the_file_store() {
    let setup = Setup::new();
    let journal = format!("file:{}", setup.fixture.path("sessions.journal").display());
    let mut server = setup.serve(&["--store", &journal]);
    let out = login(&server, "alice");
    let kept = login(&server, "alice");
    assert_eq!(
        server
            .request(
                "POST",
                "/auth/logout",
                &[&bearer(out["access_token"].as_str().unwrap())],
                b""
            )
            .status,
        204
    );
    server.restart();
    assert_invalid_token(&me(&server, out["access_token"].as_str().unwrap()));
    assert_eq!(
        refresh(&server, out["refresh_token"].as_str().unwrap()).status,
        400
    );
    // The session that was not logged out still refreshes after the restart.
    assert_eq!(
        refresh(&server, kept["refresh_token"].as_str().unwrap()).status,
        200
    );
}
