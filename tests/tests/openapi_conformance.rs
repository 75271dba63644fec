//! The served `/openapi.json` against the server, as a generated client
//! would meet it: schemathesis (from PyPI, installed by `scripts/test.sh`)
//! fuzzes every operation with a token of each role and checks that no
//! answer is a 5xx and that every status, content type and body conforms to
//! the document. The server must still serve afterwards.
//!
//! The document's error answers come from the edge's own error mapping
//! (`api/src/openapi.rs`), so a code the server answers with but the
//! document does not list fails here.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use docket_tests::harness::{id_of, open_body_with_order, Server, Tokens, ORG};
use serde_json::json;

/// Test cases per operation and role: enough to reach every documented
/// error of an operation, small enough for six roles in a few minutes.
const EXAMPLES_PER_OPERATION: u32 = 25;
/// The most one role's run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// `DOCKET_SCHEMATHESIS` (set by `scripts/test.sh`), else `schemathesis`
/// on PATH.
fn schemathesis() -> PathBuf {
    std::env::var_os("DOCKET_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("schemathesis"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_to_every_role_conforms_to_the_served_document() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    // A ticket every role that reads tickets may see (escalated, so support
    // does too), so that fuzzing reaches the rules behind the 404.
    let ticket = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(10_000, "EUR"))
            .await,
    );
    server
        .command(
            &tokens.agent,
            &ticket,
            "escalations",
            &json!({"reason": "cannot_help"}),
        )
        .await
        .expect_status(200);
    let config_dir = tempfile::tempdir().expect("temp dir");
    let config = config_dir.path().join("schemathesis.toml");
    // Fixed values where a random one would only ever meet a 404 or wait
    // 5 s for a log position that never comes (503 projection_lagging by
    // design).
    std::fs::write(
        &config,
        format!(
            "[parameters]\n\
             \"path.id\" = \"{ticket}\"\n\
             \"path.org\" = \"{ORG}\"\n\
             \"header.X-Min-Position\" = \"0\"\n\
             \"query.min_position\" = 0\n"
        ),
    )
    .expect("config written");
    let schema = server.url("/openapi.json");
    for (role, token) in tokens.all() {
        let report = config_dir.path().join(format!("{role}.log"));
        let junit = config_dir.path().join(format!("{role}.xml"));
        let log = std::fs::File::create(&report).expect("report file");
        let mut run = tokio::process::Command::new(schemathesis())
            .arg("--config-file")
            .arg(&config)
            .args(["--no-color", "run", &schema])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", &EXAMPLES_PER_OPERATION.to_string()])
            .args(["--seed", "20261207", "--request-timeout", "20"])
            .args(["--report", "junit", "--report-junit-path"])
            .arg(&junit)
            .current_dir(config_dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("report file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run {} ({error}); scripts/test.sh installs schemathesis from PyPI",
                    schemathesis().display()
                )
            });
        let status = tokio::time::timeout(RUN_LIMIT, run.wait())
            .await
            .unwrap_or_else(|_| panic!("schemathesis as {role} ran past {RUN_LIMIT:?}"))
            .expect("schemathesis ran");
        let output = std::fs::read_to_string(&report).unwrap_or_default();
        assert!(
            status.success(),
            "schemathesis as {role} found failures:\n{output}\n--- server log ---\n{}",
            server.log()
        );
        // Every documented operation was tested, none failed.
        let junit = std::fs::read_to_string(&junit).expect("the JUnit report");
        let operations = junit.matches("<testcase ").count();
        assert!(
            operations >= 19 && junit.contains("failures=\"0\"") && junit.contains("errors=\"0\""),
            "schemathesis as {role} tested {operations} operations:\n{junit}\n{output}"
        );
    }
    // Alive, and the seeded ticket reads as before.
    let alive = server
        .get("/healthz")
        .send()
        .await
        .expect("the server still answers");
    assert_eq!(alive.status(), 200);
    server
        .ticket(&tokens.agent, &ticket)
        .await
        .expect_status(200);
}
