//! `loadgen`: drives a `docketd` over HTTP/1.1 keep-alive with the mixed life
//! of a ticket and reports durable commands/s, latency percentiles, errors by
//! status and the read-your-writes lag. Past ~600 lines: the options,
//! the ticket life it plays and the run loop are one program (the report is
//! its own module).
//!
//! ```sh
//! cargo build --release -p docket-api --bin docketd
//! cargo run --release -p docket-tests --bin loadgen -- --clients 16,64,256 --duration 10s
//! ```
//!
//! It starts `docketd` (the one next to this binary unless `--docketd`) on a
//! free port with a fresh temp data folder and a known `DOCKET_JWT_SECRET`,
//! or drives a running one given with `--url` (then `--secret` must be the
//! server's). One life is 7 commands: open (customer, with an order), three
//! public comments (agent, customer, agent), escalate, refund and close (the
//! agent). Each virtual client owns one TCP connection (a hyper HTTP/1.1
//! client connection, so every request after the first reuses it) and runs
//! lives back to back; each level of `--clients` is one run. A last run
//! sends only `POST /v1/tickets`, to compare with `commit64f` of
//! `shared/bench/limits` (give its req/s with `--ceiling-rps`).
//!
//! How it measures:
//! - Closed loop: a client sends its next command when the previous one is
//!   answered, so the latency is the server's answer time under that load,
//!   not including requests a faster client would have queued.
//! - Only commands sent after the warm-up and answered before the end of the
//!   window count; every counted 2xx is durable (the contract's 2xx means
//!   fsync'd), so "commands/s" are durable commands/s.
//! - Read-your-writes lag, on 1 command in `--lag-every`: right after the
//!   2xx, on the same connection, `GET /v1/inbox/{status}?org=O&limit=1` with
//!   `X-Min-Position: <the answer's position>`, timed from the command's
//!   answer to the GET's 200; it includes that GET's round trip. When the
//!   inbox is not routed (404), it measures `GET /v1/tickets/{id}` instead,
//!   and says so.
//! - Client and server CPU over the window (getrusage, `/proc/PID/stat`) and
//!   the writer's group commits (`/metrics`) are printed, so that a run can
//!   be checked for "the client was the bottleneck".
//!
//! The commands, the ceiling to run beside it, and the current figures:
//! `docs/benchmarks.md`, "HTTP commands (docketd)".

// A binary's root looks for modules beside it; these live in `loadgen/`.
#[path = "loadgen/http.rs"]
mod http;
#[path = "loadgen/report.rs"]
mod report;
#[path = "loadgen/server.rs"]
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use docket_tests::harness::{sign, unix_now};
use http_body_util::Full;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::http::{
    get_request, header_value, resolve, Conn, Target, APPLICATION_JSON, IDEMPOTENCY_KEY,
};
use crate::report::{
    micros, print_header, print_report, print_targets, probe, Failure, RunReport, Stats,
};
use crate::server::{docketd_binary, LocalServer};

/// The secret a started server gets (and tokens are signed with) by default.
const DEFAULT_SECRET: &str = "docket-loadgen-secret-0123456789abcdef";
/// Lifetime of the minted tokens: longer than any run.
const TOKEN_TTL_SECONDS: u64 = 24 * 3600;
/// A client whose connection broke retries this often, then gives up.
const RECONNECT_ATTEMPTS_MAX: usize = 100;
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// The life of a ticket: 7 commands.
const TICKET_LIFE: [Step; 7] = [
    Step::Open,
    Step::AgentComment,
    Step::CustomerComment,
    Step::AgentComment,
    Step::Escalate,
    Step::Refund,
    Step::Close,
];
const OPEN_ONLY: [Step; 1] = [Step::Open];

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "HTTP load generator for docketd")]
struct Cli {
    /// Drive this running docketd (`http://HOST:PORT`) instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// The docketd binary to start; default: the one next to this binary.
    #[arg(long)]
    docketd: Option<PathBuf>,
    /// Folder in which the started server's temp data folder is made.
    #[arg(long)]
    data_parent: Option<PathBuf>,
    /// HS256 secret: given to the started server; with --url, the server's.
    #[arg(long, env = "DOCKET_JWT_SECRET", hide_env_values = true, default_value = DEFAULT_SECRET)]
    secret: String,
    /// The org every ticket is opened in.
    #[arg(long, default_value = "acme")]
    org: String,
    /// Concurrent clients (one connection each); one run per value.
    #[arg(long, value_delimiter = ',', default_value = "16,64,256")]
    clients: Vec<usize>,
    /// Measured time of each run (after the warm-up).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured time at the start of each run.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Run each level until this many tickets were started (no warm-up)
    /// instead of for --duration.
    #[arg(long)]
    tickets: Option<u64>,
    /// Measure the read-your-writes lag after 1 command in N (0: never).
    #[arg(long, default_value_t = 20)]
    lag_every: u64,
    /// Which read model the lag is read on.
    #[arg(long, value_enum, default_value = "auto")]
    read: ReadChoice,
    /// Connections of the open-only run (0: skip it).
    #[arg(long, default_value_t = 64)]
    open_only_clients: usize,
    /// Send no Idempotency-Key (by default every command carries a fresh one).
    #[arg(long)]
    no_idempotency_keys: bool,
    /// req/s of `scripts/http.sh commit64f` run right before and after this.
    #[arg(long)]
    ceiling_rps: Option<f64>,
    /// Threads of the client's runtime.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Commands per second in all, spread evenly over the clients (each
    /// client paces itself); by default every client runs flat out.
    #[arg(long)]
    rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReadChoice {
    /// The inbox if it is routed, else the ticket view.
    Auto,
    Inbox,
    Ticket,
}

/// The read the lag is timed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEndpoint {
    Inbox,
    TicketView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Mixed,
    OpenOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Open,
    AgentComment,
    CustomerComment,
    Escalate,
    Refund,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Customer,
    Agent,
}

/// What the load generator reads of a command's answer.
#[derive(Debug, Deserialize)]
struct CommandAnswer {
    ticket_id: String,
    status: TicketStatus,
    position: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TicketStatus {
    Open,
    Waiting,
    Closed,
}

/// `Authorization` values of one virtual client.
struct ClientTokens {
    customer: HeaderValue,
    agent: HeaderValue,
}

/// The span of a run whose commands count.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    /// `None` when the run ends by ticket count.
    until: Option<Instant>,
}

/// What every client of one run shares.
struct RunCtx {
    target: Arc<Target>,
    tokens: Arc<Vec<ClientTokens>>,
    org: String,
    scenario: Scenario,
    read: ReadEndpoint,
    lag_every: u64,
    idempotency_keys: bool,
    /// Makes idempotency keys unique across runs against the same server.
    nonce: u64,
    window: Window,
    ticket_limit: Option<u64>,
    tickets_taken: AtomicU64,
    /// Time between two commands of one client under `--rate`.
    pace: Option<Duration>,
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
            eprintln!("loadgen: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut server = None;
    let target = match &cli.url {
        Some(url) => resolve(url).await?,
        None => {
            let binary = docketd_binary(cli.docketd.as_deref())?;
            let started =
                LocalServer::start(&binary, &cli.secret, cli.data_parent.as_deref()).await?;
            println!(
                "started {} on {} (data folder {})",
                binary.display(),
                started.addr,
                started.data_dir().display()
            );
            let target = Target {
                addr: started.addr,
                host: header_value(&started.addr.to_string())?,
            };
            server = Some(started);
            target
        }
    };
    let result = run_levels(&cli, Arc::new(target), server.as_ref()).await;
    if let Some(server) = server {
        let stopped = server.stop().await;
        if result.is_err() {
            eprintln!("docketd's log:\n{}", stopped.log_tail);
        } else if !stopped.clean {
            eprintln!(
                "docketd did not stop cleanly; its log:\n{}",
                stopped.log_tail
            );
        }
    }
    result
}

async fn run_levels(
    cli: &Cli,
    target: Arc<Target>,
    server: Option<&LocalServer>,
) -> Result<(), String> {
    let clients_max = cli
        .clients
        .iter()
        .copied()
        .chain([cli.open_only_clients])
        .max()
        .unwrap_or(1);
    let tokens = Arc::new(mint_tokens(&cli.secret, &cli.org, clients_max.max(1))?);
    let mut control = Conn::open(&target)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
    let read = choose_read(cli, &target, &mut control, &tokens[0]).await?;
    print_header(cli, read);
    let nonce = unix_now();
    let mut reports = Vec::new();
    let levels = cli.clients.iter().map(|&c| (Scenario::Mixed, c));
    let open_only =
        (cli.open_only_clients > 0).then_some((Scenario::OpenOnly, cli.open_only_clients));
    for (scenario, clients) in levels.chain(open_only) {
        let ctx = RunCtx {
            target: target.clone(),
            tokens: tokens.clone(),
            org: cli.org.clone(),
            scenario,
            read,
            lag_every: if scenario == Scenario::Mixed {
                cli.lag_every
            } else {
                0
            },
            idempotency_keys: !cli.no_idempotency_keys,
            nonce,
            window: Window {
                from: Instant::now(),
                until: None,
            },
            ticket_limit: cli.tickets,
            tickets_taken: AtomicU64::new(0),
            pace: cli
                .rate
                .filter(|rate| *rate > 0.0)
                .map(|rate| Duration::from_secs_f64(clients as f64 / rate)),
        };
        let report = run_level(cli, ctx, clients, &mut control, server).await?;
        print_report(&report, read, cli.ceiling_rps);
        reports.push(report);
    }
    print_targets(&reports, read, cli.ceiling_rps);
    Ok(())
}

/// One run: `clients` connections, then the load, then the figures.
async fn run_level(
    cli: &Cli,
    mut ctx: RunCtx,
    clients: usize,
    control: &mut Conn,
    server: Option<&LocalServer>,
) -> Result<RunReport, String> {
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        let conn = Conn::open(&ctx.target)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        conns.push(conn);
    }
    let start = Instant::now();
    let warmup = if cli.tickets.is_some() {
        Duration::ZERO
    } else {
        cli.warmup
    };
    ctx.window = Window {
        from: start + warmup,
        until: cli
            .tickets
            .is_none()
            .then_some(start + warmup + cli.duration),
    };
    let ctx = Arc::new(ctx);
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(client, conn)| tokio::spawn(run_client(ctx.clone(), client, conn)))
        .collect();
    tokio::time::sleep_until(ctx.window.from.into()).await;
    let before = probe(control, &ctx.target, server).await;
    let after = match ctx.window.until {
        Some(until) => {
            tokio::time::sleep_until(until.into()).await;
            Some(probe(control, &ctx.target, server).await)
        }
        None => None,
    };
    let mut stats = Stats::default();
    for handle in handles {
        let client = handle
            .await
            .map_err(|e| format!("a client task failed: {e}"))?;
        stats.merge(client);
    }
    let after = match after {
        Some(after) => after,
        None => probe(control, &ctx.target, server).await,
    };
    Ok(RunReport::new(
        ctx.scenario,
        clients,
        warmup,
        &before,
        &after,
        stats,
    ))
}

/// A virtual client: lives back to back on its own connection.
async fn run_client(ctx: Arc<RunCtx>, client: usize, mut conn: Conn) -> Stats {
    let tokens = &ctx.tokens[client];
    let mut stats = Stats {
        connections: 1,
        ..Stats::default()
    };
    let mut sent: u64 = 0;
    let mut pace = ctx.pace.map(|every| {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    'lives: while ctx.take_ticket() {
        let life_started = Instant::now();
        let mut ticket_id = String::new();
        for &step in ctx.scenario.steps() {
            if let Some(pace) = pace.as_mut() {
                pace.tick().await;
            }
            let started = Instant::now();
            if ctx.window.is_over(started) {
                break 'lives;
            }
            sent += 1;
            let path = match step.suffix() {
                None => "/v1/tickets".to_owned(),
                Some(suffix) => format!("/v1/tickets/{ticket_id}/{suffix}"),
            };
            let token = match step.side() {
                Side::Customer => &tokens.customer,
                Side::Agent => &tokens.agent,
            };
            let key = ctx
                .idempotency_keys
                .then(|| idempotency_key(ctx.nonce, ctx.scenario, client, sent));
            let request = ctx.command(&path, token, step.body(), key);
            let outcome = conn.send(request).await;
            let answered = Instant::now();
            let counted = ctx.window.counts(started, answered);
            let answer = match outcome {
                Ok((status, body)) if status == step.expected() => {
                    serde_json::from_slice::<CommandAnswer>(&body).map_err(|_| Failure::BadAnswer)
                }
                Ok((status, _)) => Err(Failure::Status(status.as_u16())),
                Err(_) => Err(Failure::Transport),
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(failure) => {
                    if counted {
                        *stats.failures.entry(failure).or_default() += 1;
                    }
                    if failure == Failure::Transport {
                        match reconnect(&ctx, &mut stats).await {
                            Some(fresh) => conn = fresh,
                            None => break 'lives,
                        }
                    }
                    continue 'lives;
                }
            };
            if counted {
                stats.commands += 1;
                stats.latency_us.push(micros(answered - started));
            }
            // `lag_every == 0` (never) has no remainder.
            if sent.checked_rem(ctx.lag_every) == Some(0) {
                let read = ctx.read_request(&answer, &tokens.agent);
                let outcome = conn.send(read).await;
                let seen = Instant::now();
                let failure = match outcome {
                    Ok((StatusCode::OK, _)) => None,
                    Ok((status, _)) => Some(Failure::Status(status.as_u16())),
                    Err(_) => Some(Failure::Transport),
                };
                match failure {
                    None if counted => stats.lag_us.push(micros(seen - answered)),
                    None => {}
                    Some(failure) => {
                        if counted {
                            *stats.lag_failures.entry(failure).or_default() += 1;
                        }
                        if failure == Failure::Transport {
                            match reconnect(&ctx, &mut stats).await {
                                Some(fresh) => conn = fresh,
                                None => break 'lives,
                            }
                        }
                    }
                }
            }
            ticket_id = answer.ticket_id;
        }
        if ctx.window.counts(life_started, Instant::now()) {
            stats.tickets += 1;
        }
    }
    stats
}

async fn reconnect(ctx: &RunCtx, stats: &mut Stats) -> Option<Conn> {
    for _ in 0..RECONNECT_ATTEMPTS_MAX {
        if ctx.window.is_over(Instant::now()) {
            return None;
        }
        if let Ok(conn) = Conn::open(&ctx.target).await {
            stats.connections += 1;
            return Some(conn);
        }
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
    None
}

impl RunCtx {
    /// Whether another life may start (always, when the run is timed).
    fn take_ticket(&self) -> bool {
        match self.ticket_limit {
            None => true,
            Some(limit) => self.tickets_taken.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    fn command(
        &self,
        path: &str,
        token: &HeaderValue,
        body: &'static str,
        key: Option<HeaderValue>,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, self.target.host.clone())
            .header(AUTHORIZATION, token.clone())
            .header(CONTENT_TYPE, APPLICATION_JSON);
        if let Some(key) = key {
            builder = builder.header(IDEMPOTENCY_KEY, key);
        }
        builder
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("the paths and headers built here are valid")
    }

    /// The GET that must show `answer`'s command.
    fn read_request(&self, answer: &CommandAnswer, token: &HeaderValue) -> Request<Full<Bytes>> {
        let path = match self.read {
            ReadEndpoint::Inbox => format!(
                "/v1/inbox/{}?org={}&limit=1",
                answer.status.as_str(),
                self.org
            ),
            ReadEndpoint::TicketView => format!("/v1/tickets/{}", answer.ticket_id),
        };
        get_request(&self.target, &path, token, Some(answer.position))
    }
}

fn idempotency_key(nonce: u64, scenario: Scenario, client: usize, sent: u64) -> HeaderValue {
    let tag = match scenario {
        Scenario::Mixed => 'm',
        Scenario::OpenOnly => 'o',
    };
    HeaderValue::from_str(&format!("lg-{nonce}-{tag}-{client}-{sent}"))
        .expect("digits, letters and dashes are a valid header value")
}

impl Scenario {
    fn steps(self) -> &'static [Step] {
        match self {
            Scenario::Mixed => &TICKET_LIFE,
            Scenario::OpenOnly => &OPEN_ONLY,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scenario::Mixed => "mixed",
            Scenario::OpenOnly => "open-only",
        }
    }
}

impl Step {
    fn side(self) -> Side {
        match self {
            Step::Open | Step::CustomerComment => Side::Customer,
            _ => Side::Agent,
        }
    }

    /// The path after `/v1/tickets/{id}/`; `None` for open.
    fn suffix(self) -> Option<&'static str> {
        match self {
            Step::Open => None,
            Step::AgentComment | Step::CustomerComment => Some("comments"),
            Step::Escalate => Some("escalations"),
            Step::Refund => Some("refunds"),
            Step::Close => Some("close"),
        }
    }

    fn body(self) -> &'static str {
        match self {
            Step::Open => concat!(
                r#"{"subject":"Parcel arrived damaged","description":"The box was crushed and "#,
                r#"one of the two cups inside is broken.","reason":{"category":"damaged_item"},"#,
                r#""order":{"number":"A-1001","amount_minor":5000,"currency":"EUR"}}"#
            ),
            Step::AgentComment => {
                r#"{"body":"Sorry to hear that! Could you send a photo of the box?"}"#
            }
            Step::CustomerComment => {
                r#"{"body":"Here it is: the corner is crushed, one cup is broken."}"#
            }
            Step::Escalate => r#"{"reason":"payment_provider","note":"refund of the broken cup"}"#,
            Step::Refund => r#"{"amount_minor":1500,"currency":"EUR","reason":"one broken cup"}"#,
            Step::Close => r#"{"resolution":"resolved","note":"refunded"}"#,
        }
    }

    fn expected(self) -> StatusCode {
        match self {
            Step::Open => StatusCode::CREATED,
            _ => StatusCode::OK,
        }
    }
}

impl TicketStatus {
    fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Waiting => "waiting",
            TicketStatus::Closed => "closed",
        }
    }
}

impl Window {
    fn is_over(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now >= until)
    }

    /// A request counts when sent after the warm-up and answered in time.
    fn counts(&self, sent: Instant, answered: Instant) -> bool {
        sent >= self.from && !self.is_over(answered)
    }
}

/// Signs a customer and an agent token for each client of the org.
fn mint_tokens(secret: &str, org: &str, clients: usize) -> Result<Vec<ClientTokens>, String> {
    let exp = unix_now() + TOKEN_TTL_SECONDS;
    let bearer = |role: &str, client: usize| {
        let claims = json!({ "sub": format!("loadgen-{role}-{client}"), "org": org, "role": role, "exp": exp });
        header_value(&format!("Bearer {}", sign(secret, &claims)))
    };
    (0..clients)
        .map(|client| {
            Ok(ClientTokens {
                customer: bearer("customer", client)?,
                agent: bearer("agent", client)?,
            })
        })
        .collect()
}

/// Opens one ticket, then finds which read to measure the lag on.
async fn choose_read(
    cli: &Cli,
    target: &Target,
    conn: &mut Conn,
    tokens: &ClientTokens,
) -> Result<ReadEndpoint, String> {
    let open = Request::builder()
        .method(Method::POST)
        .uri("/v1/tickets")
        .header(HOST, target.host.clone())
        .header(AUTHORIZATION, tokens.customer.clone())
        .header(CONTENT_TYPE, APPLICATION_JSON)
        .body(Full::new(Bytes::from_static(Step::Open.body().as_bytes())))
        .expect("a valid request");
    let (status, body) = conn
        .send(open)
        .await
        .map_err(|e| format!("opening a ticket: {e}"))?;
    if status != StatusCode::CREATED {
        return Err(format!(
            "opening a ticket answered {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let answer: CommandAnswer = serde_json::from_slice(&body)
        .map_err(|e| format!("the answer to an open is not a command answer ({e})"))?;
    let inbox = format!("/v1/inbox/open?org={}&limit=1", cli.org);
    let (inbox_status, _) = conn
        .send(get_request(
            target,
            &inbox,
            &tokens.agent,
            Some(answer.position),
        ))
        .await
        .map_err(|e| format!("reading the inbox: {e}"))?;
    let ticket = format!("/v1/tickets/{}", answer.ticket_id);
    let (ticket_status, _) = conn
        .send(get_request(
            target,
            &ticket,
            &tokens.agent,
            Some(answer.position),
        ))
        .await
        .map_err(|e| format!("reading the ticket: {e}"))?;
    let chosen = match (cli.read, inbox_status, ticket_status) {
        (ReadChoice::Auto | ReadChoice::Inbox, StatusCode::OK, _) => ReadEndpoint::Inbox,
        (ReadChoice::Auto, StatusCode::NOT_FOUND, StatusCode::OK) => {
            println!("note: GET /v1/inbox/{{status}} answers 404 (not routed): the lag is measured on GET /v1/tickets/{{id}}");
            ReadEndpoint::TicketView
        }
        (ReadChoice::Ticket, _, StatusCode::OK) => ReadEndpoint::TicketView,
        _ => {
            return Err(format!(
                "no read to measure the lag on: {inbox} answered {inbox_status}, {ticket} answered {ticket_status}"
            ))
        }
    };
    Ok(chosen)
}

/// `30s`, `500ms`, `2m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` needs a unit: ms, s or m"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        _ => Err(format!("unknown unit `{unit}`: use ms, s or m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1h").is_err());
    }

    #[test]
    fn only_requests_sent_after_the_warmup_and_answered_in_time_count() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let window = Window {
            from: start + second,
            until: Some(start + 3 * second),
        };
        assert!(!window.counts(start, start + 2 * second));
        assert!(window.counts(start + second, start + 2 * second));
        assert!(!window.counts(start + 2 * second, start + 3 * second));
        assert!(window.is_over(start + 3 * second));
        let by_tickets = Window {
            from: start,
            until: None,
        };
        assert!(by_tickets.counts(start, start + 1000 * second));
    }
}
