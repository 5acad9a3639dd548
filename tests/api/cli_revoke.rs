//! `gatepass revoke` writes the durable journal; `gatepass verify --revocations` reads it.

use crate::support::*;

fn revoke(journal: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["revoke", "--revocations", journal];
    all.extend_from_slice(args);
    run_str(&all)
}

#[test]
fn revoked_tokens_sessions_and_subjects_are_rejected_by_verify() {
    let fixture = Fixture::new();
    let journal = fixture.path("revocations.journal").display().to_string();
    let token = |extra: &[(&str, &str)]| craft_hs256(&hs_header(), &claims_with(extra));
    let by_token = token(&[("jti", "\"j-token\"")]);
    let by_jti = token(&[("jti", "\"j-jti\"")]);
    let by_sid = token(&[("jti", "\"j-sid\""), ("sid", "\"s-1\"")]);
    let by_sub = token(&[("jti", "\"j-sub\""), ("sub", "\"mallory\"")]);
    let untouched = token(&[("jti", "\"j-ok\""), ("sid", "\"s-2\"")]);

    let out = stdout_json(&revoke(&journal, &["--token", &by_token]));
    assert_eq!(out["revoked"], "token");
    assert_eq!(out["jti"], "j-token");
    stdout_json(&revoke(
        &journal,
        &["--jti", "j-jti", "--exp", &(NOW + 300).to_string()],
    ));
    stdout_json(&revoke(
        &journal,
        &["--sid", "s-1", "--exp", &(NOW + 300).to_string()],
    ));
    stdout_json(&revoke(
        &journal,
        &["--sub", "mallory", "--before", &(NOW + 1).to_string()],
    ));

    for (token, reason) in [
        (&by_token, "token"),
        (&by_jti, "jti"),
        (&by_sid, "sid"),
        (&by_sub, "sub"),
    ] {
        let out = fixture.cli_verify(token, &["--revocations", &journal]);
        assert_eq!(cli_rejection(&out), "revoked", "{reason}");
        // Without the journal the same token is fine: revocation is what rejected it.
        assert!(fixture.cli_verify(token, &[]).status.success(), "{reason}");
    }
    assert!(fixture
        .cli_verify(&untouched, &["--revocations", &journal])
        .status
        .success());
}

#[test]
fn revoke_usage_errors_exit_2() {
    let fixture = Fixture::new();
    let journal = fixture.path("j").display().to_string();
    for args in [
        vec![],
        vec!["--jti", "x"],
        vec!["--sid", "x"],
        vec!["--sub", "x"],
        vec!["--jti", "x", "--exp", "1", "--sid", "y"],
    ] {
        assert_eq!(revoke(&journal, &args).status.code(), Some(2), "{args:?}");
    }
    // A token that is not one is a rejection (exit 1), not a usage error.
    assert_eq!(
        cli_rejection(&revoke(&journal, &["--token", "nope"])),
        "malformed"
    );
    let missing = fixture.path("missing").display().to_string();
    let token = craft_hs256(&hs_header(), &claims_with(&[]));
    assert_eq!(
        fixture
            .cli_verify(&token, &["--revocations", &missing])
            .status
            .code(),
        Some(2)
    );
}

/// Found by review: a cut tail was cut silently by `gatepass revoke` (the CLI has no log
/// subscriber). It now says so on stderr and keeps the bytes beside the journal. Only an
/// unterminated last record is cut: a complete one that is damaged is refused (exit 2),
/// since cutting it would undo a revocation.
#[test]
fn a_cut_tail_is_reported_on_stderr_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("revocations.journal");
    let journal = journal.to_str().unwrap();
    assert!(revoke(journal, &["--jti", "first", "--exp", "4000000000"])
        .status
        .success());
    assert!(revoke(journal, &["--jti", "second", "--exp", "4000000000"])
        .status
        .success());
    let text = std::fs::read_to_string(journal).unwrap();
    std::fs::write(journal, text.replacen("second", "secand", 1)).unwrap();
    let out = revoke(journal, &["--jti", "third", "--exp", "4000000000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("damaged") && stderr.contains("truncate -s"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(journal).unwrap(),
        text.replacen("second", "secand", 1)
    );

    // The second record's append, interrupted before its newline: cut and kept.
    let torn = &text[..text.len() - 5];
    std::fs::write(journal, torn).unwrap();
    let out = revoke(journal, &["--jti", "third", "--exp", "4000000000"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("kept in"),
        "{stderr}"
    );
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(std::fs::read_to_string(kept[0].path())
        .unwrap()
        .contains("second"));
}
