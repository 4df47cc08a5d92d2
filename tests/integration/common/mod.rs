//! Shared test harness: a lab on 127.0.0.1:0 and a cookie-keeping client that walks its pages.

#![allow(dead_code)]

pub mod reference;

use oauthprobe::lab::{self, LabOptions, RunningLab, Weakness, Weaknesses};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

/// The binary under test, without the user's log or colour settings, nor any option the
/// developer's environment sets (`OAUTHPROBE_ONLY`, ...; see [`inherited_option_vars`]).
pub fn oauthprobe() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oauthprobe"));
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    for name in inherited_option_vars() {
        cmd.env_remove(name);
    }
    cmd
}

/// The `OAUTHPROBE_*` variables of this process's environment that set an option of the
/// binary. Secrets the target files name (`OAUTHPROBE_PASSWORD`, `OAUTHPROBE_CLIENT_SECRET`)
/// and the tests' own switches (`OAUTHPROBE_FUZZ_*`, `OAUTHPROBE_SCREENSHOT_DIR`) are no
/// option's, so they stay.
pub fn inherited_option_vars() -> Vec<std::ffi::OsString> {
    static OPTIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let options = OPTIONS.get_or_init(oauthprobe::cli::option_env_vars);
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            name.to_str()
                .is_some_and(|n| options.iter().any(|o| o == n))
        })
        .collect()
}

/// Runs a command (the binary) off the async runtime, so the labs and servers this test
/// process runs keep answering it meanwhile.
pub async fn run(mut cmd: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .expect("the blocking task ends")
}

/// Under `CI=true` a missing test dependency is a failure, not a skip.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A server on 127.0.0.1:0 that counts every request it gets and answers `body`: the origin a
/// scan must never reach (a canary, a bystander, the client behind the redirect_uri).
pub async fn counting_server(
    body: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { body }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (base, hits)
}

pub async fn spawn_lab(weak: &[Weakness]) -> RunningLab {
    spawn_lab_with(LabOptions {
        weaknesses: weak.iter().copied().collect::<Weaknesses>(),
        ..LabOptions::default()
    })
    .await
}

pub async fn spawn_lab_with(opts: LabOptions) -> RunningLab {
    lab::start(LabOptions { port: 0, ..opts })
        .await
        .expect("the lab starts on 127.0.0.1:0")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .cookie_store(true)
        .build()
        .expect("reqwest client")
}

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).ok()?;
    doc.select(&sel)
        .next()?
        .value()
        .attr("value")
        .map(str::to_string)
}

pub fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The parameters of an authorization request, with the lab's demo client by default.
#[derive(Clone)]
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
}

impl AuthRequest {
    /// A complete request for `client_id`: its first redirect URI, openid scope, a state and an S256 challenge.
    pub fn new(lab: &RunningLab, client_id: &str) -> (Self, String) {
        let client = lab.client(client_id).expect("client exists");
        let (verifier, challenge) = oauthprobe::crypto::pkce_pair();
        let req = AuthRequest {
            params: vec![
                ("response_type".into(), "code".into()),
                ("client_id".into(), client_id.into()),
                ("redirect_uri".into(), client.redirect_uris[0].clone()),
                ("scope".into(), "openid profile".into()),
                ("state".into(), "st-123".into()),
                ("nonce".into(), "n-456".into()),
                ("code_challenge".into(), challenge),
                ("code_challenge_method".into(), "S256".into()),
            ],
        };
        (req, verifier)
    }

    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.into(), value.into()));
        self
    }

    pub fn add(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        self
    }

    pub fn url(&self, lab: &RunningLab) -> Url {
        let mut url = lab.base_url().join("authorize").expect("url");
        url.query_pairs_mut()
            .extend_pairs(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        url
    }
}

/// What the server did with an authorization request once the user signed in and decided.
#[derive(Debug)]
pub enum Outcome {
    /// Redirected back to the client: the Location header.
    Redirect(Url),
    /// Showed its own page: status and body.
    Page(StatusCode, String),
}

impl Outcome {
    pub fn location(&self) -> &Url {
        match self {
            Outcome::Redirect(u) => u,
            Outcome::Page(status, body) => {
                panic!("expected a redirect, got a {status} page: {body}")
            }
        }
    }

    pub fn code(&self) -> String {
        query(self.location(), "code").unwrap_or_else(|| panic!("no code in {}", self.location()))
    }
}

pub struct Browser {
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new() -> Self {
        Browser { http: http() }
    }

    /// Sends the authorization request, signs in if asked, and approves (or denies) consent.
    pub async fn authorize(&self, lab: &RunningLab, req: &AuthRequest, approve: bool) -> Outcome {
        let resp = self.http.get(req.url(lab)).send().await.expect("authorize");
        self.walk(lab, resp, approve).await
    }

    async fn walk(&self, lab: &RunningLab, mut resp: reqwest::Response, approve: bool) -> Outcome {
        for _ in 0..5 {
            let status = resp.status();
            if status.is_redirection() {
                let location = resp.headers()["location"].to_str().expect("ascii location");
                let url = resp.url().join(location).expect("location url");
                if url.origin() == lab.base_url().origin()
                    && !url.path().starts_with("/app")
                    && !url.path().starts_with("/partner")
                    && !url.path().starts_with("/native")
                {
                    resp = self.http.get(url).send().await.expect("follow");
                    continue;
                }
                return Outcome::Redirect(url);
            }
            let body = resp.text().await.expect("body");
            if status == StatusCode::OK && body.contains("id=\"login-form\"") {
                let rid = hidden(&body, "request_id").expect("request_id");
                let user = lab.user();
                resp = self
                    .http
                    .post(lab.base_url().join("login").unwrap())
                    .form(&[
                        ("request_id", rid.as_str()),
                        ("username", &user.username),
                        ("password", &user.password),
                    ])
                    .send()
                    .await
                    .expect("login");
                continue;
            }
            if status == StatusCode::OK && body.contains("id=\"consent-form\"") {
                let rid = hidden(&body, "request_id").expect("request_id");
                let csrf = hidden(&body, "csrf_token").expect("csrf");
                let decision = if approve { "approve" } else { "deny" };
                resp = self
                    .http
                    .post(lab.base_url().join("consent").unwrap())
                    .form(&[
                        ("request_id", rid.as_str()),
                        ("csrf_token", &csrf),
                        ("decision", decision),
                    ])
                    .send()
                    .await
                    .expect("consent");
                continue;
            }
            return Outcome::Page(status, body);
        }
        panic!("too many steps")
    }
}

/// A token request to the lab, authenticated as the client's registered method.
pub async fn token_request(
    lab: &RunningLab,
    client_id: &str,
    params: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let client = lab.client(client_id).expect("client");
    let mut form: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut req = http().post(lab.base_url().join("token").unwrap());
    match client.auth_method {
        oauthprobe::target::AuthMethod::ClientSecretBasic => {
            req = req.basic_auth(&client.id, client.secret.as_deref());
        }
        oauthprobe::target::AuthMethod::ClientSecretPost => {
            form.push(("client_id".into(), client.id.clone()));
            form.push((
                "client_secret".into(),
                client.secret.clone().unwrap_or_default(),
            ));
        }
        oauthprobe::target::AuthMethod::None => form.push(("client_id".into(), client.id.clone())),
    }
    let resp = req.form(&form).send().await.expect("token request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Redeems `code` as `client_id` with the redirect URI and verifier given.
pub async fn redeem(
    lab: &RunningLab,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        params.push(("code_verifier", v));
    }
    let (status, _, body) = token_request(lab, client_id, &params).await;
    (status, body)
}

pub async fn userinfo_status(lab: &RunningLab, access_token: &str) -> StatusCode {
    http()
        .get(lab.base_url().join("userinfo").unwrap())
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
        .status()
}

/// Tokens were issued: a 200 and an access_token in the body, never the status alone.
pub fn issued(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::OK && body["access_token"].as_str().is_some_and(|t| !t.is_empty())
}
