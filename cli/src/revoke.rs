//! `gatepass revoke`: add an entry to a durable revocation journal.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;

use gatepass::{EndReason, FileStore, SessionStore as _, SubjectCutoff, UntrustedToken};
use serde_json::{json, Value};

use super::output::{block_on, print_json, CliResult, Failure};

use gatepass::REVOCATION_MARGIN as MARGIN;

/// What to revoke, as given on the command line.
#[derive(Debug)]
pub(crate) enum Target {
    /// A token as given on the command line (not necessarily UTF-8), or `-` for stdin.
    Token(OsString),
    Entry(Entry),
}

/// One revocation entry.
#[derive(Debug)]
pub(crate) enum Entry {
    Jti { jti: String, exp: u64 },
    Sid { sid: String, exp: u64 },
    Subject { sub: String, before: u64 },
}

fn open(path: &Path) -> Result<FileStore, Failure> {
    let store = FileStore::open(path)
        .map_err(|e| Failure::usage(format!("cannot open {}: {e}", path.display())))?;
    if let Some(torn) = store.torn_tail() {
        // The CLI has no log subscriber: say it on stderr, a human message.
        let _ = writeln!(
            std::io::stderr().lock(),
            "warning: {}: cut {} bytes of an unterminated last record (kept in {})",
            path.display(),
            torn.bytes,
            torn.moved_to.display()
        );
    }
    Ok(store)
}

fn rejected(message: &str) -> Failure {
    Failure::Rejected {
        kind: "malformed",
        message: message.to_owned(),
    }
}

pub(crate) fn revoke(path: &Path, target: Target) -> CliResult {
    let entry = match target {
        Target::Token(raw) => {
            let token = super::output::read_token(&raw)?;
            // Revoking needs no trust in the token: it only ever makes less valid.
            let shown = UntrustedToken::new(&token)?.insecure_inspect()?;
            let jti = shown.claims.get("jti").and_then(Value::as_str);
            let exp = shown.claims.get("exp").and_then(Value::as_u64);
            match (jti, exp) {
                (Some(jti), Some(exp)) => Entry::Jti {
                    jti: jti.to_owned(),
                    exp,
                },
                _ => {
                    return Err(rejected(
                        "the token has no string jti and integer exp to revoke by",
                    ))
                }
            }
        }
        Target::Entry(entry) => entry,
    };
    let store = open(path)?;
    let store_error = |e: gatepass::StoreError| Failure::usage(format!("{}: {e}", path.display()));
    let out = match entry {
        Entry::Jti { jti, exp } => {
            let until = exp.saturating_add(MARGIN);
            block_on(store.revoke_token(&jti, until)).map_err(store_error)?;
            json!({ "revoked": "token", "jti": jti, "until": until })
        }
        Entry::Sid { sid, exp } => {
            let until = exp.saturating_add(MARGIN);
            block_on(store.revoke_session(&sid, until, EndReason::Revoked)).map_err(store_error)?;
            json!({ "revoked": "session", "sid": sid, "until": until })
        }
        Entry::Subject { sub, before } => {
            let cutoff = SubjectCutoff::new(before, None);
            let until = before.saturating_add(MARGIN);
            let ended = block_on(store.revoke_subject(&sub, cutoff, until)).map_err(store_error)?;
            json!({ "revoked": "subject", "sub": sub, "before": before, "sessions_ended": ended.len() })
        }
    };
    print_json(&out, false)
}
