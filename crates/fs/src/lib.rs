//! Atomic file writes, shared by both transports and the CLI.
//!
//! [`AtomicFile`] writes to a hidden temporary file in the target's directory;
//! [`AtomicFile::commit`] flushes it, syncs it to disk and renames it into
//! place. Until then nothing exists at the target path, and if the writer is
//! dropped without committing (an error, a panic, a cancelled future) the
//! temporary file is removed. An existing file is replaced only when asked.
//!
//! ```
//! use std::io::Write;
//! use didww_exports_fs::AtomicFile;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let target = dir.path().join("cdrs.csv");
//! let mut file = AtomicFile::create(&target, false).unwrap();
//! file.write_all(b"header\n").unwrap();
//! assert!(!target.exists()); // not until commit
//! file.commit().unwrap();
//! assert_eq!(std::fs::read(&target).unwrap(), b"header\n");
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Buffer size of the writer: large enough that a download is a few syscalls a megabyte.
const BUFFER: usize = 256 * 1024;

/// Why an atomic write failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AtomicFileError {
    /// The target exists and replacing it was not asked for.
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    /// The file system refused.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl<E: std::error::Error + 'static> From<AtomicFileError> for didww_exports_core::ClientError<E> {
    fn from(e: AtomicFileError) -> Self {
        match e {
            AtomicFileError::Exists(path) => didww_exports_core::ClientError::FileExists(path),
            AtomicFileError::Io { path, source } => didww_exports_core::ClientError::Write {
                path: Some(path),
                source,
            },
        }
    }
}

/// A file that appears at its path only once complete.
#[derive(Debug)]
pub struct AtomicFile {
    writer: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
    overwrite: bool,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AtomicFileError + '_ {
    move |source| AtomicFileError::Io {
        path: path.to_owned(),
        source,
    }
}

impl AtomicFile {
    /// Starts writing `target`. Fails at once if it exists and `overwrite` is false.
    pub fn create(target: impl AsRef<Path>, overwrite: bool) -> Result<Self, AtomicFileError> {
        let target = target.as_ref().to_owned();
        if target.is_dir() {
            return Err(AtomicFileError::Io {
                path: target,
                source: io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
            });
        }
        if !overwrite && target.symlink_metadata().is_ok() {
            return Err(AtomicFileError::Exists(target));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // An ordinary file's mode (0666 less the umask), not tempfile's private 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(&dir).map_err(io_err(&dir))?;
        Ok(AtomicFile {
            writer: BufWriter::with_capacity(BUFFER, temp),
            target,
            overwrite,
        })
    }

    /// The path the file will have.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path (removed on drop without commit).
    pub fn temp_path(&self) -> &Path {
        self.writer.get_ref().path()
    }

    /// Flushes, syncs and renames the file into place; returns its path.
    pub fn commit(self) -> Result<PathBuf, AtomicFileError> {
        let target = self.target;
        let temp = self.writer.into_inner().map_err(|e| AtomicFileError::Io {
            path: target.clone(),
            source: e.into_error(),
        })?;
        temp.as_file().sync_all().map_err(io_err(&target))?;
        let persisted = if self.overwrite {
            temp.persist(&target)
        } else {
            temp.persist_noclobber(&target)
        };
        if let Err(e) = persisted {
            // `e.file` is dropped here, which removes the temporary file.
            return Err(if e.error.kind() == io::ErrorKind::AlreadyExists {
                AtomicFileError::Exists(target)
            } else {
                AtomicFileError::Io {
                    path: target,
                    source: e.error,
                }
            });
        }
        sync_parent(&target);
        Ok(target)
    }
}

/// Makes the rename durable (best effort: not every platform can open a directory).
fn sync_parent(target: &Path) {
    #[cfg(unix)]
    if let Some(parent) = target.parent() {
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = target;
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn nothing_until_commit_and_nothing_left_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.csv");
        let mut f = AtomicFile::create(&target, false).unwrap();
        f.write_all(&vec![b'x'; 1_000_000]).unwrap();
        assert!(!target.exists());
        assert_eq!(entries(dir.path()).len(), 1, "only the temporary file");
        assert!(
            f.temp_path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".a.csv.")
        );
        drop(f);
        assert!(entries(dir.path()).is_empty());

        let mut f = AtomicFile::create(&target, false).unwrap();
        f.write_all(b"done").unwrap();
        assert_eq!(f.commit().unwrap(), target);
        assert_eq!(entries(dir.path()), ["a.csv"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
    }

    #[test]
    fn existing_files_are_kept_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.csv");
        std::fs::write(&target, "old").unwrap();
        assert!(matches!(
            AtomicFile::create(&target, false),
            Err(AtomicFileError::Exists(_))
        ));
        // A file that appears while writing is not clobbered either.
        let other = dir.path().join("b.csv");
        let mut f = AtomicFile::create(&other, false).unwrap();
        f.write_all(b"new").unwrap();
        std::fs::write(&other, "raced").unwrap();
        assert!(matches!(f.commit(), Err(AtomicFileError::Exists(_))));
        assert_eq!(std::fs::read(&other).unwrap(), b"raced");
        assert_eq!(entries(dir.path()), ["a.csv", "b.csv"]);

        let mut f = AtomicFile::create(&target, true).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn committed_files_have_an_ordinary_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m.csv");
        AtomicFile::create(&target, false).unwrap().commit().unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        // Group/other read as the umask allows; never the private 0600 of a temporary file.
        assert_eq!(mode & 0o600, 0o600);
        assert_ne!(mode, 0o600, "mode {mode:o}");
    }

    #[test]
    fn bad_targets() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            AtomicFile::create(dir.path(), true),
            Err(AtomicFileError::Io { .. })
        ));
        assert!(matches!(
            AtomicFile::create(dir.path().join("missing/dir/x"), false),
            Err(AtomicFileError::Io { .. })
        ));
    }
}
