//! What the store keeps in Redis and who may touch it: TTLs on every key, foreign writes
//! reported as corrupt, ACL users limited to the prefix, TLS with client certificates.

use super::*;

#[test]
fn every_key_carries_a_ttl_and_the_namespace_holds_nothing_else() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let store = connect(&rt, &server.url(), options(&clock, "ttl:"));
    let other = connect(&rt, &server.url(), options(&clock, "other:"));
    block_on(store.create_session(record("s1", "gina", NOW))).unwrap();
    block_on(store.create_session(record("s2", "gina", NOW))).unwrap();
    block_on(store.consume_if_current(consume("s1", 0, "s1-r0", NOW + 1, 5))).unwrap();
    block_on(store.revoke_token("j", NOW + 50)).unwrap();
    block_on(store.revoke_session("s2", NOW + 60, EndReason::Logout)).unwrap();
    block_on(store.revoke_subject("hank", SubjectCutoff::new(NOW, Some(NOW + 70)), NOW + 70))
        .unwrap();
    let mut con = server.connection();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("ttl:*").query(&mut con).unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ttl:epoch",
            "ttl:g:s1",
            "ttl:r:jti",
            "ttl:r:sid",
            "ttl:r:sub",
            "ttl:r:subb",
            "ttl:s:s1",
            "ttl:u:gina"
        ]
    );
    let ttl = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("TTL").arg(key).query(con).unwrap()
    };
    // The epoch alone has none: its absence is what says the store lost its data.
    assert_eq!(ttl(&mut con, "ttl:epoch"), -1);
    let expected = [
        ("ttl:g:s1", 5 + 5),
        ("ttl:r:jti", 50),
        ("ttl:r:sid", 60),
        ("ttl:r:sub", 70),
        ("ttl:r:subb", 70),
        ("ttl:s:s1", 100 + 60),
        ("ttl:u:gina", 100 + 60),
    ];
    for (key, secs) in expected {
        let left = ttl(&mut con, key);
        assert!(
            (secs - 2..=secs).contains(&left),
            "{key}: {left} s left, expected {secs}"
        );
    }
    // The other namespace saw none of it.
    assert_eq!(revoked(&*other, "j", None, "x"), None);
    assert!(block_on(other.session("s1")).unwrap().is_none());
}

#[test]
fn foreign_writes_under_the_prefix_are_reported_as_corrupt_never_trusted() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let store = connect(&rt, &server.url(), options(&clock, "junk:"));
    let mut con = server.connection();
    let _: () = redis::cmd("SET")
        .arg("junk:s:string")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("junk:s:partial")
        .arg("sub")
        .arg("u")
        .query(&mut con)
        .unwrap();
    for sid in ["string", "partial"] {
        let result = block_on(store.consume_if_current(consume(sid, 0, "r0", 1, 0)));
        assert!(
            matches!(result, Err(StoreError::Corrupt(_))),
            "{sid}: {result:?}"
        );
        let result = block_on(store.session(sid));
        assert!(
            matches!(result, Err(StoreError::Corrupt(_))),
            "{sid}: {result:?}"
        );
    }
}

/// Every command the store sends, directly or from its scripts (docs/DEPLOYMENT.md).
const ACL_COMMANDS: &str = "+evalsha +eval +multi +exec +hgetall +hlen +hmget +hset +hdel +hget \
    +hkeys +del +exists +expire +persist +ttl +zadd +zremrangebyscore +zrangebyscore +publish \
    +subscribe +ping +select +get +set +scard +sadd +srem";

#[test]
fn auth_from_the_url_with_an_acl_user_limited_to_the_prefix_and_its_channel() {
    let server = RedisServer::start(false);
    let mut con = server.connection();
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER")
        .arg("gatepass")
        .arg("on")
        .arg(">s3cret pass");
    acl.arg("resetkeys")
        .arg("~gp:*")
        .arg("resetchannels")
        .arg("&gp:*")
        .arg("-@all");
    for command in ACL_COMMANDS.split_whitespace() {
        acl.arg(command);
    }
    let _: () = acl.query(&mut con).unwrap();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let url = format!(
        "redis://gatepass:s3cret%20pass@127.0.0.1:{}/0",
        server.port()
    );
    let a = connect(&rt, &url, options(&clock, "gp:"));
    let b = connect(&rt, &url, options(&clock, "gp:"));
    assert!(!format!("{a:?}").contains("s3cret"), "{a:?}");
    block_on(a.create_session(record("s", "ida", 10))).unwrap();
    block_on(a.consume_if_current(consume("s", 0, "s-r0", 11, 5))).unwrap();
    assert!(block_on(b.session("s")).unwrap().unwrap().grace.is_some());
    block_on(b.revoke_subject("ida", SubjectCutoff::new(20, Some(900)), 900)).unwrap();
    block_on(b.prune(1)).unwrap();
    eventually("A sees B's logout-all", || {
        revoked(&*a, "j", Some("s"), "ida") == Some(Revoked::Session)
    });
    // A wrong password, or a prefix outside the user's keys, is refused.
    let wrong = format!("redis://gatepass:nope@127.0.0.1:{}/0", server.port());
    assert!(rt
        .block_on(RedisStore::connect(&wrong, options(&clock, "gp:")))
        .is_err());
    assert!(rt
        .block_on(RedisStore::connect(&url, options(&clock, "other:")))
        .is_err());
}

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, as PEM.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    // Distinct names: OpenSSL takes a leaf named like its issuer for self-signed.
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gatepass test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca,
        server: leaf("127.0.0.1"),
        client: leaf("gatepass-node"),
    }
}

#[test]
fn rediss_connects_through_rustls_on_ring_with_a_private_ca_and_a_client_certificate() {
    let pki = pki();
    let certs = tempfile::tempdir().unwrap();
    let write = |name: &str, pem: &str| {
        let path = certs.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let tls_port = redis_server::free_port();
    let server = RedisServer::start_with(
        false,
        vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            write("server.pem", &pki.server.0),
            "--tls-key-file".into(),
            write("server.key", &pki.server.1),
            "--tls-ca-cert-file".into(),
            write("ca.pem", &pki.ca),
            "--tls-auth-clients".into(),
            "yes".into(),
        ],
    );
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    // A server no trusted root vouches for is refused, and so is a client without a
    // certificate when the server asks for one.
    assert!(rt
        .block_on(RedisStore::connect(&url, options(&clock, "tls:")))
        .is_err());
    let no_identity = options(&clock, "tls:").tls_root_certificates(pki.ca.clone());
    assert!(rt.block_on(RedisStore::connect(&url, no_identity)).is_err());
    // TLS settings on a plain URL are a configuration error, not a silent downgrade.
    let plain = rt.block_on(RedisStore::connect(
        &server.url(),
        options(&clock, "tls:").tls_root_certificates(pki.ca.clone()),
    ));
    assert!(matches!(plain, Err(StoreError::Config(_))), "{plain:?}");

    let over_tls = options(&clock, "tls:")
        .tls_root_certificates(pki.ca.clone())
        .tls_client_identity(pki.client.0.clone(), pki.client.1.clone());
    let a = connect(&rt, &url, over_tls);
    assert!(
        a.endpoint().starts_with("rediss://127.0.0.1:"),
        "{}",
        a.endpoint()
    );
    let b = connect(&rt, &server.url(), options(&clock, "tls:"));
    block_on(a.revoke_token("over-tls", 900)).unwrap();
    eventually("a plain node sees the TLS node's revocation", || {
        revoked(&*b, "over-tls", None, "x") == Some(Revoked::Token)
    });
    block_on(b.revoke_token("to-tls", 900)).unwrap();
    eventually(
        "the TLS node's mirror sees the plain node's revocation",
        || revoked(&*a, "to-tls", None, "x") == Some(Revoked::Token),
    );
}

#[test]
fn redis_is_a_dpop_replay_cache_shared_by_two_nodes() {
    use gatepass::{Clock as _, ReplayCache, ReplayKey, SystemClock};
    let redis = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let one = connect(&rt, &redis.url(), options(&clock, "gatepass:"));
    let two = connect(&rt, &redis.url(), options(&clock, "gatepass:"));
    let key = ReplayKey::new("thumbprint", "jti-1");
    let now = SystemClock.now();
    assert_eq!(rt.block_on(one.remember(key, now + 2, now)), Ok(true));
    // The other node sees it: a replay.
    assert_eq!(rt.block_on(two.remember(key, now + 2, now)), Ok(false));
    assert_eq!(rt.block_on(one.remember(key, now + 2, now)), Ok(false));
    // Another jti, or another key, is new.
    assert_eq!(
        rt.block_on(two.remember(ReplayKey::new("thumbprint", "jti-2"), now + 2, now)),
        Ok(true)
    );
    assert_eq!(
        rt.block_on(two.remember(ReplayKey::new("other", "jti-1"), now + 2, now)),
        Ok(true)
    );
    // Redis forgets it once its until has passed (PXAT on the real clock).
    eventually("the replay entry expires", || {
        rt.block_on(one.remember(key, SystemClock.now() + 60, SystemClock.now())) == Ok(true)
    });
}
