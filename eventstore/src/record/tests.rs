use super::*;
use proptest::prelude::*;

fn sample(position: u64) -> RecordedEvent {
    RecordedEvent {
        position,
        stream: "ticket-0190b7a4-7c1e-7000-8000-000000000001".into(),
        version: 3,
        event_id: Uuid::from_u128(0x0190_b7a4_7c1e_7000_8000_0000_0000_00aa),
        event_type: "TicketOpened".into(),
        schema_version: 1,
        recorded_at_unix_nanos: 1_750_000_000_000_000_000,
        actor: EnvelopeActor {
            sub: "agent-7".into(),
            role: "agent".into(),
            org: "acme".into(),
        },
        correlation_id: Uuid::from_u128(7),
        causation_id: Some(Uuid::from_u128(8)),
        idempotency_key: Some("idem-1".into()),
        payload: (0..=255u8).collect(),
        hash: [0; 32],
    }
}

#[test]
fn encode_then_decode_gives_the_event_and_its_chained_hash() {
    let prev = [9u8; 32];
    let bytes = encode(&sample(5), &prev);
    let decoded = decode(&bytes).expect("freshly encoded bytes decode");
    assert_eq!(decoded.hash, chain_hash(&prev, &bytes[..bytes.len() - 32]));
    assert_eq!(
        RecordedEvent {
            hash: [0; 32],
            ..decoded
        },
        sample(5)
    );
}

#[test]
fn trailing_bytes_before_the_hash_are_rejected() {
    let mut bytes = encode(&sample(1), &GENESIS_HASH);
    bytes.insert(bytes.len() - 32, 0);
    assert_eq!(decode(&bytes), Err(RecordError::TrailingBytes { count: 1 }));
}

#[test]
fn unknown_format_is_rejected() {
    let mut bytes = encode(&sample(1), &GENESIS_HASH);
    bytes[0] = 2;
    assert_eq!(
        decode(&bytes),
        Err(RecordError::UnknownFormat { format: 2 })
    );
}

#[test]
fn idempotency_and_head_records_round_trip() {
    let record = IdempotencyRecord {
        fingerprint: [3; 32],
        response: b"{\"id\":1}".to_vec(),
        first_position: 4,
        last_position: 6,
        recorded_at_unix_nanos: -1,
    };
    assert_eq!(decode_idempotency(&encode_idempotency(&record)), Ok(record));
    assert_eq!(decode_head(&encode_head(7, &[1; 32])), Some((7, [1; 32])));
    assert_eq!(decode_head(&[FORMAT_V1; 3]), None);
}

/// Golden bytes of the pending-keys record, format 1: they must decode
/// to the same value forever (and today's encoder must still make them).
#[test]
fn pending_keys_v1_golden_bytes() {
    let golden: &[u8] = &[
        1, // format
        0x96, 0x01, // first_position 150 (varint)
        2,    // two keys
        0x03, 2, b'k', b'1', // recorded_at -2 (zigzag varint), "k1"
        0x80, 0x94, 0xeb, 0xdc, 0x03, 1, b'z', // recorded_at 500,000,000, "z"
    ];
    let expected: PendingKeys = (
        150,
        vec![(-2, b"k1".to_vec()), (500_000_000, b"z".to_vec())],
    );
    assert_eq!(decode_pending_keys(golden), Ok(expected));
    assert_eq!(
        encode_pending_keys(150, &[(-2, &b"k1"[..]), (500_000_000, &b"z"[..])]),
        golden
    );
    assert_eq!(
        decode_pending_keys(&[2, 0, 0]),
        Err(RecordError::UnknownFormat { format: 2 })
    );
    assert!(decode_pending_keys(&[golden, &[0][..]].concat()).is_err());
}

fn envelope_strategy() -> impl Strategy<Value = (RecordedEvent, Vec<u8>)> {
    (
        (
            any::<u64>(),
            ".{0,60}",
            any::<u64>(),
            any::<u128>(),
            any::<i64>(),
        ),
        (".{0,20}", ".{0,10}", ".{0,70}", any::<u128>()),
        (
            proptest::option::of(any::<u128>()),
            proptest::option::of(".{0,40}"),
            ".{0,30}",
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        ),
    )
        .prop_map(
            |(
                (position, stream, version, event_id, recorded_at),
                (sub, role, org, correlation_id),
                (causation_id, idempotency_key, event_type, schema_version, payload),
            )| {
                let event = RecordedEvent {
                    position,
                    stream,
                    version,
                    event_id: Uuid::from_u128(event_id),
                    event_type,
                    schema_version,
                    recorded_at_unix_nanos: recorded_at,
                    actor: EnvelopeActor { sub, role, org },
                    correlation_id: Uuid::from_u128(correlation_id),
                    causation_id: causation_id.map(Uuid::from_u128),
                    idempotency_key,
                    payload,
                    hash: [0; 32],
                };
                let bytes = encode(&event, &GENESIS_HASH);
                (event, bytes)
            },
        )
}

/// The oracle: postcard's derived deserializer.
fn by_postcard(bytes: &[u8]) -> Result<(EnvelopeV1<'_>, &[u8]), postcard::Error> {
    postcard::take_from_bytes::<EnvelopeV1<'_>>(bytes)
}

/// The envelope part of stored bytes: what `read_envelope` reads.
fn body(stored: &[u8]) -> &[u8] {
    &stored[1..stored.len() - HASH_BYTES]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_hand_reader_reads_what_postcard_reads(
        (event, stored) in envelope_strategy(),
        cut in any::<prop::sample::Index>(),
        flip_at in any::<prop::sample::Index>(),
        flip in any::<u8>(),
    ) {
        let body = body(&stored);
        prop_assert_eq!(read_envelope(body), by_postcard(body));
        // `postcard_append` wrote what postcard's own serializer writes.
        let (envelope, _) = by_postcard(body).expect("freshly encoded bytes decode");
        prop_assert_eq!(
            postcard::to_allocvec(&envelope).expect("encodes"),
            body.to_vec()
        );
        let decoded = decode(&stored).expect("freshly encoded bytes decode");
        prop_assert_eq!(RecordedEvent { hash: [0; 32], ..decoded }, event);
        // Truncated anywhere, and with any one byte changed.
        let truncated = &body[..cut.index(body.len() + 1)];
        prop_assert_eq!(read_envelope(truncated), by_postcard(truncated));
        let mut corrupted = body.to_vec();
        if !corrupted.is_empty() {
            let at = flip_at.index(corrupted.len());
            corrupted[at] ^= flip;
        }
        prop_assert_eq!(read_envelope(&corrupted), by_postcard(&corrupted));
    }

    #[test]
    fn the_hand_reader_reads_integers_as_postcard_does(
        continued in 0usize..=10,
        continuation in proptest::collection::vec(0x80u8..=0xff, 10),
        last in prop_oneof![0u8..=8, any::<u8>()],
        tail in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        // Varints of every length, ending on small bytes often: the
        // limits on a varint's last byte are where readers differ.
        let bytes = [&continuation[..continued], &[last], &tail].concat();
        let rest = |wire: Wire<'_>| wire.0.len();
        let mut wire = Wire(&bytes);
        prop_assert_eq!(
            wire.u64().map(|value| (value, rest(wire))),
            postcard::take_from_bytes::<u64>(&bytes).map(|(value, tail)| (value, tail.len()))
        );
        let mut wire = Wire(&bytes);
        prop_assert_eq!(
            wire.i64().map(|value| (value, rest(wire))),
            postcard::take_from_bytes::<i64>(&bytes).map(|(value, tail)| (value, tail.len()))
        );
        let mut wire = Wire(&bytes);
        prop_assert_eq!(
            wire.u16().map(|value| (value, rest(wire))),
            postcard::take_from_bytes::<u16>(&bytes).map(|(value, tail)| (value, tail.len()))
        );
    }

    #[test]
    fn the_hand_reader_agrees_with_postcard_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        prop_assert_eq!(read_envelope(&bytes), by_postcard(&bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
        let _ = decode_idempotency(&bytes);
        let _ = decode_head(&bytes);
        let _ = decode_pending_keys(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_format_byte_are_rejected(
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        // A random body almost never is an envelope followed by exactly
        // 32 bytes; when it is, it must at least re-encode to itself.
        let mut bytes = vec![FORMAT_V1];
        bytes.extend_from_slice(&body);
        if let Ok(event) = decode(&bytes) {
            let prev = [0u8; 32];
            let again = encode(&event, &prev);
            prop_assert_eq!(&again[..again.len() - 32], &bytes[..bytes.len() - 32]);
        }
    }

    #[test]
    fn mutated_records_are_rejected_or_decode_to_a_different_event(
        position in 1u64..u64::MAX,
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let original = sample(position);
        let mut bytes = encode(&original, &GENESIS_HASH);
        let hashed_len = bytes.len() - 32;
        let i = at.index(hashed_len);
        bytes[i] ^= xor;
        match decode(&bytes) {
            Err(_) => {}
            // A flipped byte that still decodes (a payload byte, a
            // string byte, a number) must change the event, so that the
            // hash chain catches it.
            Ok(event) => {
                prop_assert_ne!(RecordedEvent { hash: [0; 32], ..event.clone() }, original);
                prop_assert_ne!(event.hash, chain_hash(&GENESIS_HASH, &bytes[..hashed_len]));
            }
        }
    }

    #[test]
    fn truncated_records_are_rejected(position in 1u64..1_000_000, keep in 0usize..400) {
        let bytes = encode(&sample(position), &GENESIS_HASH);
        prop_assume!(keep < bytes.len());
        prop_assert!(decode(&bytes[..keep]).is_err());
    }
}
