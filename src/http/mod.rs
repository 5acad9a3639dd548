//! HTTP adapters: credentials and login throttling for the auth server.

mod rate_limit;
mod users;

pub use rate_limit::{Limit, LoginLimiter, LoginLimits};
pub use users::{hash_password, Credentials, UsersError, UsersFile};
