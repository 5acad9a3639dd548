//! `gatepass users add`: passwords from stdin, argon2id hashes in a 0600 file.

use gatepass::{UserDirectory, UsersFile};

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
            .verify_password("alice", "correct horse battery")
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

fn users(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let mut all = vec!["users"];
    all.extend_from_slice(args);
    let all: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    run(&all, stdin)
}

fn lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_users_subcommand_changes_the_file_as_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json").display().to_string();
    let p = path.as_str();
    add(p, "bob", b"bob password 1\n", &[]);
    add(
        p,
        "alice",
        b"alice password\n",
        &["--claims", r#"{"roles":["admin"]}"#],
    );

    // list: sorted, claims shown, hashes never.
    let listed = users(&["list", "--users", p], None);
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(!text.contains("argon2"), "{text}");
    assert_eq!(
        lines(&listed),
        [
            serde_json::json!({"username": "alice", "claims": {"roles": ["admin"]}}),
            serde_json::json!({"username": "bob", "claims": {}}),
        ]
    );

    // set-claims replaces; registered names and non-objects are refused, file unchanged.
    let set = users(
        &[
            "set-claims",
            "--users",
            p,
            "--username",
            "bob",
            "--claims",
            r#"{"scope":"orders:read"}"#,
        ],
        None,
    );
    assert!(set.status.success(), "{set:?}");
    for bad in [r#"{"sub":"root"}"#, r#"{"cnf":{}}"#, "[1]", "{"] {
        let out = users(
            &[
                "set-claims",
                "--users",
                p,
                "--username",
                "bob",
                "--claims",
                bad,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    assert_eq!(
        users(
            &[
                "set-claims",
                "--users",
                p,
                "--username",
                "nobody",
                "--claims",
                "{}"
            ],
            None
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        lines(&users(&["list", "--users", p], None))[1]["claims"]["scope"],
        "orders:read"
    );

    // passwd: the new password works, the old one no longer does; unknown users refused.
    let out = users(
        &["passwd", "--users", p, "--username", "bob"],
        Some(b"bob password 2\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let file = UsersFile::load(p).unwrap();
    assert_eq!(
        file.verify_password("bob", "bob password 2").unwrap(),
        Some("bob".into())
    );
    assert_eq!(file.verify_password("bob", "bob password 1").unwrap(), None);
    assert_eq!(file.claims("bob")["scope"], "orders:read");
    assert_eq!(
        users(
            &["passwd", "--users", p, "--username", "nobody"],
            Some(b"whatever pw 1\n")
        )
        .status
        .code(),
        Some(2)
    );

    // remove: gone, and removing again is a usage error.
    let out = users(&["remove", "--users", p, "--username", "bob"], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        users(&["remove", "--users", p, "--username", "bob"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(UsersFile::load(p).unwrap().len(), 1);
    // A users file whose claims set a registered claim is refused at load.
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"users":[{"username":"x","hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY","claims":{"iss":"me"}}]}"#,
    )
    .unwrap();
    assert!(UsersFile::load(dir.path().join("bad.json")).is_err());
}
