//! Measurements of the in-process stores, run by hand (docs/DEPLOYMENT.md quotes them):
//!
//! `GATEPASS_BIN=target/release/gatepass cargo test --all-features --test api store_measurements -- --ignored --nocapture --test-threads 1`
//!
//! - `api_me_latency_under_refresh_load`: `GET /api/me` latency of a real
//!   `gatepass serve --store file:` while eight clients refresh in a loop.
//!   `GATEPASS_BIN=/path/to/gatepass` measures another build of the binary;
//!   `GATEPASS_STORE=memory` gives the baseline.
//! - `memory_follows_the_live_sessions_after_prunes`: resident memory of a `MemoryStore`
//!   over six cycles of 100 000 sessions that expire and are pruned.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatepass::{MemoryStore, SessionRecord, SessionStore as _, UsersFile};
use serde_json::{json, Value};

#[cfg(feature = "server")]
use crate::server_support::request;
use crate::support::{Fixture, AUD, ISS};

const PASSWORD: &str = "correct horse battery staple";
const WRITERS: usize = 8;
const READERS: usize = 2;
const RUN: Duration = Duration::from_secs(15);

#[cfg(feature = "server")]
fn post(addr: SocketAddr, path: &str, body: &Value) -> Value {
    let reply = request(
        addr,
        "POST",
        path,
        &["Content-Type: application/json"],
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[cfg(feature = "server")]
#[test]
#[ignore = "a measurement, run by hand"]
fn api_me_latency_under_refresh_load() {
    let fixture = Fixture::new();
    let users = fixture.path("users.json");
    UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
    let store = match std::env::var("GATEPASS_STORE").as_deref() {
        Ok("memory") => "memory".to_owned(),
        _ => format!("file:{}", fixture.path("sessions.journal").display()),
    };
    let bin = crate::support::gatepass_bin();
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--keyset"])
        .arg(&fixture.keyset_path)
        .arg("--users")
        .arg(&users)
        .args(["--iss", ISS, "--aud", AUD, "--store", &store])
        .args(["--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let announced: Value = serde_json::from_str(&line).unwrap();
    let addr: SocketAddr = announced["listening"].as_str().unwrap().parse().unwrap();

    let login = || {
        post(
            addr,
            "/auth/login",
            &json!({"username": "alice", "password": PASSWORD}),
        )
    };
    let sessions: Vec<Value> = (0..WRITERS).map(|_| login()).collect();
    let access = login()["access_token"].as_str().unwrap().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let refreshes = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = sessions
        .into_iter()
        .map(|pair| {
            let (stop, refreshes) = (stop.clone(), refreshes.clone());
            std::thread::spawn(move || {
                let mut token = pair["refresh_token"].as_str().unwrap().to_owned();
                while !stop.load(Ordering::Relaxed) {
                    let next = post(addr, "/auth/refresh", &json!({"refresh_token": token}));
                    token = next["refresh_token"].as_str().unwrap().to_owned();
                    refreshes.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (stop, access) = (stop.clone(), access.clone());
            std::thread::spawn(move || {
                let bearer = format!("Authorization: Bearer {access}");
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let reply = request(addr, "GET", "/api/me", &[&bearer], b"");
                    latencies.push(started.elapsed());
                    assert_eq!(reply.status, 200);
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    let mut latencies: Vec<Duration> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    let at = |percent: usize| latencies[(latencies.len() - 1) * percent / 100];
    println!(
        "store {store:?}, binary {}: {} refreshes/s; GET /api/me n={} p50 {:?} p99 {:?} max {:?}",
        bin.display(),
        refreshes.load(Ordering::Relaxed) / RUN.as_secs(),
        latencies.len(),
        at(50),
        at(99),
        latencies[latencies.len() - 1]
    );
}

/// This process's resident memory in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "a measurement, run by hand"]
fn memory_follows_the_live_sessions_after_prunes() {
    let store = MemoryStore::new();
    // 1000 sessions that stay: the live state.
    for i in 0..1000 {
        let record = SessionRecord::new(
            format!("live-{i:040}"),
            format!("user-{i}"),
            format!("jti-live-{i}"),
            0,
            1 << 40,
            1 << 40,
        );
        crate::support::block_on(store.create_session(record)).unwrap();
    }
    println!("start: {} KiB", rss_kib());
    for cycle in 0..6u64 {
        let start = 1000 * (cycle + 1);
        for i in 0..100_000 {
            let record = SessionRecord::new(
                format!("{cycle}-{i:040}"),
                format!("user-{cycle}-{i}"),
                format!("jti-{cycle}-{i:032}"),
                start,
                100,
                100,
            );
            crate::support::block_on(store.create_session(record)).unwrap();
            crate::support::block_on(
                store.revoke_token(&format!("t-{cycle}-{i:032}"), start + 100),
            )
            .unwrap();
        }
        let full = rss_kib();
        let report = crate::support::block_on(store.prune(start + 100)).unwrap();
        assert_eq!(report.sessions_live, 1000);
        println!(
            "cycle {cycle}: {full} KiB with 100 000 more sessions, {} KiB after the prune",
            rss_kib()
        );
    }
}
