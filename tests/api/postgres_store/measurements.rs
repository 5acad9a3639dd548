//! Measurements run by hand (`#[ignore]`d): propagation delay between nodes.

use super::*;

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `cargo test --all-features --release --test api postgres_measurements -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints numbers for docs/DEPLOYMENT.md, asserts nothing about them"]
fn postgres_measurements() {
    let db = TestDatabase::create();
    let rt = runtime();
    let clock = Arc::new(ManualClock::new(NOW));
    let (a, b) = two_nodes(&rt, &db.url(), &clock);
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
}
