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
#[path = "api/interop.rs"]
mod interop;
#[cfg(feature = "jwks-client")]
#[path = "api/jwks.rs"]
mod jwks;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/rotation.rs"]
mod rotation;
#[path = "api/verify_kinds.rs"]
mod verify_kinds;
