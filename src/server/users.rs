//! Who may log in: the [`UserDirectory`] trait and the shipped implementation, a users file
//! of argon2id hashes (`gatepass users add`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::PasswordHasher as _;
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use super::hashing_pool::{HashingError, PasswordHashing};
use super::passwords::verify;
use crate::fs::{read_bounded, write_atomic, FileLock};
use crate::token::{is_reserved_claim, CustomClaims};

/// What a [`UserDirectory`] answers: a boxed future, so the trait stays object-safe (the
/// server holds an `Arc<dyn UserDirectory>`) and an implementation can await its database.
pub type UsersFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, UsersError>> + Send + 'a>>;

/// Who may log in, and what their tokens say: the auth server asks this at every login.
///
/// [`UsersFile`] is the shipped implementation (a file of argon2id hashes). An application
/// with its own user table implements it over its database: the lookups are async, and a
/// password hash is checked on the server's bounded hashing threads, which are lent as
/// `hashing` ([`PasswordHashing::verify`] for argon2 PHC strings, [`PasswordHashing::run`]
/// for any other slow check), never on an async worker.
///
/// ```
/// use std::collections::HashMap;
/// use gatepass::{CustomClaims, PasswordHashing, UserDirectory, UsersError, UsersFuture};
///
/// /// Users in the application's own store (a map here; a database in real life).
/// #[derive(Debug)]
/// struct Accounts {
///     /// username → (argon2 PHC hash, roles)
///     rows: HashMap<String, (String, Vec<String>)>,
///     /// Checked when the username is unknown, so both cases cost one argon2 run.
///     dummy_hash: String,
/// }
///
/// impl UserDirectory for Accounts {
///     fn verify_password<'a>(
///         &'a self,
///         username: &'a str,
///         password: &'a str,
///         hashing: &'a PasswordHashing,
///     ) -> UsersFuture<'a, Option<String>> {
///         Box::pin(async move {
///             let row = self.rows.get(username); // `.await` a database query here
///             let hash = row.map_or(self.dummy_hash.as_str(), |(hash, _)| hash.as_str());
///             let matches = hashing.verify(password, hash).await?;
///             Ok((matches && row.is_some()).then(|| username.to_owned()))
///         })
///     }
///
///     fn claims<'a>(&'a self, subject: &'a str) -> UsersFuture<'a, CustomClaims> {
///         Box::pin(async move {
///             let mut claims = CustomClaims::new();
///             if let Some((_, roles)) = self.rows.get(subject) {
///                 claims.insert("roles".into(), roles.clone().into());
///             }
///             Ok(claims)
///         })
///     }
/// }
/// ```
pub trait UserDirectory: Send + Sync + fmt::Debug {
    /// `Ok(Some(subject))` for a correct pair, `Ok(None)` for a wrong one. Must take
    /// about the same time for unknown users as for known ones, so response times do not
    /// reveal which usernames exist (check a dummy hash for an unknown user).
    ///
    /// Errors: [`UsersError::Busy`] (from `hashing`: every thread busy) answers 503 with
    /// `Retry-After` and is not a failed attempt; [`UsersError::Unavailable`] (your
    /// database is down) likewise; anything else is a 500.
    fn verify_password<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
        hashing: &'a PasswordHashing,
    ) -> UsersFuture<'a, Option<String>>;

    /// Custom claims for every access token of `subject`'s sessions (roles, scopes, ...),
    /// looked up at login, after the password matched. None by default. Registered claims
    /// (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`, `cnf`) are refused at
    /// login, whoever returns them.
    fn claims<'a>(&'a self, subject: &'a str) -> UsersFuture<'a, CustomClaims> {
        let _ = subject;
        Box::pin(std::future::ready(Ok(CustomClaims::new())))
    }
}

/// Why a users file could not be read, changed or checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsersError {
    /// Reading, writing or locking the file failed.
    Io(String),
    /// The file is not a users file.
    Format(String),
    /// A username that is empty, too long, or contains control characters.
    InvalidUsername,
    /// A password shorter than 8 characters (NIST SP 800-63B) or longer than 1024 bytes.
    UnacceptablePassword,
    /// The user exists and replacing was not asked for.
    Exists(String),
    /// No such user.
    Unknown(String),
    /// A user's claims are not a JSON object, or name a registered claim.
    Claims(String),
    /// Hashing failed (argon2 refused its input, or a check on the hashing threads failed).
    Hash(String),
    /// Every password-hashing thread is busy and the queue is full: nothing was checked
    /// (HTTP 503 with `Retry-After`, not a failed attempt).
    Busy,
    /// The directory's own backing service (an application's database) could not answer
    /// (HTTP 503 with `Retry-After`, not a failed attempt).
    Unavailable(String),
}

impl UsersError {
    /// A stable machine-readable kind: `io`, `format`, `invalid_username`,
    /// `unacceptable_password`, `exists`, `unknown`, `claims`, `hash`, `busy` or
    /// `unavailable`.
    ///
    /// ```
    /// assert_eq!(gatepass::UsersError::Busy.kind(), "busy");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io(_) => "io",
            Self::Format(_) => "format",
            Self::InvalidUsername => "invalid_username",
            Self::UnacceptablePassword => "unacceptable_password",
            Self::Exists(_) => "exists",
            Self::Unknown(_) => "unknown",
            Self::Claims(_) => "claims",
            Self::Hash(_) => "hash",
            Self::Busy => "busy",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

impl From<HashingError> for UsersError {
    fn from(err: HashingError) -> Self {
        match err {
            HashingError::Busy => Self::Busy,
            other => Self::Hash(other.to_string()),
        }
    }
}

impl fmt::Display for UsersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(why) => write!(f, "users file I/O failed: {why}"),
            Self::Format(why) => write!(f, "invalid users file: {why}"),
            Self::InvalidUsername => f.write_str(
                "a username is 1 to 256 bytes without control characters or surrounding spaces",
            ),
            Self::UnacceptablePassword => {
                f.write_str("a password is at least 8 characters and at most 1024 bytes")
            }
            Self::Exists(name) => write!(
                f,
                "user {name:?} exists (use --replace to set a new password)"
            ),
            Self::Hash(why) => write!(f, "password hashing failed: {why}"),
            Self::Unknown(name) => write!(f, "no user {name:?}"),
            Self::Claims(why) => write!(f, "invalid claims: {why}"),
            Self::Busy => f.write_str("every password-hashing thread is busy; retry later"),
            Self::Unavailable(why) => write!(f, "the user directory is unavailable: {why}"),
        }
    }
}

impl std::error::Error for UsersError {}

/// The users file: `{"users": [{"username": "...", "hash": "$argon2id$...", "claims":
/// {...}}]}` (`claims` optional), written atomically with mode 0600.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    users: Vec<Entry>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    username: String,
    hash: String,
    #[serde(default, skip_serializing_if = "CustomClaims::is_empty")]
    claims: CustomClaims,
}

/// One user as the server holds it.
struct User {
    hash: String,
    claims: CustomClaims,
}

/// A user's claims may not set what the issuer sets.
fn check_claims(claims: &CustomClaims) -> Result<(), UsersError> {
    match claims.keys().find(|name| is_reserved_claim(name)) {
        Some(name) => Err(UsersError::Claims(format!(
            "\"{name}\" is set by the issuer and cannot be a user's claim"
        ))),
        None => Ok(()),
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

const MAX_USERS_FILE: u64 = 64 * 1024 * 1024;

fn check_username(name: &str) -> Result<(), UsersError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(UsersError::InvalidUsername)
    }
}

fn check_password(password: &str) -> Result<(), UsersError> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(UsersError::UnacceptablePassword);
    }
    Ok(())
}

/// Hash a password with argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane — the
/// OWASP recommendation) and a 16-byte salt from the OS CSPRNG.
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    let salt = crate::crypto::random::bytes::<16>()
        .map_err(|_| UsersError::Hash("the system random number generator failed".into()))?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| UsersError::Hash(e.to_string()))
}

/// Usernames and argon2id hashes, checked in constant-ish time: the [`UserDirectory`] of
/// `gatepass serve --users FILE`. Its checks run on the server's [`PasswordHashing`]
/// threads.
///
/// ```no_run
/// use gatepass::{HashingLimits, PasswordHashing, UserDirectory, UsersFile};
/// # async fn run() -> Result<(), gatepass::UsersError> {
/// UsersFile::add("users.json", "alice", "correct horse battery", false)?;
/// let users = UsersFile::load("users.json")?;
/// let hashing = PasswordHashing::new(HashingLimits::default());
/// assert_eq!(users.verify_password("alice", "correct horse battery", &hashing).await?, Some("alice".into()));
/// assert_eq!(users.verify_password("alice", "wrong", &hashing).await?, None);
/// # Ok(()) }
/// ```
pub struct UsersFile {
    /// Replaced whole by [`reload`](Self::reload).
    users: RwLock<Arc<HashMap<String, User>>>,
    /// Verified against when the user does not exist, so both paths cost one argon2 run.
    dummy: String,
    path: Option<PathBuf>,
}

impl fmt::Debug for UsersFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsersFile")
            .field("path", &self.path)
            .field("users", &self.len())
            .finish_non_exhaustive()
    }
}

fn io(path: &Path, e: &std::io::Error) -> UsersError {
    UsersError::Io(format!("{}: {e}", path.display()))
}

fn read_document(path: &Path) -> Result<Document, UsersError> {
    let bytes = match read_bounded(path, MAX_USERS_FILE) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Document::default()),
        Err(e) => return Err(io(path, &e)),
    };
    if crate::json::nests_deeper_than(&bytes, crate::json::MAX_DEPTH) {
        return Err(UsersError::Format("JSON nests too deeply".into()));
    }
    let strict =
        crate::json::parse_object(&bytes).map_err(|e| UsersError::Format(e.to_string()))?;
    let doc: Document = serde_json::from_value(serde_json::Value::Object(strict))
        .map_err(|e| UsersError::Format(e.to_string()))?;
    for entry in &doc.users {
        check_username(&entry.username)?;
        PasswordHash::new(&entry.hash).map_err(|_| {
            UsersError::Format(format!("user {:?} has no valid PHC hash", entry.username))
        })?;
        check_claims(&entry.claims)
            .map_err(|e| UsersError::Format(format!("user {:?}: {e}", entry.username)))?;
    }
    Ok(doc)
}

/// Change the users file at `path` under its lock: read, let `change` edit the document,
/// write atomically (mode 0600).
fn edit<T>(
    path: &Path,
    change: impl FnOnce(&mut Document) -> Result<T, UsersError>,
) -> Result<T, UsersError> {
    let _lock = FileLock::acquire(path).map_err(|e| io(path, &e))?;
    let mut doc = read_document(path)?;
    let result = change(&mut doc)?;
    let mut bytes =
        serde_json::to_vec_pretty(&doc).map_err(|e| UsersError::Format(e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(|e| io(path, &e))?;
    Ok(result)
}

fn find<'a>(doc: &'a mut Document, username: &str) -> Result<&'a mut Entry, UsersError> {
    doc.users
        .iter_mut()
        .find(|e| e.username == username)
        .ok_or_else(|| UsersError::Unknown(username.to_owned()))
}

impl UsersFile {
    fn table(entries: Vec<Entry>) -> Result<HashMap<String, User>, UsersError> {
        let mut users = HashMap::with_capacity(entries.len());
        for entry in entries {
            let user = User {
                hash: entry.hash,
                claims: entry.claims,
            };
            if users.insert(entry.username.clone(), user).is_some() {
                return Err(UsersError::Format(format!(
                    "user {:?} appears twice",
                    entry.username
                )));
            }
        }
        Ok(users)
    }

    fn from_entries(entries: Vec<Entry>, path: Option<PathBuf>) -> Result<Self, UsersError> {
        let users = Self::table(entries)?;
        let dummy = hash_password("gatepass dummy password")?;
        Ok(Self {
            users: RwLock::new(Arc::new(users)),
            dummy,
            path,
        })
    }

    fn current(&self) -> Arc<HashMap<String, User>> {
        self.users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Read the file again (a running server picks up `gatepass users` changes this way).
    /// An invalid file leaves the users as they were and is the error. Users held only in
    /// memory have nothing to reload.
    pub fn reload(&self) -> Result<(), UsersError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let users = Self::table(read_document(path)?.users)?;
        *self
            .users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(users);
        Ok(())
    }

    /// The file this set was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Load a users file. A missing file is an empty set of users.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, UsersError> {
        let path = path.as_ref();
        Self::from_entries(read_document(path)?.users, Some(path.to_path_buf()))
    }

    /// Users held in memory only (for `serve --demo` and tests); passwords are hashed here.
    pub fn in_memory<'a>(
        users: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, UsersError> {
        let mut entries = Vec::new();
        for (username, password) in users {
            check_username(username)?;
            entries.push(Entry {
                username: username.to_owned(),
                hash: hash_password(password)?,
                claims: CustomClaims::new(),
            });
        }
        Self::from_entries(entries, None)
    }

    /// Add a user to the file at `path` (created if missing), or set a new password when
    /// `replace` is true. Returns whether the user existed. Read-modify-write under a lock,
    /// written atomically with mode 0600.
    pub fn add(
        path: impl AsRef<Path>,
        username: &str,
        password: &str,
        replace: bool,
    ) -> Result<bool, UsersError> {
        Self::add_with_claims(path, username, password, replace, None)
    }

    /// [`add`](Self::add), also setting the user's claims when `claims` is given (a
    /// replaced user otherwise keeps theirs). Everything is checked before the file is
    /// written, in one locked read-modify-write.
    pub fn add_with_claims(
        path: impl AsRef<Path>,
        username: &str,
        password: &str,
        replace: bool,
        claims: Option<CustomClaims>,
    ) -> Result<bool, UsersError> {
        check_username(username)?;
        check_password(password)?;
        if let Some(claims) = &claims {
            check_claims(claims)?;
        }
        let hash = hash_password(password)?;
        edit(path.as_ref(), |doc| {
            match doc.users.iter_mut().find(|e| e.username == username) {
                Some(_) if !replace => Err(UsersError::Exists(username.to_owned())),
                Some(entry) => {
                    entry.hash = hash;
                    if let Some(claims) = claims {
                        entry.claims = claims;
                    }
                    Ok(true)
                }
                None => {
                    doc.users.push(Entry {
                        username: username.to_owned(),
                        hash,
                        claims: claims.unwrap_or_default(),
                    });
                    Ok(false)
                }
            }
        })
    }

    /// Set a new password for an existing user of the file at `path`.
    pub fn set_password(
        path: impl AsRef<Path>,
        username: &str,
        password: &str,
    ) -> Result<(), UsersError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        edit(path.as_ref(), |doc| {
            find(doc, username)?.hash = hash;
            Ok(())
        })
    }

    /// Remove a user from the file at `path`. Returns whether it existed.
    pub fn remove(path: impl AsRef<Path>, username: &str) -> Result<bool, UsersError> {
        edit(path.as_ref(), |doc| {
            let before = doc.users.len();
            doc.users.retain(|e| e.username != username);
            Ok(doc.users.len() != before)
        })
    }

    /// Set the custom claims of an existing user of the file at `path` (replacing the
    /// previous ones; an empty object clears them). Registered claims are refused.
    ///
    /// ```no_run
    /// use gatepass::{CustomClaims, UsersFile};
    /// let claims: CustomClaims = serde_json::from_str(r#"{"roles": ["admin"], "scope": "orders:read"}"#)?;
    /// UsersFile::set_claims("users.json", "alice", claims)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_claims(
        path: impl AsRef<Path>,
        username: &str,
        claims: CustomClaims,
    ) -> Result<(), UsersError> {
        check_claims(&claims)?;
        edit(path.as_ref(), |doc| {
            find(doc, username)?.claims = claims;
            Ok(())
        })
    }

    /// The users of the file at `path` and their claims (never their hashes), sorted by
    /// username.
    pub fn list(path: impl AsRef<Path>) -> Result<Vec<(String, CustomClaims)>, UsersError> {
        let mut users: Vec<(String, CustomClaims)> = read_document(path.as_ref())?
            .users
            .into_iter()
            .map(|e| (e.username, e.claims))
            .collect();
        users.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(users)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }
}

impl UsersFile {
    /// The hash to check `username`'s password against: theirs, or the dummy one for an
    /// unknown user (both paths cost one argon2 run), and whether the user is known.
    fn hash_for(&self, username: &str) -> (String, bool) {
        match self.current().get(username) {
            Some(user) => (user.hash.clone(), true),
            None => (self.dummy.clone(), false),
        }
    }

    /// [`verify_password`](UserDirectory::verify_password) on the calling thread, blocking
    /// it for the argon2 run (tens of milliseconds): for scripts and tools, not for an
    /// async server, which goes through its bounded hashing threads.
    ///
    /// ```no_run
    /// use gatepass::UsersFile;
    /// UsersFile::add("users.json", "alice", "correct horse battery", false)?;
    /// let users = UsersFile::load("users.json")?;
    /// assert_eq!(users.verify_password_blocking("alice", "correct horse battery"), Some("alice".into()));
    /// assert_eq!(users.verify_password_blocking("alice", "wrong"), None);
    /// # Ok::<(), gatepass::UsersError>(())
    /// ```
    pub fn verify_password_blocking(&self, username: &str, password: &str) -> Option<String> {
        let (hash, known) = self.hash_for(username);
        let matches = verify(password.as_bytes(), &hash);
        (known && matches).then(|| username.to_owned())
    }
}

impl UserDirectory for UsersFile {
    fn verify_password<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
        hashing: &'a PasswordHashing,
    ) -> UsersFuture<'a, Option<String>> {
        Box::pin(async move {
            let (hash, known) = self.hash_for(username);
            let matches = hashing.verify(password, &hash).await?;
            Ok((known && matches).then(|| username.to_owned()))
        })
    }

    fn claims<'a>(&'a self, subject: &'a str) -> UsersFuture<'a, CustomClaims> {
        let claims = self
            .current()
            .get(subject)
            .map(|user| user.claims.clone())
            .unwrap_or_default();
        Box::pin(std::future::ready(Ok(claims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn known_user_with_the_right_password_only() {
        let users = UsersFile::in_memory([("alice", "correct horse")]).unwrap();
        let hashing = PasswordHashing::new(crate::HashingLimits::new(1, 1));
        let check = |name, password| block_on(users.verify_password(name, password, &hashing));
        assert_eq!(check("alice", "correct horse"), Ok(Some("alice".into())));
        assert_eq!(check("alice", "correct horsE"), Ok(None));
        assert_eq!(check("bob", "correct horse"), Ok(None));
        assert_eq!(check("bob", "gatepass dummy password"), Ok(None));
        assert_eq!(
            users.verify_password_blocking("alice", "correct horse"),
            Some("alice".into())
        );
        assert_eq!(users.verify_password_blocking("bob", "correct horse"), None);
    }

    #[test]
    fn claims_come_from_the_file_and_unknown_subjects_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let claims: CustomClaims = serde_json::from_str(r#"{"roles": ["admin"]}"#).unwrap();
        UsersFile::add_with_claims(&path, "alice", "correct horse", false, Some(claims.clone()))
            .unwrap();
        let users = UsersFile::load(&path).unwrap();
        assert_eq!(block_on(users.claims("alice")), Ok(claims));
        assert_eq!(block_on(users.claims("bob")), Ok(CustomClaims::new()));
    }

    #[test]
    fn a_busy_pool_is_busy_not_a_wrong_password() {
        assert_eq!(UsersError::from(HashingError::Busy), UsersError::Busy);
        assert_eq!(UsersError::from(HashingError::Failed).kind(), "hash");
    }

    #[test]
    fn usernames_and_passwords_are_validated() {
        for bad in ["", " alice", "al\nice", &"a".repeat(257)] {
            assert_eq!(
                check_username(bad),
                Err(UsersError::InvalidUsername),
                "{bad:?}"
            );
        }
        assert_eq!(
            check_password("short"),
            Err(UsersError::UnacceptablePassword)
        );
        assert!(check_password("long enough").is_ok());
    }

    #[test]
    fn the_file_round_trips_and_refuses_silent_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        assert!(!UsersFile::add(&path, "alice", "first password", false).unwrap());
        assert_eq!(
            UsersFile::add(&path, "alice", "second password", false),
            Err(UsersError::Exists("alice".into()))
        );
        assert!(UsersFile::add(&path, "alice", "second password", true).unwrap());
        let users = UsersFile::load(&path).unwrap();
        assert_eq!(
            users.verify_password_blocking("alice", "second password"),
            Some("alice".into())
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("$argon2id$") && !text.contains("second password"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
