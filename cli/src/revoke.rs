//! `gatepass revoke`: add an entry to a durable revocation journal.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use gatepass::{EndReason, FileStore, SessionStore as _, SubjectCutoff, UntrustedToken};
use serde_json::{json, Value};

use super::args::unix_time;
use super::output::{block_on, print_json, warn_torn_tail, CliResult, Failure};

use gatepass::REVOCATION_MARGIN as MARGIN;

/// `gatepass revoke`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["token", "jti", "sid", "sub"])))]
pub(crate) struct RevokeArgs {
    /// The revocation journal (created if missing).
    #[arg(long, value_name = "FILE")]
    revocations: PathBuf,
    /// Revoke this token (by its jti, until its exp); - reads it from stdin.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    token: Option<OsString>,
    /// Revoke the token with this jti...
    #[arg(long, value_name = "ID", requires = "exp", allow_hyphen_values = true)]
    jti: Option<String>,
    /// Revoke every token of this session...
    #[arg(long, value_name = "ID", requires = "exp", allow_hyphen_values = true)]
    sid: Option<String>,
    /// ...until this unix time (the last such token's exp).
    #[arg(long, value_name = "UNIX", value_parser = unix_time)]
    exp: Option<u64>,
    /// Revoke every token of this subject issued before --before.
    #[arg(
        long,
        value_name = "SUB",
        requires = "before",
        allow_hyphen_values = true
    )]
    sub: Option<String>,
    /// The subject cut-off (unix time): tokens with iat < UNIX are revoked.
    #[arg(long, value_name = "UNIX", value_parser = unix_time)]
    before: Option<u64>,
}

/// What to revoke, as given on the command line.
#[derive(Debug)]
enum Target {
    /// A token as given on the command line (not necessarily UTF-8), or `-` for stdin.
    Token(OsString),
    Entry(Entry),
}

/// One revocation entry.
#[derive(Debug)]
enum Entry {
    Jti { jti: String, exp: u64 },
    Sid { sid: String, exp: u64 },
    Subject { sub: String, before: u64 },
}

fn open(path: &Path) -> Result<FileStore, Failure> {
    let store = FileStore::open(path)
        .map_err(|e| Failure::usage(format!("cannot open {}: {e}", path.display())))?;
    warn_torn_tail(path, &store);
    Ok(store)
}

fn rejected(message: &str) -> Failure {
    Failure::Rejected {
        kind: "malformed",
        message: message.to_owned(),
    }
}

/// Run `gatepass revoke`.
pub(crate) fn run(args: RevokeArgs) -> CliResult {
    // clap's group admits one of the four; a stray --exp or --before is refused here.
    let target = match (args.token, args.jti, args.sid, args.sub, args.exp, args.before) {
        (Some(token), None, None, None, None, None) => Target::Token(token),
        (None, Some(jti), None, None, Some(exp), None) => Target::Entry(Entry::Jti { jti, exp }),
        (None, None, Some(sid), None, Some(exp), None) => Target::Entry(Entry::Sid { sid, exp }),
        (None, None, None, Some(sub), None, Some(before)) => {
            Target::Entry(Entry::Subject { sub, before })
        }
        _ => {
            return Err(Failure::usage(
                "give exactly one of --token, --jti with --exp, --sid with --exp, or --sub with --before",
            ))
        }
    };
    revoke(&args.revocations, target)
}

fn revoke(path: &Path, target: Target) -> CliResult {
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
