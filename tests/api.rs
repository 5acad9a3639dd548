//! The one integration-test binary (one link step on 2 cores): each concern a module.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

// The embedding example's application, driven in-process by example_auth_server.rs; its
// `main` is the example's own, unused here.
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../examples/auth_server.rs"]
mod auth_server_example;
#[cfg(feature = "server")]
#[path = "api/example_auth_server.rs"]
mod example_auth_server;

#[path = "api/attacks.rs"]
mod attacks;
#[path = "api/cache.rs"]
mod cache;
#[path = "api/cli_revoke.rs"]
mod cli_revoke;
#[path = "api/cli_users.rs"]
mod cli_users;
#[path = "api/file_store.rs"]
mod file_store;
#[cfg(feature = "axum")]
#[path = "api/fuzz_corpus.rs"]
mod fuzz_corpus;
#[cfg(feature = "axum")]
#[path = "api/http_layer.rs"]
mod http_layer;
#[path = "api/interop.rs"]
mod interop;
#[cfg(feature = "jwks-client")]
#[path = "api/jwks.rs"]
mod jwks;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/log_capture.rs"]
mod log_capture;
#[cfg(feature = "server")]
#[path = "api/packaging.rs"]
mod packaging;
#[cfg(feature = "postgres")]
#[path = "api/postgres_store.rs"]
mod postgres_store;
#[path = "api/profiles.rs"]
mod profiles;
#[cfg(feature = "redis")]
#[path = "api/redis_store.rs"]
mod redis_store;
#[cfg(all(feature = "axum", feature = "jwks-client"))]
#[path = "api/remote_layer.rs"]
mod remote_layer;
#[path = "api/rotation.rs"]
mod rotation;
#[cfg(feature = "server")]
#[path = "api/server.rs"]
mod server;
#[cfg(all(feature = "server", feature = "redis"))]
#[path = "api/server_config.rs"]
mod server_config;
#[cfg(all(feature = "server", feature = "redis"))]
#[path = "api/server_dpop.rs"]
mod server_dpop;
#[cfg(feature = "server")]
#[path = "api/server_grace.rs"]
mod server_grace;
#[cfg(feature = "server")]
#[path = "api/server_keys.rs"]
mod server_keys;
#[cfg(feature = "server")]
#[path = "api/server_limits.rs"]
mod server_limits;
#[cfg(feature = "server")]
#[path = "api/server_login.rs"]
mod server_login;
#[cfg(feature = "server")]
#[path = "api/server_metrics.rs"]
mod server_metrics;
#[cfg(all(feature = "server", feature = "postgres"))]
#[path = "api/server_postgres.rs"]
mod server_postgres;
#[cfg(all(feature = "server", feature = "redis"))]
#[path = "api/server_redis.rs"]
mod server_redis;
#[cfg(feature = "server")]
#[path = "api/server_sessions.rs"]
mod server_sessions;
#[path = "api/sessions.rs"]
mod sessions;
#[path = "api/store_conformance.rs"]
mod store_conformance;
#[path = "api/store_measurements.rs"]
mod store_measurements;
#[cfg(feature = "server")]
#[path = "api/store_throughput.rs"]
mod store_throughput;
#[allow(dead_code)]
#[path = "api/tcp_proxy.rs"]
mod tcp_proxy;
#[cfg(feature = "axum")]
#[path = "api/typed_claims.rs"]
mod typed_claims;
#[path = "api/vectors.rs"]
mod vectors;
#[path = "api/verify_kinds.rs"]
mod verify_kinds;
