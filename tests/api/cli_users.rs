//! `gatepass users add`: passwords from stdin, argon2id hashes in a 0600 file.

use gatepass::{Credentials, UsersFile};

use crate::support::*;

fn add(path: &str, name: &str, password: &[u8], extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = ["users", "add", "--users", path, "--username", name]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args, Some(password))
}

#[test]
fn users_add_hashes_the_password_read_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json").display().to_string();
    let out = stdout_json(&add(&path, "alice", b"correct horse battery\n", &[]));
    assert_eq!(out["updated"], false);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("$argon2id$") && !text.contains("correct horse"));
    let users = UsersFile::load(&path).unwrap();
    assert_eq!(
        users
            .authenticate("alice", "correct horse battery")
            .unwrap(),
        Some("alice".into())
    );
    // Adding again is refused unless --replace.
    assert_eq!(
        add(&path, "alice", b"another password", &[]).status.code(),
        Some(2)
    );
    assert_eq!(
        stdout_json(&add(&path, "alice", b"another password", &["--replace"]))["updated"],
        true
    );
    // Weak passwords and bad usernames are usage errors.
    assert_eq!(add(&path, "bob", b"short\n", &[]).status.code(), Some(2));
    assert_eq!(
        add(&path, " bob", b"long enough pw", &[]).status.code(),
        Some(2)
    );
    assert_eq!(UsersFile::load(&path).unwrap().len(), 1);
}
