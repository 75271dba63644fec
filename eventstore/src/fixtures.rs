//! Golden fixtures of everything the store persists besides the log entry
//! (whose fixture is `tests/fixtures/envelope/record.v1.bin`, tested by the
//! `docket-tests` crate): the head, idempotency and pending-keys records,
//! the 8-byte position values (stream index, sequence), the WATERMARK file
//! and the key layout, committed under `tests/fixtures/store/` at the
//! workspace root.
//!
//! Today's decoders must read each file to the value built here and
//! today's encoders must write the same bytes: a change that would make an
//! existing data folder unreadable fails here first. The 8-byte values and
//! the keys carry no format byte; their version is their fixed layout, and
//! a new layout needs a new key table (see `keys`).
//!
//! `DOCKET_BLESS=1 cargo test -p docket-eventstore fixtures` writes a
//! missing file; it never overwrites one.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use crate::keys;
use crate::record::{self, FORMAT_V1};
use crate::types::{Head, IdempotencyRecord};
use crate::watermark;

fn fixture(name: &str, built: &[u8]) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/store")
        .join(name);
    if std::env::var("DOCKET_BLESS").as_deref() == Ok("1") {
        write_if_missing(&path, built);
    }
    let bytes = fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `DOCKET_BLESS=1 cargo test -p docket-eventstore fixtures` to write it",
            path.display()
        )
    });
    assert_eq!(
        bytes, built,
        "{name}: today's encoder must write the committed bytes"
    );
    bytes
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

fn hash(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_add(i as u8))
}

#[test]
fn fixtures_head_record_v1() {
    let bytes = fixture(
        "head.v1.bin",
        &record::encode_head(1_234_567_890, &hash(0xA0)),
    );
    assert_eq!(bytes[0], FORMAT_V1);
    assert_eq!(
        record::decode_head(&bytes),
        Some((1_234_567_890, hash(0xA0)))
    );
}

#[test]
fn fixtures_idempotency_record_v1() {
    let expected = IdempotencyRecord {
        fingerprint: hash(0x10),
        // A stored answer: status and body as the api keeps them, with
        // non-ASCII text and every byte value.
        response: [
            "201 {\"ticket_id\":\"ü\"}".as_bytes(),
            &(0..=255u8).collect::<Vec<u8>>(),
        ]
        .concat(),
        first_position: 41,
        last_position: 42,
        recorded_at_unix_nanos: -1_718_000_000_123_456_789,
    };
    let bytes = fixture("idempotency.v1.bin", &record::encode_idempotency(&expected));
    assert_eq!(bytes[0], FORMAT_V1);
    assert_eq!(record::decode_idempotency(&bytes), Ok(expected));
}

#[test]
fn fixtures_pending_keys_record_v1() {
    let keys: [(i64, &[u8]); 3] = [
        (1_718_000_000_000_000_001, b"idem-1"),
        (-5, "clé-ü".as_bytes()),
        (0, b""),
    ];
    let bytes = fixture(
        "pending_keys.v1.bin",
        &record::encode_pending_keys(1_000_001, &keys),
    );
    assert_eq!(bytes[0], FORMAT_V1);
    let expected = (
        1_000_001,
        keys.iter().map(|&(at, key)| (at, key.to_vec())).collect(),
    );
    assert_eq!(record::decode_pending_keys(&bytes), Ok(expected));
}

#[test]
fn fixtures_position_values_v1() {
    // The stream index maps (stream, version) to the entry's position; the
    // sequence record holds the first ticket sequence not yet reserved.
    let bytes = fixture("position.v1.bin", &0x0102_0304_0506_0708u64.to_be_bytes());
    assert_eq!(
        keys::parse_position_value(&bytes),
        Some(0x0102_0304_0506_0708)
    );
}

#[test]
fn fixtures_watermark_file_v1() {
    let older = Head {
        position: 7,
        hash: hash(0x70),
    };
    let newer = Head {
        position: 9,
        hash: hash(0x90),
    };
    let mut built = Vec::new();
    built.extend_from_slice(&watermark::encode_slot(6, &older));
    built.extend_from_slice(&watermark::encode_slot(7, &newer));
    let bytes = fixture("watermark.v1.bin", &built);
    assert_eq!(
        watermark::newest_slot(&bytes).expect("a valid slot"),
        (7, newer)
    );
    // A torn newer slot leaves the older one.
    let mut torn = bytes.clone();
    torn[70] ^= 0xFF;
    assert_eq!(
        watermark::newest_slot(&torn).expect("a valid slot"),
        (6, older)
    );
}

#[test]
fn fixtures_key_layout_v1() {
    let built: Vec<(&str, Vec<u8>)> = vec![
        ("log", keys::log_key(0x0A0B_0C0D).to_vec()),
        ("stream", keys::stream_key("ticket-ü", 3)),
        ("idempotency", keys::idempotency_key(b"idem-1")),
        ("expiry", keys::expiry_key(-1, b"idem-1")),
        ("head", keys::HEAD.to_vec()),
        ("sequence", keys::SEQUENCE.to_vec()),
        ("pending_keys", keys::PENDING_KEYS.to_vec()),
    ];
    let text: String = built
        .iter()
        .map(|(name, key)| {
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            format!("{name} {hex}\n")
        })
        .collect();
    fixture("keys.v1.txt", text.as_bytes());
    assert_eq!(keys::parse_log_key(&built[0].1), Some(0x0A0B_0C0D));
    assert_eq!(
        keys::parse_stream_key(&built[1].1),
        Some(("ticket-ü".as_bytes(), 3))
    );
    assert_eq!(
        keys::parse_expiry_key(&built[3].1),
        Some((-1, &b"idem-1"[..]))
    );
}
