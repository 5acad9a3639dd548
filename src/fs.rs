//! Small filesystem helpers shared by the keyset file and the revocation journal:
//! bounded reads, atomic replacement (and clean-up after an interrupted one), and an
//! exclusive lock file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Read a whole file of at most `max` bytes; larger files are an `InvalidData` error
/// before more than `max + 1` bytes are held in memory.
pub(crate) fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// Open options for a new private file: created exclusively, mode 0600 on Unix.
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// fsync a directory so a rename or create inside it is durable (best effort: not every
/// platform can).
pub(crate) fn sync_dir(path: &Path) {
    if let Ok(dir) = File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
}

/// A fresh temporary name beside `path`: `.<name>.<12 hex digits>.tmp`, in the same
/// directory so that a rename over `path` is atomic.
pub(crate) fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix: String = crate::crypto::random::bytes::<6>()
        .map_err(|_| io::Error::other("the system RNG failed"))?
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    Ok(parent_dir(path).join(format!(".{name}.{suffix}.tmp")))
}

/// Remove the temporary files [`temp_path`] names for `path` that an interrupted
/// replacement left behind; returns what was removed. Only names of exactly that shape
/// are touched: never `path` itself nor any other file beside it. The caller must hold
/// the lock that keeps anyone else from replacing `path` meanwhile.
pub(crate) fn remove_stale_temps(path: &Path) -> io::Result<Vec<PathBuf>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut removed = Vec::new();
    for entry in fs::read_dir(parent_dir(path))? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let is_temp = file_name
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if is_temp && entry.file_type().is_ok_and(|t| t.is_file()) {
            fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Replace `path` with `bytes` atomically: a new 0600 file in the same directory,
/// fsynced, renamed over `path`, then the directory fsynced. A crash leaves the old file
/// or the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file = private_options().open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// An exclusive advisory lock on `<path>.lock`, released on drop.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    fn lock_path(path: &Path) -> PathBuf {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        PathBuf::from(lock_path)
    }

    fn open(path: &Path) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(Self::lock_path(path))
    }

    /// Wait for the lock.
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        let file = Self::open(path)?;
        file.lock()?;
        Ok(Self { file })
    }

    /// Take the lock now or fail with `WouldBlock`.
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Self> {
        let file = Self::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { file }),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked by another process",
                    Self::lock_path(path).display()
                ),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}
