//! Uploads and SIGKILL: `docketd` is killed at random moments while
//! attachments stream in, then started again on the same folder, round
//! after round. Every upload that was answered 201 must download with its
//! SHA-256 afterwards, `docket-replay verify` (which checks every
//! attachment the log names) must pass, and no temporary upload file may
//! remain after a start. Stored bytes whose event never came may remain:
//! they are content-addressed and harmless (`docs/api.md`).

use std::time::Duration;

use docket_tests::harness::{id_of, open_body, workspace_binary, Server, Tokens, ORG};
use rand::Rng;
use sha2::{Digest, Sha256};

const ROUNDS: usize = 12;
const UPLOADS_PER_ROUND: usize = 6;
const BOUNDARY: &str = "docket-crash-boundary";

fn form(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An acknowledged upload: where it is and what its bytes hash to.
struct Acknowledged {
    location: String,
    sha256: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_upload_survives_sigkill_and_no_temporary_file_remains() {
    let mut server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let ticket = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let client = reqwest::Client::new();
    let mut acknowledged: Vec<Acknowledged> = Vec::new();
    let mut killed_mid_upload = 0usize;
    for round in 0..ROUNDS {
        let url = server.url(&format!("/v1/tickets/{ticket}/attachments"));
        let mut uploads = Vec::new();
        for i in 0..UPLOADS_PER_ROUND {
            let size = rand::rng().random_range(2_000_000..8_000_000);
            // Distinct text per upload (text/plain is the cheapest type to make).
            let line = format!("round {round} upload {i} ");
            let bytes: Vec<u8> = line.bytes().cycle().take(size).collect();
            let client = client.clone();
            let url = url.clone();
            let token = tokens.customer.clone();
            uploads.push(tokio::spawn(async move {
                let reply = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(form("crash.txt", &bytes))
                    .send()
                    .await
                    .ok()?;
                if reply.status().as_u16() != 201 {
                    return None;
                }
                let location = reply.headers().get("location")?.to_str().ok()?.to_owned();
                Some(Acknowledged {
                    location,
                    sha256: sha256_hex(&bytes),
                })
            }));
        }
        let delay_ms = rand::rng().random_range(0..30);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        server = server.crash_and_restart().await;
        for upload in uploads {
            match upload.await.expect("the upload task ran") {
                Some(done) => acknowledged.push(done),
                None => killed_mid_upload += 1,
            }
        }
        let tmp = server.data_dir().join("attachments").join("tmp");
        let left: Vec<_> = std::fs::read_dir(&tmp)
            .map(|entries| entries.filter_map(Result::ok).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "round {round}: temporary files after a start: {left:?}"
        );
        for done in &acknowledged {
            let reply = client
                .get(server.url(&done.location))
                .bearer_auth(&tokens.agent)
                .send()
                .await
                .expect("download");
            assert_eq!(
                reply.status().as_u16(),
                200,
                "round {round}: {}",
                done.location
            );
            let body = reply.bytes().await.expect("the bytes");
            assert_eq!(
                sha256_hex(&body),
                done.sha256,
                "round {round}: {}",
                done.location
            );
        }
    }
    assert!(
        !acknowledged.is_empty(),
        "no upload was acknowledged in {ROUNDS} rounds"
    );
    assert!(killed_mid_upload > 0, "no kill landed during an upload");
    server.terminate().await;
    let output = std::process::Command::new(workspace_binary("docket-replay", "docket-replay"))
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("verify")
        .env_remove("DOCKET_DATA_DIR")
        .env_remove("DOCKET_NATS_URL")
        .output()
        .expect("run docket-replay");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "verify after {ROUNDS} kills: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "{} uploads acknowledged, {killed_mid_upload} cut by a kill; {stdout}",
        acknowledged.len()
    );
}
