//! Measurements run by hand (`#[ignore]`d; docs/DEPLOYMENT.md quotes them): reseed time,
//! propagation delay and bytes per entry.

use super::*;

/// How long after Redis comes back (empty) the nodes' revocations are back in it.
/// `cargo test --all-features --test api reseed_measurements -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints how long a re-seed takes, asserts only that it happens"]
fn reseed_measurements() {
    for n in [25_usize, 10_000] {
        let mut server = RedisServer::start(false);
        let rt = runtime();
        let clock = Arc::new(ManualClock::new(NOW));
        let a = connect(&rt, &server.url(), options(&clock, "m:"));
        for i in 0..n {
            match i % 3 {
                0 => {
                    block_on(a.revoke_token(&format!("{i:08x}-1111-4000-8000-{i:012x}"), NOW + 600))
                }
                1 => block_on(a.revoke_session(&format!("{i:0>43}"), NOW + 600, EndReason::Logout))
                    .map(drop),
                _ => block_on(a.revoke_subject(
                    &format!("user-{i:010}"),
                    SubjectCutoff::new(NOW, Some(NOW + 600)),
                    NOW + 600,
                ))
                .map(drop),
            }
            .unwrap();
        }
        server.restart();
        let back = Instant::now();
        let mut reseeding_seen = None;
        while a.readiness() != StoreReadiness::Ready {
            if reseeding_seen.is_none() && a.readiness() == StoreReadiness::Reseeding {
                reseeding_seen = Some(back.elapsed());
            }
            assert!(back.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_micros(200));
        }
        let done = back.elapsed();
        let mut con = server.connection();
        let total =
            zcard(&mut con, "m:r:jti") + zcard(&mut con, "m:r:sid") + zcard(&mut con, "m:r:sub");
        assert_eq!(usize::try_from(total).unwrap(), n);
        println!(
            "{n} revocations: Redis answering again -> re-seed started {:?} (reconnect backoff 20-200 ms), -> done {:?} (writing back: {:?})",
            reseeding_seen,
            done,
            reseeding_seen.map(|seen| done - seen)
        );
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `cargo test --all-features --test api redis_measurements -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints numbers for docs/DEPLOYMENT.md, asserts nothing about them"]
fn redis_measurements() {
    let server = RedisServer::start(false);
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &server.url(), &clock);

    // Propagation: a logout on A until B's mirror enforces it.
    let mut from_call = Vec::new();
    let mut from_ack = Vec::new();
    for i in 0..200 {
        let sid = format!("{i:032}");
        let start = Instant::now();
        block_on(a.revoke_session(&sid, NOW + 600, EndReason::Logout)).unwrap();
        let acked = Instant::now();
        while revoked(&*b, "j", Some(&sid), "u").is_none() {
            std::hint::spin_loop();
        }
        from_call.push(start.elapsed());
        from_ack.push(acked.elapsed());
    }
    from_call.sort();
    from_ack.sort();
    println!(
        "propagation A->B over 200 logouts: from the call p50 {:?} p99 {:?} max {:?}; from A's acknowledgement p50 {:?} p99 {:?}",
        percentile(&from_call, 50),
        percentile(&from_call, 99),
        from_call[from_call.len() - 1],
        percentile(&from_ack, 50),
        percentile(&from_ack, 99),
    );

    // Bytes of one entry as Redis counts them (MEMORY USAGE), from a real login and a
    // refresh with a grace window...
    let config = SessionConfig::default()
        .clock(clock.clone())
        .grace(Duration::from_secs(10));
    let sessions = SessionManager::new(&keyset(), a.clone(), config).unwrap();
    let pair = block_on(sessions.login("user-0001234567", Default::default())).unwrap();
    let mut con = server.connection();
    let usage = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query::<Option<i64>>(con)
            .unwrap()
            .unwrap_or(0)
    };
    let used = |con: &mut redis::Connection| -> i64 {
        let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let session_key = format!("shared:s:{}", pair.sid);
    println!(
        "MEMORY USAGE: session hash {} B, subject index with 1 session {} B (tokens: access {} B, refresh {} B)",
        usage(&mut con, &session_key),
        usage(&mut con, "shared:u:user-0001234567"),
        pair.access_token.len(),
        pair.refresh_token.len()
    );
    block_on(sessions.refresh(&pair.refresh_token)).unwrap();
    println!(
        "MEMORY USAGE after a refresh with grace: session hash {} B, grace entry {} B",
        usage(&mut con, &session_key),
        usage(&mut con, &format!("shared:g:{}", pair.sid))
    );

    // ...and the growth of Redis's whole memory per entry (keys, TTL entries, dict
    // overhead included), over many entries shaped like real ones.
    let n = 20_000;
    let start = used(&mut con);
    for i in 0..n {
        let record = SessionRecord::new(
            format!("{i:0>32}"),
            format!("user-{i:010}"),
            format!("{i:08x}-0000-4000-8000-{i:012x}"),
            NOW,
            12 * 3600,
            1800,
        );
        block_on(a.create_session(record)).unwrap();
    }
    let sessions_done = used(&mut con);
    for i in 0..n {
        block_on(a.revoke_session(&format!("x{i:0>31}"), NOW + 600, EndReason::Logout)).unwrap();
    }
    let sids_done = used(&mut con);
    for i in 0..n {
        let jti = format!("{i:08x}-1111-4000-8000-{i:012x}");
        block_on(a.revoke_token(&jti, NOW + 600)).unwrap();
    }
    let jtis_done = used(&mut con);
    for i in 0..n {
        let record = SessionRecord::new(
            format!("y{i:0>31}"),
            format!("user-{i:010}"),
            format!("{i:08x}-2222-4000-8000-{i:012x}"),
            NOW,
            12 * 3600,
            1800,
        );
        block_on(a.create_session(record)).unwrap();
    }
    let seconds_done = used(&mut con);
    for i in 0..n {
        let cutoff = SubjectCutoff::new(NOW, Some(NOW + 600));
        block_on(a.revoke_subject(&format!("nobody-{i:010}"), cutoff, NOW + 600)).unwrap();
    }
    let cutoffs_done = used(&mut con);
    println!(
        "used_memory per entry over {n}: session (one per subject, with its index) {} B, a second session of a subject {} B, revoked sid {} B, revoked jti {} B, subject cut-off {} B",
        (sessions_done - start) / n,
        (seconds_done - jtis_done) / n,
        (sids_done - sessions_done) / n,
        (jtis_done - sids_done) / n,
        (cutoffs_done - seconds_done) / n,
    );
    println!(
        "MEMORY USAGE per entry of the sets: r:sid {} B, r:jti {} B",
        usage(&mut con, "shared:r:sid") / n,
        usage(&mut con, "shared:r:jti") / n
    );
}
