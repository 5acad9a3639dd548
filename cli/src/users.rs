//! `gatepass users add | list | remove | passwd | set-claims`: the users file. Passwords are
//! read from stdin (never argv, visible in `ps`) and stored as argon2id hashes.

use std::io::Read as _;
use std::path::Path;

use gatepass::{CustomClaims, UsersError, UsersFile};
use serde_json::json;
use zeroize::Zeroizing;

use super::output::{print_json, CliResult, Failure};

/// The password on stdin (one trailing newline dropped), at most 4 KiB.
fn read_password() -> Result<Zeroizing<String>, Failure> {
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(4096)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read the password from stdin: {e}")))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Failure::usage("the password is not UTF-8"))?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Ok(Zeroizing::new(password.to_owned()))
}

fn parse_claims(json: &str) -> Result<CustomClaims, Failure> {
    serde_json::from_str::<CustomClaims>(json)
        .map_err(|e| Failure::usage(format!("--claims must be a JSON object: {e}")))
}

fn usage(e: UsersError) -> Failure {
    Failure::usage(e.to_string())
}

pub(crate) fn add(path: &Path, username: &str, replace: bool, claims: Option<&str>) -> CliResult {
    // Validate the claims before anything is written.
    let claims = claims.map(parse_claims).transpose()?;
    let password = read_password()?;
    let existed =
        UsersFile::add_with_claims(path, username, &password, replace, claims).map_err(usage)?;
    print_json(&json!({ "username": username, "updated": existed }), false)
}

pub(crate) fn list(path: &Path) -> CliResult {
    for (username, claims) in UsersFile::list(path).map_err(usage)? {
        print_json(&json!({ "username": username, "claims": claims }), false)?;
    }
    Ok(())
}

pub(crate) fn remove(path: &Path, username: &str) -> CliResult {
    if !UsersFile::remove(path, username).map_err(usage)? {
        return Err(usage(UsersError::Unknown(username.to_owned())));
    }
    print_json(&json!({ "username": username, "removed": true }), false)
}

pub(crate) fn passwd(path: &Path, username: &str) -> CliResult {
    let password = read_password()?;
    UsersFile::set_password(path, username, &password).map_err(usage)?;
    print_json(&json!({ "username": username, "updated": true }), false)
}

pub(crate) fn set_claims(path: &Path, username: &str, claims: &str) -> CliResult {
    let claims = parse_claims(claims)?;
    UsersFile::set_claims(path, username, claims).map_err(usage)?;
    print_json(&json!({ "username": username, "updated": true }), false)
}
