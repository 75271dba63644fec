//! Where projections get events from: one interface, implemented for the
//! embedded store's subscription and for the log's replica on JetStream.

use std::future::Future;

use docket_eventstore::jetstream::{JetStreamFeed, JetStreamLog, LogReplica};
use docket_eventstore::{Store, StoredEvent, Subscription};

use crate::error::ProjectionError;

/// Events in log order, from some position on.
pub trait EventFeed: Send + 'static {
    /// The next 1 to `max` events in position order, waiting while there
    /// are none, as stored (the runner decodes them on its decoder
    /// threads). Gapless: each batch starts right after the previous one.
    /// Must be cancel-safe: dropping the future before it completes loses
    /// no event.
    fn next_batch(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, ProjectionError>> + Send;
}

/// Opens feeds: the runner reopens one after an error, and a rebuild reads
/// from position 1 while the live projection keeps reading.
pub trait FeedSource: Send + Sync + 'static {
    /// The feed the source opens.
    type Feed: EventFeed;

    /// A feed whose first event is the one at `from_position` (1 = the start).
    fn open(
        &self,
        from_position: u64,
    ) -> impl Future<Output = Result<Self::Feed, ProjectionError>> + Send;

    /// The last position durable at the source now (0 = empty log).
    fn head(&self) -> impl Future<Output = Result<u64, ProjectionError>> + Send;
}

impl EventFeed for Subscription {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>, ProjectionError> {
        Ok(self.next_stored_batch(max).await?)
    }
}

impl FeedSource for Store {
    type Feed = Subscription;

    async fn open(&self, from_position: u64) -> Result<Subscription, ProjectionError> {
        Ok(self.subscribe(from_position))
    }

    async fn head(&self) -> Result<u64, ProjectionError> {
        Ok(Store::head(self).position)
    }
}

impl EventFeed for JetStreamFeed {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>, ProjectionError> {
        Ok(self.next_stored_batch(max).await?)
    }
}

impl FeedSource for LogReplica {
    type Feed = JetStreamFeed;

    async fn open(&self, from_position: u64) -> Result<JetStreamFeed, ProjectionError> {
        Ok(self.subscribe(from_position).await?)
    }

    async fn head(&self) -> Result<u64, ProjectionError> {
        Ok(LogReplica::head(self).await?)
    }
}

/// The stream read as it is, for a worker with no log of its own to check
/// it against (docketd reads it as a [`LogReplica`]).
impl FeedSource for JetStreamLog {
    type Feed = JetStreamFeed;

    async fn open(&self, from_position: u64) -> Result<JetStreamFeed, ProjectionError> {
        Ok(self.subscribe(from_position).await?)
    }

    async fn head(&self) -> Result<u64, ProjectionError> {
        Ok(JetStreamLog::head(self).await?)
    }
}
