//! The durable store: the memory store's state, journaled to an append-only file.
//!
//! Every change is appended and fsynced before its call returns, so an acknowledged
//! logout survives a crash. One writer thread owns the journal: it decides each change
//! against the session table, appends the changes waiting at that moment in one write
//! and one fsync (group commit), then applies them to the in-memory tables under a short
//! lock and answers the callers. Readers (token verification, [`SessionStore::session`])
//! only take that short lock, so they never wait for a disk sync, and no async worker
//! thread ever blocks on one. Writers are serialized by the writer thread, so a
//! check-and-update such as refresh rotation stays atomic.
//!
//! On open, the journal is streamed record by record (never held whole); an unterminated
//! last line (the process died mid-append) is cut off and kept beside the journal, while a
//! complete line that is damaged anywhere refuses the open. Compaction rewrites the live
//! state to a temporary file (write, fsync, rename); it runs at open when the journal is
//! well above its live state, and from the write path whenever the journal outgrows twice
//! the live state. Temporary files an interrupted compaction left are removed at open. A
//! lock file keeps a second process from opening the same journal.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;

use super::journal::{self, Corruption, Damage, ReadError, Reader, Record, MAX_RECORD_BYTES};
use super::list::{RevocationList, RevocationView, SubjectCutoff};
use super::reply::{self, Reply};
use super::store::{
    ConsumeOutcome, ConsumeRequest, EndReason, PruneReport, SessionRecord, SessionStore,
    StoreError, StoreFuture,
};
use super::table::{self, Change, SessionTable};
use crate::clock::UnixTime;
use crate::fs::{private_options, remove_stale_temps, sync_dir, temp_path, FileLock};

/// Journals smaller than this are never compacted: not worth the rewrite.
const COMPACT_MIN_BYTES: u64 = 1 << 20;
/// The journal may grow to this many times its estimated live state before compaction.
const COMPACT_RATIO: u64 = 2;
/// A group commit stops taking waiting changes past this many bytes.
const MAX_BATCH_BYTES: usize = 4 << 20;
/// Session ids per logout-everywhere record, so that every record stays far below
/// [`MAX_RECORD_BYTES`] however many sessions a subject has.
const SIDS_PER_RECORD: usize = 10_000;
/// Buffer size for streaming the journal in (replay) and out (compaction).
const IO_BUFFER: usize = 1 << 16;

/// Runs on the writer thread just before each journal sync (tests make syncs slow).
#[cfg(test)]
type SyncHook = Arc<dyn Fn() + Send + Sync>;

/// What readers and the writer thread share.
#[derive(Debug)]
struct Shared {
    table: RwLock<SessionTable>,
    list: Arc<RevocationList>,
    /// Current journal length in bytes.
    len: AtomicU64,
    /// Journal length right after the last compaction (or open).
    compacted_len: AtomicU64,
}

impl Shared {
    fn table(&self) -> RwLockReadGuard<'_, SessionTable> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn table_mut(&self) -> RwLockWriteGuard<'_, SessionTable> {
        self.table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Live entries: sessions and revocations.
    fn entries(&self) -> u64 {
        let counts = self.list.counts();
        (self.table().len() + counts.tokens + counts.sessions + counts.subjects) as u64
    }
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
    shared: Arc<Shared>,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    _lock: FileLock,
}

/// What [`FileStore::open`] cut off the end of the journal: an unterminated last line (a
/// write the process never finished), whose bytes were moved to a file beside the journal.
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

fn io(err: &io::Error) -> StoreError {
    StoreError::Io(err.to_string())
}

/// The error for a damaged journal: where, and how an operator recovers.
fn corrupt(path: &Path, corruption: Corruption) -> StoreError {
    let offset = corruption.offset;
    let what = match corruption.damage {
        Damage::Unreadable => "is damaged (it fails its checksum or is not a record)".to_owned(),
        Damage::TooLong => format!("is longer than {MAX_RECORD_BYTES} bytes"),
    };
    StoreError::Corrupt(format!(
        "{path}: the complete record at byte {offset} {what}; refusing to open, since skipping \
         it could undo a logout. To recover, stop every process using the journal, keep a copy \
         of it, then restore it from a backup or cut it at that byte (`truncate -s {offset} \
         {path}`), which loses every change recorded from there on",
        path = path.display()
    ))
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

/// What a replay read.
struct Loaded {
    records: u64,
    valid_len: u64,
    torn_tail: bool,
}

/// Stream the journal at `path` (open as `file`) into `table` and `list`.
fn load(
    path: &Path,
    file: &File,
    table: &mut SessionTable,
    list: &RevocationList,
) -> Result<Loaded, StoreError> {
    let mut reader = Reader::new(BufReader::with_capacity(IO_BUFFER, file), MAX_RECORD_BYTES);
    let mut records = 0;
    loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                apply(table, list, record);
                records += 1;
            }
            Ok(None) => break,
            Err(ReadError::Corrupt(corruption)) => return Err(corrupt(path, corruption)),
            Err(ReadError::Io(e)) => return Err(io(&e)),
        }
    }
    Ok(Loaded {
        records,
        valid_len: reader.valid_len(),
        torn_tail: reader.torn_tail(),
    })
}

/// Write the live state as journal records to `out`; returns the bytes written.
fn write_live(
    table: &SessionTable,
    list: &RevocationList,
    out: &mut impl io::Write,
) -> io::Result<u64> {
    let mut written = 0u64;
    let mut put = |record: &Record| -> io::Result<()> {
        let line = journal::encode(record);
        written += line.len() as u64;
        out.write_all(&line)
    };
    for session in table.records() {
        put(&Record::Session {
            session: session.clone(),
        })?;
    }
    let snapshot = list.snapshot();
    for (jti, until) in snapshot.tokens {
        put(&Record::Token { jti, until })?;
    }
    for (sid, until) in snapshot.sessions {
        put(&Record::End {
            sid,
            until,
            reason: EndReason::Revoked,
        })?;
    }
    for (sub, cutoff) in snapshot.subjects {
        put(&Record::Subject {
            sub,
            before: cutoff.before,
            cutoff_until: cutoff.until,
            sids: Vec::new(),
            until: 0,
        })?;
    }
    Ok(written)
}

/// Copy the bytes of `file` from `from` on into a new private file at `to`, fsynced.
fn keep_tail(file: &mut File, from: u64, to: &Path) -> io::Result<u64> {
    file.seek(SeekFrom::Start(from))?;
    let mut kept = private_options().open(to)?;
    let copied = io::copy(file, &mut kept)?;
    kept.sync_all()?;
    sync_dir(to);
    Ok(copied)
}

/// One change waiting for the writer thread, with the caller's reply slot.
enum Job {
    Create(SessionRecord, Reply<()>),
    Consume(ConsumeRequest, Reply<ConsumeOutcome>),
    RevokeSession {
        sid: String,
        until: UnixTime,
        reason: EndReason,
        reply: Reply<bool>,
    },
    RevokeSubject {
        sub: String,
        cutoff: SubjectCutoff,
        until: UnixTime,
        reply: Reply<Vec<String>>,
    },
    RevokeToken {
        jti: String,
        until: UnixTime,
        reply: Reply<()>,
    },
    Prune(UnixTime, Reply<PruneReport>),
    Compact(Reply<()>),
}

/// A deferred answer: sent once the batch it belongs to is durable (or failed).
type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

fn answer<T: Send + 'static>(reply: Reply<T>, value: T) -> Done {
    Box::new(move |result| reply.send(result.map(|()| value)))
}

/// Changes decided but not yet durable: their bytes, their records (applied after the
/// fsync), and the sessions they touch (so later changes of the batch decide on them).
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    records: Vec<Record>,
    sessions: HashMap<String, Option<SessionRecord>>,
    done: Vec<Done>,
}

impl Batch {
    /// The session as the batch leaves it.
    fn session(&self, table: &SessionTable, sid: &str) -> Option<SessionRecord> {
        match self.sessions.get(sid) {
            Some(pending) => pending.clone(),
            None => table.get(sid).cloned(),
        }
    }

    /// The subject's live sessions as the batch leaves them.
    fn sids_of(&self, table: &SessionTable, sub: &str) -> Vec<String> {
        let mut sids: Vec<String> = table
            .sids_of(sub)
            .into_iter()
            .filter(|sid| !matches!(self.sessions.get(sid), Some(None)))
            .collect();
        sids.extend(self.sessions.iter().filter_map(|(sid, pending)| {
            pending
                .as_ref()
                .filter(|s| s.sub == sub && table.get(sid).is_none())
                .map(|_| sid.clone())
        }));
        sids
    }

    /// Add `records` as one change, or refuse it whole if a record is over the bound.
    fn push(&mut self, records: Vec<Record>, done: Done) {
        let lines: Vec<Vec<u8>> = records.iter().map(journal::encode).collect();
        if lines.iter().any(|l| l.len() > MAX_RECORD_BYTES + 1) {
            done(Err(StoreError::Io(format!(
                "a journal record would be longer than {MAX_RECORD_BYTES} bytes"
            ))));
            return;
        }
        for record in &records {
            match record {
                Record::Session { session } => {
                    self.sessions
                        .insert(session.sid.clone(), Some(session.clone()));
                }
                Record::End { sid, .. } => {
                    self.sessions.insert(sid.clone(), None);
                }
                Record::Subject { sids, .. } => {
                    for sid in sids {
                        self.sessions.insert(sid.clone(), None);
                    }
                }
                Record::Token { .. } => {}
            }
        }
        self.bytes.extend(lines.into_iter().flatten());
        self.records.extend(records);
        self.done.push(done);
    }

    fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

/// The journal's only writer.
struct Writer {
    path: PathBuf,
    file: File,
    len: u64,
    compacted_len: u64,
    /// Live entries right after the last compaction (or open).
    compacted_entries: u64,
    /// Set when an append failed and could not be rolled back: refuse further writes.
    failed: bool,
    shared: Arc<Shared>,
    #[cfg(test)]
    before_sync: Option<SyncHook>,
}

impl Writer {
    fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = Batch::default();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                self.take(&mut batch, job);
                if batch.bytes.len() >= MAX_BATCH_BYTES {
                    self.commit(&mut batch);
                }
                next = jobs.try_recv().ok();
            }
            self.commit(&mut batch);
            if self.wants_compaction() {
                if let Err(e) = self.compact() {
                    tracing::warn!(event = "journal_compaction_failed", path = %self.path.display(), error = %e);
                }
            }
        }
    }

    /// Decide `job` into `batch` (or, for prune and compaction, commit the batch and run it).
    fn take(&mut self, batch: &mut Batch, job: Job) {
        let shared = self.shared.clone();
        match job {
            Job::Create(session, reply) => {
                batch.push(vec![Record::Session { session }], answer(reply, ()));
            }
            Job::Consume(request, reply) => {
                let current = batch.session(&shared.table(), &request.sid);
                let (outcome, change) = table::decide(current.as_ref(), &request);
                let records = match change {
                    Change::None => Vec::new(),
                    Change::Updated(session) => vec![Record::Session { session: *session }],
                    Change::Ended { sid, reason } => vec![Record::End {
                        sid,
                        until: request.revoke_until,
                        reason,
                    }],
                };
                batch.push(records, answer(reply, outcome));
            }
            Job::RevokeSession {
                sid,
                until,
                reason,
                reply,
            } => {
                let live = batch.session(&shared.table(), &sid).is_some();
                batch.push(
                    vec![Record::End { sid, until, reason }],
                    answer(reply, live),
                );
            }
            Job::RevokeSubject {
                sub,
                cutoff,
                until,
                reply,
            } => {
                let sids = batch.sids_of(&shared.table(), &sub);
                let mut chunks: Vec<Vec<String>> = sids
                    .chunks(SIDS_PER_RECORD)
                    .map(<[String]>::to_vec)
                    .collect();
                if chunks.is_empty() {
                    chunks.push(Vec::new());
                }
                let records = chunks
                    .into_iter()
                    .map(|chunk| Record::Subject {
                        sub: sub.clone(),
                        before: cutoff.before,
                        cutoff_until: cutoff.until,
                        sids: chunk,
                        until,
                    })
                    .collect();
                batch.push(records, answer(reply, sids));
            }
            Job::RevokeToken { jti, until, reply } => {
                batch.push(vec![Record::Token { jti, until }], answer(reply, ()));
            }
            Job::Prune(now, reply) => {
                self.commit(batch);
                reply.send(self.prune(now));
            }
            Job::Compact(reply) => {
                self.commit(batch);
                reply.send(self.compact());
            }
        }
    }

    /// Make the batch durable (one write, one fsync), apply it, and answer its callers.
    fn commit(&mut self, batch: &mut Batch) {
        if batch.is_empty() {
            return;
        }
        let batch = std::mem::take(batch);
        let result = if batch.bytes.is_empty() {
            Ok(())
        } else {
            self.append(&batch.bytes)
        };
        if result.is_ok() {
            let mut table = self.shared.table_mut();
            for record in batch.records {
                apply(&mut table, &self.shared.list, record);
            }
        }
        for done in batch.done {
            done(result.clone());
        }
    }

    /// Append `bytes` and fsync; on failure roll the file back to where it was.
    fn append(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Io(
                "an earlier write failed; reopen the store".into(),
            ));
        }
        let result = self.file.write_all(bytes).and_then(|()| {
            #[cfg(test)]
            if let Some(hook) = &self.before_sync {
                hook();
            }
            self.file.sync_data()
        });
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                self.shared.len.store(self.len, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let rolled_back = self.file.set_len(self.len).is_ok()
                    && self.file.seek(SeekFrom::Start(self.len)).is_ok()
                    && self.file.sync_data().is_ok();
                self.failed = !rolled_back;
                Err(io(&e))
            }
        }
    }

    fn prune(&mut self, now: UnixTime) -> Result<PruneReport, StoreError> {
        let report = {
            let mut table = self.shared.table_mut();
            let removed = table.expire(now);
            let revocations_removed = self.shared.list.prune(now);
            PruneReport {
                sessions_removed: removed.len(),
                revocations_removed,
                sessions_live: table.len(),
            }
        };
        // Timed-out sessions need no journal record: replay re-derives their expiry.
        if self.wants_compaction() {
            self.compact()?;
        }
        Ok(report)
    }

    /// Whether the journal has outgrown its live state, estimated from the bytes per
    /// entry of the last compaction (or a typical record before there was one).
    fn wants_compaction(&self) -> bool {
        const TYPICAL_ENTRY_BYTES: u64 = 256;
        if self.failed || self.len < COMPACT_MIN_BYTES {
            return false;
        }
        let per_entry = self
            .compacted_len
            .checked_div(self.compacted_entries)
            .filter(|&n| n > 0)
            .unwrap_or(TYPICAL_ENTRY_BYTES);
        let live = per_entry.saturating_mul(self.shared.entries());
        self.len > live.saturating_mul(COMPACT_RATIO)
    }

    /// Rewrite the journal as the live state only: a temporary file, fsynced, renamed
    /// over the journal. Readers keep reading meanwhile; writers wait for it.
    fn compact(&mut self) -> Result<(), StoreError> {
        let tmp = temp_path(&self.path).map_err(|e| io(&e))?;
        let written = (|| -> io::Result<u64> {
            let mut out = BufWriter::with_capacity(IO_BUFFER, private_options().open(&tmp)?);
            let written = write_live(&self.shared.table(), &self.shared.list, &mut out)?;
            let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            Ok(written)
        })();
        let written = match written {
            Ok(written) => written,
            Err(e) => {
                // The journal is untouched: keep appending to it.
                let _ = fs::remove_file(&tmp);
                return Err(io(&e));
            }
        };
        sync_dir(&self.path);
        // The compacted file is in place; the handle still points at the old, now
        // unlinked one. If the new file cannot be opened, appends through the old handle
        // would be acknowledged and lost at the next start: refuse writes instead.
        let reopened = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .and_then(|mut file| file.seek(SeekFrom::End(0)).map(|_| file));
        let file = match reopened {
            Ok(file) => file,
            Err(e) => {
                self.failed = true;
                return Err(io(&e));
            }
        };
        tracing::debug!(event = "journal_compacted", path = %self.path.display(),
            bytes_before = self.len, bytes_after = written);
        self.file = file;
        self.len = written;
        self.compacted_len = written;
        self.compacted_entries = self.shared.entries();
        self.failed = false;
        self.shared.len.store(written, Ordering::Relaxed);
        self.shared.compacted_len.store(written, Ordering::Relaxed);
        Ok(())
    }
}

impl FileStore {
    /// Open (or create) the journal at `path`, taking its lock; a second opener, in this
    /// process or another, gets [`StoreError::Locked`].
    ///
    /// The journal is read record by record, whatever its size. An unterminated last line
    /// is cut off (see [`torn_tail`](Self::torn_tail)); a damaged complete line anywhere
    /// is [`StoreError::Corrupt`], naming the file, the byte offset and how to recover.
    /// A journal well above its live state is compacted before this returns, and
    /// temporary files left by an interrupted compaction are removed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_inner(
            path.as_ref(),
            #[cfg(test)]
            None,
        )
    }

    fn open_inner(
        path: &Path,
        #[cfg(test)] before_sync: Option<SyncHook>,
    ) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let lock = FileLock::try_acquire(&path).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => StoreError::Locked(e.to_string()),
            _ => io(&e),
        })?;
        for stale in remove_stale_temps(&path).map_err(|e| io(&e))? {
            tracing::warn!(event = "journal_temp_removed", path = %stale.display(),
                "removed a temporary file an interrupted compaction left");
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| io(&e))?;
        let mut table = SessionTable::default();
        let list = Arc::new(RevocationList::new());
        let loaded = load(&path, &file, &mut table, &list)?;
        let len = loaded.valid_len;
        let mut torn_tail = None;
        if loaded.torn_tail {
            // An unterminated line is a write that never finished; its bytes are kept
            // beside the journal all the same rather than destroyed.
            let kept = torn_tail_path(&path);
            let bytes = keep_tail(&mut file, len, &kept).map_err(|e| io(&e))?;
            tracing::warn!(event = "journal_torn_tail", path = %path.display(), kept_bytes = len,
                cut_bytes = bytes, moved_to = %kept.display(),
                "cut an unterminated last record off the journal");
            file.set_len(len).map_err(|e| io(&e))?;
            file.sync_all().map_err(|e| io(&e))?;
            torn_tail = Some(TornTail {
                bytes,
                moved_to: kept,
            });
        }
        file.seek(SeekFrom::Start(len)).map_err(|e| io(&e))?;
        sync_dir(&path);
        let shared = Arc::new(Shared {
            table: RwLock::new(table),
            list,
            len: AtomicU64::new(len),
            compacted_len: AtomicU64::new(len),
        });
        let entries = shared.entries();
        let mut writer = Writer {
            path: path.clone(),
            file,
            len,
            compacted_len: len,
            compacted_entries: entries,
            failed: false,
            shared: shared.clone(),
            #[cfg(test)]
            before_sync,
        };
        // Far more records than live entries: measure the live state exactly, and
        // compact now if the journal is well above it (a server restarted more often than
        // it prunes would otherwise never compact).
        if len >= COMPACT_MIN_BYTES && loaded.records > entries.saturating_mul(COMPACT_RATIO) {
            let live =
                write_live(&shared.table(), &shared.list, &mut io::sink()).map_err(|e| io(&e))?;
            if len > live.saturating_mul(COMPACT_RATIO) {
                match writer.compact() {
                    Ok(()) => tracing::info!(event = "journal_compacted_at_open",
                        path = %path.display(), bytes_before = len, bytes_after = writer.len),
                    // The journal itself is fine (a full disk, say): start on it as it is,
                    // unless the compacted file replaced it and could not be reopened.
                    Err(e) if !writer.failed => tracing::warn!(
                        event = "journal_compaction_failed", path = %path.display(), error = %e,
                        "starting on the uncompacted journal"),
                    Err(e) => return Err(e),
                }
            }
        }
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("gatepass-journal".into())
            .spawn(move || writer.run(&queue))
            .map_err(|e| io(&e))?;
        Ok(Self {
            path,
            torn_tail,
            shared,
            jobs: Some(jobs),
            writer: Some(thread),
            _lock: lock,
        })
    }

    /// Read the revocations of a journal without taking its lock or changing it (for
    /// `gatepass verify --revocations FILE` next to a running server). A torn tail is
    /// ignored; a damaged complete record is [`StoreError::Corrupt`].
    pub fn read_revocations(path: impl AsRef<Path>) -> Result<RevocationList, StoreError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| io(&e))?;
        let list = RevocationList::new();
        // The sessions are replayed too (a logout removes one), then dropped.
        let mut table = SessionTable::default();
        load(path, &file, &mut table, &list)?;
        Ok(list)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The revocation list itself (for metrics and tests).
    pub fn list(&self) -> &Arc<RevocationList> {
        &self.shared.list
    }

    /// Hand a job to the writer thread; the returned future resolves once it is durable.
    fn submit<T: Send + 'static>(&self, job: impl FnOnce(Reply<T>) -> Job) -> StoreFuture<'_, T> {
        let (reply, answer) = reply::channel();
        let job = job(reply);
        match &self.jobs {
            // A send fails only when the writer thread is gone: the job, and its reply,
            // are dropped, which answers with an error.
            Some(jobs) => drop(jobs.send(job)),
            None => drop(job),
        }
        Box::pin(answer)
    }

    /// Rewrite the journal as the live state only (what `gatepass store compact` does
    /// offline; a running store also compacts by itself as the journal grows).
    ///
    /// ```
    /// use gatepass::FileStore;
    /// # let dir = tempfile::tempdir()?;
    /// let store = FileStore::open(dir.path().join("sessions.journal"))?;
    /// store.compact()?;
    /// let (len, compacted) = store.journal_len();
    /// assert_eq!(len, compacted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact(&self) -> Result<(), StoreError> {
        reply::block_on(self.submit(Job::Compact))
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
        (
            self.shared.len.load(Ordering::Relaxed),
            self.shared.compacted_len.load(Ordering::Relaxed),
        )
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        // Closing the queue stops the writer once it has answered what it holds; wait for
        // it, so the journal is closed before the lock is released.
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl SessionStore for FileStore {
    fn create_session(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        self.submit(|reply| Job::Create(record, reply))
    }

    fn consume_if_current(&self, request: ConsumeRequest) -> StoreFuture<'_, ConsumeOutcome> {
        self.submit(|reply| Job::Consume(request, reply))
    }

    fn revoke_session(
        &self,
        sid: &str,
        until: UnixTime,
        reason: EndReason,
    ) -> StoreFuture<'_, bool> {
        let sid = sid.to_owned();
        self.submit(|reply| Job::RevokeSession {
            sid,
            until,
            reason,
            reply,
        })
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: SubjectCutoff,
        until: UnixTime,
    ) -> StoreFuture<'_, Vec<String>> {
        let sub = sub.to_owned();
        self.submit(|reply| Job::RevokeSubject {
            sub,
            cutoff,
            until,
            reply,
        })
    }

    fn revoke_token(&self, jti: &str, until: UnixTime) -> StoreFuture<'_, ()> {
        let jti = jti.to_owned();
        self.submit(|reply| Job::RevokeToken { jti, until, reply })
    }

    fn session(&self, sid: &str) -> StoreFuture<'_, Option<SessionRecord>> {
        let record = self.shared.table().get(sid).cloned();
        Box::pin(std::future::ready(Ok(record)))
    }

    /// Read from the committed table, like [`session`](Self::session): what a listing
    /// shows is durable.
    fn list_sessions(&self, sub: &str, now: UnixTime) -> StoreFuture<'_, Vec<SessionRecord>> {
        let records = self.shared.table().live_sessions_of(sub, now);
        Box::pin(std::future::ready(Ok(records)))
    }

    fn prune(&self, now: UnixTime) -> StoreFuture<'_, PruneReport> {
        self.submit(|reply| Job::Prune(now, reply))
    }

    fn revocations(&self) -> Arc<dyn RevocationView> {
        self.shared.list.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::revocation::list::RevocationQuery;
    use crate::Revoked;

    /// A gate the writer thread waits at before syncing while `held`.
    #[derive(Default)]
    struct Gate {
        held: AtomicBool,
        syncing: Mutex<bool>,
        changed: Condvar,
    }

    impl Gate {
        fn enter(&self) {
            if !self.held.load(Ordering::SeqCst) {
                return;
            }
            let mut syncing = self.syncing.lock().unwrap();
            *syncing = true;
            self.changed.notify_all();
            while self.held.load(Ordering::SeqCst) {
                syncing = self.changed.wait(syncing).unwrap();
            }
            *syncing = false;
        }

        fn wait_until_syncing(&self) {
            let syncing = self.syncing.lock().unwrap();
            let (syncing, timeout) = self
                .changed
                .wait_timeout_while(syncing, Duration::from_secs(10), |s| !*s)
                .unwrap();
            assert!(*syncing && !timeout.timed_out(), "the writer never synced");
        }

        fn release(&self) {
            let _syncing = self.syncing.lock().unwrap();
            self.held.store(false, Ordering::SeqCst);
            self.changed.notify_all();
        }
    }

    #[test]
    fn verification_and_session_reads_do_not_wait_for_a_journal_sync() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::default());
        let hook: SyncHook = {
            let gate = gate.clone();
            Arc::new(move || gate.enter())
        };
        let store = FileStore::open_inner(&dir.path().join("journal"), Some(hook)).unwrap();
        let session = SessionRecord::new("s1".into(), "alice".into(), "r0".into(), 10, 1000, 100);
        reply::block_on(store.create_session(session.clone())).unwrap();

        // A logout whose fsync does not return until released.
        gate.held.store(true, Ordering::SeqCst);
        let logout = store.revoke_session("s1", 5000, EndReason::Logout);
        gate.wait_until_syncing();

        let view = store.revocations();
        let query = RevocationQuery::new("j", Some("s1"), "alice", 10);
        std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel();
            let (store, view, query) = (&store, &view, &query);
            scope.spawn(move || {
                let read = reply::block_on(store.session("s1")).unwrap();
                let verdict = view.check(query);
                done.send((read, verdict)).unwrap();
            });
            let (read, verdict) = finished
                .recv_timeout(Duration::from_secs(5))
                .expect("a read waited for the sync");
            // Nothing not yet durable is visible: the logout is still in flight.
            assert_eq!(read, Some(session));
            assert_eq!(verdict, None);
        });

        gate.release();
        assert_eq!(reply::block_on(logout), Ok(true));
        assert_eq!(view.check(&query), Some(Revoked::Session));
        assert_eq!(reply::block_on(store.session("s1")).unwrap(), None);
    }

    #[test]
    fn of_many_concurrent_consumes_of_one_token_exactly_one_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path().join("journal")).unwrap();
        let session = SessionRecord::new("s".into(), "u".into(), "r0".into(), 10, 1000, 100);
        reply::block_on(store.create_session(session)).unwrap();
        let request = |n: u64| {
            ConsumeRequest::new(
                "s".into(),
                0,
                "r0".into(),
                11,
                format!("next-{n}"),
                crate::IssuedPair::new("a".into(), "r".into(), 300),
                0,
                600,
            )
        };
        // Submitted together, so they are decided within one group commit.
        let answers: Vec<_> = (0..64)
            .map(|n| store.consume_if_current(request(n)))
            .collect();
        let outcomes: Vec<_> = answers
            .into_iter()
            .map(|a| reply::block_on(a).unwrap())
            .collect();
        assert_eq!(outcomes[0], ConsumeOutcome::Rotated);
        assert_eq!(outcomes[1], ConsumeOutcome::Reused);
        // The reuse ended the session: every later attempt finds it gone.
        assert!(outcomes[2..].iter().all(|o| *o == ConsumeOutcome::Unknown));
        assert!(store.list().is_session_revoked("s"));
    }
}
