//! The one integration-test binary (one link step on 2 cores): each concern a module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

#[path = "api/fuzz_corpus.rs"]
mod fuzz_corpus;
#[path = "api/support.rs"]
mod support;
