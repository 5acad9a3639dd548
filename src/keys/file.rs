//! Keyset files on disk: read, atomic write (temp file + fsync + rename, mode 0600), and
//! read-modify-write under an exclusive lock so two `gatepass keygen` runs cannot lose
//! each other's key.

use std::fs;
use std::path::Path;

use super::keyset::Keyset;
use super::KeysetError;
use crate::fs::{read_bounded, write_atomic, FileLock};

/// Keyset files are small; anything larger is refused before it is read into memory.
const MAX_KEYSET_BYTES: u64 = 4 * 1024 * 1024;

fn io_error(action: &'static str, path: &Path, err: &std::io::Error) -> KeysetError {
    KeysetError::Io {
        action,
        message: format!("{}: {err}", path.display()),
    }
}

impl Keyset {
    /// Load and validate a keyset file.
    ///
    /// ```no_run
    /// let keyset = gatepass::Keyset::load("keys/dev-keyset.json")?;
    /// # Ok::<(), gatepass::KeysetError>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeysetError> {
        let path = path.as_ref();
        let bytes = read_bounded(path, MAX_KEYSET_BYTES).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => KeysetError::Format(e.to_string()),
            _ => io_error("read", path, &e),
        })?;
        Self::from_json(&bytes)
    }

    /// Write the keyset atomically with mode 0600.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KeysetError> {
        let path = path.as_ref();
        write_atomic(path, &self.to_json()).map_err(|e| io_error("write", path, &e))
    }

    /// Read-modify-write under an exclusive lock: load `path` (an empty keyset if the file
    /// does not exist), apply `change`, and save only if it succeeded.
    ///
    /// ```no_run
    /// use gatepass::{Algorithm, GenerateOptions, Keyset};
    /// let kid = Keyset::update("keys.json", |keyset| {
    ///     keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 1_700_000_000)
    /// })?;
    /// # Ok::<(), gatepass::KeysetError>(())
    /// ```
    pub fn update<T>(
        path: impl AsRef<Path>,
        change: impl FnOnce(&mut Keyset) -> Result<T, KeysetError>,
    ) -> Result<T, KeysetError> {
        let path = path.as_ref();
        let _lock = FileLock::acquire(path).map_err(|e| io_error("lock", path, &e))?;
        let mut keyset = match fs::metadata(path) {
            Ok(_) => Self::load(path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::new(),
            Err(e) => return Err(io_error("read", path, &e)),
        };
        let out = change(&mut keyset)?;
        keyset.save(path)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, GenerateOptions};
    use std::path::PathBuf;

    fn temp_dir() -> PathBuf {
        let suffix: String = crate::crypto::random::bytes::<8>()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = std::env::temp_dir().join(format!("gatepass-file-{suffix}"));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn saved_file_has_mode_0600_and_reloads() {
        let dir = temp_dir();
        let path = dir.join("keys.json");
        Keyset::update(&path, |k| {
            k.generate(Algorithm::ES384, GenerateOptions::default(), 5)
        })
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(Keyset::load(&path).unwrap().len(), 1);
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failed_change_leaves_the_file_untouched() {
        let dir = temp_dir();
        let path = dir.join("keys.json");
        Keyset::update(&path, |k| {
            k.generate(Algorithm::HS256, GenerateOptions::default(), 5)
        })
        .unwrap();
        let before = fs::read(&path).unwrap();
        let err = Keyset::update(&path, |k| k.activate("nope", 6)).unwrap_err();
        assert_eq!(err, KeysetError::NoSuchKey("nope".into()));
        assert_eq!(fs::read(&path).unwrap(), before);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn concurrent_updates_lose_no_key() {
        let dir = temp_dir();
        let path = dir.join("keys.json");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    Keyset::update(&path, |k| {
                        k.generate(Algorithm::HS256, GenerateOptions::default(), 1)
                    })
                    .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(Keyset::load(&path).unwrap().len(), 8);
        fs::remove_dir_all(dir).unwrap();
    }
}
