//! A real SMTP server for the mail tests: Python's `aiosmtpd` (from PyPI,
//! installed by `scripts/test.sh` into `target/test-venv`) on a free
//! loopback port, storing every message it accepts in a Maildir of its
//! own. SIGKILLed on drop.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::free_port;

/// How long the server may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running `aiosmtpd` with its Maildir.
pub struct SmtpServer {
    child: Option<Child>,
    addr: SocketAddr,
    dir: TempDir,
    /// Arguments of `tests/smtp/faulty_smtp.py`; `None`: plain aiosmtpd.
    faults: Option<Vec<String>>,
}

/// One message as the server stored it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The message as stored, whole.
    pub raw: Vec<u8>,
    /// Header lines, unfolded, as `(name in lower case, value)`.
    pub headers: Vec<(String, String)>,
    /// The body as sent (transfer-encoded as the sender chose).
    pub body: String,
}

impl Mail {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The Python with `aiosmtpd`: `DOCKET_TEST_PYTHON`, else `python3`.
fn python() -> PathBuf {
    std::env::var_os("DOCKET_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

impl SmtpServer {
    /// Starts `aiosmtpd` on a free port with an empty Maildir.
    pub fn start() -> SmtpServer {
        SmtpServer::start_with(None)
    }

    /// Starts `tests/smtp/faulty_smtp.py` with `faults` (`--refuse A`,
    /// `--defer N`, `--drop N`): an aiosmtpd that misbehaves on purpose.
    pub fn start_faulty(faults: &[&str]) -> SmtpServer {
        SmtpServer::start_with(Some(faults.iter().map(|f| f.to_string()).collect()))
    }

    fn start_with(faults: Option<Vec<String>>) -> SmtpServer {
        let dir = tempfile::tempdir().expect("a Maildir folder");
        let mut server = SmtpServer {
            child: None,
            addr: free_port(),
            dir,
            faults,
        };
        server.launch();
        server
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts it again on the same port and Maildir (after `kill`).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Every message stored so far, in the order the server stored them.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir().join(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                files.push((modified, entry.path()));
            }
        }
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| std::fs::read(path).ok())
            .map(parse)
            .collect()
    }

    /// Waits (at most `limit`) until `count` messages are stored.
    pub fn wait_for(&self, count: usize, limit: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + limit;
        loop {
            let mails = self.mails();
            if mails.len() >= count || Instant::now() > deadline {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("aiosmtpd.log")).expect("a log file");
        let mut command = Command::new(python());
        match &self.faults {
            None => command
                .args(["-m", "aiosmtpd", "-n", "--smtputf8", "-l"])
                .arg(self.addr.to_string())
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(self.maildir()),
            Some(faults) => command
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/smtp/faulty_smtp.py"))
                .arg("--port")
                .arg(self.addr.port().to_string())
                .arg("--maildir")
                .arg(self.maildir())
                .args(faults),
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start aiosmtpd with {} ({error}); scripts/test.sh installs it",
                    python().display()
                )
            });
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed() < START_LIMIT,
                "aiosmtpd did not accept connections: {}",
                std::fs::read_to_string(self.dir.path().join("aiosmtpd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn parse(raw: Vec<u8>) -> Mail {
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\n\n")
        .or_else(|| text.split_once("\r\n\r\n"))
        .unwrap_or((text.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let body = body.to_owned();
    Mail { raw, headers, body }
}
