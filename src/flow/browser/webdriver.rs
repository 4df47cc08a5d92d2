//! A minimal W3C WebDriver client: the browser login mode and the browser tests use it.
//!
//! It starts `chromedriver` as a child process, opens one headless Chromium session through
//! plain WebDriver HTTP calls (reqwest), and tears both down on `quit()` or on drop.
//! chromedriver listens on 127.0.0.1 only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// The Chromium flags every session gets (besides a fresh `--user-data-dir`): headless, and
/// no background traffic, since the machine has no outside network.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--window-size=1280,1000",
];

/// How long `find` waits for an element to appear (the W3C implicit wait).
const IMPLICIT_WAIT_MS: u64 = 10_000;
/// How long a navigation may take before WebDriver reports an error.
const PAGE_LOAD_MS: u64 = 30_000;
/// How long a script may wait in the scanner's sessions (see `network_log`).
const SCANNER_SCRIPT_MS: u64 = 1_500;
/// Upper bound on one WebDriver HTTP call.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound on chromedriver printing its port after it starts.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// The readiness poll of `GET /status`: this many tries, this far apart.
const STATUS_TRIES: u32 = 200;
const STATUS_INTERVAL: Duration = Duration::from_millis(50);

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_program(preferred: &str, name: &str) -> Option<PathBuf> {
    let preferred = Path::new(preferred);
    if is_executable(preferred) {
        return Some(preferred.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// `/usr/bin/chromium`, or `chromium` on PATH.
pub fn chromium_path() -> Option<PathBuf> {
    find_program("/usr/bin/chromium", "chromium")
}

/// `/usr/bin/chromedriver`, or `chromedriver` on PATH.
pub fn chromedriver_path() -> Option<PathBuf> {
    find_program("/usr/bin/chromedriver", "chromedriver")
}

/// Whether both Chromium and chromedriver are installed; the error says which is missing.
pub fn browser_available() -> Result<(), String> {
    let mut missing = Vec::new();
    if chromium_path().is_none() {
        missing.push("chromium (neither /usr/bin/chromium nor on PATH)");
    }
    if chromedriver_path().is_none() {
        missing.push("chromedriver (neither /usr/bin/chromedriver nor on PATH)");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} not found", missing.join(" and ")))
    }
}

/// The part of a session that elements share: the HTTP client and the session's URL.
#[derive(Clone)]
struct Wire {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID/`
    session: Url,
}

impl Wire {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = self
            .session
            .join(path)
            .with_context(|| format!("bad WebDriver path {path:?}"))?;
        webdriver_call(&self.http, method, url, body).await
    }
}

/// One WebDriver command: sends it, and returns the response's `value` or its W3C error.
async fn webdriver_call(
    http: &reqwest::Client,
    method: Method,
    url: Url,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let what = format!("WebDriver {method} {}", url.path());
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.with_context(|| what.clone())?;
    let status = response.status();
    let text = response.text().await.with_context(|| what.clone())?;
    let mut parsed: Value = serde_json::from_str(&text)
        .with_context(|| format!("{what}: HTTP {status}, not JSON: {text:.500}"))?;
    let value = parsed
        .get_mut("value")
        .map(Value::take)
        .unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        bail!("{what}: {error}: {message}");
    }
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {text:.500}");
    }
    Ok(value)
}

/// A running chromedriver with one headless Chromium session.
pub struct Browser {
    wire: Wire,
    /// `http://127.0.0.1:PORT/`
    driver_url: Url,
    session_id: Option<String>,
    driver: Option<Child>,
    driver_log: Arc<Mutex<String>>,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None, None, &[], false).await
    }

    /// Like [`Browser::start`], with chosen binaries and extra Chromium flags. With
    /// `network_log`, DevTools network events are kept for [`Browser::network_events`] and
    /// navigation commands do not wait for the page to load.
    pub async fn start_with(
        chromium: Option<&Path>,
        chromedriver: Option<&Path>,
        extra_args: &[String],
        network_log: bool,
    ) -> anyhow::Result<Self> {
        let chromium = match chromium {
            Some(p) => p.to_path_buf(),
            None => chromium_path().ok_or_else(|| {
                anyhow!("chromium not found (neither /usr/bin/chromium nor on PATH)")
            })?,
        };
        let chromedriver = match chromedriver {
            Some(p) => p.to_path_buf(),
            None => chromedriver_path().ok_or_else(|| {
                anyhow!("chromedriver not found (neither /usr/bin/chromedriver nor on PATH)")
            })?,
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()?;
        let (driver, port, driver_log) = start_driver(&chromedriver).await?;
        let driver_url = Url::parse(&format!("http://127.0.0.1:{port}/"))?;
        // Built before the first await that can fail, so the driver is killed on any error.
        let mut browser = Browser {
            wire: Wire {
                http,
                session: driver_url.clone(),
            },
            driver_url,
            session_id: None,
            driver: Some(driver),
            driver_log,
            profile: tempfile::tempdir().context("creating the Chromium profile dir")?,
        };
        browser.wait_ready().await?;
        browser
            .open_session(&chromium, extra_args, network_log)
            .await?;
        Ok(browser)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let status = self.driver_url.join("status")?;
        let mut last = String::from("no answer");
        for _ in 0..STATUS_TRIES {
            if let Some(exit) = self
                .driver
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "chromedriver exited with {exit} before it was ready; its output:\n{}",
                    self.driver_log()
                );
            }
            match webdriver_call(&self.wire.http, Method::GET, status.clone(), None).await {
                Ok(value) if value.get("ready").and_then(Value::as_bool) == Some(true) => {
                    return Ok(());
                }
                Ok(value) => last = value.to_string(),
                Err(e) => last = format!("{e:#}"),
            }
            tokio::time::sleep(STATUS_INTERVAL).await;
        }
        bail!(
            "chromedriver at {} never said ready ({STATUS_TRIES} tries): {last}; its output:\n{}",
            self.driver_url,
            self.driver_log()
        )
    }

    async fn open_session(
        &mut self,
        chromium: &Path,
        extra_args: &[String],
        network_log: bool,
    ) -> anyhow::Result<()> {
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.extend(extra_args.iter().cloned());
        args.push(format!("--user-data-dir={}", self.profile.path().display()));
        let mut capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": IMPLICIT_WAIT_MS, "pageLoad": PAGE_LOAD_MS, "script": PAGE_LOAD_MS },
                    "goog:chromeOptions": { "binary": chromium, "args": args },
                }
            }
        });
        if network_log {
            let always = &mut capabilities["capabilities"]["alwaysMatch"];
            // Navigation commands return at once; the caller watches the page and the network.
            always["pageLoadStrategy"] = json!("none");
            // A script waits while a navigation is under way; the caller polls again instead.
            always["timeouts"]["script"] = json!(SCANNER_SCRIPT_MS);
            always["goog:loggingPrefs"] = json!({ "performance": "ALL" });
            always["goog:chromeOptions"]["perfLoggingPrefs"] =
                json!({ "enableNetwork": true, "enablePage": false });
        }
        let url = self.driver_url.join("session")?;
        let value = webdriver_call(&self.wire.http, Method::POST, url, Some(capabilities))
            .await
            .with_context(|| {
                format!(
                    "starting Chromium; chromedriver said:\n{}",
                    self.driver_log()
                )
            })?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("new session response has no sessionId: {value}"))?
            .to_string();
        self.wire.session = self.driver_url.join(&format!("session/{id}/"))?;
        self.session_id = Some(id);
        Ok(())
    }

    /// What chromedriver printed so far (for error messages).
    pub fn driver_log(&self) -> String {
        self.driver_log
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.wire
            .call(Method::POST, "url", Some(json!({ "url": url })))
            .await?;
        Ok(())
    }

    /// The first element matching a CSS selector, waiting up to the implicit wait for it.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        let value = self
            .wire
            .call(
                Method::POST,
                "element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .with_context(|| format!("finding {css:?}"))?;
        Element::from_value(&self.wire, css, &value)
    }

    /// Every element matching a CSS selector (empty when none shows up within the implicit wait).
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        let value = self
            .wire
            .call(
                Method::POST,
                "elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .with_context(|| format!("finding all {css:?}"))?;
        let items = value
            .as_array()
            .ok_or_else(|| anyhow!("find_all {css:?}: not a list: {value}"))?;
        items
            .iter()
            .map(|v| Element::from_value(&self.wire, css, v))
            .collect()
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        string_value(self.wire.call(Method::GET, "url", None).await?, "url")
    }

    pub async fn title(&self) -> anyhow::Result<String> {
        string_value(self.wire.call(Method::GET, "title", None).await?, "title")
    }

    pub async fn page_source(&self) -> anyhow::Result<String> {
        string_value(self.wire.call(Method::GET, "source", None).await?, "source")
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.wire
            .call(
                Method::POST,
                "execute/sync",
                Some(json!({ "script": script, "args": args })),
            )
            .await
    }

    /// The element a script returned (`return document.querySelector(...)`), if any.
    pub async fn element_from_script(
        &self,
        script: &str,
        args: Vec<Value>,
    ) -> anyhow::Result<Option<Element>> {
        let value = self.execute(script, args).await?;
        if value.is_null() {
            return Ok(None);
        }
        Element::from_value(&self.wire, "(script)", &value).map(Some)
    }

    /// The DevTools events logged since the last call (needs `network_log` at start):
    /// each as `{"method": ..., "params": ...}`.
    pub async fn network_events(&self) -> anyhow::Result<Vec<Value>> {
        let entries = self
            .wire
            .call(
                Method::POST,
                "se/log",
                Some(json!({ "type": "performance" })),
            )
            .await?;
        Ok(entries
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e.get("message")?.as_str())
                    .filter_map(|m| serde_json::from_str::<Value>(m).ok())
                    .filter_map(|mut v| v.get_mut("message").map(Value::take))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// One Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`.
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.wire
            .call(
                Method::POST,
                "goog/cdp/execute",
                Some(json!({ "cmd": cmd, "params": params })),
            )
            .await
    }

    /// A PNG of the viewport.
    pub async fn screenshot_png(&self) -> anyhow::Result<Vec<u8>> {
        let encoded = string_value(
            self.wire.call(Method::GET, "screenshot", None).await?,
            "screenshot",
        )?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .context("screenshot is not base64")
    }

    /// Ends the session (closing Chromium) and stops chromedriver.
    pub async fn quit(mut self) -> anyhow::Result<()> {
        let result = match self.session_id.take() {
            Some(id) => match self.driver_url.join(&format!("session/{id}")) {
                Ok(url) => webdriver_call(&self.wire.http, Method::DELETE, url, None)
                    .await
                    .map(drop)
                    .context("deleting the WebDriver session"),
                Err(e) => Err(e.into()),
            },
            None => Ok(()),
        };
        self.stop_driver();
        result
    }

    fn stop_driver(&mut self) {
        if let Some(mut child) = self.driver.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Browser {
    /// Best effort: a blocking `DELETE /session/ID` (Drop cannot await), then kill chromedriver.
    fn drop(&mut self) {
        if let Some(id) = self.session_id.take()
            && let Some(port) = self.driver_url.port()
        {
            let _ = delete_session_blocking(port, &id);
        }
        self.stop_driver();
    }
}

/// `DELETE /session/ID` over a plain socket, bounded by timeouts; used only from Drop.
fn delete_session_blocking(port: u16, id: &str) -> std::io::Result<()> {
    let timeout = Some(Duration::from_secs(10));
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    write!(
        stream,
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // chromedriver answers once Chromium is closed; the status line is all we wait for (it
    // may keep the connection open, so reading to EOF would wait for the timeout).
    let mut reply = Vec::new();
    let mut chunk = [0u8; 1024];
    while !reply.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

/// Starts chromedriver and learns its port.
///
/// With `--port=0` current chromedriver binds a free port and prints
/// `ChromeDriver was started successfully on port N.`; if this one does not print a port,
/// it is restarted on a port picked by binding 127.0.0.1:0 and releasing it.
async fn start_driver(chromedriver: &Path) -> anyhow::Result<(Child, u16, Arc<Mutex<String>>)> {
    let log = Arc::new(Mutex::new(String::new()));
    let (mut child, printed) = spawn_driver(chromedriver, 0, &log).await?;
    if let Some(port) = printed.filter(|&p| p != 0) {
        return Ok((child, port, log));
    }
    let _ = child.kill();
    let _ = child.wait();
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let (child, _) = spawn_driver(chromedriver, port, &log).await?;
    Ok((child, port, log))
}

/// Spawns `chromedriver --port=PORT` and waits for its "started successfully" line; returns
/// the port that line names, if it names one.
async fn spawn_driver(
    chromedriver: &Path,
    port: u16,
    log: &Arc<Mutex<String>>,
) -> anyhow::Result<(Child, Option<u16>)> {
    let mut child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", chromedriver.display()))?;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    drain_stdout(child.stdout.take(), Arc::clone(log), started_tx);
    drain_stderr(child.stderr.take(), Arc::clone(log));
    let started = tokio::time::timeout(DRIVER_START_TIMEOUT, started_rx).await;
    let log_text = || log.lock().map(|s| s.clone()).unwrap_or_default();
    match started {
        Ok(Ok(port)) => Ok((child, port)),
        Ok(Err(_)) => {
            let _ = child.kill();
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            bail!(
                "chromedriver exited ({status}) without starting; its output:\n{}",
                log_text()
            )
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "chromedriver did not start within {DRIVER_START_TIMEOUT:?}; its output:\n{}",
                log_text()
            )
        }
    }
}

/// Reads chromedriver's stdout on a thread until it closes, keeping it in `log`; reports the
/// "started successfully [on port N]" line through `started`.
fn drain_stdout(
    stdout: Option<ChildStdout>,
    log: Arc<Mutex<String>>,
    started: tokio::sync::oneshot::Sender<Option<u16>>,
) {
    let Some(stdout) = stdout else { return };
    std::thread::spawn(move || {
        let mut started = Some(started);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
            if line.contains("started successfully")
                && let Some(tx) = started.take()
            {
                let _ = tx.send(port_in(&line));
            }
        }
    });
}

fn drain_stderr(stderr: Option<ChildStderr>, log: Arc<Mutex<String>>) {
    let Some(stderr) = stderr else { return };
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
}

/// The N of "... on port N." in a chromedriver line.
fn port_in(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("on port ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn string_value(value: Value, what: &str) -> anyhow::Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => bail!("WebDriver {what}: expected a string, got {other}"),
    }
}

/// An element found in the page.
#[derive(Clone)]
pub struct Element {
    wire: Wire,
    id: String,
    css: String,
}

impl Element {
    fn from_value(wire: &Wire, css: &str, value: &Value) -> anyhow::Result<Self> {
        let id = value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("finding {css:?}: no element reference in {value}"))?;
        Ok(Element {
            wire: wire.clone(),
            id: id.to_string(),
            css: css.to_string(),
        })
    }

    async fn call(&self, method: Method, what: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let path = format!("element/{}/{what}", self.id);
        self.wire
            .call(method, &path, body)
            .await
            .with_context(|| format!("element {:?}", self.css))
    }

    /// The element's rendered text.
    pub async fn text(&self) -> anyhow::Result<String> {
        string_value(self.call(Method::GET, "text", None).await?, "text")
    }

    /// Clicks the element; when the click navigates, waits for the new page to load.
    pub async fn click(&self) -> anyhow::Result<()> {
        self.call(Method::POST, "click", Some(json!({}))).await?;
        Ok(())
    }

    /// Types `text` into the element.
    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.call(Method::POST, "value", Some(json!({ "text": text })))
            .await?;
        Ok(())
    }

    /// Empties an input or textarea.
    pub async fn clear(&self) -> anyhow::Result<()> {
        self.call(Method::POST, "clear", Some(json!({}))).await?;
        Ok(())
    }

    /// An attribute's value, `None` when the element lacks it.
    pub async fn attribute(&self, name: &str) -> anyhow::Result<Option<String>> {
        match self
            .call(Method::GET, &format!("attribute/{name}"), None)
            .await?
        {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Ok(Some(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::port_in;

    #[test]
    fn reads_the_port_chromedriver_prints() {
        assert_eq!(
            port_in("ChromeDriver was started successfully on port 43567."),
            Some(43567)
        );
        assert_eq!(port_in("ChromeDriver was started successfully."), None);
    }
}
