//! Golden fixture of the stored log record (envelope format v1), committed
//! at `tests/fixtures/envelope/record.v1.bin` at the workspace root.
//!
//! Today's decoder must read it to the value built here, today's encoder
//! must write the same bytes, and its chain hash must be the one pinned
//! below: a change of the stored envelope that would make existing logs
//! unreadable (or their hashes unverifiable) fails here first.
//!
//! `DOCKET_BLESS=1 cargo test -p docket-tests --test envelope_fixture`
//! writes the file if it is missing; it never overwrites it. To change the
//! envelope, add a format version (see `docket_eventstore::record`).

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use docket_eventstore::record::{self, FORMAT_V1};
use docket_eventstore::{EnvelopeActor, RecordedEvent};
use uuid::Uuid;

/// The previous entry's hash the fixture is chained to.
const PREV_HASH: [u8; 32] = [0x5A; 32];

/// The chain hash stored at the end of the fixture.
const FIXTURE_HASH_HEX: &str = "0b7dc448193a6357a8fa091f21e253624e4aa58392031dcf19b5b6415a22f385";

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/envelope/record.v1.bin")
}

/// Every field set, both optional ones present, non-ASCII text, a payload
/// with every byte value.
fn expected() -> RecordedEvent {
    RecordedEvent {
        position: 1_234_567,
        stream: "ticket-0190b7a4-7c1e-7a3b-9c2d-1e2f3a4b5c6d".into(),
        version: 42,
        event_id: Uuid::parse_str("0190b7a4-7c1e-7d00-8e01-0123456789ab").expect("uuid"),
        event_type: "RefundIssued".into(),
        schema_version: 3,
        recorded_at_unix_nanos: 1_718_000_000_123_456_789,
        actor: EnvelopeActor {
            sub: "agent-ünïcode-7".into(),
            role: "agent".into(),
            org: "acme-eu".into(),
        },
        correlation_id: Uuid::parse_str("0190b7a4-7c1e-7e00-8f02-fedcba987654").expect("uuid"),
        causation_id: Some(Uuid::parse_str("0190b7a4-7c1e-7f00-8003-00000000beef").expect("uuid")),
        idempotency_key: Some("idem-2024-06-10-0001".into()),
        payload: (0..=255u8).collect(),
        hash: [0; 32],
    }
}

#[test]
fn the_v1_record_fixture_decodes_to_its_fields_and_encodes_to_its_bytes() {
    let path = fixture_path();
    if std::env::var("DOCKET_BLESS").as_deref() == Ok("1") {
        write_if_missing(&path, &record::encode(&expected(), &PREV_HASH));
    }
    let bytes = fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `DOCKET_BLESS=1 cargo test -p docket-tests --test envelope_fixture` to write it",
            path.display()
        )
    });
    assert_eq!(bytes[0], FORMAT_V1);
    let decoded = record::decode(&bytes).expect("the fixture decodes");
    let hashed = &bytes[..bytes.len() - 32];
    assert_eq!(
        decoded.hash,
        record::chain_hash(&PREV_HASH, hashed),
        "the stored hash chains"
    );
    assert_eq!(hex(&decoded.hash), FIXTURE_HASH_HEX, "the pinned hash");
    assert_eq!(
        RecordedEvent {
            hash: [0; 32],
            ..decoded
        },
        expected()
    );
    assert_eq!(
        record::encode(&expected(), &PREV_HASH),
        bytes,
        "today's encoder writes the same bytes"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_if_missing(path: &PathBuf, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("a parent folder"))
        .expect("create the fixtures folder");
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut file) => file.write_all(bytes).expect("write the fixture"),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => panic!("{}: {e}", path.display()),
    }
}
