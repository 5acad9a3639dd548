//! The binary's own surface, run as a user would: every command answers `--help` on
//! stdout with exit 0, in text that stands alone (it names nothing outside the
//! repository), and a bad flag is a usage error (exit 2, message on stderr).
//!
//! These tests also make `cargo test --workspace` build the `gatepass` binary that the
//! library's integration tests (tests/api.rs at the repository root) run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::{Command, Output};

fn gatepass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatepass"))
        .args(args)
        .output()
        .unwrap()
}

/// The subcommands a `--help` text lists under `Commands:` (without clap's `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // A command's line is indented by two; wrapped description lines by more.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_answers_help_on_stdout_in_text_that_stands_alone() {
    let mut pending = vec![Vec::<String>::new()];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = gatepass(&args);
        let help = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "gatepass {args:?}");
        assert!(out.stderr.is_empty(), "gatepass {args:?} wrote to stderr");
        assert!(
            help.contains("Usage: gatepass"),
            "gatepass {args:?}: {help}"
        );
        for outside in ["CONTRACT", "../shared", "brief"] {
            assert!(
                !help.contains(outside),
                "gatepass {args:?} --help mentions {outside:?}"
            );
        }
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
        seen.push(path.join(" "));
    }
    // Guard against a parser that found nothing: the tree is known to be this deep.
    for command in [
        "keygen",
        "keys rotate",
        "verify",
        "serve",
        "users set-claims",
        "store compact",
    ] {
        assert!(
            seen.iter().any(|s| s == command),
            "{command} missing from {seen:?}"
        );
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error_with_exit_2() {
    let out = gatepass(&["verify", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

#[test]
fn version_names_the_package_version() {
    let out = gatepass(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("gatepass {}", env!("CARGO_PKG_VERSION"))
    );
}
