//! Turning Redis replies into store types. Anything unexpected is
//! [`StoreError::Corrupt`]: someone else wrote under our prefix, or a bug.

use std::collections::HashMap;

use redis::Value;

use crate::clock::UnixTime;
use crate::revocation::client_info::ClientInfo;
use crate::revocation::list::{RevocationSnapshot, SubjectCutoff};
use crate::revocation::mirror::parse_until;
use crate::revocation::store::{
    ConsumeOutcome, EndReason, GraceRecord, IssuedPair, SessionRecord, StoreError,
};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected reply from Redis: {what}"))
}

fn text(value: Value) -> Result<String, StoreError> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8")),
        Value::SimpleString(text) => Ok(text),
        _ => Err(corrupt("not a string")),
    }
}

fn array(value: Value) -> Result<Vec<Value>, StoreError> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        _ => Err(corrupt("not an array")),
    }
}

fn number(text: &str, what: &str) -> Result<u64, StoreError> {
    text.parse().map_err(|_| corrupt(what))
}

/// An array of strings (e.g. the sids a logout-all ended).
pub(super) fn strings(value: Value) -> Result<Vec<String>, StoreError> {
    array(value)?.into_iter().map(text).collect()
}

/// Field/value or member/score pairs: a flat RESP2 array or a RESP3 map.
fn pairs(value: Value) -> Result<Vec<(String, String)>, StoreError> {
    if let Value::Map(entries) = value {
        return entries
            .into_iter()
            .map(|(k, v)| Ok((text(k)?, text(v)?)))
            .collect();
    }
    let mut items = array(value)?.into_iter();
    let mut out = Vec::with_capacity(items.len() / 2);
    while let Some(key) = items.next() {
        let value = items
            .next()
            .ok_or_else(|| corrupt("odd-length pair list"))?;
        out.push((text(key)?, text(value)?));
    }
    Ok(out)
}

fn until(score: &str) -> Result<UnixTime, StoreError> {
    parse_until(score)
        .flatten()
        .ok_or_else(|| corrupt("a revocation's prune time"))
}

/// The result of the consume script.
pub(super) fn consume_outcome(value: Value) -> Result<ConsumeOutcome, StoreError> {
    let mut parts = strings(value)?.into_iter();
    let tag = parts.next().unwrap_or_default();
    let mut next = || {
        parts
            .next()
            .ok_or_else(|| corrupt("a short consume answer"))
    };
    Ok(match tag.as_str() {
        "rotated" => ConsumeOutcome::Rotated,
        "reused" => ConsumeOutcome::Reused,
        "unknown" => ConsumeOutcome::Unknown,
        "ended" => ConsumeOutcome::Ended(match next()?.as_str() {
            "idle_timeout" => EndReason::IdleTimeout,
            "absolute_timeout" => EndReason::AbsoluteTimeout,
            _ => return Err(corrupt("an end reason")),
        }),
        "grace" => {
            let access = next()?;
            let refresh = next()?;
            let expires_in = number(&next()?, "expires_in")?;
            ConsumeOutcome::Grace(IssuedPair::new(access, refresh, expires_in))
        }
        _ => return Err(corrupt("a consume outcome")),
    })
}

/// A session hash and its grace hash (`HGETALL` each) as a record; `None` if absent.
pub(super) fn session_record(
    sid: &str,
    session: Value,
    grace: Value,
) -> Result<Option<SessionRecord>, StoreError> {
    let mut fields: HashMap<String, String> = pairs(session)?.into_iter().collect();
    if fields.is_empty() {
        return Ok(None);
    }
    let mut take = |name: &str| {
        fields
            .remove(name)
            .ok_or_else(|| corrupt("a session field"))
    };
    let sub = take("sub")?;
    let refresh_jti = take("jti")?;
    let gen = number(&take("gen")?, "gen")?;
    let created_at = number(&take("created")?, "created")?;
    let last_used_at = number(&take("last")?, "last")?;
    let expires_at = number(&take("exp")?, "exp")?;
    let idle_timeout = number(&take("idle")?, "idle")?;
    // Absent from sessions created before the store kept them.
    let client = ClientInfo::from_stored(
        fields.get("ua").map(String::as_str),
        fields.get("ip").map(String::as_str),
    );
    let mut grace: HashMap<String, String> = pairs(grace)?.into_iter().collect();
    let grace = if grace.is_empty() {
        None
    } else {
        let mut take = |name: &str| grace.remove(name).ok_or_else(|| corrupt("a grace field"));
        let parent_jti = take("parent")?;
        let rotated_at = number(&take("rotated")?, "rotated")?;
        let until = number(&take("until")?, "until")?;
        let access = take("access")?;
        let refresh = take("refresh")?;
        let expires_in = number(&take("expires_in")?, "expires_in")?;
        Some(GraceRecord {
            parent_jti,
            rotated_at,
            until,
            successor: IssuedPair::new(access, refresh, expires_in),
        })
    };
    Ok(Some(SessionRecord {
        sid: sid.to_owned(),
        sub,
        gen,
        refresh_jti,
        created_at,
        last_used_at,
        expires_at,
        idle_timeout,
        grace,
        client,
    }))
}

/// The answer of `list_sessions.lua`: `{sid, session hash, grace hash}` per session.
pub(super) fn session_records(value: Value) -> Result<Vec<SessionRecord>, StoreError> {
    let mut records = Vec::new();
    for entry in array(value)? {
        let mut parts = array(entry)?.into_iter();
        let (Some(sid), Some(session), Some(grace), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(corrupt("a session listing"));
        };
        if let Some(record) = session_record(&text(sid)?, session, grace)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// A string that may be absent (`GET`).
pub(super) fn optional_text(value: Value) -> Result<Option<String>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        other => text(other).map(Some),
    }
}

/// A count (`SCARD`, `EXISTS`).
pub(super) fn count(value: Value) -> Result<u64, StoreError> {
    match value {
        Value::Int(n) => u64::try_from(n).map_err(|_| corrupt("a negative count")),
        _ => Err(corrupt("not a count")),
    }
}

/// The answer of the epoch script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum EpochAnswer {
    /// The store's epoch is this id.
    Epoch(String),
    /// A node is writing back what the store lost.
    Repairing,
    /// Revocations without an epoch.
    Unmarked,
    /// The epoch vanished (while this node was writing back).
    Lost,
}

/// The result of the epoch script.
pub(super) fn epoch_answer(value: Value) -> Result<EpochAnswer, StoreError> {
    let mut parts = strings(value)?.into_iter();
    let tag = parts.next().unwrap_or_default();
    Ok(match tag.as_str() {
        "epoch" => EpochAnswer::Epoch(parts.next().ok_or_else(|| corrupt("an epoch"))?),
        "repairing" => EpochAnswer::Repairing,
        "unmarked" => EpochAnswer::Unmarked,
        "lost" => EpochAnswer::Lost,
        _ => return Err(corrupt("an epoch answer")),
    })
}

/// The three revocation sets (`ZRANGEBYSCORE .. WITHSCORES`) and the cut-off hash.
pub(super) fn snapshot(
    tokens: Value,
    sessions: Value,
    cutoffs: Value,
    befores: Value,
) -> Result<RevocationSnapshot, StoreError> {
    let mut snapshot = RevocationSnapshot::default();
    for (jti, score) in pairs(tokens)? {
        snapshot.tokens.push((jti, until(&score)?));
    }
    for (sid, score) in pairs(sessions)? {
        snapshot.sessions.push((sid, until(&score)?));
    }
    let befores: HashMap<String, String> = pairs(befores)?.into_iter().collect();
    for (sub, score) in pairs(cutoffs)? {
        let until = parse_until(&score).ok_or_else(|| corrupt("a cut-off's prune time"))?;
        let before = befores
            .get(&sub)
            .ok_or_else(|| corrupt("a cut-off without its time"))?;
        let before = number(before, "a cut-off time")?;
        snapshot
            .subjects
            .push((sub, SubjectCutoff { before, until }));
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn arr(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| bulk(s)).collect())
    }

    #[test]
    fn consume_answers_map_to_outcomes() {
        assert_eq!(
            consume_outcome(arr(&["rotated"])),
            Ok(ConsumeOutcome::Rotated)
        );
        assert_eq!(
            consume_outcome(arr(&["ended", "idle_timeout"])),
            Ok(ConsumeOutcome::Ended(EndReason::IdleTimeout))
        );
        assert_eq!(
            consume_outcome(arr(&["grace", "a", "r", "300"])),
            Ok(ConsumeOutcome::Grace(IssuedPair::new(
                "a".into(),
                "r".into(),
                300
            )))
        );
        assert!(consume_outcome(arr(&["grace", "a"])).is_err());
        assert!(consume_outcome(arr(&["what"])).is_err());
        assert!(consume_outcome(Value::Int(1)).is_err());
    }

    #[test]
    fn epoch_answers_counts_and_absent_strings() {
        assert_eq!(
            epoch_answer(arr(&["epoch", "e1"])),
            Ok(EpochAnswer::Epoch("e1".into()))
        );
        assert_eq!(
            epoch_answer(arr(&["repairing"])),
            Ok(EpochAnswer::Repairing)
        );
        assert_eq!(epoch_answer(arr(&["unmarked"])), Ok(EpochAnswer::Unmarked));
        assert_eq!(epoch_answer(arr(&["lost"])), Ok(EpochAnswer::Lost));
        assert!(epoch_answer(arr(&["epoch"])).is_err());
        assert!(epoch_answer(arr(&["other"])).is_err());
        assert_eq!(optional_text(Value::Nil), Ok(None));
        assert_eq!(optional_text(bulk("e")), Ok(Some("e".into())));
        assert_eq!(count(Value::Int(2)), Ok(2));
        assert!(count(Value::Int(-1)).is_err());
        assert!(count(bulk("2")).is_err());
    }

    #[test]
    fn a_snapshot_pairs_members_with_scores_and_cutoffs_with_their_times() {
        let snapshot = snapshot(
            arr(&["j1", "100", "j2", "200"]),
            arr(&["s1", "300"]),
            arr(&["alice", "400", "bob", "inf"]),
            arr(&["alice", "50", "bob", "60"]),
        )
        .unwrap();
        assert_eq!(snapshot.tokens, [("j1".into(), 100), ("j2".into(), 200)]);
        assert_eq!(snapshot.sessions, [("s1".into(), 300)]);
        assert_eq!(
            snapshot.subjects,
            [
                ("alice".into(), SubjectCutoff::new(50, Some(400))),
                ("bob".into(), SubjectCutoff::new(60, None))
            ]
        );
        assert!(super::snapshot(arr(&["j1"]), arr(&[]), arr(&[]), arr(&[])).is_err());
        assert!(super::snapshot(arr(&[]), arr(&[]), arr(&["carol", "1"]), arr(&[])).is_err());
    }
}
