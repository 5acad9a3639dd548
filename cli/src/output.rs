//! How the CLI talks: machine output as JSON on stdout, one-line JSON rejections and
//! human messages on stderr, and the exit codes of docs/REFERENCE.md §1.

use std::ffi::OsStr;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use serde::Serialize;

/// Why a command did not succeed, and so which exit code it ends with.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Exit 1: the token or request was rejected. Printed as one JSON line on stderr.
    Rejected { kind: &'static str, message: String },
    /// Exit 2: bad flags, or an unreadable or invalid keyset. A human message on stderr.
    Usage(String),
}

pub(crate) type CliResult = Result<(), Failure>;

impl Failure {
    pub(crate) fn usage(message: impl std::fmt::Display) -> Self {
        Self::Usage(message.to_string())
    }

    pub(crate) fn report(self) -> ExitCode {
        match self {
            Self::Rejected { kind, message } => {
                let line = serde_json::json!({ "error": kind, "message": message });
                let _ = writeln!(std::io::stderr().lock(), "{line}");
                ExitCode::from(1)
            }
            Self::Usage(message) => {
                let _ = writeln!(std::io::stderr().lock(), "gatepass: error: {message}");
                ExitCode::from(2)
            }
        }
    }
}

impl From<gatepass::VerifyError> for Failure {
    fn from(err: gatepass::VerifyError) -> Self {
        Self::Rejected {
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

impl From<gatepass::KeysetError> for Failure {
    fn from(err: gatepass::KeysetError) -> Self {
        Self::usage(err)
    }
}

impl From<gatepass::ConfigError> for Failure {
    fn from(err: gatepass::ConfigError) -> Self {
        Self::usage(err)
    }
}

/// Write one JSON document and a newline to stdout. A closed pipe is not an error worth
/// a panic (`gatepass jwks | head -c 10`).
pub(crate) fn print_json(value: &impl Serialize, pretty: bool) -> CliResult {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(Failure::usage)?;
    print_line(&text);
    Ok(())
}

/// Write a line to stdout, ignoring a closed pipe.
pub(crate) fn print_line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Read a token given as an argument, or from stdin when it is `-`. One trailing line
/// break is stripped from stdin (it ends the line, it is not part of the token); anything
/// else, whitespace included, stays and is judged by the parser.
///
/// Size comes before structure (docs/REFERENCE.md §1): input over the cap is `too_large` even when
/// it is not UTF-8, and input that is not UTF-8 is `malformed` (exit 1, one JSON line),
/// whether it came from stdin or from an argument.
pub(crate) fn read_token(arg: &OsStr) -> Result<String, Failure> {
    let bytes = if arg == "-" {
        // Read a little past the limit so an over-long token is reported as too large
        // without ever holding an unbounded input in memory.
        let limit = gatepass::MAX_TOKEN_BYTES as u64 + 3;
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::usage(format!("cannot read the token from stdin: {e}")))?;
        if bytes.ends_with(b"\r\n") {
            bytes.truncate(bytes.len() - 2);
        } else if bytes.ends_with(b"\n") {
            bytes.truncate(bytes.len() - 1);
        }
        bytes
    } else {
        arg.as_encoded_bytes().to_vec()
    };
    // The library's size-then-text rule; the verifier checks everything else.
    let token = gatepass::UntrustedToken::from_bytes(&bytes)?;
    Ok(token.as_str().to_owned())
}

/// Format unix seconds as RFC 3339 UTC for humans.
pub(crate) fn human_time(secs: Option<u64>) -> String {
    let Some(secs) = secs else { return "-".into() };
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// Drive a store future to completion on this thread. The durable file store answers
/// from its journal writer thread once a change is fsynced: park until it wakes us.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}
