//! Two nodes on one database: sessions, revocations and reuse shared, one winner among
//! concurrent refreshes, and a node cut off by a proxy that fails closed and recovers.

use super::*;

#[test]
fn postgres_two_nodes_share_sessions_revocations_and_reuse_detection() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &db.url(), &clock);

    block_on(a.create_session(record("s", "alice", 10))).unwrap();
    assert_eq!(
        block_on(b.consume_if_current(consume("s", 0, "s-r0", 11, 0))).unwrap(),
        ConsumeOutcome::Rotated,
        "a session created on A rotates on B"
    );
    assert_eq!(
        block_on(a.consume_if_current(consume("s", 0, "s-r0", 12, 0))).unwrap(),
        ConsumeOutcome::Reused,
        "the spent token is reuse on A too"
    );
    eventually("B enforces the session A ended", || {
        revoked(&*b, "j", Some("s"), "alice") == Some(Revoked::Session)
    });
    assert_eq!(
        block_on(b.consume_if_current(consume("s", 1, "s-r1", 13, 0))).unwrap(),
        ConsumeOutcome::Unknown,
        "the newest token died with the session"
    );

    // A grace answer written by one node is read back whole by the other.
    block_on(a.create_session(record("g", "alice", 10))).unwrap();
    block_on(a.consume_if_current(consume("g", 0, "g-r0", 11, 5))).unwrap();
    let on_b = block_on(b.session("g")).unwrap().unwrap();
    assert_eq!(on_b, block_on(a.session("g")).unwrap().unwrap());
    assert_eq!(on_b.grace.unwrap().successor.refresh_token, "refresh-0");

    block_on(a.revoke_token("jti-1", 900)).unwrap();
    eventually("B enforces A's token revocation", || {
        revoked(&*b, "jti-1", None, "x") == Some(Revoked::Token)
    });
    block_on(b.create_session(record("t", "bob", 10))).unwrap();
    let ended = block_on(b.revoke_subject("bob", SubjectCutoff::new(20, Some(900)), 900)).unwrap();
    assert_eq!(ended, ["t"]);
    eventually("A enforces B's logout-all", || {
        revoked(&*a, "j", None, "bob") == Some(Revoked::Subject)
            && revoked(&*a, "j", Some("t"), "bob") == Some(Revoked::Session)
    });
    // A third node started now loads all of it.
    let c = connect(&rt, &db.url(), options(&clock, "shared"));
    assert_eq!(revoked(&*c, "jti-1", None, "x"), Some(Revoked::Token));
    assert_eq!(
        revoked(&*c, "j", Some("s"), "alice"),
        Some(Revoked::Session)
    );
    assert_eq!(revoked(&*c, "j", None, "bob"), Some(Revoked::Subject));
    // Pruning deletes what is dead and keeps what is not.
    block_on(c.prune(901)).unwrap();
    assert_eq!(db.query("SELECT count(*) FROM shared.revocations"), "0");
    assert_eq!(
        db.query("SELECT count(*) FROM shared.sessions"),
        "0",
        "g ended idle at 111"
    );
}

#[test]
fn postgres_thirty_two_concurrent_refreshes_across_two_nodes_have_exactly_one_winner() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &db.url(), &clock);
    for round in 0..3 {
        let sid = format!("race{round}");
        block_on(a.create_session(record(&sid, "u", 0))).unwrap();
        let outcomes = race_prepared(
            32,
            |i| {
                let node = if i % 2 == 0 { &a } else { &b };
                (node, consume(&sid, 0, &format!("{sid}-r0"), 1, 0))
            },
            |(node, request)| block_on(node.consume_if_current(request)),
        );
        let winners = outcomes
            .iter()
            .filter(|o| **o == Ok(ConsumeOutcome::Rotated))
            .count();
        assert_eq!(winners, 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            Ok(ConsumeOutcome::Rotated | ConsumeOutcome::Reused | ConsumeOutcome::Unknown)
        )));
        for node in [&a, &b] {
            eventually("both nodes enforce the raced session's end", || {
                revoked(&**node, "j", Some(&sid), "u") == Some(Revoked::Session)
            });
        }
    }
}

#[test]
fn postgres_node_cut_off_fails_closed_in_time_serves_its_mirror_then_recovers_what_it_missed() {
    let db = TestDatabase::create();
    let proxy = Proxy::start(PG_PORT);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = connect(&rt, &db.url(), options(&clock, "part"));
    let b = connect(&rt, &db.url_via(proxy.port()), options(&clock, "part"));
    let sessions_b = manager(b.clone(), &clock);
    let live = block_on(sessions_b.login("frank", Default::default())).unwrap();
    block_on(a.create_session(record("s", "frank", NOW))).unwrap();

    proxy.cut();
    block_on(a.revoke_token("while-cut-off", NOW + 3600)).unwrap();
    block_on(a.revoke_session("s", NOW + 3600, EndReason::Logout)).unwrap();
    // Every write on B fails as unavailable, within the command timeout (500 ms).
    let started = Instant::now();
    assert!(unavailable(&block_on(b.revoke_token("x", NOW + 60))));
    assert!(unavailable(&block_on(sessions_b.store().ping())));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match block_on(sessions_b.refresh(&live.refresh_token)) {
        Err(gatepass::SessionError::Store(StoreError::Unavailable(_))) => {}
        other => panic!("refresh while cut off: {other:?}"),
    }
    // Verification goes on from the mirror, within its bound...
    assert_eq!(
        revoked(&*b, "while-cut-off", None, "x"),
        None,
        "B cannot know yet"
    );
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
    // ...and fails closed past it.
    clock.advance(6);
    assert_eq!(b.revocations().health(), ViewHealth::Unavailable);
    assert_eq!(
        sessions_b
            .verifier()
            .verify_access(&live.access_token)
            .err(),
        Some(VerifyError::RevocationsUnavailable)
    );
    eventually("A's next heartbeat keeps it current", || {
        a.revocations().health() == ViewHealth::Current
    });

    proxy.heal();
    eventually("B re-loads what it missed", || {
        revoked(&*b, "while-cut-off", None, "x") == Some(Revoked::Token)
            && revoked(&*b, "j", Some("s"), "frank") == Some(Revoked::Session)
            && b.revocations().health() == ViewHealth::Current
    });
    // Writes work again without a restart (the pool replaces its dead connections).
    eventually("B's writes recover", || {
        block_on(b.revoke_token("after", NOW + 60)).is_ok()
    });
    assert!(block_on(sessions_b.store().ping()).is_ok());
    assert!(sessions_b.authenticate(&live.access_token).is_ok());
}
