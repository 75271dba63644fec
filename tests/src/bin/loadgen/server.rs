//! The docketd that `loadgen` starts: a free port, a fresh temp data
//! folder, a known secret, and a clean stop (SIGTERM) at the end.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use tempfile::TempDir;

use crate::http::{get_request_anonymous, header_value, Conn, Target};

/// How long a started server may take to answer `/healthz` (the two cores
/// may be busy compiling).
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried when the free port found is taken before docketd binds it.
const START_ATTEMPTS_MAX: usize = 5;
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A docketd this program started: SIGKILLed on drop if still running.
pub struct LocalServer {
    child: Option<Child>,
    pub pid: i32,
    pub addr: SocketAddr,
    folder: TempDir,
}

pub fn docketd_binary(given: Option<&Path>) -> Result<PathBuf, String> {
    let binary = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this binary's folder: {e}"))?
            .with_file_name("docketd"),
    };
    if !binary.exists() {
        return Err(format!(
            "{} does not exist: build it with `cargo build --release -p docket-api --bin docketd`, or give --docketd",
            binary.display()
        ));
    }
    Ok(binary)
}

/// How a started server ended.
pub struct Stopped {
    pub clean: bool,
    pub log_tail: String,
}

impl LocalServer {
    /// Starts docketd on a free port with a fresh data folder and waits for
    /// `/healthz`.
    pub async fn start(
        binary: &Path,
        secret: &str,
        parent: Option<&Path>,
    ) -> Result<LocalServer, String> {
        let folder = match parent {
            Some(parent) => tempfile::tempdir_in(parent),
            None => tempfile::tempdir(),
        }
        .map_err(|e| format!("cannot create a temp data folder: {e}"))?;
        for _ in 0..START_ATTEMPTS_MAX {
            let addr = free_port()?;
            let mut child = spawn_docketd(binary, secret, folder.path(), addr)?;
            let pid = i32::try_from(child.id()).map_err(|_| "a pid beyond i32".to_owned())?;
            match wait_healthy(&mut child, addr).await {
                Ok(true) => {
                    return Ok(LocalServer {
                        child: Some(child),
                        pid,
                        addr,
                        folder,
                    })
                }
                Ok(false) => {
                    let log = log_tail(folder.path());
                    if !log.contains("cannot listen") {
                        return Err(format!("docketd exited at start; its log:\n{log}"));
                    }
                }
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{error}; its log:\n{}", log_tail(folder.path())));
                }
            }
        }
        Err(format!(
            "docketd found no free port in {START_ATTEMPTS_MAX} attempts"
        ))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    /// SIGTERM, then waits for the exit (SIGKILL after `STOP_TIMEOUT`).
    pub async fn stop(mut self) -> Stopped {
        let Some(mut child) = self.child.take() else {
            return Stopped {
                clean: false,
                log_tail: log_tail(self.folder.path()),
            };
        };
        // SAFETY: `kill` has no memory effects; the pid is our own child,
        // not yet reaped, so it cannot name another process.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        let clean = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.success(),
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL_INTERVAL).await,
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
            }
        };
        Stopped {
            clean,
            log_tail: log_tail(self.folder.path()),
        }
    }
}

/// docketd on `addr` with its data in `folder/data` and its log in
/// `folder/docketd.log`, with no `DOCKET_*` variable of ours leaking in.
fn spawn_docketd(
    binary: &Path,
    secret: &str,
    folder: &Path,
    addr: SocketAddr,
) -> Result<Child, String> {
    let log = std::fs::File::create(folder.join("docketd.log"))
        .map_err(|e| format!("cannot create docketd's log: {e}"))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot share docketd's log: {e}"))?;
    let mut command = Process::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DOCKET_") {
            command.env_remove(name);
        }
    }
    command
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(folder.join("data"))
        .env("DOCKET_JWT_SECRET", secret)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))
}

/// `Ok(true)` once `/healthz` answers 200, `Ok(false)` if docketd exited.
async fn wait_healthy(child: &mut Child, addr: SocketAddr) -> Result<bool, String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let target = Target {
        addr,
        host: header_value(&addr.to_string())?,
    };
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Ok(false);
        }
        if let Ok(mut conn) = Conn::open(&target).await {
            let request = get_request_anonymous(&target, "/healthz");
            if matches!(conn.send(request).await, Ok((StatusCode::OK, _))) {
                return Ok(true);
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "docketd did not answer /healthz within {START_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The last lines docketd logged in `folder`.
fn log_tail(folder: &Path) -> String {
    let log = std::fs::read_to_string(folder.join("docketd.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<SocketAddr, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map_err(|e| e.to_string())
}
