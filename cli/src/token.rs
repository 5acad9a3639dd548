//! `issue`, `verify` and `inspect`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatepass::{
    Algorithm, AlgorithmSet, CustomClaims, FileStore, Issuer, JwksClient, KeySelector, KeySource,
    Keyset, ManualClock, Profile, TokenType, UntrustedToken, VerificationKeys, Verifier,
};
use serde_json::{json, Value};

use super::args::{unix_time, KeysetArg};
use super::output::{print_json, print_line, read_token, CliResult, Failure};

/// `gatepass issue`.
#[derive(Debug, clap::Args)]
pub(crate) struct IssueArgs {
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
}

/// `gatepass verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
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

/// `gatepass inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The token, or - to read it from stdin.
    #[arg(value_name = "TOKEN|-")]
    token: OsString,
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
    let keyset = Keyset::load(&args.keyset.path)?;
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
    if args.profile == Profile::Jwt && args.kind == TokenType::Refresh {
        return Err(Failure::usage(
            "--profile jwt verifies access tokens only; --type refresh takes the gatepass profile",
        ));
    }
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

pub(crate) fn inspect(args: InspectArgs) -> CliResult {
    let token = read_token(&args.token)?;
    let shown = UntrustedToken::new(&token)?.insecure_inspect()?;
    print_json(
        &json!({ "verified": false, "header": shown.header, "claims": shown.claims }),
        false,
    )
}
