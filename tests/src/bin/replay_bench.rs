//! `docket-replay` benchmark: builds a data folder whose log holds N
//! realistic events (1,000,000 by default), then times `docket-replay
//! verify` and `docket-replay export > /dev/null` on it, end to end (the
//! tool's private copy of the log, sled's open, the work), and the fixed
//! part of that alone (`export` of the last event), so the rate of the work
//! itself can be told apart from the copy.
//!
//! usage:
//!   cargo build --release -p docket-replay --bin docket-replay \
//!                         -p docket-tests --bin replay_bench
//!   target/release/replay_bench [--events 1000000] [--dir target/replay-bench]
//!                               [--replay target/release/docket-replay] [--rebuild]
//!
//! The log is appended directly through `docket_eventstore::Store` (no
//! HTTP): tickets of 2-12 events each (open with an order, public and
//! internal comments from both sides, some escalations and refunds, most
//! closed), their payloads encoded by the domain's codec, 16 tickets per
//! append request (`APPEND_STREAMS_MAX`), 32 requests in flight so the
//! writer's group commits are large. A folder already holding a log of N
//! events is reused unless `--rebuild`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use docket_domain::codec;
use docket_domain::events::{CommentAdded, Escalated, RefundIssued, TicketClosed, TicketOpened};
use docket_domain::types::{
    Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution,
    Role, TicketId, TicketNumber, Visibility,
};
use docket_domain::Event;
use docket_eventstore::{
    AppendRequest, EnvelopeActor, ExpectedVersion, NewEvent, Store, StreamAppend,
    APPEND_STREAMS_MAX,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(about = "Times docket-replay verify and export on a large log")]
struct Args {
    /// Events in the log.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// The data folder to build (its log is `<dir>/log`).
    #[arg(long, default_value = "target/replay-bench")]
    dir: PathBuf,
    /// The docket-replay binary (default: next to this one).
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Build the log again even if the folder holds one of the right size.
    #[arg(long)]
    rebuild: bool,
}

/// Append requests in flight: enough for large group commits.
const IN_FLIGHT: usize = 32;
/// The first event's time; each event is a second after the previous one.
const START_UNIX_NANOS: i64 = 1_893_456_000_000_000_000; // 2030-01-01T00:00:00Z

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let replay = match &args.replay {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("docket-replay"),
    };
    println!(
        "# replay_bench events={} dir={}",
        args.events,
        args.dir.display()
    );
    println!("machine: {}", machine());
    let log = args.dir.join("log");
    if args.rebuild || existing_head(&log) != Some(args.events) {
        if args.dir.exists() {
            std::fs::remove_dir_all(&args.dir)?;
        }
        let started = Instant::now();
        build_log(&log, args.events)?;
        println!(
            "built {} events in {:.1} s; log on disk {:.0} MB",
            args.events,
            started.elapsed().as_secs_f64(),
            dir_bytes(&log)? as f64 / 1e6
        );
    } else {
        println!(
            "reusing the log in {} ({:.0} MB)",
            log.display(),
            dir_bytes(&log)? as f64 / 1e6
        );
    }

    // The fixed cost of every run: copying the log, sled's open, exit.
    let last = args.events.to_string();
    let fixed = time_replay(
        &replay,
        &args.dir,
        &["export", "--from", &last],
        Stdio::null(),
    )?;
    println!(
        "fixed cost (private copy of the log + open + exit, `export --from {last}`): {:.2} s",
        fixed.elapsed.as_secs_f64()
    );
    let verify = time_replay(&replay, &args.dir, &["verify"], Stdio::piped())?;
    let walk = verify
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("checked in: "))
        .unwrap_or("?")
        .to_owned();
    println!(
        "verify: {:.2} s end to end, {:.0} events/s; the check alone: {walk}",
        verify.elapsed.as_secs_f64(),
        args.events as f64 / verify.elapsed.as_secs_f64()
    );
    let export = time_replay(
        &replay,
        &args.dir,
        &["export"],
        Stdio::from(File::create("/dev/null")?),
    )?;
    let work = export.elapsed.saturating_sub(fixed.elapsed).as_secs_f64();
    println!(
        "export > /dev/null: {:.2} s end to end, {:.0} events/s; without the fixed cost: {:.0} events/s",
        export.elapsed.as_secs_f64(),
        args.events as f64 / export.elapsed.as_secs_f64(),
        args.events as f64 / work
    );
    println!("load average after: {}", load_average());
    Ok(())
}

struct Timed {
    elapsed: Duration,
    stdout: String,
}

/// Runs `docket-replay --data-dir DIR ARGS…`; it must exit 0.
fn time_replay(replay: &Path, dir: &Path, args: &[&str], stdout: Stdio) -> Result<Timed, BoxError> {
    let started = Instant::now();
    let child = Command::new(replay)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", replay.display()))?;
    let output = child.wait_with_output()?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "docket-replay {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(Timed {
        elapsed,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    })
}

/// The head position of the log in `log`, if one opens there.
fn existing_head(log: &Path) -> Option<u64> {
    if !log.join("db").exists() {
        return None;
    }
    let store = Store::open(log).ok()?;
    let head = store.head().position;
    store.close().ok()?;
    Some(head)
}

fn build_log(log: &Path, events: u64) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let store = Store::open(log)?;
    let generator = Arc::new(Mutex::new(Generator::new(events)));
    runtime.block_on(async {
        let mut tasks = Vec::with_capacity(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            let store = store.clone();
            let generator = generator.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let next = generator
                        .lock()
                        .map_err(|_| "the generator's lock is poisoned")?
                        .next_request();
                    let Some(request) = next else {
                        return Ok::<(), BoxError>(());
                    };
                    store.append(request).await?;
                }
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok::<(), BoxError>(())
    })?;
    let head = store.head().position;
    store.close()?;
    if head != events {
        return Err(format!("built {head} events, wanted {events}").into());
    }
    Ok(())
}

/// Ticket lives, cut into append requests, until the budget of events is
/// spent.
struct Generator {
    rng: StdRng,
    left: u64,
    tickets: u64,
    clock_unix_nanos: i64,
    org: OrgId,
    eur: Currency,
}

impl Generator {
    fn new(events: u64) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(7),
            left: events,
            tickets: 0,
            clock_unix_nanos: START_UNIX_NANOS,
            org: OrgId::parse("acme").expect("a valid org id literal"),
            eur: Currency::parse("EUR").expect("a valid currency literal"),
        }
    }

    fn next_request(&mut self) -> Option<AppendRequest> {
        let mut streams = Vec::with_capacity(APPEND_STREAMS_MAX);
        while self.left > 0 && streams.len() < APPEND_STREAMS_MAX {
            let life = self.ticket_life();
            streams.push(StreamAppend {
                stream: life.0.stream(),
                expected: ExpectedVersion::NoStream,
                events: life.1,
            });
        }
        (!streams.is_empty()).then_some(AppendRequest {
            streams,
            idempotency: None,
        })
    }

    /// One ticket's events (at most `left`), enveloped.
    fn ticket_life(&mut self) -> (TicketId, Vec<NewEvent>) {
        let ticket_id = TicketId(Uuid::now_v7());
        let number =
            TicketNumber::from_sequence(self.tickets).expect("fewer than 90 billion tickets");
        self.tickets += 1;
        let customer = Author {
            sub: format!("customer-{:06}", self.rng.random_range(0..100_000)),
            role: Role::Customer,
        };
        let agent = Author {
            sub: format!("agent-{:03}", self.rng.random_range(0..200)),
            role: Role::Agent,
        };
        let amount = Money {
            amount_minor: self.rng.random_range(500..200_000),
            currency: self.eur,
        };
        let mut events = vec![Event::TicketOpened(TicketOpened {
            ticket_id,
            number,
            org: self.org.clone(),
            subject: self.text(6),
            description: self.text(45),
            reason: Reason {
                category: "delivery".to_owned(),
                detail: Some(self.text(4)),
            },
            order: Some(Order {
                number: format!("ORD-{:08}", self.rng.random_range(0..100_000_000)),
                amount,
            }),
            customer_code: Some(format!("C{:07}", self.rng.random_range(0..10_000_000))),
            incident_date: None,
            impact: Impact::Medium,
            channel: Channel::Portal,
            opened_by: customer.clone(),
            follow_up_of: None,
            contact: None,
            sales_channel: None,
        })];
        for i in 0..self.rng.random_range(1..=7) {
            let (author, visibility) = match (i % 2, self.rng.random_bool(0.2)) {
                (0, true) => (agent.clone(), Visibility::Internal),
                (0, false) => (agent.clone(), Visibility::Public),
                _ => (customer.clone(), Visibility::Public),
            };
            events.push(Event::CommentAdded(CommentAdded {
                comment_id: Uuid::now_v7(),
                author,
                body: self.text(30),
                visibility,
                text_module: None,
            }));
        }
        if self.rng.random_bool(0.2) {
            events.push(Event::Escalated(Escalated {
                reason: EscalationReason::PaymentProvider,
                note: Some(self.text(8)),
                escalated_by: agent.clone(),
            }));
        }
        if self.rng.random_bool(0.3) {
            events.push(Event::RefundIssued(RefundIssued {
                refund_id: Uuid::now_v7(),
                amount: Money {
                    amount_minor: amount.amount_minor / 4,
                    currency: self.eur,
                },
                reason: self.text(5),
                issued_by: agent.clone(),
            }));
        }
        if self.rng.random_bool(0.9) {
            events.push(Event::TicketClosed(TicketClosed {
                resolution: Resolution::Resolved,
                note: Some(self.text(6)),
                closed_by: agent.clone(),
            }));
        }
        let keep = usize::try_from(self.left).map_or(events.len(), |left| left.min(events.len()));
        events.truncate(keep);
        self.left -= events.len() as u64;
        let correlation_id = Uuid::now_v7();
        let enveloped = events
            .iter()
            .map(|event| {
                let encoded = codec::encode(event);
                let author = author_of(event);
                self.clock_unix_nanos += 1_000_000_000;
                NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: encoded.event_type.to_owned(),
                    schema_version: encoded.schema_version,
                    recorded_at_unix_nanos: self.clock_unix_nanos,
                    actor: EnvelopeActor {
                        sub: author.sub.clone(),
                        role: author.role.as_str().to_owned(),
                        org: self.org.to_string(),
                    },
                    correlation_id,
                    causation_id: None,
                    idempotency_key: Some(format!("key-{}", Uuid::now_v7())),
                    payload: encoded.payload,
                }
            })
            .collect();
        (ticket_id, enveloped)
    }

    /// `words` words of plausible text.
    fn text(&mut self, words: usize) -> String {
        const WORDS: &[&str] = &[
            "parcel",
            "order",
            "delivery",
            "refund",
            "the",
            "was",
            "not",
            "arrived",
            "please",
            "tracking",
            "number",
            "shows",
            "invoice",
            "payment",
            "card",
            "customer",
            "we",
            "have",
            "checked",
            "carrier",
            "warehouse",
            "damaged",
            "missing",
            "item",
            "replacement",
            "today",
        ];
        let mut text = String::with_capacity(words * 8);
        for i in 0..words {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(WORDS[self.rng.random_range(0..WORDS.len())]);
        }
        text
    }
}

fn author_of(event: &Event) -> &Author {
    match event {
        Event::TicketOpened(e) => &e.opened_by,
        Event::CommentAdded(e) => &e.author,
        Event::Escalated(e) => &e.escalated_by,
        Event::RefundIssued(e) => &e.issued_by,
        Event::TicketClosed(e) => &e.closed_by,
        Event::FollowUpOpened(e) => &e.opened_by,
        Event::PolicySet(e) => &e.set_by,
        Event::TextModuleSaved(e) => &e.saved_by,
        Event::TextModuleRemoved(e) => &e.removed_by,
        Event::AttachmentAdded(e) => &e.author,
    }
}

fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        bytes += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(bytes)
}

/// `nproc`, the CPU model and the load average, for the record.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!(
        "nproc={} cpu={model:?} load average: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}
