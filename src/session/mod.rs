//! Sessions: the only place that knows login, refresh rotation, reuse, timeouts and
//! logout. HTTP and the CLI call this; it calls token, keys and the revocation store.

mod config;
mod context;
mod error;
mod listing;
mod manager;
mod seal;

pub use config::SessionConfig;
pub use context::RequestContext;
pub use error::{InvalidGrant, SessionError};
pub use listing::SessionInfo;
pub use manager::{SessionManager, SessionSetupError, TokenPair, REVOCATION_MARGIN};
