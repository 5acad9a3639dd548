//! The `gatepass` command line: keys, tokens, verification and the auth server.
//!
//! Argument parsing and dispatch; every command is a thin adapter over the `gatepass`
//! library. `gatepass --help` and docs/REFERENCE.md describe the commands.

mod config;
mod keys;
mod output;
mod revoke;
mod serve;
mod store;
mod token;
mod users;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gatepass::{Algorithm, KeyState, Profile, TokenType};

use output::{CliResult, Failure};

/// Stateless signed-token sessions: keys, tokens, verification.
///
/// Exit codes: 0 success, 1 the token or request was rejected (one JSON line on stderr),
/// 2 usage or configuration error. Machine output is JSON on stdout.
#[derive(Debug, Parser)]
#[command(name = "gatepass", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the keyset FILE or append a new key to it.
    Keygen {
        /// Algorithm of the new key (EdDSA, ES256, ES384, HS256, HS384, HS512).
        #[arg(long, value_name = "ALG")]
        alg: Algorithm,
        #[command(flatten)]
        keyset: KeysetArg,
        /// Key id (default: the RFC 7638 thumbprint).
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        kid: Option<String>,
        /// Initial state (default: active if the family has no active key, else pending).
        #[arg(long, value_name = "pending|active")]
        state: Option<KeyState>,
    },
    /// Inspect and change the keys of a keyset.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the public JWK Set (pending, active and retiring keys; never HMAC keys).
    Jwks {
        #[command(flatten)]
        keyset: KeysetArg,
    },
    /// Print one signed access token.
    Issue {
        #[command(flatten)]
        keyset: KeysetArg,
        /// Issuer (`iss`).
        #[arg(long, value_name = "ISS")]
        iss: String,
        /// Audience (`aud`); repeat for several.
        #[arg(long, value_name = "AUD", required = true)]
        aud: Vec<String>,
        /// Subject (`sub`).
        #[arg(long, value_name = "SUB")]
        sub: String,
        /// Lifetime in seconds.
        #[arg(long, value_name = "SECS", default_value_t = gatepass::DEFAULT_ACCESS_TTL)]
        ttl: u64,
        /// A custom claim, its value as JSON (e.g. --claim 'role="admin"'); repeatable.
        #[arg(long = "claim", value_name = "NAME=JSON")]
        claims: Vec<String>,
        /// Issue as of this unix time instead of now.
        #[arg(long, value_name = "UNIX", value_parser = unix_time)]
        at: Option<u64>,
        /// Sign with the active key of this algorithm (default: EdDSA, then ECDSA, then HMAC).
        #[arg(long, value_name = "ALG", conflicts_with = "kid")]
        alg: Option<Algorithm>,
        /// Sign with this active key.
        #[arg(long, value_name = "KID", allow_hyphen_values = true)]
        kid: Option<String>,
    },
    /// Verify a token; prints its header and claims as JSON.
    Verify(VerifyCli),
    /// Add an entry to a durable revocation file (read by `verify --revocations`; a running
    /// `serve --store file:` holds its journal locked: use its `/auth/revoke` instead).
    Revoke(RevokeCli),
    /// Run the auth server: login, refresh, logout, revocation, JWKS, readiness.
    Serve(ServeCli),
    /// Maintain a session store offline (`store compact --store file:PATH`).
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Manage the users file of the auth server.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print a token's header and claims WITHOUT verifying it ("verified": false).
    Inspect {
        /// The token, or - to read it from stdin.
        #[arg(value_name = "TOKEN|-")]
        token: OsString,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["token", "jti", "sid", "sub"])))]
struct RevokeCli {
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

#[derive(Debug, Args)]
struct ServeCli {
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
    listen: std::net::SocketAddr,
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
    log_format: serve::LogFormat,
    /// The most detailed log level shown.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// DPoP (RFC 9449) sender-constrained tokens: `required` (login and refresh need a
    /// DPoP proof and issue tokens bound to its key; protected routes take only
    /// `Authorization: DPoP`) or `optional` (without a proof, plain Bearer tokens).
    #[arg(long, value_name = "MODE")]
    dpop: Option<serve::DpopArg>,
    /// The URL clients reach this server at, scheme://host[:port] (behind a proxy: the
    /// proxy's): what DPoP proofs' htu must start with. Default: http://LISTEN-ADDRESS.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
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

#[derive(Debug, Args)]
struct UserArgs {
    /// The users file.
    #[arg(long, value_name = "FILE")]
    users: PathBuf,
    /// The username.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    username: String,
}

#[derive(Debug, Args)]
struct KeysetArg {
    /// The keyset file (a JSON object {"keys": [private JWKs with kid, alg, state]}).
    #[arg(long = "keyset", value_name = "FILE")]
    path: PathBuf,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List kid, alg, state and dates.
    List {
        #[command(flatten)]
        keyset: KeysetArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make KID the active key of its family; the previous active key becomes retiring.
    Activate(KidArgs),
    /// Stop KID from signing; it still verifies.
    Retire(KidArgs),
    /// Stop KID from verifying now (a compromised key).
    Revoke(KidArgs),
    /// Delete KID from the keyset (it must not be active).
    Remove(KidArgs),
    /// One step of the rotation policy (safe to run from cron): activate a pending key
    /// published at least publish-ahead ago, add a new pending key, remove retiring keys
    /// older than retire-after. Prints a JSON report; a refused step exits 2 with the reason.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
struct RotateArgs {
    #[command(flatten)]
    keyset: KeysetArg,
    /// Rotate only this algorithm's family, generating keys of ALG (default: every family
    /// with an active or pending key, each keeping its algorithm).
    #[arg(long, value_name = "ALG")]
    alg: Option<Algorithm>,
    /// A new key is published at least this long before it signs (default 3600).
    #[arg(long, value_name = "SECS", default_value_t = gatepass::RotationPolicy::DEFAULT_PUBLISH_AHEAD.as_secs())]
    publish_ahead: u64,
    /// A retired key keeps verifying at least this long after it stopped signing
    /// (default 86400).
    #[arg(long, value_name = "SECS", default_value_t = gatepass::RotationPolicy::DEFAULT_RETIRE_AFTER.as_secs())]
    retire_after: u64,
    /// The longest lifetime of a token this keyset signs; refuses a retire-after that
    /// would strand such tokens.
    #[arg(long, value_name = "SECS")]
    max_token_lifetime: Option<u64>,
    /// Rotate as of this unix time instead of now.
    #[arg(long, value_name = "UNIX", value_parser = unix_time)]
    at: Option<u64>,
}

#[derive(Debug, Args)]
struct KidArgs {
    /// The key id (put it after `--` if it begins with `-`).
    #[arg(value_name = "KID")]
    kid: String,
    #[command(flatten)]
    keyset: KeysetArg,
}

#[derive(Debug, Args)]
struct VerifyCli {
    /// Trust the active and retiring keys of this keyset.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "jwks",
        required_unless_present = "jwks"
    )]
    keyset: Option<PathBuf>,
    /// Trust the public keys of this JWK Set (`oct` keys and keys with private members are
    /// left out): a file, or an https:// URL (http:// for loopback) fetched with the remote
    /// JWKS client (5 s timeout, 512 KiB cap).
    #[arg(long, value_name = "FILE_OR_URL")]
    jwks: Option<String>,
    /// Whose tokens to accept: gatepass (this tool's own: typ at+jwt, iat and jti
    /// required) or jwt (other issuers' access tokens: typ absent, JWT or at+jwt; only iss,
    /// exp and aud required).
    #[arg(long, value_name = "gatepass|jwt", default_value = "gatepass")]
    profile: Profile,
    /// Accepted issuer; repeatable (the token's iss must equal one).
    #[arg(long, value_name = "ISS", required = true)]
    iss: Vec<String>,
    /// Accepted audience; repeatable (the token's aud must contain one).
    #[arg(
        long,
        value_name = "AUD",
        required_unless_present = "no_audience",
        conflicts_with = "no_audience"
    )]
    aud: Vec<String>,
    /// Skip the audience check (for issuers whose access tokens carry none).
    #[arg(long)]
    no_audience: bool,
    /// A claim that must be present; repeatable (absent: missing_claim).
    #[arg(long = "require", value_name = "CLAIM")]
    require: Vec<String>,
    /// Expected token type.
    #[arg(long = "type", value_name = "access|refresh", default_value = "access")]
    kind: TokenType,
    /// Allowed algorithm; repeatable (default: all supported).
    #[arg(long = "alg", value_name = "ALG")]
    algs: Vec<Algorithm>,
    /// Clock-skew leeway in seconds (at most 300).
    #[arg(long, value_name = "SECS", default_value_t = gatepass::DEFAULT_LEEWAY.as_secs())]
    leeway: u64,
    /// Reject tokens issued more than SECS ago.
    #[arg(long, value_name = "SECS")]
    max_age: Option<u64>,
    /// Reject tokens revoked in this journal (see `gatepass revoke`).
    #[arg(long, value_name = "FILE")]
    revocations: Option<PathBuf>,
    /// Verify as of this unix time instead of now.
    #[arg(long, value_name = "UNIX", value_parser = unix_time)]
    at: Option<u64>,
    /// The token, or - to read it from stdin.
    #[arg(value_name = "TOKEN|-")]
    token: OsString,
}

fn dispatch(command: Command) -> CliResult {
    match command {
        Command::Keygen {
            alg,
            keyset,
            kid,
            state,
        } => keys::keygen(alg, &keyset.path, kid, state),
        Command::Keys { command } => match command {
            KeysCommand::List { keyset, json } => keys::list(&keyset.path, json),
            KeysCommand::Activate(a) => {
                keys::change(&a.keyset.path, &a.kid, keys::Change::Activate)
            }
            KeysCommand::Retire(a) => keys::change(&a.keyset.path, &a.kid, keys::Change::Retire),
            KeysCommand::Revoke(a) => keys::change(&a.keyset.path, &a.kid, keys::Change::Revoke),
            KeysCommand::Remove(a) => keys::change(&a.keyset.path, &a.kid, keys::Change::Remove),
            KeysCommand::Rotate(r) => keys::rotate(keys::RotateArgs {
                keyset: r.keyset.path,
                alg: r.alg,
                publish_ahead: r.publish_ahead,
                retire_after: r.retire_after,
                max_token_lifetime: r.max_token_lifetime,
                at: r.at,
            }),
        },
        Command::Jwks { keyset } => keys::jwks(&keyset.path),
        Command::Issue {
            keyset,
            iss,
            aud,
            sub,
            ttl,
            claims,
            at,
            alg,
            kid,
        } => token::issue(token::IssueArgs {
            keyset: keyset.path,
            iss,
            aud,
            sub,
            ttl,
            claims,
            at,
            alg,
            kid,
        }),
        Command::Verify(v) => {
            if v.profile == Profile::Jwt && v.kind == TokenType::Refresh {
                return Err(Failure::usage(
                    "--profile jwt verifies access tokens only; --type refresh takes the gatepass profile",
                ));
            }
            token::verify(token::VerifyArgs {
                keyset: v.keyset,
                jwks: v.jwks,
                profile: v.profile,
                iss: v.iss,
                aud: v.aud,
                no_audience: v.no_audience,
                require: v.require,
                kind: v.kind,
                algs: v.algs,
                leeway: v.leeway,
                max_age: v.max_age,
                revocations: v.revocations,
                at: v.at,
                token: v.token,
            })
        }
        Command::Revoke(r) => {
            let target = match (r.token, r.jti, r.sid, r.sub, r.exp, r.before) {
                (Some(token), None, None, None, None, None) => revoke::Target::Token(token),
                (None, Some(jti), None, None, Some(exp), None) => {
                    revoke::Target::Entry(revoke::Entry::Jti { jti, exp })
                }
                (None, None, Some(sid), None, Some(exp), None) => {
                    revoke::Target::Entry(revoke::Entry::Sid { sid, exp })
                }
                (None, None, None, Some(sub), None, Some(before)) => {
                    revoke::Target::Entry(revoke::Entry::Subject { sub, before })
                }
                _ => {
                    return Err(Failure::usage(
                        "give exactly one of --token, --jti with --exp, --sid with --exp, or --sub with --before",
                    ))
                }
            };
            revoke::revoke(&r.revocations, target)
        }
        Command::Serve(_) => {
            // The flags again, layered over the environment and the config file.
            let args: Vec<OsString> = std::env::args_os()
                .skip_while(|arg| arg != "serve")
                .skip(1)
                .collect();
            let resolved = config::resolve(&args)?;
            if resolved.cli.print_config {
                return output::print_json(&resolved.to_json(), true);
            }
            serve_with(resolved.cli)
        }
        Command::Users { command } => match command {
            UsersCommand::Add {
                users,
                username,
                replace,
                claims,
            } => users::add(&users, &username, replace, claims.as_deref()),
            UsersCommand::List { users } => users::list(&users),
            UsersCommand::Remove(u) => users::remove(&u.users, &u.username),
            UsersCommand::Passwd(u) => users::passwd(&u.users, &u.username),
            UsersCommand::SetClaims { user, claims } => {
                users::set_claims(&user.users, &user.username, &claims)
            }
        },
        Command::Inspect { token } => token::inspect(&token),
        Command::Store { command } => store::run(command),
    }
}

/// Run the server with its resolved settings.
fn serve_with(s: ServeCli) -> CliResult {
    serve::serve(serve::ServeArgs {
        listen: s.listen,
        keyset: s.keyset,
        users: s.users,
        store: s.store,
        demo: s.demo,
        access_ttl: s.access_ttl,
        idle_timeout: s.idle_timeout,
        absolute_timeout: s.absolute_timeout,
        grace: s.grace,
        iss: s.iss,
        aud: s.aud,
        leeway: s.leeway,
        cookies: s.cookies,
        allowed_origins: s.allowed_origins,
        login_limits: gatepass::LoginLimits::new(
            gatepass::Limit::new(s.max_login_failures, 60),
            gatepass::Limit::new(s.max_login_attempts, 3),
        ),
        limits: gatepass::ServeLimits::default()
            .header_timeout(std::time::Duration::from_secs(s.header_timeout))
            .request_timeout(std::time::Duration::from_secs(s.request_timeout))
            .max_connections(usize::try_from(s.max_connections).unwrap_or(usize::MAX)),
        trusted_proxies: s.trusted_proxies,
        hashing: serve::hashing_limits(s.hashing_threads, s.hashing_queue),
        log_format: s.log_format,
        log_level: s.log_level,
        dpop: s.dpop,
        public_url: s.public_url,
    })
}

/// Parse the command line, run the command, and map the outcome to an exit code.
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are successes and go to stdout; clap knows which.
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// A unix time flag: an integer in 0..2^53, the range every time in gatepass (and in JSON
/// readers of other languages) holds exactly. Found by review: `keys rotate --at
/// 18446744073709551615` wrote that date into the keyset.
fn unix_time(value: &str) -> Result<u64, String> {
    const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
    match value.parse::<u64>() {
        Ok(t) if t <= MAX_SAFE_INTEGER => Ok(t),
        Ok(_) => Err(format!("unix time {value} is beyond 2^53 - 1")),
        Err(e) => Err(e.to_string()),
    }
}
