//! Child process of the crash test: appends to the store in `DIR` from 16
//! concurrent tasks until it is killed, and prints one line per
//! acknowledged append (flushed before the next append of that task).
//!
//! usage: crash_appender DIR ROUND
//!
//! Lines: `OPEN head` once opened, `ACK ...` (see `store_support::Ack`) per
//! acknowledged append, `FAIL reason` when the store misbehaves (an
//! unexpected error, or a retried idempotent append that is not answered as
//! a duplicate of itself). It exits by itself after `LIFETIME_SECS_MAX`, in
//! case its parent died.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use docket_eventstore::{
    AppendOutcome, AppendRequest, ExpectedVersion, NewIdempotencyRecord, Store, StreamAppend,
};
use docket_tests::store_support::{event, now_unix_nanos, tagged_payload, Ack, AckedStream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TASKS: u64 = 16;
const LIFETIME_SECS_MAX: u64 = 30;
const PAYLOAD_BYTES: usize = 120;
/// Streams every task appends to with `ExpectedVersion::Any`.
const SHARED_STREAMS: u64 = 4;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(Ok(round))) = (args.get(1), args.get(2).map(|r| r.parse::<u64>())) else {
        eprintln!("usage: crash_appender DIR ROUND");
        return ExitCode::from(2);
    };
    let store = match Store::open(&PathBuf::from(dir)) {
        Ok(store) => store,
        Err(e) => {
            emit(&format!("FAIL open: {e}\n"));
            return ExitCode::from(1);
        }
    };
    emit(&format!("OPEN {}\n", store.head().position));
    for task in 0..TASKS {
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(reason) = append_forever(store, round, task).await {
                emit(&format!("FAIL {reason}\n"));
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(LIFETIME_SECS_MAX)).await;
    ExitCode::SUCCESS
}

/// Appends until the process is killed; `Err` says what went wrong.
async fn append_forever(store: Store, round: u64, task: u64) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(round * 1_000 + task);
    let solo = format!("solo-{task}");
    // This task is the only writer of `solo`, so its version is known.
    let mut solo_version = store.stream_version(&solo).map_err(|e| e.to_string())?;
    for k in 0u64.. {
        let request = format!("r{round}-t{task}-k{k}");
        let (append, keyed) = build(&mut rng, &request, &solo, solo_version, k);
        let outcome = store
            .append(append.clone())
            .await
            .map_err(|e| format!("{request}: {e}"))?;
        let AppendOutcome::Committed {
            first_position,
            last_position,
            stream_versions,
        } = outcome
        else {
            return Err(format!("{request}: first send answered as a duplicate"));
        };
        let streams: Vec<AckedStream> = append
            .streams
            .iter()
            .zip(&stream_versions)
            .map(|(s, &version_after)| AckedStream {
                stream: s.stream.clone(),
                version_after,
                events: s.events.len() as u64,
            })
            .collect();
        if let Some(s) = streams.iter().find(|s| s.stream == solo) {
            solo_version = s.version_after;
        }
        let ack = Ack {
            request: request.clone(),
            first_position,
            last_position,
            key: keyed.then(|| request.clone()),
            streams,
        };
        emit(&ack.to_line());
        if keyed && rng.random_bool(0.5) {
            // A retry must be answered from the idempotency record.
            match store.append(append).await {
                Ok(AppendOutcome::Duplicate(record))
                    if (record.first_position, record.last_position)
                        == (first_position, last_position) => {}
                other => return Err(format!("{request}: retry answered {other:?}")),
            }
        }
    }
    Ok(())
}

/// One of: a solo-stream append (1-3 events, exact version), a shared-stream
/// append (any version), or a multi-stream append over the solo stream, a
/// new pair stream and a shared stream, idempotent half the time.
fn build(
    rng: &mut StdRng,
    request: &str,
    solo: &str,
    solo_version: u64,
    k: u64,
) -> (AppendRequest, bool) {
    let now = now_unix_nanos();
    let mut streams = Vec::new();
    let kind = rng.random_range(0..3u8);
    let mut counts: Vec<(String, ExpectedVersion, u32)> = Vec::new();
    match kind {
        0 => counts.push((
            solo.to_owned(),
            ExpectedVersion::Exact(solo_version),
            rng.random_range(1..=3),
        )),
        1 => counts.push((
            format!("shared-{}", k % SHARED_STREAMS),
            ExpectedVersion::Any,
            1,
        )),
        _ => {
            counts.push((
                solo.to_owned(),
                ExpectedVersion::Exact(solo_version),
                rng.random_range(1..=2),
            ));
            counts.push((
                format!("pair-{request}"),
                ExpectedVersion::NoStream,
                rng.random_range(1..=2),
            ));
            counts.push((
                format!("shared-{}", k % SHARED_STREAMS),
                ExpectedVersion::Any,
                1,
            ));
        }
    }
    let total: u32 = counts.iter().map(|c| c.2).sum();
    let mut index = 0;
    for (stream, expected, count) in counts {
        let events = (0..count)
            .map(|_| {
                index += 1;
                event(
                    tagged_payload(request, index - 1, total, PAYLOAD_BYTES),
                    now,
                )
            })
            .collect();
        streams.push(StreamAppend {
            stream,
            expected,
            events,
        });
    }
    let keyed = kind == 2 && rng.random_bool(0.5);
    let idempotency = keyed.then(|| NewIdempotencyRecord {
        key: request.as_bytes().to_vec(),
        fingerprint: fingerprint(request),
        response: request.as_bytes().to_vec(),
        recorded_at_unix_nanos: now,
    });
    (
        AppendRequest {
            streams,
            idempotency,
        },
        keyed,
    )
}

/// Any 32 bytes derived from the request id will do.
fn fingerprint(request: &str) -> [u8; 32] {
    let mut fingerprint = [0u8; 32];
    for (i, b) in request.bytes().enumerate() {
        fingerprint[i % 32] ^= b;
    }
    fingerprint
}

/// One `write` of a whole line, then flush: a kill can only lose or cut the
/// last line, and a cut line has no newline, so the parent ignores it.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(3); // the parent is gone
    }
}
