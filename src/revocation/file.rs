//! The durable store: the memory store's state, journaled to an append-only file.
//!
//! Every change is appended and fsynced before the call returns, so an acknowledged
//! logout survives a crash. On open the journal is replayed; a torn last record (the
//! process died mid-append) is detected and cut off, never corrupting earlier records.
//! Compaction rewrites the live state to a new file (write, fsync, rename) under the same
//! lock that appends take, so nothing appended concurrently is lost. A lock file keeps a
//! second process from opening the same journal.

use std::fs::{File, OpenOptions};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::journal::{self, Record};
use super::list::{RevocationList, RevocationView, SubjectCutoff};
use super::store::{
    ConsumeOutcome, ConsumeRequest, EndReason, PruneReport, SessionRecord, SessionStore,
    StoreError, StoreFuture,
};
use super::table::{Change, SessionTable};
use crate::clock::UnixTime;
use crate::fs::{read_bounded, sync_dir, write_atomic, FileLock};

/// Journals larger than this are refused at open (a sign of a runaway writer).
const MAX_JOURNAL_BYTES: u64 = 1 << 30;
/// Compact once the journal has grown past this many bytes beyond its last compacted size.
const COMPACT_SLACK_BYTES: u64 = 1 << 20;

#[derive(Debug)]
struct Inner {
    table: SessionTable,
    file: File,
    /// Current journal length in bytes.
    len: u64,
    /// Journal length right after the last compaction (or open).
    compacted_len: u64,
    /// Set when an append failed and could not be rolled back: refuse further writes.
    failed: bool,
}

/// Sessions and revocations journaled to a file (`--store file:PATH`).
///
/// ```no_run
/// use gatepass::{FileStore, SessionStore};
/// let store = FileStore::open("/var/lib/gatepass/sessions.journal")?;
/// let view = store.revocations();
/// # let _ = view;
/// # Ok::<(), gatepass::StoreError>(())
/// ```
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    torn_tail: Option<TornTail>,
    inner: Mutex<Inner>,
    list: Arc<RevocationList>,
    _lock: FileLock,
}

/// What [`FileStore::open`] cut off the end of the journal: an incomplete (or damaged)
/// last record, whose bytes were moved to a file beside the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// How many bytes were cut.
    pub bytes: u64,
    /// Where they were kept: `<journal>.torn-<unix seconds>-<random>`.
    pub moved_to: PathBuf,
}

fn torn_tail_path(journal: &Path) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let salt = crate::crypto::random::bytes::<4>().map_or(0, u32::from_be_bytes);
    let mut name = journal.as_os_str().to_owned();
    name.push(format!(".torn-{now}-{salt:08x}"));
    PathBuf::from(name)
}

fn io(err: &std::io::Error) -> StoreError {
    StoreError::Io(err.to_string())
}

fn read_journal(path: &Path) -> Result<Vec<u8>, StoreError> {
    match read_bounded(path, MAX_JOURNAL_BYTES) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(&e)),
    }
}

fn apply(table: &mut SessionTable, list: &RevocationList, record: Record) {
    match record {
        Record::Session { session } => table.upsert(session),
        Record::End { sid, until, .. } => {
            table.remove(&sid);
            list.revoke_session(&sid, until);
        }
        Record::Token { jti, until } => list.revoke_token(&jti, until),
        Record::Subject {
            sub,
            before,
            cutoff_until,
            sids,
            until,
        } => {
            for sid in sids {
                table.remove(&sid);
                list.revoke_session(&sid, until);
            }
            list.revoke_subject(&sub, before, cutoff_until);
        }
    }
}

/// Replay `bytes` into a fresh table and list.
fn load(
    path: &Path,
    bytes: &[u8],
) -> Result<(SessionTable, RevocationList, journal::Replay), StoreError> {
    let replay = journal::replay(bytes).map_err(|c| {
        StoreError::Corrupt(format!(
            "{}: a record at byte {} is damaged and valid records follow it",
            path.display(),
            c.offset
        ))
    })?;
    let mut table = SessionTable::default();
    let list = RevocationList::new();
    for record in replay.records.iter().cloned() {
        apply(&mut table, &list, record);
    }
    Ok((table, list, replay))
}

impl FileStore {
    /// Open (or create) the journal at `path`, taking its lock; a second opener, in this
    /// process or another, gets [`StoreError::Locked`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = FileLock::try_acquire(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => StoreError::Locked(e.to_string()),
            _ => io(&e),
        })?;
        let bytes = read_journal(&path)?;
        let (table, list, replay) = load(&path, &bytes)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| io(&e))?;
        let len = replay.valid_len as u64;
        let mut torn_tail = None;
        if replay.torn_tail {
            // Usually an interrupted write; but a complete record damaged on disk looks
            // the same, so the bytes are kept beside the journal rather than destroyed.
            let kept = torn_tail_path(&path);
            let tail = bytes.get(replay.valid_len..).unwrap_or_default();
            write_atomic(&kept, tail).map_err(|e| io(&e))?;
            tracing::warn!(event = "journal_torn_tail", path = %path.display(), kept_bytes = len,
                cut_bytes = tail.len(), moved_to = %kept.display(),
                "cut an incomplete or damaged last record off the journal");
            file.set_len(len).map_err(|e| io(&e))?;
            file.sync_all().map_err(|e| io(&e))?;
            torn_tail = Some(TornTail {
                bytes: tail.len() as u64,
                moved_to: kept,
            });
        }
        file.seek(SeekFrom::Start(len)).map_err(|e| io(&e))?;
        sync_dir(&path);
        Ok(Self {
            path,
            torn_tail,
            inner: Mutex::new(Inner {
                table,
                file,
                len,
                compacted_len: len,
                failed: false,
            }),
            list: Arc::new(list),
            _lock: lock,
        })
    }

    /// Read the revocations of a journal without taking its lock or changing it (for
    /// `gatepass verify --revocations FILE` next to a running server). A torn tail is
    /// ignored.
    pub fn read_revocations(path: impl AsRef<Path>) -> Result<RevocationList, StoreError> {
        let path = path.as_ref();
        let bytes = read_bounded(path, MAX_JOURNAL_BYTES).map_err(|e| io(&e))?;
        let (_, list, _) = load(path, &bytes)?;
        Ok(list)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The revocation list itself (for metrics and tests).
    pub fn list(&self) -> &Arc<RevocationList> {
        &self.list
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Append `records` and fsync; on failure roll the file back to where it was.
    fn append(inner: &mut Inner, records: &[Record]) -> Result<(), StoreError> {
        if inner.failed {
            return Err(StoreError::Io(
                "an earlier write failed; reopen the store".into(),
            ));
        }
        let bytes: Vec<u8> = records.iter().flat_map(journal::encode).collect();
        let result = inner
            .file
            .write_all(&bytes)
            .and_then(|()| inner.file.sync_data());
        match result {
            Ok(()) => {
                inner.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let rolled_back = inner.file.set_len(inner.len).is_ok()
                    && inner.file.seek(SeekFrom::Start(inner.len)).is_ok()
                    && inner.file.sync_data().is_ok();
                inner.failed = !rolled_back;
                Err(io(&e))
            }
        }
    }

    /// Rewrite the journal as the live state only.
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut inner = self.inner();
        self.compact_locked(&mut inner)
    }

    fn compact_locked(&self, inner: &mut Inner) -> Result<(), StoreError> {
        let mut records: Vec<Record> = inner
            .table
            .records()
            .map(|s| Record::Session { session: s.clone() })
            .collect();
        let snapshot = self.list.snapshot();
        records.extend(
            snapshot
                .tokens
                .into_iter()
                .map(|(jti, until)| Record::Token { jti, until }),
        );
        records.extend(
            snapshot
                .sessions
                .into_iter()
                .map(|(sid, until)| Record::End {
                    sid,
                    until,
                    reason: EndReason::Revoked,
                }),
        );
        records.extend(
            snapshot
                .subjects
                .into_iter()
                .map(|(sub, c)| Record::Subject {
                    sub,
                    before: c.before,
                    cutoff_until: c.until,
                    sids: Vec::new(),
                    until: 0,
                }),
        );
        let bytes: Vec<u8> = records.iter().flat_map(journal::encode).collect();
        write_atomic(&self.path, &bytes).map_err(|e| io(&e))?;
        // The compacted file is in place; the handle still points at the old, now
        // unlinked one. If the new file cannot be opened, appends through the old handle
        // would be acknowledged and lost at the next start: refuse writes instead (found
        // by review).
        let reopened = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .and_then(|mut file| file.seek(SeekFrom::End(0)).map(|_| file));
        let file = match reopened {
            Ok(file) => file,
            Err(e) => {
                inner.failed = true;
                return Err(io(&e));
            }
        };
        inner.file = file;
        inner.len = bytes.len() as u64;
        inner.compacted_len = inner.len;
        inner.failed = false;
        Ok(())
    }

    /// What opening cut off the end of the journal, if anything (see [`TornTail`]).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("sessions.journal");
    /// std::fs::write(&path, b"0123456789abcdef {\"t\":\"tok")?; // a write cut short
    /// let store = gatepass::FileStore::open(&path)?;
    /// let torn = store.torn_tail().expect("the partial record was cut");
    /// assert_eq!(std::fs::read(&torn.moved_to)?, b"0123456789abcdef {\"t\":\"tok");
    /// assert_eq!(std::fs::metadata(&path)?.len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// Journal bytes now and right after the last compaction.
    pub fn journal_len(&self) -> (u64, u64) {
        let inner = self.inner();
        (inner.len, inner.compacted_len)
    }

    fn done<'a, T: Send + 'a>(result: Result<T, StoreError>) -> StoreFuture<'a, T> {
        Box::pin(std::future::ready(result))
    }
}

impl SessionStore for FileStore {
    fn create_session(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        let mut inner = self.inner();
        let result = Self::append(
            &mut inner,
            &[Record::Session {
                session: record.clone(),
            }],
        )
        .map(|()| inner.table.upsert(record));
        Self::done(result)
    }

    fn consume_if_current(&self, request: ConsumeRequest) -> StoreFuture<'_, ConsumeOutcome> {
        let mut inner = self.inner();
        let (outcome, change) = inner.table.decide(&request);
        let record = match &change {
            Change::None => None,
            Change::Updated(session) => Some(Record::Session {
                session: session.clone(),
            }),
            Change::Ended { sid, reason } => Some(Record::End {
                sid: sid.clone(),
                until: request.revoke_until,
                reason: *reason,
            }),
        };
        if let Some(record) = record {
            if let Err(e) = Self::append(&mut inner, &[record]) {
                return Self::done(Err(e));
            }
        }
        super::memory::MemoryStore::apply(
            &mut inner.table,
            &self.list,
            change,
            request.revoke_until,
        );
        Self::done(Ok(outcome))
    }

    fn revoke_session(
        &self,
        sid: &str,
        until: UnixTime,
        reason: EndReason,
    ) -> StoreFuture<'_, bool> {
        let mut inner = self.inner();
        let record = Record::End {
            sid: sid.to_owned(),
            until,
            reason,
        };
        let result = Self::append(&mut inner, &[record]).map(|()| {
            let live = inner.table.remove(sid).is_some();
            self.list.revoke_session(sid, until);
            live
        });
        Self::done(result)
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: SubjectCutoff,
        until: UnixTime,
    ) -> StoreFuture<'_, Vec<String>> {
        let mut inner = self.inner();
        let sids = inner.table.sids_of(sub);
        let record = Record::Subject {
            sub: sub.to_owned(),
            before: cutoff.before,
            cutoff_until: cutoff.until,
            sids: sids.clone(),
            until,
        };
        let result = Self::append(&mut inner, std::slice::from_ref(&record)).map(|()| {
            apply(&mut inner.table, &self.list, record);
            sids
        });
        Self::done(result)
    }

    fn revoke_token(&self, jti: &str, until: UnixTime) -> StoreFuture<'_, ()> {
        let mut inner = self.inner();
        let result = Self::append(
            &mut inner,
            &[Record::Token {
                jti: jti.to_owned(),
                until,
            }],
        )
        .map(|()| self.list.revoke_token(jti, until));
        Self::done(result)
    }

    fn session(&self, sid: &str) -> StoreFuture<'_, Option<SessionRecord>> {
        Self::done(Ok(self.inner().table.get(sid).cloned()))
    }

    fn prune(&self, now: UnixTime) -> StoreFuture<'_, PruneReport> {
        let mut inner = self.inner();
        let removed = inner.table.expire(now);
        let revocations_removed = self.list.prune(now);
        let report = PruneReport {
            sessions_removed: removed.len(),
            revocations_removed,
            sessions_live: inner.table.len(),
        };
        // Timed-out sessions need no journal record: replay re-derives their expiry.
        let result = if inner.len > inner.compacted_len.saturating_add(COMPACT_SLACK_BYTES)
            || (removed.len() + revocations_removed > 0
                && inner.len > 2 * inner.compacted_len.max(4096))
        {
            self.compact_locked(&mut inner).map(|()| report)
        } else {
            Ok(report)
        };
        Self::done(result)
    }

    fn revocations(&self) -> Arc<dyn RevocationView> {
        self.list.clone()
    }
}
