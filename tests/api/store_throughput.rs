//! Throughput of `gatepass serve` on each session store, in one run, by hand (docs/PERFORMANCE.md
//! quotes it):
//!
//! `cargo test --release --all-features --test api -- --ignored --nocapture store_throughput`
//!
//! One server at a time on memory, `file:` (a journal in a temp dir), `redis://` (a test
//! `redis-server` of its own, AOF off) and `postgres://` (a throwaway database on the server
//! at 127.0.0.1:5432, dropped afterwards). Against each, [`CLIENTS`] loopback clients run
//! closed loops (one request per connection, as `server_support::request` sends them) for a
//! fixed time:
//!
//! - logins of a user whose argon2id hash has the default costs (19 MiB, 2 passes): what a
//!   real login costs, bounded by the password check, not the store;
//! - logins of a user whose argon2id hash has the smallest costs (8 KiB, 1 pass), so that
//!   the store's share of a login shows (the server checks a hash with the parameters the
//!   hash names);
//! - refreshes, each client rotating its own session.
//!
//! Login throttling is raised out of the way with `--max-login-attempts` and
//! `--max-login-failures`. Each phase prints requests/s (answers 200 only) and the p50/p99
//! latency of those answers; any other status is counted and printed, and fails the run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher as _;
use gatepass::UsersFile;
use serde_json::{json, Value};

use crate::postgres_store::TestDatabase;
use crate::redis_store::redis_server::RedisServer;
use crate::server_support::{request, Server};
use crate::support::{Fixture, AUD, ISS};

const PASSWORD: &str = "correct horse battery staple";
/// Concurrent loopback clients per phase (the server's password-check pool has one thread
/// per core and a queue of four per thread: on two cores, eight fit without a 503).
const CLIENTS: usize = 8;
/// How long each phase runs (three phases per store, four stores: about a minute).
const PHASE: Duration = Duration::from_secs(5);

/// One phase's figures.
struct Figures {
    ok: u64,
    other: Vec<u16>,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn line(&self, store: &str, phase: &str) -> String {
        let at = |percent: usize| {
            self.latencies
                .get(self.latencies.len().saturating_sub(1) * percent / 100)
                .copied()
                .unwrap_or_default()
        };
        format!(
            "| {store} | {phase} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            self.ok as f64 / self.elapsed.as_secs_f64(),
            at(50).as_secs_f64() * 1e3,
            at(99).as_secs_f64() * 1e3,
            self.ok,
        )
    }
}

/// `CLIENTS` threads each run `step` in a loop for `PHASE`, timing every call; `step`
/// gets the client's own state and returns the HTTP status.
fn drive<S: Send + 'static>(
    states: Vec<S>,
    step: impl Fn(&mut S) -> u16 + Send + Sync + 'static,
) -> Figures {
    let step = Arc::new(step);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(states.len() + 1));
    let clients: Vec<_> = states
        .into_iter()
        .map(|mut state| {
            let (step, stop, start) = (step.clone(), stop.clone(), start.clone());
            std::thread::spawn(move || {
                let (mut ok, mut other, mut latencies) = (0u64, Vec::new(), Vec::new());
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    let status = step(&mut state);
                    if status == 200 {
                        ok += 1;
                        latencies.push(began.elapsed());
                    } else {
                        other.push(status);
                    }
                }
                (ok, other, latencies)
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    std::thread::sleep(PHASE);
    stop.store(true, Ordering::Relaxed);
    let mut figures = Figures {
        ok: 0,
        other: Vec::new(),
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for client in clients {
        let (ok, other, latencies) = client.join().unwrap();
        figures.ok += ok;
        figures.other.extend(other);
        figures.latencies.extend(latencies);
    }
    // The last requests finish after `stop`: count the time they took.
    figures.elapsed = began.elapsed();
    figures.latencies.sort();
    figures
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let reply = request(
        addr,
        "POST",
        path,
        &["Content-Type: application/json"],
        body.to_string().as_bytes(),
    );
    let value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status, value)
}

fn login(addr: SocketAddr, username: &str) -> (u16, Value) {
    post(
        addr,
        "/auth/login",
        &json!({"username": username, "password": PASSWORD}),
    )
}

/// The users file: `alice` with the default argon2id costs, `quick` with the smallest.
fn users_file(fixture: &Fixture) -> String {
    let path = fixture.path("users.json");
    UsersFile::add(&path, "alice", PASSWORD, false).unwrap();
    let params = argon2::Params::new(8, 1, 1, None).unwrap();
    let quick = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_with_salt(PASSWORD.as_bytes(), b"throughput-salt!")
        .unwrap()
        .to_string();
    let mut document: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    document["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"username": "quick", "hash": quick}));
    // Rewriting in place keeps the file's 0600 mode.
    std::fs::write(&path, document.to_string()).unwrap();
    path.display().to_string()
}

fn measure(fixture: &Fixture, users: &str, label: &str, store: &str) -> Vec<String> {
    let keyset = fixture.keyset_path.display().to_string();
    let mut server = Server::start(
        &[
            "--keyset",
            &keyset,
            "--users",
            users,
            "--iss",
            ISS,
            "--aud",
            AUD,
            "--store",
            store,
            "--max-login-attempts",
            "1000000000",
            "--max-login-failures",
            "1000000000",
            "--log-level",
            "warn",
        ],
        fixture.dir.path(),
    );
    let addr = server.addr;
    let mut lines = Vec::new();
    for (phase, username) in [
        ("login (argon2id default)", "alice"),
        ("login (argon2id 8 KiB, 1 pass)", "quick"),
    ] {
        let figures = drive(vec![(); CLIENTS], move |_| login(addr, username).0);
        lines.push(figures.line(label, phase));
        assert!(
            figures.other.is_empty(),
            "{label} {phase}: {:?}",
            figures.other
        );
    }
    let sessions: Vec<String> = (0..CLIENTS)
        .map(|_| {
            let (status, pair) = login(addr, "quick");
            assert_eq!(status, 200, "{pair}");
            pair["refresh_token"].as_str().unwrap().to_owned()
        })
        .collect();
    let figures = drive(sessions, move |token: &mut String| {
        let (status, pair) = post(addr, "/auth/refresh", &json!({"refresh_token": token}));
        if let Some(next) = pair["refresh_token"].as_str() {
            *token = next.to_owned();
        }
        status
    });
    lines.push(figures.line(label, "refresh"));
    assert!(
        figures.other.is_empty(),
        "{label} refresh: {:?}",
        figures.other
    );
    for line in &lines {
        println!("{line}");
    }
    server.stop();
    lines
}

#[test]
#[ignore = "a measurement, run by hand"]
fn store_throughput_logins_and_refreshes_per_store() {
    let fixture = Fixture::new();
    let users = users_file(&fixture);
    let journal = format!("file:{}", fixture.path("sessions.journal").display());
    let redis = RedisServer::start(false);
    let database = TestDatabase::create();
    println!(
        "{CLIENTS} clients, {} s per phase, binary {}",
        PHASE.as_secs(),
        crate::support::gatepass_bin().display()
    );
    println!("| store | operation | requests/s | p50 | p99 | answered |");
    println!("|---|---|---|---|---|---|");
    let mut table = Vec::new();
    for (label, store) in [
        ("memory", "memory".to_owned()),
        ("file", journal),
        ("redis", redis.url()),
        ("postgres", database.url()),
    ] {
        table.extend(measure(&fixture, &users, label, &store));
    }
    println!("\nall stores, one run:");
    for line in table {
        println!("{line}");
    }
}
