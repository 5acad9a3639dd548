//! Revocation: what statelessness cannot give. Dead token ids, dead sessions, subject
//! cut-offs, and each live session's rotation position, behind one [`SessionStore`]
//! trait with memory, file, (feature `redis`) Redis and (feature `postgres`) PostgreSQL
//! implementations, and one
//! synchronous [`RevocationView`] that verifiers read without waiting on I/O.

mod client_info;
mod file;
/// `pub(crate)` for the `revocation_journal` fuzz target.
pub(crate) mod journal;
mod list;
mod memory;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod mirror;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod reply;
mod store;
mod table;

#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
pub use client_info::{ClientInfo, MAX_USER_AGENT_BYTES};
pub use file::{FileStore, TornTail};
pub use list::{
    RevocationCounts, RevocationList, RevocationQuery, RevocationSnapshot, RevocationView,
    SubjectCutoff, ViewHealth,
};
pub use memory::MemoryStore;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub use mirror::StalePolicy;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use replay::{MemoryReplayCache, ReplayCache, ReplayCacheError, ReplayFuture, ReplayKey};
/// For the fuzz targets, which drive store futures without an async runtime.
#[cfg(feature = "fuzzing")]
pub(crate) use reply::block_on;
pub use store::{
    ConsumeOutcome, ConsumeRequest, EndReason, GraceRecord, IssuedPair, PruneReport, SessionRecord,
    SessionStore, StoreError, StoreFuture, StoreReadiness,
};
