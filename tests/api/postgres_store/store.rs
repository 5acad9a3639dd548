//! One store on its own database: the conformance suite, connecting (and never echoing the
//! password), migrations raced by nodes starting together, step-by-step agreement with the
//! in-process store, and TLS.

use super::*;

#[test]
fn postgres_store_conforms() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let n = AtomicUsize::new(0);
    // One empty store per check: a schema each, in this test's database.
    crate::store_conformance::run_all(&|| {
        let schema = format!("conformance{}", n.fetch_add(1, Ordering::SeqCst));
        connect(&rt, &db.url(), options(&clock, &schema))
    });
}

#[test]
fn postgres_connecting_needs_a_runtime_a_valid_url_and_never_echoes_the_password() {
    let clock = Arc::new(ManualClock::new(0));
    let outside = block_on(PostgresStore::connect(
        "postgres://postgres@127.0.0.1:5432/postgres",
        options(&clock, "x"),
    ));
    assert!(matches!(outside, Err(StoreError::Config(_))), "{outside:?}");
    let rt = runtime();
    for bad in [
        "http://nope",
        "postgres://u:s3cret@127.0.0.1:notaport/db",
        "postgres://u:s3cret@127.0.0.1:5432/db?sslmode=bogus",
        "postgres://u:s3cret@127.0.0.1:5432/db?sslmode=verify-full",
    ] {
        let result = rt.block_on(PostgresStore::connect(bad, options(&clock, "x")));
        assert!(matches!(result, Err(StoreError::Config(_))), "{result:?}");
        assert!(!format!("{result:?}").contains("s3cret"));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = rt.block_on(PostgresStore::connect(
        &format!("postgres://u:s3cret@127.0.0.1:{port}/db"),
        options(&clock, "x"),
    ));
    assert!(unavailable(&refused), "{refused:?}");
    assert!(!format!("{refused:?}").contains("s3cret"));
    // A database that does not exist is unavailable (retry once it is created).
    let missing = rt.block_on(PostgresStore::connect(
        "postgres://postgres@127.0.0.1:5432/gatepass_test_does_not_exist",
        options(&clock, "x"),
    ));
    assert!(unavailable(&missing), "{missing:?}");
}

#[test]
fn postgres_nodes_starting_together_migrate_the_schema_once() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let url = db.url();
    let stores: Vec<_> = rt.block_on(async {
        let starts = (0..6).map(|_| PostgresStore::connect(&url, options(&clock, "gatepass")));
        let mut handles = Vec::new();
        for start in starts {
            handles.push(start);
        }
        let mut stores = Vec::new();
        for result in futures_join(handles).await {
            stores.push(result.unwrap());
        }
        stores
    });
    assert_eq!(stores.len(), 6);
    assert_eq!(
        db.query(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM gatepass.schema_version"
        ),
        "1,2,3"
    );
    // They all work on the one schema.
    block_on(stores[0].create_session(record("s", "u", NOW))).unwrap();
    assert!(block_on(stores[5].session("s")).unwrap().is_some());
    // The other spelling of the scheme is the same database.
    let other = connect(
        &rt,
        &url.replacen("postgres://", "postgresql://", 1),
        options(&clock, "gatepass"),
    );
    assert!(block_on(other.session("s")).unwrap().is_some());
    drop(other);
    drop(stores);
    // A database migrated by a newer gatepass is refused, not written to.
    db.query("INSERT INTO gatepass.schema_version VALUES (99, 0)");
    let newer = rt.block_on(PostgresStore::connect(&url, options(&clock, "gatepass")));
    assert!(matches!(newer, Err(StoreError::Config(_))), "{newer:?}");
}

#[test]
fn postgres_database_of_version_1_is_upgraded_and_its_sessions_list_without_a_client() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    // A schema as the first release left it: version 1, no client columns, one session.
    let store = connect(&rt, &db.url(), options(&clock, "gatepass"));
    drop(store);
    db.query(
        "ALTER TABLE gatepass.sessions DROP COLUMN user_agent, DROP COLUMN client_network; \
         DROP TABLE gatepass.dpop_replay; \
         DELETE FROM gatepass.schema_version WHERE version >= 2",
    );
    db.query(&format!(
        "INSERT INTO gatepass.sessions (sid, sub, gen, refresh_jti, created_at, last_used_at, \
         expires_at, idle_timeout) VALUES ('old', 'olga', 0, 'old-r0', {NOW}, {NOW}, {}, 100)",
        NOW + 1000
    ));
    let store = connect(&rt, &db.url(), options(&clock, "gatepass"));
    assert_eq!(
        db.query(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM gatepass.schema_version"
        ),
        "1,2,3"
    );
    let listed = block_on(store.list_sessions("olga", NOW + 1)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].sid.as_str(), listed[0].created_at), ("old", NOW));
    assert!(listed[0].client.is_empty());
    // The old session keeps rotating, and now remembers its client.
    let client = gatepass::ClientInfo::new(Some("Upgraded/1"), Some("192.0.2.9".parse().unwrap()));
    let request = consume("old", 0, "old-r0", NOW + 2, 0).with_client(client.clone());
    assert_eq!(
        block_on(store.consume_if_current(request)).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert_eq!(
        block_on(store.session("old")).unwrap().unwrap().client,
        client
    );
    // Only the network is in the database, never the address.
    assert_eq!(
        db.query("SELECT user_agent || ' ' || client_network FROM gatepass.sessions"),
        "Upgraded/1 192.0.2.0/24"
    );
}

/// Poll every future together (no extra dependency): the connects race for real.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Random logins, refreshes, logouts and logouts-all on PostgreSQL and on the in-process
/// store: the same records, outcomes and revocations at every step.
#[test]
fn postgres_agrees_with_the_in_process_store_step_by_step() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let pg = connect(&rt, &db.url(), options(&clock, "diff"));
    crate::store_conformance::agrees_with_the_in_process_store(&*pg, 300);
}

#[test]
fn postgres_sslmode_require_uses_tls_and_verifies_the_server_certificate() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(0));
    let url = format!(
        "postgres://postgres@localhost:{PG_PORT}/{}?sslmode=require",
        db.name
    );
    // The server's certificate is self-signed: no webpki root vouches for it.
    let untrusted = rt.block_on(PostgresStore::connect(&url, options(&clock, "tls")));
    assert!(unavailable(&untrusted), "{untrusted:?}");
    // Trusting it explicitly, the store connects over TLS (as PostgreSQL itself reports).
    let pem = std::fs::read(psql(&db.name, "SHOW ssl_cert_file")).unwrap();
    let store = connect(
        &rt,
        &url,
        options(&clock, "tls").tls_root_certificates(pem.clone()),
    );
    assert!(
        store.endpoint().ends_with("?sslmode=require"),
        "{}",
        store.endpoint()
    );
    block_on(store.revoke_token("over-tls", 900)).unwrap();
    let tls_connections = db.query(&format!(
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE datname = '{}' AND ssl",
        db.name
    ));
    assert!(
        tls_connections.parse::<u32>().unwrap() >= 2,
        "{tls_connections}"
    );
    // A certificate for another name is refused even when trusted.
    let by_address = format!(
        "postgres://postgres@127.0.0.1:{PG_PORT}/{}?sslmode=require",
        db.name
    );
    let mismatch = rt.block_on(PostgresStore::connect(
        &by_address,
        options(&clock, "tls").tls_root_certificates(pem),
    ));
    assert!(unavailable(&mismatch), "{mismatch:?}");
}

#[test]
fn postgres_is_a_dpop_replay_cache_shared_by_two_nodes_and_pruned() {
    use gatepass::{ReplayCache, ReplayKey};
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let one = connect(&rt, &db.url(), options(&clock, "gatepass"));
    let two = connect(&rt, &db.url(), options(&clock, "gatepass"));
    let key = ReplayKey::new("thumbprint", "jti-1");
    assert_eq!(rt.block_on(one.remember(key, NOW + 66, NOW)), Ok(true));
    assert_eq!(rt.block_on(two.remember(key, NOW + 66, NOW + 1)), Ok(false));
    assert_eq!(
        rt.block_on(one.remember(key, NOW + 66, NOW + 65)),
        Ok(false)
    );
    assert_eq!(
        rt.block_on(two.remember(ReplayKey::new("thumbprint", "jti-2"), NOW + 66, NOW)),
        Ok(true)
    );
    // Once its until has passed, the row is dead: the key may be remembered again.
    assert_eq!(
        rt.block_on(two.remember(key, NOW + 132, NOW + 66)),
        Ok(true)
    );
    assert_eq!(
        rt.block_on(one.remember(key, NOW + 132, NOW + 67)),
        Ok(false)
    );
    assert_eq!(db.query("SELECT count(*) FROM gatepass.dpop_replay"), "2");
    // The store's prune deletes the dead rows (jti-2's), not the live one.
    rt.block_on(one.prune(NOW + 100)).unwrap();
    assert_eq!(db.query("SELECT count(*) FROM gatepass.dpop_replay"), "1");
}
