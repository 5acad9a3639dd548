//! Keyset files on disk: read, atomic write (temp file + fsync + rename, mode 0600), and
//! read-modify-write under an exclusive lock so two `gatepass keygen` runs cannot lose
//! each other's key.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use super::keyset::Keyset;
use crate::error::KeysetError;

/// Keyset files are small; anything larger is refused before it is read into memory.
const MAX_KEYSET_BYTES: u64 = 4 * 1024 * 1024;

fn io_error(action: &'static str, path: &Path, err: &std::io::Error) -> KeysetError {
    KeysetError::Io {
        action,
        message: format!("{}: {err}", path.display()),
    }
}

/// Read a whole file of at most `max` bytes.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, KeysetError> {
    let file = File::open(path).map_err(|e| io_error("read", path, &e))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("read", path, &e))?;
    if bytes.len() as u64 > max {
        return Err(KeysetError::Format(format!(
            "{} is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Write `bytes` to `path` atomically: a new file with mode 0600 in the same directory,
/// fsynced, renamed over `path`, then the directory fsynced so the rename is durable.
/// A crash leaves either the old file or the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeysetError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix: String = crate::crypto::random::bytes::<6>()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
        .map_err(|_| KeysetError::Io {
            action: "write",
            message: "the system RNG failed".into(),
        })?;
    let tmp = dir.join(format!(".{name}.{suffix}.tmp"));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .map_err(|e| io_error("write", &tmp, &e))?;
        file.write_all(bytes)
            .map_err(|e| io_error("write", &tmp, &e))?;
        file.sync_all().map_err(|e| io_error("fsync", &tmp, &e))?;
        fs::rename(&tmp, path).map_err(|e| io_error("rename", path, &e))?;
        if let Ok(dir) = File::open(&dir) {
            // Not every platform can fsync a directory; the rename is already done.
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// An exclusive advisory lock on `<path>.lock`, released on drop.
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> Result<Self, KeysetError> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&lock_path)
            .map_err(|e| io_error("lock", &lock_path, &e))?;
        file.lock().map_err(|e| io_error("lock", &lock_path, &e))?;
        Ok(Self { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
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
        Self::from_json(&read_bounded(path.as_ref(), MAX_KEYSET_BYTES)?)
    }

    /// Write the keyset atomically with mode 0600.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KeysetError> {
        write_atomic(path.as_ref(), &self.to_json())
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
        let _lock = FileLock::acquire(path)?;
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
