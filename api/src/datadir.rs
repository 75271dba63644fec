//! The data folder: one `docketd` at a time, and where each part lives in it.

use crate::error::ServerError;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The folder's parts.
pub struct DataDir {
    pub root: PathBuf,
    /// Held for the process's life: a second server on the folder is refused.
    _lock: File,
}

pub const LOCK_FILE_NAME: &str = "docketd.lock";

impl DataDir {
    /// Creates the folder if needed and takes its lock, or says who holds it.
    pub fn open(root: &Path) -> Result<DataDir, ServerError> {
        std::fs::create_dir_all(root).map_err(|source| ServerError::DataDirCreate {
            path: root.to_owned(),
            source,
        })?;
        let lock_path = root.join(LOCK_FILE_NAME);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| ServerError::DataDirLock {
                path: root.to_owned(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ServerError::DataDirInUse {
                    path: root.to_owned(),
                    lock: lock_path,
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(ServerError::DataDirLock {
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

pub fn log_dir(root: &Path) -> PathBuf {
    root.join("log")
}

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
            Err(ServerError::DataDirInUse { .. })
        ));
        drop(first);
        assert!(DataDir::open(&root).is_ok());
        std::fs::remove_dir_all(root).ok();
    }
}
