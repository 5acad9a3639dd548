//! `gatepass store`: offline maintenance of a durable session store.

use std::io::Write as _;
use std::path::Path;

use gatepass::{FileStore, SessionStore as _};
use serde_json::json;

use super::output::{block_on, print_json, CliResult, Failure};

/// Maintenance of a session store, with its server stopped.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum StoreCommand {
    /// Rewrite a file store's journal as its live state: expired sessions and revocations
    /// dropped, superseded records gone. Prints one JSON line with the sizes before and
    /// after. The server must be stopped (it holds the journal locked, and compacts by
    /// itself while it runs). A damaged journal is refused (exit 2) and left unchanged.
    Compact(CompactArgs),
}

/// `gatepass store compact`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompactArgs {
    /// The store: file:PATH (the journal of `gatepass serve --store file:PATH`).
    #[arg(long, value_name = "file:PATH")]
    store: String,
}

pub(crate) fn run(command: StoreCommand) -> CliResult {
    match command {
        StoreCommand::Compact(args) => compact(&args.store),
    }
}

fn compact(url: &str) -> CliResult {
    let Some(path) = url.strip_prefix("file:").map(Path::new) else {
        return Err(Failure::usage(format!(
            "--store {url:?}: only a file store (file:PATH) is compacted offline"
        )));
    };
    // A missing journal is a typo more often than an empty store: do not create one.
    let before = std::fs::metadata(path)
        .map_err(|e| Failure::usage(format!("--store {url}: {e}")))?
        .len();
    let store = FileStore::open(path).map_err(|e| Failure::usage(format!("--store {url}: {e}")))?;
    if let Some(torn) = store.torn_tail() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "warning: {}: cut {} bytes of an unterminated last record (kept in {})",
            path.display(),
            torn.bytes,
            torn.moved_to.display()
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let pruned =
        block_on(store.prune(now)).map_err(|e| Failure::usage(format!("--store {url}: {e}")))?;
    store
        .compact()
        .map_err(|e| Failure::usage(format!("--store {url}: {e}")))?;
    let (after, _) = store.journal_len();
    let counts = store.list().counts();
    print_json(
        &json!({
            "journal": path.display().to_string(),
            "bytes_before": before,
            "bytes_after": after,
            "sessions": pruned.sessions_live,
            "revocations": counts.tokens + counts.sessions + counts.subjects,
        }),
        false,
    )
}
