//! Black-box tests of `docket-replay`, the auditors' tool, against what the
//! real `docketd` answered about the same log.
//!
//! One scenario (built once per test process): `docketd` on a test clock
//! lives through a ticket's life over HTTP (policy, open, public and
//! internal comments, escalation, support's answer, refund, close, a
//! follow-up, and a second ticket interleaved), the test keeps what the API
//! answered (histories with and without `as_of`, the event feed page by
//! page), and stops it with SIGTERM. Then the tool runs on the stopped
//! folder and must print the same bytes; `verify` must pass there and fail
//! at the right position on tampered copies; and the folder must come out
//! of every run unchanged.
//!
//! Each run of the tool gets its own `TMPDIR`, which must be empty again
//! afterwards: the tool's private copy of the log is removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

use docket_domain::types::{Status, TicketId};
use docket_eventstore::{record, Store};
use docket_projections::Views;
use docket_tests::harness::{
    id_of, open_body, open_body_with_order, token, Options, ReplyExt, Server, ORG,
};
use serde_json::{json, Value};

/// Instants of the scenario (the server's test clock is set to each).
const T_BEFORE: &str = "2030-01-07T08:00:00Z";
const T1: &str = "2030-01-07T09:00:00Z";
const T2: &str = "2030-01-07T09:30:00Z";
const T3: &str = "2030-01-07T10:00:00Z";
const T4: &str = "2030-01-07T11:00:00Z";
const T4_LATER: &str = "2030-01-07T11:30:00Z";
const T5: &str = "2030-01-07T12:00:00Z";
const T6: &str = "2030-01-07T13:00:00Z";
const T7: &str = "2030-01-07T14:00:00Z";

/// Events per `GET /v1/events` page: small, so the feed takes several.
const FEED_PAGE: usize = 5;

// ---------------------------------------------------------------- history

#[test]
fn history_json_is_byte_for_byte_what_the_api_answered() {
    let s = scenario();
    for (ticket_id, as_of, body) in &s.histories {
        let mut args = vec!["history", ticket_id.as_str(), "--json"];
        if let Some(as_of) = as_of {
            args.extend(["--as-of", as_of.as_str()]);
        }
        let run = replay(&s.root, &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stdout,
            format!("{}\n", String::from_utf8_lossy(body)),
            "history {ticket_id} as of {as_of:?}"
        );
    }
}

#[test]
fn history_by_number_finds_the_same_ticket() {
    let s = scenario();
    let by_id = replay(&s.root, &["history", &s.parent.id, "--json", "--as-of", T4]);
    let by_number = replay(
        &s.root,
        &["history", &s.parent.number, "--json", "--as-of", T4],
    );
    assert_eq!(by_number.code, 0, "{}", by_number.stderr);
    assert_eq!(by_number.stdout, by_id.stdout);
    let follow_up = replay(&s.root, &["history", &s.follow_up.number, "--json"]);
    let parsed: Value = serde_json::from_str(&follow_up.stdout).expect("JSON");
    assert_eq!(parsed["ticket_id"], json!(s.follow_up.id));
}

#[test]
fn the_timeline_shows_actors_changes_statuses_and_links_by_number() {
    let s = scenario();
    let run = replay(&s.root, &["history", &s.parent.number]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    let expected = [
        format!("ticket {} (id {}, org {ORG})", s.parent.number, s.parent.id),
        "status: closed at 2030-01-07T13:00:00Z (resolved), escalated, refunded 1250 of 5000 EUR"
            .to_owned(),
        format!("follow-ups: {} (id {})", s.follow_up.number, s.follow_up.id),
        "customer@acme (customer)".to_owned(),
        "open -> waiting".to_owned(),
        "INTERNAL comment: The carrier says it is lost.".to_owned(),
        "escalated: no -> yes".to_owned(),
        "support@* (support)".to_owned(),
        "refunded in total: 0 -> 1250".to_owned(),
        "waiting -> closed".to_owned(),
        format!(
            "follow-up opened: {} (id {})",
            s.follow_up.number, s.follow_up.id
        ),
    ];
    for line in &expected {
        assert!(out.contains(line.as_str()), "no {line:?} in:\n{out}");
    }
    // The other ticket's events are not in this one's timeline.
    assert!(!out.contains(&s.other.number), "{out}");

    let follow_up = replay(&s.root, &["history", &s.follow_up.id]);
    let line = format!("follow-up of: {} (id {})", s.parent.number, s.parent.id);
    assert!(follow_up.stdout.contains(&line), "{}", follow_up.stdout);
}

#[test]
fn the_timeline_as_of_an_instant_includes_events_recorded_exactly_then() {
    let s = scenario();
    let run = replay(&s.root, &["history", &s.parent.id, "--as-of", T4]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("as of {T4}")),
        "{}",
        run.stdout
    );
    let escalation = "escalation reason: payment_provider";
    assert!(
        run.stdout.contains(escalation),
        "the escalation at T4 is shown:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("status: waiting, escalated, version 5"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("ticket_closed"), "{}", run.stdout);

    let before = replay(&s.root, &["history", &s.parent.id, "--as-of", T_BEFORE]);
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert!(
        before.stdout.contains("did not exist yet"),
        "{}",
        before.stdout
    );
}

// ----------------------------------------------------------------- export

#[test]
fn export_is_the_event_feed_line_by_line() {
    let s = scenario();
    let run = replay(&s.root, &["export"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(lines(&run.stdout), s.feed);
    // Byte for byte too: each line is the compact form of the feed's event.
    for (line, event) in run.stdout.lines().zip(&s.feed) {
        assert_eq!(line, serde_json::to_string(event).expect("JSON"));
    }

    let head = s.feed.len();
    let range = replay(&s.root, &["export", "--from", "3", "--to", "7"]);
    assert_eq!(lines(&range.stdout), s.feed[2..7].to_vec());
    let tail = replay(&s.root, &["export", "--from", &head.to_string()]);
    assert_eq!(lines(&tail.stdout), s.feed[head - 1..].to_vec());
    let past = replay(&s.root, &["export", "--from", &(head + 1).to_string()]);
    assert_eq!((past.code, past.stdout.as_str()), (0, ""));
    let beyond = replay(&s.root, &["export", "--to", &(head + 100).to_string()]);
    assert_eq!(lines(&beyond.stdout), s.feed);
}

// ----------------------------------------------------------------- verify

#[test]
fn verify_passes_on_the_clean_store_and_prints_the_head() {
    let s = scenario();
    let head = s.feed.len();
    let head_hash = s.feed[head - 1]["hash"]
        .as_str()
        .expect("a hash")
        .to_owned();
    let run = replay(&s.root, &["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("events:     {head}\n")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("streams:    4\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("head:       {head}\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("head hash:  {head_hash}\n")),
        "{}",
        run.stdout
    );

    let at_three = s.feed[2]["hash"].as_str().expect("a hash");
    for expected in [
        head_hash.clone(),
        format!("{head}:{head_hash}"),
        format!("3:{at_three}"),
    ] {
        let run = replay(&s.root, &["verify", "--expect-head", &expected]);
        assert_eq!(run.code, 0, "--expect-head {expected}: {}", run.stderr);
        assert!(
            run.stdout.contains("expected head: matches"),
            "{}",
            run.stdout
        );
    }
    let wrong = "ab".repeat(32);
    for expected in [
        wrong.clone(),
        format!("3:{wrong}"),
        format!("{}:{head_hash}", head + 1),
    ] {
        let run = replay(&s.root, &["verify", "--expect-head", &expected]);
        assert_eq!(run.code, 1, "--expect-head {expected}: {}", run.stdout);
        assert!(run.stderr.contains("docket-replay: "), "{}", run.stderr);
    }
}

/// One way of tampering with a copy, and the fault `verify` must report.
struct Tampering {
    what: &'static str,
    tamper: fn(&sled::Db),
    position: u64,
    reason: &'static str,
}

#[test]
fn verify_names_the_position_of_tampering() {
    let s = scenario();
    let cases = [
        Tampering {
            what: "one flipped byte in an entry's stored value",
            tamper: |db| {
                let mut value = get(db, 4);
                let middle = value.len() / 2;
                value[middle] ^= 0x01;
                put(db, 4, &value);
            },
            position: 4,
            reason: "",
        },
        Tampering {
            what: "one deleted entry",
            tamper: |db| {
                db.remove(log_key(5)).expect("remove");
            },
            position: 5,
            reason: "gap",
        },
        Tampering {
            what: "one entry swapped with another",
            tamper: |db| {
                let (third, ninth) = (get(db, 3), get(db, 9));
                put(db, 3, &ninth);
                put(db, 9, &third);
            },
            position: 3,
            reason: "records position 9",
        },
        Tampering {
            what: "one entry re-encoded with a changed field and a recomputed hash",
            tamper: |db| {
                let previous = decode(&get(db, 5)).hash;
                let mut event = decode(&get(db, 6));
                event.actor.sub = "mallory".into();
                put(db, 6, &record::encode(&event, &previous));
            },
            // Entry 6 is consistent with 5; entry 7 no longer chains to it.
            position: 7,
            reason: "hash chain broken",
        },
    ];
    for case in &cases {
        let copy = tampered_copy(&s.root, case.tamper);
        let run = replay(copy.path(), &["verify"]);
        assert_eq!(run.code, 1, "{}: {}{}", case.what, run.stdout, run.stderr);
        let fault = format!("fault at position {}: ", case.position);
        assert!(run.stderr.contains(&fault), "{}: {}", case.what, run.stderr);
        assert!(
            run.stderr.contains(case.reason),
            "{}: {}",
            case.what,
            run.stderr
        );
    }
}

/// A rewrite of the whole chain from some point on, with the head record
/// and the store's WATERMARK rewritten too (by someone holding the files),
/// leaves a sound log: only a head recorded earlier shows it.
#[test]
fn a_rewritten_chain_is_caught_only_by_a_recorded_head() {
    let s = scenario();
    let head = s.feed.len() as u64;
    let copy = tampered_copy(&s.root, |db| {
        let head = db.scan_prefix(b"L").count() as u64;
        let mut previous = decode(&get(db, 5)).hash;
        for position in 6..=head {
            let mut event = decode(&get(db, position));
            if position == 6 {
                event.actor.sub = "mallory".into();
            }
            let bytes = record::encode(&event, &previous);
            previous = decode(&bytes).hash;
            put(db, position, &bytes);
        }
        db.insert(b"M", head_record(head, &previous)).expect("head");
    });
    // The store's WATERMARK (outside sled) still names the old head; the
    // forger lets the store write a fresh one, as anyone with the files can.
    let log = copy.path().join("log");
    std::fs::remove_file(log.join("WATERMARK")).expect("the store keeps a WATERMARK");
    Store::open(&log)
        .expect("the forged log opens")
        .close()
        .expect("close");
    let run = replay(copy.path(), &["verify"]);
    assert_eq!(
        run.code, 0,
        "the forged chain is internally sound: {}",
        run.stderr
    );
    let original_head = s.feed[head as usize - 1]["hash"].as_str().expect("hash");
    assert!(!run.stdout.contains(original_head), "{}", run.stdout);

    let original_at = |p: usize| s.feed[p - 1]["hash"].as_str().expect("hash").to_owned();
    let checks = [
        (original_head.to_owned(), 1),
        (format!("{head}:{original_head}"), 1),
        (format!("6:{}", original_at(6)), 1),
        // The prefix before the rewrite is still the recorded one.
        (format!("5:{}", original_at(5)), 0),
    ];
    for (expected, code) in checks {
        let run = replay(copy.path(), &["verify", "--expect-head", &expected]);
        assert_eq!(
            run.code, code,
            "--expect-head {expected}: {}{}",
            run.stdout, run.stderr
        );
    }
}

// ---------------------------------------------------------------- rebuild

#[test]
fn rebuild_makes_the_read_models_from_the_log_and_leaves_the_log_alone() {
    let s = scenario();
    let copy = tempfile::tempdir().expect("a temp folder");
    copy_dir(&s.root, copy.path());
    let log_before = snapshot(&copy.path().join("log"));
    for _ in 0..2 {
        let run = replay(copy.path(), &["rebuild", "--projection", "views"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let summary = format!(
            "up to position {}, {} events applied",
            s.feed.len(),
            s.feed.len()
        );
        assert!(run.stdout.contains(&summary), "{}", run.stdout);
    }
    assert!(
        snapshot(&copy.path().join("log")) == log_before,
        "rebuild changed the log"
    );

    let views = Views::open(&copy.path().join("views")).expect("open the rebuilt read models");
    assert_eq!(views.applied_position(), s.feed.len() as u64);
    let parent = TicketId(s.parent.id.parse().expect("a uuid"));
    let view = views
        .ticket(parent)
        .expect("read")
        .expect("the parent is in the read models");
    assert_eq!(view.state.status, Status::Closed);
    assert_eq!(view.state.refunded_minor, 1250);
    assert_eq!(view.state.follow_ups.len(), 1);

    let unknown = replay(copy.path(), &["rebuild", "--projection", "inboxes"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}

// ------------------------------------------------- the folder and errors

#[test]
fn the_data_folder_is_never_modified() {
    let s = scenario();
    let args: [&[&str]; 5] = [
        &["verify"],
        &["export"],
        &["history", &s.parent.id],
        &["history", &s.parent.number, "--json"],
        &["history", &s.follow_up.id, "--as-of", T7],
    ];
    for args in args {
        let run = replay(&s.root, args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{args:?} warned: {}", run.stderr);
        assert!(
            snapshot(&s.root) == s.snapshot,
            "{args:?} changed the data folder"
        );
    }
}

#[test]
fn the_data_folder_is_given_before_after_or_in_the_environment() {
    let s = scenario();
    let root = s.root.to_str().expect("a UTF-8 path");
    let before = run(&["--data-dir", root, "verify"], &[]);
    let after = run(&["verify", "--data-dir", root], &[]);
    let env = run(&["verify"], &[("DOCKET_DATA_DIR", root)]);
    for run in [&before, &after, &env] {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let head_line = |run: &Run| {
        run.stdout
            .lines()
            .find(|l| l.starts_with("head hash"))
            .map(str::to_owned)
    };
    assert_eq!(head_line(&before), head_line(&after));
    assert_eq!(head_line(&before), head_line(&env));
}

#[test]
fn errors_are_clear_and_exit_1_for_data_2_for_usage() {
    let s = scenario();
    let missing = s.root.join("no-such-folder");
    let not_data = tempfile::tempdir().expect("temp");
    let unknown_id = "01900000-0000-7000-8000-000000000000";
    let cases: [(&Path, &[&str], i32, &str); 11] = [
        (&missing, &["verify"], 1, "does not exist"),
        (
            not_data.path(),
            &["verify"],
            1,
            "is not a Docket data folder",
        ),
        (
            &s.root.join("log"),
            &["verify"],
            1,
            "pass the data folder that contains it",
        ),
        (
            &s.root,
            &["history", unknown_id],
            1,
            "no ticket 01900000-0000-7000-8000-000000000000",
        ),
        (
            &s.root,
            &["history", "99999999999"],
            1,
            "no ticket numbered 99999999999",
        ),
        (
            &s.root,
            &["history", &s.parent.id, "--as-of", "yesterday"],
            2,
            "RFC 3339",
        ),
        (
            &s.root,
            &["history", &s.parent.id, "--as-of", "2030-01-07"],
            2,
            "RFC 3339",
        ),
        (&s.root, &["history", "12345"], 2, "neither a ticket id"),
        (
            &s.root,
            &["export", "--from", "5", "--to", "4"],
            2,
            "the range is empty",
        ),
        (
            &s.root,
            &["verify", "--expect-head", "abc"],
            2,
            "not a head hash",
        ),
        (
            &s.root,
            &["verify", "--nats", "nats://127.0.0.1:4222"],
            2,
            "--nats",
        ),
    ];
    for (dir, args, code, message) in cases {
        let run = replay(dir, args);
        assert_eq!(
            run.code,
            code,
            "{args:?} on {}: {}",
            dir.display(),
            run.stderr
        );
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    let no_source = run(&["verify"], &[]);
    assert_eq!(no_source.code, 2, "{}", no_source.stderr);
    assert!(
        no_source.stderr.contains("--data-dir"),
        "{}",
        no_source.stderr
    );
}

#[test]
fn a_folder_held_by_a_running_server_is_read_with_a_warning_and_not_rebuilt() {
    runtime().block_on(async {
        let mut server = Server::start().await;
        let opened = server.open_ok(&token("customer", ORG), &open_body()).await;
        let run = replay(server.data_dir(), &["history", &id_of(&opened), "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("docketd.lock is locked"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("point-in-time copy"), "{}", run.stderr);
        let api = server
            .history(&token("auditor", "*"), &id_of(&opened))
            .await
            .expect_status(200);
        assert_eq!(
            serde_json::from_str::<Value>(&run.stdout).expect("JSON"),
            api
        );
        let rebuild = replay(server.data_dir(), &["rebuild"]);
        assert_eq!(rebuild.code, 1, "{}", rebuild.stdout);
        assert!(
            rebuild.stderr.contains("in use by a running docketd"),
            "{}",
            rebuild.stderr
        );
        assert!(server.terminate().await.success());
    });
}

// --------------------------------------------------------------- scenario

struct Ticket {
    id: String,
    number: String,
}

struct Scenario {
    /// The stopped server's data folder.
    root: PathBuf,
    parent: Ticket,
    follow_up: Ticket,
    other: Ticket,
    /// `(ticket id, as_of, the API's answer body)`.
    histories: Vec<(String, Option<String>, Vec<u8>)>,
    /// `GET /v1/events`, every page, in order.
    feed: Vec<Value>,
    /// The folder as the server left it.
    snapshot: Snapshot,
}

fn scenario() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(|| runtime().block_on(live_a_ticket_life()))
}

async fn live_a_ticket_life() -> Scenario {
    let root = fixture_dir();
    let mut server = Server::start_with(Options::default().data_dir(&root)).await;
    let customer = token("customer", ORG);
    let agent = token("agent", ORG);
    let support = token("support", "*");
    let ok = |reply: docket_tests::harness::Reply| reply.expect_status(200);

    ok(server.set_clock(T1).await);
    server
        .set_policy(ORG, &json!({ "first_response_hours": 24 }))
        .await;
    let parent = server
        .open_ok(&customer, &open_body_with_order(5000, "EUR"))
        .await;
    let a = id_of(&parent);
    ok(server.set_clock(T2).await);
    ok(server
        .command(&agent, &a, "comments", &json!({ "body": "We are on it." }))
        .await);
    let internal = json!({ "body": "The carrier says it is lost.\nCheck the insurance.", "visibility": "internal" });
    ok(server.command(&agent, &a, "comments", &internal).await);
    ok(server.set_clock(T3).await);
    let other = server.open_ok(&customer, &open_body()).await;
    ok(server
        .command(&customer, &a, "comments", &json!({ "body": "Any news?" }))
        .await);
    ok(server.set_clock(T4).await);
    let escalation = json!({ "reason": "payment_provider", "note": "card refund" });
    ok(server.command(&agent, &a, "escalations", &escalation).await);
    ok(server.set_clock(T5).await);
    ok(server
        .command(
            &support,
            &a,
            "comments",
            &json!({ "body": "Refund is on its way." }),
        )
        .await);
    let refund = json!({ "amount_minor": 1250, "currency": "EUR", "reason": "shipping fee" });
    ok(server.command(&agent, &a, "refunds", &refund).await);
    ok(server.set_clock(T6).await);
    let close = json!({ "resolution": "resolved", "note": "refunded the shipping" });
    ok(server.command(&agent, &a, "close", &close).await);
    ok(server.set_clock(T7).await);
    let follow_up = server
        .command(
            &customer,
            &a,
            "follow-ups",
            &json!({ "subject": "Still missing" }),
        )
        .await
        .expect_status(201);
    let c = id_of(&follow_up);
    ok(server
        .command(&agent, &c, "comments", &json!({ "body": "Looking again." }))
        .await);

    let auditor = token("auditor", "*");
    let b = id_of(&other);
    let asked: [(&str, Option<&str>); 9] = [
        (&a, None),
        (&a, Some(T_BEFORE)),
        (&a, Some(T2)),
        (&a, Some(T4)),
        (&a, Some(T4_LATER)),
        (&a, Some(T7)),
        (&c, None),
        (&c, Some(T7)),
        (&b, None),
    ];
    let mut histories = Vec::new();
    for (ticket_id, as_of) in asked {
        let path = match as_of {
            None => format!("/v1/tickets/{ticket_id}/history"),
            Some(t) => format!("/v1/tickets/{ticket_id}/history?as_of={t}"),
        };
        let reply = server.get(&path).bearer_auth(&auditor).reply().await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        histories.push((ticket_id.to_owned(), as_of.map(str::to_owned), reply.body));
    }
    let feed = feed_in_pages(&server).await;
    assert!(
        server.terminate().await.success(),
        "docketd exits 0 on SIGTERM"
    );
    Scenario {
        snapshot: snapshot(&root),
        root,
        parent: ticket(&parent),
        follow_up: ticket(&follow_up),
        other: ticket(&other),
        histories,
        feed,
    }
}

async fn feed_in_pages(server: &Server) -> Vec<Value> {
    let auditor = token("auditor", "*");
    let mut events = Vec::new();
    loop {
        let after = events
            .last()
            .map_or(0, |e: &Value| e["position"].as_u64().expect("position"));
        let path = format!("/v1/events?after={after}&limit={FEED_PAGE}");
        let page = server
            .get(&path)
            .bearer_auth(&auditor)
            .reply()
            .await
            .expect_status(200);
        let batch = page["events"].as_array().expect("events").clone();
        if batch.is_empty() {
            return events;
        }
        events.extend(batch);
    }
}

fn ticket(answer: &Value) -> Ticket {
    Ticket {
        id: id_of(answer),
        number: answer["number"].as_str().expect("a number").to_owned(),
    }
}

/// A folder for this process's scenario under cargo's target tmp folder;
/// the folders of earlier processes that are gone are removed.
fn fixture_dir() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = "replay-fixture-";
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix(prefix)
                .and_then(|pid| pid.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                std::fs::remove_dir_all(entry.path()).ok();
            }
        }
    }
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

// ---------------------------------------------------------- the binaries

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `docket-replay --data-dir DIR ARGS…`.
fn replay(dir: &Path, args: &[&str]) -> Run {
    let dir = dir.to_str().expect("a UTF-8 path");
    let mut all = vec!["--data-dir", dir];
    all.extend_from_slice(args);
    run(&all, &[])
}

/// Runs the tool with its own `TMPDIR` (which must be empty afterwards) and
/// no `DOCKET_*` variable but those given.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let mut command = Command::new(replay_binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DOCKET_") {
            command.env_remove(name);
        }
    }
    let output: Output = command
        .args(args)
        .envs(env.iter().copied())
        .env("TMPDIR", scratch.path())
        .output()
        .expect("run docket-replay");
    let left: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("read scratch")
        .collect();
    assert!(left.is_empty(), "{args:?} left its copy behind: {left:?}");
    Run {
        code: output
            .status
            .code()
            .expect("docket-replay exits, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `docket-replay`, built once per test process in the test's own profile.
fn replay_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| docket_tests::harness::workspace_binary("docket-replay", "docket-replay"))
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

// -------------------------------------------------------- tampering

/// Every file under a folder: its bytes and modification time.
type Snapshot = BTreeMap<PathBuf, (Vec<u8>, Option<SystemTime>)>;

fn snapshot(root: &Path) -> Snapshot {
    let mut files = Snapshot::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read the folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read a file");
                let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                files.insert(path, (bytes, modified));
            }
        }
    }
    files
}

/// A copy of the data folder whose log `tamper` rewrote through sled.
fn tampered_copy(root: &Path, tamper: fn(&sled::Db)) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temp folder");
    copy_dir(root, copy.path());
    let db = sled::open(copy.path().join("log")).expect("open the copy's sled");
    tamper(&db);
    db.flush().expect("flush the tampering");
    drop(db);
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// The log key of a position: `L` + position u64 BE (the layout in
/// `docket_eventstore`'s crate doc; the key functions are crate-private).
fn log_key(position: u64) -> Vec<u8> {
    let mut key = vec![b'L'];
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// The head record: format byte 1, position u64 BE, hash (crate doc).
fn head_record(position: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut value = vec![record::FORMAT_V1];
    value.extend_from_slice(&position.to_be_bytes());
    value.extend_from_slice(hash);
    value
}

fn get(db: &sled::Db, position: u64) -> Vec<u8> {
    db.get(log_key(position))
        .expect("read sled")
        .unwrap_or_else(|| panic!("no entry at {position}"))
        .to_vec()
}

fn put(db: &sled::Db, position: u64, value: &[u8]) {
    db.insert(log_key(position), value).expect("write sled");
}

fn decode(bytes: &[u8]) -> docket_eventstore::RecordedEvent {
    record::decode(bytes).expect("an entry of the original log decodes")
}
