//! E-mail notifications through a real SMTP server (`aiosmtpd`, a process
//! of its own on a free port): every row of the contract's table, the
//! headers (`Subject`, `Message-ID`, threading, `Auto-Submitted`,
//! `Content-Language`), the requester's language, the link, mails that go
//! to nobody, an SMTP outage, and docketd's start-up refusal of half a
//! configuration.

use std::time::Duration;

use docket_tests::harness::{id_of, open_body, Options, Server, Tokens, ORG};
use docket_tests::smtp_support::{Mail, SmtpServer};
use mailparse::MailHeaderMap;
use serde_json::{json, Value};

const PUBLIC_URL: &str = "https://help.acme.example";
const WAIT: Duration = Duration::from_secs(30);

fn mail_options(smtp: &SmtpServer) -> Options {
    Options::default()
        .arg("--smtp-url")
        .arg(&smtp.url())
        .arg("--mail-from")
        .arg("docket@acme.example")
        .arg("--public-url")
        .arg(PUBLIC_URL)
}

/// A mail as a client reads it.
struct Read {
    to: String,
    subject: String,
    message_id: String,
    in_reply_to: Option<String>,
    references: Option<String>,
    auto_submitted: Option<String>,
    language: Option<String>,
    content_type: String,
    text: String,
}

fn read(mail: &Mail) -> Read {
    let parsed = mailparse::parse_mail(&mail.raw).expect("a mail");
    let header = |name: &str| parsed.headers.get_first_value(name);
    Read {
        to: header("To").unwrap_or_default(),
        subject: header("Subject").unwrap_or_default(),
        message_id: header("Message-ID").unwrap_or_default(),
        in_reply_to: header("In-Reply-To"),
        references: header("References"),
        auto_submitted: header("Auto-Submitted"),
        language: header("Content-Language"),
        content_type: parsed.ctype.mimetype.clone(),
        text: parsed.get_body().expect("a text body"),
    }
}

async fn set_team_address(server: &Server, address: &str) {
    server
        .set_policy(ORG, &json!({"notify_email": address}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_of_the_table_mails_whom_it_says_with_the_contracts_headers() {
    let smtp = SmtpServer::start();
    let server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    set_team_address(&server, "team@acme.example").await;
    let mut body = open_body();
    body["subject"] = json!("Pacco\narrivato rotto");
    body["contact"] = json!({"email": "anna@example.it", "name": "Anna Rossi", "language": "it"});
    body["order"] = json!({"number": "A-1", "amount_minor": 5000, "currency": "EUR"});
    let opened: Value = server.open_ok(&tokens.customer, &body).await;
    let id = id_of(&opened);
    let number = opened["number"].as_str().expect("a number").to_owned();
    let on = |suffix: &'static str, token: &'static str, body: Value| {
        let id = id.clone();
        let server = &server;
        let tokens = tokens.clone();
        async move {
            let token = match token {
                "agent" => tokens.agent,
                _ => tokens.customer,
            };
            server
                .command(&token, &id, suffix, &body)
                .await
                .expect_status(200)
        }
    };
    on(
        "comments",
        "agent",
        json!({"body": "Ci dispiace, controlliamo."}),
    )
    .await;
    on(
        "comments",
        "agent",
        json!({"body": "nota interna", "visibility": "internal"}),
    )
    .await;
    on("comments", "customer", json!({"body": "Grazie, attendo."})).await;
    on("escalations", "agent", json!({"reason": "cannot_help"})).await;
    on(
        "refunds",
        "agent",
        json!({"amount_minor": 1250, "currency": "EUR", "reason": "danno"}),
    )
    .await;
    on("close", "agent", json!({"resolution": "resolved"})).await;
    // open: requester + team; reply: requester; internal: nobody;
    // customer: team; escalated: requester; refund: requester; close: both.
    let mails = smtp.wait_for(8, WAIT);
    let mails: Vec<Read> = mails.iter().map(read).collect();
    let to_requester: Vec<&Read> = mails
        .iter()
        .filter(|m| m.to.contains("anna@example.it"))
        .collect();
    let to_team: Vec<&Read> = mails
        .iter()
        .filter(|m| m.to.contains("team@acme.example"))
        .collect();
    assert_eq!(
        to_requester.len(),
        5,
        "{:?}",
        mails.iter().map(|m| (&m.to, &m.text)).collect::<Vec<_>>()
    );
    assert_eq!(to_team.len(), 3);
    // Nothing else arrives (the internal note mailed nobody).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.mails().len(), 8);
    for mail in &mails {
        assert_eq!(
            mail.subject,
            format!("[#{number}] Pacco arrivato rotto"),
            "line breaks become spaces"
        );
        assert_eq!(mail.auto_submitted.as_deref(), Some("auto-generated"));
        assert_eq!(mail.content_type, "text/plain");
        assert!(
            mail.text
                .contains(&format!("{PUBLIC_URL}/console/tickets/{id}")),
            "{}",
            mail.text
        );
        assert!(!mail.text.contains("{{"));
    }
    for (side, group, language) in [("requester", &to_requester, "it"), ("team", &to_team, "en")] {
        let first = group[0];
        assert!(first.message_id.starts_with('<') && first.message_id.ends_with("@acme.example>"));
        assert!(
            first.message_id.contains(&format!(".{side}.{id}@")),
            "{}",
            first.message_id
        );
        assert_eq!(first.in_reply_to, None);
        for later in &group[1..] {
            assert_eq!(
                later.in_reply_to.as_deref(),
                Some(first.message_id.as_str())
            );
            assert_eq!(later.references.as_deref(), Some(first.message_id.as_str()));
        }
        for mail in group.iter() {
            assert_eq!(mail.language.as_deref(), Some(language));
        }
    }
    assert!(to_requester[0].text.contains("Anna Rossi"));
    assert!(
        to_requester[0].text.contains("abbiamo ricevuto"),
        "Italian: {}",
        to_requester[0].text
    );
    assert!(to_requester[1].text.contains("Ci dispiace, controlliamo."));
    assert!(to_team[1].text.contains("Grazie, attendo."));
    assert!(to_requester[3].text.contains("12.50 EUR"));
    assert!(to_requester[4].text.contains("resolved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_without_a_contact_and_an_org_without_a_team_address_mail_nobody() {
    let smtp = SmtpServer::start();
    let server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(&tokens.agent, &id, "comments", &json!({"body": "hello"}))
        .await
        .expect_status(200);
    // The team address is set afterwards: only later events mail the team.
    set_team_address(&server, "team@acme.example").await;
    server
        .command(
            &tokens.customer,
            &id,
            "comments",
            &json!({"body": "now the team hears"}),
        )
        .await
        .expect_status(200);
    smtp.wait_for(1, WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let mails: Vec<Read> = smtp.mails().iter().map(read).collect();
    assert_eq!(
        mails.len(),
        1,
        "{:?}",
        mails.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert!(mails[0].to.contains("team@acme.example"));
    assert!(mails[0].text.contains("now the team hears"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_go_out_once_the_smtp_server_is_back_and_commands_never_wait() {
    let mut smtp = SmtpServer::start();
    let server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    smtp.kill();
    let mut body = open_body();
    body["contact"] = json!({"email": "marco@example.com"});
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(id_of(&server.open_ok(&tokens.customer, &body).await));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    smtp.restart();
    let mails = smtp.wait_for(5, Duration::from_secs(90));
    let mut ids_mailed: Vec<String> = mails.iter().map(read).map(|m| m.message_id).collect();
    ids_mailed.sort();
    ids_mailed.dedup();
    assert_eq!(
        ids_mailed.len(),
        5,
        "every open's mail, each Message-ID at least once"
    );
    for id in ids {
        assert!(ids_mailed.iter().any(|m| m.contains(&id)), "{id}");
    }
}

#[tokio::test]
async fn half_a_mail_configuration_is_refused_at_start() {
    let mut command = docket_tests::harness::docketd_command();
    let dir = tempfile::tempdir().expect("a folder");
    let output = command
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--smtp-url")
        .arg("smtp://127.0.0.1:2525")
        .env_remove("DOCKET_MAIL_FROM")
        .output()
        .expect("run docketd");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--smtp-url and --mail-from go together"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_addresses_beyond_ascii_are_encoded_never_a_header() {
    let smtp = SmtpServer::start();
    let server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    let long_name = format!("Zoë {} Ünal", "Ä".repeat(150));
    let mut body = open_body();
    body["subject"] = json!("Bcc: eve@evil.example\r\nX-Injected: yes");
    body["contact"] = json!({"email": "josé@exämple.it", "name": long_name});
    server.open_ok(&tokens.customer, &body).await;
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1);
    let parsed = mailparse::parse_mail(&mails[0].raw).expect("a mail");
    assert!(parsed.headers.get_first_value("Bcc").is_none());
    assert!(parsed.headers.get_first_value("X-Injected").is_none());
    let to = parsed.headers.get_first_value("To").expect("To");
    assert!(to.contains(&long_name), "{to}");
    assert!(to.contains("josé@exämple.it"), "{to}");
    let subject = parsed.headers.get_first_value("Subject").expect("Subject");
    assert!(
        subject.ends_with("Bcc: eve@evil.example  X-Injected: yes"),
        "{subject}"
    );
}

/// SIGKILL docketd at random moments while mails go out, round after
/// round: after each restart every open that was acknowledged is mailed
/// (its requester `Message-ID` arrives at least once); repeats are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mail_is_lost_when_docketd_is_killed_while_mailing() {
    use rand::Rng;
    let smtp = SmtpServer::start();
    let mut server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    let mut body = open_body();
    body["contact"] = json!({"email": "crash@example.com"});
    let mut acknowledged: Vec<String> = Vec::new();
    for _round in 0..10 {
        let opens = rand::rng().random_range(3..12);
        for _ in 0..opens {
            let reply = server.open(&tokens.customer, &body).await;
            if reply.status == 201 {
                acknowledged.push(id_of(&reply.json()));
            }
        }
        server = server.crash_and_restart().await;
    }
    // Repeats count as mails: wait until every open's mail is there.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let ids: Vec<String> = loop {
        let ids: Vec<String> = smtp
            .mails()
            .iter()
            .map(read)
            .map(|m| m.message_id)
            .collect();
        let all = acknowledged
            .iter()
            .all(|id| ids.iter().any(|m| m.contains(&format!(".requester.{id}@"))));
        if all || std::time::Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for id in &acknowledged {
        assert!(
            ids.iter().any(|m| m.contains(&format!(".requester.{id}@"))),
            "the open of {id} was never mailed"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    println!(
        "{} opens acknowledged, {} mails received, {} repeats",
        acknowledged.len(),
        ids.len(),
        ids.len() - unique.len()
    );
}

async fn metric(server: &Server, name: &str) -> f64 {
    let text = server
        .get("/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_is_counted_not_retried_and_the_other_side_still_gets_its_mail() {
    let smtp = SmtpServer::start_faulty(&["--refuse", "refused@example.com"]);
    let server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    set_team_address(&server, "team@acme.example").await;
    let mut body = open_body();
    body["contact"] = json!({"email": "refused@example.com"});
    server.open_ok(&tokens.customer, &body).await;
    body["contact"] = json!({"email": "fine@example.com"});
    server.open_ok(&tokens.customer, &body).await;
    // Team, team, and the second requester: the refused one is skipped.
    let mails: Vec<Read> = smtp.wait_for(3, WAIT).iter().map(read).collect();
    assert_eq!(
        mails.len(),
        3,
        "{:?}",
        mails.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.to.contains("team@acme.example"))
            .count(),
        2
    );
    assert!(mails.iter().any(|m| m.to.contains("fine@example.com")));
    assert!(metric(&server, "docket_mail_rejected_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_or_cut_mail_is_sent_again_with_the_same_message_id() {
    // The first DATA is cut off mid-way, the next two answered 451.
    let smtp = SmtpServer::start_faulty(&["--drop", "1", "--defer", "2"]);
    let server = Server::start_with(mail_options(&smtp)).await;
    let tokens = Tokens::for_org(ORG);
    let mut body = open_body();
    body["contact"] = json!({"email": "later@example.com"});
    let id = id_of(&server.open_ok(&tokens.customer, &body).await);
    let mails: Vec<Read> = smtp.wait_for(1, WAIT).iter().map(read).collect();
    assert_eq!(mails.len(), 1, "{}", server.log());
    assert!(mails[0].message_id.contains(&format!(".requester.{id}@")));
    assert!(metric(&server, "docket_mail_retried_total").await >= 3.0);
    assert_eq!(metric(&server, "docket_mail_rejected_total").await, 0.0);
}
