//! `keygen`, `keys ...` and `jwks`: thin wrappers over [`gatepass::Keyset`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use gatepass::{
    Algorithm, Clock as _, GenerateOptions, KeyState, Keyset, RotationPolicy, SystemClock,
};
use serde_json::json;

use super::output::{human_time, print_json, print_line, CliResult, Failure};

fn now() -> u64 {
    SystemClock.now()
}

pub(crate) fn keygen(
    alg: Algorithm,
    keyset: &Path,
    kid: Option<String>,
    state: Option<KeyState>,
) -> CliResult {
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
    let (kid, state) = Keyset::update(keyset, |k| {
        let kid = k.generate(alg, options, now())?;
        let state = k.get(&kid).map(|e| e.state());
        Ok((kid, state))
    })?;
    print_json(
        &json!({ "kid": kid, "alg": alg.as_str(), "state": state.map(KeyState::as_str) }),
        false,
    )
}

pub(crate) fn list(keyset: &Path, as_json: bool) -> CliResult {
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
pub(crate) enum Change {
    Activate,
    Retire,
    Revoke,
    Remove,
}

pub(crate) fn change(keyset: &Path, kid: &str, change: Change) -> CliResult {
    let at = now();
    let state = Keyset::update(keyset, |k| {
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

pub(crate) fn jwks(keyset: &Path) -> CliResult {
    let keyset = Keyset::load(keyset)?;
    let published = gatepass::PublishedJwks::new(&keyset, &RotationPolicy::default());
    print_json(published.jwks(), true)
}

/// Arguments of `gatepass keys rotate`.
#[derive(Debug)]
pub(crate) struct RotateArgs {
    pub(crate) keyset: PathBuf,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) publish_ahead: u64,
    pub(crate) retire_after: u64,
    pub(crate) max_token_lifetime: Option<u64>,
    pub(crate) at: Option<u64>,
}

pub(crate) fn rotate(args: RotateArgs) -> CliResult {
    let mut policy = RotationPolicy::new(
        Duration::from_secs(args.publish_ahead),
        Duration::from_secs(args.retire_after),
    )?;
    if let Some(lifetime) = args.max_token_lifetime {
        policy = policy.with_max_token_lifetime(Duration::from_secs(lifetime))?;
    }
    if !args.keyset.exists() {
        // `update` would start an empty keyset; rotating nothing is a usage error.
        return Err(Failure::usage(format!(
            "cannot read the keyset {}: no such file",
            args.keyset.display()
        )));
    }
    let at = args.at.unwrap_or_else(now);
    let report = Keyset::update(&args.keyset, |k| k.rotate(&policy, args.alg, at))?;
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
