//! Who may log in: the [`UserDirectory`] trait and the shipped implementation, a users file
//! of argon2id hashes (`gatepass users add`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::password_hash::PasswordHasher as _;
use argon2::{Argon2, Block};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::fs::{read_bounded, write_atomic, FileLock};
use crate::token::{is_reserved_claim, CustomClaims};

/// Checks a username and password. Implementations may be slow on purpose (password
/// hashing): the auth router calls them on its password-hashing threads (at most one per
/// core, see [`HashingLimits`](crate::HashingLimits)), never on an async worker.
pub trait UserDirectory: Send + Sync + fmt::Debug {
    /// `Ok(Some(subject))` for a correct pair, `Ok(None)` for a wrong one. Must take
    /// about the same time for unknown users as for known ones, so response times do not
    /// reveal which usernames exist.
    fn verify_password(&self, username: &str, password: &str)
        -> Result<Option<String>, UsersError>;

    /// Custom claims for every access token of `subject`'s sessions (roles, scopes, ...),
    /// looked up at login. None by default. Registered claims (`iss`, `sub`, `aud`, `exp`,
    /// `nbf`, `iat`, `jti`, `sid`, `cnf`) are refused at login, whoever returns them.
    fn claims(&self, subject: &str) -> CustomClaims {
        let _ = subject;
        CustomClaims::new()
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
    /// Hashing failed (argon2 refused its input).
    Hash(String),
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

/// Usernames and argon2id hashes, checked in constant-ish time.
///
/// ```no_run
/// use gatepass::{UserDirectory, UsersFile};
/// UsersFile::add("users.json", "alice", "correct horse battery", false)?;
/// let users = UsersFile::load("users.json")?;
/// assert_eq!(users.verify_password("alice", "correct horse battery")?, Some("alice".into()));
/// assert_eq!(users.verify_password("alice", "wrong")?, None);
/// # Ok::<(), gatepass::UsersError>(())
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

impl UserDirectory for UsersFile {
    fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, UsersError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let users = self.current();
        let (hash, known) = match users.get(username) {
            Some(user) => (user.hash.as_str(), true),
            None => (self.dummy.as_str(), false),
        };
        let matches = verify(&password, hash);
        Ok((known && matches).then(|| username.to_owned()))
    }

    fn claims(&self, subject: &str) -> CustomClaims {
        self.current()
            .get(subject)
            .map(|user| user.claims.clone())
            .unwrap_or_default()
    }
}

/// Working memory kept by one thread between checks (the default argon2id costs 19 MiB).
/// Found by review: allocating it per check, the allocator kept a fresh 19 MiB resident
/// after most checks, and a server's memory grew by hundreds of megabytes under login
/// load even on two threads. Reused, a thread holds one copy however many checks it runs.
const KEPT_BLOCKS: usize = 64 * 1024;

thread_local! {
    static WORKSPACE: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC `hash` (argon2id, argon2i or argon2d with the
/// parameters the hash names), computed in this thread's reused working memory and
/// compared in constant time. A hash that cannot be checked never matches.
fn verify(password: &[u8], hash: &str) -> bool {
    let Ok(hash) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&hash) else {
        return false;
    };
    let blocks = params.block_count();
    let context = Argon2::new(algorithm, version, params);
    let mut computed = Zeroizing::new(vec![0u8; expected.len()]);
    let hashed = if blocks <= KEPT_BLOCKS {
        WORKSPACE.with_borrow_mut(|memory| {
            if memory.len() < blocks {
                memory.resize(blocks, Block::new());
            }
            context.hash_password_into_with_memory(password, salt, &mut computed, &mut **memory)
        })
    } else {
        // An unusually costly hash: its memory is not kept.
        context.hash_password_into(password, salt, &mut computed)
    };
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_user_with_the_right_password_only() {
        let users = UsersFile::in_memory([("alice", "correct horse")]).unwrap();
        assert_eq!(
            users.verify_password("alice", "correct horse").unwrap(),
            Some("alice".into())
        );
        assert_eq!(
            users.verify_password("alice", "correct horsE").unwrap(),
            None
        );
        assert_eq!(users.verify_password("bob", "correct horse").unwrap(), None);
        assert_eq!(
            users
                .verify_password("bob", "gatepass dummy password")
                .unwrap(),
            None
        );
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
            users.verify_password("alice", "second password").unwrap(),
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

    #[test]
    fn verification_follows_the_parameters_the_hash_names() {
        let salt = [7u8; 16];
        for (algorithm, version, params) in [
            (
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::default(),
            ),
            (
                argon2::Algorithm::Argon2i,
                argon2::Version::V0x10,
                argon2::Params::new(64, 3, 2, Some(16)).unwrap(),
            ),
            (
                argon2::Algorithm::Argon2d,
                argon2::Version::V0x13,
                argon2::Params::new(8, 1, 1, Some(64)).unwrap(),
            ),
        ] {
            let phc = Argon2::new(algorithm, version, params)
                .hash_password_with_salt(b"correct horse", &salt)
                .unwrap()
                .to_string();
            assert!(verify(b"correct horse", &phc), "{phc}");
            assert!(!verify(b"correct horsE", &phc), "{phc}");
        }
        let good = hash_password("correct horse").unwrap();
        for bad in [
            "",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            &good.replace("v=19", "v=99"),
        ] {
            assert!(!verify(b"correct horse", bad), "{bad:?}");
        }
    }

    #[test]
    fn a_thread_reuses_its_working_memory() {
        let users = UsersFile::in_memory([("alice", "correct horse")]).unwrap();
        std::thread::spawn(move || {
            users.verify_password("alice", "wrong horse").unwrap();
            let address = WORKSPACE.with_borrow(|memory| memory.as_ptr() as usize);
            for _ in 0..3 {
                users.verify_password("alice", "correct horse").unwrap();
                users.verify_password("mallory", "correct horse").unwrap();
            }
            WORKSPACE.with_borrow(|memory| {
                assert_eq!(memory.as_ptr() as usize, address);
                assert_eq!(memory.len(), argon2::Params::default().block_count());
            });
        })
        .join()
        .unwrap();
    }
}
