//! The `gatepass` command line: keys, tokens, verification and the auth server.
//!
//! The top-level parser and dispatch. Each command module declares its own flags (a clap
//! `Args` or `Subcommand` type) and runs them; every command is a thin adapter over the
//! `gatepass` library. `gatepass --help` and docs/REFERENCE.md describe the commands.

mod args;
mod config;
mod keys;
mod output;
mod revoke;
mod serve;
mod store;
mod token;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use output::CliResult;

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
    Keygen(keys::KeygenArgs),
    /// Inspect and change the keys of a keyset.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Print the public JWK Set (pending, active and retiring keys; never HMAC keys).
    Jwks(keys::JwksArgs),
    /// Print one signed access token.
    Issue(token::IssueArgs),
    /// Verify a token; prints its header and claims as JSON.
    Verify(token::VerifyArgs),
    /// Add an entry to a durable revocation file (read by `verify --revocations`; a running
    /// `serve --store file:` holds its journal locked: use its `/auth/revoke` instead).
    Revoke(revoke::RevokeArgs),
    /// Run the auth server: login, refresh, logout, revocation, JWKS, readiness.
    Serve(serve::ServeArgs),
    /// Maintain a session store offline (`store compact --store file:PATH`).
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Manage the users file of the auth server.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Print a token's header and claims WITHOUT verifying it ("verified": false).
    Inspect(token::InspectArgs),
}

fn dispatch(command: Command) -> CliResult {
    match command {
        Command::Keygen(args) => keys::keygen(args),
        Command::Keys(command) => keys::run(command),
        Command::Jwks(args) => keys::jwks(args),
        Command::Issue(args) => token::issue(args),
        Command::Verify(args) => token::verify(args),
        Command::Revoke(args) => revoke::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Store(command) => store::run(command),
        Command::Users(command) => users::run(command),
        Command::Inspect(args) => token::inspect(args),
    }
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// The ids that `conflicts_with`, `requires` and groups name live in other files than
    /// the top-level enum; clap checks them all here, not only on the commands a test runs.
    #[test]
    fn the_command_tree_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
