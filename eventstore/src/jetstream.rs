//! The log's replica on NATS JetStream (`docketd --nats`).
//!
//! The stream `DOCKET_LOG` holds the log's entries in order, as stored
//! (envelope, payload and chain hash), one message per position, and its
//! stream sequence *is* the log position: the replicator publishes the entry
//! at position `p` with `Nats-Expected-Last-Sequence: p - 1` (the server
//! refuses it unless the stream ends at `p - 1`) and `Nats-Msg-Id: p` (a
//! retry inside the duplicate window is dropped). After any failure it asks
//! the stream where it ends and goes on from there, so every entry is in the
//! stream once and in order, whatever dies when: docketd (SIGKILL), NATS, or
//! the connection. The sled log stays the record; the stream is a copy that
//! may lag behind it while NATS is down, never one that differs from it.
//!
//! Readers ([`JetStreamFeed`]) get the same [`StoredEvent`]s a
//! [`crate::Subscription`] gives, with the same checks when decoded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, message::PublishMessage, stream};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::StoreError;
use crate::store::Store;
use crate::stored::StoredEvent;

/// The stream holding the log.
pub const LOG_STREAM: &str = "DOCKET_LOG";
/// The subject every log entry is published on.
pub const LOG_SUBJECT: &str = "docket.log";
/// The stream keeping SLA breach notices (`docket.sla.breached.<org>`), so a
/// subscriber that was away can read the ones it missed.
pub const NOTICE_STREAM: &str = "DOCKET_SLA_NOTICES";
/// The subjects of [`NOTICE_STREAM`].
pub const NOTICE_SUBJECTS: &str = "docket.sla.breached.>";

/// Entries published before their acknowledgements are awaited: enough to
/// keep the round trips to the server overlapped at docketd's command rate.
const PUBLISH_WINDOW: usize = 1024;
/// First wait after a failure to reach the stream.
const RETRY_MIN: Duration = Duration::from_millis(50);
/// Longest wait between two attempts to reach a stream that failed.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// A retry of the same position after a failure is recognised for this long.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// A connection to the NATS server holding the log's replica.
#[derive(Clone)]
pub struct JetStreamLog {
    context: jetstream::Context,
}

impl JetStreamLog {
    /// Connects to `url`. The connection is made (and remade) in the
    /// background: docketd starts, and commands are taken, while NATS is
    /// down; only what reads the replica waits.
    pub async fn connect(url: &str) -> Result<JetStreamLog, StoreError> {
        let unreachable_reported = Arc::new(AtomicBool::new(false));
        let endpoint = url.to_owned();
        let client = async_nats::ConnectOptions::new()
            .name("docketd")
            .retry_on_initial_connect()
            .event_callback(move |event| {
                report_connection_event(&endpoint, &unreachable_reported, event);
                std::future::ready(())
            })
            .connect(url)
            .await
            .map_err(|error| jetstream_error(&format!("connecting to {url}"), error))?;
        Ok(JetStreamLog {
            context: jetstream::new(client),
        })
    }

    /// The log's stream, created if missing.
    async fn log_stream(&self) -> Result<stream::Stream, StoreError> {
        self.context
            .get_or_create_stream(stream_config(LOG_STREAM, LOG_SUBJECT))
            .await
            .map_err(|error| jetstream_error("opening the log stream", error))
    }

    /// The last position the stream holds (0 = empty).
    pub async fn head(&self) -> Result<u64, StoreError> {
        Ok(self.extent().await?.last)
    }

    /// Which positions the stream holds (the state the server answered
    /// opening it with: one request).
    pub async fn extent(&self) -> Result<StreamExtent, StoreError> {
        let stream = self.log_stream().await?;
        let state = &stream.cached_info().state;
        Ok(StreamExtent {
            first: state.first_sequence,
            last: state.last_sequence,
            messages: state.messages,
        })
    }

    /// The entry the stream holds at `position`.
    pub async fn entry(&self, position: u64) -> Result<StoredEvent, StoreError> {
        let stream = self.log_stream().await?;
        let message = stream
            .get_raw_message(position)
            .await
            .map_err(|error| jetstream_error(&format!("reading position {position}"), error))?;
        Ok(StoredEvent::from_bytes(position, &message.payload))
    }

    /// Reads the stream in order from `from_position` (1 = the start):
    /// first what it holds, then each entry as it is published.
    pub async fn subscribe(&self, from_position: u64) -> Result<JetStreamFeed, StoreError> {
        let from_position = from_position.max(1);
        let stream = self.log_stream().await?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from_position,
                },
                ..Default::default()
            })
            .await
            .map_err(|error| jetstream_error("creating a consumer of the log stream", error))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|error| jetstream_error("reading the log stream", error))?;
        Ok(JetStreamFeed {
            messages,
            next_position: from_position,
            pending: None,
            deferred_error: None,
        })
    }

    /// Publishes notices, each `(subject, id, payload)`, in order, and
    /// waits until the notice stream holds them all. An `id` makes a retry
    /// of the same notice a duplicate the stream drops.
    pub async fn publish_notices(
        &self,
        notices: Vec<(String, String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        self.context
            .get_or_create_stream(stream_config(NOTICE_STREAM, NOTICE_SUBJECTS))
            .await
            .map_err(|error| jetstream_error("opening the notice stream", error))?;
        for (subject, id, payload) in notices {
            let ack = self
                .context
                .send_publish(
                    subject,
                    PublishMessage::build()
                        .payload(payload.into())
                        .message_id(id),
                )
                .await
                .map_err(|error| jetstream_error("publishing a notice", error))?;
            ack.await
                .map_err(|error| jetstream_error("publishing a notice", error))?;
        }
        Ok(())
    }
}

/// Which positions a stream holds: `messages` of the range `first..=last`
/// (fewer than the range if messages were deleted from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamExtent {
    /// The position of the first entry held (the stream's first sequence).
    pub first: u64,
    /// The position of the last entry held (the stream's last sequence; 0
    /// if it never held one).
    pub last: u64,
    /// Messages held; fewer than `last - first + 1` if some were deleted.
    pub messages: u64,
}

/// Work the replicator does before it publishes an entry: e.g. copying
/// what the entry names (an attachment's bytes) to JetStream first, so
/// that every reader of the stream finds it there. It sees the entry only
/// as stored bytes; an error stops this run of the copy, which is retried
/// from where the stream ends (so the work must be safe to repeat).
pub trait BeforePublish: Send + Sync + 'static {
    /// Runs before `entry` is published to the log's stream on `log`.
    fn before_publish<'a>(
        &'a self,
        log: &'a JetStreamLog,
        entry: &'a StoredEvent,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>>;
}

impl JetStreamLog {
    /// Stores `data` as object `name` of `bucket` (made with `replicas`
    /// replicas if missing), unless the bucket already holds an object of
    /// that name; whether it stored it.
    pub async fn put_object_if_missing(
        &self,
        bucket: &str,
        replicas: usize,
        name: &str,
        data: &mut (impl tokio::io::AsyncRead + Unpin),
    ) -> Result<bool, StoreError> {
        let store = self.object_store(bucket, replicas).await?;
        if store.info(name).await.is_ok() {
            return Ok(false);
        }
        store.put(name, data).await.map_err(|error| {
            jetstream_error(&format!("storing object {name} in {bucket}"), error)
        })?;
        Ok(true)
    }

    /// The bytes of object `name` of `bucket`, if it holds one.
    pub async fn object(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let store = self.object_store(bucket, 1).await?;
        let mut object = match store.get(name).await {
            Ok(object) => object,
            Err(error) if error.kind() == jetstream::object_store::GetErrorKind::NotFound => {
                return Ok(None)
            }
            Err(error) => {
                return Err(jetstream_error(
                    &format!("reading object {name} of {bucket}"),
                    error,
                ))
            }
        };
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut object, &mut bytes)
            .await
            .map_err(|error| {
                jetstream_error(&format!("reading object {name} of {bucket}"), error)
            })?;
        Ok(Some(bytes))
    }

    async fn object_store(
        &self,
        bucket: &str,
        replicas: usize,
    ) -> Result<jetstream::object_store::ObjectStore, StoreError> {
        if let Ok(store) = self.context.get_object_store(bucket).await {
            return Ok(store);
        }
        self.context
            .create_object_store(jetstream::object_store::Config {
                bucket: bucket.to_owned(),
                num_replicas: replicas.max(1),
                ..Default::default()
            })
            .await
            .map_err(|error| jetstream_error(&format!("opening object store {bucket}"), error))
    }
}

/// Copies the log to its stream, from where the stream ends, for as long
/// as the store is open. Started by [`Replicator::start`].
pub struct Replicator {
    published: watch::Receiver<u64>,
    replica: LogReplica,
    task: JoinHandle<()>,
}

/// The stream as a copy of one log: read only once the replicator has
/// found the stream to be that log's copy (a stream written from another
/// data folder must not feed this one's read models).
#[derive(Clone)]
pub struct LogReplica {
    log: JetStreamLog,
    same_log: watch::Receiver<bool>,
}

/// How long opening a [`LogReplica`] waits for the replicator's check.
const CHECK_WAIT: Duration = Duration::from_secs(2);

impl LogReplica {
    /// The connection it reads through.
    pub fn log(&self) -> &JetStreamLog {
        &self.log
    }

    /// [`JetStreamLog::subscribe`], once the stream is known to be this
    /// log's copy; an error if that is not known within a moment (NATS is
    /// down, or the stream is another log's).
    pub async fn subscribe(&self, from_position: u64) -> Result<JetStreamFeed, StoreError> {
        let mut same_log = self.same_log.clone();
        let checked = matches!(
            tokio::time::timeout(CHECK_WAIT, same_log.wait_for(|same| *same)).await,
            Ok(Ok(_))
        );
        if !checked {
            return Err(StoreError::JetStream(format!(
                "stream {LOG_STREAM} is not known to be this log's copy (yet)"
            )));
        }
        self.log.subscribe(from_position).await
    }

    /// The last position the stream holds.
    pub async fn head(&self) -> Result<u64, StoreError> {
        self.log.head().await
    }
}

impl Replicator {
    /// Starts copying on the current tokio runtime.
    pub fn start(store: Store, log: JetStreamLog) -> Replicator {
        Replicator::start_with(store, log, None)
    }

    /// Starts copying, running `before` ahead of each entry's publish.
    pub fn start_with(
        store: Store,
        log: JetStreamLog,
        before: Option<Arc<dyn BeforePublish>>,
    ) -> Replicator {
        let (published_tx, published) = watch::channel(0);
        let (same_log_tx, same_log) = watch::channel(false);
        let replica = LogReplica {
            log: log.clone(),
            same_log,
        };
        let task = tokio::spawn(replicate(store, log, published_tx, same_log_tx, before));
        Replicator {
            published,
            replica,
            task,
        }
    }

    /// The stream, for readers of this log.
    pub fn replica(&self) -> LogReplica {
        self.replica.clone()
    }

    /// The last position the stream is known to hold.
    pub fn published(&self) -> u64 {
        *self.published.borrow()
    }

    /// The last position the stream is known to hold, as it moves.
    pub fn watch_published(&self) -> watch::Receiver<u64> {
        self.published.clone()
    }

    /// Waits (at most `limit`) until the stream holds `position`; whether
    /// it did.
    pub async fn wait_published(&self, position: u64, limit: Duration) -> bool {
        let mut published = self.published.clone();
        let reached = tokio::time::timeout(
            limit,
            published.wait_for(|published| *published >= position),
        )
        .await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Stops copying and lets go of the store (what is not in the stream
    /// yet is copied by the next start: the stream says where it ends).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn replicate(
    store: Store,
    log: JetStreamLog,
    published: watch::Sender<u64>,
    same_log: watch::Sender<bool>,
    before_publish: Option<Arc<dyn BeforePublish>>,
) {
    let mut backoff = RETRY_MIN;
    loop {
        let before = *published.borrow();
        let run = replicate_from_stream_end(
            &store,
            &log,
            &published,
            &same_log,
            before_publish.as_deref(),
        );
        let error = match run.await {
            Ok(()) | Err(StoreError::Closed) => return,
            Err(error) => error,
        };
        if *published.borrow() > before {
            backoff = RETRY_MIN;
        }
        tracing::warn!(%error, "copying the log to JetStream failed; retrying from where the stream ends");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

/// One run of the copy: checks that the stream is this log's, then
/// publishes every entry after its end until something fails.
async fn replicate_from_stream_end(
    store: &Store,
    log: &JetStreamLog,
    published: &watch::Sender<u64>,
    same_log: &watch::Sender<bool>,
    before_publish: Option<&dyn BeforePublish>,
) -> Result<(), StoreError> {
    let stream_end = log.head().await?;
    check_same_log(store, log, stream_end).await?;
    same_log.send_replace(true);
    published.send_replace(stream_end);
    tracing::info!(
        stream_end,
        log_head = store.head().position,
        "copying the log to JetStream"
    );
    let mut subscription = store.subscribe(stream_end + 1);
    // Acknowledgements are awaited in order while later entries are read
    // and published, so no entry waits for the slowest acknowledgement of
    // a batch before it (up to `PUBLISH_WINDOW` in flight).
    let mut in_flight = FuturesOrdered::new();
    loop {
        let room = PUBLISH_WINDOW - in_flight.len();
        tokio::select! {
            biased;
            Some(acked) = in_flight.next(), if !in_flight.is_empty() => {
                published.send_replace(check_ack(acked)?);
            }
            entries = subscription.next_stored_batch(room), if room > 0 => {
                for entry in entries? {
                    let position = entry.position();
                    if let Some(before) = before_publish {
                        before.before_publish(log, &entry).await?;
                    }
                    let message = PublishMessage::build()
                        .payload(entry.bytes().to_vec().into())
                        .message_id(position.to_string())
                        .expected_last_sequence(position - 1);
                    let ack = log
                        .context
                        .send_publish(LOG_SUBJECT, message)
                        .await
                        .map_err(|error| publish_failed(position, error))?;
                    in_flight.push_back(async move { (position, ack.await) });
                }
            }
        }
    }
}

/// The position an acknowledgement confirms, if the stream stored the
/// entry at the sequence equal to its position.
fn check_ack(
    (position, ack): (
        u64,
        Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
    ),
) -> Result<u64, StoreError> {
    let ack = ack.map_err(|error| publish_failed(position, error))?;
    if ack.sequence != position {
        return Err(StoreError::JetStream(format!(
            "the stream stored position {position} as sequence {}",
            ack.sequence
        )));
    }
    Ok(position)
}

fn publish_failed(position: u64, error: impl std::fmt::Display) -> StoreError {
    jetstream_error(&format!("publishing position {position}"), error)
}

/// Refuses a stream that is longer than the log or whose last entry is not
/// the log's: it replicates another log (a data folder was replaced), and
/// appending this log to it would interleave two histories. One entry is
/// enough: its bytes end in its chain hash, which covers every entry
/// before it.
async fn check_same_log(
    store: &Store,
    log: &JetStreamLog,
    stream_end: u64,
) -> Result<(), StoreError> {
    if stream_end == 0 {
        return Ok(());
    }
    let log_head = store.head().position;
    if stream_end > log_head {
        return Err(StoreError::JetStream(format!(
            "stream {LOG_STREAM} ends at position {stream_end}, after this log's head {log_head}: it is another log's copy"
        )));
    }
    let in_stream = log.entry(stream_end).await?;
    let in_log = store.read_stored_from(stream_end, 1)?;
    match in_log.first() {
        Some(entry) if entry.bytes() == in_stream.bytes() => Ok(()),
        _ => Err(StoreError::JetStream(format!(
            "stream {LOG_STREAM} holds another entry at position {stream_end} than this log: it is another log's copy"
        ))),
    }
}

/// The log read from its stream, in position order.
pub struct JetStreamFeed {
    messages: consumer::pull::Ordered,
    next_position: u64,
    /// Messages the stream held after the last one delivered, when it was
    /// delivered (`None` before the first).
    pending: Option<u64>,
    /// An error met after a batch was already filled, handed over next time.
    deferred_error: Option<StoreError>,
}

impl JetStreamFeed {
    /// The position of the next entry it delivers.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// How many messages the stream held after the last entry delivered,
    /// as the server counted when it delivered it (`None` before the
    /// first): 0 means the stream ended there then.
    pub fn pending(&self) -> Option<u64> {
        self.pending
    }

    /// The next 1 to `max` entries, waiting while the stream has none after
    /// the last one delivered. Cancel-safe: it awaits only for the first
    /// entry and takes the rest only if already received.
    pub async fn next_stored_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>, StoreError> {
        if let Some(error) = self.deferred_error.take() {
            return Err(error);
        }
        let first = self.messages.next().await;
        let mut entries = vec![self.accept(first)?];
        while entries.len() < max.max(1) {
            let Some(next) = self.messages.next().now_or_never() else {
                break;
            };
            match self.accept(next) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    self.deferred_error = Some(error);
                    break;
                }
            }
        }
        Ok(entries)
    }

    fn accept(
        &mut self,
        next: Option<Result<jetstream::Message, consumer::pull::OrderedError>>,
    ) -> Result<StoredEvent, StoreError> {
        let message = match next {
            None => {
                return Err(StoreError::JetStream(
                    "the log stream's consumer ended".to_owned(),
                ))
            }
            Some(Err(error)) => return Err(jetstream_error("reading the log stream", error)),
            Some(Ok(message)) => message,
        };
        let info = message
            .info()
            .map_err(|error| jetstream_error("reading a log message's sequence", error))?;
        let position = info.stream_sequence;
        self.pending = Some(info.pending);
        if position != self.next_position {
            // The stream lost the entry (a message deleted, a purge): the
            // same fault as a log with no entry there.
            return Err(StoreError::Corrupt {
                position: self.next_position,
                reason: crate::error::FaultReason::Gap,
            });
        }
        self.next_position += 1;
        Ok(StoredEvent::from_bytes(position, &message.payload))
    }
}

/// A stream kept on disk, with retries recognised for `DUPLICATE_WINDOW`.
fn stream_config(name: &str, subjects: &str) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        subjects: vec![subjects.to_owned()],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

fn jetstream_error(during: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::JetStream(format!("{during}: {error}"))
}

/// One log line per change of the connection, not per attempt: async-nats
/// reports every failed reconnect (several a second while NATS is down) as
/// an event, which it also logs itself at info (filtered to warn by docketd's
/// default `DOCKET_LOG`).
fn report_connection_event(url: &str, unreachable_reported: &AtomicBool, event: async_nats::Event) {
    match event {
        async_nats::Event::Connected => {
            unreachable_reported.store(false, Ordering::Relaxed);
            tracing::info!(url, "connected to NATS");
        }
        async_nats::Event::Disconnected => {
            tracing::warn!(
                url,
                "lost the connection to NATS; reconnecting in the background"
            );
        }
        async_nats::Event::ClientError(error) => {
            if !unreachable_reported.swap(true, Ordering::Relaxed) {
                tracing::warn!(url, %error, "cannot reach NATS; retrying in the background (logged once until connected)");
            } else {
                tracing::debug!(url, %error, "cannot reach NATS");
            }
        }
        other => tracing::warn!(url, event = %other, "NATS connection event"),
    }
}
