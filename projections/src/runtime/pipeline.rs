//! The decode pipeline: the feed read and decoded ahead of the applier.
//!
//! A reader task pulls batches from the feed and has them decoded on the
//! blocking pool while it reads the next; a forwarder hands them over in
//! read order. Decoding runs on one core while the applier folds on the
//! other, and the channels between them are bounded
//! ([`READ_AHEAD_BATCHES`], [`DECODES_IN_FLIGHT`]), so a fast feed cannot
//! run away from a slow applier.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use docket_domain::codec;
use docket_eventstore::StoredEvent;

use super::config::RunConfig;
use crate::error::ProjectionError;
use crate::feed::EventFeed;
use crate::model::{ticket_of_stream, Incoming};

/// Events asked of the feed per read.
pub const READ_BATCH_MAX: usize = 4_096;

/// Feed batches decoded ahead of the applier.
const READ_AHEAD_BATCHES: usize = 4;

/// Feed batches being decoded while the reader reads the next.
const DECODES_IN_FLIGHT: usize = 2;

/// Decoded events in log order, as the feed's reads returned them: kept
/// apart, not concatenated. The applier walks them in order either way, and
/// copying a commit's worth into one growing vector would copy every event
/// and fault in fresh pages for nothing.
pub(super) type Batches = Vec<Vec<Incoming>>;

/// The feed, read and decoded ahead of the applier.
pub(super) struct Pipeline {
    rx: mpsc::Receiver<Result<Vec<Incoming>, ProjectionError>>,
    reader: JoinHandle<()>,
    /// Hands the decoded batches on in the order they were read.
    forwarder: JoinHandle<()>,
    /// Events asked of the feed per read: a shorter read means the feed
    /// had nothing more (the copy is at the head).
    read_max: usize,
    /// Events taken from the channel and not yet handed out: kept here so
    /// that a `next` dropped mid-way (it runs inside `select!`) loses none.
    pending: Batches,
    /// Events in `pending`.
    pending_events: usize,
    at_head: bool,
}

impl Pipeline {
    /// Starts reading `feed` (opened at the position to apply next) on the
    /// current tokio runtime.
    pub(super) fn start<F: EventFeed>(mut feed: F, config: RunConfig) -> Pipeline {
        let read_max = config.commit_events_max.clamp(1, READ_BATCH_MAX);
        let (tx, rx) = mpsc::channel(READ_AHEAD_BATCHES);
        // The reader goes on reading while the batches it read are being
        // decoded: reading and decoding in turn would leave the applier
        // waiting for events while it folds (`docs/benchmarks.md`,
        // "Rebuild").
        let (decoding_tx, mut decoding) = mpsc::channel(DECODES_IN_FLIGHT);
        let reader = tokio::spawn(async move {
            loop {
                let read = feed
                    .next_batch(read_max)
                    .await
                    .map(|events| tokio::task::spawn_blocking(move || decode_all(events)));
                let failed = read.is_err();
                if decoding_tx.send(read).await.is_err() || failed {
                    return;
                }
            }
        });
        let forwarder = tokio::spawn(async move {
            while let Some(read) = decoding.recv().await {
                let decoded = match read {
                    Ok(decoder) => decoder.await.unwrap_or_else(|error| {
                        Err(ProjectionError::Feed(format!("decoder failed: {error}")))
                    }),
                    Err(error) => Err(error),
                };
                let failed = decoded.is_err();
                if tx.send(decoded).await.is_err() || failed {
                    return;
                }
            }
        });
        Pipeline {
            rx,
            reader,
            forwarder,
            read_max,
            pending: Vec::new(),
            pending_events: 0,
            at_head: false,
        }
    }

    /// Waits for events, then also takes what is already decoded, up to
    /// about `events_max` events, and at the head what arrives within
    /// `linger`. `true` with them when the feed had nothing more at its
    /// last read (the copy is at the head). Cancel-safe.
    pub(super) async fn next(
        &mut self,
        events_max: usize,
        linger: Duration,
    ) -> Result<(Batches, bool), ProjectionError> {
        if self.pending_events == 0 {
            let first = self.rx.recv().await.ok_or(ProjectionError::Stopped)??;
            self.take(first);
        }
        while self.pending_events < events_max {
            match self.rx.try_recv() {
                Ok(more) => self.take(more?),
                Err(_) => break,
            }
        }
        if self.at_head && !linger.is_zero() {
            let deadline = tokio::time::Instant::now() + linger;
            while self.pending_events < events_max {
                match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                    Ok(Some(more)) => self.take(more?),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        self.pending_events = 0;
        Ok((std::mem::take(&mut self.pending), self.at_head))
    }

    fn take(&mut self, events: Vec<Incoming>) {
        self.at_head = events.len() < self.read_max;
        if !events.is_empty() {
            self.pending_events += events.len();
            self.pending.push(events);
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.reader.abort();
        self.forwarder.abort();
    }
}

/// Decodes a read's envelopes and events. An event that does not decode
/// is passed on as `None` (skipped and counted); an envelope that does
/// not is a corrupt log, an error.
fn decode_all(events: Vec<StoredEvent>) -> Result<Vec<Incoming>, ProjectionError> {
    events
        .iter()
        .map(|stored| {
            let entry = stored.read()?;
            Ok(Incoming {
                event: codec::decode(entry.event_type, entry.schema_version, entry.payload).ok(),
                position: entry.position,
                version: entry.version,
                ticket: ticket_of_stream(entry.stream),
                recorded_at_unix_nanos: entry.recorded_at_unix_nanos,
            })
        })
        .collect()
}
