//! Rows to store types and store types to column values. A value PostgreSQL returns that
//! the store could not have written (a negative time, a missing grace column) is
//! [`StoreError::Corrupt`].

use tokio_postgres::Row;

use crate::clock::UnixTime;
use crate::revocation::client_info::ClientInfo;
use crate::revocation::list::{RevocationSnapshot, SubjectCutoff};
use crate::revocation::store::{GraceRecord, IssuedPair, SessionRecord, StoreError};

/// The largest time or count stored: half of `bigint`, so that `last_used_at +
/// idle_timeout` (the generated `ends_at`) cannot overflow.
const MAX_STORED: i64 = i64::MAX / 2;

/// A time, generation or duration as a column value.
pub(super) fn db(value: u64) -> i64 {
    i64::try_from(value).map_or(MAX_STORED, |v| v.min(MAX_STORED))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected value in PostgreSQL: {what}"))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|_| corrupt(column))
}

fn number(row: &Row, column: &str) -> Result<u64, StoreError> {
    u64::try_from(get::<i64>(row, column)?).map_err(|_| corrupt(column))
}

fn optional_number(row: &Row, column: &str) -> Result<Option<u64>, StoreError> {
    get::<Option<i64>>(row, column)?
        .map(|v| u64::try_from(v).map_err(|_| corrupt(column)))
        .transpose()
}

/// A session row (the schema's session columns) as a record.
pub(super) fn record(sid: &str, row: &Row) -> Result<SessionRecord, StoreError> {
    let grace = match get::<Option<String>>(row, "grace_parent")? {
        None => None,
        Some(parent_jti) => {
            let missing = || corrupt("a grace column");
            Some(GraceRecord {
                parent_jti,
                rotated_at: optional_number(row, "grace_rotated_at")?.ok_or_else(missing)?,
                until: optional_number(row, "grace_until")?.ok_or_else(missing)?,
                successor: IssuedPair::new(
                    get::<Option<String>>(row, "grace_access")?.ok_or_else(missing)?,
                    get::<Option<String>>(row, "grace_refresh")?.ok_or_else(missing)?,
                    optional_number(row, "grace_expires_in")?.ok_or_else(missing)?,
                ),
            })
        }
    };
    Ok(SessionRecord {
        sid: sid.to_owned(),
        sub: get(row, "sub")?,
        gen: number(row, "gen")?,
        refresh_jti: get(row, "refresh_jti")?,
        created_at: number(row, "created_at")?,
        last_used_at: number(row, "last_used_at")?,
        expires_at: number(row, "expires_at")?,
        idle_timeout: number(row, "idle_timeout")?,
        grace,
        client: ClientInfo::from_stored(
            get::<Option<&str>>(row, "user_agent")?,
            get::<Option<&str>>(row, "client_network")?,
        ),
    })
}

/// The grace columns of a record: parent, rotated, until, access, refresh, expires_in.
pub(super) type GraceColumns = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

pub(super) fn grace_columns(grace: Option<&GraceRecord>) -> GraceColumns {
    match grace {
        None => (None, None, None, None, None, None),
        Some(g) => (
            Some(g.parent_jti.clone()),
            Some(db(g.rotated_at)),
            Some(db(g.until)),
            Some(g.successor.access_token.clone()),
            Some(g.successor.refresh_token.clone()),
            Some(db(g.successor.expires_in)),
        ),
    }
}

/// Every live revocation row as a snapshot for the mirror.
pub(super) fn snapshot(rows: &[Row]) -> Result<RevocationSnapshot, StoreError> {
    let mut snapshot = RevocationSnapshot::default();
    for row in rows {
        let kind: String = get(row, "kind")?;
        let id: String = get(row, "id")?;
        let until: Option<UnixTime> = optional_number(row, "until")?;
        match kind.as_str() {
            "t" => snapshot
                .tokens
                .push((id, until.ok_or_else(|| corrupt("a token's prune time"))?)),
            "s" => snapshot
                .sessions
                .push((id, until.ok_or_else(|| corrupt("a session's prune time"))?)),
            "u" => {
                let before = optional_number(row, "before")?
                    .ok_or_else(|| corrupt("a cut-off without its time"))?;
                snapshot
                    .subjects
                    .push((id, SubjectCutoff::new(before, until)));
            }
            _ => return Err(corrupt("a revocation kind")),
        }
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_are_clamped_so_the_generated_end_cannot_overflow() {
        assert_eq!(db(0), 0);
        assert_eq!(db(42), 42);
        assert_eq!(db(u64::MAX), MAX_STORED);
        assert!(db(u64::MAX).checked_add(db(u64::MAX)).is_some());
    }
}
