//! Dex v2.45.1 (dexidp/dex), its default web frontend: web/templates/header.html, footer.html,
//! login.html (the connector chooser), password.html, approval.html and error.html, and the
//! handlers of server/handlers.go at that tag (handleAuthorization, handleConnectorLogin,
//! handlePasswordLogin, finalizeLogin, handleApproval, sendCodeResponse), with the layout of
//! examples/config-dev.yaml: issuer path `/dex`, `enablePasswordDB: true` with the static user
//! admin@example.com / password, the client "Example App", `frontend.issuer` left at "dex".
//!
//! Which page the browser sees first is decided by the configured connectors
//! (handleAuthorization): with exactly one connector and `oauth2.alwaysShowLoginScreen: false`,
//! `/dex/auth` redirects straight to `/dex/auth/<id>`; with two or more (here the password DB,
//! which cmd/dex/serve.go adds as connector `local` named "Email", and a `github` connector
//! named "GitHub"), it renders login.html: one link per connector sorted by name, "Log in with
//! Email" and "Log in with GitHub", each a `<button>` inside an `<a href>` and no form. Each link
//! carries the request's parameters re-encoded by Go's `url.Values.Encode` (sorted by key).
//!
//! Then `GET /dex/auth/local?<query>` validates the request, stores an auth request (a 25-char
//! id) and answers 302 to `/dex/auth/local/login?back=<the chooser URL>&state=<auth request
//! id>`: a `state` that is Dex's, not the client's. The password page posts to its own URL
//! (PostURL = r.URL.String()); a wrong password re-renders it with HTTP 401 and "Invalid Email
//! Address and password.". Success is a 303 to `/dex/approval?req=<id>&hmac=<HMAC-SHA256 of the
//! id, base64url>`; the approval page holds two forms WITHOUT an action (they post to the
//! document URL, whose query carries the hmac Dex checks with r.FormValue), each with hidden
//! `req` and `approval` = `approve` / `rejected` and a button "Grant Access" / "Cancel".
//! Approving is a 303 to the redirect_uri with `code` and `state`. Cancelling is NOT an
//! OAuth error response: Dex renders its error page, HTTP 500 "Approval rejected.", and the
//! client never hears back (so this fixture's `can_deny` is false).
//!
//! Left out: the GitHub connector's upstream (its link leads to `/dex/auth/github`, which
//! redirects to a loopback stand-in for github.com on the discard port), static assets,
//! the token endpoint, the device flow, implicit and hybrid responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use ring::hmac;

use super::support::{self, Tally, esc};

const CLIENT_ID: &str = "example-app";
const CLIENT_NAME: &str = "Example App";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile email";
const EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "password";

#[derive(Clone)]
struct AuthRequest {
    state: String,
    scopes: Vec<String>,
    hmac_key: Vec<u8>,
    logged_in: bool,
}

#[derive(Clone, Default)]
struct Dex {
    requests: Arc<Mutex<HashMap<String, AuthRequest>>>,
    tally: Tally,
}

fn header(req_path: &str) -> String {
    // `url .ReqPath "..."`: asset paths relative to the page (server/templates.go relativeURL).
    let depth = req_path
        .trim_matches('/')
        .split('/')
        .count()
        .saturating_sub(2);
    let up = "../".repeat(depth);
    format!(
        r#"<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">
    <title>dex</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link href="{up}static/main.css" rel="stylesheet">
    <link href="{up}theme/styles.css" rel="stylesheet">
    <link rel="icon" href="{up}theme/favicon.png">
  </head>

  <body class="theme-body">
    <div class="theme-navbar">
      <div class="theme-navbar__logo-wrap">
        <img class="theme-navbar__logo" src="{up}theme/logo.png">
      </div>
    </div>

    <div class="dex-container">
"#
    )
}

const FOOTER: &str = "    </div>\n  </body>\n</html>\n";

fn render_error(req_path: &str, status: StatusCode, msg: &str) -> Response {
    support::html_status(
        status,
        format!(
            r#"{}
<div class="theme-panel">
  <h2 class="theme-heading">{}</h2>
  <p>{}</p>
</div>
{FOOTER}"#,
            header(req_path),
            status.canonical_reason().unwrap_or_default(),
            esc(msg)
        ),
    )
}

/// Go's url.Values.Encode: keys sorted, values in order, form encoding.
fn encode_sorted(pairs: &[(String, String)]) -> String {
    let mut pairs = pairs.to_vec();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// The urlencoded body of a POST, None for a GET.
fn post_body(method: &Method, body: &str) -> Option<Vec<(String, String)>> {
    (method == Method::POST).then(|| {
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect()
    })
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// GET /dex/auth: two connectors, so the chooser (handleAuthorization).
async fn auth(State(dex): State<Dex>, Query(query): Query<Vec<(String, String)>>) -> Response {
    dex.tally.hit("chooser");
    let mut form: Vec<(String, String)> = query;
    if let Some(id) = param(&form, "connector_id").map(str::to_string) {
        form.retain(|(k, _)| k != "connector_id");
        if id == "local" || id == "github" {
            return support::redirect(&format!("/dex/auth/{id}?{}", encode_sorted(&form)));
        }
        return render_error(
            "/dex/auth",
            StatusCode::BAD_REQUEST,
            "Connector ID does not match a valid Connector",
        );
    }
    let query = encode_sorted(&form);
    // templates.login sorts the connectors by name: Email, GitHub.
    let connectors: String = [("local", "Email", "local"), ("github", "GitHub", "github")]
        .iter()
        .map(|(id, name, typ)| {
            format!(
                r#"
      <div class="theme-form-row">
        <a href="{href}" target="_self">
          <button class="dex-btn theme-btn-provider">
            <span class="dex-btn-icon dex-btn-icon--{typ}"></span>
            <span class="dex-btn-text">Log in with {name}</span>
          </button>
        </a>
      </div>
    "#,
                href = esc(&format!("/dex/auth/{id}?{query}")),
            )
        })
        .collect();
    support::html(format!(
        r#"{}
<div class="theme-panel">
  <h2 class="theme-heading">Log in to dex </h2>
  <div>
    {connectors}
  </div>
</div>

{FOOTER}"#,
        header("/dex/auth")
    ))
}

/// GET /dex/auth/{connector} (handleConnectorLogin with parseAuthorizationRequest).
async fn connector_login(
    State(dex): State<Dex>,
    Path(connector): Path<String>,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let path = uri.path().to_string();
    let Some(redirect_uri) = param(&query, "redirect_uri") else {
        return render_error(&path, StatusCode::BAD_REQUEST, "No redirect_uri provided.");
    };
    if param(&query, "client_id") != Some(CLIENT_ID) {
        return render_error(&path, StatusCode::NOT_FOUND, "Invalid client_id.");
    }
    if redirect_uri != REDIRECT_URI {
        return render_error(&path, StatusCode::BAD_REQUEST, "Unregistered redirect_uri.");
    }
    let state = param(&query, "state").unwrap_or_default().to_string();
    let scopes: Vec<String> = param(&query, "scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let redirected = |error: &str, description: &str| {
        support::redirect_with(StatusCode::SEE_OTHER, &{
            let mut u = url::Url::parse(REDIRECT_URI).unwrap();
            u.query_pairs_mut()
                .append_pair("error", error)
                .append_pair("error_description", description)
                .append_pair("state", &state);
            u.to_string()
        })
    };
    if !scopes.iter().any(|s| s == "openid") {
        return redirected("invalid_scope", r#"Missing required scope(s) ["openid"]."#);
    }
    let known = ["openid", "profile", "email", "groups", "offline_access"];
    let unrecognized: Vec<&String> = scopes
        .iter()
        .filter(|s| !known.contains(&s.as_str()))
        .collect();
    if !unrecognized.is_empty() {
        return redirected(
            "invalid_scope",
            &format!("Unrecognized scope(s) {unrecognized:?}"),
        );
    }
    match param(&query, "response_type") {
        Some("code") => {}
        None => return redirected("invalid_request", "No response_type provided"),
        Some(other) => {
            return redirected(
                "unsupported_response_type",
                &format!("Unsupported response type {other:?}"),
            );
        }
    }
    if connector != "local" && connector != "github" {
        return render_error(
            &path,
            StatusCode::BAD_REQUEST,
            "Connector failed to initialize",
        );
    }
    // storage.NewID(): 16 random bytes, base32 without padding, lowercase.
    let id: String = support::token()
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(25)
        .collect();
    let mut key = support::token().into_bytes();
    key.extend(support::token().into_bytes());
    dex.requests.lock().unwrap().insert(
        id.clone(),
        AuthRequest {
            state,
            scopes,
            hmac_key: key,
            logged_in: false,
        },
    );
    if connector == "github" {
        dex.tally.hit("github chosen");
        // A CallbackConnector: off to the upstream's authorize URL (github.com in real life,
        // a loopback stand-in where nothing listens here).
        return support::redirect(&format!(
            "http://127.0.0.1:9/login/oauth/authorize?client_id=dex-github&redirect_uri={}&response_type=code&scope=user%3Aemail&state={id}",
            support::enc("http://127.0.0.1/dex/callback")
        ));
    }
    dex.tally.hit("password connector");
    let back = format!("/dex/auth?{}", encode_sorted(&query));
    let login = format!(
        "/dex/auth/local/login?{}",
        encode_sorted(&[("state".into(), id), ("back".into(), back)])
    );
    support::redirect(&login)
}

fn password_page(post_url: &str, back: &str, username: &str, invalid: bool) -> String {
    let value = if username.is_empty() {
        " autofocus ".to_string()
    } else {
        format!(r#"  value="{}" "#, esc(username))
    };
    let pw_autofocus = if invalid { " autofocus " } else { "" };
    let error = if invalid {
        r#"
      <div id="login-error" class="dex-error-box">
        Invalid Email Address and password.
      </div>
    "#
    } else {
        ""
    };
    let back = if back.is_empty() {
        String::new()
    } else {
        format!(
            r#"
  <div class="theme-link-back">
    <a class="dex-subtle-text" href="{}">Select another login method.</a>
  </div>
  "#,
            esc(back)
        )
    };
    format!(
        r#"{header}
<div class="theme-panel">
  <h2 class="theme-heading">Log in to Your Account</h2>
  <form method="post" action="{post_url}">
    <div class="theme-form-row">
      <div class="theme-form-label">
        <label for="login">Email Address</label>
      </div>
	  <input tabindex="1" required id="login" name="login" type="text" class="theme-form-input" placeholder="email address" {value}/>
    </div>
    <div class="theme-form-row">
      <div class="theme-form-label">
        <label for="password">Password</label>
      </div>
	  <input tabindex="2" required id="password" name="password" type="password" class="theme-form-input" placeholder="password" {pw_autofocus}/>
    </div>

    {error}

    <button tabindex="3" id="submit-login" type="submit" class="dex-btn theme-btn--primary">Login</button>

  </form>
  {back}
</div>


<script type="text/javascript">
  document.querySelector('form').onsubmit = function(e) {{
    var el = document.querySelector('#submit-login');
    el.setAttribute('disabled', 'disabled');
  }};
</script>

{FOOTER}"#,
        header = header("/dex/auth/local/login"),
        post_url = esc(post_url),
    )
}

fn mac(key: &[u8], id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac::sign(&key, id.as_bytes()))
}

/// GET and POST /dex/auth/{connector}/login (handlePasswordLogin).
async fn password_login(
    State(dex): State<Dex>,
    Path(connector): Path<String>,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
    method: Method,
    body: String,
) -> Response {
    let form = post_body(&method, &body);
    let path = uri.path().to_string();
    let post_url = uri.to_string();
    let Some(id) = param(&query, "state").filter(|s| !s.is_empty()) else {
        return render_error(&path, StatusCode::BAD_REQUEST, "User session error.");
    };
    let back = param(&query, "back").unwrap_or_default();
    let Some(req) = dex.requests.lock().unwrap().get(id).cloned() else {
        return render_error(
            &path,
            StatusCode::BAD_REQUEST,
            "Requested resource does not exist.",
        );
    };
    if connector != "local" {
        return render_error(
            &path,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Requested resource does not exist.",
        );
    }
    let Some(form) = form else {
        dex.tally.hit("password page");
        return support::html(password_page(&post_url, back, "", false));
    };
    let username = param(&form, "login").unwrap_or_default();
    if !(username == EMAIL && param(&form, "password") == Some(PASSWORD)) {
        dex.tally.hit("wrong password");
        return support::html_status(
            StatusCode::UNAUTHORIZED,
            password_page(&post_url, back, username, true),
        );
    }
    dex.tally.hit("signed in");
    if let Some(r) = dex.requests.lock().unwrap().get_mut(id) {
        r.logged_in = true;
    }
    let to = format!("/dex/approval?req={id}&hmac={}", mac(&req.hmac_key, id));
    support::redirect_with(StatusCode::SEE_OTHER, &to)
}

/// GET and POST /dex/approval (handleApproval, sendCodeResponse).
async fn approval(
    State(dex): State<Dex>,
    Query(query): Query<Vec<(String, String)>>,
    method: Method,
    body: String,
) -> Response {
    let path = "/dex/approval";
    // r.FormValue: the body first, then the query.
    let body = post_body(&method, &body);
    let value = |name: &str| -> Option<String> {
        body.as_deref()
            .and_then(|b| param(b, name))
            .or_else(|| param(&query, name))
            .map(str::to_string)
    };
    let Some(mac_b64) = value("hmac").filter(|s| !s.is_empty()) else {
        return render_error(path, StatusCode::UNAUTHORIZED, "Unauthorized request");
    };
    let id = value("req").unwrap_or_default();
    let Some(req) = dex.requests.lock().unwrap().get(&id).cloned() else {
        return render_error(path, StatusCode::INTERNAL_SERVER_ERROR, "Database error.");
    };
    if !req.logged_in {
        return render_error(
            path,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Login process not yet finalized.",
        );
    }
    if mac(&req.hmac_key, &id) != mac_b64 {
        return render_error(path, StatusCode::UNAUTHORIZED, "Unauthorized request");
    }
    let Some(body) = body.as_deref() else {
        dex.tally.hit("approval page");
        let mut accesses: Vec<&str> = req
            .scopes
            .iter()
            .filter_map(|s| match s.as_str() {
                "offline_access" => Some("Have offline access"),
                "profile" => Some("View basic profile information"),
                "email" => Some("View your email address"),
                "groups" => Some("View your groups"),
                _ => None,
            })
            .collect();
        accesses.sort();
        let scopes = if accesses.is_empty() {
            format!(
                r#"<div class="dex-subtle-text">{CLIENT_NAME} has not requested any personal information</div>"#
            )
        } else {
            let items: String = accesses
                .iter()
                .map(|a| format!("\n      <li>{a}</li>\n      "))
                .collect();
            format!(
                r#"<div class="dex-subtle-text">{CLIENT_NAME} would like to:</div>
    <ul class="dex-list">
      {items}
    </ul>"#
            )
        };
        return support::html(format!(
            r#"{header}
<div class="theme-panel">
  <h2 class="theme-heading">Grant Access</h2>

  <hr class="dex-separator">
  <div>
    {scopes}
  </div>
  <hr class="dex-separator">

  <div>
    <div class="theme-form-row">
      <form method="post">
        <input type="hidden" name="req" value="{id}"/>
        <input type="hidden" name="approval" value="approve">
        <button type="submit" class="dex-btn theme-btn--success">
            <span class="dex-btn-text">Grant Access</span>
        </button>
      </form>
    </div>
    <div class="theme-form-row">
      <form method="post">
        <input type="hidden" name="req" value="{id}"/>
        <input type="hidden" name="approval" value="rejected">
        <button type="submit" class="dex-btn theme-btn-provider">
            <span class="dex-btn-text">Cancel</span>
        </button>
      </form>
    </div>
  </div>

</div>

{FOOTER}"#,
            header = header(path),
        ));
    };
    if param(body, "approval") != Some("approve") {
        dex.tally.hit("rejected");
        return render_error(
            path,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Approval rejected.",
        );
    }
    // sendCodeResponse: the auth request is deleted, a code is stored, 303 to the client.
    dex.requests.lock().unwrap().remove(&id);
    dex.tally.hit("code");
    let code: String = support::token()
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(25)
        .collect();
    let mut u = url::Url::parse(REDIRECT_URI).unwrap();
    let mut pairs = vec![("code".to_string(), code), ("state".to_string(), req.state)];
    pairs.sort();
    u.set_query(Some(&encode_sorted(&pairs)));
    support::redirect_with(StatusCode::SEE_OTHER, u.as_str())
}

async fn not_found(headers: HeaderMap) -> Response {
    let _ = headers;
    support::html_status(StatusCode::NOT_FOUND, "404 page not found\n".to_string())
}

async fn start_with(dex: Dex) -> super::Fixture {
    let router = Router::new()
        .route("/dex/auth", get(auth))
        .route("/dex/auth/{connector}", get(connector_login))
        .route(
            "/dex/auth/{connector}/login",
            get(password_login).post(password_login),
        )
        .route("/dex/approval", get(approval).post(approval))
        .fallback(not_found)
        .with_state(dex);
    let (base, task) = support::serve(router).await;
    super::Fixture {
        reproduces: "Dex v2.45.1 web/templates: login.html (two connectors), password.html, approval.html",
        authorize: base.join("/dex/auth").unwrap(),
        client_id: CLIENT_ID.to_string(),
        redirect_uri: REDIRECT_URI.to_string(),
        scope: SCOPE.to_string(),
        username: EMAIL.to_string(),
        password: PASSWORD.to_string(),
        login_origins: Vec::new(),
        can_deny: false,
        servers: vec![task],
    }
}

pub async fn start() -> super::Fixture {
    start_with(Dex::default()).await
}

#[tokio::test]
async fn dex_reaches_a_code() {
    super::prove(start().await).await
}

/// The chooser offers GitHub first in no way but alphabetically second; the scanner must take
/// the password connector, and pressing Cancel must never produce a code (Dex shows an error
/// page, the client is not told).
#[tokio::test]
async fn dex_picks_the_password_connector_and_cancel_gives_no_code() {
    use oauthprobe::flow::authorize::Consent;
    let dex = Dex::default();
    let fixture = start_with(dex.clone()).await;
    let (_, outcome) = super::sign_in(&fixture, &fixture.password, Consent::Approve).await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(dex.tally.count("github chosen"), 0);
    assert_eq!(dex.tally.count("password connector"), 1);

    let (_, outcome) = super::sign_in(&fixture, &fixture.password, Consent::Deny).await;
    if let Ok(outcome) = &outcome {
        assert!(
            outcome.code().is_none(),
            "Cancel gave a code: {}",
            outcome.describe()
        );
    }
    assert_eq!(dex.tally.count("code"), 1, "a code was issued after Cancel");
}

/// The same server entered past the chooser, at the link "Log in with Email" points to
/// (`/dex/auth/local`, which is also what a client gets by sending `connector_id=local`): the
/// password page, its own-URL POST with Dex's `state`, and the action-less approval forms.
#[tokio::test]
async fn dex_past_the_chooser_reaches_a_code() {
    let mut fixture = start().await;
    fixture.authorize = fixture.authorize.join("/dex/auth/local").unwrap();
    super::prove(fixture).await
}
