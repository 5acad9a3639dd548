//! An application embedding the gatepass auth server over ITS OWN users: its accounts
//! table behind an async [`UserDirectory`] (a map here, a database in real life), roles
//! from that table in every access token, its own settings struct, the server's metrics on
//! a route of its own, and the maintenance task (key reload, pruning) started in one call.
//!
//! Run with: cargo run --example auth_server --features server
//!
//! It listens on 127.0.0.1:3000 (`APP_LISTEN` to change; `APP_KEYSET=keys.json` to sign
//! with a keyset file that is followed for rotations) and prints alice's password on
//! stderr. Then:
//!
//! ```sh
//! curl -s -X POST localhost:3000/auth/login -H 'content-type: application/json' \
//!      -d '{"username":"alice","password":"<printed password>"}'      # → access + refresh token
//! curl -s localhost:3000/hello -H "authorization: Bearer $ACCESS"    # → hello, alice (roles: admin, billing)
//! curl -s -X POST localhost:3000/auth/refresh -H 'content-type: application/json' \
//!      -d "{\"refresh_token\":\"$REFRESH\"}"                             # → a rotated pair
//! curl -s -X POST localhost:3000/auth/logout -H "authorization: Bearer $ACCESS" -i # → 204
//! curl -s localhost:3000/.well-known/jwks.json                        # → what APIs trust
//! curl -s localhost:3000/internal/metrics | grep gatepass_logins      # → logins by outcome
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use gatepass::{
    Algorithm, AuthLayer, AuthServer, Authenticated, Clock as _, CustomClaims, GenerateOptions,
    Keyset, Maintenance, MemoryStore, Metrics, PasswordHashing, PublishedJwks, RotationPolicy,
    ServeLimits, SessionConfig, SessionManager, SystemClock, UserDirectory, UsersError,
    UsersFuture,
};
use tokio::sync::RwLock;

/// The application's own settings (from its config file or environment in real life).
#[derive(Clone, Debug)]
pub(crate) struct AppConfig {
    pub(crate) listen: SocketAddr,
    /// A keyset file to sign with and follow; `None`: a throwaway key generated at start.
    pub(crate) keyset: Option<PathBuf>,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) access_ttl: Duration,
}

impl AppConfig {
    pub(crate) fn from_env() -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self {
            listen: std::env::var("APP_LISTEN")
                .unwrap_or_else(|_| "127.0.0.1:3000".into())
                .parse()?,
            keyset: std::env::var_os("APP_KEYSET").map(PathBuf::from),
            issuer: "http://127.0.0.1:3000".into(),
            audience: "example-api".into(),
            access_ttl: Duration::from_secs(300),
        })
    }
}

/// One row of the application's accounts table.
struct Account {
    /// An argon2 PHC string (`gatepass::hash_password`, or any argon2 library's output).
    password_hash: String,
    roles: Vec<String>,
    disabled: bool,
}

/// The application's accounts, looked up asynchronously as a database would be.
pub(crate) struct Accounts {
    rows: RwLock<HashMap<String, Account>>,
    /// Checked for unknown usernames, so they cost as much as known ones.
    dummy_hash: String,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    pub(crate) fn new() -> Result<Self, UsersError> {
        Ok(Self {
            rows: RwLock::new(HashMap::new()),
            dummy_hash: gatepass::hash_password("not anyone's password")?,
        })
    }

    pub(crate) async fn insert(
        &self,
        username: &str,
        password: &str,
        roles: &[&str],
    ) -> Result<(), UsersError> {
        let account = Account {
            password_hash: gatepass::hash_password(password)?,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            disabled: false,
        };
        self.rows.write().await.insert(username.to_owned(), account);
        Ok(())
    }
}

impl UserDirectory for Accounts {
    fn verify_password<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
        hashing: &'a PasswordHashing,
    ) -> UsersFuture<'a, Option<String>> {
        Box::pin(async move {
            // `SELECT password_hash, disabled FROM accounts WHERE username = $1`
            let (hash, active) = match self.rows.read().await.get(username) {
                Some(account) => (account.password_hash.clone(), !account.disabled),
                None => (self.dummy_hash.clone(), false),
            };
            // argon2 on the server's bounded hashing threads, never on this async task:
            // a burst of logins answers 503 `busy` instead of exhausting memory.
            let matches = hashing.verify(password, &hash).await?;
            Ok((matches && active).then(|| username.to_owned()))
        })
    }

    fn claims<'a>(&'a self, subject: &'a str) -> UsersFuture<'a, CustomClaims> {
        Box::pin(async move {
            // `SELECT role FROM account_roles WHERE username = $1`
            let mut claims = CustomClaims::new();
            if let Some(account) = self.rows.read().await.get(subject) {
                claims.insert("roles".into(), account.roles.clone().into());
            }
            Ok(claims)
        })
    }
}

/// A route of the application's own, protected by the same sessions.
async fn hello(auth: Authenticated) -> String {
    let roles: Vec<&str> = auth
        .custom
        .get("roles")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str())
        .collect();
    format!("hello, {} (roles: {})\n", auth.sub, roles.join(", "))
}

/// The whole application: the auth routes over `accounts`, its own `/hello`, the metrics
/// at `/internal/metrics`; and the maintenance task, for the caller to start.
pub(crate) fn app(
    config: &AppConfig,
    accounts: Arc<Accounts>,
) -> Result<(Router, Maintenance), Box<dyn std::error::Error>> {
    let keyset = match &config.keyset {
        Some(path) => Keyset::load(path)?,
        None => {
            let mut keyset = Keyset::new();
            keyset.generate(
                Algorithm::EdDSA,
                GenerateOptions::default(),
                SystemClock.now(),
            )?;
            keyset
        }
    };
    let sessions = Arc::new(SessionManager::new(
        &keyset,
        Arc::new(MemoryStore::new()),
        SessionConfig::default()
            .issuer(&config.issuer)
            .audience(&config.audience)
            .access_ttl(config.access_ttl),
    )?);
    let policy = RotationPolicy::default();
    let metrics = Metrics::new();
    let (auth, handle) = AuthServer::new(
        sessions.clone(),
        accounts,
        PublishedJwks::new(&keyset, &policy),
    )
    .metrics(metrics.clone())
    .into_server_router();

    // Key reloads (when a keyset file is followed) and pruning; counted in `metrics`.
    let mut maintenance = Maintenance::new(sessions.clone(), handle);
    if let Some(path) = &config.keyset {
        maintenance = maintenance.keyset_file(path, policy);
    }

    let router = Router::new()
        .route("/hello", get(hello))
        .route_layer(AuthLayer::new(sessions.verifier()))
        .route(
            "/internal/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.response() }
            }),
        )
        .merge(auth);
    Ok((router, maintenance))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AppConfig::from_env()?;
    let accounts = Arc::new(Accounts::new()?);
    let mut secret = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| "the system RNG failed")?;
    let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    accounts
        .insert("alice", &password, &["admin", "billing"])
        .await?;
    eprintln!("user: alice  password: {password}");

    let (router, maintenance) = app(&config, accounts)?;
    maintenance.spawn();

    // Deadlines for slow clients, a connection cap, the peer address for the login
    // throttle, and a graceful stop on ctrl-c.
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    gatepass::serve(listener, router, ServeLimits::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
