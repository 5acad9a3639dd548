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

#[path = "api/attacks.rs"]
mod attacks;
#[path = "api/cli_revoke.rs"]
mod cli_revoke;
#[path = "api/file_store.rs"]
mod file_store;
#[path = "api/interop.rs"]
mod interop;
#[path = "api/keys.rs"]
mod keys;
#[cfg(feature = "redis")]
#[path = "api/redis_store.rs"]
mod redis_store;
#[path = "api/sessions.rs"]
mod sessions;
#[path = "api/store_conformance.rs"]
mod store_conformance;
#[path = "api/vectors.rs"]
mod vectors;
#[path = "api/verify_kinds.rs"]
mod verify_kinds;
