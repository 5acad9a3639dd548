//! What an operator deploys `gatepass serve` with: the `Dockerfile`, the systemd unit
//! (packaging/gatepass.service) and the OpenAPI document (docs/openapi.yaml), each checked
//! against the built binary so none of them can drift from it.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use gatepass::UsersFile;
use serde_json::{json, Value};

use crate::support::*;

#[path = "packaging/deployment.rs"]
mod deployment;
#[path = "packaging/openapi.rs"]
mod openapi;

const PASSWORD: &str = "correct horse battery staple";

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The long flags `gatepass serve --help` lists.
fn serve_flags() -> BTreeSet<String> {
    let out = Command::new(gatepass_bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let flags: BTreeSet<String> = help
        .split_whitespace()
        .map(|word| word.trim_end_matches(','))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.split('=').next().unwrap().to_owned())
        .collect();
    // The check below would pass on anything if the help were not what it expects.
    for known in [
        "--listen",
        "--config",
        "--store",
        "--keyset",
        "--log-format",
    ] {
        assert!(flags.contains(known), "{known} not in {flags:?}");
    }
    assert!(!flags.contains("--no-such-flag"));
    flags
}

/// `GATEPASS_LOG_FORMAT` names `--log-format`.
fn flag_of_env(var: &str) -> String {
    format!(
        "--{}",
        var.trim_start_matches("GATEPASS_")
            .to_ascii_lowercase()
            .replace('_', "-")
    )
}

/// Every `GATEPASS_*` variable named in `text`.
fn env_vars(text: &str) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("GATEPASS_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        vars.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    vars
}

fn assert_flags_exist(what: &str, flags: impl IntoIterator<Item = String>) {
    let known = serve_flags();
    for flag in flags {
        assert!(
            known.contains(&flag),
            "{what} uses {flag}, which `gatepass serve` does not have"
        );
    }
}

/// The Dockerfile's instructions, continuation lines joined, comments left out:
/// (INSTRUCTION, arguments).
fn dockerfile_instructions() -> Vec<(String, String)> {
    let text = repo_file("Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (name, args) = current.split_once(' ').unwrap_or((&current, ""));
        instructions.push((name.to_ascii_uppercase(), args.trim().to_owned()));
        current.clear();
    }
    assert!(current.is_empty(), "a dangling continuation line");
    instructions
}

fn all_args<'a>(instructions: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    instructions
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, args)| args.as_str())
        .collect()
}

/// `[Service]` settings of the unit, in order (a key may repeat).
fn unit_settings(text: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut settings = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]" {
            let (key, value) = line.split_once('=').expect("KEY=VALUE");
            settings.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    settings
}
