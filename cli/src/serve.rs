//! `gatepass serve`: the auth server of docs/REFERENCE.md §2.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use gatepass::{
    Algorithm, AuthServer, Clock as _, CookieMode, DpopConfig, DpopMode, FileStore,
    GenerateOptions, Keyset, Maintenance, MemoryReplayCache, MemoryStore, PublishedJwks,
    ReplayCache, RotationPolicy, SessionConfig, SessionManager, SessionStore, SystemClock,
    UserDirectory, UsersFile,
};

use super::output::{print_json, CliResult, Failure};

/// Log format of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--dpop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DpopArg {
    /// Login and refresh need a proof; only DPoP-bound tokens are accepted.
    Required,
    /// Without a proof, plain Bearer tokens.
    Optional,
}

/// Everything `gatepass serve` was told.
#[derive(Debug)]
pub(crate) struct ServeArgs {
    pub(crate) listen: SocketAddr,
    pub(crate) keyset: Option<PathBuf>,
    pub(crate) users: Option<PathBuf>,
    pub(crate) store: String,
    pub(crate) demo: bool,
    pub(crate) access_ttl: u64,
    pub(crate) idle_timeout: u64,
    pub(crate) absolute_timeout: u64,
    pub(crate) grace: u64,
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) leeway: u64,
    pub(crate) cookies: bool,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) login_limits: gatepass::LoginLimits,
    pub(crate) limits: gatepass::ServeLimits,
    pub(crate) trusted_proxies: Vec<gatepass::IpCidr>,
    pub(crate) hashing: gatepass::HashingLimits,
    pub(crate) log_format: LogFormat,
    pub(crate) log_level: tracing::Level,
    pub(crate) dpop: Option<DpopArg>,
    pub(crate) public_url: Option<String>,
}

fn init_logs(format: LogFormat, level: tracing::Level) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(true);
    // A second initialisation (tests embedding the CLI) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

fn random_password() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Failure::usage("the system random number generator failed"))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        bytes,
    ))
}

/// The most DPoP proofs a single node remembers at once (each is held for about two
/// minutes): far above what one node verifies, and a bound on its memory.
const REPLAY_CAPACITY: usize = 1_000_000;

/// The session store, and the DPoP replay cache that goes with it: the store itself when
/// it is shared (so a proof replayed to another node is refused), else this process's.
type Stores = (Arc<dyn SessionStore>, Arc<dyn ReplayCache>);

fn local_replay() -> Arc<dyn ReplayCache> {
    Arc::new(MemoryReplayCache::new(REPLAY_CAPACITY))
}

async fn open_store(url: &str) -> Result<Stores, Failure> {
    if url == "memory" {
        return Ok((Arc::new(MemoryStore::new()), local_replay()));
    }
    if let Some(path) = url.strip_prefix("file:") {
        let store =
            FileStore::open(path).map_err(|e| Failure::usage(format!("--store {url}: {e}")))?;
        return Ok((Arc::new(store), local_replay()));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        // Writes fail closed when Redis is unreachable; verification answers from the local
        // mirror for its staleness bound, then fails closed too (503 + Retry-After).
        let store = gatepass::RedisStore::connect(url, gatepass::RedisOptions::default())
            .await
            .map_err(|e| Failure::usage(format!("--store: {e}")))?;
        let store = Arc::new(store);
        return Ok((store.clone(), store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // As Redis: writes fail closed, verification reads the local mirror.
        let store = gatepass::PostgresStore::connect(url, gatepass::PostgresOptions::default())
            .await
            .map_err(|e| Failure::usage(format!("--store: {e}")))?;
        let store = Arc::new(store);
        return Ok((store.clone(), store));
    }
    Err(Failure::usage(format!(
        "--store {:?}: expected memory, file:PATH, redis://HOST:PORT or postgres://USER@HOST:PORT/DB",
        super::config::mask_secrets(url)
    )))
}

/// Keys and users: from files, or generated for `--demo`.
struct Identity {
    keyset: Keyset,
    users: Arc<UsersFile>,
    demo_password: Option<String>,
}

fn identity(args: &ServeArgs) -> Result<Identity, Failure> {
    let keyset = match (&args.keyset, args.demo) {
        (Some(path), _) => Keyset::load(path)?,
        (None, true) => {
            let mut keyset = Keyset::new();
            keyset.generate(
                Algorithm::EdDSA,
                GenerateOptions::default(),
                SystemClock.now(),
            )?;
            keyset
        }
        (None, false) => {
            return Err(Failure::usage(
                "give --keyset FILE (or --demo for a throwaway keyset)",
            ))
        }
    };
    let (users, demo_password): (Arc<UsersFile>, _) = match (&args.users, args.demo) {
        (Some(path), _) => (
            Arc::new(UsersFile::load(path).map_err(Failure::usage)?),
            None,
        ),
        (None, true) => {
            let password = random_password()?;
            let users =
                UsersFile::in_memory([("demo", password.as_str())]).map_err(Failure::usage)?;
            (Arc::new(users), Some(password))
        }
        (None, false) => {
            tracing::warn!(
                "no --users file: nobody can log in (tokens can still be refreshed and verified)"
            );
            (
                Arc::new(UsersFile::in_memory([]).map_err(Failure::usage)?),
                None,
            )
        }
    };
    Ok(Identity {
        keyset,
        users,
        demo_password,
    })
}

/// Request ids and one access-log event per request: method, path (never the query,
/// which could carry a token), status, duration. Never a header or a body.
async fn log_requests(mut request: Request, next: Next) -> Response {
    let incoming = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned);
    let id = incoming.unwrap_or_else(|| random_password().unwrap_or_default());
    if let Ok(value) = HeaderValue::try_from(id.as_str()) {
        request.headers_mut().insert("x-request-id", value);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    tracing::info!(target: "gatepass::access", request_id = %id, %method, %path, status,
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    if let Ok(value) = HeaderValue::try_from(id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn serve(args: ServeArgs) -> CliResult {
    init_logs(args.log_format, args.log_level);
    if args.leeway > gatepass::MAX_LEEWAY.as_secs() {
        return Err(Failure::usage(format!(
            "--leeway {} is above the maximum of 300 seconds",
            args.leeway
        )));
    }
    let runtime = runtime()?;
    runtime.block_on(run(args))
}

async fn run(args: ServeArgs) -> CliResult {
    let Identity {
        keyset,
        users,
        demo_password,
    } = identity(&args)?;
    let (store, replay) = open_store(&args.store).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let config = SessionConfig::default()
        .issuer(&args.iss)
        .audience(&args.aud)
        .access_ttl(Duration::from_secs(args.access_ttl))
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .absolute_timeout(Duration::from_secs(args.absolute_timeout))
        .grace(Duration::from_secs(args.grace))
        .leeway(Duration::from_secs(args.leeway));
    let sessions = Arc::new(SessionManager::new(&keyset, store, config).map_err(Failure::usage)?);
    let policy = RotationPolicy::default();
    let credentials: Arc<dyn UserDirectory> = users.clone();
    let mut router = AuthServer::new(
        sessions.clone(),
        credentials,
        PublishedJwks::new(&keyset, &policy),
    )
    .login_limits(args.login_limits)
    .trusted_proxies(args.trusted_proxies.iter().copied())
    .password_hashing(args.hashing);
    if args.cookies {
        let mut mode = CookieMode::new().map_err(Failure::usage)?;
        for origin in &args.allowed_origins {
            mode = mode
                .allow_origin(origin)
                .map_err(|e| Failure::usage(format!("--allowed-origin {origin:?}: {e}")))?;
        }
        router = router.cookie_mode(mode);
    }
    if let Some(mode) = args.dpop {
        let mode = match mode {
            DpopArg::Required => DpopMode::Required,
            DpopArg::Optional => DpopMode::Optional,
        };
        // Never the Host header: a client could name any host in it.
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let dpop = DpopConfig::new(mode, &public_url, replay)
            .map_err(|e| Failure::usage(format!("--public-url {public_url:?}: {e}")))?;
        router = router.dpop(dpop);
    }
    let (app, handle) = router.into_server_router();
    let app = app.layer(axum::middleware::from_fn(log_requests));

    if !sessions.can_sign() {
        tracing::error!(
            event = "no_signing_key",
            "the keyset has no active signing key: logins and refreshes answer 503 until one is activated"
        );
    }
    // Key reloads (a revoked key stops verifying within seconds) and pruning.
    // Users file reloads (`gatepass users ...` on a running server) likewise.
    let mut maintenance = Maintenance::new(sessions, handle).users_file(users);
    if let Some(path) = &args.keyset {
        maintenance = maintenance.keyset_file(path, policy);
    }
    maintenance.spawn();

    print_json(&serde_json::json!({ "listening": addr.to_string() }), false)?;
    tracing::info!(event = "listening", %addr, store = %store_kind(&args.store), cookies = args.cookies,
        dpop = args.dpop.map_or("off", |mode| match mode { DpopArg::Required => "required", DpopArg::Optional => "optional" }),
        max_connections = args.limits.max_connections);
    if let Some(password) = demo_password {
        // Printed once, on purpose: the demo user's password exists nowhere else.
        eprintln!("demo user: demo");
        eprintln!("demo password: {password}");
        eprintln!(
            "try: curl -s -X POST http://{addr}/auth/login -H 'content-type: application/json' -d '{{\"username\":\"demo\",\"password\":\"{password}\"}}'"
        );
    }
    gatepass::serve(listener, app, args.limits, shutdown_signal()).await;
    Ok(())
}

/// `--hashing-threads` and `--hashing-queue`, each defaulting on its own.
pub(crate) fn hashing_limits(
    threads: Option<usize>,
    queue: Option<usize>,
) -> gatepass::HashingLimits {
    let limits = threads.map_or_else(
        gatepass::HashingLimits::default,
        gatepass::HashingLimits::with_threads,
    );
    match queue {
        Some(queue) => gatepass::HashingLimits::new(limits.threads, queue),
        None => limits,
    }
}

fn store_kind(url: &str) -> &str {
    url.split(':').next().unwrap_or("memory")
}
