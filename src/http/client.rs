//! The one HTTP chokepoint. Every request the scanner makes goes through [`HttpSession::send`],
//! which enforces the rules for talking to an untrusted server:
//!
//! * only allowed origins (scheme, host, port) are contacted; anything else is refused unsent;
//! * redirects are never followed (the caller gets the 3xx and decides);
//! * each request, body read included, is bounded by [`Limits::timeout`];
//! * response bodies are read in chunks and abandoned past [`Limits::max_body_bytes`];
//! * TLS certificates are verified (against the built-in roots and any `--ca-cert` file) unless
//!   the user asked for `insecure`; a refused certificate is said in plain words;
//! * every exchange is recorded, redacted, in the session's transcript; error messages are
//!   redacted too.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;
use url::{Origin, Url};

use crate::http::redact::{REDACTED, Redactor, form_encode, is_sensitive_param, redact_by_name};
use crate::http::transcript::{Exchange, RecordedRequest, RecordedResponse, Retry};
use crate::secret::Secret;

pub use reqwest::Method;

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("oauthprobe/", env!("CARGO_PKG_VERSION"));

/// Recorded bodies (request and response) are cut to this many characters.
pub const EXCERPT_CHARS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bound on one whole request: connect, send, headers and body read.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// How the scanner spares a server: a request rate per origin, and retries of the answers that
/// say the server did not process a request (429 Too Many Requests, 503 Service Unavailable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Politeness {
    /// At most this many requests a second to one origin (scheme, host, port), across every
    /// session of the client (`--rps`); `None`: no limit.
    pub rps: Option<NonZeroU32>,
    /// How many times a request answered 429 or 503 is sent again (`--retries`); 0: never.
    pub retries: u32,
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            rps: None,
            retries: DEFAULT_RETRIES,
        }
    }
}

pub const DEFAULT_RETRIES: u32 = 3;
/// The longest wait before a retry (and never longer than the per-request timeout). A server
/// asking for more (Retry-After) gets its answer judged as it is, not an early retry.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The wait before the first retry when the server gives no usable Retry-After; doubled for
/// each retry after it (0.5 s, 1 s, 2 s).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Once this many requests to one endpoint were answered 429 or 503 through every retry, later
/// ones there are not retried: a server that is down costs seconds, not a scan's deadline.
pub const STOP_RETRYING_AFTER: usize = 3;

/// 429 Too Many Requests (RFC 6585 §4) and 503 Service Unavailable (RFC 9110 §15.6.4).
fn is_retryable(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// When to send a request again.
#[derive(Debug, PartialEq)]
struct RetryPlan {
    wait: Duration,
    /// For the evidence: `Retry-After: 2 s`, or `backoff`.
    wait_from: String,
    /// The wait is the server's (Retry-After), so it holds for the whole origin.
    from_server: bool,
}

/// The wait before retry `number` (1 for the first): the answer's Retry-After, in seconds or
/// as an HTTP-date (RFC 9110 §10.2.3), else exponential backoff from [`FIRST_BACKOFF`], at
/// most `cap`. `Err` when the server asks for longer than `cap`. `now` reads an HTTP-date.
fn retry_wait(
    retry_after: Option<&str>,
    number: u32,
    cap: Duration,
    now: std::time::SystemTime,
) -> Result<RetryPlan, String> {
    let asked = retry_after.map(str::trim).and_then(|v| {
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            Some(match v.parse::<u64>() {
                Ok(secs) => (Duration::from_secs(secs), format!("Retry-After: {secs} s")),
                Err(_) => (
                    Duration::MAX,
                    "Retry-After: a number too large to read".into(),
                ),
            })
        } else {
            let at = httpdate::parse_http_date(v).ok()?;
            let wait = at.duration_since(now).unwrap_or_default();
            Some((
                wait,
                format!("Retry-After: an HTTP-date, {} from now", fmt_secs(wait)),
            ))
        }
    });
    match asked {
        Some((wait, wait_from)) if wait > cap => Err(format!(
            "not retried: the server asked for a wait ({wait_from}) longer than the {} the scanner waits before a retry (at most {} s, and no longer than --timeout)",
            fmt_secs(cap),
            MAX_RETRY_WAIT.as_secs()
        )),
        Some((wait, wait_from)) => Ok(RetryPlan {
            wait,
            wait_from,
            from_server: true,
        }),
        None => Ok(RetryPlan {
            wait: FIRST_BACKOFF
                .saturating_mul(1 << number.saturating_sub(1).min(16))
                .min(cap),
            wait_from: "backoff".into(),
            from_server: false,
        }),
    }
}

/// `2 s`, `0.5 s`.
fn fmt_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Paces requests per origin: at most one every `1/rps` across every session of a client, and
/// none before the instant a server's Retry-After asked for.
#[derive(Debug, Default)]
struct Pacer {
    interval: Option<Duration>,
    /// Per origin: the earliest instant the next request may go.
    next: Mutex<std::collections::HashMap<String, tokio::time::Instant>>,
}

impl Pacer {
    fn new(rps: Option<NonZeroU32>) -> Self {
        Pacer {
            interval: rps.map(|n| Duration::from_secs(1) / n.get()),
            next: Mutex::default(),
        }
    }

    /// The instant a request to `origin` asked for at `now` may go; the slot is taken.
    fn reserve(&self, origin: &str, now: tokio::time::Instant) -> tokio::time::Instant {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let at = next.get(origin).map_or(now, |&free| free.max(now));
        if let Some(interval) = self.interval {
            next.insert(origin.to_string(), at + interval);
        }
        at
    }

    /// No request to `origin` goes before `until`.
    fn hold(&self, origin: &str, until: tokio::time::Instant) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let free = next.entry(origin.to_string()).or_insert(until);
        *free = (*free).max(until);
    }

    /// Waits for this request's turn at `origin`.
    async fn wait_turn(&self, origin: &str) {
        let now = tokio::time::Instant::now();
        let at = self.reserve(origin, now);
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }
}

/// Why a request produced no response. `method` and `url` are already redacted.
#[derive(thiserror::Error, Debug)]
pub enum HttpError {
    #[error("{method} {url}: refused, origin not in scope (nothing sent)")]
    OffOrigin { method: String, url: String },
    #[error("{method} {url}: timed out after {}", fmt_duration(.after))]
    Timeout {
        method: String,
        url: String,
        after: Duration,
    },
    #[error("{method} {url}: response body larger than the limit of {limit} bytes")]
    BodyTooLarge {
        method: String,
        url: String,
        limit: usize,
    },
    #[error("{method} {url}: connection failed: {reason}")]
    Connect {
        method: String,
        url: String,
        reason: String,
    },
    /// The server's certificate was refused: `problem` says why in plain words, and what to do.
    #[error("{method} {url}: {problem}")]
    Tls {
        method: String,
        url: String,
        problem: String,
    },
    #[error("{method} {url}: {reason}")]
    Other {
        method: String,
        url: String,
        reason: String,
    },
    #[error(
        "{method} {url}: not sent: {timeouts} requests to this endpoint already timed out after {} each, so the scan stops waiting on it (raise --timeout if it is only slow)",
        fmt_duration(.after)
    )]
    GaveUp {
        method: String,
        url: String,
        timeouts: usize,
        after: Duration,
    },
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

impl HttpError {
    /// The (redacted) URL concerned, if any.
    pub fn url(&self) -> Option<&str> {
        match self {
            HttpError::OffOrigin { url, .. }
            | HttpError::Timeout { url, .. }
            | HttpError::BodyTooLarge { url, .. }
            | HttpError::Connect { url, .. }
            | HttpError::Tls { url, .. }
            | HttpError::Other { url, .. }
            | HttpError::GaveUp { url, .. } => Some(url),
            HttpError::Build(_) => None,
        }
    }
}

/// `10s`, `200ms`, otherwise Debug form (`1.5s`).
fn fmt_duration(d: &Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_nanos() % 1_000_000 == 0 && d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{d:?}")
    }
}

/// A request body.
#[derive(Clone)]
pub enum Body {
    /// `application/x-www-form-urlencoded`; order and duplicates are kept.
    Form(Vec<(String, String)>),
    /// `application/json`.
    Json(serde_json::Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

impl Body {
    fn content_type(&self) -> &str {
        match self {
            Body::Form(_) => "application/x-www-form-urlencoded",
            Body::Json(_) => "application/json",
            Body::Raw { content_type, .. } => content_type,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Form(pairs) => url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
                .into_bytes(),
            Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            Body::Raw { bytes, .. } => bytes.clone(),
        }
    }
}

/// Shows shape only: bodies carry secrets.
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Form(pairs) => {
                let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
                f.debug_tuple("Form").field(&names).finish()
            }
            Body::Json(_) => f.write_str("Json(..)"),
            Body::Raw {
                content_type,
                bytes,
            } => write!(f, "Raw({content_type}, {} bytes)", bytes.len()),
        }
    }
}

/// One request to send with [`HttpSession::send`].
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    /// Sent as given, in order (duplicates allowed).
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    /// A request of the client's back channel (token endpoint, userinfo, revocation): sent
    /// without the browser's cookies, as a real client's server would send it.
    pub back_channel: bool,
    /// The one plain-http request a TLS check makes to the twin of an allowed https origin.
    plaintext_probe: bool,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            back_channel: false,
            plaintext_probe: false,
        }
    }

    pub fn get(url: Url) -> Self {
        Request::new(Method::GET, url)
    }

    /// POST with an `application/x-www-form-urlencoded` body (order and duplicates kept).
    pub fn post_form<K, V>(url: Url, pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let pairs = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Request::new(Method::POST, url).body(Body::Form(pairs))
    }

    /// POST with a JSON body.
    pub fn post_json(url: Url, value: serde_json::Value) -> Self {
        Request::new(Method::POST, url).body(Body::Json(value))
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    /// Adds a header (does not replace one of the same name).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` as RFC 6749 §2.3.1
    /// requires (form-urlencoding, so a space becomes `+`). Replaces any `Authorization` header.
    pub fn basic_auth(self, user: &str, password: &Secret) -> Self {
        let pair = format!("{}:{}", form_encode(user), form_encode(password.expose()));
        self.authorization(format!("Basic {}", STANDARD.encode(pair)))
    }

    /// `Authorization: Bearer <token>`. Replaces any `Authorization` header. A request with an
    /// access token is the client's back channel: no browser cookies go with it.
    pub fn bearer(self, token: &str) -> Self {
        self.authorization(format!("Bearer {token}")).back_channel()
    }

    /// Asks whether the server also answers without TLS: allowed only to the `http://` twin of
    /// an allowed `https://` origin, for this one request (the scope never widens to plain
    /// http, so no later redirect can downgrade a flow), with no cookies and no `Authorization`.
    pub fn plaintext_probe(mut self) -> Self {
        self.plaintext_probe = true;
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        self.back_channel()
    }

    /// Sent without the browser's cookies (see [`Request::back_channel`]).
    pub fn back_channel(mut self) -> Self {
        self.back_channel = true;
        self
    }

    fn authorization(mut self, value: String) -> Self {
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        self.header("authorization", value)
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Shows no header values and no secret parameter values.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &redact_by_name(self.url.as_str()))
            .field("headers", &names)
            .field("body", &self.body)
            .finish()
    }
}

/// A response, complete and unredacted (it is the caller's to judge; only recordings are redacted).
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL requested (redirects are never followed).
    pub final_url: Url,
}

impl Response {
    /// First value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `Location`, resolved against the request URL.
    pub fn location(&self) -> Option<Url> {
        self.final_url.join(self.header("location")?.trim()).ok()
    }

    /// A 3xx other than 304.
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status) && self.status != 304
    }
}

/// Shows no header values and no body: they may hold tokens.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .field("final_url", &redact_by_name(self.final_url.as_str()))
            .finish()
    }
}

/// How connections to the server are made: how its certificate is checked, and through which
/// proxy, if any.
#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    /// Accept any certificate: the user's `--insecure`, only for a test server they control.
    pub insecure: bool,
    /// Roots trusted besides the built-in ones (`--ca-cert`, `[tls] ca_cert`).
    pub ca_files: Vec<CaFile>,
    /// `--proxy`: none unless asked, whatever the environment says.
    pub proxy: Option<ProxySetting>,
}

/// Where requests go on their way to the server (`--proxy URL`, or `--proxy env` for
/// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`). The scope is unchanged: only the
/// target's origins are requested, the proxy merely carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxySetting {
    Url(Url),
    FromEnv,
}

impl ProxySetting {
    /// `env`, or an http(s) proxy URL; the error says what is wrong with it.
    pub fn parse(value: &str) -> Result<ProxySetting, String> {
        if value == "env" {
            return Ok(ProxySetting::FromEnv);
        }
        let url = Url::parse(value).map_err(|e| {
            format!("`{value}` is not a proxy URL ({e}); write it as http://HOST:PORT, or `env` for HTTPS_PROXY/HTTP_PROXY/NO_PROXY")
        })?;
        match url.scheme() {
            "http" | "https" if url.host_str().is_some() => Ok(ProxySetting::Url(url)),
            "http" | "https" => Err(format!("`{value}` names no proxy host")),
            other => Err(format!(
                "`{value}`: a `{other}` proxy is not supported; use an http:// or https:// proxy (Burp, ZAP and mitmproxy listen on http://)"
            )),
        }
    }

    /// As reports show it: the URL without its credentials, or `env` with what the environment
    /// named.
    pub fn shown(&self) -> String {
        match self {
            ProxySetting::Url(url) => without_credentials(url),
            ProxySetting::FromEnv => {
                let named: Vec<String> = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"]
                    .iter()
                    .filter_map(|name| {
                        let value = std::env::var(name)
                            .or_else(|_| std::env::var(name.to_lowercase()))
                            .ok()?;
                        let value = Url::parse(&value)
                            .map(|u| without_credentials(&u))
                            .unwrap_or(value);
                        Some(format!("{name}={value}"))
                    })
                    .collect();
                if named.is_empty() {
                    "env (no proxy variable is set)".to_string()
                } else {
                    format!("env ({})", named.join(", "))
                }
            }
        }
    }

    /// The user name and password in a proxy URL, for the redactor.
    pub fn secrets(&self) -> Vec<String> {
        let ProxySetting::Url(url) = self else {
            return Vec::new();
        };
        [url.username(), url.password().unwrap_or("")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.as_str().trim_end_matches('/').to_string()
}

impl TlsConfig {
    /// The files of the extra roots, as reports name them.
    pub fn ca_paths(&self) -> Vec<String> {
        self.ca_files
            .iter()
            .map(|f| f.path().display().to_string())
            .collect()
    }

    /// Verification with the built-in roots, or none at all when `insecure`.
    pub fn new(insecure: bool) -> Self {
        TlsConfig {
            insecure,
            ca_files: Vec::new(),
            proxy: None,
        }
    }
}

/// Largest CA file read: a bundle of every public root is about 250 KB.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Certificates to trust as roots, read from one file (PEM, one or more certificates; or one
/// DER certificate).
#[derive(Clone)]
pub struct CaFile {
    path: PathBuf,
    certs: Vec<reqwest::Certificate>,
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaFile")
            .field("path", &self.path)
            .field("certificates", &self.certs.len())
            .finish()
    }
}

impl CaFile {
    /// Reads and checks the file; the error names it and says what is wrong.
    pub fn load(path: &Path) -> Result<CaFile, String> {
        use std::io::Read as _;
        let shown = path.display();
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("{shown}: cannot read the CA certificate file: {e}"))?;
        if bytes.len() as u64 > MAX_CA_FILE_BYTES {
            return Err(format!(
                "{shown}: larger than {} MB; not a CA certificate file",
                MAX_CA_FILE_BYTES >> 20
            ));
        }
        Self::parse(path, &bytes)
    }

    /// The certificates in `bytes` (read from `path`, which errors name).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<CaFile, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::{Error as PemError, PemObject as _};
        let shown = path.display();
        let mut ders: Vec<CertificateDer<'static>> = Vec::new();
        for item in CertificateDer::pem_slice_iter(bytes) {
            match item {
                Ok(der) => ders.push(der),
                Err(e) => {
                    let why = match e {
                        PemError::MissingSectionEnd { .. } => {
                            "a PEM section has no END line".to_string()
                        }
                        PemError::IllegalSectionStart { .. } => {
                            "a PEM BEGIN line is malformed".to_string()
                        }
                        PemError::Base64Decode(e) => format!("a PEM section is not base64 ({e})"),
                        other => other.to_string(),
                    };
                    return Err(format!("{shown}: not a valid PEM file: {why}"));
                }
            }
        }
        // One DER certificate (a SEQUENCE) is accepted too.
        if ders.is_empty() && bytes.first() == Some(&0x30) {
            ders.push(CertificateDer::from(bytes.to_vec()));
        }
        if ders.is_empty() {
            return Err(format!(
                "{shown}: holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)"
            ));
        }
        let mut certs = Vec::with_capacity(ders.len());
        for (i, der) in ders.into_iter().enumerate() {
            let mut store = rustls::RootCertStore::empty();
            if let Err(e) = store.add(der.clone()) {
                return Err(format!(
                    "{shown}: certificate {} of the file is not a usable X.509 certificate ({e})",
                    i + 1
                ));
            }
            let cert = reqwest::Certificate::from_der(&der).map_err(|e| {
                format!(
                    "{shown}: certificate {} of the file: {}",
                    i + 1,
                    error_chain(&e)
                )
            })?;
            certs.push(cert);
        }
        Ok(CaFile {
            path: path.to_path_buf(),
            certs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many certificates the file holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

struct Shared {
    origins: RwLock<Vec<Origin>>,
    limits: Limits,
    tls: TlsConfig,
    redactor: Arc<Redactor>,
    /// The client's server talking to the authorization server: no cookie store at all.
    back_channel: std::sync::OnceLock<reqwest::Client>,
    /// What each endpoint (origin and path) has cost this scan: past the limits nothing more
    /// is sent there, or retried there, so an endpoint that hangs, dribbles or stays busy
    /// cannot hold a scan for a timeout or a round of retries per request, and the others
    /// still answer.
    strikes: Mutex<std::collections::HashMap<String, Strikes>>,
    politeness: Politeness,
    pacer: Pacer,
    /// Requests sent again after a 429 or 503, in this scan.
    retries: AtomicUsize,
    /// The scan's deadline: no retry waits past it.
    deadline: std::sync::OnceLock<tokio::time::Instant>,
    /// Told of every exchange as it is recorded (already redacted): `-v` and the progress.
    observer: std::sync::OnceLock<Observer>,
}

/// What [`ScanClient::observe`] calls with each exchange recorded.
pub type Observer = Box<dyn Fn(&Exchange) + Send + Sync>;

/// One endpoint's cost to the scan so far.
#[derive(Debug, Default, Clone, Copy)]
struct Strikes {
    /// Requests that timed out: past [`GIVE_UP_AFTER_TIMEOUTS`] none more is sent.
    timeouts: usize,
    /// Requests answered 429 or 503 through every retry: past [`STOP_RETRYING_AFTER`] none
    /// more is retried.
    retries_spent: usize,
}

impl Shared {
    fn strikes(&self, endpoint: &str) -> Strikes {
        self.strikes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(endpoint)
            .copied()
            .unwrap_or_default()
    }

    fn strike(&self, endpoint: &str, count: impl FnOnce(&mut Strikes)) {
        count(
            self.strikes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(endpoint.to_string())
                .or_default(),
        );
    }
}

fn endpoint_key(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

pub const GIVE_UP_AFTER_TIMEOUTS: usize = 5;

impl Shared {
    fn is_allowed(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let origin = url.origin();
        self.origins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&origin)
    }

    /// `http://host[:port]` whose `https://` twin (same host, same port; no port stays no port) is allowed.
    fn is_plaintext_twin(&self, url: &Url) -> bool {
        if url.scheme() != "http" {
            return false;
        }
        let mut twin = url.clone();
        twin.set_scheme("https").is_ok() && self.is_allowed(&twin)
    }

    fn build_client(&self, jar: Arc<BoundedJar>) -> Result<reqwest::Client, reqwest::Error> {
        self.builder()?.cookie_provider(jar).build()
    }

    fn back_channel(&self) -> &reqwest::Client {
        self.back_channel.get_or_init(|| {
            self.builder()
                .and_then(|b| b.build())
                .expect("client configuration was validated by ScanClient::new")
        })
    }

    fn builder(&self) -> Result<reqwest::ClientBuilder, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(self.tls.insecure)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .timeout(self.limits.timeout)
            .connect_timeout(self.limits.timeout)
            .user_agent(USER_AGENT);
        for cert in self.tls.ca_files.iter().flat_map(|f| &f.certs) {
            builder = builder.add_root_certificate(cert.clone());
        }
        match &self.tls.proxy {
            None => Ok(builder.no_proxy()),
            // reqwest reads the proxy variables itself when not told otherwise.
            Some(ProxySetting::FromEnv) => Ok(builder),
            Some(ProxySetting::Url(url)) => Ok(builder
                .no_proxy()
                .proxy(reqwest::Proxy::all(url.as_str())?.no_proxy(reqwest::NoProxy::from_env()))),
        }
    }
}

/// The scanner's HTTP client: configuration and scope. Cheap to clone; make one
/// [`HttpSession`] per browser-like actor.
#[derive(Clone)]
pub struct ScanClient {
    shared: Arc<Shared>,
}

impl fmt::Debug for ScanClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanClient")
            .field("limits", &self.shared.limits)
            .field("tls", &self.shared.tls)
            .finish_non_exhaustive()
    }
}

impl ScanClient {
    /// `allowed_origins`: the target's origins (scheme, host, port). `insecure_tls`: accept
    /// invalid certificates, only when the user asked.
    pub fn new(
        allowed_origins: Vec<Origin>,
        limits: Limits,
        insecure_tls: bool,
        redactor: Arc<Redactor>,
    ) -> Result<Self, HttpError> {
        Self::with_tls(
            allowed_origins,
            limits,
            TlsConfig::new(insecure_tls),
            redactor,
        )
    }

    /// [`ScanClient::new`] with extra trusted roots (or none at all, when `tls.insecure`).
    pub fn with_tls(
        allowed_origins: Vec<Origin>,
        limits: Limits,
        tls: TlsConfig,
        redactor: Arc<Redactor>,
    ) -> Result<Self, HttpError> {
        Self::with_politeness(
            allowed_origins,
            limits,
            tls,
            redactor,
            Politeness::default(),
        )
    }

    /// [`ScanClient::with_tls`] with a request rate per origin and a number of retries.
    pub fn with_politeness(
        allowed_origins: Vec<Origin>,
        limits: Limits,
        tls: TlsConfig,
        redactor: Arc<Redactor>,
        politeness: Politeness,
    ) -> Result<Self, HttpError> {
        let shared = Shared {
            origins: RwLock::new(Vec::new()),
            limits,
            tls,
            redactor,
            back_channel: Default::default(),
            strikes: Mutex::default(),
            politeness,
            pacer: Pacer::new(politeness.rps),
            retries: AtomicUsize::new(0),
            deadline: Default::default(),
            observer: Default::default(),
        };
        // Validate the configuration once, so that `session()` cannot fail later.
        shared
            .build_client(Arc::new(BoundedJar::default()))
            .map_err(|e| HttpError::Build(error_chain(&e)))?;
        let client = ScanClient {
            shared: Arc::new(shared),
        };
        for o in allowed_origins {
            client.allow_origin(o);
        }
        Ok(client)
    }

    /// Adds an origin to the scope, at run time (e.g. an endpoint found in metadata). Affects
    /// every session, existing ones included. Opaque origins are ignored.
    pub fn allow_origin(&self, origin: Origin) {
        if !origin.is_tuple() {
            return;
        }
        let mut origins = self
            .shared
            .origins
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }

    /// Whether a request to `url` would be sent (http/https and an allowed origin).
    pub fn is_allowed(&self, url: &Url) -> bool {
        self.shared.is_allowed(url)
    }

    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    pub fn politeness(&self) -> Politeness {
        self.shared.politeness
    }

    /// No retry waits past `at` (the scan's deadline); set once, later calls are ignored.
    pub fn set_deadline(&self, at: tokio::time::Instant) {
        let _ = self.shared.deadline.set(at);
    }

    /// Calls `observer` with every exchange any session of this client records from now on,
    /// redacted as in the evidence; set once, later calls are ignored.
    pub fn observe(&self, observer: Observer) {
        let _ = self.shared.observer.set(observer);
    }

    /// Requests sent again after a 429 or 503 so far, by every session of this client.
    pub fn retries(&self) -> usize {
        self.shared.retries.load(Ordering::Relaxed)
    }

    /// How certificates are checked.
    pub fn tls(&self) -> &TlsConfig {
        &self.shared.tls
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.shared.redactor
    }

    /// A new browser-like session with its own cookie jar and transcript.
    pub fn session(&self) -> HttpSession {
        let jar = Arc::new(BoundedJar::default());
        let client = self
            .shared
            .build_client(jar.clone())
            .expect("client configuration was validated by ScanClient::new");
        HttpSession {
            inner: Arc::new(SessionInner {
                shared: self.shared.clone(),
                client,
                jar,
                transcript: Default::default(),
                sent: Default::default(),
                navigation: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }
}

struct SessionInner {
    shared: Arc<Shared>,
    client: reqwest::Client,
    jar: Arc<BoundedJar>,
    /// Shared with [`HttpSession::with_fresh_jar`] sessions, so a check's evidence stays in one place.
    transcript: Arc<Mutex<Vec<Exchange>>>,
    sent: Arc<AtomicUsize>,
    /// Held through one browser-like flow: servers rotate session cookies at each login or
    /// consent, so two flows interleaved on one jar would break each other.
    navigation: Arc<tokio::sync::Mutex<()>>,
}

impl HttpSession {
    /// Whether a request to `url` would be sent (http/https and an allowed origin).
    pub fn is_allowed(&self, url: &Url) -> bool {
        self.inner.shared.is_allowed(url)
    }

    /// Waits until no other flow is walking pages with this cookie jar.
    pub async fn navigation_lock(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.navigation.clone().lock_owned().await
    }

    /// The same cookie jar (so a login carries over) with a fresh transcript and request count:
    /// each check records only its own exchanges.
    pub fn with_fresh_transcript(&self) -> HttpSession {
        HttpSession {
            inner: Arc::new(SessionInner {
                shared: self.inner.shared.clone(),
                client: self.inner.client.clone(),
                jar: self.inner.jar.clone(),
                transcript: Default::default(),
                sent: Default::default(),
                navigation: self.inner.navigation.clone(),
            }),
        }
    }

    /// A new, empty cookie jar (a browser that has not signed in) that records into this
    /// session's transcript and request count.
    pub fn with_fresh_jar(&self) -> HttpSession {
        let jar = Arc::new(BoundedJar::default());
        let client = self
            .inner
            .shared
            .build_client(jar.clone())
            .expect("client configuration was validated by ScanClient::new");
        HttpSession {
            inner: Arc::new(SessionInner {
                shared: self.inner.shared.clone(),
                client,
                jar,
                transcript: self.inner.transcript.clone(),
                sent: self.inner.sent.clone(),
                navigation: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }
}

/// At most this many cookie names in one jar, as a browser caps cookies per domain (Chromium
/// keeps 180): a server setting 60 new cookies on every answer otherwise grows every later
/// request's Cookie header, and the evidence, without bound.
pub const MAX_COOKIES_PER_JAR: usize = 180;

/// A cookie jar that takes no new cookie name past [`MAX_COOKIES_PER_JAR`]; known names
/// are still updated.
#[derive(Default)]
pub struct BoundedJar {
    jar: Jar,
    names: Mutex<std::collections::HashSet<String>>,
}

impl CookieStore for BoundedJar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let kept: Vec<&HeaderValue> = headers
            .filter(|value| {
                let bytes = value.as_bytes();
                let name = bytes.split(|&b| b == b'=').next().unwrap_or_default();
                let name = String::from_utf8_lossy(name).trim().to_string();
                if names.contains(&name) {
                    return true;
                }
                if names.len() >= MAX_COOKIES_PER_JAR {
                    return false;
                }
                names.insert(name);
                true
            })
            .collect();
        self.jar.set_cookies(&mut kept.into_iter(), url);
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        self.jar.cookies(url)
    }
}

/// One cookie jar and one transcript; clones share both.
#[derive(Clone)]
pub struct HttpSession {
    inner: Arc<SessionInner>,
}

impl fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSession")
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

/// What was received before the request ended (for the recording).
#[derive(Default)]
struct Partial {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

enum Failure {
    Reqwest(reqwest::Error),
    TooLarge,
}

impl HttpSession {
    /// Sends one request; redirects are not followed. A URL outside the allowed origins is refused
    /// with [`HttpError::OffOrigin`] before anything is sent (and is not recorded). Everything
    /// else is recorded, redacted, in the transcript, failures included.
    pub async fn send(&self, step: &str, req: Request) -> Result<Response, HttpError> {
        let shared = &self.inner.shared;
        let redactor = &shared.redactor;
        let method = req.method.as_str().to_owned();
        if !(shared.is_allowed(&req.url)
            || (req.plaintext_probe && shared.is_plaintext_twin(&req.url)))
        {
            return Err(HttpError::OffOrigin {
                method,
                url: redactor.redact_url(&req.url),
            });
        }
        let endpoint = endpoint_key(&req.url);
        let timeouts = shared.strikes(&endpoint).timeouts;
        if timeouts >= GIVE_UP_AFTER_TIMEOUTS {
            return Err(HttpError::GaveUp {
                method,
                url: redactor.redact_url(&req.url),
                timeouts,
                after: shared.limits.timeout,
            });
        }
        // Built once: a retry sends the very same bytes.
        let body = req
            .body
            .as_ref()
            .map(|b| (b.content_type().to_owned(), b.to_bytes()));
        let origin = req.url.origin().ascii_serialization();
        let mut retry: Option<Retry> = None;
        loop {
            // Again on each attempt: a 429 may have set cookies that go with the retry.
            self.learn_secrets(&req);
            shared.pacer.wait_turn(&origin).await;
            let (result, mut exchange) = self.attempt(step, &req, body.as_ref(), &endpoint).await?;
            let number = retry.as_ref().map_or(0, |r| r.number) + 1;
            exchange.retry = retry.take();
            // RFC 6585 §4, RFC 9110 §15.6.4: the server did not process the request, so any
            // method may be sent again. Any other answer, or none, is the caller's to judge.
            let plan = match &result {
                Ok(resp) if is_retryable(resp.status) => {
                    match self.plan_retry(&endpoint, resp, number) {
                        Ok(plan) => Some((resp.status, plan)),
                        Err(why) => {
                            exchange.not_retried = Some(why);
                            None
                        }
                    }
                }
                _ => None,
            };
            self.record(exchange);
            let Some((status, plan)) = plan else {
                return result;
            };
            if plan.from_server {
                // The server's wait holds for every session's requests to this origin.
                shared
                    .pacer
                    .hold(&origin, tokio::time::Instant::now() + plan.wait);
            }
            shared.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(plan.wait).await;
            retry = Some(Retry {
                number,
                after_status: status,
                waited_ms: u64::try_from(plan.wait.as_millis()).unwrap_or(u64::MAX),
                wait_from: plan.wait_from,
            });
        }
    }

    /// Whether to send again a request answered `resp` (429 or 503) before retry `number`
    /// (1 for the first), and after how long; `Err` says why not, for the evidence.
    fn plan_retry(
        &self,
        endpoint: &str,
        resp: &Response,
        number: u32,
    ) -> Result<RetryPlan, String> {
        let shared = &self.inner.shared;
        let retries = shared.politeness.retries;
        if retries == 0 {
            return Err("not retried: retries are off (--retries 0)".to_string());
        }
        let before = shared.strikes(endpoint).retries_spent;
        if number > retries {
            shared.strike(endpoint, |s| s.retries_spent += 1);
            return Err(format!(
                "not retried: no retries left (sent {} times: once and --retries {retries})",
                retries + 1
            ));
        }
        if before >= STOP_RETRYING_AFTER {
            return Err(format!(
                "not retried: {before} requests to this endpoint were already answered 429 or 503 through every retry, so the scan stops retrying there"
            ));
        }
        let cap = MAX_RETRY_WAIT.min(shared.limits.timeout);
        let plan = retry_wait(
            resp.header("retry-after"),
            number,
            cap,
            std::time::SystemTime::now(),
        )?;
        if let Some(deadline) = shared.deadline.get() {
            if tokio::time::Instant::now() + plan.wait > *deadline {
                return Err(format!(
                    "not retried: waiting {} ({}) would pass the scan's deadline",
                    fmt_secs(plan.wait),
                    plan.wait_from
                ));
            }
        }
        Ok(plan)
    }

    /// Sends `req` once and records it; the exchange is returned to the caller to push, so that
    /// what follows (a retry, or why not) can be noted on it. `Err`: not sent at all (an
    /// invalid header), not recorded.
    async fn attempt(
        &self,
        step: &str,
        req: &Request,
        body: Option<&(String, Vec<u8>)>,
        endpoint: &str,
    ) -> Result<(Result<Response, HttpError>, Exchange), HttpError> {
        let shared = &self.inner.shared;
        let redactor = &shared.redactor;
        let method = req.method.as_str().to_owned();
        let recorded = self.record_request(req, body);

        let mut rb = self
            .inner
            .client
            .request(req.method.clone(), req.url.clone());
        for (name, value) in &req.headers {
            rb = rb.header(name.as_str(), value.as_str());
        }
        if let Some((content_type, bytes)) = body {
            if !req.has_header("content-type") {
                rb = rb.header("content-type", content_type.as_str());
            }
            rb = rb.body(bytes.clone());
        }

        // Invalid header names or values: refused before anything is sent, not recorded.
        let built = rb.build().map_err(|e| HttpError::Other {
            method: method.clone(),
            url: redactor.redact_url(&req.url),
            reason: format!(
                "invalid request: {}",
                redactor.redact(&error_chain(&e.without_url()))
            ),
        })?;

        let limits = shared.limits;
        let head = req.method == Method::HEAD;
        let mut partial = Partial::default();
        let started = Instant::now();
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        let outcome = tokio::time::timeout(
            limits.timeout,
            perform(
                if req.back_channel {
                    shared.back_channel()
                } else {
                    &self.inner.client
                },
                built,
                limits.max_body_bytes,
                head,
                &mut partial,
            ),
        )
        .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

        let url = redactor.redact_url(&req.url);
        let result = match outcome {
            Err(_elapsed) => Err(HttpError::Timeout {
                method,
                url,
                after: limits.timeout,
            }),
            Ok(Err(Failure::TooLarge)) => Err(HttpError::BodyTooLarge {
                method,
                url,
                limit: limits.max_body_bytes,
            }),
            Ok(Err(Failure::Reqwest(e))) => Err(map_reqwest_error(
                e, method, url, &req.url, limits, redactor,
            )),
            Ok(Ok(())) => Ok(()),
        };
        if matches!(result, Err(HttpError::Timeout { .. })) {
            shared.strike(endpoint, |s| s.timeouts += 1);
        }

        let complete = result.is_ok();
        let response = partial.status.map(|status| {
            let (body, cut) = redacted_excerpt(redactor, &partial.body);
            RecordedResponse {
                status,
                headers: redactor.redact_headers(&partial.headers),
                body,
                truncated: cut || !complete,
            }
        });
        let exchange = Exchange {
            step: redactor.redact(step),
            request: recorded,
            response,
            error: result.as_ref().err().map(|e| e.to_string()),
            via: None,
            retry: None,
            not_retried: None,
            elapsed_ms,
        };
        let result = result.map(|()| Response {
            status: partial.status.unwrap_or_default(),
            headers: partial.headers,
            body: partial.body,
            final_url: req.url.clone(),
        });
        Ok((result, exchange))
    }

    /// Records a navigation the scanner did not send itself (a login command, the browser, the
    /// user at the terminal), with what it reported, so that the evidence shows every step.
    pub fn record_delegated(&self, step: &str, url: &Url, via: &str, elapsed_ms: u64) {
        let redactor = &self.inner.shared.redactor;
        let exchange = Exchange {
            step: redactor.redact(step),
            request: RecordedRequest {
                method: "GET".to_string(),
                url: redactor.redact_url(url),
                headers: Vec::new(),
                body: None,
            },
            response: None,
            error: None,
            via: Some(redactor.redact(via)),
            retry: None,
            not_retried: None,
            elapsed_ms,
        };
        self.record(exchange);
    }

    /// Into the transcript, and to the client's observer if it has one.
    fn record(&self, exchange: Exchange) {
        if let Some(observe) = self.inner.shared.observer.get() {
            observe(&exchange);
        }
        self.inner
            .transcript
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
    }

    /// Every exchange recorded so far, in order (shared by clones of this session). Re-redacted
    /// on the way out, so secrets learned after an exchange was recorded are hidden too.
    pub fn transcript(&self) -> Vec<Exchange> {
        let list = self
            .inner
            .transcript
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.reredact(list)
    }

    /// Like [`HttpSession::transcript`], and empties it.
    pub fn take_transcript(&self) -> Vec<Exchange> {
        let list = std::mem::take(
            &mut *self
                .inner
                .transcript
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        self.reredact(list)
    }

    /// Requests actually sent by this session and its clones (refused off-origin requests not
    /// counted; not reset by [`HttpSession::take_transcript`]).
    pub fn request_count(&self) -> usize {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// The cookies this session would send to `url` (name, value), unredacted.
    pub fn cookies_for(&self, url: &Url) -> Vec<(String, String)> {
        let Some(header) = self.inner.jar.cookies(url) else {
            return Vec::new();
        };
        String::from_utf8_lossy(header.as_bytes())
            .split(';')
            .filter_map(|c| {
                let (n, v) = c.trim().split_once('=')?;
                Some((n.to_owned(), v.to_owned()))
            })
            .collect()
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.inner.shared.redactor
    }

    /// Our own secrets about to be sent become known values, so that an echo is redacted too.
    fn learn_secrets(&self, req: &Request) {
        let redactor = &self.inner.shared.redactor;
        for (name, value) in &req.headers {
            if !name.eq_ignore_ascii_case("authorization") {
                continue;
            }
            let Some((scheme, credentials)) = value.trim().split_once(' ') else {
                redactor.add(value.trim());
                continue;
            };
            let credentials = credentials.trim();
            redactor.add(credentials);
            if scheme.eq_ignore_ascii_case("basic") {
                if let Some(pair) = STANDARD
                    .decode(credentials)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                {
                    if let Some((_, secret)) = pair.split_once(':') {
                        redactor.add(secret);
                        if let Some((_, decoded)) =
                            url::form_urlencoded::parse(format!("x={secret}").as_bytes()).next()
                        {
                            redactor.add(decoded);
                        }
                    }
                }
            }
        }
        // Cookies: those set explicitly, else those the jar will add.
        let jar_cookies = self
            .inner
            .jar
            .cookies(&req.url)
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
        let explicit = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .map(|(_, v)| v.clone());
        let cookies: Vec<String> = if req.has_header("cookie") {
            explicit.collect()
        } else {
            jar_cookies.into_iter().collect()
        };
        for header in &cookies {
            for (_, value) in header.split(';').filter_map(|c| c.trim().split_once('=')) {
                redactor.add_cookie(value.trim());
            }
        }
        for (name, value) in req.url.query_pairs() {
            if is_sensitive_param(&name) {
                redactor.add(value);
            }
        }
        match &req.body {
            Some(Body::Form(pairs)) => {
                for (name, value) in pairs {
                    if is_sensitive_param(name) {
                        redactor.add(value);
                    }
                }
            }
            Some(Body::Json(serde_json::Value::Object(map))) => {
                for (name, value) in map {
                    if let (true, Some(s)) = (is_sensitive_param(name), value.as_str()) {
                        redactor.add(s);
                    }
                }
            }
            _ => {}
        }
    }

    fn record_request(&self, req: &Request, body: Option<&(String, Vec<u8>)>) -> RecordedRequest {
        let redactor = &self.inner.shared.redactor;
        let mut headers = Vec::new();
        if !req.has_header("user-agent") {
            headers.push(("user-agent".to_owned(), USER_AGENT.to_owned()));
        }
        if !req.has_header("accept") {
            headers.push(("accept".to_owned(), "*/*".to_owned()));
        }
        headers.extend(req.headers.iter().cloned());
        if let Some((content_type, _)) = body {
            if !req.has_header("content-type") {
                headers.push(("content-type".to_owned(), content_type.clone()));
            }
        }
        // What the jar adds is recorded as sent; the back channel sends none of it.
        if !req.has_header("cookie") && !req.back_channel {
            if let Some(cookie) = self.inner.jar.cookies(&req.url) {
                headers.push((
                    "cookie".to_owned(),
                    String::from_utf8_lossy(cookie.as_bytes()).into_owned(),
                ));
            }
        }
        let body = body.map(|(_, bytes)| {
            let (mut cut, truncated) = redacted_excerpt(redactor, bytes);
            if truncated {
                cut.push_str("…[truncated]");
            }
            cut
        });
        RecordedRequest {
            method: req.method.as_str().to_owned(),
            url: redactor.redact_url(&req.url),
            headers: redactor.redact_headers(&headers),
            body,
        }
    }

    /// Applies the known values again (the by-name layer does not depend on what was learned
    /// since, and was applied when recording).
    fn reredact(&self, mut list: Vec<Exchange>) -> Vec<Exchange> {
        let r = &self.inner.shared.redactor;
        let known = |s: &mut String| {
            if let Cow::Owned(new) = r.redact_known(s) {
                *s = new;
            }
        };
        for ex in &mut list {
            known(&mut ex.step);
            known(&mut ex.request.url);
            ex.request.headers.iter_mut().for_each(|(_, v)| known(v));
            if let Some(body) = &mut ex.request.body {
                known(body);
            }
            if let Some(resp) = &mut ex.response {
                resp.headers.iter_mut().for_each(|(_, v)| known(v));
                known(&mut resp.body);
            }
            if let Some(err) = &mut ex.error {
                known(err);
            }
        }
        list
    }
}

/// Sends and reads the body in chunks, stopping as soon as it exceeds `limit`.
async fn perform(
    client: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
    head: bool,
    partial: &mut Partial,
) -> Result<(), Failure> {
    let mut resp = client.execute(request).await.map_err(Failure::Reqwest)?;
    partial.status = Some(resp.status().as_u16());
    partial.headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if !head {
        let declared = resp
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(Failure::TooLarge);
        }
    }
    while let Some(chunk) = resp.chunk().await.map_err(Failure::Reqwest)? {
        let room = limit - partial.body.len();
        if chunk.len() > room {
            partial.body.extend_from_slice(&chunk[..room]);
            return Err(Failure::TooLarge);
        }
        partial.body.extend_from_slice(&chunk);
    }
    Ok(())
}

/// A failed connection in plain words, where the cause is a common one: nothing listening,
/// a host name that does not resolve, a host that cannot be reached.
fn plain_connect_failure(e: &reqwest::Error, requested: &Url) -> Option<String> {
    let place = match (requested.host_str(), requested.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => return None,
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                ConnectionRefused => Some(format!(
                    "connection refused: nothing listens on {place} (is the server running, and is the port right?)"
                )),
                HostUnreachable | NetworkUnreachable => {
                    Some(format!("{place} cannot be reached from here ({io})"))
                }
                _ => None,
            };
        }
        if err.to_string().starts_with("dns error") {
            return Some(format!(
                "the host name {} does not resolve (is it spelled right, and known to this machine's DNS?)",
                requested.host_str().unwrap_or("")
            ));
        }
        source = err.source();
    }
    None
}

fn map_reqwest_error(
    e: reqwest::Error,
    method: String,
    url: String,
    requested: &Url,
    limits: Limits,
    redactor: &Redactor,
) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout {
            method,
            url,
            after: limits.timeout,
        };
    }
    if let Some(tls) = rustls_error(&e) {
        return HttpError::Tls {
            method,
            url,
            problem: redactor.redact(&tls_problem(tls, requested)),
        };
    }
    let connect = e.is_connect();
    let reason = match connect
        .then(|| plain_connect_failure(&e, requested))
        .flatten()
    {
        Some(plain) => plain,
        None => redactor.redact(&error_chain(&e.without_url())),
    };
    if connect {
        HttpError::Connect {
            method,
            url,
            reason,
        }
    } else {
        HttpError::Other {
            method,
            url,
            reason,
        }
    }
}

/// The rustls error somewhere in `e`'s sources. `io::Error::source` skips the error it wraps,
/// so each `io::Error` is opened by hand.
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| rustls_error(inner))
        {
            return Some(tls);
        }
        cur = err.source();
    }
    None
}

/// Said after every certificate problem: the two ways on, and which one is not for an audit.
const TLS_HINT_CA: &str = "pass --ca-cert FILE (or set [tls] ca_cert in the target file) for a private CA, or --insecure to skip verification (never for a real audit)";
const TLS_HINT_INSECURE: &str = "--insecure skips verification (never for a real audit)";

/// A TLS failure in plain words, with what to do about it.
fn tls_problem(e: &rustls::Error, url: &Url) -> String {
    use rustls::{CertificateError as C, Error as E};
    let host = url.host_str().unwrap_or("the host");
    let when = |t: &rustls::pki_types::UnixTime| {
        crate::report::rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(t.as_secs()))
    };
    let cert = match e {
        E::InvalidCertificate(c) => c,
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            return format!(
                "the TLS handshake failed: the server did not answer in TLS ({e}); is it plain http on this port?"
            );
        }
        E::AlertReceived(alert) => {
            return format!("the server ended the TLS handshake (alert: {alert:?})");
        }
        other => return format!("the TLS handshake failed: {other}"),
    };
    match cert {
        C::UnknownIssuer => {
            format!(
                "the server's certificate is not trusted (self-signed or from an unknown CA); {TLS_HINT_CA}"
            )
        }
        C::NotValidForName => {
            format!("the certificate does not name {host}; {TLS_HINT_INSECURE}")
        }
        C::NotValidForNameContext { presented, .. } => {
            let names = presented_names(presented);
            format!(
                "the certificate does not name {host} (it names {names}); connect by a name it holds, or {TLS_HINT_INSECURE}"
            )
        }
        C::Expired => format!("the server's certificate has expired; {TLS_HINT_INSECURE}"),
        C::ExpiredContext { not_after, .. } => format!(
            "the server's certificate has expired (valid until {}); {TLS_HINT_INSECURE}",
            when(not_after)
        ),
        C::NotValidYet => format!("the server's certificate is not valid yet; {TLS_HINT_INSECURE}"),
        C::NotValidYetContext { not_before, .. } => format!(
            "the server's certificate is not valid yet (valid from {}); check this machine's clock, or {TLS_HINT_INSECURE}",
            when(not_before)
        ),
        C::Revoked => format!("the server's certificate has been revoked; {TLS_HINT_INSECURE}"),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => format!(
            "the server's certificate is not meant for a TLS server (extended key usage); {TLS_HINT_INSECURE}"
        ),
        other => format!(
            "the server's certificate was refused ({}); {TLS_HINT_CA}",
            E::InvalidCertificate(other.clone())
        ),
    }
}

/// The names a certificate holds, as webpki lists them (`DnsName("a.example")`,
/// `IpAddress(127.0.0.1)`), in plain form: the first few, and how many more.
fn presented_names(presented: &[String]) -> String {
    const SHOWN: usize = 5;
    if presented.is_empty() {
        return "no names at all".into();
    }
    let plain = |s: &String| -> String {
        for kind in ["DnsName", "UniformResourceIdentifier"] {
            if let Some(v) = s
                .strip_prefix(kind)
                .and_then(|r| r.strip_prefix("(\""))
                .and_then(|r| r.strip_suffix("\")"))
            {
                return v.to_string();
            }
        }
        s.strip_prefix("IpAddress(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(s)
            .to_string()
    };
    let mut out: Vec<String> = presented.iter().take(SHOWN).map(plain).collect();
    if presented.len() > SHOWN {
        out.push(format!("{} more", presented.len() - SHOWN));
    }
    out.join(", ")
}

/// An error and its sources, `: `-separated, without repeats.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Bytes redacted beyond what the excerpt can hold, so that a secret or a sensitive parameter
/// that starts inside the excerpt is seen whole by the redactor (up to this length).
const REDACT_MARGIN_BYTES: usize = 64 * 1024;

/// The body as redacted text, cut to [`EXCERPT_CHARS`] characters, and whether anything was
/// cut. Only a window (excerpt + margin) is decoded and redacted, so recording a 1 MiB body
/// stays cheap.
fn redacted_excerpt(redactor: &Redactor, bytes: &[u8]) -> (String, bool) {
    let window = (EXCERPT_CHARS * 4 + REDACT_MARGIN_BYTES).min(bytes.len());
    let text = redactor.redact(&String::from_utf8_lossy(&bytes[..window]));
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((mut i, _)) => {
            // Do not leave half a marker: cut before it.
            let tail_start = text[..i]
                .char_indices()
                .rev()
                .nth(REDACTED.chars().count())
                .map_or(0, |(p, _)| p);
            if let Some(p) = text[tail_start..i].rfind(REDACTED.chars().next().unwrap_or('«')) {
                let p = tail_start + p;
                if text[p..].starts_with(REDACTED) && p + REDACTED.len() > i {
                    i = p;
                }
            }
            (text[..i].to_owned(), true)
        }
        None => (text, window < bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::atomic::AtomicUsize;

    use axum::Router;
    use axum::body::{Body as AxumBody, Bytes};
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use futures::StreamExt as _;

    async fn serve(app: Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        addr
    }

    fn url(addr: SocketAddr, path: &str) -> Url {
        Url::parse(&format!("http://{addr}{path}")).unwrap()
    }

    fn client_for(addr: SocketAddr, limits: Limits, redactor: Arc<Redactor>) -> ScanClient {
        ScanClient::new(vec![url(addr, "/").origin()], limits, false, redactor).unwrap()
    }

    #[test]
    fn the_plaintext_probe_reaches_only_the_twin_and_never_widens_the_scope() {
        let https = Url::parse("https://as.example/token").unwrap();
        let client = ScanClient::new(
            vec![https.origin()],
            Limits::default(),
            false,
            Arc::new(Redactor::new(vec![])),
        )
        .unwrap();
        let shared = &client.shared;
        assert!(shared.is_plaintext_twin(&Url::parse("http://as.example/token").unwrap()));
        assert!(!shared.is_plaintext_twin(&Url::parse("http://other.example/t").unwrap()));
        assert!(!shared.is_plaintext_twin(&Url::parse("http://as.example:8080/t").unwrap()));
        assert!(!shared.is_plaintext_twin(&https));
        // Only the request marked as the probe may go; nothing else reaches plain http.
        assert!(!client.is_allowed(&Url::parse("http://as.example/token").unwrap()));
        let probe =
            Request::post_form(Url::parse("http://as.example/token").unwrap(), [("a", "b")])
                .basic_auth("id", &Secret::new("s"))
                .plaintext_probe();
        assert!(probe.back_channel && probe.headers.iter().all(|(n, _)| n != "authorization"));
    }

    #[tokio::test]
    async fn fresh_cookies_share_the_transcript_but_not_the_jar() {
        let app = Router::new().route(
            "/set",
            get(|| async { ([(header::SET_COOKIE, "s=1; Path=/")], "set") }),
        );
        let addr = serve(app).await;
        let client = client_for(addr, Limits::default(), Arc::new(Redactor::new(vec![])));
        let session = client.session();
        session
            .send("set a cookie", Request::get(url(addr, "/set")))
            .await
            .unwrap();
        let stranger = session.with_fresh_jar();
        assert!(stranger.cookies_for(&url(addr, "/")).is_empty());
        assert_eq!(session.cookies_for(&url(addr, "/")).len(), 1);
        stranger
            .send("as a stranger", Request::get(url(addr, "/set")))
            .await
            .unwrap();
        assert_eq!(session.transcript().len(), 2);
        assert_eq!(session.request_count(), 2);
    }

    fn counter() -> Arc<AtomicUsize> {
        Arc::new(AtomicUsize::new(0))
    }

    fn hits_route(hits: &Arc<AtomicUsize>) -> axum::routing::MethodRouter {
        let hits = hits.clone();
        get(move || async move {
            hits.fetch_add(1, Ordering::SeqCst);
            "ok"
        })
    }

    #[tokio::test]
    async fn off_origin_is_refused_without_sending() {
        let hits = counter();
        let target = serve(Router::new().route("/x", hits_route(&hits))).await;
        let other = serve(Router::new().route("/x", hits_route(&hits))).await;
        let client = client_for(target, Limits::default(), Arc::new(Redactor::default()));
        let session = client.session();

        for u in [
            url(other, "/x?code=abcdefgh"),
            Url::parse(&format!("https://{target}/x")).unwrap(),
            Url::parse(&format!("http://localhost:{}/x", target.port())).unwrap(),
        ] {
            assert!(!client.is_allowed(&u));
            let err = session.send("probe", Request::get(u)).await.unwrap_err();
            assert!(matches!(err, HttpError::OffOrigin { .. }), "{err}");
        }
        let err = session
            .send("probe", Request::get(url(other, "/x?code=abcdefgh")))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "GET http://{other}/x?code=«redacted»: refused, origin not in scope (nothing sent)"
            )
        );
        assert!(!client.is_allowed(&Url::parse("data:text/plain,hi").unwrap()));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        assert_eq!(session.request_count(), 0);
        assert!(session.transcript().is_empty());

        // Allowed at run time, for existing sessions too.
        client.allow_origin(url(other, "/").origin());
        let resp = session
            .send("probe", Request::get(url(other, "/x")))
            .await
            .unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (200, "ok"));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(session.request_count(), 1);
        let t = session.transcript();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].step, "probe");
        assert!(
            t[0].request
                .headers
                .contains(&("user-agent".into(), USER_AGENT.into()))
        );
    }

    #[tokio::test]
    async fn invalid_header_is_refused_before_sending() {
        let hits = counter();
        let addr = serve(Router::new().route("/x", hits_route(&hits))).await;
        let session = client_for(addr, Limits::default(), Arc::new(Redactor::default())).session();
        for req in [
            Request::get(url(addr, "/x")).header("bad name", "v"),
            Request::get(url(addr, "/x")).header("x-ok", "line\r\nInjected: yes"),
        ] {
            let err = session.send("bad", req).await.unwrap_err();
            assert!(matches!(err, HttpError::Other { .. }), "{err}");
            assert!(err.to_string().contains(": invalid request: "), "{err}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        assert_eq!(session.request_count(), 0);
        assert!(session.transcript().is_empty());
    }

    #[tokio::test]
    async fn redirect_is_returned_not_followed() {
        let hits = counter();
        let app = Router::new()
            .route(
                "/authorize",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "/next?code=SplxlOBeZQQYbYS6&state=st4te")],
                    )
                }),
            )
            .route("/next", hits_route(&hits));
        let addr = serve(app).await;
        let session = client_for(addr, Limits::default(), Arc::new(Redactor::default())).session();
        let resp = session
            .send("authorize", Request::get(url(addr, "/authorize")))
            .await
            .unwrap();
        assert_eq!(resp.status, 302);
        assert!(resp.is_redirect());
        assert_eq!(
            resp.location().unwrap(),
            url(addr, "/next?code=SplxlOBeZQQYbYS6&state=st4te")
        );
        assert_eq!(resp.final_url, url(addr, "/authorize"));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        assert_eq!(session.request_count(), 1);
        let recorded = session.transcript()[0].response.clone().unwrap();
        assert_eq!(recorded.status, 302);
        assert!(recorded.headers.contains(&(
            "location".into(),
            "/next?code=«redacted»&state=st4te".into()
        )));
    }

    #[tokio::test]
    async fn body_over_the_cap_with_content_length() {
        let addr = serve(Router::new().route("/big", get(|| async { vec![b'a'; 4096] }))).await;
        let limits = Limits {
            max_body_bytes: 1024,
            ..Limits::default()
        };
        let session = client_for(addr, limits, Arc::new(Redactor::default())).session();
        let err = session
            .send("big", Request::get(url(addr, "/big")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::BodyTooLarge { limit: 1024, .. }),
            "{err}"
        );
        let ex = &session.transcript()[0];
        assert_eq!(ex.response.as_ref().unwrap().status, 200);
        assert!(ex.response.as_ref().unwrap().truncated);
        assert!(
            ex.error
                .as_deref()
                .unwrap()
                .contains("larger than the limit of 1024 bytes")
        );

        // At the limit exactly is fine.
        let addr = serve(Router::new().route("/ok", get(|| async { vec![b'a'; 1024] }))).await;
        let session = client_for(addr, limits, Arc::new(Redactor::default())).session();
        let resp = session
            .send("ok", Request::get(url(addr, "/ok")))
            .await
            .unwrap();
        assert_eq!(resp.body.len(), 1024);
    }

    #[test]
    fn a_jar_takes_no_new_cookie_name_past_its_cap_but_updates_known_ones() {
        let jar = BoundedJar::default();
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        let values: Vec<HeaderValue> = (0..300)
            .map(|n| HeaderValue::from_str(&format!("c{n}=v{n}; Path=/")).unwrap())
            .collect();
        jar.set_cookies(&mut values.iter(), &url);
        let update = [HeaderValue::from_static("c0=changed; Path=/")];
        jar.set_cookies(&mut update.iter(), &url);
        let header = jar.cookies(&url).unwrap();
        let sent: Vec<&str> = header.to_str().unwrap().split("; ").collect();
        assert_eq!(sent.len(), MAX_COOKIES_PER_JAR);
        assert!(sent.contains(&"c0=changed"), "{sent:?}");
        assert!(!sent.iter().any(|c| c.starts_with("c299=")));
    }

    #[tokio::test]
    async fn body_over_the_cap_streamed_without_content_length() {
        // 8 KiB then a body that never ends: buffering to the end would time out instead.
        let app = Router::new().route(
            "/stream",
            get(|| async {
                let chunks = futures::stream::iter(
                    (0..8).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 1024]))),
                )
                .chain(futures::stream::pending());
                AxumBody::from_stream(chunks)
            }),
        );
        let addr = serve(app).await;
        let limits = Limits {
            max_body_bytes: 2048,
            timeout: Duration::from_secs(30),
        };
        let session = client_for(addr, limits, Arc::new(Redactor::default())).session();
        let started = Instant::now();
        let err = session
            .send("stream", Request::get(url(addr, "/stream")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::BodyTooLarge { limit: 2048, .. }),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
        let recorded = session.transcript()[0].response.clone().unwrap();
        assert!(recorded.headers.iter().all(|(n, _)| n != "content-length"));
        assert_eq!(recorded.body.len(), 2048);
    }

    /// A server that lets requests time out gets no more after a few: each would cost a
    /// whole timeout, and a dribbling server would hold the scan for minutes.
    #[tokio::test]
    async fn after_repeated_timeouts_nothing_more_is_sent() {
        let arrived = Arc::new(AtomicUsize::new(0));
        let counter = arrived.clone();
        let app = Router::new().route(
            "/hang",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<&'static str>()
            }),
        );
        let addr = serve(app).await;
        let limits = Limits {
            timeout: Duration::from_millis(100),
            ..Limits::default()
        };
        let client = client_for(addr, limits, Arc::new(Redactor::default()));
        for n in 0..GIVE_UP_AFTER_TIMEOUTS + 2 {
            // A fresh session each time: the count belongs to the scan, not to a cookie jar.
            let err = client
                .session()
                .send("hang", Request::get(url(addr, "/hang")))
                .await
                .unwrap_err();
            if n < GIVE_UP_AFTER_TIMEOUTS {
                assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
            } else {
                assert!(
                    matches!(err, HttpError::GaveUp { timeouts: 5, .. }),
                    "{err}"
                );
                assert!(err.to_string().contains("not sent: 5 requests"), "{err}");
            }
        }
        assert_eq!(arrived.load(Ordering::SeqCst), GIVE_UP_AFTER_TIMEOUTS);
        // Another endpoint of the same server is still asked.
        let err = client
            .session()
            .send("other", Request::get(url(addr, "/other")))
            .await;
        assert!(err.is_ok(), "{err:?}");
    }

    #[tokio::test]
    async fn timeout_waiting_for_headers_and_for_body() {
        let app = Router::new()
            .route("/hang", get(std::future::pending::<&'static str>))
            .route(
                "/slow-body",
                get(|| async {
                    let chunks =
                        futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from("partial"))])
                            .chain(futures::stream::pending());
                    AxumBody::from_stream(chunks)
                }),
            );
        let addr = serve(app).await;
        let limits = Limits {
            timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let session = client_for(addr, limits, Arc::new(Redactor::default())).session();
        let err = session
            .send("hang", Request::get(url(addr, "/hang?code=abcdefgh")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::Timeout { after, .. } if after == Duration::from_millis(200)),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("GET http://{addr}/hang?code=«redacted»: timed out after 200ms")
        );
        let err = session
            .send("slow", Request::get(url(addr, "/slow-body")))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
        let t = session.transcript();
        assert!(t[0].response.is_none());
        assert_eq!(t[0].error.as_deref(), Some(err_string_for(addr).as_str()));
        let partial = t[1].response.as_ref().unwrap();
        assert_eq!(
            (partial.status, partial.body.as_str(), partial.truncated),
            (200, "partial", true)
        );
    }

    fn err_string_for(addr: SocketAddr) -> String {
        format!("GET http://{addr}/hang?code=«redacted»: timed out after 200ms")
    }

    #[test]
    fn certificate_names_are_listed_plainly_and_bounded() {
        let names: Vec<String> = [
            "DnsName(\"a.example\")",
            "IpAddress(127.0.0.1)",
            "UniformResourceIdentifier(\"spiffe://x\")",
            "DirectoryName",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            presented_names(&names),
            "a.example, 127.0.0.1, spiffe://x, DirectoryName"
        );
        assert_eq!(presented_names(&[]), "no names at all");
        let many: Vec<String> = (0..9).map(|i| format!("DnsName(\"h{i}\")")).collect();
        assert_eq!(presented_names(&many), "h0, h1, h2, h3, h4, 4 more");
    }

    #[test]
    fn durations_display_compactly() {
        assert_eq!(fmt_duration(&Duration::from_secs(10)), "10s");
        assert_eq!(fmt_duration(&Duration::from_millis(200)), "200ms");
        assert_eq!(fmt_duration(&Duration::from_millis(1500)), "1.5s");
        let e = HttpError::Timeout {
            method: "GET".into(),
            url: "http://127.0.0.1:1234/x".into(),
            after: Duration::from_secs(10),
        };
        assert_eq!(
            e.to_string(),
            "GET http://127.0.0.1:1234/x: timed out after 10s"
        );
    }

    #[tokio::test]
    async fn connection_refused_names_the_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let session = client_for(addr, Limits::default(), Arc::new(Redactor::default())).session();
        let err = session
            .send("down", Request::get(url(addr, "/x")))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("GET http://{addr}/x: connection failed: ")),
            "{err}"
        );
        assert_eq!(session.request_count(), 1);
        assert!(session.transcript()[0].error.is_some());
    }

    fn cookie_app() -> Router {
        Router::new()
            .route(
                "/set",
                get(|| async {
                    (
                        [(
                            header::SET_COOKIE,
                            "sid=s3ss10n-value; Path=/; HttpOnly; SameSite=Lax",
                        )],
                        "set",
                    )
                }),
            )
            .route(
                "/echo",
                get(|headers: HeaderMap| async move {
                    headers
                        .get(header::COOKIE)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                }),
            )
    }

    #[tokio::test]
    async fn cookies_kept_within_a_session_not_shared_between_sessions() {
        let addr = serve(cookie_app()).await;
        let client = client_for(addr, Limits::default(), Arc::new(Redactor::default()));
        let alice = client.session();
        let bob = client.session();
        alice
            .send("set", Request::get(url(addr, "/set")))
            .await
            .unwrap();
        let echo = alice
            .send("echo", Request::get(url(addr, "/echo")))
            .await
            .unwrap();
        assert_eq!(echo.text(), "sid=s3ss10n-value");
        // A clone is the same session.
        let echo = alice
            .clone()
            .send("echo", Request::get(url(addr, "/echo")))
            .await
            .unwrap();
        assert_eq!(echo.text(), "sid=s3ss10n-value");
        assert_eq!(alice.request_count(), 3);
        assert_eq!(
            alice.cookies_for(&url(addr, "/")),
            vec![("sid".to_owned(), "s3ss10n-value".to_owned())]
        );
        let echo = bob
            .send("echo", Request::get(url(addr, "/echo")))
            .await
            .unwrap();
        assert_eq!(echo.text(), "");
        assert!(bob.cookies_for(&url(addr, "/")).is_empty());

        // Recorded: cookie names only.
        let t = alice.take_transcript();
        assert_eq!(t.len(), 3);
        assert!(alice.transcript().is_empty());
        assert_eq!(alice.request_count(), 3);
        let set = t[0].response.as_ref().unwrap();
        assert!(set.headers.contains(&(
            "set-cookie".into(),
            "sid=«redacted»; Path=/; HttpOnly; SameSite=Lax".into()
        )));
        assert!(
            t[1].request
                .headers
                .contains(&("cookie".into(), "sid=«redacted»".into()))
        );
        assert!(!format!("{t:?}").contains("s3ss10n"));
    }

    #[tokio::test]
    async fn transcript_holds_only_redacted_values() {
        let client_secret = "cl!ent-s3cr3t*(x)";
        let password = "p@ssw0rd with space";
        let access_token = "2YotnFZFEjr1zCsicMWpAA";
        let refresh_token = "tGzv3JOkF0XG5Qx2TlKWIA";
        let cookie = "c00kie-session-value";
        let app = Router::new().route(
            "/token",
            post(move |headers: HeaderMap, body: String| async move {
                // The server echoes what it got, as a careless one might.
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                (
                    [(
                        header::SET_COOKIE,
                        format!("sid={cookie}; HttpOnly; SameSite=Lax"),
                    )],
                    axum::Json(serde_json::json!({
                        "access_token": access_token,
                        "token_type": "Bearer",
                        "refresh_token": refresh_token,
                        "scope": "openid",
                        "echo": { "got": body, "authorization_was": auth },
                    })),
                )
                    .into_response()
            }),
        );
        let addr = serve(app).await;
        let redactor = Arc::new(Redactor::new(vec![
            client_secret.to_owned(),
            password.to_owned(),
        ]));
        let session = client_for(addr, Limits::default(), redactor.clone()).session();
        let req = Request::post_form(
            url(addr, "/token"),
            [
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", password),
                ("client_secret", client_secret),
                ("scope", "openid"),
            ],
        )
        .basic_auth("client-1", &Secret::new(client_secret));
        let basic_b64 = req.headers[0].1.trim_start_matches("Basic ").to_owned();
        let resp = session.send("token request", req).await.unwrap();
        let json = resp.json().unwrap();
        // The caller gets the real values.
        assert_eq!(json["access_token"], access_token);
        assert_eq!(
            resp.header("set-cookie").unwrap(),
            format!("sid={cookie}; HttpOnly; SameSite=Lax")
        );

        let t = session.transcript();
        let debug = format!("{t:?}");
        let serialized = serde_json::to_string(&t).unwrap();
        for secret in [
            client_secret,
            password,
            access_token,
            refresh_token,
            cookie,
            basic_b64.as_str(),
            &form_encode(client_secret),
            &form_encode(password),
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
            assert!(!serialized.contains(secret), "{secret} in {serialized}");
        }
        // Evidence that is not secret stays.
        let ex = &t[0];
        assert!(
            ex.request
                .headers
                .contains(&("authorization".into(), "Basic «redacted»".into()))
        );
        assert!(
            ex.request
                .body
                .as_deref()
                .unwrap()
                .contains("grant_type=password&username=alice")
        );
        assert!(ex.request.body.as_deref().unwrap().contains("scope=openid"));
        let body = &ex.response.as_ref().unwrap().body;
        assert!(body.contains("\"token_type\":\"Bearer\""), "{body}");
        assert!(body.contains("\"scope\":\"openid\""), "{body}");

        // Learned later, redacted retroactively.
        let id_token = "eyJhbGciOiJSUzI1NiJ9.later.learned";
        assert!(!serde_json::to_string(&t).unwrap().contains(id_token));
        redactor.add(id_token);
        assert!(!format!("{:?}", session.transcript()).contains(id_token));
    }

    #[tokio::test]
    async fn basic_auth_form_encodes_id_and_secret() {
        let req = Request::get(Url::parse("http://x/").unwrap())
            .header("Authorization", "Bearer old")
            .basic_auth("a b:c%", &Secret::new("a b:c%"));
        assert_eq!(req.headers.len(), 1);
        let expected = format!("Basic {}", STANDARD.encode("a+b%3Ac%25:a+b%3Ac%25"));
        assert_eq!(
            req.headers[0],
            ("authorization".to_owned(), expected.clone())
        );

        let app = Router::new().route(
            "/echo",
            get(|headers: HeaderMap| async move {
                headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            }),
        );
        let addr = serve(app).await;
        let session = client_for(addr, Limits::default(), Arc::new(Redactor::default())).session();
        let resp = session
            .send(
                "basic",
                Request::get(url(addr, "/echo")).basic_auth("a b:c%", &Secret::new("a b:c%")),
            )
            .await
            .unwrap();
        assert_eq!(resp.text(), expected);
        // The echo is recognised as the credential we sent.
        let recorded = &session.transcript()[0];
        assert_eq!(recorded.response.as_ref().unwrap().body, "Basic «redacted»");
    }

    #[tokio::test]
    async fn form_and_json_bodies_are_sent_as_asked() {
        let app = Router::new().route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let ct = headers
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                format!("{ct}|{body}")
            }),
        );
        let addr = serve(app).await;
        let session = client_for(addr, Limits::default(), Arc::new(Redactor::default())).session();
        let resp = session
            .send(
                "form",
                Request::post_form(url(addr, "/echo"), [("b", "1 2"), ("a", "&"), ("b", "3")]),
            )
            .await
            .unwrap();
        assert_eq!(
            resp.text(),
            "application/x-www-form-urlencoded|b=1+2&a=%26&b=3"
        );
        let resp = session
            .send(
                "json",
                Request::post_json(url(addr, "/echo"), serde_json::json!({"k": "v"})),
            )
            .await
            .unwrap();
        assert_eq!(resp.text(), "application/json|{\"k\":\"v\"}");
        let resp = session
            .send(
                "raw",
                Request::new(Method::POST, url(addr, "/echo")).body(Body::Raw {
                    content_type: "application/jwt".into(),
                    bytes: b"a.b.c".to_vec(),
                }),
            )
            .await
            .unwrap();
        assert_eq!(resp.text(), "application/jwt|a.b.c");
    }

    #[tokio::test]
    async fn long_response_bodies_are_recorded_as_an_excerpt() {
        let app = Router::new().route("/long", get(|| async { "é".repeat(5000) }));
        let addr = serve(app).await;
        let session = client_for(addr, Limits::default(), Arc::new(Redactor::default())).session();
        let resp = session
            .send("long", Request::get(url(addr, "/long")))
            .await
            .unwrap();
        assert_eq!(resp.text().chars().count(), 5000);
        let recorded = session.transcript()[0].response.clone().unwrap();
        assert_eq!(recorded.body.chars().count(), EXCERPT_CHARS);
        assert!(recorded.truncated);
    }

    #[test]
    fn excerpt_redacts_a_secret_straddling_the_cut() {
        let red = Redactor::new(vec!["straddling-secret-value".into()]);
        let mut body = "x".repeat(EXCERPT_CHARS - 5).into_bytes();
        body.extend_from_slice(b"straddling-secret-value and code=c0de-c0de");
        body.extend(std::iter::repeat_n(b'y', 2 * 1024 * 1024));
        let (text, cut) = redacted_excerpt(&red, &body);
        assert!(cut);
        assert_eq!(text.chars().count(), EXCERPT_CHARS - 5);
        assert!(text.ends_with("xxxxx"));
        assert!(!text.contains("strad"));
        let (text, cut) = redacted_excerpt(&red, b"code=abc");
        assert_eq!((text.as_str(), cut), ("code=«redacted»", false));
    }

    #[test]
    fn debug_of_requests_and_responses_hides_secrets() {
        let req = Request::post_form(
            Url::parse("http://x/t?code=abcdefgh").unwrap(),
            [("client_secret", "zzsecretzz")],
        )
        .bearer("tok-tok-tok");
        let d = format!("{req:?}");
        assert!(
            !d.contains("zzsecretzz") && !d.contains("tok-tok") && !d.contains("abcdefgh"),
            "{d}"
        );
        let resp = Response {
            status: 200,
            headers: vec![("set-cookie".into(), "sid=cookieval".into())],
            body: b"{\"access_token\":\"zzz\"}".to_vec(),
            final_url: Url::parse("http://x/").unwrap(),
        };
        let d = format!("{resp:?}");
        assert!(!d.contains("cookieval") && !d.contains("zzz"), "{d}");
    }

    #[test]
    fn response_helpers() {
        let resp = Response {
            status: 303,
            headers: vec![
                ("location".into(), "../cb?x=1".into()),
                ("set-cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
            ],
            body: b"{\"a\":1}".to_vec(),
            final_url: Url::parse("https://as.example/oauth/authorize?y=2").unwrap(),
        };
        assert!(resp.is_redirect());
        assert_eq!(
            resp.location().unwrap().as_str(),
            "https://as.example/cb?x=1"
        );
        assert_eq!(resp.header("Set-Cookie"), Some("a=1"));
        assert_eq!(resp.header_all("SET-COOKIE"), vec!["a=1", "b=2"]);
        assert_eq!(resp.json().unwrap()["a"], 1);
        let not = Response {
            status: 304,
            ..resp.clone()
        };
        assert!(!not.is_redirect());
    }

    /// A request's method, content type and body, as the server received it.
    type Received = (String, Option<String>, Vec<u8>);

    /// What the flaky server saw.
    #[derive(Clone, Default)]
    struct Seen {
        hits: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<Received>>>,
    }

    /// A server whose first `failures` answers (every answer when `None`) are `status`, with
    /// `Retry-After: retry_after` when given; then 200 "ok".
    async fn flaky(
        status: u16,
        retry_after: Option<&'static str>,
        failures: Option<usize>,
    ) -> (SocketAddr, Seen) {
        let seen = Seen::default();
        let state = seen.clone();
        let app = Router::new().fallback(
            move |method: axum::http::Method, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let n = state.hits.fetch_add(1, Ordering::SeqCst);
                    let content_type = headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    state.requests.lock().unwrap().push((
                        method.to_string(),
                        content_type,
                        body.to_vec(),
                    ));
                    if failures.is_none_or(|f| n < f) {
                        let mut resp =
                            (StatusCode::from_u16(status).unwrap(), "busy").into_response();
                        if let Some(v) = retry_after {
                            resp.headers_mut().insert(
                                header::RETRY_AFTER,
                                axum::http::HeaderValue::from_static(v),
                            );
                        }
                        resp
                    } else {
                        "ok".into_response()
                    }
                }
            },
        );
        (serve(app).await, seen)
    }

    fn polite_client(addr: SocketAddr, politeness: Politeness) -> ScanClient {
        ScanClient::with_politeness(
            vec![url(addr, "/").origin()],
            Limits::default(),
            TlsConfig::default(),
            Arc::new(Redactor::default()),
            politeness,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_429_is_sent_again_after_its_retry_after_and_each_retry_is_marked() {
        let (addr, seen) = flaky(429, Some("0"), Some(2)).await;
        let client = client_for(addr, Limits::default(), Arc::new(Redactor::default()));
        let session = client.session();
        let resp = session
            .send("metadata", Request::get(url(addr, "/x")))
            .await
            .unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (200, "ok"));
        assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
        let t = session.transcript();
        let statuses: Vec<u16> = t
            .iter()
            .map(|e| e.response.as_ref().unwrap().status)
            .collect();
        assert_eq!(statuses, [429, 429, 200]);
        assert!(
            t.iter()
                .all(|e| e.step == "metadata" && e.not_retried.is_none())
        );
        assert_eq!(t[0].retry, None);
        for (i, e) in t.iter().enumerate().skip(1) {
            assert_eq!(
                e.retry,
                Some(Retry {
                    number: i as u32,
                    after_status: 429,
                    waited_ms: 0,
                    wait_from: "Retry-After: 0 s".into(),
                })
            );
        }
        assert_eq!(client.retries(), 2);
        assert_eq!(session.request_count(), 3);
        let json = serde_json::to_value(&t[1]).unwrap();
        assert_eq!(json["retry"]["number"], 1, "{json}");
        assert!(serde_json::to_value(&t[0]).unwrap().get("retry").is_none());
    }

    #[tokio::test]
    async fn a_503_that_never_ends_is_returned_after_the_retries_and_then_not_retried_there() {
        let (addr, seen) = flaky(503, Some("0"), None).await;
        let client = client_for(addr, Limits::default(), Arc::new(Redactor::default()));
        let session = client.session();
        let resp = session
            .send("token", Request::get(url(addr, "/token")))
            .await
            .unwrap();
        assert_eq!(resp.status, 503);
        let t = session.take_transcript();
        assert_eq!(t.len(), 1 + DEFAULT_RETRIES as usize);
        assert!(t[..3].iter().all(|e| e.not_retried.is_none()));
        let why = t[3].not_retried.as_deref().unwrap();
        assert!(why.contains("no retries left"), "{why}");
        assert_eq!(t[3].retry.as_ref().map(|r| r.number), Some(3));
        assert_eq!(client.retries(), 3);
        // Every retry spent at this endpoint STOP_RETRYING_AFTER times: no more retries there.
        for _ in 1..STOP_RETRYING_AFTER {
            session
                .send("token", Request::get(url(addr, "/token")))
                .await
                .unwrap();
        }
        let sent = seen.hits.load(Ordering::SeqCst);
        assert_eq!(sent, STOP_RETRYING_AFTER * (1 + DEFAULT_RETRIES as usize));
        session.take_transcript();
        let resp = session
            .send("token", Request::get(url(addr, "/token")))
            .await
            .unwrap();
        assert_eq!(resp.status, 503);
        assert_eq!(seen.hits.load(Ordering::SeqCst), sent + 1);
        let t = session.transcript();
        assert_eq!(t.len(), 1);
        let why = t[0].not_retried.as_deref().unwrap();
        assert!(why.contains("stops retrying"), "{why}");
        // Another endpoint of the same server is still retried.
        session
            .send("other", Request::get(url(addr, "/other")))
            .await
            .unwrap();
        assert_eq!(session.transcript().len(), 1 + 1 + DEFAULT_RETRIES as usize);
    }

    #[tokio::test]
    async fn a_post_is_sent_again_with_the_same_body_and_headers() {
        let (addr, seen) = flaky(503, Some("0"), Some(1)).await;
        let redactor = Arc::new(Redactor::new(vec!["s3cret".to_string()]));
        let client = client_for(addr, Limits::default(), redactor);
        let session = client.session();
        let form = Request::post_form(
            url(addr, "/token"),
            [("grant_type", "authorization_code"), ("code", "abc def&x")],
        )
        .basic_auth("id", &Secret::new("s3cret"));
        assert_eq!(session.send("form", form).await.unwrap().status, 200);
        let json = Request::post_json(url(addr, "/par"), serde_json::json!({"a": [1, "é"]}));
        assert_eq!(session.send("json", json).await.unwrap().status, 200);
        let requests = seen.requests.lock().unwrap().clone();
        // The server failed only its first answer: the form was sent twice, the JSON once.
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0], requests[1]);
        assert_eq!(requests[0].0, "POST");
        assert_eq!(
            requests[0].1.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            requests[0].2,
            b"grant_type=authorization_code&code=abc+def%26x"
        );
        let t = session.transcript();
        assert_eq!(t[0].request, t[1].request);
        assert!(t.iter().all(|e| !format!("{e:?}").contains("s3cret")));
    }

    #[tokio::test]
    async fn no_retry_when_the_server_asks_too_long_a_wait_past_the_deadline_or_with_retries_off() {
        // Retry-After longer than the scanner waits: the answer is the caller's, as it is.
        let (addr, seen) = flaky(429, Some("3600"), None).await;
        let client = client_for(addr, Limits::default(), Arc::new(Redactor::default()));
        let session = client.session();
        let resp = session
            .send("a", Request::get(url(addr, "/a")))
            .await
            .unwrap();
        assert_eq!(resp.status, 429);
        let why = session.take_transcript()[0].not_retried.clone().unwrap();
        assert!(
            why.contains("Retry-After: 3600 s") && why.contains("longer"),
            "{why}"
        );

        // A wait the scanner would give, but past the scan's deadline.
        let (addr, _) = flaky(503, Some("5"), None).await;
        let client = client_for(addr, Limits::default(), Arc::new(Redactor::default()));
        client.set_deadline(tokio::time::Instant::now() + Duration::from_secs(2));
        let session = client.session();
        assert_eq!(
            session
                .send("b", Request::get(url(addr, "/b")))
                .await
                .unwrap()
                .status,
            503
        );
        let why = session.take_transcript()[0].not_retried.clone().unwrap();
        assert!(why.contains("deadline"), "{why}");

        // --retries 0.
        let (addr, other) = flaky(429, Some("0"), None).await;
        let client = polite_client(
            addr,
            Politeness {
                retries: 0,
                ..Politeness::default()
            },
        );
        let session = client.session();
        assert_eq!(
            session
                .send("c", Request::get(url(addr, "/c")))
                .await
                .unwrap()
                .status,
            429
        );
        assert_eq!(other.hits.load(Ordering::SeqCst), 1);
        let why = session.take_transcript()[0].not_retried.clone().unwrap();
        assert!(why.contains("--retries 0"), "{why}");
        assert_eq!(client.retries(), 0);
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_wait_is_the_servers_retry_after_else_a_doubling_backoff_within_the_cap() {
        let cap = Duration::from_secs(10);
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let wait = |ra: Option<&str>, n| retry_wait(ra, n, cap, now);
        let backoff: Vec<Duration> = (1..=5).map(|n| wait(None, n).unwrap().wait).collect();
        assert_eq!(
            backoff,
            [500, 1000, 2000, 4000, 8000].map(Duration::from_millis)
        );
        assert_eq!(wait(None, 9).unwrap().wait, cap);
        assert_eq!(wait(None, u32::MAX).unwrap().wait, cap);
        let plan = wait(None, 1).unwrap();
        assert_eq!(
            (plan.wait_from.as_str(), plan.from_server),
            ("backoff", false)
        );
        assert_eq!(
            wait(Some(" 7 "), 1),
            Ok(RetryPlan {
                wait: Duration::from_secs(7),
                wait_from: "Retry-After: 7 s".into(),
                from_server: true,
            })
        );
        assert_eq!(wait(Some("10"), 3).unwrap().wait, cap);
        assert!(
            wait(Some("11"), 1)
                .unwrap_err()
                .contains("longer than the 10 s")
        );
        assert!(
            wait(Some(&"9".repeat(40)), 1)
                .unwrap_err()
                .contains("too large")
        );
        // An HTTP-date (IMF-fixdate, and the obsolete forms httpdate reads).
        let plan = wait(Some("Wed, 21 Oct 2015 07:28:03 GMT"), 1).unwrap();
        assert_eq!(plan.wait, Duration::from_secs(3));
        assert_eq!(plan.wait_from, "Retry-After: an HTTP-date, 3 s from now");
        assert_eq!(
            wait(Some("Wednesday, 21-Oct-15 07:28:05 GMT"), 1)
                .unwrap()
                .wait,
            Duration::from_secs(5)
        );
        // A date already past: no wait; a date beyond the cap: no retry.
        assert_eq!(
            wait(Some("Wed, 21 Oct 2015 07:00:00 GMT"), 1).unwrap().wait,
            Duration::ZERO
        );
        assert!(wait(Some("Thu, 22 Oct 2015 07:28:00 GMT"), 1).is_err());
        // Unreadable: as if absent.
        for junk in ["", "-1", "1.5", "soon", "\u{1b}[2J"] {
            assert_eq!(
                wait(Some(junk), 2).unwrap().wait_from,
                "backoff",
                "{junk:?}"
            );
        }
    }

    #[test]
    fn the_pacer_spaces_requests_per_origin_and_honours_a_hold() {
        let t0 = tokio::time::Instant::now();
        let ms = Duration::from_millis;
        let pacer = Pacer::new(NonZeroU32::new(4));
        let a: Vec<Duration> = (0..5).map(|_| pacer.reserve("http://a", t0) - t0).collect();
        assert_eq!(a, [0, 250, 500, 750, 1000].map(ms));
        // Another origin has its own schedule.
        assert_eq!(pacer.reserve("http://b", t0), t0);
        // Idle time banks no burst: after a pause, the next goes now, the one after 250 ms on.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(pacer.reserve("http://a", later), later);
        assert_eq!(pacer.reserve("http://a", later), later + ms(250));
        // A server's Retry-After holds the origin, whatever the rate.
        pacer.hold("http://b", later + ms(3000));
        assert_eq!(pacer.reserve("http://b", later), later + ms(3000));
        assert_eq!(pacer.reserve("http://b", later), later + ms(3250));
        // A hold never brings a schedule forward.
        pacer.hold("http://b", later);
        assert_eq!(pacer.reserve("http://b", later), later + ms(3500));

        // No rate: every request goes at once, except during a hold.
        let free = Pacer::new(None);
        assert_eq!(free.reserve("http://a", t0), t0);
        assert_eq!(free.reserve("http://a", t0), t0);
        free.hold("http://a", t0 + ms(100));
        assert_eq!(free.reserve("http://a", t0), t0 + ms(100));
        assert_eq!(free.reserve("http://a", t0), t0 + ms(100));
        assert_eq!(free.reserve("http://a", t0 + ms(200)), t0 + ms(200));
        assert_eq!(free.reserve("http://c", t0), t0);
    }

    #[tokio::test]
    async fn the_rate_is_per_origin_across_every_session_of_a_client() {
        let (addr, seen) = flaky(200, None, Some(0)).await;
        let client = polite_client(
            addr,
            Politeness {
                rps: NonZeroU32::new(50),
                ..Politeness::default()
            },
        );
        let interval = Duration::from_millis(20);
        let (one, two) = (client.session(), client.session().with_fresh_jar());
        let before = tokio::time::Instant::now();
        let sends = (0..4).map(|i| {
            let session = if i % 2 == 0 { one.clone() } else { two.clone() };
            async move { session.send("x", Request::get(url(addr, "/x"))).await }
        });
        for r in futures::future::join_all(sends).await {
            assert_eq!(r.unwrap().status, 200);
        }
        assert_eq!(seen.hits.load(Ordering::SeqCst), 4);
        // Four slots were taken from one schedule for the origin: the next free one is at
        // least four intervals past the first, which was no earlier than `before`.
        let origin = url(addr, "/").origin().ascii_serialization();
        let next = client.shared.pacer.reserve(&origin, before);
        assert!(next >= before + interval * 4, "{:?}", next - before);
    }
}
