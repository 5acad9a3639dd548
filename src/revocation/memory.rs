//! The in-process store: sessions and revocations in memory. Fast and exact, forgotten
//! on restart; for one node, tests, and development.

use std::sync::{Arc, Mutex, MutexGuard};

use super::list::{RevocationList, RevocationView, SubjectCutoff};
use super::store::{
    ConsumeOutcome, ConsumeRequest, EndReason, PruneReport, SessionRecord, SessionStore,
    StoreFuture,
};
use super::table::{Change, SessionTable};
use crate::clock::UnixTime;

/// Sessions and revocations in process memory.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{MemoryStore, SessionStore};
/// let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
/// let view = store.revocations(); // what verifiers consult
/// # let _ = view;
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    table: Mutex<SessionTable>,
    list: Arc<RevocationList>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The revocation list itself (for metrics and tests).
    pub fn list(&self) -> &Arc<RevocationList> {
        &self.list
    }

    fn table(&self) -> MutexGuard<'_, SessionTable> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn apply(
        table: &mut SessionTable,
        list: &RevocationList,
        change: Change,
        until: UnixTime,
    ) {
        match change {
            Change::None => {}
            Change::Updated(record) => table.upsert(*record),
            Change::Ended { sid, .. } => {
                table.remove(&sid);
                list.revoke_session(&sid, until);
            }
        }
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl SessionStore for MemoryStore {
    fn create_session(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        self.table().upsert(record);
        ready(())
    }

    fn consume_if_current(&self, request: ConsumeRequest) -> StoreFuture<'_, ConsumeOutcome> {
        let mut table = self.table();
        let (outcome, change) = table.decide(&request);
        Self::apply(&mut table, &self.list, change, request.revoke_until);
        ready(outcome)
    }

    fn revoke_session(
        &self,
        sid: &str,
        until: UnixTime,
        _reason: EndReason,
    ) -> StoreFuture<'_, bool> {
        let mut table = self.table();
        let live = table.remove(sid).is_some();
        self.list.revoke_session(sid, until);
        ready(live)
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: SubjectCutoff,
        until: UnixTime,
    ) -> StoreFuture<'_, Vec<String>> {
        let mut table = self.table();
        let sids = table.sids_of(sub);
        for sid in &sids {
            table.remove(sid);
            self.list.revoke_session(sid, until);
        }
        self.list.revoke_subject(sub, cutoff.before, cutoff.until);
        ready(sids)
    }

    fn revoke_token(&self, jti: &str, until: UnixTime) -> StoreFuture<'_, ()> {
        self.list.revoke_token(jti, until);
        ready(())
    }

    fn session(&self, sid: &str) -> StoreFuture<'_, Option<SessionRecord>> {
        ready(self.table().get(sid).cloned())
    }

    fn list_sessions(&self, sub: &str, now: UnixTime) -> StoreFuture<'_, Vec<SessionRecord>> {
        ready(self.table().live_sessions_of(sub, now))
    }

    fn prune(&self, now: UnixTime) -> StoreFuture<'_, PruneReport> {
        let mut table = self.table();
        let removed = table.expire(now);
        let revocations_removed = self.list.prune(now);
        ready(PruneReport {
            sessions_removed: removed.len(),
            revocations_removed,
            sessions_live: table.len(),
        })
    }

    fn revocations(&self) -> Arc<dyn RevocationView> {
        self.list.clone()
    }
}
