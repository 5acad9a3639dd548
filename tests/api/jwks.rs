//! The remote JWKS client against a real HTTP server on a loopback port that the test can
//! change, slow down, break and count requests on. The client's cache runs on a manual
//! clock, so minutes and days pass without sleeping; only the timeout tests wait for real.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatepass::{
    Algorithm, FetchError, GenerateOptions, Issuer, JwksClient, JwksClientError, KeyRejected,
    KeySelector, KeyState, Keyset, ManualClock, PublishedJwks, RotationPolicy, Verifier,
    VerifyError,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

/// What the test server answers.
#[derive(Clone, Debug)]
enum Answer {
    Jwks {
        body: Vec<u8>,
        cache_control: Option<String>,
    },
    Status(u16),
    Garbage,
    /// A 200 streaming this many bytes, without Content-Length.
    Oversize(usize),
}

struct ServerState {
    answer: Mutex<Answer>,
    delay: Mutex<Duration>,
    requests: AtomicUsize,
}

struct JwksServer {
    url: String,
    state: Arc<ServerState>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl JwksServer {
    async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let state = Arc::new(ServerState {
            answer: Mutex::new(answer),
            delay: Mutex::new(Duration::ZERO),
            requests: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(socket, Arc::clone(&shared)));
            }
        });
        Self {
            url,
            state,
            task: Some(task),
        }
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// Stop listening: later connections are refused.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

async fn serve(mut socket: TcpStream, state: Arc<ServerState>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let answer = state.answer.lock().unwrap().clone();
    let head = |status: &str, extra: &str, len: Option<usize>| {
        let len = len.map_or(String::new(), |l| format!("Content-Length: {l}\r\n"));
        format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}{len}Connection: close\r\n\r\n")
    };
    let out: Vec<u8> = match answer {
        Answer::Jwks {
            body,
            cache_control,
        } => {
            let cc = cache_control.map_or(String::new(), |v| format!("Cache-Control: {v}\r\n"));
            let mut out = head("200 OK", &cc, Some(body.len())).into_bytes();
            out.extend_from_slice(&body);
            out
        }
        Answer::Status(code) => head(&format!("{code} Nope"), "", Some(0)).into_bytes(),
        Answer::Garbage => {
            let body = b"<html>this is not a JWK Set";
            let mut out = head("200 OK", "", Some(body.len())).into_bytes();
            out.extend_from_slice(body);
            out
        }
        Answer::Oversize(len) => {
            let mut out = head("200 OK", "", None).into_bytes();
            out.extend(std::iter::repeat_n(b' ', len));
            out
        }
    };
    let _ = socket.write_all(&out).await;
    let _ = socket.shutdown().await;
}

/// The JWKS of `keyset` as served, with the policy's Cache-Control.
fn published(keyset: &Keyset) -> Answer {
    let published = PublishedJwks::new(keyset, &RotationPolicy::default());
    Answer::Jwks {
        body: published.to_json(),
        cache_control: Some(published.cache_control()),
    }
}

fn jwks_answer(body: Value, cache_control: Option<&str>) -> Answer {
    Answer::Jwks {
        body: body.to_string().into_bytes(),
        cache_control: cache_control.map(str::to_owned),
    }
}

fn eddsa_keyset(keys: usize) -> (Keyset, Vec<String>) {
    let mut keyset = Keyset::new();
    let kids = (0..keys)
        .map(|_| {
            keyset
                .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW - 10)
                .unwrap()
        })
        .collect();
    (keyset, kids)
}

/// An access token signed by `kid` (whatever its state), valid at [`NOW`].
fn token_by(keyset: &Keyset, kid: &str) -> String {
    let key = keyset.get(kid).unwrap().key().clone();
    Issuer::new(key, ISS, AUD)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .access_token("alice")
        .issue()
        .unwrap()
        .token
}

/// A well-formed token naming `kid`; its signature never gets looked at because no key
/// with that kid exists.
fn token_with_unknown_kid(kid: &str) -> String {
    let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#);
    format!(
        "{}.{}.{}",
        b64(header),
        b64(claims_with(&[])),
        b64([7u8; 64])
    )
}

fn client(server: &JwksServer, clock: &Arc<ManualClock>) -> JwksClient {
    JwksClient::builder(&server.url)
        .clock(clock.clone())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

fn verifier(keys: &JwksClient) -> Verifier {
    Verifier::builder(keys.clone(), ISS, AUD)
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap()
}

fn local_verifier(keyset: &Keyset) -> Verifier {
    Verifier::builder(keyset.verification_keys(), ISS, AUD)
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap()
}

/// Move the client's clock past the set's freshness, let the lookup start the refresh,
/// and wait for it.
async fn expire_and_refresh(jwks: &JwksClient, clock: &ManualClock, verifier: &Verifier) {
    let fresh_until = jwks.status().fresh_until.unwrap();
    clock.set(fresh_until);
    let _ = verifier.verify_access(&token_with_unknown_kid("tick"));
    jwks.settled().await;
}

#[path = "jwks_public_only.rs"]
mod public_only;

#[path = "jwks/failures.rs"]
mod failures;
#[path = "jwks/fetching.rs"]
mod fetching;
#[path = "jwks/verification.rs"]
mod verification;

/// The client's events, from the binary's one capturing subscriber. Lines carry the
/// server URL, so concurrent tests tell theirs apart.
mod logs {
    pub use crate::log_capture::{install, matching};
}
