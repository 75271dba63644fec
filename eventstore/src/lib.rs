//! `docket-eventstore`: the append-only, hash-chained, group-committed event
//! log of Docket, on one sled tree.
//!
//! It must never acknowledge an append before it is durable (sled `flush()`
//! *and* `fdatasync` of sled's `db` file), never leave a gap in positions,
//! never let a reader see an entry past the durable head, and never panic on
//! corrupt bytes or I/O errors. It knows events only as bytes plus envelope
//! metadata: decoding payloads is `docket-domain`'s job.
//!
//! # Layout (one sled tree, keys by prefix)
//!
//! | key | value |
//! |---|---|
//! | `L` + position u64 BE | stored record: format byte, postcard envelope, 32-byte BLAKE3 chain hash |
//! | `S` + name length u16 BE + name + version u64 BE | position u64 BE |
//! | `I` + idempotency key | format byte + postcard idempotency record (with its recorded time) |
//! | `E` + recorded time (sign-flipped i64 BE) + idempotency key | empty: expiry index for pruning |
//! | `M` | format byte + head position u64 BE + head hash |
//! | `P` | format byte + postcard pending keys: the first position and the idempotency keys (with times) of the last group commit that recorded any |
//! | `Q` | sequence high-water mark u64 BE (`next_sequence`) |
//!
//! Beside sled's files: `LOCK` (held while open) and `WATERMARK`, a position
//! and hash known durable, kept outside sled because sled silently drops
//! everything after a bad CRC (see `watermark.rs`); opening refuses a log
//! that ends before it.
//!
//! A group commit writes its keys one by one, the head record last (why not
//! one sled batch: `writer.rs`). sled recovers one thread's writes as a
//! prefix of their order, so a crash leaves every commit up to the durable
//! head record, plus at most a torn tail of the next one, which opening
//! removes before anything reads the store (`open::remove_torn_tail`). So a
//! commit lands whole or not at all, and opening reads the head record
//! instead of replaying the log.
//!
//! # Back of the envelope
//!
//! This machine's values of the inputs (sync latency, CPU per sled insert)
//! and the rates they give: `docs/benchmarks.md`, "Event store commit path".
//!
//! - Bytes/event: ~300 B payload + ~150 B envelope (stream name 43 B, actor
//!   ~60 B, three ids 49 B, type, times) + 32 B hash ≈ 480 B in the `L` entry,
//!   plus ~63 B of index entry; with sled's message headers ≈ 600 B appended
//!   to sled's log per event (sled's page rewrites add 1-3x on top).
//! - Disk: a commit pays sled's `flush()` (pwrite + `sync_file_range`) and
//!   then the `fdatasync`, so two device round trips: commits/s is about
//!   one over twice the device's sync latency. One appender gets one commit
//!   per append; N appenders share each commit (batch ≈ N), so the disk
//!   bounds commits/s, not events/s.
//! - CPU per event in the writer: postcard encoding and BLAKE3 are small
//!   next to the two sled inserts (sled splits a leaf every ~8 sequential
//!   inserts and copies nodes on write), so with many appenders the
//!   writer's CPU, not the disk, is the bound.
//! - Expected load: a support desk commands ~10-1000 appends/s at peak, far
//!   under the ceiling; 1M events/day ≈ 1 GB/day on disk.
//! - `verify`: decode + BLAKE3 + a sled iterator step per event, spread over
//!   all cores by position range, with the index walked beside it
//!   (`verify_fast.rs`): issue 6 asks for 10M events in ~20 s. The exact
//!   single-threaded walk (one index `get` per event, about twice the CPU)
//!   runs only to name a fault.
//!
//! # Durability and visibility
//!
//! One writer thread owns every write to the log. Readers read sled
//! directly but never past the head the writer published after the
//! `fdatasync`, so nothing is visible before it is durable. If a commit fails
//! the store is poisoned (see [`StoreError::Poisoned`]): sled's in-memory
//! tree may then hold writes that are not on disk, and the only safe way back
//! is to reopen the folder, which recovers exactly what the disk holds.

#![warn(missing_docs)]

mod error;
#[cfg(test)]
mod fixtures;
mod import;
pub mod jetstream;
mod keys;
mod open;
pub mod record;
mod store;
mod stored;
mod subscription;
#[cfg(test)]
mod tests;
mod types;
mod verify;
mod verify_fast;
mod watermark;
mod writer;

use std::time::Duration;

pub use error::{FaultReason, StoreError};
pub use import::LogImport;
pub use store::{CommitObserver, CommitReport, Store, WriterStats};
pub use stored::{EventRef, StoredEvent};
pub use subscription::Subscription;
pub use types::{
    AppendOutcome, AppendRequest, EnvelopeActor, ExpectedVersion, Head, IdempotencyRecord,
    NewEvent, NewIdempotencyRecord, RecordedEvent, StreamAppend, VerifyReport,
};

/// Append requests taken into one group commit (one sled flush, one
/// `fdatasync`). Bounds the commit's memory and the latency of its first
/// request; above 256 concurrent appenders the disk, not this bound, limits.
pub const APPEND_BATCH_MAX: usize = 512;

/// Append requests that may wait for the writer. Callers beyond it wait in
/// `append().await` (back-pressure), they are not rejected.
pub const APPEND_QUEUE_MAX: usize = 4096;

/// Payload, string and response bytes one group commit takes before it stops
/// draining the queue (a commit may exceed it by one request).
pub const BATCH_BYTES_MAX: usize = 16 << 20;

/// Streams written by one append request (a ticket plus its follow-up is 2).
pub const APPEND_STREAMS_MAX: usize = 16;

/// Events in one append request, over all its streams.
pub const APPEND_EVENTS_MAX: usize = 1024;

/// Payload, string and response bytes of one append request.
pub const REQUEST_BYTES_MAX: usize = 4 << 20;

/// Bytes of a stream name (`ticket-{uuid}` is 43).
pub const STREAM_NAME_BYTES_MAX: usize = 256;

/// Bytes of an idempotency key.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 512;

/// An idempotency record is absent once this long has passed since its
/// recorded time (the clock of the caller, passed in), and is pruned by the
/// writer afterwards.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Expired idempotency records the writer deletes per commit: pruning is
/// spread over commits so it never stalls one.
pub const IDEMPOTENCY_PRUNE_PER_COMMIT: usize = 64;

/// Events returned by one `Subscription::next_batch` at most.
pub const SUBSCRIPTION_BATCH_MAX: usize = 4096;

/// Sequence numbers reserved durably at a time by `next_sequence`: one
/// `fdatasync` per block; a crash skips at most the unused rest of a block.
pub const SEQUENCE_BLOCK: u64 = 1024;

/// Events between two calls of the `verify` progress callback.
pub const VERIFY_PROGRESS_EVERY: u64 = 65_536;

/// Stream versions the writer caches to avoid an index scan per append;
/// cleared when full (it is only a cache of what sled holds).
const STREAM_VERSION_CACHE_MAX: usize = 65_536;

/// sled's page cache. sled's default (1 GiB) is too much for a shared host.
const SLED_CACHE_BYTES: u64 = 256 << 20;

/// sled's page cache for [`Store::open_for_scans`].
const SCAN_CACHE_BYTES: u64 = 32 << 20;
