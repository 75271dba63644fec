//! What `loadgen` counts and prints: per-client counts merged per run,
//! latency histograms, CPU of both sides and the writer's group commits over
//! the timed window, and the targets.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::StatusCode;

use crate::http::{get_request_anonymous, Conn, Target};
use crate::server::LocalServer;
use crate::{Cli, ReadEndpoint, Scenario};

/// Histogram range: 1 µs .. 60 s, 3 significant figures.
pub const HISTOGRAM_US_MAX: u64 = 60_000_000;
pub const HISTOGRAM_SIGFIG: u8 = 3;
/// The targets, on the 2-core machine that runs client and server.
pub const TARGET_CLIENTS: usize = 64;
pub const TARGET_COMMANDS_PER_S_MIN: f64 = 15_000.0;
pub const TARGET_P99_MS_MAX: f64 = 25.0;
pub const TARGET_LAG_P99_MS_MAX: f64 = 20.0;
pub const TARGET_OPEN_RATIO_MIN: f64 = 0.70;

/// Why a request did not count as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// An answer with a status other than the one the step expects.
    Status(u16),
    /// The expected status, with a body that is not a command answer.
    BadAnswer,
    /// Connection refused, reset or closed.
    Transport,
}

/// One client's (then one run's) counts. Latencies are kept as raw samples
/// and put in one histogram at the end: a histogram per client would take
/// ~200 KB each at 3 significant figures.
#[derive(Default)]
pub struct Stats {
    pub latency_us: Vec<u32>,
    pub lag_us: Vec<u32>,
    pub commands: u64,
    pub tickets: u64,
    pub failures: BTreeMap<Failure, u64>,
    pub lag_failures: BTreeMap<Failure, u64>,
    pub connections: u64,
}

/// CPU and writer counters at one instant.
pub struct Probe {
    pub at: Instant,
    pub client_cpu_s: f64,
    pub server_cpu_s: Option<f64>,
    pub writer: Option<WriterCounters>,
}

#[derive(Debug, Clone, Copy)]
pub struct WriterCounters {
    pub commits: f64,
    pub events: f64,
}

pub struct RunReport {
    pub scenario: Scenario,
    pub clients: usize,
    pub warmup: Duration,
    pub measured: Duration,
    pub stats: Stats,
    pub latency: Histogram<u64>,
    pub lag: Histogram<u64>,
    pub client_cpu: f64,
    pub server_cpu: Option<f64>,
    pub commits_per_s: Option<f64>,
    pub events_per_commit: Option<f64>,
    pub loadavg: String,
}

impl Stats {
    pub fn merge(&mut self, other: Stats) {
        self.latency_us.extend(other.latency_us);
        self.lag_us.extend(other.lag_us);
        self.commands += other.commands;
        self.tickets += other.tickets;
        for (failure, n) in other.failures {
            *self.failures.entry(failure).or_default() += n;
        }
        for (failure, n) in other.lag_failures {
            *self.lag_failures.entry(failure).or_default() += n;
        }
        self.connections += other.connections;
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "{status}"),
            Failure::BadAnswer => write!(f, "bad_answer"),
            Failure::Transport => write!(f, "transport"),
        }
    }
}

pub fn micros(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
}

pub fn histogram(samples_us: &[u32]) -> Histogram<u64> {
    let mut histogram = Histogram::new_with_bounds(1, HISTOGRAM_US_MAX, HISTOGRAM_SIGFIG)
        .expect("1 µs .. 60 s at 3 significant figures is a valid histogram");
    for &sample in samples_us {
        histogram.saturating_record(u64::from(sample.max(1)));
    }
    histogram
}

pub async fn probe(control: &mut Conn, target: &Target, server: Option<&LocalServer>) -> Probe {
    Probe {
        at: Instant::now(),
        client_cpu_s: own_cpu_seconds(),
        server_cpu_s: server.and_then(|s| process_cpu_seconds(s.pid)),
        writer: writer_counters(control, target).await,
    }
}

/// The writer's gauges on `/metrics` (commits = fdatasyncs, events).
pub async fn writer_counters(control: &mut Conn, target: &Target) -> Option<WriterCounters> {
    let (status, body) = control
        .send(get_request_anonymous(target, "/metrics"))
        .await
        .ok()?;
    if status != StatusCode::OK {
        return None;
    }
    let text = String::from_utf8_lossy(&body);
    let gauge = |name: &str| {
        text.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    Some(WriterCounters {
        commits: gauge("docket_append_commits")?,
        events: gauge("docket_append_events")?,
    })
}

pub fn own_cpu_seconds() -> f64 {
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
pub fn process_cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields we want follow its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: `sysconf` reads a configuration value; no memory is involved.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) / ticks as f64)
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_owned())
}

impl RunReport {
    pub fn new(
        scenario: Scenario,
        clients: usize,
        warmup: Duration,
        before: &Probe,
        after: &Probe,
        stats: Stats,
    ) -> RunReport {
        let measured = after.at.saturating_duration_since(before.at);
        let seconds = measured.as_secs_f64().max(1e-9);
        let writer = before
            .writer
            .zip(after.writer)
            .map(|(b, a)| (a.commits - b.commits, a.events - b.events));
        RunReport {
            scenario,
            clients,
            warmup,
            measured,
            latency: histogram(&stats.latency_us),
            lag: histogram(&stats.lag_us),
            stats,
            client_cpu: (after.client_cpu_s - before.client_cpu_s) / seconds,
            server_cpu: before
                .server_cpu_s
                .zip(after.server_cpu_s)
                .map(|(b, a)| (a - b) / seconds),
            commits_per_s: writer.map(|(commits, _)| commits / seconds),
            events_per_commit: writer
                .and_then(|(commits, events)| (commits > 0.0).then(|| events / commits)),
            loadavg: loadavg(),
        }
    }

    pub fn commands_per_s(&self) -> f64 {
        self.stats.commands as f64 / self.measured.as_secs_f64().max(1e-9)
    }
}

/// Milliseconds at quantile `q`, or NaN for an empty histogram.
pub fn ms_at(histogram: &Histogram<u64>, q: f64) -> f64 {
    if histogram.is_empty() {
        return f64::NAN;
    }
    histogram.value_at_quantile(q) as f64 / 1000.0
}

pub fn percentiles(histogram: &Histogram<u64>) -> String {
    format!(
        "p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms  (n={})",
        ms_at(histogram, 0.5),
        ms_at(histogram, 0.99),
        ms_at(histogram, 0.999),
        histogram.max() as f64 / 1000.0,
        histogram.len()
    )
}

pub fn failures(map: &BTreeMap<Failure, u64>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(f, n)| format!("{f}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn read_path(read: ReadEndpoint) -> &'static str {
    match read {
        ReadEndpoint::Inbox => "GET /v1/inbox/{status}?org=O&limit=1",
        ReadEndpoint::TicketView => "GET /v1/tickets/{id}",
    }
}

pub fn print_header(cli: &Cli, read: ReadEndpoint) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "?".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores, {cpu}; load average {}", loadavg());
    println!(
        "life of a ticket: open, comment (agent, customer, agent), escalate, refund, close = 7 commands; \
         Idempotency-Key: {}; client threads: {}",
        if cli.no_idempotency_keys { "none" } else { "fresh per command" },
        cli.threads
    );
    if cli.lag_every > 0 {
        println!(
            "read-your-writes lag: 1 command in {}, {} with X-Min-Position, timed from the command's 2xx to the 200",
            cli.lag_every,
            read_path(read)
        );
    }
}

pub fn print_report(report: &RunReport, read: ReadEndpoint, ceiling_rps: Option<f64>) {
    let stats = &report.stats;
    let rate = report.commands_per_s();
    println!();
    println!(
        "{} x {} clients: {:.1} s measured after {:.1} s warm-up; load average {}",
        report.scenario.name(),
        report.clients,
        report.measured.as_secs_f64(),
        report.warmup.as_secs_f64(),
        report.loadavg
    );
    let unit = match report.scenario {
        Scenario::Mixed => "tickets",
        Scenario::OpenOnly => "opens",
    };
    println!(
        "  durable commands {:>9.0}/s  ({} commands, {} complete {unit}, {} connections)",
        rate, stats.commands, stats.tickets, stats.connections
    );
    if let (Scenario::OpenOnly, Some(ceiling)) = (report.scenario, ceiling_rps) {
        println!(
            "  ratio to commit64f ({ceiling:.0}/s): {:.2}",
            rate / ceiling
        );
    }
    println!("  latency          {}", percentiles(&report.latency));
    println!("  errors           {}", failures(&stats.failures));
    if report.scenario == Scenario::Mixed && !report.lag.is_empty()
        || !stats.lag_failures.is_empty()
    {
        println!(
            "  ryw lag          {}  on {}",
            percentiles(&report.lag),
            read_path(read)
        );
        println!("  ryw lag errors   {}", failures(&stats.lag_failures));
    }
    let opt =
        |v: Option<f64>, scale: f64| v.map_or("n/a".to_owned(), |v| format!("{:.0}", v * scale));
    println!(
        "  cpu              client {}%  server {}%;  group commits {}/s, {} events/commit",
        opt(Some(report.client_cpu), 100.0),
        opt(report.server_cpu, 100.0),
        opt(report.commits_per_s, 1.0),
        report
            .events_per_commit
            .map_or("n/a".to_owned(), |v| format!("{v:.1}"))
    );
    println!(
        "RESULT loadgen scenario={} clients={} cmds_per_s={:.0} p50_ms={:.2} p99_ms={:.2} p999_ms={:.2} \
         lag_endpoint={} lag_p50_ms={:.2} lag_p99_ms={:.2} lag_p999_ms={:.2} errors=[{}] lag_errors=[{}]",
        report.scenario.name(),
        report.clients,
        rate,
        ms_at(&report.latency, 0.5),
        ms_at(&report.latency, 0.99),
        ms_at(&report.latency, 0.999),
        match read {
            ReadEndpoint::Inbox => "inbox",
            ReadEndpoint::TicketView => "ticket",
        },
        ms_at(&report.lag, 0.5),
        ms_at(&report.lag, 0.99),
        ms_at(&report.lag, 0.999),
        failures(&stats.failures),
        failures(&stats.lag_failures)
    );
}

/// The targets, against the runs that measure them.
pub fn print_targets(reports: &[RunReport], read: ReadEndpoint, ceiling_rps: Option<f64>) {
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!();
    println!("targets (2 cores shared by client and server):");
    let mixed = reports
        .iter()
        .find(|r| r.scenario == Scenario::Mixed && r.clients == TARGET_CLIENTS);
    match mixed {
        Some(r) => {
            let rate = r.commands_per_s();
            let p99 = ms_at(&r.latency, 0.99);
            let lag = ms_at(&r.lag, 0.99);
            println!(
                "  mixed x 64: {rate:.0} commands/s >= {TARGET_COMMANDS_PER_S_MIN:.0}: {}",
                verdict(rate >= TARGET_COMMANDS_PER_S_MIN)
            );
            println!(
                "  mixed x 64: p99 {p99:.2} ms < {TARGET_P99_MS_MAX} ms: {}",
                verdict(p99 < TARGET_P99_MS_MAX)
            );
            println!(
                "  mixed x 64: read-your-writes p99 {lag:.2} ms < {TARGET_LAG_P99_MS_MAX} ms on {}: {}",
                read_path(read),
                verdict(lag < TARGET_LAG_P99_MS_MAX)
            );
        }
        None => println!("  (no mixed run with {TARGET_CLIENTS} clients)"),
    }
    let open = reports
        .iter()
        .find(|r| r.scenario == Scenario::OpenOnly && r.clients == TARGET_CLIENTS);
    match (open, ceiling_rps) {
        (Some(r), Some(ceiling)) => {
            let ratio = r.commands_per_s() / ceiling;
            println!(
                "  open-only x 64: {:.0}/s = {ratio:.2} of commit64f {ceiling:.0}/s >= {TARGET_OPEN_RATIO_MIN}: {}",
                r.commands_per_s(),
                verdict(ratio >= TARGET_OPEN_RATIO_MIN)
            );
        }
        (Some(r), None) => println!(
            "  open-only x 64: {:.0}/s (give --ceiling-rps with commit64f's req/s for the ratio)",
            r.commands_per_s()
        ),
        (None, _) => println!("  (no open-only run with {TARGET_CLIENTS} clients)"),
    }
}
