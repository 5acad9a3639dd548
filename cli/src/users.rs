//! `gatepass users add | list | remove | passwd | set-claims`: the users file. Passwords are
//! read from stdin (never argv, visible in `ps`) and stored as argon2id hashes.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use gatepass::{CustomClaims, UsersError, UsersFile};
use serde_json::json;
use zeroize::Zeroizing;

use super::output::{print_json, CliResult, Failure};

/// `gatepass users ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum UsersCommand {
    /// Add a user; the password is read from stdin and stored as an argon2id hash.
    Add {
        /// The users file (created if missing, mode 0600).
        #[arg(long, value_name = "FILE")]
        users: PathBuf,
        /// The username (also the token subject).
        #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
        username: String,
        /// Set a new password if the user exists.
        #[arg(long)]
        replace: bool,
        /// Claims (a JSON object) added to the user's access tokens, e.g. '{"roles":["admin"]}'.
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
    },
    /// List the users and their claims as JSON lines (never the hashes).
    List {
        /// The users file.
        #[arg(long, value_name = "FILE")]
        users: PathBuf,
    },
    /// Remove a user: they can no longer log in (sessions already open are not ended).
    Remove(UserArgs),
    /// Set a new password, read from stdin.
    Passwd(UserArgs),
    /// Set the claims added to a user's access tokens (replacing the previous ones; '{}'
    /// clears them). Registered claims (iss, sub, aud, exp, nbf, iat, jti, sid, cnf) are
    /// refused.
    SetClaims {
        #[command(flatten)]
        user: UserArgs,
        /// The claims, a JSON object.
        #[arg(long, value_name = "JSON")]
        claims: String,
    },
}

/// The user a `users` subcommand acts on.
#[derive(Debug, clap::Args)]
pub(crate) struct UserArgs {
    /// The users file.
    #[arg(long, value_name = "FILE")]
    users: PathBuf,
    /// The username.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    username: String,
}

/// Run one `users` subcommand.
pub(crate) fn run(command: UsersCommand) -> CliResult {
    match command {
        UsersCommand::Add {
            users,
            username,
            replace,
            claims,
        } => add(&users, &username, replace, claims.as_deref()),
        UsersCommand::List { users } => list(&users),
        UsersCommand::Remove(user) => remove(&user.users, &user.username),
        UsersCommand::Passwd(user) => passwd(&user.users, &user.username),
        UsersCommand::SetClaims { user, claims } => {
            set_claims(&user.users, &user.username, &claims)
        }
    }
}

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

fn add(path: &Path, username: &str, replace: bool, claims: Option<&str>) -> CliResult {
    // Validate the claims before anything is written.
    let claims = claims.map(parse_claims).transpose()?;
    let password = read_password()?;
    let existed =
        UsersFile::add_with_claims(path, username, &password, replace, claims).map_err(usage)?;
    print_json(&json!({ "username": username, "updated": existed }), false)
}

fn list(path: &Path) -> CliResult {
    for (username, claims) in UsersFile::list(path).map_err(usage)? {
        print_json(&json!({ "username": username, "claims": claims }), false)?;
    }
    Ok(())
}

fn remove(path: &Path, username: &str) -> CliResult {
    if !UsersFile::remove(path, username).map_err(usage)? {
        return Err(usage(UsersError::Unknown(username.to_owned())));
    }
    print_json(&json!({ "username": username, "removed": true }), false)
}

fn passwd(path: &Path, username: &str) -> CliResult {
    let password = read_password()?;
    UsersFile::set_password(path, username, &password).map_err(usage)?;
    print_json(&json!({ "username": username, "updated": true }), false)
}

fn set_claims(path: &Path, username: &str, claims: &str) -> CliResult {
    let claims = parse_claims(claims)?;
    UsersFile::set_claims(path, username, claims).map_err(usage)?;
    print_json(&json!({ "username": username, "updated": true }), false)
}
