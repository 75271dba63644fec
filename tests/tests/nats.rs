//! `docketd --nats`: the log copied to JetStream (stream sequence = log
//! position, each entry once, byte for byte), the read models fed from
//! there, commands taken while NATS is down, SLA breach notices on
//! `docket.sla.breached.<org>`; against a real `nats-server` that the tests
//! SIGKILL and restart, and a docketd they SIGKILL.

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream;
use docket_eventstore::jetstream::{LOG_STREAM, NOTICE_STREAM};
use docket_eventstore::Store;
use docket_tests::harness::{
    around_the_clock_policy, id_of, open_body, workspace_binary, Options, ReplyExt, Server, Tokens,
    ORG,
};
use docket_tests::nats_support::NatsServer;
use futures::StreamExt;
use serde_json::{json, Value};

/// How long the copy to JetStream and the read models may take to catch up.
const CATCH_UP: Duration = Duration::from_secs(30);

fn nats_options(nats: &NatsServer) -> Options {
    Options::default().env("DOCKET_NATS_URL", &nats.url())
}

async fn jetstream_of(nats: &NatsServer) -> jetstream::Context {
    let client = async_nats::connect(nats.url())
        .await
        .expect("connect to nats-server");
    jetstream::new(client)
}

/// The log's stream on `nats`.
async fn log_stream(nats: &NatsServer) -> jetstream::stream::Stream {
    jetstream_of(nats)
        .await
        .get_stream(LOG_STREAM)
        .await
        .expect("the log stream")
}

/// Every message of the log stream, as (sequence, payload).
async fn stream_entries(nats: &NatsServer) -> Vec<(u64, Vec<u8>)> {
    let mut stream = log_stream(nats).await;
    let last = stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let mut entries = Vec::new();
    for sequence in 1..=last {
        let message = stream
            .get_raw_message(sequence)
            .await
            .unwrap_or_else(|error| panic!("message {sequence} of {last}: {error}"));
        entries.push((message.sequence, message.payload.to_vec()));
    }
    entries
}

/// Every entry of a stopped server's log, as (position, stored bytes).
fn log_entries(data_dir: &Path) -> Vec<(u64, Vec<u8>)> {
    let store = Store::open(&data_dir.join("log")).expect("open the stopped server's log");
    let head = store.head().position;
    let mut entries = Vec::new();
    let mut next = 1;
    while next <= head {
        let batch = store.read_stored_from(next, 1000).expect("read the log");
        for entry in batch {
            entries.push((entry.position(), entry.bytes().to_vec()));
        }
        next = entries.len() as u64 + 1;
    }
    store.close().expect("close the log");
    entries
}

/// Waits until the stream holds `head` entries.
async fn wait_stream_end(nats: &NatsServer, head: u64) {
    let context = jetstream_of(nats).await;
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let end = match context.get_stream(LOG_STREAM).await {
            Ok(mut stream) => stream.info().await.map(|i| i.state.last_sequence).ok(),
            Err(_) => None,
        };
        if end == Some(head) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream ends at {end:?}, the log at {head}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A docketd with `--nats` that ran `lifecycles` ticket life cycles (3
/// events each), stopped once the stream held them all, and its NATS.
async fn stopped_server_and_its_stream(lifecycles: u64) -> (NatsServer, Server) {
    let nats = NatsServer::start();
    let mut server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    for _ in 0..lifecycles {
        lifecycle(&server, &tokens).await;
    }
    wait_stream_end(&nats, 3 * lifecycles).await;
    assert!(server.terminate().await.success());
    (nats, server)
}

async fn lifecycle(server: &Server, tokens: &Tokens) -> String {
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(&tokens.agent, &id, "comments", &json!({"body": "on it"}))
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &id,
            "escalations",
            &json!({"reason": "payment_provider"}),
        )
        .await
        .expect_status(200);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_copied_to_jetstream_and_the_read_models_read_it_from_there() {
    let nats = NatsServer::start();
    let mut server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    let id = lifecycle(&server, &tokens).await;

    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["status"], "waiting", "{view}");
    assert_eq!(view["escalated"], true, "{view}");

    let head = server.head().await;
    assert_eq!(head, 3);
    wait_stream_end(&nats, head).await;
    let metrics = server.get("/metrics").reply().await.text();
    assert!(
        metrics
            .lines()
            .any(|line| line == "docket_jetstream_published_position 3"),
        "{metrics}"
    );
    assert!(server.terminate().await.success());
    let in_stream = stream_entries(&nats).await;
    assert_eq!(in_stream, log_entries(server.data_dir()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_taken_while_nats_is_down_and_the_read_models_catch_up_after() {
    let mut nats = NatsServer::start();
    let mut server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    let first = lifecycle(&server, &tokens).await;
    server
        .ticket(&tokens.agent, &first)
        .await
        .expect_status(200);

    nats.kill();
    let during = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(
            &tokens.agent,
            &first,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    let head = server.head().await;
    // The read models are fed from JetStream, so they wait for NATS.
    let lagging = server
        .get(&format!("/v1/tickets/{during}"))
        .bearer_auth(&tokens.agent)
        .header("x-min-position", head.to_string())
        .send()
        .await
        .expect("an answer");
    assert_eq!(lagging.status().as_u16(), 503);
    let problem: Value = lagging.json().await.expect("problem+json");
    assert_eq!(problem["code"], "projection_lagging", "{problem}");

    nats.restart();
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    let view = loop {
        let reply = server.ticket(&tokens.agent, &during).await;
        if reply.status == 200 {
            break reply.json();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read models did not catch up after NATS came back: {}",
            reply.text()
        );
    };
    assert_eq!(view["status"], "open", "{view}");
    let closed = server
        .ticket(&tokens.agent, &first)
        .await
        .expect_status(200);
    assert_eq!(closed["status"], "closed", "{closed}");

    wait_stream_end(&nats, head).await;
    assert!(server.terminate().await.success());
    assert_eq!(stream_entries(&nats).await, log_entries(server.data_dir()));
}

/// Opens tickets as fast as one client can until the server stops answering.
fn open_until_refused(server: &Server, token: &str) -> tokio::task::JoinHandle<u64> {
    let client = server.client().clone();
    let url = server.url("/v1/tickets");
    let token = token.to_owned();
    tokio::spawn(async move {
        let mut acknowledged = 0;
        loop {
            let sent = client
                .post(&url)
                .bearer_auth(&token)
                .json(&open_body())
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().as_u16() == 201 => acknowledged += 1,
                _ => return acknowledged,
            }
        }
    })
}

/// Where the stream ended and where the log did each time the server's
/// copier (re)started, from its JSON log.
fn copy_starts(log: &str) -> Vec<(u64, u64)> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "copying the log to JetStream")
        .filter_map(|line| Some((line["stream_end"].as_u64()?, line["log_head"].as_u64()?)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_each_entry_in_the_stream_once() {
    let mut nats = NatsServer::start();
    let options = nats_options(&nats).env("DOCKET_LOG_FORMAT", "json");
    let mut server = Server::start_with(options).await;
    let tokens = Tokens::for_org(ORG);
    let mut acknowledged = 0;
    for round in 0..4u64 {
        // SIGKILL docketd while four clients write; in the odd rounds NATS
        // is down meanwhile, so acknowledged entries are not in the stream
        // when it dies.
        let nats_down = round % 2 == 1;
        if nats_down {
            nats.kill();
        }
        let writers: Vec<_> = (0..4)
            .map(|_| open_until_refused(&server, &tokens.customer))
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + 100 * round)).await;
        server = server.crash_and_restart().await;
        for writer in writers {
            acknowledged += writer.await.expect("writer task");
        }
        if nats_down {
            nats.restart();
            let deadline = tokio::time::Instant::now() + CATCH_UP;
            let behind = loop {
                let starts = copy_starts(&server.log());
                if let Some(&(stream_end, log_head)) = starts.last() {
                    break (stream_end, log_head);
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the copier did not start after NATS came back:\n{}",
                    server.log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert!(
                behind.0 < behind.1,
                "the stream was not behind the log after the outage: {behind:?}"
            );
        }
    }
    let id = lifecycle(&server, &tokens).await;
    let head = server.head().await;
    assert!(
        head >= acknowledged + 3,
        "head {head}, acknowledged {acknowledged}"
    );
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["status"], "waiting", "{view}");

    wait_stream_end(&nats, head).await;
    assert!(server.terminate().await.success());
    let in_stream = stream_entries(&nats).await;
    let in_log = log_entries(server.data_dir());
    assert_eq!(in_stream.len(), in_log.len());
    assert!(in_stream == in_log, "the stream differs from the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_holding_another_log_is_neither_extended_nor_read() {
    let (nats, first) = stopped_server_and_its_stream(2).await;
    let tokens = Tokens::for_org(ORG);

    // Another data folder, same NATS: its log is not the stream's.
    let second = Server::start_with(nats_options(&nats)).await;
    let id = id_of(&second.open_ok(&tokens.customer, &open_body()).await);
    let reply = second
        .get(&format!("/v1/tickets/{id}"))
        .bearer_auth(&tokens.agent)
        .header("x-min-position", "1")
        .reply()
        .await;
    reply.expect_problem(503, "projection_lagging");
    let in_stream = stream_entries(&nats).await;
    assert_eq!(in_stream, log_entries(first.data_dir()));
    assert!(
        second.log().contains("another log's copy"),
        "{}",
        second.log()
    );
}

/// A test-clock server with a 2-hour first-response target around the
/// clock, and a ticket opened at 08:00 (due 10:00) that the read models
/// have applied; its id and number.
async fn ticket_due_at_ten(server: &Server, tokens: &Tokens) -> (String, Value) {
    server
        .set_clock("2031-03-03T07:00:00Z")
        .await
        .expect_status(200);
    server.set_policy(ORG, &around_the_clock_policy(2)).await;
    server
        .set_clock("2031-03-03T08:00:00Z")
        .await
        .expect_status(200);
    let opened = server.open_ok(&tokens.customer, &open_body()).await;
    let id = id_of(&opened);
    // Applied before the clock moves past the due time.
    server.ticket(&tokens.agent, &id).await.expect_status(200);
    (id, opened["number"].clone())
}

fn assert_notice_of(notice: &Value, id: &str, number: &Value) {
    assert_eq!(notice["ticket_id"], id, "{notice}");
    assert_eq!(&notice["number"], number, "{notice}");
    assert_eq!(notice["org"], ORG, "{notice}");
    assert_eq!(notice["clock"], "first_response", "{notice}");
    assert_eq!(notice["due_at"], "2031-03-03T10:00:00Z", "{notice}");
}

/// The notices the notice stream keeps, waiting (up to `CATCH_UP`) until
/// it keeps at least `count`.
async fn kept_notices(nats: &NatsServer, count: u64) -> Vec<Value> {
    let context = jetstream_of(nats).await;
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        if let Ok(mut stream) = context.get_stream(NOTICE_STREAM).await {
            let state = stream.info().await.expect("info").state.clone();
            if state.messages >= count {
                let mut notices = Vec::new();
                for sequence in state.first_sequence..=state.last_sequence {
                    let message = stream.get_raw_message(sequence).await.expect("a notice");
                    notices.push(serde_json::from_slice(&message.payload).expect("JSON"));
                }
                return notices;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "fewer than {count} notices kept"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_is_announced_on_nats_once() {
    let nats = NatsServer::start();
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let mut notices = client
        .subscribe(format!("docket.sla.breached.{ORG}"))
        .await
        .expect("subscribe");
    client.flush().await.expect("flush");

    let server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    let (id, number) = ticket_due_at_ten(&server, &tokens).await;
    server
        .set_clock("2031-03-03T10:00:01Z")
        .await
        .expect_status(200);

    let message = tokio::time::timeout(CATCH_UP, notices.next())
        .await
        .expect("a notice within the wait")
        .expect("the subscription is open");
    let notice: Value = serde_json::from_slice(&message.payload).expect("JSON notice");
    assert_notice_of(&notice, &id, &number);

    // Later ticks find nothing new to announce.
    server
        .set_clock("2031-03-03T11:00:00Z")
        .await
        .expect_status(200);
    let again = tokio::time::timeout(Duration::from_secs(3), notices.next()).await;
    assert!(again.is_err(), "announced twice: {again:?}");
    assert_eq!(kept_notices(&nats, 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_while_nats_is_down_is_announced_when_it_is_back() {
    let mut nats = NatsServer::start();
    let server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    let (id, number) = ticket_due_at_ten(&server, &tokens).await;

    nats.kill();
    server
        .set_clock("2031-03-03T10:00:01Z")
        .await
        .expect_status(200);
    // The timer finds the breach while NATS is down; it is recorded as
    // reported only once the notice stream has it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    nats.restart();
    let kept = kept_notices(&nats, 1).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_notice_of(&kept[0], &id, &number);
    // Once delivered, it is not announced again.
    server
        .set_clock("2031-03-03T11:00:00Z")
        .await
        .expect_status(200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(kept_notices(&nats, 1).await.len(), 1);
}

/// `docket-replay ARGS…` with a scratch `TMPDIR` that must be empty after;
/// (exit code, stdout, stderr).
fn replay(args: &[&str]) -> (i32, String, String) {
    replay_with_env(args, &[])
}

/// [`replay`] with these `DOCKET_*` variables set.
fn replay_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let mut command =
        std::process::Command::new(workspace_binary("docket-replay", "docket-replay"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DOCKET_") {
            command.env_remove(name);
        }
    }
    let output = command
        .args(args)
        .envs(env.iter().copied())
        .env("TMPDIR", scratch.path())
        .output()
        .expect("run docket-replay");
    let left = std::fs::read_dir(scratch.path()).expect("scratch").count();
    assert_eq!(left, 0, "{args:?} left its copy behind");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docket_replay_reads_the_stream_while_the_server_runs() {
    let nats = NatsServer::start();
    let url = nats.url();
    let mut server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    let id = lifecycle(&server, &tokens).await;
    lifecycle(&server, &tokens).await;
    let head = server.head().await;
    wait_stream_end(&nats, head).await;

    let (code, out, err) = replay(&["--nats", &url, "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, history, err) = replay(&["--nats", &url, "history", &id, "--json"]);
    assert_eq!(code, 0, "{err}");
    let served = server.history(&tokens.agent, &id).await.expect_status(200);
    let printed: Value = serde_json::from_str(&history).expect("JSON history");
    assert_eq!(printed["events"], served["events"]);
    let (code, from_stream, err) = replay(&["--nats", &url, "export"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(from_stream.lines().count() as u64, head);

    assert!(server.terminate().await.success());
    let dir = server.data_dir().to_str().expect("UTF-8 path").to_owned();
    let (code, from_log, err) = replay(&["--data-dir", &dir, "export"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        from_stream, from_log,
        "the stream's export differs from the log's"
    );
    // rebuild reads the stream and writes the folder's read models.
    let (code, out, err) = replay(&["--nats", &url, "--data-dir", &dir, "rebuild"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("up to position {head}")), "{out}");
    let (code, _, err) = replay(&["--nats", &url, "--data-dir", &dir, "verify"]);
    assert_eq!(code, 2, "one source at a time: {err}");
    // A flag wins over the other source's environment twin.
    let (code, from_flag, err) = replay_with_env(
        &["--nats", &url, "export"],
        &[("DOCKET_DATA_DIR", "/nonexistent")],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(from_flag, from_log);
    let (code, _, err) = replay_with_env(
        &["verify"],
        &[("DOCKET_DATA_DIR", &dir), ("DOCKET_NATS_URL", &url)],
    );
    assert_eq!(code, 2, "two sources from the environment: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docket_replay_names_an_entry_missing_from_the_stream_wherever_it_is() {
    let (nats, _server) = stopped_server_and_its_stream(2).await;
    let stream = log_stream(&nats).await;
    // In the middle, then at the end, then at the start: each time the
    // first missing position is named, as a gap in a log is.
    for (deleted, named, subcommand) in [(4, 4, "verify"), (6, 4, "verify"), (1, 1, "export")] {
        assert!(stream
            .delete_message(deleted)
            .await
            .expect("delete a message"));
        let (code, out, err) = replay(&["--nats", &nats.url(), subcommand]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains(&format!("position {named}")), "{err}");
        assert!(err.contains("gap"), "{err}");
    }
    // The end alone: the stream still says it ends at 3.
    let (nats, _server) = stopped_server_and_its_stream(1).await;
    let stream = log_stream(&nats).await;
    assert!(stream
        .delete_message(3)
        .await
        .expect("delete the last message"));
    let (code, out, err) = replay(&["--nats", &nats.url(), "verify"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("position 3"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_switched_to_nats_copies_its_log_and_back_again() {
    let folder = tempfile::tempdir().expect("a data folder");
    let tokens = Tokens::for_org(ORG);
    let mut embedded = Server::start_with(Options::default().data_dir(folder.path())).await;
    let before = lifecycle(&embedded, &tokens).await;
    assert!(embedded.terminate().await.success());

    let nats = NatsServer::start();
    let mut with_nats = Server::start_with(nats_options(&nats).data_dir(folder.path())).await;
    let during = lifecycle(&with_nats, &tokens).await;
    let view = with_nats
        .ticket(&tokens.agent, &during)
        .await
        .expect_status(200);
    assert_eq!(view["status"], "waiting", "{view}");
    wait_stream_end(&nats, 6).await;
    assert!(with_nats.terminate().await.success());
    assert_eq!(stream_entries(&nats).await, log_entries(folder.path()));

    let mut again = Server::start_with(Options::default().data_dir(folder.path())).await;
    let after = lifecycle(&again, &tokens).await;
    for id in [&before, &during, &after] {
        let view = again.ticket(&tokens.agent, id).await.expect_status(200);
        assert_eq!(view["status"], "waiting", "{view}");
    }
    assert!(again.terminate().await.success());
}

/// With `--nats`, an attachment's bytes reach the JetStream object store
/// (bucket `DOCKET_ATTACHMENTS`, named by their SHA-256) before the log
/// entry naming them reaches the stream; an upload made while NATS is down
/// is acknowledged as usual and copied when NATS is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_reach_the_object_store_before_their_entries_reach_the_stream() {
    use sha2::{Digest, Sha256};
    let mut nats = NatsServer::start();
    let server = Server::start_with(nats_options(&nats)).await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let upload = |bytes: &'static [u8]| {
        let boundary = "docket-nats-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.txt\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        server
            .post(&format!("/v1/tickets/{id}/attachments"))
            .bearer_auth(&tokens.customer)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
    };
    let sha = |bytes: &[u8]| -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let first: &[u8] = b"copied while NATS is up\n";
    let answer = upload(first).reply().await.expect_status(201);
    let mut expected = vec![(
        answer["position"].as_u64().expect("a position"),
        sha(first),
        first,
    )];
    // While NATS is down, uploads are acknowledged as usual.
    nats.kill();
    let second: &[u8] = b"uploaded while NATS is down\n";
    let answer = upload(second).reply().await.expect_status(201);
    expected.push((
        answer["position"].as_u64().expect("a position"),
        sha(second),
        second,
    ));
    nats.restart();
    let context = jetstream_of(&nats).await;
    for (position, sha256, bytes) in expected {
        // Once the stream holds the entry, the bucket holds the bytes.
        let deadline = std::time::Instant::now() + CATCH_UP;
        loop {
            let last = match context.get_stream(LOG_STREAM).await {
                Ok(mut stream) => stream
                    .info()
                    .await
                    .map_or(0, |info| info.state.last_sequence),
                Err(_) => 0,
            };
            if last >= position {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "position {position} never reached the stream"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bucket = context
            .get_object_store("DOCKET_ATTACHMENTS")
            .await
            .expect("the attachment bucket");
        let mut object = bucket.get(&sha256).await.expect("the attachment's object");
        let mut stored = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut object, &mut stored)
            .await
            .expect("read the object");
        assert_eq!(stored, bytes, "object {sha256}");
    }
}
