//! Arguments shared by several commands, each declared once.

use std::path::PathBuf;

/// `--keyset FILE`, the keyset a command reads or changes.
#[derive(Debug, clap::Args)]
pub(crate) struct KeysetArg {
    /// The keyset file (a JSON object {"keys": [private JWKs with kid, alg, state]}).
    #[arg(long = "keyset", value_name = "FILE")]
    pub(crate) path: PathBuf,
}

/// A unix time flag: an integer in 0..2^53, the range every time in gatepass (and in JSON
/// readers of other languages) holds exactly. Found by review: `keys rotate --at
/// 18446744073709551615` wrote that date into the keyset.
pub(crate) fn unix_time(value: &str) -> Result<u64, String> {
    const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
    match value.parse::<u64>() {
        Ok(t) if t <= MAX_SAFE_INTEGER => Ok(t),
        Ok(_) => Err(format!("unix time {value} is beyond 2^53 - 1")),
        Err(e) => Err(e.to_string()),
    }
}
