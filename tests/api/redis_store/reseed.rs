//! A Redis that lost its data (restarted empty, flushed) gets every revocation back from the
//! running nodes; a new node that cannot tell fails closed.

use super::*;

/// What the tests below revoke: tokens on A, a session and two cut-offs (one kept until
/// replaced) across A and B, and one entry already dead at the loss.
fn revoke_a_mix(a: &RedisStore, b: &RedisStore) {
    for i in 0..10 {
        block_on(a.revoke_token(&format!("jti-{i}"), NOW + 3600)).unwrap();
    }
    block_on(b.create_session(record("ended", "kim", NOW))).unwrap();
    block_on(b.revoke_session("ended", NOW + 3600, EndReason::Logout)).unwrap();
    block_on(a.revoke_subject("lee", SubjectCutoff::new(NOW, None), NOW + 3600)).unwrap();
    block_on(b.revoke_subject(
        "max",
        SubjectCutoff::new(NOW - 5, Some(NOW + 600)),
        NOW + 600,
    ))
    .unwrap();
    block_on(a.revoke_token("dead-at-the-loss", NOW + 1)).unwrap();
}

/// Whether `store` enforces every revocation of [`revoke_a_mix`] still alive.
fn enforces_the_mix(store: &dyn SessionStore) -> bool {
    let check = |jti: &str, sid: Option<&str>, sub: &str, iat: u64| {
        store
            .revocations()
            .check(&RevocationQuery::new(jti, sid, sub, iat))
    };
    (0..10).all(|i| check(&format!("jti-{i}"), None, "x", NOW) == Some(Revoked::Token))
        && check("j", Some("ended"), "kim", NOW) == Some(Revoked::Session)
        && check("j", None, "lee", NOW - 1) == Some(Revoked::Subject)
        && check("j", None, "lee", NOW).is_none()
        && check("j", None, "max", NOW - 6) == Some(Revoked::Subject)
        && check("j", None, "max", NOW - 5).is_none()
}

/// Found by fault injection: Redis without persistence, killed and restarted empty. The
/// running nodes kept refusing what they had mirrored, but a node started afterwards
/// loaded an empty store and accepted every token revoked before the outage.
#[test]
fn a_redis_restarted_empty_gets_back_every_revocation_the_running_nodes_held() {
    let mut server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    let sessions_b = manager(b.clone(), &clock);
    let live = block_on(sessions_b.login("nia", Default::default())).unwrap();
    revoke_a_mix(&a, &b);
    eventually("both mirrors hold every revocation", || {
        enforces_the_mix(&*a) && enforces_the_mix(&*b)
    });
    assert_eq!(a.readiness(), StoreReadiness::Ready);
    clock.advance(2); // "dead-at-the-loss" is dead now: it is not written back

    server.restart(); // SIGKILL, then an empty Redis on the same port
    eventually(
        "A and B notice the loss and write their revocations back",
        || {
            let mut con = server.connection();
            a.readiness() == StoreReadiness::Ready
                && b.readiness() == StoreReadiness::Ready
                && zcard(&mut con, "shared:r:jti") == 10
                && zcard(&mut con, "shared:r:sid") == 1
                && zcard(&mut con, "shared:r:sub") == 2
        },
    );
    let mut con = server.connection();
    let lost: i64 = redis::cmd("SCARD")
        .arg("shared:lost")
        .query(&mut con)
        .unwrap();
    assert_eq!(lost, 0, "no node is still writing back");
    let entries: Vec<String> = redis::cmd("ZRANGE")
        .arg("shared:r:jti")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert!(!entries.contains(&"dead-at-the-loss".to_owned()));

    // A node started after the loss enforces all of it.
    let c = connect(&rt, &server.url(), options(&clock, "shared:"));
    assert_eq!(c.readiness(), StoreReadiness::Ready);
    assert!(enforces_the_mix(&*c), "{:?}", c.list().counts());
    // The cut-off kept until replaced is kept that way (no TTL), the other one expires.
    let ttl = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("TTL").arg(key).query(con).unwrap()
    };
    assert_eq!(ttl(&mut con, "shared:r:sub"), -1);
    // Sessions the store lost stay lost: refresh fails closed.
    assert!(matches!(
        block_on(sessions_b.refresh(&live.refresh_token)),
        Err(SessionError::InvalidGrant(InvalidGrant::UnknownSession))
    ));
    // Writes work again everywhere, and what they revoke reaches every mirror.
    block_on(c.revoke_token("after", NOW + 60)).unwrap();
    eventually("A sees C's revocation", || {
        revoked(&*a, "after", None, "x") == Some(Revoked::Token)
    });
}

/// `FLUSHDB` drops no connection: the heartbeat's epoch check is what notices it.
#[test]
fn a_flushed_redis_is_noticed_by_the_heartbeat_and_written_back() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    revoke_a_mix(&a, &b);
    eventually("A holds every revocation", || enforces_the_mix(&*a));
    let mut con = server.connection();
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    eventually("the revocations are back in Redis", || {
        zcard(&mut con, "shared:r:jti") == 11 && a.readiness() == StoreReadiness::Ready
    });
    let c = connect(&rt, &server.url(), options(&clock, "shared:"));
    assert!(enforces_the_mix(&*c));
}

/// A node with nothing to restore the store from does not trust a store that may have
/// lost data: revocations without an epoch (written by a version without epochs, or the
/// epoch deleted), or a loss another node is still writing back.
#[test]
fn a_new_node_that_cannot_tell_whether_redis_lost_data_fails_closed_until_it_can() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = connect(&rt, &server.url(), options(&clock, "doubt:"));
    let sessions_a = manager(a.clone(), &clock);
    let pair = block_on(sessions_a.login("oli", Default::default())).unwrap();
    block_on(a.revoke_token("gone", NOW + 3600)).unwrap();
    drop(sessions_a);
    drop(a); // no node holds the revocations any more
    let mut con = server.connection();
    let _: () = redis::cmd("DEL")
        .arg("doubt:epoch")
        .query(&mut con)
        .unwrap();

    let c = connect(&rt, &server.url(), options(&clock, "doubt:"));
    let sessions_c = manager(c.clone(), &clock);
    assert_eq!(c.readiness(), StoreReadiness::DataLost);
    assert_eq!(c.revocations().health(), ViewHealth::Unavailable);
    assert_eq!(
        sessions_c
            .verifier()
            .verify_access(&pair.access_token)
            .err(),
        Some(VerifyError::RevocationsUnavailable),
        "fails closed, past any staleness bound"
    );
    assert!(unavailable(block_on(
        c.create_session(record("s", "oli", NOW))
    )));
    assert!(unavailable(block_on(c.revoke_token("x", NOW + 60))));
    assert!(matches!(
        block_on(sessions_c.login("oli", Default::default())),
        Err(SessionError::Store(StoreError::Unavailable(_)))
    ));
    // It keeps re-loading: nothing changes while nothing vouches for the store.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.readiness(), StoreReadiness::DataLost);

    // A loss being written back: still in doubt; once written back, it trusts the store.
    let _: () = redis::cmd("SADD")
        .arg("doubt:lost")
        .arg("another-node")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("doubt:epoch")
        .arg("restored")
        .query(&mut con)
        .unwrap();
    let d = connect(&rt, &server.url(), options(&clock, "doubt:"));
    assert_eq!(d.readiness(), StoreReadiness::DataLost);
    let _: () = redis::cmd("SREM")
        .arg("doubt:lost")
        .arg("another-node")
        .query(&mut con)
        .unwrap();
    for node in [&c, &d] {
        eventually("the nodes trust the restored store", || {
            node.readiness() == StoreReadiness::Ready
        });
        assert_eq!(node.revocations().health(), ViewHealth::Current);
        assert_eq!(revoked(&**node, "gone", None, "x"), Some(Revoked::Token));
    }
    assert!(sessions_c.authenticate(&pair.access_token).is_ok());
    block_on(c.revoke_token("x", NOW + 60)).unwrap();
}

/// A genuinely new, empty Redis: the first node creates the epoch, the next adopts it.
#[test]
fn a_new_empty_redis_is_trusted_at_once() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);
    assert_eq!(a.readiness(), StoreReadiness::Ready);
    assert_eq!(b.readiness(), StoreReadiness::Ready);
    let mut con = server.connection();
    let epoch: Option<String> = redis::cmd("GET")
        .arg("shared:epoch")
        .query(&mut con)
        .unwrap();
    assert_eq!(epoch.map(|e| e.len()), Some(32));
    block_on(b.revoke_token("j", NOW + 60)).unwrap();
}
