//! Golden fixture of the stored read models, per `READ_MODEL_FORMAT`:
//! `tests/fixtures/read_models/views.v<format>.kv` (every key and value of
//! a small desk's read models, as hex) and `.dump` (what `Views::dump`
//! reads from them), at the workspace root.
//!
//! A data folder keeps its read models across upgrades unless their format
//! changes, so today's code must read the stored bytes of its own format
//! exactly as it wrote them: a change of a stored shape (a field added to a
//! ticket record, say) or of what a fold stores, made without bumping
//! `READ_MODEL_FORMAT`, fails here instead of as corrupt or stale read
//! models after an upgrade. After a bump the old generation is rebuilt from
//! the log (checked here with this format's fixture stamped as older), and
//! `DOCKET_BLESS=1 cargo test -p docket-projections --test format_fixture`
//! writes the new format's files (it never overwrites one).

mod common;

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use time::Duration;

use common::*;
use docket_domain::types::{Role, Visibility};
use docket_projections::{Views, READ_MODEL_FORMAT};

/// Every kind of record: policies, tickets with orders, public and
/// internal comments from both sides, an escalation, a refund, closes, a
/// follow-up, two orgs, KPI days and samples, inbox and SLA pages.
fn desk() -> Log {
    let mut log = Log::new();
    let h = Duration::hours(1);
    let t0 = at("2026-03-02T09:00:00Z");
    log.policy(t0, "acme", policy(4, 8, Some(40), "09:00-18:00"));
    log.save_text_module(t0, "acme", "late-parcel", 1, &["kaufland.de"]);
    log.save_text_module(t0, "acme", "hello", 1, &[]);
    log.save_text_module(t0, "acme", "late-parcel", 2, &["ebay.it", "kaufland.de"]);
    log.save_text_module(t0, "acme", "gone", 1, &[]);
    log.remove_text_module(t0, "acme", "gone", 2);
    let a = log.open_with(
        t0 + h,
        "acme",
        "delivery",
        Some(("ORD-1", 900, "EUR")),
        None,
    );
    let b = log.open(t0 + 2 * h, "acme", "billing");
    let c = log.open_with(
        t0 + 3 * h,
        "zeta",
        "delivery",
        Some(("ORD-2", 100, "USD")),
        None,
    );
    log.comment(t0 + 4 * h, a, Role::Agent, Visibility::Public);
    log.attach(t0 + 4 * h, a, Visibility::Public);
    log.attach(t0 + 4 * h, a, Visibility::Internal);
    log.comment(t0 + 5 * h, a, Role::Customer, Visibility::Public);
    log.comment(t0 + 6 * h, a, Role::Agent, Visibility::Internal);
    log.escalate(t0 + 7 * h, a);
    log.refund(t0 + 8 * h, a, 300, "EUR");
    log.close(t0 + 9 * h, a);
    log.follow_up(t0 + 30 * h, a, "acme", "delivery");
    log.comment(t0 + 31 * h, b, Role::Agent, Visibility::Public);
    log.close(t0 + 50 * h, b);
    log.comment(t0 + 51 * h, c, Role::Customer, Visibility::Public);
    log
}

fn fixture_path(extension: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/read_models")
        .join(format!("views.v{READ_MODEL_FORMAT}.{extension}"))
}

fn read_fixture(path: &Path, built: &str) -> String {
    if std::env::var("DOCKET_BLESS").as_deref() == Ok("1") {
        write_if_missing(path, built.as_bytes());
    }
    fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; if READ_MODEL_FORMAT was bumped, run `DOCKET_BLESS=1 cargo test -p \
             docket-projections --test format_fixture` to write it",
            path.display()
        )
    })
}

fn write_if_missing(path: &Path, bytes: &[u8]) {
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `open`, retried while a sled handle just dropped still holds the
/// folder's file lock (sled's I/O threads let go of the file a moment
/// after the handle is dropped).
fn once_sled_lets_go<T, E: std::fmt::Display>(open: impl Fn() -> Result<T, E>) -> Result<T, E> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open() {
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// The served generation's tree of a closed read-model folder.
fn served_tree(db: &sled::Db) -> sled::Tree {
    let catalog = db.open_tree("catalog").expect("catalog");
    let served = catalog
        .get("served")
        .expect("read")
        .expect("a served generation");
    let generation = u64::from_be_bytes(served.as_ref().try_into().expect("8 bytes"));
    db.open_tree(format!("views@{generation}")).expect("tree")
}

#[tokio::test]
async fn stored_read_models_of_this_format_read_back_as_they_were_written() {
    // Today's fold, and the bytes it stores.
    let (dir, views) = temp_views();
    apply(&views, &desk()).await;
    let dump = views.dump().expect("dump");
    drop(views);
    let db = once_sled_lets_go(|| sled::open(dir.path().join("views"))).expect("reopen with sled");
    let kv: String = served_tree(&db)
        .iter()
        .map(|entry| {
            let (key, value) = entry.expect("read");
            format!("{} {}\n", hex(&key), hex(&value))
        })
        .collect();
    drop(db);

    let stored_kv = read_fixture(&fixture_path("kv"), &kv);
    let stored_dump = read_fixture(&fixture_path("dump"), &dump);
    assert!(
        kv == stored_kv,
        "today's fold stores other bytes than format {READ_MODEL_FORMAT} did: bump \
         READ_MODEL_FORMAT (read models are rebuilt) and bless the new format's fixture"
    );
    assert_eq!(dump, stored_dump);

    // The committed bytes, in a folder of their own, read with today's code.
    let folder = folder_serving(&stored_kv);
    let views =
        once_sled_lets_go(|| Views::open(&folder.path().join("views"))).expect("open the fixture");
    assert_eq!(
        views.status().generation,
        1,
        "the stored generation is served"
    );
    assert_eq!(views.dump().expect("dump"), stored_dump);
}

#[tokio::test]
async fn read_models_of_another_format_are_rebuilt_not_read() {
    // This format's fixture, its checkpoint stamped with the format before.
    let stored_kv = fs::read_to_string(fixture_path("kv")).expect("this format's fixture");
    let checkpoint_key = hex(b"Mcheckpoint");
    let mut stamped = 0;
    let older_kv: String = stored_kv
        .lines()
        .map(|line| {
            let (key, value) = line.split_once(' ').expect("key value");
            let mut value = unhex(value);
            if key == checkpoint_key {
                // The checkpoint starts with its format, a one-byte varint.
                assert_eq!(u32::from(value[0]), READ_MODEL_FORMAT);
                value[0] -= 1;
                stamped += 1;
            }
            format!("{key} {}\n", hex(&value))
        })
        .collect();
    assert_eq!(stamped, 1, "the fixture has one checkpoint");

    let folder = folder_serving(&older_kv);
    let views = once_sled_lets_go(|| Views::open(&folder.path().join("views")))
        .expect("open the older format");
    let status = views.status();
    assert_ne!(status.generation, 1, "the older format was served as it is");
    assert_eq!(status.applied_position, 0);
    assert!(!views.dump().expect("dump").contains("TicketRecord"));
    // The log rebuilds what this format stores for the same desk.
    apply(&views, &desk()).await;
    let stored_dump = fs::read_to_string(fixture_path("dump")).expect("this format's dump");
    assert_eq!(views.dump().expect("dump"), stored_dump);
}

/// A read-model folder serving generation 1 with the keys and values of a
/// `.kv` fixture.
fn folder_serving(stored_kv: &str) -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temp dir");
    let db = once_sled_lets_go(|| sled::open(folder.path().join("views"))).expect("create");
    db.open_tree("catalog")
        .expect("catalog")
        .insert("served", &1u64.to_be_bytes())
        .expect("insert");
    let tree = db.open_tree("views@1").expect("tree");
    for line in stored_kv.lines() {
        let (key, value) = line.split_once(' ').expect("key value");
        tree.insert(unhex(key), unhex(value)).expect("insert");
    }
    db.flush().expect("flush");
    folder
}
