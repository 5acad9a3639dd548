//! Keeping a running auth server current: keyset reloads and pruning, as one task an
//! embedder starts with one call.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::AuthServerHandle;
use super::UsersFile;
use crate::jwks::PublishedJwks;
use crate::keys::{Keyset, RotationPolicy};
use crate::session::SessionManager;

/// The background work of an auth server: follow the keyset file (after `gatepass keys
/// rotate`, `revoke`, `retire` or `remove`) and prune expired state.
///
/// On every change of the keyset file the server starts trusting exactly the keys the
/// file says verify (a revoked or removed key stops verifying at once, even when it was
/// the last active key), signs with its active key, and serves the new public JWKS. With
/// no active key left, logins and refreshes answer 503 `temporarily_unavailable` until
/// one is activated, while verification, logout and the JWKS keep working. A file that
/// cannot be read or is invalid leaves the previous keys in place (and is logged).
///
/// ```no_run
/// use std::sync::Arc;
/// use gatepass::*;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keyset = Keyset::load("keys.json")?;
/// let sessions = Arc::new(SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?);
/// let policy = RotationPolicy::default();
/// let (app, handle) = AuthServer::new(
///     sessions.clone(),
///     Arc::new(UsersFile::load("users.json")?),
///     PublishedJwks::new(&keyset, &policy),
/// )
/// .into_server_router();
///
/// // One call: key reloads every 2 s, pruning every minute, until the runtime stops.
/// Maintenance::new(sessions, handle).keyset_file("keys.json", policy).spawn();
/// # let _ = app; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Maintenance {
    sessions: Arc<SessionManager>,
    handle: AuthServerHandle,
    keyset: Option<(PathBuf, RotationPolicy)>,
    users: Option<Arc<UsersFile>>,
    reload_every: Duration,
    prune_every: Duration,
}

/// What identifies one version of the keyset file: an atomic rewrite (temp file +
/// rename) changes the inode even within one timestamp tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileVersion {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileVersion {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

/// What one look at the keyset file did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyReload {
    /// No keyset file is followed, or it has not changed since the last look.
    Unchanged,
    /// The new keyset is in use; `can_sign` tells whether it has an active key.
    Reloaded {
        /// Whether logins and refreshes can be answered with the new keys.
        can_sign: bool,
    },
    /// The file could not be read or is invalid: the previous keys stay in use.
    Failed,
}

impl Maintenance {
    /// How often the keyset file is looked at by default: a revoked key stops verifying,
    /// and leaves the served JWKS, within this delay (plus the time to read the file).
    pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

    /// How often expired sessions and revocations are pruned by default.
    pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

    /// Maintenance of the server built over `sessions`, publishing through `handle`
    /// (from [`AuthServer::into_router_with_handle`](super::AuthServer::into_router_with_handle)
    /// or [`into_server_router`](super::AuthServer::into_server_router)). Without
    /// [`keyset_file`](Self::keyset_file) it only prunes.
    pub fn new(sessions: Arc<SessionManager>, handle: AuthServerHandle) -> Self {
        Self {
            sessions,
            handle,
            keyset: None,
            users: None,
            reload_every: Self::DEFAULT_RELOAD_INTERVAL,
            prune_every: Self::DEFAULT_PRUNE_INTERVAL,
        }
    }

    /// Follow the keyset file at `path` (the one the server started from), publishing its
    /// keys with `policy`'s JWKS lifetime.
    #[must_use]
    pub fn keyset_file(mut self, path: impl Into<PathBuf>, policy: RotationPolicy) -> Self {
        self.keyset = Some((path.into(), policy));
        self
    }

    /// Follow the users file `users` was loaded from: `gatepass users add`, `remove`,
    /// `passwd` and `set-claims` take effect at the next look (logins in flight finish
    /// with the users they started with). An invalid file keeps the previous users.
    #[must_use]
    pub fn users_file(mut self, users: Arc<UsersFile>) -> Self {
        self.users = Some(users);
        self
    }

    /// Look at the keyset file this often (default [`DEFAULT_RELOAD_INTERVAL`](Self::DEFAULT_RELOAD_INTERVAL); at least
    /// 100 ms).
    #[must_use]
    pub fn reload_interval(mut self, every: Duration) -> Self {
        self.reload_every = every.max(Duration::from_millis(100));
        self
    }

    /// Prune this often (default [`DEFAULT_PRUNE_INTERVAL`](Self::DEFAULT_PRUNE_INTERVAL); at least 1 s).
    #[must_use]
    pub fn prune_interval(mut self, every: Duration) -> Self {
        self.prune_every = every.max(Duration::from_secs(1));
        self
    }

    /// Run on the current Tokio runtime until it shuts down (or the handle is aborted).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Run in the caller's task, forever.
    pub async fn run(self) {
        let mut follower = self
            .keyset
            .as_ref()
            .map(|(path, _)| (path.as_path(), FileVersion::of(path)));
        let mut users_seen = self
            .users
            .as_ref()
            .and_then(|users| users.path())
            .map(FileVersion::of);
        let mut reload = tokio::time::interval(self.reload_every);
        let mut prune = tokio::time::interval(self.prune_every);
        reload.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick of an interval is immediate: the server just loaded both.
        reload.tick().await;
        prune.tick().await;
        loop {
            tokio::select! {
                _ = reload.tick() => {
                    if let Some((path, seen)) = follower.as_mut() {
                        self.reload_if_changed(path, seen);
                    }
                    if let Some(seen) = users_seen.as_mut() {
                        self.reload_users_if_changed(seen);
                    }
                }
                _ = prune.tick() => self.prune().await,
            }
        }
    }

    /// Look at the keyset file once, and switch to it if it changed since `seen`.
    fn reload_if_changed(&self, path: &Path, seen: &mut Option<FileVersion>) -> KeyReload {
        let now = FileVersion::of(path);
        if now == *seen {
            return KeyReload::Unchanged;
        }
        // Recorded even when the load fails: a broken file is reported once, and the next
        // write of it (a fix) is a new version again.
        *seen = now;
        self.reload_from(path)
    }

    fn reload_users_if_changed(&self, seen: &mut Option<FileVersion>) {
        let Some(users) = &self.users else { return };
        let Some(path) = users.path() else { return };
        let now = FileVersion::of(path);
        if now == *seen {
            return;
        }
        *seen = now;
        match users.reload() {
            Ok(()) => {
                tracing::info!(target: "gatepass::users", event = "users_reloaded", users = users.len())
            }
            Err(e) => {
                tracing::error!(target: "gatepass::users", event = "users_reload_failed", error = %e,
                "keeping the previous users")
            }
        }
    }

    /// Load the keyset file now and switch to it (what every change of the file triggers).
    pub fn reload_now(&self) -> KeyReload {
        match &self.keyset {
            Some((path, _)) => self.reload_from(path),
            None => KeyReload::Unchanged,
        }
    }

    fn reload_from(&self, path: &Path) -> KeyReload {
        let Some((_, policy)) = &self.keyset else {
            return KeyReload::Unchanged;
        };
        let keyset = match Keyset::load(path) {
            Ok(keyset) => keyset,
            Err(e) => {
                tracing::error!(target: "gatepass::keys", event = "keyset_reload_failed", error = %e,
                    "keeping the previous keys");
                return KeyReload::Failed;
            }
        };
        let can_sign = self.sessions.update_keys(&keyset);
        self.handle.set_jwks(&PublishedJwks::new(&keyset, policy));
        if can_sign {
            tracing::info!(target: "gatepass::keys", event = "keyset_reloaded", keys = keyset.len());
        } else {
            tracing::error!(target: "gatepass::keys", event = "keyset_reloaded", keys = keyset.len(),
                "the keyset has no active signing key: logins and refreshes answer 503 until one is activated");
        }
        KeyReload::Reloaded { can_sign }
    }

    async fn prune(&self) {
        match self.sessions.prune().await {
            Ok(report) => tracing::debug!(
                target: "gatepass::store",
                event = "pruned",
                sessions = report.sessions_removed,
                revocations = report.revocations_removed
            ),
            Err(e) => tracing::warn!(target: "gatepass::store", event = "prune_failed", error = %e),
        }
    }
}
