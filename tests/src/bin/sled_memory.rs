//! sled's own memory against the data it holds: the control for the read
//! models' "memory flat in closed tickets" target (`docs/benchmarks.md`,
//! "Read models' memory against closed tickets").
//!
//! usage: cargo run --release -p docket-tests --bin sled_memory -- \
//!          --records 4000000 [--value-bytes 400] [--per-value 1] [--dir target/sled-memory]
//!
//! Writes `--records` records of `--value-bytes` each, `--per-value` of them
//! packed into one sled value, under time-ordered 17-byte keys (a table byte
//! and a UUID v7, as the read models' ticket records), with the read models'
//! 128 MiB cache, in batches of 16,384 records; then opens the folder again
//! in a fresh process, as a server does at start, and reports its resident
//! set before and after 20,000 random reads. Nothing of Docket is involved.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "sled 0.34's resident memory against the records it stores")]
struct Args {
    #[arg(long, default_value_t = 4_000_000)]
    records: u64,
    #[arg(long, default_value_t = 400)]
    value_bytes: usize,
    #[arg(long, default_value_t = 1)]
    per_value: u64,
    #[arg(long, default_value = "target/sled-memory")]
    dir: PathBuf,
    /// Internal: open the folder written before and report.
    #[arg(long, hide = true)]
    reopen_only: bool,
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The read models' sled cache (`VIEWS_CACHE_BYTES`).
const CACHE_BYTES: u64 = 128 << 20;
const BATCH_RECORDS: u64 = 16_384;
const READS: u64 = 20_000;

fn main() {
    let args = Args::parse();
    let per_value = args.per_value.max(1);
    if args.reopen_only {
        reopen(&args.dir, args.records, per_value);
        return;
    }
    write(&args.dir, args.records, args.value_bytes, per_value);
    let output = Command::new(std::env::current_exe().expect("own path"))
        .args(["--reopen-only", "--records", &args.records.to_string()])
        .args(["--per-value", &per_value.to_string()])
        .arg("--dir")
        .arg(&args.dir)
        .output()
        .expect("run the reopen");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let _ = std::fs::remove_dir_all(&args.dir);
}

/// The key of the value holding record `record`.
fn key(record: u64, per_value: u64) -> [u8; 17] {
    let millis = 1_750_000_000_000 + record / per_value;
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &[7; 10]).into_uuid();
    let mut key = [b'T'; 17];
    key[1..].copy_from_slice(id.as_bytes());
    key
}

fn write(dir: &Path, records: u64, value_bytes: usize, per_value: u64) {
    let _ = std::fs::remove_dir_all(dir);
    let db = open(dir);
    let tree = db.open_tree("records").expect("open tree");
    let started = Instant::now();
    let mut batch = sled::Batch::default();
    let mut value = Vec::new();
    for record in 0..records {
        value.resize(value.len() + value_bytes, (record % 251) as u8);
        if (record + 1) % per_value == 0 || record + 1 == records {
            batch.insert(&key(record, per_value)[..], std::mem::take(&mut value));
        }
        if (record + 1) % BATCH_RECORDS == 0 || record + 1 == records {
            tree.apply_batch(std::mem::take(&mut batch)).expect("write");
        }
    }
    db.flush().expect("flush");
    println!(
        "wrote {records} records of {value_bytes} B, {per_value} per sled value, in {:.1} s; RSS {} MiB; sled file {} MiB",
        started.elapsed().as_secs_f64(),
        rss_kb() / 1024,
        db.size_on_disk().expect("size") >> 20
    );
}

fn reopen(dir: &Path, records: u64, per_value: u64) {
    let before = rss_kb();
    let db = open(dir);
    let tree = db.open_tree("records").expect("open tree");
    let opened = rss_kb();
    let mut found = 0u64;
    for read in 0..READS {
        let record = read.wrapping_mul(0x9E37_79B9_7F4A_7C15) % records.max(1);
        found += u64::from(tree.get(key(record, per_value)).expect("read").is_some());
    }
    println!(
        "reopened: RSS {} MiB before, {} MiB after opening, {} MiB after {READS} random reads ({found} found)",
        before / 1024,
        opened / 1024,
        rss_kb() / 1024
    );
}

fn open(dir: &Path) -> sled::Db {
    sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_BYTES)
        .open()
        .expect("open sled")
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("VmRSS"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}
