//! The server's life: SIGTERM exits 0 and a restart on the same folder
//! shows every ticket and history as before; a second `docketd` on a folder
//! in use is refused; without a configured secret the server makes its own
//! and `docketd token --data-dir` signs with it; a secret file and the
//! `DOCKET_*` twins of the placement flags configure it as the flags do.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use docket_tests::harness::{
    docketd_command, free_port, id_of, open_body, open_body_with_order, sign, token, unix_now,
    wait_exit, Options, ReplyExt, Server, Tokens, ORG, OTHER_ORG,
};
use serde_json::{json, Value};

/// How long a refused second server may take to give up.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(30);
/// The secret kept in a `--jwt-secret-file`: not the harness's.
const FILE_SECRET: &str = "docket-secret-from-a-file-9876543210";

/// Everything a reader can see of some tickets, for comparing two runs.
async fn snapshot(server: &Server, ids: &[String]) -> Vec<Value> {
    let ours = Tokens::for_org(ORG);
    let theirs = Tokens::for_org(OTHER_ORG);
    let mut seen = Vec::new();
    for id in ids {
        for token in [
            &ours.customer,
            &ours.auditor,
            &theirs.agent,
            &ours.admin,
            &ours.support,
        ] {
            let view = server.ticket(token, id).await;
            seen.push(json!([view.status, view.header("etag"), view.json()]));
            let history = server.history(token, id).await;
            seen.push(json!([history.status, history.json()]));
        }
    }
    seen.push(json!(server.feed().await));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_shows_everything_as_before() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .set_clock("2034-04-01T10:00:00Z")
        .await
        .expect_status(200);
    server
        .set_policy(ORG, &json!({"intake_window_days": 20}))
        .await;

    let mut ids = Vec::new();
    let plain = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(
            &tokens.agent,
            &plain,
            "comments",
            &json!({"body": "inside", "visibility": "internal"}),
        )
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &plain,
            "escalations",
            &json!({"reason": "other"}),
        )
        .await
        .expect_status(200);
    ids.push(plain);
    let refunded = id_of(
        &server
            .open_ok(&tokens.agent, &open_body_with_order(700, "EUR"))
            .await,
    );
    server
        .command(
            &tokens.agent,
            &refunded,
            "refunds",
            &json!({"amount_minor": 200, "currency": "EUR", "reason": "r"}),
        )
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &refunded,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    let keyed = server
        .post(&format!("/v1/tickets/{refunded}/follow-ups"))
        .bearer_auth(&tokens.customer)
        .header("idempotency-key", "before-restart")
        .json(&json!({"subject": "follow-up"}))
        .reply()
        .await;
    let follow_up = id_of(&keyed.expect_status(201));
    ids.push(refunded);
    ids.push(follow_up);
    let numbers: Vec<Value> = {
        let mut numbers = Vec::new();
        for id in &ids {
            numbers.push(server.ticket(&tokens.auditor, id).await.json()["number"].clone());
        }
        numbers
    };
    let before = snapshot(&server, &ids).await;

    let (status, server) = server.restart().await;
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    let after = snapshot(&server, &ids).await;
    assert_eq!(
        after, before,
        "every view and history is as before the restart"
    );

    // The idempotency record survived with the events.
    let again = server
        .post(&format!("/v1/tickets/{}/follow-ups", ids[1]))
        .bearer_auth(&tokens.customer)
        .header("idempotency-key", "before-restart")
        .json(&json!({"subject": "follow-up"}))
        .reply()
        .await;
    assert_eq!(again.status, keyed.status);
    assert_eq!(again.json(), keyed.json());
    assert_eq!(
        json!(server.feed().await),
        *before.last().expect("the feed")
    );

    // The policy and the clock's rule still hold; numbers are not reused.
    server
        .set_clock("2034-04-02T10:00:00Z")
        .await
        .expect_status(200);
    let mut dated = open_body();
    dated["incident_date"] = json!("2034-03-14");
    let fresh = server.open_ok(&tokens.customer, &dated).await;
    assert!(
        !numbers.contains(&fresh["number"]),
        "{} reused",
        fresh["number"]
    );
    let view = server
        .ticket(&tokens.auditor, &id_of(&fresh))
        .await
        .expect_status(200);
    assert_eq!(view["opened_at"], "2034-04-02T10:00:00Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_commands_and_their_keys_survive_sigkill() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let comment = || {
        server
            .post(&format!("/v1/tickets/{id}/comments"))
            .bearer_auth(&tokens.agent)
            .header("idempotency-key", "before-the-crash")
            .json(&json!({"body": "acknowledged"}))
    };
    let first = comment().reply().await;
    let answer = first.expect_status(200);
    let feed = server.feed().await;

    let server = server.crash_and_restart().await;
    assert_eq!(
        server.feed().await,
        feed,
        "every acknowledged event survived"
    );
    let retry = server
        .post(&format!("/v1/tickets/{id}/comments"))
        .bearer_auth(&tokens.agent)
        .header("idempotency-key", "before-the-crash")
        .json(&json!({"body": "acknowledged"}))
        .reply()
        .await;
    assert_eq!(
        retry.expect_status(200),
        answer,
        "the first answer, same position"
    );
    assert_eq!(
        server.history_events(&id).await.len(),
        2,
        "nothing appended twice"
    );
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["version"], 2);
    assert_eq!(view["status"], "waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_in_use_is_refused() {
    let server = Server::start().await;
    let mut second = docketd_command()
        .arg("--listen")
        .arg(free_port().to_string())
        .arg("--data-dir")
        .arg(server.data_dir())
        .env("DOCKET_JWT_SECRET", "another")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start a second docketd");
    let status = wait_exit(&mut second, REFUSAL_TIMEOUT).await;
    let Some(status) = status else {
        second.kill().ok();
        second.wait().ok();
        panic!("a second docketd on a folder in use kept running");
    };
    let output = second.wait_with_output().expect("read its output");
    assert!(!status.success(), "{status}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("in use"), "no clear message: {said}");
    assert!(
        said.contains(&server.data_dir().display().to_string()),
        "{said}"
    );

    // The first server is unharmed.
    let tokens = Tokens::for_org(ORG);
    server.open_ok(&tokens.customer, &open_body()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_the_server_makes_one_that_token_signs_with() {
    let server = Server::start_with(Options::default().without_secret()).await;
    let secret = server.data_dir().join("jwt-secret");
    let mode = std::fs::metadata(&secret)
        .expect("the generated secret is in the data folder")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the secret is private");
    assert!(
        server.log().contains("jwt-secret"),
        "the log says where: {}",
        server.log()
    );

    let printed = docketd_command()
        .args([
            "token", "--sub", "ops", "--org", ORG, "--role", "agent", "--ttl", "10m",
        ])
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .expect("run docketd token");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let signed = String::from_utf8(printed.stdout).expect("a token is ASCII");
    let signed = signed.trim();
    let answer = server.open_ok(signed, &open_body()).await;
    let events = server
        .get(&format!("/v1/tickets/{}/history", id_of(&answer)))
        .bearer_auth(signed)
        .reply()
        .await
        .expect_status(200);
    assert_eq!(
        events["events"][0]["actor"],
        json!({"sub": "ops", "role": "agent"})
    );
    // Every flag has its DOCKET_* twin, the token's too.
    let from_env = docketd_command()
        .arg("token")
        .env("DOCKET_TOKEN_SUB", "env-ops")
        .env("DOCKET_TOKEN_ORG", ORG)
        .env("DOCKET_TOKEN_ROLE", "customer")
        .env("DOCKET_TOKEN_TTL", "5m")
        .env("DOCKET_DATA_DIR", server.data_dir())
        .output()
        .expect("run docketd token");
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
    let env_token = String::from_utf8(from_env.stdout).expect("a token is ASCII");
    let opened = server.open_ok(env_token.trim(), &open_body()).await;
    let history = server
        .get(&format!("/v1/tickets/{}/history", id_of(&opened)))
        .bearer_auth(signed)
        .reply()
        .await
        .expect_status(200);
    assert_eq!(
        history["events"][0]["actor"],
        json!({"sub": "env-ops", "role": "customer"})
    );

    // The harness's secret is not the server's.
    server
        .open(&token("agent", ORG), &open_body())
        .await
        .expect_problem(401, "unauthorized");

    // The secret is kept: the token still works after a restart.
    let (status, server) = server.restart().await;
    assert_eq!(status.code(), Some(0));
    server.open_ok(signed, &open_body()).await;

    // `token` refuses what no server would accept.
    for args in [
        ["--sub", "x", "--org", ORG, "--role", "root"],
        ["--sub", "x", "--org", "Not An Org", "--role", "agent"],
    ] {
        let refused = docketd_command()
            .arg("token")
            .args(args)
            .arg("--data-dir")
            .arg(server.data_dir())
            .output()
            .expect("run docketd token");
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
    }
}

/// "verified with the secret given to the server (`DOCKET_JWT_SECRET`, or a
/// file named by `--jwt-secret-file`)", and the flag's environment twin
/// `DOCKET_JWT_SECRET_FILE` (README, Configuration): tokens signed with the
/// file's secret are taken, tokens signed with any other key are 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_named_by_flag_or_environment_decides_which_tokens_are_taken() {
    let secrets = tempfile::tempdir().expect("a folder for the secret file");
    let path = secrets.path().join("jwt-secret");
    std::fs::write(&path, FILE_SECRET).expect("write the secret file");
    let path = path.to_str().expect("temp paths are UTF-8");
    let in_an_hour = unix_now() + 3600;
    let from_file = sign(
        FILE_SECRET,
        &json!({"sub": "filed", "org": ORG, "role": "agent", "exp": in_an_hour}),
    );
    let harness_signed = token("agent", ORG);
    for (how, options) in [
        (
            "--jwt-secret-file",
            Options::default()
                .without_secret()
                .arg("--jwt-secret-file")
                .arg(path),
        ),
        (
            "DOCKET_JWT_SECRET_FILE",
            Options::default()
                .without_secret()
                .env("DOCKET_JWT_SECRET_FILE", path),
        ),
    ] {
        let server = Server::start_with(options).await;
        let id = id_of(&server.open_ok(&from_file, &open_body()).await);
        let history = server.history(&from_file, &id).await.expect_status(200);
        assert_eq!(
            history["events"][0]["actor"],
            json!({"sub": "filed", "role": "agent"}),
            "{how}"
        );
        let refused = server.open(&harness_signed, &open_body()).await;
        assert_eq!(refused.status, 401, "{how}: {}", refused.text());
        refused.expect_problem(401, "unauthorized");
        server
            .history(&harness_signed, &id)
            .await
            .expect_problem(401, "unauthorized");
        assert!(
            !server.data_dir().join("jwt-secret").exists(),
            "{how}: a secret was generated although a file was named"
        );
    }
}

/// "Every flag has a `DOCKET_*` environment twin (`DOCKET_LISTEN`,
/// `DOCKET_DATA_DIR`, ...)": started without `--listen` and `--data-dir`,
/// docketd serves on the address `DOCKET_LISTEN` names and keeps its log in
/// the folder `DOCKET_DATA_DIR` names, where a restart finds it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_address_and_data_folder_come_from_their_environment_twins() {
    let folder = tempfile::tempdir().expect("a data folder");
    let options = Options::default()
        .placed_by_environment()
        .data_dir(folder.path());
    // The harness waited for /healthz on the address in DOCKET_LISTEN.
    let server = Server::start_with(options).await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    assert!(
        folder.path().join("log").is_dir(),
        "no log/ in the DOCKET_DATA_DIR folder {}",
        folder.path().display()
    );
    let before = server.history_events(&id).await;

    // Again on a new address, the same folder: the ticket is there.
    let (status, server) = server.restart().await;
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    assert_eq!(server.history_events(&id).await, before);
    server.open_ok(&tokens.customer, &open_body()).await;
}
