//! `upload_bench`: attachment upload throughput and latency through a real
//! `docketd`, beside the raw write rate of the same bytes on the same
//! filesystem, and docketd's memory while uploads are in flight. Past ~600
//! lines: the server it starts, the uploads, the ceiling and the report are
//! one program.
//!
//! ```sh
//! cargo build --release -p docket-api --bin docketd -p docket-tests --bin upload_bench
//! target/release/upload_bench [--sizes 1MiB,25MiB] [--uploads 512,64] [--clients 8] [--json]
//! ```
//!
//! It starts `docketd` (the one next to this binary unless `--docketd`) on a
//! free port, with a known `DOCKET_JWT_SECRET`, `--attachment-max-bytes`
//! `ATTACHMENT_BYTES_MAX` and its data folder in a fresh temp folder under
//! `--dir`. For
//! each size, in this order:
//! - one ticket per client (more past `ATTACHMENTS_PER_TICKET_MAX`), opened
//!   by that client's customer token;
//! - the ceiling: the same number of files of the same size, written from
//!   `--clients` threads into a folder beside docketd's data (so on the
//!   same filesystem), each in `CHUNK_BYTES` `write`s into a temporary folder,
//!   `fdatasync`ed, renamed into one of 256 folders and that folder
//!   `fsync`ed (the parent too when the folder is new), as docketd places
//!   an attachment. No hashing, no HTTP: what the disk allows;
//! - the uploads: `--uploads` from `--clients` clients, each on its own
//!   keep-alive HTTP/1.1 connection, closed loop (a client sends its next
//!   upload when the previous one was answered). Every upload is distinct
//!   ASCII text (its first line numbers it), so every one is hashed,
//!   written, `fsync`ed and placed, none found already stored; the body is
//!   sent from memory in `CHUNK_BYTES` chunks without copying it. Latency:
//!   from the request to the whole 201 answer; MiB/s: the files' bytes over
//!   the run's wall time. docketd's `VmRSS` is sampled every
//!   `--rss-every-ms`: the baseline right before, the peak during;
//! - the ceiling again. The ratio is to the faster of the two: on a VM the
//!   host may still be writing back one phase's bytes in the next, so the
//!   phases are `--pause-ms` apart and the ceiling brackets the uploads.
//!
//! Memory that does not grow with the size of an upload shows as the same
//! RSS peak with the largest files in flight as with the smallest.
//!
//! The targets, the commands and the current figures: `docs/benchmarks.md`,
//! "Attachment uploads".

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use docket_domain::attachment::ATTACHMENTS_PER_TICKET_MAX;
use docket_tests::harness::{sign, unix_now};
use hdrhistogram::Histogram;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// The secret the started server gets and tokens are signed with.
const SECRET: &str = "docket-upload-bench-secret-0123456789abcdef";
const ORG: &str = "acme";
/// The server's limit: the issue's largest size, taken exactly.
const ATTACHMENT_BYTES_MAX: u64 = 25 * MIB;
const MIB: u64 = 1024 * 1024;
/// The size of a body chunk and of a ceiling `write`.
const CHUNK_BYTES: usize = 1024 * 1024;
/// The smallest size taken: room for the numbered first line.
const SIZE_BYTES_MIN: u64 = 1024;
const BOUNDARY: &str = "upload-bench-boundary-5c1e9a";
/// Lifetime of the minted tokens: longer than any run.
const TOKEN_TTL_SECONDS: u64 = 24 * 3600;
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Starts retried when the free port found was taken before docketd bound it.
const START_ATTEMPTS_MAX: usize = 5;
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// Latency histograms: 1 µs to 1 h at 3 significant figures.
const LATENCY_US_MAX: u64 = 3_600_000_000;
/// The targets of the issue.
const CEILING_RATIO_TARGET: f64 = 0.5;
/// Memory that does not grow with the size of an upload: the RSS peak
/// during the largest size's run exceeds the smallest's by less than this
/// share of the extra bytes in flight (clients x the difference in size).
/// Buffered bodies would cost all of it; a quarter leaves room for the
/// allocator's retention, which moves the peak of one size by tens of MiB
/// between runs (`docs/benchmarks.md`, "Attachment uploads").
const RSS_GROWTH_SHARE_MAX: f64 = 0.25;

#[derive(Debug, Parser)]
#[command(
    name = "upload_bench",
    about = "Attachment upload MiB/s and latency through docketd, against raw fdatasync writes"
)]
struct Cli {
    /// The docketd binary to start; default: the one next to this binary.
    #[arg(long)]
    docketd: Option<PathBuf>,
    /// Folder in which the temp folder of the server's data and of the
    /// ceiling's files is made (both on its filesystem).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    dir: PathBuf,
    /// File sizes, one run each: bytes, or with KiB / MiB.
    #[arg(long, value_delimiter = ',', default_value = "1MiB,25MiB", value_parser = parse_size)]
    sizes: Vec<u64>,
    /// Uploads per size, in the order of --sizes; one value is every size's.
    #[arg(long, value_delimiter = ',', default_value = "512,64")]
    uploads: Vec<usize>,
    /// Concurrent clients (one connection each), and threads of the ceiling.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Pause between the ceiling and the uploads, in milliseconds, so that
    /// one's writes are not still draining below the VM in the other's.
    #[arg(long, default_value_t = 1000)]
    pause_ms: u64,
    /// Interval of docketd's RSS samples, in milliseconds.
    #[arg(long, default_value_t = 50)]
    rss_every_ms: u64,
    /// Threads of the client's runtime.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print the figures as one JSON object after the report.
    #[arg(long)]
    json: bool,
}

/// The figures of one size.
struct SizeRun {
    size_bytes: u64,
    uploads: usize,
    clients: usize,
    wall: Duration,
    latency_us: Histogram<u64>,
    failures: BTreeMap<String, u64>,
    first_failure: Option<String>,
    rss: RssRun,
    server_cpu_s: Option<f64>,
    client_cpu_s: f64,
    /// The ceiling taken right before the uploads and right after.
    ceilings: [CeilingRun; 2],
}

struct RssRun {
    baseline_kib: u64,
    peak_kib: u64,
    samples: usize,
    hwm_after_kib: u64,
}

struct CeilingRun {
    wall: Duration,
    file_us: Histogram<u64>,
}

/// What every client of one run shares.
struct RunCtx {
    addr: SocketAddr,
    host: HeaderValue,
    size_bytes: u64,
    uploads: usize,
    clients: usize,
    /// `size_bytes` of text shared by every upload: each sends it with its
    /// start replaced by its numbered first line (of the same length).
    payload: Bytes,
}

/// What one client brings back.
#[derive(Default)]
struct ClientRun {
    latency_us: Vec<u64>,
    failures: BTreeMap<String, u64>,
    first_failure: Option<String>,
}

/// A request body sent from memory as a queue of shared chunks.
struct Chunks {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    sender: SendRequest<Chunks>,
}

/// The docketd this program started: SIGKILLed on drop if still running.
struct Docketd {
    child: Child,
    pid: i32,
    addr: SocketAddr,
    log: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("upload_bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("upload_bench: some uploads failed");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("upload_bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(false)` when an upload failed.
async fn run(cli: Cli) -> Result<bool, String> {
    let uploads = uploads_per_size(&cli)?;
    if cli.clients == 0 {
        return Err("--clients must be at least 1".to_owned());
    }
    let binary = docketd_binary(cli.docketd.as_deref())?;
    let folder = tempfile::Builder::new()
        .prefix("upload-bench-")
        .tempdir_in(&cli.dir)
        .map_err(|e| format!("cannot create a temp folder in {}: {e}", cli.dir.display()))?;
    let ceiling_dir = folder.path().join("ceiling");
    std::fs::create_dir(&ceiling_dir).map_err(|e| e.to_string())?;
    let mut server = Docketd::start(&binary, folder.path()).await?;
    let same_filesystem = device_of(&folder.path().join("data")) == device_of(&ceiling_dir);
    println!(
        "# upload_bench clients={} nproc={} load={} docketd={} folder={}{}",
        cli.clients,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
        binary.display(),
        folder.path().display(),
        if same_filesystem {
            ""
        } else {
            " (WARNING: the ceiling is not on docketd's filesystem)"
        },
    );
    let idle_kib = rss_kib(server.pid, "VmRSS:").unwrap_or(0);
    let result = run_sizes(&cli, &uploads, &server, &ceiling_dir).await;
    if result.is_err() {
        eprintln!("docketd's log:\n{}", log_tail(&server.log));
    }
    server.stop().await;
    let runs = result?;
    print_report(&cli, &runs, idle_kib);
    Ok(runs.iter().all(|run| run.failures.is_empty()))
}

async fn run_sizes(
    cli: &Cli,
    uploads: &[usize],
    server: &Docketd,
    ceiling_dir: &Path,
) -> Result<Vec<SizeRun>, String> {
    let host = HeaderValue::from_str(&server.addr.to_string()).map_err(|e| e.to_string())?;
    let tokens = mint_tokens(cli.clients)?;
    let mut runs = Vec::with_capacity(cli.sizes.len());
    for (&size_bytes, &uploads) in cli.sizes.iter().zip(uploads) {
        let ctx = Arc::new(RunCtx {
            addr: server.addr,
            host: host.clone(),
            size_bytes,
            uploads,
            clients: cli.clients,
            payload: payload(size_bytes),
        });
        let run = run_size(cli, ctx, &tokens, server, ceiling_dir).await?;
        print_size(&run);
        runs.push(run);
    }
    Ok(runs)
}

/// One size: the ceiling, the uploads while sampling RSS, the ceiling.
async fn run_size(
    cli: &Cli,
    ctx: Arc<RunCtx>,
    tokens: &[HeaderValue],
    server: &Docketd,
    ceiling_dir: &Path,
) -> Result<SizeRun, String> {
    let pause = Duration::from_millis(cli.pause_ms);
    let before = ceiling(&ctx, ceiling_dir).await?;
    tokio::time::sleep(pause).await;
    let mut clients = Vec::with_capacity(ctx.clients);
    for (client, token) in tokens.iter().enumerate() {
        let mut conn = Conn::open(ctx.addr).await?;
        let count = ctx.uploads_of(client);
        let mut tickets = Vec::new();
        for _ in 0..count.div_ceil(ATTACHMENTS_PER_TICKET_MAX) {
            tickets.push(open_ticket(&mut conn, &ctx.host, token).await?);
        }
        clients.push((client, conn, tickets, token.clone()));
    }
    let baseline_kib = rss_kib(server.pid, "VmRSS:").ok_or("cannot read docketd's VmRSS")?;
    let sampler = RssSampler::start(server.pid, Duration::from_millis(cli.rss_every_ms));
    let server_cpu_before = process_cpu_seconds(server.pid);
    let client_cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let handles: Vec<_> = clients
        .into_iter()
        .map(|(client, conn, tickets, token)| {
            tokio::spawn(run_client(ctx.clone(), client, conn, tickets, token))
        })
        .collect();
    let mut latency_us = histogram();
    let mut failures = BTreeMap::new();
    let mut first_failure = None;
    for handle in handles {
        let client = handle
            .await
            .map_err(|e| format!("a client task failed: {e}"))?;
        for sample in client.latency_us {
            latency_us.saturating_record(sample.max(1));
        }
        for (failure, n) in client.failures {
            *failures.entry(failure).or_default() += n;
        }
        first_failure = first_failure.or(client.first_failure);
    }
    let wall = started.elapsed();
    let client_cpu_s = own_cpu_seconds() - client_cpu_before;
    let server_cpu_s = process_cpu_seconds(server.pid)
        .zip(server_cpu_before)
        .map(|(after, before)| after - before);
    let (peak_kib, samples) = sampler.stop();
    let rss = RssRun {
        baseline_kib,
        peak_kib: peak_kib.max(baseline_kib),
        samples,
        hwm_after_kib: rss_kib(server.pid, "VmHWM:").unwrap_or(0),
    };
    tokio::time::sleep(pause).await;
    let after = ceiling(&ctx, ceiling_dir).await?;
    tokio::time::sleep(pause).await;
    Ok(SizeRun {
        size_bytes: ctx.size_bytes,
        uploads: ctx.uploads,
        clients: ctx.clients,
        wall,
        latency_us,
        failures,
        first_failure,
        rss,
        server_cpu_s,
        client_cpu_s,
        ceilings: [before, after],
    })
}

/// The ceiling of `ctx`'s files, in a folder of `ceiling_dir`.
async fn ceiling(ctx: &RunCtx, ceiling_dir: &Path) -> Result<CeilingRun, String> {
    let (size, files, threads) = (ctx.size_bytes as usize, ctx.uploads, ctx.clients);
    let dir = ceiling_dir.join(size.to_string());
    tokio::task::spawn_blocking(move || run_ceiling(&dir, size, files, threads))
        .await
        .map_err(|e| format!("the ceiling's thread failed: {e}"))?
        .map_err(|e| format!("the ceiling's writes failed: {e}"))
}

/// A client: uploads `client`, `client + clients`, ... back to back.
async fn run_client(
    ctx: Arc<RunCtx>,
    client: usize,
    mut conn: Conn,
    tickets: Vec<String>,
    token: HeaderValue,
) -> ClientRun {
    let mut run = ClientRun::default();
    for (nth, upload) in (client..ctx.uploads).step_by(ctx.clients).enumerate() {
        let ticket = &tickets[nth / ATTACHMENTS_PER_TICKET_MAX];
        let request = ctx.upload_request(ticket, &token, upload);
        let started = Instant::now();
        let outcome = conn.send(request).await;
        let elapsed = started.elapsed();
        let failure = match outcome {
            Ok((StatusCode::CREATED, body)) => {
                let answer: Option<Value> = serde_json::from_slice(&body).ok();
                let size = answer
                    .as_ref()
                    .and_then(|a| a["attachment"]["size"].as_u64());
                if size == Some(ctx.size_bytes) {
                    run.latency_us.push(elapsed.as_micros() as u64);
                    continue;
                }
                (
                    "bad_answer".to_owned(),
                    String::from_utf8_lossy(&body).into(),
                )
            }
            Ok((status, body)) => (
                status.as_u16().to_string(),
                String::from_utf8_lossy(&body).into(),
            ),
            Err(error) => {
                // The next upload gets a fresh connection.
                if let Ok(fresh) = Conn::open(ctx.addr).await {
                    conn = fresh;
                }
                ("transport".to_owned(), error)
            }
        };
        *run.failures.entry(failure.0.clone()).or_default() += 1;
        run.first_failure
            .get_or_insert_with(|| format!("{}: {}", failure.0, failure.1));
    }
    run
}

/// The same number of files of the same size, written and placed as
/// docketd places an attachment, from `threads` threads.
fn run_ceiling(
    dir: &Path,
    size: usize,
    files: usize,
    threads: usize,
) -> std::io::Result<CeilingRun> {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let bytes = payload(size as u64);
    let started = Instant::now();
    let per_thread: Vec<std::io::Result<Vec<u64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (tmp, bytes) = (&tmp, &bytes);
                scope.spawn(move || {
                    (thread..files)
                        .step_by(threads)
                        .map(|file| place_one(dir, tmp, file, bytes))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a ceiling thread does not panic"))
            .collect()
    });
    let wall = started.elapsed();
    let mut file_us = histogram();
    for thread in per_thread {
        for sample in thread? {
            file_us.saturating_record(sample.max(1));
        }
    }
    std::fs::remove_dir_all(dir)?;
    Ok(CeilingRun { wall, file_us })
}

/// One ceiling file, in microseconds: `CHUNK_BYTES` writes, `fdatasync`, rename
/// into a folder named as docketd names them (2 hex), `fsync` of that
/// folder, and of `dir` when the folder is new.
fn place_one(dir: &Path, tmp: &Path, file: usize, bytes: &[u8]) -> std::io::Result<u64> {
    let started = Instant::now();
    let name = format!("{file:08}");
    let from = tmp.join(&name);
    let mut out = File::create(&from)?;
    for chunk in bytes.chunks(CHUNK_BYTES) {
        out.write_all(chunk)?;
    }
    out.sync_data()?;
    drop(out);
    // Spread over the 256 folders as SHA-256 names would be.
    let spread = (file as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56;
    let folder = dir.join(format!("{spread:02x}"));
    let new_folder = !folder.exists();
    std::fs::create_dir_all(&folder)?;
    std::fs::rename(&from, folder.join(&name))?;
    File::open(&folder)?.sync_all()?;
    if new_folder {
        File::open(dir)?.sync_all()?;
    }
    Ok(started.elapsed().as_micros() as u64)
}

impl RunCtx {
    /// How many uploads `client` sends.
    fn uploads_of(&self, client: usize) -> usize {
        (client..self.uploads).step_by(self.clients).count()
    }

    /// Upload number `upload`: a distinct text file of `size_bytes`.
    fn upload_request(&self, ticket: &str, token: &HeaderValue, upload: usize) -> Request<Chunks> {
        let first_line = first_line(self.size_bytes, upload);
        let mut head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload-{upload:06}.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        );
        head.push_str(&first_line);
        let tail = format!("\r\n--{BOUNDARY}--\r\n");
        let mut parts = VecDeque::new();
        parts.push_back(Bytes::from(head));
        let rest = self.payload.slice(first_line.len()..);
        let mut at = 0;
        while at < rest.len() {
            let end = (at + CHUNK_BYTES).min(rest.len());
            parts.push_back(rest.slice(at..end));
            at = end;
        }
        parts.push_back(Bytes::from(tail));
        let body = Chunks::new(parts);
        Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/tickets/{ticket}/attachments"))
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, token.clone())
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header(CONTENT_LENGTH, body.remaining)
            .body(body)
            .expect("the paths and headers built here are valid")
    }
}

/// The numbered first line that makes upload `upload` distinct.
fn first_line(size_bytes: u64, upload: usize) -> String {
    format!("upload_bench file {upload:08} of {size_bytes} bytes\n")
}

/// `size` bytes of ASCII text: a numbered line, repeated. Valid UTF-8, no
/// NUL, starting neither with `<` nor `#!`: docketd takes it as text/plain.
fn payload(size: u64) -> Bytes {
    let size = size as usize;
    let mut text = String::with_capacity(size + 64);
    let mut line = 0u64;
    while text.len() < size {
        text.push_str(&format!(
            "upload_bench payload line {line:010}: the quick brown fox jumps over the lazy dog\n"
        ));
        line += 1;
    }
    text.truncate(size);
    Bytes::from(text)
}

impl Chunks {
    fn new(parts: VecDeque<Bytes>) -> Chunks {
        let remaining = parts.iter().map(|part| part.len() as u64).sum();
        Chunks { parts, remaining }
    }

    fn json(body: &Value) -> Chunks {
        Chunks::new(VecDeque::from([Bytes::from(body.to_string())]))
    }

    fn empty() -> Chunks {
        Chunks::new(VecDeque::new())
    }
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let part = self.parts.pop_front();
        if let Some(part) = &part {
            self.remaining -= part.len() as u64;
        }
        Poll::Ready(part.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        // Ends when the sender is dropped or the server closes; a failure
        // shows up in the next `send`.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { sender })
    }

    /// Sends one request and reads the whole answer.
    async fn send(&mut self, request: Request<Chunks>) -> Result<(StatusCode, Bytes), String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// Opens a ticket as the customer of `token`: its id.
async fn open_ticket(
    conn: &mut Conn,
    host: &HeaderValue,
    token: &HeaderValue,
) -> Result<String, String> {
    let body = json!({ "subject": "s", "description": "d", "reason": { "category": "c" } });
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/tickets")
        .header(HOST, host.clone())
        .header(AUTHORIZATION, token.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(Chunks::json(&body))
        .expect("the paths and headers built here are valid");
    let (status, answer) = conn.send(request).await?;
    if status != StatusCode::CREATED {
        return Err(format!(
            "opening a ticket: {status} {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    let answer: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    answer["ticket_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("an open answered without ticket_id: {answer}"))
}

/// One customer `Authorization` value per client.
fn mint_tokens(clients: usize) -> Result<Vec<HeaderValue>, String> {
    let exp = unix_now() + TOKEN_TTL_SECONDS;
    (0..clients)
        .map(|client| {
            let claims = json!({ "sub": format!("upload-bench-customer-{client}"), "org": ORG, "role": "customer", "exp": exp });
            HeaderValue::from_str(&format!("Bearer {}", sign(SECRET, &claims)))
                .map_err(|e| e.to_string())
        })
        .collect()
}

impl Docketd {
    /// Starts docketd on a free port with its data in `folder/data` and its
    /// log in `folder/docketd.log`, and waits for `/healthz`.
    async fn start(binary: &Path, folder: &Path) -> Result<Docketd, String> {
        let log = folder.join("docketd.log");
        for _ in 0..START_ATTEMPTS_MAX {
            let addr = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(|e| format!("cannot find a free port: {e}"))?;
            let out = File::create(&log).map_err(|e| format!("cannot create {log:?}: {e}"))?;
            let err = out.try_clone().map_err(|e| e.to_string())?;
            let mut command = Command::new(binary);
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("DOCKET_") {
                    command.env_remove(name);
                }
            }
            let child = command
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(folder.join("data"))
                .arg("--attachment-max-bytes")
                .arg(ATTACHMENT_BYTES_MAX.to_string())
                .env("DOCKET_JWT_SECRET", SECRET)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            let pid = i32::try_from(child.id()).map_err(|_| "a pid beyond i32".to_owned())?;
            let mut server = Docketd {
                child,
                pid,
                addr,
                log: log.clone(),
            };
            if server.wait_healthy().await? {
                return Ok(server);
            }
            if !log_tail(&log).contains("cannot listen") {
                return Err(format!(
                    "docketd exited at start; its log:\n{}",
                    log_tail(&log)
                ));
            }
        }
        Err(format!(
            "docketd found no free port in {START_ATTEMPTS_MAX} attempts"
        ))
    }

    /// `Ok(true)` once `/healthz` answers 200, `Ok(false)` if docketd exited.
    async fn wait_healthy(&mut self) -> Result<bool, String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let host = HeaderValue::from_str(&self.addr.to_string()).map_err(|e| e.to_string())?;
        loop {
            if self.child.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Ok(false);
            }
            if let Ok(mut conn) = Conn::open(self.addr).await {
                let request = Request::builder()
                    .uri("/healthz")
                    .header(HOST, host.clone())
                    .body(Chunks::empty())
                    .expect("a valid request");
                if matches!(conn.send(request).await, Ok((StatusCode::OK, _))) {
                    return Ok(true);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "docketd did not answer /healthz within {START_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// SIGTERM, then waits for the exit (SIGKILL after `STOP_TIMEOUT`).
    async fn stop(&mut self) {
        // SAFETY: `kill` has no memory effects; the pid is our own child,
        // not yet reaped, so it cannot name another process.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return,
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL_INTERVAL).await,
                _ => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!(
            "docketd did not stop cleanly; its log:\n{}",
            log_tail(&self.log)
        );
    }
}

impl Drop for Docketd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A thread reading a process's `VmRSS` at an interval until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, usize)>,
}

impl RssSampler {
    fn start(pid: i32, every: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut peak_kib, mut samples) = (0, 0);
            while !stopped.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid, "VmRSS:") {
                    peak_kib = peak_kib.max(kib);
                    samples += 1;
                }
                std::thread::sleep(every);
            }
            (peak_kib, samples)
        });
        RssSampler { stop, thread }
    }

    /// The peak in KiB and the number of samples.
    fn stop(self) -> (u64, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler does not panic")
    }
}

/// A `kB` line of `/proc/PID/status` (`VmRSS:`, `VmHWM:`).
fn rss_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

fn own_cpu_seconds() -> f64 {
    // SAFETY: `getrusage` only writes the struct it is given, which is a
    // plain C struct for which all zeroes is a valid value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// utime + stime of a process, from `/proc/PID/stat` (fields 14 and 15).
fn process_cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields we want follow its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: `sysconf` reads a configuration value; no memory is involved.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) / ticks as f64)
}

fn print_size(run: &SizeRun) {
    let mib_s = |wall: Duration| run.total_bytes() as f64 / MIB as f64 / wall.as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    let server_mib_s = mib_s(run.wall);
    let wall_s = run.wall.as_secs_f64();
    println!(
        "\n{} x {} uploads, {} in {:.2} s: {:.1} MiB/s, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
        size_name(run.size_bytes),
        run.uploads,
        mib(run.total_bytes()),
        wall_s,
        server_mib_s,
        ms(&run.latency_us, 0.5),
        ms(&run.latency_us, 0.99),
        run.latency_us.max() as f64 / 1e3,
        if run.failures.is_empty() {
            String::new()
        } else {
            format!(", FAILED {:?}", run.failures)
        },
    );
    if let Some(failure) = &run.first_failure {
        println!("  first failure: {failure}");
    }
    for (when, ceiling) in ["before", "after"].iter().zip(&run.ceilings) {
        println!(
            "  ceiling {when}: the same files written, fdatasync'd, placed: {:.1} MiB/s in {:.2} s, per file p50 {:.1} ms, p99 {:.1} ms",
            mib_s(ceiling.wall),
            ceiling.wall.as_secs_f64(),
            ms(&ceiling.file_us, 0.5),
            ms(&ceiling.file_us, 0.99),
        );
    }
    println!(
        "  server / the faster ceiling: {:.2} (target >= {CEILING_RATIO_TARGET:.2})",
        run.ratio()
    );
    println!(
        "  docketd RSS: {} before, peak {} during ({} samples), +{} with {} of bodies in flight; VmHWM {}",
        kib_name(run.rss.baseline_kib),
        kib_name(run.rss.peak_kib),
        run.rss.samples,
        kib_name(run.rss.growth_kib()),
        mib(run.in_flight_bytes()),
        kib_name(run.rss.hwm_after_kib),
    );
    println!(
        "  CPU: docketd {} cores, this client {:.2} cores; load {}",
        run.server_cpu_s
            .map_or("?".to_owned(), |s| format!("{:.2}", s / wall_s)),
        run.client_cpu_s / wall_s,
        loadavg(),
    );
}

fn print_report(cli: &Cli, runs: &[SizeRun], idle_kib: u64) {
    println!("\n# targets");
    for run in runs {
        let ratio = run.ratio();
        println!(
            "{}: {:.2} of the ceiling, target >= {CEILING_RATIO_TARGET:.2}: {}",
            size_name(run.size_bytes),
            ratio,
            if ratio >= CEILING_RATIO_TARGET {
                "met"
            } else {
                "missed"
            },
        );
    }
    let smallest = runs.iter().min_by_key(|run| run.size_bytes);
    if let (Some(small), Some(large)) = (smallest, runs.iter().max_by_key(|r| r.size_bytes)) {
        // With one size, its growth over its own baseline.
        let (grown_kib, more_bytes) = if small.size_bytes == large.size_bytes {
            (large.rss.growth_kib(), large.in_flight_bytes())
        } else {
            (
                large.rss.peak_kib.saturating_sub(small.rss.peak_kib),
                large.in_flight_bytes() - small.in_flight_bytes().min(large.in_flight_bytes()),
            )
        };
        let share = grown_kib as f64 * 1024.0 / more_bytes.max(1) as f64;
        println!(
            "RSS peak: {} during {} x {}, {} during {} x {} (idle {}): +{} for {} more in flight = {}, target < {}: {}",
            kib_name(large.rss.peak_kib),
            size_name(large.size_bytes),
            large.uploads.min(large.clients),
            kib_name(small.rss.peak_kib),
            size_name(small.size_bytes),
            small.uploads.min(small.clients),
            kib_name(idle_kib),
            kib_name(grown_kib),
            mib(more_bytes),
            percent(share),
            percent(RSS_GROWTH_SHARE_MAX),
            if share < RSS_GROWTH_SHARE_MAX {
                "met"
            } else {
                "missed"
            },
        );
    }
    if cli.json {
        let sizes: Vec<Value> = runs.iter().map(SizeRun::to_json).collect();
        let report = json!({
            "clients": cli.clients,
            "load": loadavg(),
            "rss_kib_idle": idle_kib,
            "sizes": sizes,
        });
        println!("{report}");
    }
}

impl SizeRun {
    fn total_bytes(&self) -> u64 {
        self.size_bytes * self.uploads as u64
    }

    /// The bytes of the uploads in flight at once.
    fn in_flight_bytes(&self) -> u64 {
        self.size_bytes * self.uploads.min(self.clients) as u64
    }

    /// The server's rate over the faster of the two ceilings.
    fn ratio(&self) -> f64 {
        let fastest = self.ceilings.iter().map(|c| c.wall).min();
        fastest.unwrap_or(Duration::ZERO).as_secs_f64() / self.wall.as_secs_f64()
    }

    fn to_json(&self) -> Value {
        let mib_s = |wall: Duration| self.total_bytes() as f64 / MIB as f64 / wall.as_secs_f64();
        json!({
            "size_bytes": self.size_bytes,
            "uploads": self.uploads,
            "wall_s": self.wall.as_secs_f64(),
            "mib_per_s": mib_s(self.wall),
            "latency_ms_p50": self.latency_us.value_at_quantile(0.5) as f64 / 1e3,
            "latency_ms_p99": self.latency_us.value_at_quantile(0.99) as f64 / 1e3,
            "latency_ms_max": self.latency_us.max() as f64 / 1e3,
            "failures": self.failures,
            "ceiling_mib_per_s": self.ceilings.iter().map(|c| mib_s(c.wall)).collect::<Vec<_>>(),
            "ceiling_file_ms_p99": self.ceilings.iter().map(|c| c.file_us.value_at_quantile(0.99) as f64 / 1e3).collect::<Vec<_>>(),
            "ratio": self.ratio(),
            "rss_kib_baseline": self.rss.baseline_kib,
            "rss_kib_peak": self.rss.peak_kib,
            "rss_samples": self.rss.samples,
            "rss_kib_hwm_after": self.rss.hwm_after_kib,
            "server_cpu_s": self.server_cpu_s,
            "client_cpu_s": self.client_cpu_s,
        })
    }
}

impl RssRun {
    fn growth_kib(&self) -> u64 {
        self.peak_kib.saturating_sub(self.baseline_kib)
    }
}

fn uploads_per_size(cli: &Cli) -> Result<Vec<usize>, String> {
    let uploads = match cli.uploads.as_slice() {
        [one] => vec![*one; cli.sizes.len()],
        many if many.len() == cli.sizes.len() => many.to_vec(),
        _ => {
            return Err(format!(
                "--uploads: one value, or one per size ({} sizes)",
                cli.sizes.len()
            ))
        }
    };
    if uploads.contains(&0) {
        return Err("--uploads: at least 1 per size".to_owned());
    }
    Ok(uploads)
}

/// `1048576`, `512KiB`, `25MiB`, within the server's limit.
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let unit = match unit {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => MIB,
        other => return Err(format!("{other:?}: give bytes, KiB or MiB")),
    };
    let size = number
        .parse::<u64>()
        .map_err(|e| format!("{number:?}: {e}"))?
        .checked_mul(unit)
        .ok_or("too large")?;
    if !(SIZE_BYTES_MIN..=ATTACHMENT_BYTES_MAX).contains(&size) {
        return Err(format!(
            "{size} bytes: sizes go from {SIZE_BYTES_MIN} to {ATTACHMENT_BYTES_MAX}"
        ));
    }
    Ok(size)
}

fn docketd_binary(given: Option<&Path>) -> Result<PathBuf, String> {
    let binary = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this binary's folder: {e}"))?
            .with_file_name("docketd"),
    };
    if !binary.exists() {
        return Err(format!(
            "{} does not exist: build it with `cargo build --release -p docket-api --bin docketd`, or give --docketd",
            binary.display()
        ));
    }
    Ok(binary)
}

fn device_of(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.dev())
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_owned())
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
        .expect("1 µs .. 1 h at 3 significant figures is a valid histogram")
}

fn size_name(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} B")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / MIB as f64)
}

fn kib_name(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
