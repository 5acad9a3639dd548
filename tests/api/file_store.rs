//! The durable journal: restart, SIGKILL mid-storm, torn and garbage tails, compaction
//! under concurrent appends, the lock, and bounded memory.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;

use gatepass::{
    FileStore, RevocationList, RevocationQuery, RevocationView, Revoked, SessionStore, StoreError,
    SubjectCutoff,
};

use crate::support::block_on;

fn token_revoked(list: &dyn RevocationView, jti: &str) -> bool {
    list.check(&RevocationQuery::new(jti, None, "u", 0)) == Some(Revoked::Token)
}

#[test]
fn every_acknowledged_revocation_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    {
        let store = FileStore::open(&path).unwrap();
        for i in 0..200 {
            block_on(store.revoke_token(&format!("jti-{i}"), 10_000)).unwrap();
        }
        block_on(store.revoke_subject("alice", SubjectCutoff::new(500, None), 10_000)).unwrap();
    }
    let store = FileStore::open(&path).unwrap();
    let view = store.revocations();
    assert!((0..200).all(|i| token_revoked(&*view, &format!("jti-{i}"))));
    assert_eq!(
        view.check(&RevocationQuery::new("x", None, "alice", 499)),
        Some(Revoked::Subject)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn a_second_opener_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let first = FileStore::open(&path).unwrap();
    assert!(matches!(FileStore::open(&path), Err(StoreError::Locked(_))));
    drop(first);
    assert!(FileStore::open(&path).is_ok());
}

#[test]
fn a_torn_or_garbage_tail_is_ignored_and_later_appends_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    for tail in [
        &b"0123456789abcdef {\"t\":\"tok"[..],
        b"\x00\xff\xfe garbage without newline",
        b"garbage with newline\n",
    ] {
        {
            let store = FileStore::open(&path).unwrap();
            block_on(store.revoke_token("before", 10_000)).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(tail)
            .unwrap();
        {
            let store = FileStore::open(&path).unwrap();
            assert!(token_revoked(&*store.revocations(), "before"));
            // The cut bytes are kept beside the journal, not destroyed (a damaged complete
            // record looks like a torn one).
            let torn = store.torn_tail().expect("the tail was cut");
            assert_eq!(torn.bytes, tail.len() as u64);
            assert_eq!(std::fs::read(&torn.moved_to).unwrap(), tail);
            std::fs::remove_file(&torn.moved_to).unwrap();
            block_on(store.revoke_token("after", 10_000)).unwrap();
        }
        let store = FileStore::open(&path).unwrap();
        assert_eq!(store.torn_tail(), None);
        assert!(
            token_revoked(&*store.revocations(), "after"),
            "tail {tail:?}"
        );
        drop(store);
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn damage_before_valid_records_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    {
        let store = FileStore::open(&path).unwrap();
        block_on(store.revoke_token("a", 10_000)).unwrap();
        block_on(store.revoke_token("b", 10_000)).unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        FileStore::open(&path),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn compaction_under_concurrent_appends_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let store = Arc::new(FileStore::open(&path).unwrap());
    // Entries that expire, so compaction has something to drop.
    for i in 0..300 {
        block_on(store.revoke_token(&format!("old-{i}"), 5)).unwrap();
    }
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    block_on(store.revoke_token(&format!("w{w}-{i}"), 10_000)).unwrap();
                }
            })
        })
        .collect();
    let compactor = {
        let store = store.clone();
        std::thread::spawn(move || {
            for _ in 0..20 {
                block_on(store.prune(10)).unwrap();
                store.compact().unwrap();
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    compactor.join().unwrap();
    let (len, _) = store.journal_len();
    drop(store);
    let store = FileStore::open(&path).unwrap();
    let view = store.revocations();
    for w in 0..4 {
        for i in 0..150 {
            assert!(token_revoked(&*view, &format!("w{w}-{i}")), "w{w}-{i} lost");
        }
    }
    assert!(
        !token_revoked(&*view, "old-0"),
        "expired entries were compacted away"
    );
    assert_eq!(store.list().counts().tokens, 600);
    assert!(len < 600 * 120, "the journal was compacted ({len} bytes)");
}

/// The child half of the SIGKILL test: appends forever, printing each acknowledged id.
/// A no-op unless the parent test started this process.
#[test]
fn child_write_storm() {
    let Some(path) = std::env::var_os("GATEPASS_STORM_JOURNAL") else {
        return;
    };
    let store = FileStore::open(path).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        block_on(store.revoke_token(&format!("storm-{i}"), 10_000)).unwrap();
        writeln!(out, "ack storm-{i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_during_a_write_storm_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "file_store::child_write_storm",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GATEPASS_STORM_JOURNAL", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut acked = Vec::new();
        let mut line = String::new();
        // Kill at a different point each round, mid-stream.
        while acked.len() < 50 + round * 70 {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(id) = line.trim_end().strip_prefix("ack ") {
                acked.push(id.to_owned());
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
                               // Acknowledgements already in the pipe count too.
        for line in reader.lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("ack ") {
                acked.push(id.to_owned());
            }
        }
        child.wait().unwrap();
        assert!(
            acked.len() >= 50,
            "round {round}: the child acknowledged only {}",
            acked.len()
        );
        let list = FileStore::read_revocations(&path).unwrap();
        for id in &acked {
            assert!(
                token_revoked(&list, id),
                "round {round}: acknowledged {id} was lost"
            );
        }
    }
}

#[test]
fn a_million_short_lived_revocations_are_pruned_to_the_live_ones() {
    let list = RevocationList::new();
    for i in 0..1_000_000u64 {
        list.revoke_token(&format!("short-{i}"), 100 + i % 50);
    }
    for i in 0..1000u64 {
        list.revoke_token(&format!("long-{i}"), 10_000);
        list.revoke_session(&format!("sid-{i}"), if i % 2 == 0 { 120 } else { 10_000 });
    }
    assert_eq!(list.counts().tokens, 1_001_000);
    let removed = list.prune(150);
    assert_eq!(removed, 1_000_000 + 500);
    let counts = list.counts();
    assert_eq!(
        (counts.tokens, counts.sessions, counts.subjects),
        (1000, 500, 0)
    );
    assert!(token_revoked(&list, "long-7"));
    assert!(!token_revoked(&list, "short-7"));
}
