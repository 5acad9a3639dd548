//! A Redis killed mid-run or a node cut off from it: fail closed, serve the mirror within its
//! bound, recover what was missed.

use super::*;

#[test]
fn redis_killed_mid_run_fails_closed_serves_the_mirror_then_recovers_with_every_acknowledged_revocation(
) {
    let mut server = RedisServer::start(true);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    let sessions_b = manager(b.clone(), &clock);
    let live = block_on(sessions_b.login("carol", Default::default())).unwrap();
    block_on(a.create_session(record("kept", "dave", NOW))).unwrap();
    block_on(a.revoke_token("revoked-before-the-kill", NOW + 3600)).unwrap();
    eventually("B has the revocation", || {
        revoked(&*b, "revoked-before-the-kill", None, "x") == Some(Revoked::Token)
    });

    server.kill();
    // Writes fail closed.
    assert!(unavailable(block_on(
        a.create_session(record("new", "erin", NOW))
    )));
    assert!(unavailable(block_on(
        a.consume_if_current(consume("kept", 0, "kept-r0", NOW, 0))
    )));
    assert!(unavailable(block_on(a.revoke_token("lost", NOW + 60))));
    assert!(matches!(
        block_on(sessions_b.refresh(&live.refresh_token)),
        Err(SessionError::Store(StoreError::Unavailable(_)))
    ));
    // Verification keeps using the mirror within the staleness bound...
    assert_eq!(b.revocations().health(), ViewHealth::Current);
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
    assert_eq!(
        revoked(&*b, "revoked-before-the-kill", None, "x"),
        Some(Revoked::Token)
    );
    // ...then fails closed.
    clock.advance(6);
    assert_eq!(b.revocations().health(), ViewHealth::Unavailable);
    assert_eq!(
        sessions_b
            .authenticate(&live.access_token)
            .unwrap_err()
            .to_string(),
        SessionError::InvalidToken(VerifyError::RevocationsUnavailable).to_string()
    );
    // Past the bound, refresh and RFC 7009 revocation cannot judge a token either: they
    // fail as an outage (503), never `invalid_grant` (which tells a client to discard its
    // refresh token) nor "revoked" with nothing stored. Found by review.
    assert!(matches!(
        block_on(sessions_b.refresh(&live.refresh_token)),
        Err(SessionError::Store(StoreError::Unavailable(_)))
    ));
    for (token, hint) in [
        (&live.refresh_token, Some("refresh_token")),
        (&live.access_token, Some("access_token")),
        (&live.access_token, None),
    ] {
        assert!(
            matches!(
                block_on(sessions_b.revoke(token, hint)),
                Err(SessionError::Store(StoreError::Unavailable(_)))
            ),
            "{hint:?}"
        );
    }
    // A token that is simply invalid is still ignored, as RFC 7009 asks.
    assert!(block_on(sessions_b.revoke("not-a-token", None)).is_ok());

    server.restart();
    eventually("B re-syncs after the restart", || {
        b.revocations().health() == ViewHealth::Current
    });
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
    eventually("A's writes work again", || {
        block_on(a.create_session(record("after", "erin", NOW + 6))).is_ok()
    });
    // What was acknowledged before the kill survived it (AOF), seen by a new node too.
    let c = connect(&rt, &server.url(), options(&clock, "shared:"));
    assert_eq!(
        revoked(&*c, "revoked-before-the-kill", None, "x"),
        Some(Revoked::Token)
    );
    assert!(block_on(c.session("kept")).unwrap().is_some());
    assert_eq!(
        block_on(c.consume_if_current(consume("kept", 0, "kept-r0", NOW + 6, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert!(block_on(sessions_b.refresh(&live.refresh_token)).is_ok());
}

#[test]
fn a_revocation_made_while_a_node_is_cut_off_reaches_it_through_the_resync() {
    let server = RedisServer::start(false);
    let proxy = Proxy::start(server.port());
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = connect(&rt, &server.url(), options(&clock, "part:"));
    let b = connect(
        &rt,
        &format!("redis://127.0.0.1:{}/0", proxy.port()),
        options(&clock, "part:"),
    );
    block_on(a.create_session(record("s", "frank", NOW))).unwrap();

    proxy.cut();
    block_on(a.revoke_token("while-cut-off", NOW + 3600)).unwrap();
    block_on(a.revoke_session("s", NOW + 3600, EndReason::Logout)).unwrap();
    assert!(unavailable(block_on(b.revoke_token("x", NOW + 60))));
    assert_eq!(
        revoked(&*b, "while-cut-off", None, "x"),
        None,
        "B cannot know yet"
    );
    clock.advance(6);
    assert_eq!(b.revocations().health(), ViewHealth::Unavailable);
    eventually("A's next heartbeat keeps it current", || {
        a.revocations().health() == ViewHealth::Current
    });

    proxy.heal();
    eventually("B re-loads what it missed", || {
        revoked(&*b, "while-cut-off", None, "x") == Some(Revoked::Token)
            && revoked(&*b, "j", Some("s"), "frank") == Some(Revoked::Session)
            && b.revocations().health() == ViewHealth::Current
    });
}
