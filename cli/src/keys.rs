//! `keygen`, `keys ...` and `jwks`: thin wrappers over [`gatepass::Keyset`].

use std::path::Path;
use std::time::Duration;

use gatepass::{
    Algorithm, Clock as _, GenerateOptions, KeyState, Keyset, RotationPolicy, SystemClock,
};
use serde_json::json;

use super::args::{unix_time, KeysetArg};
use super::output::{human_time, print_json, print_line, CliResult, Failure};

/// `gatepass keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct KeygenArgs {
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
}

/// `gatepass jwks`.
#[derive(Debug, clap::Args)]
pub(crate) struct JwksArgs {
    #[command(flatten)]
    keyset: KeysetArg,
}

/// `gatepass keys ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
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

/// The key a state-changing `keys` subcommand acts on.
#[derive(Debug, clap::Args)]
pub(crate) struct KidArgs {
    /// The key id (put it after `--` if it begins with `-`).
    #[arg(value_name = "KID")]
    kid: String,
    #[command(flatten)]
    keyset: KeysetArg,
}

/// `gatepass keys rotate`.
#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    keyset: KeysetArg,
    /// Rotate only this algorithm's family, generating keys of ALG (default: every family
    /// with an active or pending key, each keeping its algorithm).
    #[arg(long, value_name = "ALG")]
    alg: Option<Algorithm>,
    /// A new key is published at least this long before it signs (default 3600).
    #[arg(long, value_name = "SECS", default_value_t = RotationPolicy::DEFAULT_PUBLISH_AHEAD.as_secs())]
    publish_ahead: u64,
    /// A retired key keeps verifying at least this long after it stopped signing
    /// (default 86400).
    #[arg(long, value_name = "SECS", default_value_t = RotationPolicy::DEFAULT_RETIRE_AFTER.as_secs())]
    retire_after: u64,
    /// The longest lifetime of a token this keyset signs; refuses a retire-after that
    /// would strand such tokens.
    #[arg(long, value_name = "SECS")]
    max_token_lifetime: Option<u64>,
    /// Rotate as of this unix time instead of now.
    #[arg(long, value_name = "UNIX", value_parser = unix_time)]
    at: Option<u64>,
}

fn now() -> u64 {
    SystemClock.now()
}

pub(crate) fn keygen(args: KeygenArgs) -> CliResult {
    let KeygenArgs {
        alg,
        keyset,
        kid,
        state,
    } = args;
    if !alg.can_sign() {
        return Err(Failure::usage(format!(
            "{alg} keys are verify-only: import them from a JWKS or PEM"
        )));
    }
    if matches!(state, Some(KeyState::Retiring | KeyState::Revoked)) {
        return Err(Failure::usage("a new key starts pending or active"));
    }
    let mut options = GenerateOptions::default();
    if let Some(kid) = kid {
        options = options.kid(kid);
    }
    if let Some(state) = state {
        options = options.state(state);
    }
    let (kid, state) = Keyset::update(&keyset.path, |k| {
        let kid = k.generate(alg, options, now())?;
        let state = k.get(&kid).map(|e| e.state());
        Ok((kid, state))
    })?;
    print_json(
        &json!({ "kid": kid, "alg": alg.as_str(), "state": state.map(KeyState::as_str) }),
        false,
    )
}

/// Run one `keys` subcommand.
pub(crate) fn run(command: KeysCommand) -> CliResult {
    match command {
        KeysCommand::List { keyset, json } => list(&keyset.path, json),
        KeysCommand::Activate(key) => change(key, Change::Activate),
        KeysCommand::Retire(key) => change(key, Change::Retire),
        KeysCommand::Revoke(key) => change(key, Change::Revoke),
        KeysCommand::Remove(key) => change(key, Change::Remove),
        KeysCommand::Rotate(args) => rotate(args),
    }
}

fn list(keyset: &Path, as_json: bool) -> CliResult {
    let keyset = Keyset::load(keyset)?;
    if as_json {
        let rows: Vec<_> = keyset
            .entries()
            .iter()
            .map(|e| {
                json!({
                    "kid": e.kid(),
                    "alg": e.alg().as_str(),
                    "state": e.state().as_str(),
                    "created_at": e.created_at(),
                    "activated_at": e.activated_at(),
                    "retired_at": e.retired_at(),
                })
            })
            .collect();
        return print_json(&rows, true);
    }
    let width = keyset
        .entries()
        .iter()
        .map(|e| e.kid().len())
        .max()
        .unwrap_or(3)
        .max(3);
    print_line(&format!(
        "{:<width$}  {:<6}  {:<8}  {:<20}  {:<20}  {:<20}",
        "KID", "ALG", "STATE", "CREATED", "ACTIVATED", "RETIRED"
    ));
    for e in keyset.entries() {
        print_line(&format!(
            "{:<width$}  {:<6}  {:<8}  {:<20}  {:<20}  {:<20}",
            e.kid(),
            e.alg().as_str(),
            e.state().as_str(),
            human_time(e.created_at()),
            human_time(e.activated_at()),
            human_time(e.retired_at()),
        ));
    }
    Ok(())
}

/// The state-changing `keys` subcommands.
#[derive(Clone, Copy, Debug)]
enum Change {
    Activate,
    Retire,
    Revoke,
    Remove,
}

fn change(key: KidArgs, change: Change) -> CliResult {
    let KidArgs { kid, keyset } = key;
    let kid = kid.as_str();
    let at = now();
    let state = Keyset::update(&keyset.path, |k| {
        match change {
            Change::Activate => k.activate(kid, at)?,
            Change::Retire => k.retire(kid, at)?,
            Change::Revoke => k.revoke(kid, at)?,
            Change::Remove => k.remove(kid)?,
        }
        Ok(k.get(kid).map(|e| e.state()))
    })?;
    match state {
        Some(state) => print_json(&json!({ "kid": kid, "state": state.as_str() }), false),
        None => print_json(&json!({ "kid": kid, "removed": true }), false),
    }
}

pub(crate) fn jwks(args: JwksArgs) -> CliResult {
    let keyset = Keyset::load(&args.keyset.path)?;
    let published = gatepass::PublishedJwks::new(&keyset, &RotationPolicy::default());
    print_json(published.jwks(), true)
}

fn rotate(args: RotateArgs) -> CliResult {
    let mut policy = RotationPolicy::new(
        Duration::from_secs(args.publish_ahead),
        Duration::from_secs(args.retire_after),
    )?;
    if let Some(lifetime) = args.max_token_lifetime {
        policy = policy.with_max_token_lifetime(Duration::from_secs(lifetime))?;
    }
    let keyset = &args.keyset.path;
    if !keyset.exists() {
        // `update` would start an empty keyset; rotating nothing is a usage error.
        return Err(Failure::usage(format!(
            "cannot read the keyset {}: no such file",
            keyset.display()
        )));
    }
    let at = args.at.unwrap_or_else(now);
    let report = Keyset::update(keyset, |k| k.rotate(&policy, args.alg, at))?;
    let mut out = serde_json::to_value(&report).map_err(Failure::usage)?;
    if let Some(obj) = out.as_object_mut() {
        obj.insert("changed".into(), report.changed().into());
        obj.insert(
            "jwks_max_age".into(),
            policy.jwks_max_age().as_secs().into(),
        );
    }
    print_json(&out, false)
}
