//! `gatepass users add`: store an argon2id hash of a password read from stdin.

use std::io::Read as _;
use std::path::Path;

use gatepass::UsersFile;
use serde_json::json;
use zeroize::Zeroizing;

use super::output::{print_json, CliResult, Failure};

pub(crate) fn add(path: &Path, username: &str, replace: bool) -> CliResult {
    // The password never appears in argv (visible in `ps`) or the environment.
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(4096)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read the password from stdin: {e}")))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Failure::usage("the password is not UTF-8"))?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    let existed = UsersFile::add(path, username, password, replace).map_err(Failure::usage)?;
    print_json(&json!({ "username": username, "updated": existed }), false)
}
