//! The connection URL: parsed without echoing it, TLS decided, the store's timeouts set.

use tokio_postgres::config::{Host, SslMode};

use super::options::PostgresOptions;
use crate::revocation::store::StoreError;

/// `postgres://host:port/db`, never the credentials.
pub(super) fn endpoint(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    let tls = if config.get_ssl_mode() == SslMode::Require {
        "?sslmode=require"
    } else {
        ""
    };
    format!("postgres://{host}:{port}/{db}{tls}")
}

/// The connection settings of `url`, with the store's timeouts.
pub(super) fn config(
    url: &str,
    options: &PostgresOptions,
) -> Result<tokio_postgres::Config, StoreError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::Config(
            "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
        ));
    }
    // The parser's messages may quote the URL, password included: say only what is wrong.
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
        StoreError::Config(
            "invalid PostgreSQL URL (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|require])".into(),
        )
    })?;
    // Opportunistic TLS (`prefer`, the driver's default) is either unverified, so no
    // protection against an active attacker, or verified, so it breaks on the self-signed
    // certificates many servers ship with: TLS is on when asked for, and then verified.
    if config.get_ssl_mode() == SslMode::Prefer {
        config.ssl_mode(SslMode::Disable);
    }
    if config.get_application_name().is_none() {
        config.application_name("gatepass");
    }
    config.connect_timeout(options.connect_timeout);
    config.keepalives(true);
    config.keepalives_idle(std::time::Duration::from_secs(30));
    Ok(config)
}
