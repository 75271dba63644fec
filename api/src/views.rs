//! What queries read: the log's head (histories and ticket views are folded
//! from the log itself, so they are never behind a command's answer), and
//! the gauges `/metrics` exports.

use std::time::Duration;

use docket_eventstore::Store;

use crate::clock::ServerClock;
use crate::datadir::DataDir;
use crate::problem::ApiError;

#[derive(Clone)]
pub struct Views {
    store: Store,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewsError {
    #[error("{0}")]
    Open(String),
}

impl Views {
    pub fn start(_data_dir: &DataDir, store: Store, _clock: ServerClock) -> Result<Views, ViewsError> {
        Ok(Views { store })
    }

    pub async fn stop(&self) {}

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Waits until the log has committed `position` (at most `limit`), for
    /// `X-Min-Position`; 503 `projection_lagging` after that.
    pub async fn wait_for_log(&self, position: u64, limit: Duration) -> Result<(), ApiError> {
        let mut head = self.store.watch_head();
        let reached = tokio::time::timeout(limit, head.wait_for(|head| *head >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ApiError::unavailable(
                "projection_lagging",
                format!("position {position} was not reached within {} s", limit.as_secs()),
            )),
        }
    }
}
