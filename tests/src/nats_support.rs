//! A real `nats-server` (from PATH) with JetStream, on a free port and a
//! store folder of its own, that a test can SIGKILL and start again on the
//! same port and folder.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::free_port;

/// How long `nats-server` may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A `nats-server -js` child process; SIGKILLed on drop if still running.
pub struct NatsServer {
    child: Option<Child>,
    addr: SocketAddr,
    store_dir: TempDir,
    log_path: std::path::PathBuf,
}

impl NatsServer {
    /// Starts `nats-server -js` on a free port with a fresh store folder.
    pub fn start() -> NatsServer {
        let store_dir = tempfile::tempdir().expect("create a JetStream store folder");
        let log_path = store_dir.path().join("nats-server.log");
        let mut server = NatsServer {
            child: None,
            addr: free_port(),
            store_dir,
            log_path,
        };
        server.launch();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// SIGKILL: no goodbye to clients, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL nats-server");
            child.wait().expect("reap nats-server");
        }
    }

    /// Starts it again on the same port and store folder (after `kill`).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn launch(&mut self) {
        let started = Instant::now();
        loop {
            let mut child = spawn(self.addr, self.store_dir.path(), &self.log_path);
            match wait_accepting(self.addr, &mut child) {
                Ok(()) => {
                    self.child = Some(child);
                    return;
                }
                Err(why) => {
                    child.kill().ok();
                    child.wait().ok();
                    // The port may still be held by the killed server's
                    // socket for a moment: try again.
                    assert!(
                        started.elapsed() < START_LIMIT,
                        "nats-server did not start ({why}); its log:\n{}",
                        self.log()
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(addr: SocketAddr, store_dir: &Path, log_path: &Path) -> Child {
    Command::new("nats-server")
        .arg("--jetstream")
        .arg("--addr")
        .arg(addr.ip().to_string())
        .arg("--port")
        .arg(addr.port().to_string())
        .arg("--store_dir")
        .arg(store_dir.join("jetstream"))
        .arg("--log")
        .arg(log_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server (scripts/test.sh installs it)")
}

/// Waits until the server greets a client with its `INFO` line.
fn wait_accepting(addr: SocketAddr, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("it exited with {status}"));
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            stream.set_read_timeout(Some(Duration::from_secs(1))).ok();
            let mut greeting = [0u8; 4];
            if stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO" {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("it did not accept connections within 5 s".to_owned())
}
