//! Attachments through the real `docketd`: streaming multipart uploads,
//! downloads with one `Range`, visibility per role and org, every refusal
//! of the contract and of hostile bodies (each with its code, nothing
//! appended, no temporary file left, the server serving on), idempotent
//! retries, and `docket-replay verify` on missing and altered bytes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use docket_tests::harness::{
    id_of, open_body, token, workspace_binary, Options, Reply, ReplyExt, Server, Tokens, ORG,
    OTHER_ORG,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BOUNDARY: &str = "docket-test-boundary-7f3a";
/// The limit the tests' servers take, so that limit+1 is cheap to send.
const LIMIT_BYTES: usize = 64 * 1024;

const PNG: &[u8] = docket_tests::harness::PNG_1X1;

fn file_part(filename: Option<&str>, declared_type: &str, bytes: &[u8]) -> Vec<u8> {
    let disposition = match filename {
        Some(name) => format!("form-data; name=\"file\"; filename=\"{name}\""),
        None => "form-data; name=\"file\"".to_owned(),
    };
    let mut part = format!(
        "--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: {declared_type}\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(bytes);
    part.extend_from_slice(b"\r\n");
    part
}

fn text_part(name: &str, value: &str) -> Vec<u8> {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        .into_bytes()
}

fn form(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = parts.concat();
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn a_file(name: &str, bytes: &[u8]) -> Vec<u8> {
    form(&[file_part(Some(name), "application/octet-stream", bytes)])
}

async fn upload(server: &Server, token: &str, ticket: &str, body: Vec<u8>) -> Reply {
    server
        .post(&format!("/v1/tickets/{ticket}/attachments"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .reply()
        .await
}

async fn download(server: &Server, token: &str, location: &str) -> Reply {
    server.get(location).bearer_auth(token).reply().await
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn temporary_files(server: &Server) -> Vec<PathBuf> {
    let tmp = server.data_dir().join("attachments").join("tmp");
    std::fs::read_dir(tmp)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

async fn small_limit_server() -> Server {
    Server::start_with(
        Options::default()
            .arg("--attachment-max-bytes")
            .arg(&LIMIT_BYTES.to_string()),
    )
    .await
}

// ================================================================ happy

#[tokio::test]
async fn an_upload_is_answered_with_its_attachment_and_downloads_byte_for_byte() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let reply = upload(&server, &tokens.customer, &id, a_file("parcel.png", PNG)).await;
    let location = reply.header("location").expect("a Location").to_owned();
    let answer = reply.expect_status(201);
    let attachment = &answer["attachment"];
    assert_eq!(answer["ticket_id"], id);
    assert_eq!(answer["status"], "open", "the status does not change");
    assert_eq!(attachment["filename"], "parcel.png");
    assert_eq!(attachment["media_type"], "image/png");
    assert_eq!(attachment["size"], PNG.len());
    assert_eq!(attachment["sha256"], sha256_hex(PNG));
    assert_eq!(attachment["visibility"], "public");
    assert_eq!(attachment["author"], format!("customer@{ORG}"));
    assert_eq!(
        location,
        format!(
            "/v1/tickets/{id}/attachments/{}",
            attachment["attachment_id"].as_str().expect("an id")
        )
    );
    let got = download(&server, &tokens.agent, &location).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, PNG);
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(
        got.header("content-length"),
        Some(PNG.len().to_string().as_str())
    );
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename*=UTF-8''parcel.png")
    );
    assert_eq!(
        got.header("etag"),
        Some(format!("\"{}\"", sha256_hex(PNG)).as_str())
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(got.header("cache-control"), Some("private"));
    assert_eq!(got.header("accept-ranges"), Some("bytes"));
    // One range.
    let part = server
        .get(&location)
        .bearer_auth(&tokens.agent)
        .header("range", "bytes=1-3")
        .reply()
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &PNG[1..=3]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 1-3/{}", PNG.len()).as_str())
    );
    let beyond = server
        .get(&location)
        .bearer_auth(&tokens.agent)
        .header("range", "bytes=5000-6000")
        .reply()
        .await;
    beyond.expect_problem(416, "range_not_satisfiable");
    // The view lists it; the history records it.
    let view = server
        .ticket(&tokens.customer, &id)
        .await
        .expect_status(200);
    assert_eq!(view["attachments"][0]["sha256"], sha256_hex(PNG));
    let history = server.history_events(&id).await;
    let added = history
        .iter()
        .find(|e| e["type"] == "attachment_added")
        .expect("the attachment's event");
    assert_eq!(added["data"]["sha256"], sha256_hex(PNG));
    assert_eq!(added["data"]["media_type"], "image/png");
}

#[tokio::test]
async fn text_is_served_as_utf8_and_names_are_kept_for_display_only() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let text = "Il pacco è arrivato schiacciato.\n".as_bytes();
    for (given, kept) in [
        ("../../etc/x", "x"),
        ("C:\\\\Users\\\\anna\\\\nota.txt", "nota.txt"),
        // A tab and a C1 control pass the part's header syntax and are
        // removed from the name (a raw C0 control does not: below).
        ("bad\tna\u{85}me.txt", "badname.txt"),
        ("ricevuta ü.txt", "ricevuta ü.txt"),
    ] {
        let reply = upload(&server, &tokens.customer, &id, a_file(given, text)).await;
        let location = reply
            .header("location")
            .unwrap_or_else(|| panic!("{given:?}: {}", reply.text()))
            .to_owned();
        let answer = reply.expect_status(201);
        assert_eq!(answer["attachment"]["filename"], kept, "{given:?}");
        assert_eq!(answer["attachment"]["media_type"], "text/plain");
        let got = download(&server, &tokens.agent, &location).await;
        assert_eq!(
            got.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(got.body, text);
        if kept == "ricevuta ü.txt" {
            assert_eq!(
                got.header("content-disposition"),
                Some("attachment; filename*=UTF-8''ricevuta%20%C3%BC.txt")
            );
        }
    }
}

// ==================================================== who, and visibility

#[tokio::test]
async fn attachments_follow_the_comments_rules_per_role_and_org() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let internal = form(&[
        file_part(Some("note.txt"), "text/plain", b"for staff"),
        text_part("visibility", "internal"),
    ]);
    upload(&server, &tokens.customer, &id, internal.clone())
        .await
        .expect_problem(403, "forbidden");
    for role_token in [&tokens.analyst, &tokens.auditor, &tokens.admin] {
        upload(&server, role_token, &id, a_file("a.txt", b"x"))
            .await
            .expect_problem(403, "forbidden");
    }
    // Support sees (and attaches to) escalated tickets only.
    upload(&server, &tokens.support, &id, a_file("a.txt", b"x"))
        .await
        .expect_problem(404, "not_found");
    // Another org's ticket is not found, as a ticket that does not exist.
    let other_customer = token("customer", OTHER_ORG);
    upload(&server, &other_customer, &id, a_file("a.txt", b"x"))
        .await
        .expect_problem(404, "not_found");
    upload(
        &server,
        &tokens.customer,
        &uuid_like(),
        a_file("a.txt", b"x"),
    )
    .await
    .expect_problem(404, "not_found");
    let staff_note = upload(&server, &tokens.agent, &id, internal).await;
    let location = staff_note
        .header("location")
        .expect("a Location")
        .to_owned();
    staff_note.expect_status(201);
    download(&server, &tokens.customer, &location)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(
        download(&server, &tokens.auditor, &location).await.status,
        200
    );
    download(&server, &tokens.analyst, &location)
        .await
        .expect_problem(403, "forbidden");
    download(&server, &other_customer, &location)
        .await
        .expect_problem(404, "not_found");
    let view = server
        .ticket(&tokens.customer, &id)
        .await
        .expect_status(200);
    assert_eq!(
        view["attachments"],
        json!([]),
        "customers see public ones only"
    );
    let staff_view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(staff_view["attachments"].as_array().map(Vec::len), Some(1));
    // Nothing is added to a closed ticket.
    server
        .command(
            &tokens.agent,
            &id,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    upload(&server, &tokens.customer, &id, a_file("a.txt", b"x"))
        .await
        .expect_problem(409, "ticket_closed");
    assert!(temporary_files(&server).is_empty());
}

fn uuid_like() -> String {
    "01929a7e-0000-7000-8000-000000000000".to_owned()
}

// ========================================================= bad input

#[tokio::test]
async fn every_bad_upload_gets_its_code_appends_nothing_and_leaves_no_temporary_file() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let head = server.head().await;
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00some zipped bytes".to_vec();
    let png_then_html = [&PNG[..8], b"<html><script>alert(1)</script></html>"].concat();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "no file part",
            form(&[text_part("visibility", "public")]),
            422,
            "missing_file",
        ),
        (
            "a second file part",
            form(&[
                file_part(Some("a.txt"), "text/plain", b"one"),
                file_part(Some("b.txt"), "text/plain", b"two"),
            ]),
            422,
            "unexpected_part",
        ),
        (
            "a part with no filename",
            form(&[file_part(None, "text/plain", b"x")]),
            422,
            "missing_filename",
        ),
        (
            "an unknown part",
            form(&[text_part("comment", "x")]),
            422,
            "unexpected_part",
        ),
        (
            "a bad visibility",
            form(&[
                file_part(Some("a.txt"), "text/plain", b"x"),
                text_part("visibility", "secret"),
            ]),
            422,
            "invalid_field",
        ),
        (
            "zero bytes",
            a_file("empty.txt", b""),
            422,
            "empty_attachment",
        ),
        (
            "limit + 1 bytes",
            a_file("big.txt", &vec![b'a'; LIMIT_BYTES + 1]),
            413,
            "attachment_too_large",
        ),
        (
            "HTML",
            a_file("page.html", b"<!doctype html><p>hi"),
            415,
            "unsupported_attachment_type",
        ),
        (
            "SVG",
            a_file("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            415,
            "unsupported_attachment_type",
        ),
        (
            "a script",
            a_file("x.sh", b"#!/bin/sh\necho hi"),
            415,
            "unsupported_attachment_type",
        ),
        (
            "a PNG signature then HTML",
            a_file("x.png", &png_then_html),
            415,
            "unsupported_attachment_type",
        ),
        (
            "image/png declared over a ZIP",
            form(&[file_part(Some("x.png"), "image/png", &zip)]),
            415,
            "unsupported_attachment_type",
        ),
        (
            "a body cut off mid-part",
            {
                let mut body = file_part(Some("a.txt"), "text/plain", b"half of the file");
                body.truncate(body.len() - 6);
                body
            },
            400,
            "malformed_multipart",
        ),
    ];
    for (name, body, status, code) in cases {
        let reply = upload(&server, &tokens.customer, &id, body).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text());
        reply.expect_problem(status, code);
        assert!(
            temporary_files(&server).is_empty(),
            "{name} left a temporary file"
        );
    }
    // A C0 control byte in a part's headers breaks the part's syntax.
    let reply = upload(
        &server,
        &tokens.customer,
        &id,
        a_file("bad\u{7}name.txt", b"x"),
    )
    .await;
    reply.expect_problem(400, "malformed_multipart");
    // Not multipart at all.
    server
        .command(&tokens.customer, &id, "attachments", &json!({"file": "x"}))
        .await
        .expect_problem(415, "unsupported_media_type");
    assert_eq!(server.head().await, head, "nothing appended");
    // A file of exactly the limit is taken.
    upload(
        &server,
        &tokens.customer,
        &id,
        a_file("limit.txt", &vec![b'a'; LIMIT_BYTES]),
    )
    .await
    .expect_status(201);
}

#[tokio::test]
async fn a_client_that_stalls_mid_upload_is_timed_out_and_leaves_no_temporary_file() {
    let server =
        Server::start_with(Options::default().arg("--request-timeout-ms").arg("1000")).await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let head = server.head().await;
    let url = server.url("/");
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let first_part = file_part(Some("slow.txt"), "text/plain", &vec![b'a'; 10_000]);
    let request = format!(
        "POST /v1/tickets/{id}/attachments HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 1000000\r\n\r\n",
        tokens.customer
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    // Most of a part, then nothing.
    socket
        .write_all(&first_part[..first_part.len() - 100])
        .await
        .expect("send");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if String::from_utf8_lossy(&answer).contains("\"code\"") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered the stalled upload");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");
    drop(socket);
    // The request's temporary file went with it.
    for _ in 0..50 {
        if temporary_files(&server).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(temporary_files(&server).is_empty());
    assert_eq!(server.head().await, head);
    upload(
        &server,
        &tokens.customer,
        &id,
        a_file("ok.txt", b"still serving"),
    )
    .await
    .expect_status(201);
}

// =========================================== idempotency and the limit

#[tokio::test]
async fn a_retry_with_the_same_file_answers_as_the_first_and_another_file_is_refused() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let send = |bytes: &'static [u8], name: &'static str| {
        server
            .post(&format!("/v1/tickets/{id}/attachments"))
            .bearer_auth(&tokens.customer)
            .header("idempotency-key", "photo-1")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(a_file(name, bytes))
    };
    let first = send(PNG, "a.png").reply().await;
    assert_eq!(first.status, 201);
    let head = server.head().await;
    let again = send(PNG, "a.png").reply().await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    assert_eq!(server.head().await, head, "the retry appended nothing");
    send(PNG, "b.png")
        .reply()
        .await
        .expect_problem(422, "idempotency_key_reused");
    send(b"other bytes", "a.png")
        .reply()
        .await
        .expect_problem(422, "idempotency_key_reused");
}

#[tokio::test]
async fn a_ticket_takes_at_most_one_hundred_attachments() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    for i in 0..100 {
        upload(
            &server,
            &tokens.customer,
            &id,
            a_file("n.txt", format!("file {i}").as_bytes()),
        )
        .await
        .expect_status(201);
    }
    upload(&server, &tokens.customer, &id, a_file("n.txt", b"one more"))
        .await
        .expect_problem(422, "too_many_attachments");
}

// ======================================================== the audit

#[tokio::test]
async fn verify_names_a_missing_and_an_altered_attachment_with_its_position() {
    let server = small_limit_server().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let first = upload(&server, &tokens.customer, &id, a_file("a.png", PNG))
        .await
        .expect_status(201);
    let second = upload(
        &server,
        &tokens.customer,
        &id,
        a_file("b.txt", b"some text"),
    )
    .await
    .expect_status(201);
    let mut server = server;
    server.terminate().await;
    let dir = server.data_dir().to_path_buf();
    let sound = replay(&dir, &["verify"]);
    assert_eq!(sound.0, 0, "{}", sound.2);
    assert!(
        sound.1.contains("attachments: 2 named by the log"),
        "{}",
        sound.1
    );
    // One byte flipped.
    let altered = stored(&dir, &second["attachment"]["sha256"]);
    let mut bytes = std::fs::read(&altered).expect("stored");
    bytes[0] ^= 0x01;
    std::fs::write(&altered, bytes).expect("rewrite");
    let run = replay(&dir, &["verify"]);
    assert_eq!(run.0, 1);
    assert!(
        run.2.contains(&format!(
            "fault at position {}: attachment_altered",
            second["position"]
        )),
        "{}",
        run.2
    );
    // One file deleted: the first fault in log order is reported.
    std::fs::remove_file(stored(&dir, &first["attachment"]["sha256"])).expect("delete");
    let run = replay(&dir, &["verify"]);
    assert_eq!(run.0, 1);
    assert!(
        run.2.contains(&format!(
            "fault at position {}: attachment_missing",
            first["position"]
        )),
        "{}",
        run.2
    );
}

fn stored(dir: &Path, sha256: &Value) -> PathBuf {
    let sha256 = sha256.as_str().expect("a hash");
    dir.join("attachments").join(&sha256[..2]).join(sha256)
}

/// `docket-replay --data-dir DIR ARGS…`: exit code, stdout, stderr.
fn replay(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(workspace_binary("docket-replay", "docket-replay"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DOCKET_DATA_DIR")
        .env_remove("DOCKET_NATS_URL")
        .output()
        .expect("run docket-replay");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
