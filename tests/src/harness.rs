//! The black-box harness: the real `docketd` on a free port with a temporary
//! data folder, tokens signed with a known secret, and HTTP answers kept
//! whole (status, headers, bytes) so that tests can compare them exactly.
//! One file past ~600 lines: the server's options, its process and the
//! request builders every black-box test uses are one concept.
//!
//! `docketd` belongs to another package, so cargo does not build it for
//! these tests: [`docketd`] runs `$CARGO build -p docket-api --bin docketd`
//! once per test process, in the test's own profile, and finds the binary
//! next to the test executable's target folder.

use std::fs::File;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A real 1x1 PNG.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// The HS256 secret every harness server is started with (unless a test
/// starts one without a secret on purpose).
pub const TEST_SECRET: &str = "docket-black-box-test-secret-0123456789";
/// The org most tests work in.
pub const ORG: &str = "acme";
/// Another org, whose tickets the tokens of [`ORG`] must not see.
pub const OTHER_ORG: &str = "globex";
/// The contract's error media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// How long a starting server may take to answer `/healthz`: generous,
/// because the two shared cores may be busy compiling.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Starts retried when the free port found was taken before docketd bound it.
const START_ATTEMPTS_MAX: usize = 5;
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// Lifetime of the tokens the harness signs.
const TOKEN_TTL_SECONDS: u64 = 3600;
/// Events per page when the harness reads the whole feed.
const FEED_PAGE_LIMIT: usize = 1000;

/// The `docketd` binary, built (once per test process) if needed.
pub fn docketd() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_docketd)
}

/// A `docketd` command with no `DOCKET_*` variable of the caller's
/// environment leaking into it.
pub fn docketd_command() -> Command {
    let mut command = Command::new(docketd());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DOCKET_") {
            command.env_remove(name);
        }
    }
    command
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--test-clock`.
    pub test_clock: bool,
    /// `DOCKET_JWT_SECRET`; `None` lets docketd use (or create) the data
    /// folder's own secret.
    pub jwt_secret: Option<String>,
    /// A folder the test owns; `None` gives the server a fresh temp folder.
    pub data_dir: Option<PathBuf>,
    /// More environment variables for the server (`DOCKET_LOG_FORMAT`, ...).
    pub env: Vec<(String, String)>,
    /// More command-line arguments for the server (`--jwt-secret-file`, ...).
    pub args: Vec<String>,
    /// How the server is told its address and data folder.
    pub placement: Placement,
}

/// How a harness server is told where to listen and which folder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `--listen` and `--data-dir`.
    Flags,
    /// Their environment twins, `DOCKET_LISTEN` and `DOCKET_DATA_DIR`.
    Environment,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            test_clock: true,
            jwt_secret: Some(TEST_SECRET.to_owned()),
            data_dir: None,
            env: Vec::new(),
            args: Vec::new(),
            placement: Placement::Flags,
        }
    }
}

impl Options {
    /// The real clock instead of `--test-clock`.
    pub fn real_clock(mut self) -> Options {
        self.test_clock = false;
        self
    }

    /// No `DOCKET_JWT_SECRET`: docketd uses (or creates) the data folder's own secret.
    pub fn without_secret(mut self) -> Options {
        self.jwt_secret = None;
        self
    }

    /// Runs on `path`, which the test owns, instead of a fresh temp folder.
    pub fn data_dir(mut self, path: &Path) -> Options {
        self.data_dir = Some(path.to_owned());
        self
    }

    /// One more environment variable for the server.
    pub fn env(mut self, name: &str, value: &str) -> Options {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// One more command-line argument for the server.
    pub fn arg(mut self, arg: &str) -> Options {
        self.args.push(arg.to_owned());
        self
    }

    /// `DOCKET_LISTEN` and `DOCKET_DATA_DIR` instead of the flags.
    pub fn placed_by_environment(mut self) -> Options {
        self.placement = Placement::Environment;
        self
    }
}

/// A running `docketd`; SIGKILLed on drop if still running.
pub struct Server {
    child: Option<Child>,
    /// Where the server listens.
    pub addr: SocketAddr,
    base_url: String,
    data_dir: PathBuf,
    owned_data_dir: Option<TempDir>,
    options: Options,
    log_path: PathBuf,
    _log_dir: TempDir,
    client: reqwest::Client,
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The answer's body, as sent.
    pub body: Vec<u8>,
}

/// `.reply()` on a request: send it and read the answer whole.
pub trait ReplyExt {
    /// Sends the request and reads the answer whole; panics if the server does not answer.
    fn reply(self) -> impl Future<Output = Reply> + Send;
}

/// Tokens of every role for one org; `support` and `admin` are platform
/// staff (`org: "*"`) as the contract describes them.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// A customer of the org.
    pub customer: String,
    /// An agent of the org.
    pub agent: String,
    /// First-level support, platform-wide (`*`).
    pub support: String,
    /// An auditor of the org.
    pub auditor: String,
    /// An analyst of the org.
    pub analyst: String,
    /// An admin, platform-wide (`*`).
    pub admin: String,
    /// A platform-wide auditor: may read the event feed.
    pub platform_auditor: String,
}

impl Server {
    /// A server with the default options: test clock, known secret, temp folder.
    pub async fn start() -> Server {
        Server::start_with(Options::default()).await
    }

    /// A server started with `options`; panics if it does not become healthy.
    pub async fn start_with(options: Options) -> Server {
        let (data_dir, owned_data_dir) = match &options.data_dir {
            Some(path) => (path.clone(), None),
            None => {
                let dir = tempfile::tempdir().expect("create a temp data folder");
                (dir.path().to_owned(), Some(dir))
            }
        };
        Server::launch(options, data_dir, owned_data_dir).await
    }

    async fn launch(options: Options, data_dir: PathBuf, owned: Option<TempDir>) -> Server {
        let log_dir = tempfile::tempdir().expect("create a temp log folder");
        let log_path = log_dir.path().join("docketd.log");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("build an HTTP client");
        for attempt in 1..=START_ATTEMPTS_MAX {
            let addr = free_port();
            let mut child = spawn_server(&options, &data_dir, addr, &log_path);
            let base_url = format!("http://{addr}");
            match wait_healthy(&client, &base_url, &mut child, &log_path).await {
                Ok(()) => {
                    return Server {
                        child: Some(child),
                        addr,
                        base_url,
                        data_dir,
                        owned_data_dir: owned,
                        options,
                        log_path,
                        _log_dir: log_dir,
                        client,
                    }
                }
                Err(status) => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    let port_taken = log.contains("cannot listen");
                    assert!(
                        port_taken && attempt < START_ATTEMPTS_MAX,
                        "docketd did not start ({status}); its log:\n{log}"
                    );
                }
            }
        }
        unreachable!("the loop returns or panics on its last attempt")
    }

    /// The server's URL of `path` (`/v1/tickets`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The server's data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server process's id; panics once it has stopped.
    pub fn pid(&self) -> i32 {
        let child = self.child.as_ref().expect("the server is running");
        i32::try_from(child.id()).expect("pids fit in i32")
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The harness's HTTP client (60 s timeout).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A request to `path` on the server.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A `GET` of `path`.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A `POST` to `path`.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A `PUT` to `path`.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// `POST /v1/tickets`.
    pub async fn open(&self, token: &str, body: &Value) -> Reply {
        self.post("/v1/tickets")
            .bearer_auth(token)
            .json(body)
            .reply()
            .await
    }

    /// Opens a ticket that must be accepted; its answer body.
    pub async fn open_ok(&self, token: &str, body: &Value) -> Value {
        self.open(token, body).await.expect_status(201)
    }

    /// `POST /v1/tickets/{id}/{suffix}` (`comments`, `escalations`, `refunds`,
    /// `close`, `follow-ups`).
    pub async fn command(&self, token: &str, ticket_id: &str, suffix: &str, body: &Value) -> Reply {
        self.post(&format!("/v1/tickets/{ticket_id}/{suffix}"))
            .bearer_auth(token)
            .json(body)
            .reply()
            .await
    }

    /// `GET /v1/tickets/{id}`, reading every write made so far: the view is
    /// a read model, so it asks for the log's head with `X-Min-Position`.
    pub async fn ticket(&self, token: &str, ticket_id: &str) -> Reply {
        let head = self.head().await;
        self.get(&format!("/v1/tickets/{ticket_id}"))
            .bearer_auth(token)
            .header("x-min-position", head.to_string())
            .reply()
            .await
    }

    /// The log's head position: `/readyz` reports it; the event feed (read
    /// from the log itself) is the fallback.
    pub async fn head(&self) -> u64 {
        let ready = self.get("/readyz").reply().await;
        let reported = serde_json::from_slice::<Value>(&ready.body)
            .ok()
            .and_then(|body| body["log_head"].as_u64());
        match reported {
            Some(head) => head,
            None => self
                .feed()
                .await
                .last()
                .and_then(|event| event["position"].as_u64())
                .unwrap_or(0),
        }
    }

    /// `GET /v1/tickets/{id}/history` with `token`.
    pub async fn history(&self, token: &str, ticket_id: &str) -> Reply {
        self.get(&format!("/v1/tickets/{ticket_id}/history"))
            .bearer_auth(token)
            .reply()
            .await
    }

    /// The events of a ticket's history, read by a platform auditor.
    pub async fn history_events(&self, ticket_id: &str) -> Vec<Value> {
        let history = self
            .history(&token("auditor", "*"), ticket_id)
            .await
            .expect_status(200);
        history["events"]
            .as_array()
            .expect("a history has an events array")
            .clone()
    }

    /// The whole event feed, read by a platform auditor.
    pub async fn feed(&self) -> Vec<Value> {
        let auditor = token("auditor", "*");
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .get(&format!("/v1/events?after={after}&limit={FEED_PAGE_LIMIT}"))
                .bearer_auth(&auditor)
                .reply()
                .await
                .expect_status(200);
            let batch = page["events"].as_array().expect("a feed page").clone();
            let Some(last) = batch.last() else {
                return events;
            };
            after = last["position"].as_u64().expect("events have positions");
            let full = batch.len() == FEED_PAGE_LIMIT;
            events.extend(batch);
            if !full {
                return events;
            }
        }
    }

    /// `POST /v1/admin/clock` as a platform admin.
    pub async fn set_clock(&self, now: &str) -> Reply {
        self.post("/v1/admin/clock")
            .bearer_auth(token("admin", "*"))
            .json(&json!({ "now": now }))
            .reply()
            .await
    }

    /// `PUT /v1/orgs/{org}/policy` as a platform admin; must be accepted.
    pub async fn set_policy(&self, org: &str, policy: &Value) -> Value {
        self.put(&format!("/v1/orgs/{org}/policy"))
            .bearer_auth(token("admin", "*"))
            .json(policy)
            .reply()
            .await
            .expect_status(200)
    }

    /// SIGTERM, then waits for the exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.pid();
        // SAFETY: `kill` has no memory effects; the pid is our own child,
        // not yet reaped, so it cannot name another process.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM to docketd {pid}");
        let mut child = self.child.take().expect("the server is running");
        let waited = wait_exit(&mut child, STOP_TIMEOUT).await;
        match waited {
            Some(status) => status,
            None => {
                child.kill().ok();
                child.wait().ok();
                panic!(
                    "docketd did not exit within {STOP_TIMEOUT:?} of SIGTERM; its log:\n{}",
                    self.log()
                );
            }
        }
    }

    /// SIGTERM, wait for the exit, and start again on the same folder with
    /// the same options. The exit status of the first run comes along.
    pub async fn restart(mut self) -> (ExitStatus, Server) {
        let status = self.terminate().await;
        (status, self.start_again().await)
    }

    /// SIGKILL (no shutdown at all), then start again on the same folder.
    pub async fn crash_and_restart(mut self) -> Server {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL docketd");
            child.wait().expect("reap docketd");
        }
        self.start_again().await
    }

    async fn start_again(mut self) -> Server {
        let owned = self.owned_data_dir.take();
        let options = self.options.clone();
        let data_dir = self.data_dir.clone();
        drop(self);
        Server::launch(options, data_dir, owned).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl ReplyExt for RequestBuilder {
    async fn reply(self) -> Reply {
        let response = self.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("read the answer's body");
        Reply {
            status,
            headers,
            body: body.to_vec(),
        }
    }
}

impl Reply {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("answer {} is not JSON ({e}): {}", self.status, self.text()))
    }

    /// The header's value, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status; the body as JSON.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text());
        self.json()
    }

    /// Asserts a problem+json answer with this status and `code`, and every
    /// member the contract names; the body.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.problem_code().as_deref()),
            (status, Some(code)),
            "unexpected answer: {}",
            self.text()
        );
        self.assert_problem_shape()
    }

    /// The `code` of an answer, if it is JSON with one.
    pub fn problem_code(&self) -> Option<String> {
        let value: Value = serde_json::from_slice(&self.body).ok()?;
        value["code"].as_str().map(str::to_owned)
    }

    /// Asserts the RFC 9457 shape the contract requires of every error.
    #[track_caller]
    pub fn assert_problem_shape(&self) -> Value {
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with(PROBLEM_JSON),
            "content type {content_type:?} of a {} answer: {}",
            self.status,
            self.text()
        );
        let body = self.json();
        for member in ["type", "title", "detail", "code"] {
            let text = body[member].as_str().unwrap_or("");
            assert!(!text.is_empty(), "problem without {member}: {body}");
        }
        assert_eq!(body["status"], json!(self.status), "problem status: {body}");
        body
    }
}

impl Tokens {
    /// Tokens of every role for `org` (support and admin platform-wide).
    pub fn for_org(org: &str) -> Tokens {
        Tokens {
            customer: token("customer", org),
            agent: token("agent", org),
            support: token("support", "*"),
            auditor: token("auditor", org),
            analyst: token("analyst", org),
            admin: token("admin", "*"),
            platform_auditor: token("auditor", "*"),
        }
    }

    /// `(role, token)` for every role.
    pub fn all(&self) -> [(&'static str, &str); 6] {
        [
            ("customer", &self.customer),
            ("agent", &self.agent),
            ("support", &self.support),
            ("auditor", &self.auditor),
            ("analyst", &self.analyst),
            ("admin", &self.admin),
        ]
    }
}

/// A token for `role` in `org` whose `sub` names both.
pub fn token(role: &str, org: &str) -> String {
    token_for(&format!("{role}@{org}"), org, role)
}

/// A valid token with the test secret.
pub fn token_for(sub: &str, org: &str, role: &str) -> String {
    let claims = json!({
        "sub": sub,
        "org": org,
        "role": role,
        "exp": unix_now() + TOKEN_TTL_SECONDS,
    });
    sign(TEST_SECRET, &claims)
}

/// Any claims, HS256 with `secret`.
pub fn sign(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of JSON claims cannot fail")
}

/// Seconds since the Unix epoch, by the system clock.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An org policy whose business time is wall time (every day, all day,
/// UTC) with a first-response target of `hours`.
pub fn around_the_clock_policy(first_response_hours: u32) -> Value {
    json!({
        "first_response_hours": first_response_hours,
        "calendar": {
            "timezone": "UTC",
            "working_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "hours": "00:00-24:00",
        },
    })
}

/// The smallest body an open accepts.
pub fn open_body() -> Value {
    json!({
        "subject": "Parcel never arrived",
        "description": "Ordered two weeks ago, tracking shows nothing.",
        "reason": { "category": "delivery" },
    })
}

/// An open body with an order of `amount_minor` in `currency`.
pub fn open_body_with_order(amount_minor: u64, currency: &str) -> Value {
    let mut body = open_body();
    body["order"] = json!({
        "number": "ORD-1001",
        "amount_minor": amount_minor,
        "currency": currency,
    });
    body
}

/// The `ticket_id` of a command's answer body.
pub fn id_of(answer: &Value) -> String {
    answer["ticket_id"]
        .as_str()
        .expect("an answer carries ticket_id")
        .to_owned()
}

/// Waits (polling) for a child to exit, at most `limit`.
pub async fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn build_docketd() -> PathBuf {
    workspace_binary("docket-api", "docketd")
}

/// The binary `bin` of the workspace package `package`, in the running
/// test's profile, built if needed: binaries of other packages are not
/// built by cargo for this package's tests.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // <target>/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let binary = profile_dir.join(bin);
    // `scripts/test.sh` builds every binary first and says so: a nested
    // `cargo build` would wait on the build lock the outer `cargo test` holds.
    if std::env::var_os("DOCKET_TEST_PREBUILT").is_some() {
        assert!(
            binary.exists(),
            "DOCKET_TEST_PREBUILT is set but {} is missing",
            binary.display()
        );
        return binary;
    }
    let Some(cargo) = std::env::var_os("CARGO") else {
        // Run outside cargo: use what is there.
        assert!(binary.exists(), "no CARGO to build {}", binary.display());
        return binary;
    };
    let mut command = Command::new(cargo);
    // Cargo runs tests with the package's variables set (CARGO_MANIFEST_DIR,
    // CARGO_PKG_*, ...). A nested build must not see them: build scripts
    // that track them (ring's does) would be fingerprinted differently and
    // rebuilt, with everything above them, on every alternate build.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if is_cargo_test_variable(&name) {
            command.env_remove(name);
        }
    }
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", package, "--bin", bin]);
    match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run cargo build for {bin}: {e}"));
    assert!(
        output.status.success(),
        "building {bin} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        binary.exists(),
        "cargo built {bin}, but not at {}",
        binary.display()
    );
    binary
}

/// The variables cargo sets for the test it runs, as opposed to those that
/// configure cargo itself (CARGO_HOME, CARGO_TARGET_DIR, CARGO_BUILD_*, ...).
fn is_cargo_test_variable(name: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
    ];
    const NAMES: [&str; 4] = [
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix)) || NAMES.contains(&name)
}

/// A port free at the time of asking (another process may take it before use).
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
}

fn spawn_server(options: &Options, data_dir: &Path, addr: SocketAddr, log_path: &Path) -> Child {
    let log = File::create(log_path).expect("create the server's log file");
    let log_err = log.try_clone().expect("share the log file");
    let mut command = docketd_command();
    match options.placement {
        Placement::Flags => {
            command
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(data_dir);
        }
        Placement::Environment => {
            command
                .env("DOCKET_LISTEN", addr.to_string())
                .env("DOCKET_DATA_DIR", data_dir);
        }
    }
    command
        .args(&options.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    if options.test_clock {
        command.arg("--test-clock");
    }
    if let Some(secret) = &options.jwt_secret {
        command.env("DOCKET_JWT_SECRET", secret);
    }
    command.envs(options.env.iter().map(|(name, value)| (name, value)));
    command.spawn().expect("start docketd")
}

/// `Ok` once `/healthz` answers 200; `Err` with the exit status if the
/// server exited first. Panics if it neither answers nor exits in time.
async fn wait_healthy(
    client: &reqwest::Client,
    base_url: &str,
    child: &mut Child,
    log_path: &Path,
) -> Result<(), ExitStatus> {
    let deadline = Instant::now() + START_TIMEOUT;
    let url = format!("{base_url}/healthz");
    loop {
        if let Some(status) = child.try_wait().expect("poll docketd") {
            return Err(status);
        }
        let answer = client
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            child.kill().ok();
            child.wait().ok();
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            panic!("docketd did not answer {url} within {START_TIMEOUT:?}; its log:\n{log}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
