//! A real browser for the console tests: Debian's headless `chromium`,
//! driven over WebDriver by its own `chromedriver` (installed by
//! `scripts/test.sh`) on a free loopback port, through `fantoccini`.
//!
//! Each [`Browser`] is one `chromedriver` with one session and a profile
//! folder of its own, so two of them share no cookies: a test that needs a
//! customer and an agent at once starts two.
//!
//! `chromedriver` runs in a process group of its own and the whole group is
//! SIGKILLed on drop: killing `chromedriver` alone leaves its `chromium`
//! processes running, orphaned.

use std::fs::File;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::harness::free_port;

/// The variable that names the browser's binary (else Debian's `/usr/bin/chromium`).
pub const CHROMIUM_VARIABLE: &str = "DOCKET_CHROMIUM";
/// The variable that names the driver's binary (else Debian's `/usr/bin/chromedriver`).
pub const CHROMEDRIVER_VARIABLE: &str = "DOCKET_CHROMEDRIVER";
/// Set (as `scripts/test.sh` does) to fail instead of skipping when the
/// browser or its driver is missing, so that CI never skips silently.
pub const REQUIRE_VARIABLE: &str = "DOCKET_REQUIRE_BROWSER";
/// The longest any `wait_for_*` of the console tests should need: the
/// console waits for its own writes before it redirects, so this only
/// covers a slow page load on two busy cores.
pub const WAIT: Duration = Duration::from_secs(10);

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long `chromedriver` may take to answer `/status`.
const DRIVER_START_LIMIT: Duration = Duration::from_secs(30);
/// Starts retried when the free port found was taken before the driver bound it.
const DRIVER_START_ATTEMPTS: usize = 5;
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The page source quoted in a failure, at most (characters).
const SOURCE_QUOTE_MAX: usize = 6_000;

/// The browser binary the tests use: [`CHROMIUM_VARIABLE`]'s, else Debian's.
pub fn chromium_path() -> PathBuf {
    binary_path(CHROMIUM_VARIABLE, DEFAULT_CHROMIUM)
}

/// The driver binary the tests use: [`CHROMEDRIVER_VARIABLE`]'s, else Debian's.
pub fn chromedriver_path() -> PathBuf {
    binary_path(CHROMEDRIVER_VARIABLE, DEFAULT_CHROMEDRIVER)
}

fn binary_path(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// `true` (after saying why on stderr) when `test` should be skipped: the
/// browser or its driver is missing and [`REQUIRE_VARIABLE`] is not set.
/// Panics when one is missing but the variable demands them.
pub fn skip_without_browser(test: &str) -> bool {
    let missing: Vec<String> = [chromium_path(), chromedriver_path()]
        .iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return false;
    }
    let required = std::env::var_os(REQUIRE_VARIABLE).is_some_and(|value| !value.is_empty());
    assert!(
        !required,
        "{REQUIRE_VARIABLE} is set but {} missing (scripts/test.sh installs Debian's \
         chromium and chromium-driver)",
        missing.join(" and ")
    );
    eprintln!(
        "SKIPPED {test}: {} missing; install Debian's chromium and chromium-driver \
         (scripts/test.sh does), or set {CHROMIUM_VARIABLE} / {CHROMEDRIVER_VARIABLE}",
        missing.join(" and ")
    );
    true
}

/// A cookie as the browser holds it (WebDriver's view, `HttpOnly` ones included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// `Path`, if the browser reports one.
    pub path: Option<String>,
    /// `HttpOnly`, if reported.
    pub http_only: Option<bool>,
    /// `Secure`, if reported.
    pub secure: Option<bool>,
    /// `SameSite` as `Strict`, `Lax` or `None`, if reported.
    pub same_site: Option<String>,
}

/// One `chromedriver` process group; SIGKILLed and reaped on drop.
struct Driver {
    child: Option<Child>,
    url: String,
    log_path: PathBuf,
}

impl Driver {
    async fn start(dir: &Path) -> Driver {
        let log_path = dir.join("chromedriver.log");
        let http = reqwest::Client::new();
        for attempt in 1..=DRIVER_START_ATTEMPTS {
            let port = free_port().port();
            let output = File::create(dir.join("chromedriver.out")).expect("a driver output file");
            let output_err = output.try_clone().expect("share the driver output file");
            let child = Command::new(chromedriver_path())
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log_path.display()))
                // Its own group, so that drop can kill the browsers it starts too.
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(output)
                .stderr(output_err)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver_path().display()));
            let mut driver = Driver {
                child: Some(child),
                url: format!("http://127.0.0.1:{port}"),
                log_path: log_path.clone(),
            };
            if driver.wait_ready(&http).await {
                return driver;
            }
            let output = std::fs::read_to_string(dir.join("chromedriver.out")).unwrap_or_default();
            // A driver that lost its port to another process exits at once
            // ("IPv4 port not available. Exiting..."): try another.
            assert!(
                output.contains("port not available") && attempt < DRIVER_START_ATTEMPTS,
                "chromedriver exited before it answered /status; it said:\n{output}\n{}",
                driver.log()
            );
        }
        unreachable!("the loop returns or panics on its last attempt")
    }

    /// `true` once `/status` says ready; `false` if the driver exited first.
    async fn wait_ready(&mut self, http: &reqwest::Client) -> bool {
        let deadline = Instant::now() + DRIVER_START_LIMIT;
        let status_url = format!("{}/status", self.url);
        loop {
            let child = self.child.as_mut().expect("the driver is running");
            if child.try_wait().expect("poll chromedriver").is_some() {
                self.child = None;
                return false;
            }
            let answer = http
                .get(&status_url)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(answer) = answer {
                let body: Value = answer.json().await.unwrap_or_default();
                if body["value"]["ready"] == json!(true) {
                    return true;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer {status_url} within {DRIVER_START_LIMIT:?}\n{}",
                self.log()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        format!("chromedriver log ({}):\n{log}", self.log_path.display())
    }

    /// The end of the driver's log, for failure messages.
    fn log_tail(&self) -> String {
        const TAIL_MAX: usize = 4_000;
        let log = self.log();
        let skip = log.chars().count().saturating_sub(TAIL_MAX);
        log.chars().skip(skip).collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: `kill` has no memory effects. The group's id is our
            // child's pid, which cannot be reused before we reap the child
            // below, so the signal reaches only the group we made.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        child.kill().ok();
        child.wait().ok();
    }
}

/// A headless Chromium session of its own: its own driver, profile folder
/// and so cookie jar. Every helper panics, with the page's URL and source,
/// when the page does not show what it should.
pub struct Browser {
    // Fields drop in this order: the client before the driver it talks to,
    // the profile folder after the browser that writes into it is dead.
    client: Client,
    driver: Driver,
    _profile: TempDir,
    _driver_dir: TempDir,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium session through it.
    pub async fn start() -> Browser {
        let driver_dir = tempfile::tempdir().expect("a folder for the driver's logs");
        let profile = tempfile::tempdir().expect("a profile folder for chromium");
        let driver = Driver::start(driver_dir.path()).await;
        let profile_arg = format!("--user-data-dir={}", profile.path().display());
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium_path(),
                "args": [
                    "--headless=new",
                    // Root (as in CI) cannot use Chromium's sandbox.
                    "--no-sandbox",
                    "--disable-gpu",
                    // Containers' /dev/shm is often too small for Chromium.
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1024",
                    // Number inputs parse "49.90" the same on every machine.
                    "--lang=en-US",
                    profile_arg,
                ],
            }),
        );
        // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = match builder.connect(&driver.url).await {
            Ok(client) => client,
            Err(e) => panic!("no WebDriver session with chromium: {e}\n{}", driver.log()),
        };
        Browser {
            client,
            driver,
            _profile: profile,
            _driver_dir: driver_dir,
        }
    }

    /// The fantoccini client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session (the driver closes Chromium), then stops the driver.
    pub async fn quit(self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("closing the WebDriver session failed: {e}");
        }
    }

    /// Runs axe-core (`DOCKET_AXE`, the `axe.min.js` scripts/test.sh
    /// installs) on the current page and fails on any serious or critical
    /// violation of WCAG 2 A/AA, naming the rule and the elements. Without
    /// `DOCKET_AXE` it fails under `DOCKET_REQUIRE_BROWSER` and is skipped
    /// otherwise, with a message.
    pub async fn check_accessibility(&self, page: &str) {
        let Some(path) = std::env::var_os("DOCKET_AXE") else {
            assert!(
                std::env::var_os(REQUIRE_VARIABLE).is_none(),
                "{REQUIRE_VARIABLE} is set but DOCKET_AXE is not (scripts/test.sh installs axe-core)"
            );
            eprintln!("skipping the accessibility check of {page}: DOCKET_AXE is not set");
            return;
        };
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("read axe-core at {path:?}: {error}"));
        // WebDriver's scripts run outside the page's Content-Security-Policy.
        self.must(
            "load axe-core into the page",
            self.client
                .execute(&format!("{source}\nreturn true;"), vec![]),
        )
        .await;
        let found = self
            .must(
                "run axe-core",
                self.client.execute_async(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                        .then(result => done(result.violations
                            .filter(v => v.impact === 'serious' || v.impact === 'critical')
                            .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                        .catch(error => done(['axe failed: ' + error]));",
                    vec![],
                ),
            )
            .await;
        let violations: Vec<String> = found
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("an unexpected answer from axe: {found}")]);
        assert!(
            violations.is_empty(),
            "{page}: serious or critical accessibility violations:\n{}",
            violations.join("\n")
        );
    }

    /// With `DOCKET_SCREENSHOTS=<folder>` set, saves the page as
    /// `<folder>/<name>.png` (docs/console.md shows them); otherwise nothing.
    pub async fn screenshot(&self, name: &str) {
        let Some(folder) = std::env::var_os("DOCKET_SCREENSHOTS") else {
            return;
        };
        let png = self
            .must(
                &format!("take the screenshot {name}"),
                self.client.screenshot(),
            )
            .await;
        let path = std::path::Path::new(&folder).join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.must(&format!("go to {url}"), self.client.goto(url))
            .await;
    }

    /// Reloads the current page.
    pub async fn refresh(&self) {
        self.must("reload the page", self.client.refresh()).await;
    }

    /// The current page's URL.
    pub async fn url(&self) -> String {
        self.must("read the current URL", self.client.current_url())
            .await
            .to_string()
    }

    /// The current page's URL path (`/console/inbox/open`).
    pub async fn path(&self) -> String {
        self.must("read the current URL", self.client.current_url())
            .await
            .path()
            .to_owned()
    }

    /// The current page's source.
    pub async fn source(&self) -> String {
        self.must("read the page source", self.client.source())
            .await
    }

    /// The first element matching `css`, waiting up to [`WAIT`] for it.
    pub async fn find(&self, css: &str) -> Element {
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL_INTERVAL)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("no element {css} ({e})\n{}", self.context().await),
        }
    }

    /// Every element matching `css` now, without waiting.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.must(
            &format!("look for {css}"),
            self.client.find_all(Locator::Css(css)),
        )
        .await
    }

    /// Whether an element matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Replaces the value of the field matching `css` with `text`, typed.
    pub async fn fill(&self, css: &str, text: &str) {
        self.on_fresh(css, &format!("type into {css}"), |field| async move {
            field.clear().await?;
            field.send_keys(text).await
        })
        .await;
    }

    /// Runs `act` on the element matching `css`, finding it again when the
    /// page was replaced under it (a console page reloads itself when what
    /// it shows changes) for up to three tries.
    async fn on_fresh<F, Fut>(&self, css: &str, what: &str, act: F)
    where
        F: Fn(Element) -> Fut,
        Fut: Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        for attempt in 1..=3 {
            let element = self.find(css).await;
            match act(element).await {
                Ok(()) => return,
                Err(error) if attempt < 3 && error.to_string().contains("stale element") => {
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
                Err(error) => panic!("could not {what}: {error}\n{}", self.context().await),
            }
        }
    }

    /// Chooses the option of value `value` of the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.on_fresh(
            css,
            &format!("choose {value:?} in {css}"),
            |select| async move { select.select_by_value(value).await },
        )
        .await;
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.on_fresh(css, &format!("click {css}"), |element| async move {
            element.click().await
        })
        .await;
    }

    /// Clicks the element matching `css` and waits until another document
    /// has replaced the current one (a link followed, a form answered).
    /// It waits for the old document to go stale, not for the URL to
    /// change, because a form may answer with a redirect to the same URL.
    pub async fn click_and_wait(&self, css: &str) {
        let old = self.find("html").await;
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        // An element of a replaced document can no longer be read.
        while old.tag_name().await.is_ok() {
            if Instant::now() >= deadline {
                panic!(
                    "clicking {css} loaded no new page within {WAIT:?}\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Submits the form matching `form_css` with its submit button and
    /// waits for the answer's page.
    pub async fn submit(&self, form_css: &str) {
        self.click_and_wait(&format!("{form_css} button[type=submit]"))
            .await;
    }

    /// [`submit`](Browser::submit), then fails if the answer's page shows
    /// an error (`p.error`): the action was refused.
    pub async fn submit_ok(&self, form_css: &str) {
        self.submit(form_css).await;
        let errors = self.texts("p.error").await;
        if !errors.is_empty() {
            panic!(
                "{form_css} was refused: {errors:?}\n{}",
                self.context().await
            );
        }
    }

    /// The visible text of the first element matching `css` (waiting for
    /// it), trimmed.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.must(&format!("read the text of {css}"), element.text())
            .await
            .trim()
            .to_owned()
    }

    /// The visible texts, trimmed, of every element matching `css` now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            // An element whose page was replaced meanwhile has no text to report.
            if let Ok(text) = element.text().await {
                texts.push(text.trim().to_owned());
            }
        }
        texts
    }

    /// The attribute `name` of the first element matching `css` (waiting for it).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        self.must(&format!("read {name} of {css}"), element.attr(name))
            .await
    }

    /// The current value (`value` property) of the field matching `css`.
    pub async fn value(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.must(&format!("read the value of {css}"), element.prop("value"))
            .await
            .unwrap_or_default()
    }

    /// Waits (polling, at most `limit`) until an element matching `css`
    /// shows a text containing `expected`; that element's whole text.
    pub async fn wait_for_text(&self, css: &str, expected: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let texts = self.texts(css).await;
            if let Some(found) = texts.iter().find(|text| text.contains(expected)) {
                return found.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "no {css} showed {expected:?} within {limit:?}; they showed {texts:?}\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Reloads the page (for at most `limit`) until an element matching
    /// `css` shows a text containing `expected`; that element's whole
    /// text. For another session's writes, which reach the read side (and
    /// so a server-rendered page) a little later.
    pub async fn wait_for_text_reloading(
        &self,
        css: &str,
        expected: &str,
        limit: Duration,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let texts = self.texts(css).await;
            if let Some(found) = texts.iter().find(|text| text.contains(expected)) {
                return found.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "no {css} showed {expected:?} within {limit:?} of reloading; \
                     they showed {texts:?}\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            self.refresh().await;
        }
    }

    /// Waits (polling, at most `limit`) until the first element matching
    /// `css` has the attribute `name` equal to `expected`.
    pub async fn wait_for_attr(&self, css: &str, name: &str, expected: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let mut seen = None;
            if let Some(element) = self.find_all(css).await.first() {
                seen = element.attr(name).await.ok().flatten();
                if seen.as_deref() == Some(expected) {
                    return;
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "{css} did not get {name}={expected:?} within {limit:?}; \
                     last seen {seen:?}\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Reloads the page (for at most `limit`) until an element matches
    /// `css`: for pages that show another session's writes, which reach
    /// the read side a little later.
    pub async fn wait_for_element_reloading(&self, css: &str, limit: Duration) -> Element {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(element) = self.find_all(css).await.into_iter().next() {
                return element;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no {css} within {limit:?} of reloading\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            self.refresh().await;
        }
    }

    /// Waits (polling, at most `limit`) until the current URL's path
    /// satisfies `accept`; that path. `what` names the expectation in the
    /// failure message.
    pub async fn wait_for_path(
        &self,
        what: &str,
        accept: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let path = self.path().await;
            if accept(&path) {
                return path;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the URL never became {what} within {limit:?}\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Every cookie the browser would send to the current page.
    pub async fn cookies(&self) -> Vec<BrowserCookie> {
        let cookies = self
            .must("read the cookies", self.client.get_all_cookies())
            .await;
        cookies
            .iter()
            .map(|cookie| BrowserCookie {
                name: cookie.name().to_owned(),
                value: cookie.value().to_owned(),
                path: cookie.path().map(str::to_owned),
                http_only: cookie.http_only(),
                secure: cookie.secure(),
                same_site: cookie.same_site().map(|same_site| same_site.to_string()),
            })
            .collect()
    }

    /// The cookie `name` the browser would send to the current page, if any.
    pub async fn cookie(&self, name: &str) -> Option<BrowserCookie> {
        self.cookies()
            .await
            .into_iter()
            .find(|cookie| cookie.name == name)
    }

    /// Awaits a WebDriver command; fails with the page's context if it errs.
    async fn must<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        match command.await {
            Ok(value) => value,
            Err(e) => panic!("could not {what}: {e}\n{}", self.context().await),
        }
    }

    /// The page's URL, (the start of) its source and the end of the
    /// driver's log: what a failure message needs to be understood.
    async fn context(&self) -> String {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(unknown: {e})"),
        };
        let source = match self.client.source().await {
            Ok(source) => source.chars().take(SOURCE_QUOTE_MAX).collect(),
            Err(e) => format!("(unreadable: {e})"),
        };
        format!(
            "at {url}\npage source (first {SOURCE_QUOTE_MAX} characters):\n{source}\n{}",
            self.driver.log_tail()
        )
    }
}
