//! `issue`, `verify` and `inspect`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatepass::{
    Algorithm, AlgorithmSet, CustomClaims, FileStore, Issuer, JwksClient, KeySelector, KeySource,
    Keyset, ManualClock, Profile, TokenType, UntrustedToken, VerificationKeys, Verifier,
};
use serde_json::{json, Value};

use super::output::{print_json, print_line, read_token, CliResult, Failure};

/// Arguments of `gatepass issue`.
#[derive(Debug)]
pub(crate) struct IssueArgs {
    pub(crate) keyset: PathBuf,
    pub(crate) iss: String,
    pub(crate) aud: Vec<String>,
    pub(crate) sub: String,
    pub(crate) ttl: u64,
    pub(crate) claims: Vec<String>,
    pub(crate) at: Option<u64>,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kid: Option<String>,
}

fn parse_claims(pairs: &[String]) -> Result<CustomClaims, Failure> {
    let mut claims = CustomClaims::new();
    for pair in pairs {
        let Some((name, json)) = pair.split_once('=') else {
            return Err(Failure::usage(format!(
                "--claim {pair:?}: expected NAME=JSON"
            )));
        };
        if name.is_empty() {
            return Err(Failure::usage(format!(
                "--claim {pair:?}: the claim name is empty"
            )));
        }
        let value: Value = serde_json::from_str(json).map_err(|e| {
            Failure::usage(format!(
                "--claim {name}: the value is not JSON ({e}); quote strings, e.g. --claim '{name}=\"text\"'"
            ))
        })?;
        if claims.insert(name.to_owned(), value).is_some() {
            return Err(Failure::usage(format!("--claim {name} is given twice")));
        }
    }
    Ok(claims)
}

pub(crate) fn issue(args: IssueArgs) -> CliResult {
    if args.ttl == 0 {
        return Err(Failure::usage("--ttl must be at least 1 second"));
    }
    let claims = parse_claims(&args.claims)?;
    let keyset = Keyset::load(&args.keyset)?;
    let selector = match (args.kid, args.alg) {
        (Some(kid), _) => KeySelector::Kid(kid),
        (None, Some(alg)) => KeySelector::Algorithm(alg),
        (None, None) => KeySelector::Preferred,
    };
    let key = keyset.signing_key(&selector)?;
    let issuer = Issuer::new(key, args.iss, args.aud).with_access_ttl(args.ttl);
    let mut builder = issuer
        .access_token(&args.sub)
        .claims(&claims)
        .map_err(Failure::usage)?;
    if let Some(at) = args.at {
        builder = builder.issued_at(at);
    }
    let issued = builder.issue().map_err(Failure::usage)?;
    print_line(&issued.token);
    Ok(())
}

/// Arguments of `gatepass verify`.
#[derive(Debug)]
pub(crate) struct VerifyArgs {
    pub(crate) keyset: Option<PathBuf>,
    pub(crate) jwks: Option<String>,
    pub(crate) profile: Profile,
    /// Accepted issuers (at least one, as clap requires).
    pub(crate) iss: Vec<String>,
    /// Accepted audiences; empty only with `--no-audience` (clap enforces one or the other).
    pub(crate) aud: Vec<String>,
    pub(crate) no_audience: bool,
    pub(crate) require: Vec<String>,
    pub(crate) kind: TokenType,
    pub(crate) algs: Vec<Algorithm>,
    pub(crate) leeway: u64,
    pub(crate) max_age: Option<u64>,
    pub(crate) revocations: Option<PathBuf>,
    pub(crate) at: Option<u64>,
    pub(crate) token: OsString,
}

/// A JWK Set file, read exactly as the remote client reads a fetched set: public keys only.
fn load_jwks(source: &str) -> Result<VerificationKeys, Failure> {
    let bytes = std::fs::read(Path::new(source))
        .map_err(|e| Failure::usage(format!("cannot read the JWKS {source}: {e}")))?;
    let (keys, _skipped) = VerificationKeys::from_jwks_json(&bytes)?;
    Ok(keys)
}

fn is_url(source: &str) -> bool {
    source.contains("://")
}

/// A remote JWK Set: a one-thread runtime and a client that has fetched the set once. An
/// unreachable or unusable set is a configuration error (exit 2), like an unreadable file.
fn remote_jwks(url: &str) -> Result<(tokio::runtime::Runtime, JwksClient), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))?;
    let client = JwksClient::builder(url)
        .runtime(runtime.handle().clone())
        .build()
        .map_err(Failure::usage)?;
    runtime
        .block_on(client.refresh())
        .map_err(|e| Failure::usage(format!("cannot load the JWKS {url}: {e}")))?;
    Ok((runtime, client))
}

pub(crate) fn verify(args: VerifyArgs) -> CliResult {
    let mut remote = None;
    let keys: Arc<dyn KeySource> = match (&args.keyset, &args.jwks) {
        (Some(path), None) => Arc::new(Keyset::load(path)?.verification_keys()),
        (None, Some(url)) if is_url(url) => {
            let (runtime, client) = remote_jwks(url)?;
            let keys = Arc::new(client.clone());
            remote = Some((runtime, client));
            keys
        }
        (None, Some(source)) => Arc::new(load_jwks(source)?),
        _ => return Err(Failure::usage("give exactly one of --keyset or --jwks")),
    };
    let mut issuers = args.iss.into_iter();
    let mut audiences = args.aud.into_iter();
    let mut builder = Verifier::builder_shared(
        keys,
        issuers.next().unwrap_or_default(),
        audiences.next().unwrap_or_default(),
    )
    .profile(args.profile)
    .leeway(Duration::from_secs(args.leeway));
    if args.no_audience {
        builder = builder.no_audience();
    }
    for issuer in issuers {
        builder = builder.issuer(issuer);
    }
    for audience in audiences {
        builder = builder.audience(audience);
    }
    for claim in args.require {
        builder = builder.require(claim);
    }
    if let Some(max_age) = args.max_age {
        builder = builder.max_age(Duration::from_secs(max_age));
    }
    if !args.algs.is_empty() {
        builder = builder.algorithms(AlgorithmSet::from_iter(args.algs.iter().copied()));
    }
    if let Some(at) = args.at {
        builder = builder.clock(Arc::new(ManualClock::new(at)));
    }
    if let Some(path) = &args.revocations {
        let list = FileStore::read_revocations(path).map_err(|e| {
            Failure::usage(format!("cannot read revocations {}: {e}", path.display()))
        })?;
        builder = builder.revocations(Arc::new(list));
    }
    let verifier = builder.build()?;
    let token = read_token(&args.token)?;
    let run = || -> Result<Value, gatepass::VerifyError> {
        Ok(match args.kind {
            TokenType::Refresh => {
                let verified = verifier.verify_refresh(&token)?;
                json!({ "header": verified.header(), "claims": verified.claims() })
            }
            // Only what the profile requires (the gatepass profile requires every claim
            // of its tokens, so their output is unchanged).
            _ => {
                let verified = verifier.verify_jwt(&token)?;
                json!({ "header": verified.header(), "claims": verified.claims() })
            }
        })
    };
    let output = match &remote {
        // A kid the set lacked waits for one refetch (the cooldown permitting).
        Some((runtime, client)) => runtime.block_on(client.verify_with(run))?,
        None => run()?,
    };
    print_json(&output, false)
}

pub(crate) fn inspect(token: &OsStr) -> CliResult {
    let token = read_token(token)?;
    let shown = UntrustedToken::new(&token)?.insecure_inspect()?;
    print_json(
        &json!({ "verified": false, "header": shown.header, "claims": shown.claims }),
        false,
    )
}
