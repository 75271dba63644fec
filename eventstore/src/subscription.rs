//! Catch-up-then-live reading of the log.

use tokio::sync::watch;

use crate::error::StoreError;
use crate::store::Store;
use crate::stored::StoredEvent;
use crate::types::RecordedEvent;
use crate::SUBSCRIPTION_BATCH_MAX;

/// Reads the log in position order from a start position: first what is
/// durable, then each commit once it is durable. Holds a store handle.
pub struct Subscription {
    store: Store,
    next_position: u64,
    head_rx: watch::Receiver<u64>,
}

impl Subscription {
    pub(crate) fn new(store: Store, next_position: u64, head_rx: watch::Receiver<u64>) -> Self {
        assert!(next_position >= 1);
        Subscription {
            store,
            next_position,
            head_rx,
        }
    }

    /// The position of the next event it delivers.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// The next 1 to `max` events (capped at `SUBSCRIPTION_BATCH_MAX`),
    /// waiting for a commit if it has caught up with the head. `Closed` once
    /// caught up with a store whose writer has stopped.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.next_entries(max, Store::read_from).await
    }

    /// [`Subscription::next_batch`], undecoded (see [`StoredEvent`]).
    pub async fn next_stored_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.next_entries(max, Store::read_stored_from).await
    }

    async fn next_entries<T>(
        &mut self,
        max: usize,
        read: impl Fn(&Store, u64, usize) -> Result<Vec<T>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let max = max.clamp(1, SUBSCRIPTION_BATCH_MAX);
        loop {
            if self.next_position <= self.store.head().position {
                let events = read(&self.store, self.next_position, max)?;
                assert!(
                    !events.is_empty(),
                    "read_from under the head returns events"
                );
                self.next_position += events.len() as u64;
                return Ok(events);
            }
            let wanted = self.next_position;
            self.head_rx
                .wait_for(|&head| head >= wanted)
                .await
                .map_err(|_| StoreError::Closed)?;
        }
    }
}
