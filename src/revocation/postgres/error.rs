//! PostgreSQL and pool failures as store errors.

use deadpool_postgres::PoolError;

use crate::revocation::store::StoreError;

/// A PostgreSQL failure as a store error. Lost or refused connections, timeouts, a server
/// shutting down or out of resources, serialization failures and deadlocks, refused
/// authentication and a missing database are [`StoreError::Unavailable`]: retry later.
/// Any other error the server reports (an altered table, a value out of range) means the
/// database holds what the store never wrote: [`StoreError::Corrupt`].
pub(super) fn pg_error(error: &tokio_postgres::Error) -> StoreError {
    let Some(code) = error.code() else {
        return StoreError::Unavailable(format!("PostgreSQL: {error}"));
    };
    let class = code.code().get(..2).unwrap_or("");
    let message = error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_owned());
    match class {
        "08" | "53" | "57" | "58" | "40" | "28" | "3D" | "55" => {
            StoreError::Unavailable(format!("PostgreSQL: {message} ({})", code.code()))
        }
        _ => StoreError::Corrupt(format!("PostgreSQL: {message} ({})", code.code())),
    }
}

pub(super) fn pool_error(error: &PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => pg_error(e),
        PoolError::Timeout(_) => {
            StoreError::Unavailable("PostgreSQL: no connection within the timeout".into())
        }
        other => StoreError::Unavailable(format!("PostgreSQL connection pool: {other}")),
    }
}
