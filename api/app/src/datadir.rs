//! The data folder: one `docketd` at a time, where each part lives in it,
//! and the signing secret it keeps when none is configured.
//!
//! The secret comes from `DOCKET_JWT_SECRET`, a file named by
//! `--jwt-secret-file`, or (neither given) a random secret created on first
//! start inside the data folder with mode 0600, so the server runs with no
//! set-up and `docketd token --data-dir D` can sign with the same secret.
//! What signs and verifies tokens with it is the edges' business.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::AppError;

/// Name of the generated secret inside the data folder.
pub const SECRET_FILE_NAME: &str = "jwt-secret";
/// Bytes of randomness in a generated secret (hex-encoded on disk).
const GENERATED_SECRET_BYTES: usize = 32;

/// Where the signing secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `DOCKET_JWT_SECRET` (or `--jwt-secret`).
    Environment,
    /// The file named by `--jwt-secret-file`.
    File(PathBuf),
    /// Created now in the data folder.
    Generated(PathBuf),
    /// Created earlier in the data folder.
    DataFolder(PathBuf),
}

/// Resolves the secret: the environment's, then the named file, then the
/// data folder's own (created when missing).
pub fn load_secret(
    from_env: Option<&str>,
    secret_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(Vec<u8>, SecretSource), AppError> {
    if let Some(secret) = from_env.filter(|s| !s.is_empty()) {
        return Ok((secret.as_bytes().to_vec(), SecretSource::Environment));
    }
    if let Some(path) = secret_file {
        let secret = read_secret(path)?;
        return Ok((secret, SecretSource::File(path.to_owned())));
    }
    let path = data_dir.join(SECRET_FILE_NAME);
    if path.exists() {
        return Ok((read_secret(&path)?, SecretSource::DataFolder(path)));
    }
    let secret = create_secret(&path)?;
    Ok((secret, SecretSource::Generated(path)))
}

fn read_secret(path: &Path) -> Result<Vec<u8>, AppError> {
    let text = std::fs::read(path).map_err(|source| AppError::SecretRead {
        path: path.to_owned(),
        source,
    })?;
    let trimmed = text.trim_ascii();
    if trimmed.is_empty() {
        return Err(AppError::SecretEmpty {
            path: path.to_owned(),
        });
    }
    Ok(trimmed.to_vec())
}

fn create_secret(path: &Path) -> Result<Vec<u8>, AppError> {
    use std::os::unix::fs::OpenOptionsExt;
    let create_error = |source| AppError::SecretCreate {
        path: path.to_owned(),
        source,
    };
    let mut random = [0u8; GENERATED_SECRET_BYTES];
    rand::fill(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(create_error)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(create_error)?;
    file.write_all(hex.as_bytes()).map_err(create_error)?;
    file.sync_all().map_err(create_error)?;
    Ok(hex.into_bytes())
}

/// The folder's parts, with its lock held.
pub struct DataDir {
    /// The folder itself.
    pub root: PathBuf,
    /// Held for the process's life: a second server on the folder is refused.
    _lock: File,
}

/// The lock file that keeps a second server (or a rebuild) off the folder.
pub const LOCK_FILE_NAME: &str = "docketd.lock";

impl DataDir {
    /// Creates the folder if needed and takes its lock, or says who holds it.
    pub fn open(root: &Path) -> Result<DataDir, AppError> {
        std::fs::create_dir_all(root).map_err(|source| AppError::DataDirCreate {
            path: root.to_owned(),
            source,
        })?;
        let lock_path = root.join(LOCK_FILE_NAME);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| AppError::DataDirLock {
                path: root.to_owned(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(AppError::DataDirInUse {
                    path: root.to_owned(),
                    lock: lock_path,
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(AppError::DataDirLock {
                    path: root.to_owned(),
                    source,
                })
            }
        }
        Ok(DataDir {
            root: root.to_owned(),
            _lock: lock,
        })
    }

    /// The event log (the record).
    pub fn log_dir(&self) -> PathBuf {
        log_dir(&self.root)
    }

    /// The read models (derived; can be rebuilt from the log).
    pub fn views_dir(&self) -> PathBuf {
        views_dir(&self.root)
    }
}

/// The event log of the folder at `root`.
pub fn log_dir(root: &Path) -> PathBuf {
    root.join("log")
}

/// The read models of the folder at `root`.
pub fn views_dir(root: &Path) -> PathBuf {
    root.join("views")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_opened_once() {
        let root = std::env::temp_dir().join(format!("docket-lock-{}", uuid::Uuid::new_v4()));
        let first = DataDir::open(&root).expect("free");
        assert!(matches!(
            DataDir::open(&root),
            Err(AppError::DataDirInUse { .. })
        ));
        drop(first);
        assert!(DataDir::open(&root).is_ok());
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn a_generated_secret_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("docket-secret-{}", uuid::Uuid::new_v4()));
        let (first, source) = load_secret(None, None, &dir).expect("created");
        assert!(matches!(source, SecretSource::Generated(_)));
        let mode = std::fs::metadata(dir.join(SECRET_FILE_NAME))
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, source) = load_secret(None, None, &dir).expect("read back");
        assert_eq!(first, second);
        assert!(matches!(source, SecretSource::DataFolder(_)));
        std::fs::remove_dir_all(dir).ok();
    }
}
