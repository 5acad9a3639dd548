//! One or two nodes on one Redis: connecting, the conformance suite, the Lua rotation against
//! the in-process state machine, sessions and reuse shared across nodes, one winner among
//! concurrent refreshes.

use super::*;

#[test]
fn connecting_needs_a_tokio_runtime_and_a_valid_url() {
    let clock = Arc::new(ManualClock::new(0));
    let outside = block_on(RedisStore::connect(
        "redis://127.0.0.1:1/0",
        options(&clock, "x:"),
    ));
    assert!(matches!(outside, Err(StoreError::Config(_))), "{outside:?}");
    let rt = runtime();
    let bad = rt.block_on(RedisStore::connect("http://nope", options(&clock, "x:")));
    assert!(matches!(bad, Err(StoreError::Config(_))), "{bad:?}");
    let refused = rt.block_on(RedisStore::connect(
        &format!("redis://127.0.0.1:{}/0", redis_server::free_port()),
        options(&clock, "x:"),
    ));
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
}

#[test]
fn redis_store_conforms() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let n = AtomicUsize::new(0);
    crate::store_conformance::run_all(&|| {
        let prefix = format!("conformance{}:", n.fetch_add(1, Ordering::SeqCst));
        connect(&rt, &server.url(), options(&clock, &prefix))
    });
}

#[test]
fn the_lua_rotation_decides_exactly_like_the_in_process_state_machine() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let redis = connect(&rt, &server.url(), options(&clock, "diff:"));
    crate::store_conformance::agrees_with_the_in_process_store(&*redis, 400);
}

/// Past 32 entries a login reads the subject index only when its size reaches a power of
/// two: dead entries wait for that login, so logins and refreshes of a subject with many
/// live sessions do not each read all of them.
#[test]
fn a_large_subject_index_is_pruned_when_its_size_reaches_a_power_of_two() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let store = connect(&rt, &server.url(), options(&clock, "amortized:"));
    let mut con = server.connection();
    let size = |con: &mut redis::Connection| -> i64 {
        redis::cmd("HLEN")
            .arg("amortized:u:max")
            .query(con)
            .unwrap()
    };
    // 33 sessions that end at NOW + 1000 (record(): absolute lifetime 1000 s); below 32
    // the index is read at every login (nothing is dead yet).
    for i in 0..33 {
        block_on(store.create_session(record(&format!("a{i}"), "max", NOW))).unwrap();
    }
    assert_eq!(size(&mut con), 33);
    // Logins after they ended, at 33 to 63 entries: not read, the dead ones stay.
    for i in 0..31 {
        block_on(store.create_session(record(&format!("b{i}"), "max", NOW + 1000))).unwrap();
    }
    assert_eq!(size(&mut con), 64, "nothing read between 32 and 64");
    // At 64: read, and the 33 that ended go.
    block_on(store.create_session(record("c", "max", NOW + 1000))).unwrap();
    assert_eq!(size(&mut con), 32);
}

/// The subject index (sid -> absolute end, what logout-all walks) forgets sessions past
/// their absolute end at the subject's next login or rotation. Found by review: sessions
/// that simply expired stayed in it forever.
#[test]
fn the_subject_index_forgets_sessions_past_their_absolute_end() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let store = connect(&rt, &server.url(), options(&clock, "idx:"));
    let mut con = server.connection();
    let sessions = |con: &mut redis::Connection| -> i64 {
        redis::cmd("HLEN").arg("idx:u:ivy").query(con).unwrap()
    };
    // record(): absolute lifetime 1000 s, idle timeout 100 s.
    for i in 0..10 {
        block_on(store.create_session(record(&format!("old{i}"), "ivy", NOW))).unwrap();
    }
    assert_eq!(sessions(&mut con), 10);
    block_on(store.create_session(record("late", "ivy", NOW + 960))).unwrap();
    assert_eq!(sessions(&mut con), 11, "nothing has ended yet");
    // A login after their absolute end drops the ten.
    block_on(store.create_session(record("new", "ivy", NOW + 1000))).unwrap();
    assert_eq!(sessions(&mut con), 2);
    // A rotation does not read the index (it would cost O(sessions) per refresh): "late",
    // past its end at NOW + 1961, stays until the next login, which drops it.
    block_on(store.create_session(record("b", "ivy", NOW + 1900))).unwrap();
    assert_eq!(
        block_on(store.consume_if_current(consume("b", 0, "b-r0", NOW + 1961, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert_eq!(sessions(&mut con), 3, "late, new and b");
    block_on(store.create_session(record("c", "ivy", NOW + 1961))).unwrap();
    assert_eq!(sessions(&mut con), 3, "late went; new, b and c stay");
    // Logout-all still ends exactly the live ones.
    let ended =
        block_on(store.revoke_subject("ivy", SubjectCutoff::new(NOW + 1962, None), NOW + 1962))
            .unwrap();
    assert_eq!(ended.len(), 3);
}

#[test]
fn two_nodes_share_sessions_revocations_and_reuse_detection() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);

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
}

#[test]
fn thirty_two_concurrent_refreshes_across_two_nodes_have_exactly_one_winner() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    for round in 0..3 {
        let sid = format!("race{round}");
        block_on(a.create_session(record(&sid, "u", 0))).unwrap();
        let outcomes = race_prepared(
            32,
            |i| {
                let node = if i % 2 == 0 { &a } else { &b };
                (node, consume(&sid, 0, &format!("{sid}-r0"), 1, 0))
            },
            |(node, request)| block_on(node.consume_if_current(request)).unwrap(),
        );
        let winners = outcomes
            .iter()
            .filter(|o| **o == ConsumeOutcome::Rotated)
            .count();
        assert_eq!(winners, 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            ConsumeOutcome::Rotated | ConsumeOutcome::Reused | ConsumeOutcome::Unknown
        )));
        // With grace 0 the losers are reuse: the session is over on both nodes.
        for node in [&a, &b] {
            eventually("both nodes enforce the raced session's end", || {
                revoked(&**node, "j", Some(&sid), "u") == Some(Revoked::Session)
            });
        }
    }
}

#[test]
fn login_on_a_refresh_on_b_logout_on_a_is_rejected_on_b() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    let (a, b) = (manager(a, &clock), manager(b, &clock));

    let first = block_on(a.login("alice", Default::default())).unwrap();
    let second = block_on(b.refresh(&first.refresh_token)).unwrap();
    assert!(b.authenticate(&second.access_token).is_ok());
    let verified = a.authenticate(&second.access_token).unwrap();
    block_on(a.logout(&verified)).unwrap();
    eventually("B rejects the logged-out session's access token", || {
        b.verifier().verify_access(&second.access_token).err()
            == Some(VerifyError::Revoked(Revoked::Session))
    });
    match block_on(b.refresh(&second.refresh_token)) {
        Err(SessionError::InvalidGrant(InvalidGrant::Token(VerifyError::Revoked(_))))
        | Err(SessionError::InvalidGrant(InvalidGrant::UnknownSession)) => {}
        other => panic!("refresh after logout: {other:?}"),
    }
}
