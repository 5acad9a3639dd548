//! The one-call remote layer (`AuthLayer::from_jwks_url`, `AuthLayer::from_issuer`)
//! against an identity provider played by a real axum server on a loopback port: its JWK
//! Set and OpenID configuration can change, slow down and fail, and it counts fetches. The
//! API's requests go through the layer in-process (`oneshot`), with real tokens.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gatepass::{
    Algorithm, AuthLayer, Authenticated, DiscoveryError, FetchError, GenerateOptions, Issuer,
    JwksClientError, Keyset, ManualClock, Profile, PublishedJwks, RemoteAuthError, RotationPolicy,
};
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::support::{b64, claims_with, AUD, NOW};

// ---------------------------------------------------------------------------------------
// The identity provider.

struct IdpState {
    jwks: Mutex<Vec<u8>>,
    /// The `issuer` its OpenID configuration names.
    issuer: Mutex<String>,
    base: String,
    delay: Mutex<Duration>,
    failing: AtomicBool,
    jwks_fetches: AtomicUsize,
    config_fetches: AtomicUsize,
}

struct Idp {
    state: Arc<IdpState>,
}

impl Idp {
    async fn start(keyset: &Keyset) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(IdpState {
            jwks: Mutex::new(published(keyset)),
            issuer: Mutex::new(base.clone()),
            base,
            delay: Mutex::new(Duration::ZERO),
            failing: AtomicBool::new(false),
            jwks_fetches: AtomicUsize::new(0),
            config_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .route("/.well-known/openid-configuration", get(configuration))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { state }
    }

    fn base(&self) -> &str {
        &self.state.base
    }

    fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.state.base)
    }

    fn serve(&self, keyset: &Keyset) {
        *self.state.jwks.lock().unwrap() = published(keyset);
    }

    fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    fn fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(state): State<Arc<IdpState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if state.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let body = state.jwks.lock().unwrap().clone();
    ([("content-type", "application/json")], body).into_response()
}

async fn configuration(State(state): State<Arc<IdpState>>) -> Response {
    state.config_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = state.issuer.lock().unwrap().clone();
    let document = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", state.base),
        "id_token_signing_alg_values_supported": ["EdDSA"],
    });
    ([("content-type", "application/json")], document.to_string()).into_response()
}

fn published(keyset: &Keyset) -> Vec<u8> {
    PublishedJwks::new(keyset, &RotationPolicy::default()).to_json()
}

fn new_key(keyset: &mut Keyset) -> String {
    keyset
        .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW - 10)
        .unwrap()
}

/// An access token by `kid` of `keyset`, for `iss`/`aud`, valid now (system clock).
fn token(keyset: &Keyset, kid: &str, iss: &str, aud: &str) -> String {
    let key = keyset.get(kid).unwrap().key().clone();
    Issuer::new(key, iss, aud)
        .access_token("alice")
        .claim("role", "admin")
        .unwrap()
        .issue()
        .unwrap()
        .token
}

/// A well-formed token naming `kid` that no key will ever verify.
fn token_with_made_up_kid(kid: &str) -> String {
    let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#);
    format!(
        "{}.{}.{}",
        b64(header),
        b64(claims_with(&[])),
        b64([7u8; 64])
    )
}

// ---------------------------------------------------------------------------------------
// The API.

#[derive(Clone, Debug, serde::Deserialize)]
struct Roles {
    role: String,
}

/// Another claims type than the layer's: its field is absent from the tokens.
#[derive(Clone, Debug, serde::Deserialize)]
struct Team {
    #[serde(default)]
    team: Option<String>,
}

fn api(
    layer: AuthLayer<impl Clone + Send + Sync + serde::de::DeserializeOwned + 'static>,
) -> Router {
    Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.sub.clone() }),
        )
        .route(
            "/roles",
            get(|auth: Authenticated<Roles>| async move { auth.custom.role.clone() }),
        )
        .route(
            "/team",
            get(|auth: Authenticated<Team>| async move {
                auth.custom
                    .team
                    .clone()
                    .unwrap_or_else(|| format!("{} has no team", auth.sub))
            }),
        )
        .route_layer(layer)
}

struct Answer {
    status: StatusCode,
    challenge: String,
    body: String,
}

async fn call(app: &Router, path: &str, token: &str) -> Answer {
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    Answer {
        status,
        challenge,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn assert_invalid_token(answer: &Answer, kind: &str) {
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        answer.challenge
    );
    assert!(
        answer
            .challenge
            .starts_with(r#"Bearer realm="gatepass", error="invalid_token", error_description=""#),
        "{}",
        answer.challenge
    );
    assert!(
        answer.challenge.contains(&format!("\"{kind}: ")),
        "{}",
        answer.challenge
    );
}

// ---------------------------------------------------------------------------------------
// (a) The one-call layer over a JWKS URL.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_call_layer_over_a_jwks_url_accepts_the_served_key_and_refuses_other_issuers_and_audiences(
) {
    let mut keyset = Keyset::new();
    let kid = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    // Slow: the first request arrives while the first fetch is still running, and waits.
    idp.delay(Duration::from_millis(300));
    let iss = idp.base().to_owned();
    let layer = AuthLayer::from_jwks_url(idp.jwks_url(), &iss, AUD)
        .build()
        .await
        .unwrap();
    let jwks = layer.jwks_client().unwrap().clone();
    assert_eq!(jwks.url(), idp.jwks_url());
    assert_eq!(layer.verifier().profile(), Profile::Jwt);
    let app = api(layer);

    let ok = call(&app, "/me", &token(&keyset, &kid, &iss, AUD)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "alice"));
    assert_eq!(idp.fetches(), 1);

    let wrong_aud = call(&app, "/me", &token(&keyset, &kid, &iss, "other-api")).await;
    assert_invalid_token(&wrong_aud, "wrong_audience");
    let wrong_iss = call(&app, "/me", &token(&keyset, &kid, "https://evil.test", AUD)).await;
    assert_invalid_token(&wrong_iss, "wrong_issuer");
    // A key the provider does not publish: its kid is unknown (and within the cooldown
    // nothing is fetched for it).
    let mut other = Keyset::new();
    let stranger = new_key(&mut other);
    let unknown = call(&app, "/me", &token(&other, &stranger, &iss, AUD)).await;
    assert_invalid_token(&unknown, "unknown_key");
    assert_eq!(idp.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_issuers_audiences_and_verifier_settings_apply() {
    let mut keyset = Keyset::new();
    let kid = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    let iss = idp.base().to_owned();
    let app = api(AuthLayer::from_jwks_url(idp.jwks_url(), &iss, AUD)
        .issuer("https://legacy.test")
        .audience("staging-api")
        .profile(Profile::Gatepass)
        .verifier(|v| v.require("role"))
        .require_keys()
        .build()
        .await
        .unwrap());
    assert_eq!(idp.fetches(), 1, "require_keys fetched during build");
    for (iss, aud) in [(iss.as_str(), "staging-api"), ("https://legacy.test", AUD)] {
        let answer = call(&app, "/me", &token(&keyset, &kid, iss, aud)).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{iss} {aud}: {}",
            answer.challenge
        );
    }
    let key = keyset.get(&kid).unwrap().key().clone();
    let roleless = Issuer::new(key, &iss, AUD)
        .access_token("bob")
        .issue()
        .unwrap()
        .token;
    assert_invalid_token(&call(&app, "/me", &roleless).await, "missing_claim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_keys_fails_the_build_when_the_set_is_unreachable_and_without_it_requests_get_503()
{
    let mut keyset = Keyset::new();
    let kid = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    idp.state.failing.store(true, Ordering::SeqCst);
    let iss = idp.base().to_owned();
    let err = AuthLayer::from_jwks_url(idp.jwks_url(), &iss, AUD)
        .require_keys()
        .build()
        .await
        .unwrap_err();
    assert_eq!(err, RemoteAuthError::Keys(FetchError::Status(503)));
    assert_eq!(err.kind(), "keys");

    let app = api(AuthLayer::from_jwks_url(idp.jwks_url(), &iss, AUD)
        .build()
        .await
        .unwrap());
    // The request waits for the first fetch, which fails: 503, the token may be fine.
    let answer = call(&app, "/me", &token(&keyset, &kid, &iss, AUD)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.challenge, "");
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_urls_are_typed_errors_not_panics() {
    let err = AuthLayer::from_jwks_url("http://idp.example/jwks", "i", "a")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err, RemoteAuthError::Jwks(JwksClientError::InsecureUrl));
    let err = AuthLayer::from_issuer("http://idp.example", "a")
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RemoteAuthError::Discovery(DiscoveryError::InvalidIssuer(JwksClientError::InsecureUrl))
    );
    let err = AuthLayer::from_issuer("https://idp.example/?tenant=1", "a")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RemoteAuthError::Discovery(DiscoveryError::InvalidIssuer(JwksClientError::InvalidUrl(
            _
        )))
    ));
    let err = AuthLayer::from_jwks_url("https://idp.example/jwks", "", "a")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "verifier");
}

// ---------------------------------------------------------------------------------------
// (b), (c) Rotation and made-up kids.

/// A layer whose JWKS client runs on `clock`, loaded with the provider's first set.
async fn loaded_layer(idp: &Idp, clock: &Arc<ManualClock>) -> Router {
    let clock = Arc::clone(clock);
    let layer = AuthLayer::from_jwks_url(idp.jwks_url(), idp.base(), AUD)
        .jwks(|client| client.clock(clock))
        .require_keys()
        .build()
        .await
        .unwrap();
    assert_eq!(idp.fetches(), 1);
    api(layer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_provider_rotates_the_first_requests_with_the_new_kid_succeed_on_one_fetch() {
    let mut keyset = Keyset::new();
    let old = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let app = loaded_layer(&idp, &clock).await;
    let iss = idp.base().to_owned();
    assert_eq!(
        call(&app, "/me", &token(&keyset, &old, &iss, AUD))
            .await
            .status,
        StatusCode::OK
    );

    // The provider rotates: a new key, published; tokens signed by it arrive at once.
    let new = new_key(&mut keyset);
    idp.serve(&keyset);
    idp.delay(Duration::from_millis(300));
    clock.advance(31); // past the cooldown of the first fetch
    let fresh = Arc::new(token(&keyset, &new, &iss, AUD));
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (app, fresh, barrier) = (app.clone(), Arc::clone(&fresh), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                call(&app, "/roles", &fresh).await
            })
        })
        .collect();
    for request in requests {
        let answer = request.await.unwrap();
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "admin"),
            "{}",
            answer.challenge
        );
    }
    assert_eq!(idp.fetches(), 2, "twenty first requests, one refetch");
    // The old key still verifies (the set holds both), and nothing more is fetched.
    assert_eq!(
        call(&app, "/me", &token(&keyset, &old, &iss, AUD))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_kids_cost_at_most_one_fetch_per_cooldown_and_get_401_unknown_key() {
    let mut keyset = Keyset::new();
    let _kid = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let app = loaded_layer(&idp, &clock).await;

    // Within the cooldown of the first fetch: refused at once, nothing fetched.
    for i in 0..50 {
        let answer = call(
            &app,
            "/me",
            &token_with_made_up_kid(&format!("made-up-{i}")),
        )
        .await;
        assert_invalid_token(&answer, "unknown_key");
    }
    assert_eq!(idp.fetches(), 1);

    // Past it: a burst of made-up kids starts one refetch, waits for it, and is refused.
    clock.advance(31);
    idp.delay(Duration::from_millis(200));
    let requests: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                call(&app, "/me", &token_with_made_up_kid(&format!("burst-{i}"))).await
            })
        })
        .collect();
    for request in requests {
        assert_invalid_token(&request.await.unwrap(), "unknown_key");
    }
    assert_eq!(idp.fetches(), 2);
    // And the next cooldown starts: more made-up kids, no more fetches.
    for i in 0..20 {
        let answer = call(&app, "/me", &token_with_made_up_kid(&format!("again-{i}"))).await;
        assert_invalid_token(&answer, "unknown_key");
    }
    assert_eq!(idp.fetches(), 2);
}

// ---------------------------------------------------------------------------------------
// (d) OpenID Connect discovery.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_jwks_of_a_loopback_issuer() {
    let mut keyset = Keyset::new();
    let kid = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    let iss = idp.base().to_owned();
    let layer = AuthLayer::from_issuer(&iss, AUD).build().await.unwrap();
    assert_eq!(layer.jwks_client().unwrap().url(), idp.jwks_url());
    assert_eq!(idp.state.config_fetches.load(Ordering::SeqCst), 1);
    let app = api(layer);
    let answer = call(&app, "/me", &token(&keyset, &kid, &iss, AUD)).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "alice")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_naming_another_issuer_is_refused_at_construction() {
    let mut keyset = Keyset::new();
    new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    let iss = idp.base().to_owned();
    *idp.state.issuer.lock().unwrap() = "https://evil.test".to_owned();
    let err = AuthLayer::from_issuer(&iss, AUD).build().await.unwrap_err();
    assert_eq!(
        err,
        RemoteAuthError::Discovery(DiscoveryError::IssuerMismatch {
            expected: iss.clone(),
            found: "https://evil.test".to_owned(),
        })
    );
    assert_eq!(err.kind(), "discovery");
    // Exactly equal: a terminating slash is another issuer.
    *idp.state.issuer.lock().unwrap() = iss.clone();
    let err = AuthLayer::from_issuer(format!("{iss}/"), AUD)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RemoteAuthError::Discovery(DiscoveryError::IssuerMismatch { .. })
    ));
    assert_eq!(
        idp.fetches(),
        0,
        "no key of an unvouched issuer was fetched"
    );
}

// ---------------------------------------------------------------------------------------
// (e) Claims types.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_extracting_another_claims_type_than_the_layer_get_200_not_500() {
    let mut keyset = Keyset::new();
    let kid = new_key(&mut keyset);
    let idp = Idp::start(&keyset).await;
    let iss = idp.base().to_owned();
    let app = api(AuthLayer::from_jwks_url(idp.jwks_url(), &iss, AUD)
        .build_with_claims::<Roles>()
        .await
        .unwrap());
    let token = token(&keyset, &kid, &iss, AUD);
    for (path, body) in [
        ("/roles", "admin"),
        ("/team", "alice has no team"),
        ("/me", "alice"),
    ] {
        let answer = call(&app, path, &token).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, body),
            "{path}"
        );
    }
}
