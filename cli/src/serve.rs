//! `gatepass serve`: the auth server of docs/REFERENCE.md §2.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use gatepass::{
    Algorithm, AuthServer, Clock as _, CookieMode, DpopConfig, DpopMode, FileStore,
    GenerateOptions, Keyset, Maintenance, MemoryReplayCache, MemoryStore, Metrics, PublishedJwks,
    ReplayCache, RotationPolicy, SessionConfig, SessionManager, SessionStore, SystemClock,
    UserDirectory, UsersFile,
};

use super::config;
use super::output::{print_json, CliResult, Failure};

/// Log format of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `gatepass serve`: every setting of the server, declared once. Each flag is also a
/// `GATEPASS_*` environment variable and a key of the `--config` file (see the `config`
/// module), so its doc comment is the help of all three.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// A TOML file of settings: keys named like these flags with - as _ (store = "...",
    /// access_ttl = 300, trusted_proxy = ["10.0.0.0/8"]). Flags beat GATEPASS_* environment
    /// variables, which beat the file, which beats the defaults. Also GATEPASS_CONFIG.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective settings (passwords masked) and where each came from, then exit.
    #[arg(long)]
    print_config: bool,
    /// Address to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The keyset to sign and verify with (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    keyset: Option<PathBuf>,
    /// The users file (`gatepass users add`).
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// Where sessions and revocations live: memory, file:PATH, redis://HOST:PORT[/DB], or
    /// postgres://USER@HOST:PORT/DB (add ?sslmode=require for TLS). A URL with a password
    /// belongs in GATEPASS_STORE or the --config file, not here (the command line is
    /// visible to every local user).
    #[arg(long, value_name = "URL", default_value = "memory")]
    store: String,
    /// A throwaway in-memory keyset and a `demo` user whose password is printed once.
    #[arg(long)]
    demo: bool,
    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    access_ttl: u64,
    /// A session without a refresh for this long ends.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    idle_timeout: u64,
    /// A session ends this long after login, whatever happens.
    #[arg(long, value_name = "SECS", default_value_t = 43200)]
    absolute_timeout: u64,
    /// How long the direct parent of the current refresh token gets the same answer.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    grace: u64,
    /// `iss` of every token.
    #[arg(long, value_name = "ISS", default_value = "gatepass")]
    iss: String,
    /// `aud` of every token.
    #[arg(long, value_name = "AUD", default_value = "gatepass")]
    aud: String,
    /// Clock-skew leeway for the server's own tokens.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    leeway: u64,
    /// Cookie mode: the refresh token in a __Host- cookie instead of the JSON body.
    #[arg(long)]
    cookies: bool,
    /// In cookie mode, an origin allowed to refresh with the cookie (default: same origin).
    #[arg(long = "allowed-origin", value_name = "ORIGIN", requires = "cookies")]
    allowed_origins: Vec<String>,
    /// Failed logins allowed per username before throttling (then one per minute).
    #[arg(long, value_name = "N", default_value_t = 5)]
    max_login_failures: u32,
    /// Login attempts allowed per client address before throttling (then one per 3 s).
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_login_attempts: u32,
    /// Seconds a client may take to send a request head; a connection still sending one,
    /// or idle between requests, is closed after this (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    header_timeout: u64,
    /// Seconds a request may take once its head has arrived (body and answer); beyond, it
    /// gets 408 and the connection is closed (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    request_timeout: u64,
    /// Open connections allowed at once; more wait in the listen backlog until one closes.
    /// Keep it below the file-descriptor limit (ulimit -n).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// A reverse proxy network (CIDR, IPv4 or IPv6) whose X-Forwarded-For or Forwarded
    /// header names the client for login throttling; repeatable.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<gatepass::IpCidr>,
    /// Threads checking passwords (default and maximum: one per core).
    #[arg(long, value_name = "N")]
    hashing_threads: Option<usize>,
    /// Password checks that may wait for a thread before logins answer 503 (default: 4
    /// per thread).
    #[arg(long, value_name = "N")]
    hashing_queue: Option<usize>,
    /// Log lines as text or JSON (on stderr).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// The most detailed log level shown.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// Serve Prometheus metrics at GET /metrics on the main listener.
    #[arg(long)]
    metrics: bool,
    /// Serve GET /metrics on this address instead, a listener of its own (then not on
    /// --listen); port 0: any free port.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// DPoP (RFC 9449) sender-constrained tokens: `required` (login and refresh need a
    /// DPoP proof and issue tokens bound to its key; protected routes take only
    /// `Authorization: DPoP`) or `optional` (without a proof, plain Bearer tokens).
    #[arg(long, value_name = "MODE")]
    dpop: Option<DpopArg>,
    /// The URL clients reach this server at, scheme://host or scheme://host:port (behind a
    /// proxy: the proxy's): what DPoP proofs' htu must start with. Default:
    /// http://LISTEN-ADDRESS.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

/// `--dpop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DpopArg {
    /// Login and refresh need a proof; only DPoP-bound tokens are accepted.
    Required,
    /// Without a proof, plain Bearer tokens.
    Optional,
}

impl ServeArgs {
    fn login_limits(&self) -> gatepass::LoginLimits {
        gatepass::LoginLimits::new(
            gatepass::Limit::new(self.max_login_failures, 60),
            gatepass::Limit::new(self.max_login_attempts, 3),
        )
    }

    fn limits(&self) -> gatepass::ServeLimits {
        gatepass::ServeLimits::default()
            .header_timeout(Duration::from_secs(self.header_timeout))
            .request_timeout(Duration::from_secs(self.request_timeout))
            .max_connections(usize::try_from(self.max_connections).unwrap_or(usize::MAX))
    }

    /// `--hashing-threads` and `--hashing-queue`, each defaulting on its own.
    fn hashing(&self) -> gatepass::HashingLimits {
        let limits = self.hashing_threads.map_or_else(
            gatepass::HashingLimits::default,
            gatepass::HashingLimits::with_threads,
        );
        match self.hashing_queue {
            Some(queue) => gatepass::HashingLimits::new(limits.threads, queue),
            None => limits,
        }
    }
}

/// Run `gatepass serve`. `flags` is the command line alone; the server runs on those flags
/// layered over the `GATEPASS_*` environment and the `--config` file, which needs to know
/// which flags were typed rather than defaulted, so the layering reads the command line
/// again.
pub(crate) fn run(flags: ServeArgs) -> CliResult {
    let tail: Vec<OsString> = std::env::args_os()
        .skip(1)
        .skip_while(|arg| arg != "serve")
        .skip(1)
        .collect();
    let resolved = config::resolve::<ServeArgs>(&tail)?;
    // Neither layered nor layerable: only the command line asks for the settings.
    if flags.print_config {
        return print_json(&resolved.to_json(), true);
    }
    serve(resolved.settings)
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
        config::mask_secrets(url)
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
/// which could carry a token), status, duration. Never a header or a body. A routed path
/// is logged as its route (`/auth/sessions/{id}`), so a session handle never reaches the
/// log.
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
    let path = match request.extensions().get::<MatchedPath>() {
        Some(route) => route.as_str().to_owned(),
        None => request.uri().path().to_owned(),
    };
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

fn serve(args: ServeArgs) -> CliResult {
    init_logs(args.log_format, args.log_level);
    if args.leeway > gatepass::MAX_LEEWAY.as_secs() {
        return Err(Failure::usage(format!(
            "--leeway {} is above the maximum of 300 seconds",
            args.leeway
        )));
    }
    let runtime = runtime()?;
    runtime.block_on(run_server(args))
}

async fn run_server(args: ServeArgs) -> CliResult {
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
    .login_limits(args.login_limits())
    .trusted_proxies(args.trusted_proxies.iter().copied())
    .password_hashing(args.hashing());
    let metrics = Metrics::new();
    router = router.metrics(metrics.clone());
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
    let limits = args.limits();
    let (mut app, handle) = router.into_server_router();
    // On the main listener only when no listener of its own is asked for: that one is for
    // an address only the scraper reaches.
    if args.metrics && args.metrics_listen.is_none() {
        app = app.merge(metrics.router());
    }
    let app = app.layer(axum::middleware::from_fn(log_requests));
    let metrics_listener = match args.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure::usage(format!("cannot listen on {addr}: {e}")))?,
        ),
        None => None,
    };

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

    let mut announce = serde_json::Map::new();
    announce.insert("listening".into(), addr.to_string().into());
    if let Some(listener) = metrics_listener {
        let metrics_addr = listener
            .local_addr()
            .map_err(|e| Failure::usage(e.to_string()))?;
        announce.insert("metrics".into(), metrics_addr.to_string().into());
        tracing::info!(event = "metrics_listening", addr = %metrics_addr);
        tokio::spawn(gatepass::serve(
            listener,
            metrics.router(),
            limits,
            shutdown_signal(),
        ));
    }
    print_json(&serde_json::Value::Object(announce), false)?;
    tracing::info!(event = "listening", %addr, store = %store_kind(&args.store), cookies = args.cookies,
        dpop = args.dpop.map_or("off", |mode| match mode { DpopArg::Required => "required", DpopArg::Optional => "optional" }),
        max_connections = limits.max_connections);
    if let Some(password) = demo_password {
        // Printed once, on purpose: the demo user's password exists nowhere else.
        eprintln!("demo user: demo");
        eprintln!("demo password: {password}");
        eprintln!(
            "try: curl -s -X POST http://{addr}/auth/login -H 'content-type: application/json' -d '{{\"username\":\"demo\",\"password\":\"{password}\"}}'"
        );
    }
    gatepass::serve(listener, app, limits, shutdown_signal()).await;
    Ok(())
}

fn store_kind(url: &str) -> &str {
    url.split(':').next().unwrap_or("memory")
}
