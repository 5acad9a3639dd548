//! The durable journal: restart, SIGKILL mid-storm, torn and garbage tails, compaction
//! under concurrent appends, the lock, and bounded memory.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
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
fn an_unterminated_tail_is_cut_as_torn_and_later_appends_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    for tail in [
        &b"0123456789abcdef {\"t\":\"tok"[..],
        b"\x00\xff\xfe garbage without newline",
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
            // The cut bytes are kept beside the journal, not destroyed.
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

/// A journal of two token revocations, `a` then `b`; returns it and where `b` starts.
fn two_record_journal(path: &Path) -> (Vec<u8>, usize) {
    {
        let store = FileStore::open(path).unwrap();
        block_on(store.revoke_token("a", 10_000)).unwrap();
    }
    let first = usize::try_from(std::fs::metadata(path).unwrap().len()).unwrap();
    {
        let store = FileStore::open(path).unwrap();
        block_on(store.revoke_token("b", 10_000)).unwrap();
    }
    (std::fs::read(path).unwrap(), first)
}

#[test]
fn a_damaged_complete_last_record_refuses_the_open_and_says_how_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let (mut bytes, second) = two_record_journal(&path);
    // One bit of the last record's JSON flips on disk: its line is still complete. Cutting
    // it as a torn write would silently undo the revocation of `b`.
    bytes[second + 30] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let Err(StoreError::Corrupt(message)) = FileStore::open(&path) else {
        panic!("a damaged last record was accepted");
    };
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("byte {second}")), "{message}");
    assert!(
        message.contains(&format!("truncate -s {second} {}", path.display())),
        "{message}"
    );
    assert!(matches!(
        FileStore::read_revocations(&path),
        Err(StoreError::Corrupt(_))
    ));
    // Refused, and left exactly as it was, with no torn-tail file beside it.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("torn"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // A complete garbage line at the end is damage too.
    bytes.truncate(second);
    bytes.extend(b"garbage with newline\n");
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        FileStore::open(&path),
        Err(StoreError::Corrupt(_))
    ));
    // The documented recovery: cut at the offset; what was before it is kept.
    bytes.truncate(second);
    std::fs::write(&path, &bytes).unwrap();
    let store = FileStore::open(&path).unwrap();
    assert!(token_revoked(&*store.revocations(), "a"));
    assert!(!token_revoked(&*store.revocations(), "b"));
}

#[cfg(feature = "server")]
#[test]
fn serve_refuses_a_damaged_journal_with_exit_2_and_a_recovery_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.journal");
    let (mut bytes, second) = two_record_journal(&path);
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let mut child = Command::new(crate::support::gatepass_bin())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--store"])
        .arg(format!("file:{}", path.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must exit at once; a server that started anyway is stopped and reported.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the server started on a damaged journal: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty(), "the server started");
    assert!(stderr.contains(&format!("byte {second}")), "{stderr}");
    assert!(stderr.contains("truncate -s"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

/// One journal line as the store writes it (the format is documented in
/// docs/DEPLOYMENT.md): 16 hex digits of SHA-256 of the JSON, a space, the JSON.
fn line(json: &serde_json::Value) -> Vec<u8> {
    let json = json.to_string();
    let hash = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
    let sum: String = hash.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{sum} {json}\n").into_bytes()
}

fn session_line(sid: &str, gen: u64) -> Vec<u8> {
    line(&serde_json::json!({"t": "session", "session": {
        "sid": sid, "sub": "alice", "gen": gen, "refresh_jti": format!("{sid}-r{gen}"),
        "created_at": 1000, "last_used_at": 1000 + gen, "expires_at": 1_u64 << 40,
        "idle_timeout": 1_u64 << 40, "grace": null
    }}))
}

#[test]
fn a_journal_well_above_its_live_state_is_compacted_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    // Three sessions rotated 4000 times each, as a server restarted before it ever
    // compacted leaves them: ~3.5 MB for three live records.
    let mut bytes = Vec::new();
    for gen in 0..4000 {
        for sid in ["s1", "s2", "s3"] {
            bytes.extend(session_line(sid, gen));
        }
    }
    bytes.extend(line(
        &serde_json::json!({"t": "token", "jti": "dead", "until": 10_000}),
    ));
    std::fs::write(&path, &bytes).unwrap();
    let store = FileStore::open(&path).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        size < 4096,
        "{} bytes left of {} after open",
        size,
        bytes.len()
    );
    assert_eq!(store.journal_len(), (size, size));
    for sid in ["s1", "s2", "s3"] {
        let session = block_on(store.session(sid)).unwrap().unwrap();
        assert_eq!((session.gen, session.last_used_at), (3999, 4999));
    }
    assert!(token_revoked(&*store.revocations(), "dead"));
    drop(store);
    // And the compacted journal replays to the same state.
    let store = FileStore::open(&path).unwrap();
    assert_eq!(block_on(store.session("s2")).unwrap().unwrap().gen, 3999);
    assert!(token_revoked(&*store.revocations(), "dead"));
}

#[test]
fn a_journal_that_is_all_live_state_is_not_rewritten_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let mut bytes = Vec::new();
    for i in 0..8000 {
        bytes.extend(session_line(&format!("s{i}"), 0));
    }
    std::fs::write(&path, &bytes).unwrap();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.list().counts().tokens, 0);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn the_journal_stays_within_a_small_multiple_of_its_live_state_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let store = FileStore::open(&path).unwrap();
    // One session rotated 20 000 times without a prune: compaction runs from the write
    // path, by size. Submitted in waves so group commit keeps the fsyncs few.
    let session =
        gatepass::SessionRecord::new("s".into(), "u".into(), "s-r0".into(), 0, 1 << 40, 1 << 40);
    block_on(store.create_session(session)).unwrap();
    let mut gen = 0;
    let mut largest = 0;
    for _ in 0..40 {
        let wave: Vec<_> = (0..500)
            .map(|_| {
                let request =
                    crate::store_conformance::consume("s", gen, &format!("s-r{gen}"), 10 + gen, 0);
                gen += 1;
                store.consume_if_current(request)
            })
            .collect();
        for answer in wave {
            assert_eq!(block_on(answer).unwrap(), gatepass::ConsumeOutcome::Rotated);
        }
        largest = largest.max(store.journal_len().0);
    }
    assert!(largest < 3 << 20, "the journal grew to {largest} bytes");
    drop(store);
    let store = FileStore::open(&path).unwrap();
    assert_eq!(block_on(store.session("s")).unwrap().unwrap().gen, 20_000);
}

#[cfg(feature = "server")]
#[test]
fn store_compact_rewrites_a_journal_offline_and_refuses_a_damaged_one() {
    use crate::support::{run_str, stdout_json};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let url = format!("file:{}", path.display());
    let mut bytes = Vec::new();
    for gen in 0..500 {
        for sid in ["s1", "s2", "s3"] {
            bytes.extend(session_line(sid, gen));
        }
    }
    bytes.extend(line(
        &serde_json::json!({"t": "token", "jti": "expired", "until": 5}),
    ));
    bytes.extend(line(
        &serde_json::json!({"t": "token", "jti": "live", "until": 1_u64 << 40}),
    ));
    std::fs::write(&path, &bytes).unwrap();

    let output = run_str(&["store", "compact", "--store", &url]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = stdout_json(&output);
    let after = std::fs::metadata(&path).unwrap().len();
    assert_eq!(report["bytes_before"], bytes.len() as u64);
    assert_eq!(report["bytes_after"], after);
    assert_eq!(report["sessions"], 3);
    assert_eq!(report["revocations"], 1);
    assert!(after < 2048, "{after} bytes after compaction");
    {
        let store = FileStore::open(&path).unwrap();
        assert_eq!(block_on(store.session("s3")).unwrap().unwrap().gen, 499);
        assert!(token_revoked(&*store.revocations(), "live"));
        assert!(!token_revoked(&*store.revocations(), "expired"));
    }

    // A damaged journal: exit 2, the offset named, the file untouched.
    let mut damaged = std::fs::read(&path).unwrap();
    let last = damaged.len() - 2;
    damaged[last] ^= 0x01;
    std::fs::write(&path, &damaged).unwrap();
    let output = run_str(&["store", "compact", "--store", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("byte ") && stderr.contains("truncate -s"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), damaged);

    // No journal there, or not a file store: usage errors, and nothing is created.
    let missing = dir.path().join("missing");
    let output = run_str(&[
        "store",
        "compact",
        "--store",
        &format!("file:{}", missing.display()),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!missing.exists());
    assert_eq!(
        run_str(&["store", "compact", "--store", "memory"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn temporary_files_of_an_interrupted_compaction_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    {
        let store = FileStore::open(&path).unwrap();
        block_on(store.revoke_token("kept", 10_000)).unwrap();
    }
    let stale = dir.path().join(".journal.0123456789ab.tmp");
    std::fs::write(&stale, b"half a compaction").unwrap();
    // Not a compaction's temporary file of this journal: left alone.
    let others = [
        dir.path().join(".journal.xyz.tmp"),
        dir.path().join(".other.0123456789ab.tmp"),
        dir.path().join("journal.torn-1700000000-0badcafe"),
    ];
    for other in &others {
        std::fs::write(other, b"x").unwrap();
    }
    let store = FileStore::open(&path).unwrap();
    assert!(!stale.exists(), "the stale temporary file is still there");
    for other in &others {
        assert!(other.exists(), "{} was removed", other.display());
    }
    assert!(token_revoked(&*store.revocations(), "kept"));
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
