//! Target over the durable store's journal: `replay` on the bytes, and `FileStore::open` on
//! a file holding them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use ring::digest;

use super::block_on;
use crate::revocation::journal::{self, Record};
use crate::{
    FileStore, RevocationQuery, RevocationView as _, Revoked, SessionStore as _, StoreError,
};

/// The record every opened journal gets appended, to check that appends after a torn tail
/// are never lost.
const APPENDED_JTI: &str = "gatepass-fuzz-appended";

/// Target `revocation_journal`: the input as journal bytes, and again with every line that
/// starts with `!` sealed (`!<json>` becomes `<checksum> <json>`), so that the fuzzer
/// reaches records behind the SHA-256 checksums.
///
/// Asserts: no panic; `replay` gives the verdict of a model of the documented format (a
/// line is a record if it is complete, 16 lowercase hex digits of SHA-256, a space and a
/// record's JSON; an unterminated last line is a torn tail; the first complete line that is
/// not a record is corruption at its offset, wherever it is); **prefix closure**: every
/// prefix of a journal that replays replays too, to exactly the records whose lines it
/// holds in full, so a torn tail never un-revokes an earlier record; valid records followed
/// by unterminated garbage keep every record, while garbage holding a complete line is
/// corruption at the garbage; `FileStore::open` refuses exactly the corrupt journals, cuts a torn tail
/// off the file, revokes every token, session and subject the records revoke and keeps the
/// sessions they leave live; `read_revocations` agrees; and a record appended after opening
/// is replayed after the old ones when the file is opened again.
pub fn revocation_journal(data: &[u8]) {
    check(data);
    let sealed = seal(data);
    if sealed != data {
        check(&sealed);
    }
}

fn check(bytes: &[u8]) {
    let replayed = journal::replay(bytes);
    let model = model(bytes);
    match (&replayed, &model) {
        (Ok(replay), Ok(model)) => {
            assert_eq!(replay.records, model.records, "replay kept other records");
            assert_eq!(replay.valid_len, model.valid_len, "replay's valid length");
            assert_eq!(replay.torn_tail, model.torn_tail, "replay's torn tail");
        }
        (Err(corruption), Err(offset)) => assert_eq!(corruption.offset, *offset as u64),
        _ => panic!("replay says {replayed:?}, the journal format says {model:?}"),
    }
    let Ok(whole) = model else {
        check_corrupt_file(bytes);
        return;
    };
    check_prefixes(bytes, &whole);
    check_garbage_tail(bytes, &whole);
    check_file_store(bytes, &whole);
}

/// What replaying `bytes` must give, from the format's documentation.
#[derive(Debug)]
struct Model {
    records: Vec<Record>,
    /// Where each record's line ends.
    ends: Vec<usize>,
    valid_len: usize,
    torn_tail: bool,
}

/// A record line: `<16 lowercase hex digits: first 8 bytes of SHA-256 of JSON> <JSON>`.
/// The checksum is computed with ring here, not with the journal's own helper.
fn record(line: &[u8]) -> Option<Record> {
    let (sum, rest) = (line.get(..16)?, line.get(16..)?);
    let json = rest.strip_prefix(b" ")?;
    let hash = digest::digest(&digest::SHA256, json);
    let expected: Vec<u8> = hash.as_ref()[..8]
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|n| b"0123456789abcdef"[usize::from(n)])
        .collect();
    if sum != expected.as_slice() {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// The model: complete lines only (an unterminated last line is a write that never
/// finished, never a record: a torn tail); records up to the first complete line that is
/// not a record, which is corruption at its offset (damage after the write, even last).
fn model(bytes: &[u8]) -> Result<Model, usize> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let rest = &bytes[start..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(len) => {
                lines.push((start, record(&rest[..len]), start + len + 1));
                start += len + 1;
            }
            None => {
                lines.push((start, None, usize::MAX));
                break;
            }
        }
    }
    let mut model = Model {
        records: Vec::new(),
        ends: Vec::new(),
        valid_len: 0,
        torn_tail: false,
    };
    for (start, record, end) in &lines {
        match record {
            Some(record) => {
                model.records.push(record.clone());
                model.ends.push(*end);
                model.valid_len = *end;
            }
            // The unterminated last line (its end is marked `usize::MAX`).
            None if *end == usize::MAX => {
                model.torn_tail = true;
                break;
            }
            None => return Err(*start),
        }
    }
    Ok(model)
}

/// Prefix closure: a prefix of a journal that replays replays too, to exactly the records
/// whose lines it holds in full, in order.
fn check_prefixes(bytes: &[u8], whole: &Model) {
    // Every cut of a short journal; of a long one, 32 spread out and those around each
    // newline (where a line, valid or not, is complete or one byte short).
    let cuts: Vec<usize> = if bytes.len() <= 256 {
        (0..=bytes.len()).collect()
    } else {
        let step = bytes.len() / 32;
        let mut cuts: Vec<usize> = (0..=bytes.len()).step_by(step).collect();
        for (newline, _) in bytes.iter().enumerate().filter(|(_, &b)| b == b'\n') {
            cuts.extend([newline, newline + 1, newline + 2]);
        }
        cuts.push(bytes.len());
        cuts.retain(|&c| c <= bytes.len());
        cuts
    };
    for cut in cuts {
        let prefix = journal::replay(&bytes[..cut]).unwrap_or_else(|c| {
            panic!(
                "the first {cut} bytes of a journal that replays are corrupt at {}",
                c.offset
            )
        });
        let held = whole.ends.iter().filter(|&&end| end <= cut).count();
        assert_eq!(
            prefix.records,
            whole.records[..held],
            "the first {cut} bytes replay to other records"
        );
        assert_eq!(prefix.torn_tail, cut > prefix.valid_len);
    }
}

/// Valid records then unterminated garbage keep every record (a torn tail); garbage that
/// holds a complete line (none of which is a record) is corruption, reported at the
/// garbage, whatever follows it.
fn check_garbage_tail(bytes: &[u8], whole: &Model) {
    let valid = &bytes[..whole.valid_len];
    let mut garbage: Vec<u8> = bytes[whole.valid_len..].to_vec();
    // `x` is not a hex digit: no line of the garbage can be a record.
    let mut line_start = true;
    for b in &mut garbage {
        if line_start && *b != b'\n' {
            *b = b'x';
        }
        line_start = *b == b'\n';
    }
    if garbage.is_empty() {
        garbage.extend_from_slice(b"x\0\xff torn");
    }
    let mut journal = valid.to_vec();
    journal.extend_from_slice(&garbage);
    if garbage.contains(&b'\n') {
        let corruption = journal::replay(&journal).expect_err("a complete garbage line");
        assert_eq!(corruption.offset, valid.len() as u64);
        journal.extend(journal::encode(&appended()));
        let corruption = journal::replay(&journal).expect_err("a record after garbage");
        assert_eq!(corruption.offset, valid.len() as u64);
        return;
    }
    let replay = journal::replay(&journal).unwrap_or_else(|c| {
        panic!(
            "unterminated garbage after valid records is corruption at {}",
            c.offset
        )
    });
    assert_eq!(replay.records, whole.records, "garbage lost a record");
    assert_eq!(replay.valid_len, valid.len());
    assert!(replay.torn_tail);
}

fn appended() -> Record {
    Record::Token {
        jti: APPENDED_JTI.into(),
        until: 1 << 52,
    }
}

/// A fresh journal path, unique across threads (the corpus replay runs tests in
/// parallel) and processes, on tmpfs when there is one: `FileStore` fsyncs every append.
fn scratch_path() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        }
    });
    dir.join(format!(
        "gatepass-fuzz-journal-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes the journal and its lock file, even when a property fails.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut lock = self.0.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

/// A corrupt journal is refused, by `open` and `read_revocations` alike, and left alone.
fn check_corrupt_file(bytes: &[u8]) {
    let scratch = Scratch(scratch_path());
    let path = &scratch.0;
    std::fs::write(path, bytes).expect("the scratch journal is written");
    assert!(matches!(
        FileStore::read_revocations(path),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(FileStore::open(path), Err(StoreError::Corrupt(_))));
    assert_eq!(
        std::fs::read(path).expect("the journal is readable"),
        bytes,
        "open changed a corrupt journal"
    );
}

fn check_file_store(bytes: &[u8], whole: &Model) {
    let scratch = Scratch(scratch_path());
    let path = &scratch.0;
    std::fs::write(path, bytes).expect("the scratch journal is written");
    let read = FileStore::read_revocations(path)
        .unwrap_or_else(|e| panic!("read_revocations refused a journal that replays: {e}"));
    let store =
        FileStore::open(path).unwrap_or_else(|e| panic!("a journal that replays is refused: {e}"));
    assert_eq!(
        std::fs::read(path).expect("the journal is readable"),
        &bytes[..whole.valid_len],
        "open did not cut the torn tail off exactly"
    );
    // What was cut is kept, byte for byte, beside the journal (and removed here).
    match store.torn_tail() {
        Some(torn) => {
            let kept = std::fs::read(&torn.moved_to);
            let _ = std::fs::remove_file(&torn.moved_to);
            assert_eq!(
                kept.expect("the cut tail is kept"),
                &bytes[whole.valid_len..],
                "the kept tail is not what was cut"
            );
        }
        None => assert_eq!(
            bytes.len(),
            whole.valid_len,
            "a tail was cut without a trace"
        ),
    }
    check_state(&store, &whole.records);
    assert_eq!(read.counts(), store.list().counts());

    block_on(store.revoke_token(APPENDED_JTI, 1 << 52)).expect("an append to the journal");
    drop(store);
    let store = FileStore::open(path)
        .unwrap_or_else(|e| panic!("the journal is refused after one append: {e}"));
    assert_eq!(
        store.torn_tail(),
        None,
        "a journal just appended to has no torn tail"
    );
    let mut records = whole.records.clone();
    records.push(appended());
    check_state(&store, &records);
    let replay = journal::replay(&std::fs::read(path).expect("the journal is readable"))
        .expect("the journal replays after one append");
    assert_eq!(replay.records, records, "the append was lost or reordered");
    assert!(!replay.torn_tail);
}

/// The store's state is what the records say: every revocation in force (nothing opening
/// a journal prunes), and the live sessions exactly those whose last word is a session
/// record.
fn check_state(store: &FileStore, records: &[Record]) {
    let list = store.list();
    let mut live = HashMap::new();
    for record in records {
        match record {
            Record::Session { session } => {
                live.insert(session.sid.clone(), Some(session.clone()));
            }
            Record::End { sid, .. } => {
                assert!(list.is_session_revoked(sid), "session {sid:?} un-revoked");
                live.insert(sid.clone(), None);
            }
            Record::Token { jti, .. } => {
                let query = RevocationQuery::new(jti, None, "", u64::MAX);
                assert_eq!(
                    list.check(&query),
                    Some(Revoked::Token),
                    "token {jti:?} un-revoked"
                );
            }
            Record::Subject {
                sub, before, sids, ..
            } => {
                for sid in sids {
                    assert!(list.is_session_revoked(sid), "session {sid:?} un-revoked");
                    live.insert(sid.clone(), None);
                }
                let cutoff = list.subject_cutoff(sub).expect("a subject cut-off");
                assert!(
                    cutoff.before >= *before,
                    "subject {sub:?} cut-off moved back"
                );
            }
        }
    }
    for (sid, record) in live {
        let stored = block_on(store.session(&sid)).expect("an in-memory read");
        assert_eq!(stored, record, "session {sid:?} after replay");
    }
}

/// Seal every line that starts with `!`: `!<json>` becomes `<checksum> <json>`.
fn seal(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    for (index, line) in data.split(|&b| b == b'\n').enumerate() {
        if index > 0 {
            out.push(b'\n');
        }
        match line.strip_prefix(b"!") {
            Some(json) => {
                let hash = digest::digest(&digest::SHA256, json);
                for b in &hash.as_ref()[..8] {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.push(b' ');
                out.extend_from_slice(json);
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}
