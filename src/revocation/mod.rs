//! Revocation: what statelessness cannot give. Dead token ids, dead sessions, subject
//! cut-offs, and each live session's rotation position, behind one [`SessionStore`]
//! trait with memory, file, and (feature `redis`) Redis implementations, and one
//! synchronous [`RevocationView`] that verifiers read without waiting on I/O.

mod file;
/// `pub(crate)` for the `revocation_journal` fuzz target.
pub(crate) mod journal;
mod list;
mod memory;
#[cfg(feature = "redis")]
mod mirror;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod table;

#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
pub use file::{FileStore, TornTail};
pub use list::{
    RevocationCounts, RevocationList, RevocationQuery, RevocationSnapshot, RevocationView,
    SubjectCutoff, ViewHealth,
};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use mirror::StalePolicy;
pub use store::{
    ConsumeOutcome, ConsumeRequest, EndReason, GraceRecord, IssuedPair, PruneReport, SessionRecord,
    SessionStore, StoreError, StoreFuture,
};
