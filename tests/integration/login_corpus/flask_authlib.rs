//! Authlib's example OAuth 2.0 server (github.com/authlib/example-oauth2-server at d1f3558,
//! December 2025, Flask 3 / Werkzeug 3 / Authlib 1.x).
//!
//! Reproduces, as rendered (both templates are bare fragments, no `<html>`):
//! - website/templates/home.html, the anonymous branch: `<form action="" method="post">` with a
//!   single `username` text input and a "Login / Signup" button. There is no password: the
//!   sign-in creates the account when the name is new;
//! - website/templates/authorize.html: the client name and requested scope, then
//!   `<form action="" method="post">` with an unticked `confirm` checkbox labelled "Consent?"
//!   and a nameless "Submit" `<button>` (the `{% if not user %}` username field never shows:
//!   an anonymous browser never gets this page).
//!
//! Behaviour, from website/routes.py: `/oauth/authorize` sends an anonymous browser to
//! `url_for("home.home", next=request.url)` (a relative `/?next=<absolute URL>`, quoted by
//! Werkzeug with `safe="!$'()*,/:;?@"`), with Werkzeug's "Redirecting..." body; the sign-in
//! POST goes to the page's own URL, so only a submission that keeps the document's query
//! carries `next`, and answers 302 to `next` (else to `/`); the consent POST also goes to the
//! page's own URL, and Authlib reads the authorization request from its query; with the box
//! ticked it answers 302 to the redirect_uri with `code` and `state`. Unticked, the form lacks
//! `confirm`, and `request.form["confirm"]` raises Werkzeug's `BadRequestKeyError`: HTTP 400,
//! not `access_denied` (the page offers no refusal that reaches the client). From
//! website/oauth2.py: the code grant requires PKCE (`CodeChallenge(required=True)`).
//! Flask's session is a signed client-side cookie named `session`; here an opaque id.
//!
//! Left out: the client-management pages, the token and revocation endpoints.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oauthprobe::flow::authorize::Consent;

use super::Fixture;
use super::support::{self, Sessions, Tally, esc, html, html_status, set_cookie, to_client};

const CLIENT_ID: &str = "oqHBy4WH5u3sZEdgmXSz5bXQ";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "profile";
const USERNAME: &str = "alice";

#[derive(Clone, Default)]
struct App {
    sessions: Sessions,
    tally: Tally,
}

pub async fn start() -> Fixture {
    serve(App::default()).await
}

async fn serve(app: App) -> Fixture {
    let router = Router::new()
        .route("/", get(home_get).post(home_post))
        .route("/oauth/authorize", get(authorize_get).post(authorize_post))
        .with_state(app);
    let (base, task) = support::serve(router).await;
    Fixture {
        reproduces: "Authlib example-oauth2-server: home.html (username only), authorize.html \
                     (Consent? checkbox)",
        authorize: base.join("/oauth/authorize").expect("url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: SCOPE.into(),
        username: USERNAME.into(),
        // The server asks for none; the target file still holds one.
        password: "unused-by-this-server".into(),
        login_origins: Vec::new(),
        can_deny: false,
        servers: vec![task],
    }
}

/// `urllib.parse.quote_plus(s, safe)`, as Werkzeug's `_urlencode` uses it.
fn quote_plus(s: &str, safe: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `werkzeug.utils.redirect`: 302 with its small HTML body.
fn werkzeug_redirect(location: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n\
         <p>You should be redirected automatically to the target URL: <a href=\"{0}\">{0}</a>. \
         If not, click the link.\n",
        esc(location)
    );
    let mut resp = html_status(StatusCode::FOUND, body);
    if let Ok(v) = header::HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn user(app: &App, headers: &HeaderMap) -> Option<String> {
    app.sessions
        .get(headers, "session")
        .and_then(|(_, s)| s.get("id").cloned())
}

fn query_map(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn home_get(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(name) = user(&app, &headers) {
        return html(format!(
            "\n<style>pre{{white-space:wrap}}</style>\n<div>Logged in as <strong>{}</strong> \
             (<a href=\"/logout\">Log Out</a>)</div>\n\n\n\n<br><a href=\"/create_client\">Create \
             Client</a>\n\n",
            esc(&name)
        ));
    }
    html(
        "\n<form action=\"\" method=\"post\">\n  <input type=\"text\" name=\"username\" \
         placeholder=\"username\">\n  <button type=\"submit\">Login / Signup</button>\n</form>\n"
            .to_string(),
    )
}

async fn home_post(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // `User(username=None)` for a missing field would fail the NOT NULL column: a 500.
    let Some(username) = form.get("username") else {
        return html_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n\
             <h1>Internal Server Error</h1>\n"
                .to_string(),
        );
    };
    app.tally.hit("login");
    let id = match app.sessions.get(&headers, "session") {
        Some((id, _)) => id,
        None => app.sessions.create(),
    };
    app.sessions.set(&id, "id", username);
    let next = query_map(query.as_deref()).remove("next");
    let resp = match next.filter(|n| !n.is_empty()) {
        Some(next) => {
            app.tally.hit("back to next");
            werkzeug_redirect(&next)
        }
        None => werkzeug_redirect("/"),
    };
    let mut resp = set_cookie(resp, &format!("session={id}; HttpOnly; Path=/"));
    resp.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Cookie"));
    resp
}

/// Authlib's `validate_authorization_request` for the registered client, or the error.
fn validate(q: &HashMap<String, String>) -> Result<(), &'static str> {
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return Err("invalid_client");
    }
    if q.get("redirect_uri").is_some_and(|r| r != REDIRECT_URI) {
        return Err("invalid_request");
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err("unsupported_response_type");
    }
    if q.get("code_challenge").is_none_or(|c| c.is_empty()) {
        return Err("invalid_request");
    }
    if !matches!(
        q.get("code_challenge_method").map(String::as_str),
        None | Some("S256") | Some("plain")
    ) {
        return Err("invalid_request");
    }
    Ok(())
}

async fn authorize_get(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(name) = user(&app, &headers) else {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let mut url = format!("http://{host}/oauth/authorize");
        if let Some(q) = query.as_deref().filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        return werkzeug_redirect(&format!("/?next={}", quote_plus(&url, "!$'()*,/:;?@")));
    };
    let q = query_map(query.as_deref());
    if let Err(error) = validate(&q) {
        // `return error.error`: the bare error code as a 200 text/html page.
        return html(error.to_string());
    }
    app.tally.hit("consent page");
    let scope = q.get("scope").cloned().unwrap_or_default();
    html(format!(
        r#"<p>The application <strong>Corpus client</strong> is requesting:
<strong>{scope}</strong>
</p>

<p>
  from You - a.k.a. <strong>{name}</strong>
</p>

<form action="" method="post">
  <label>
    <input type="checkbox" name="confirm">
    <span>Consent?</span>
  </label>
  
  <br>
  <button>Submit</button>
</form>
"#,
        scope = esc(&scope),
        name = esc(&name),
    ))
}

async fn authorize_post(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(_user) = user(&app, &headers) else {
        return werkzeug_redirect("/");
    };
    if !form.contains_key("confirm") {
        app.tally.hit("bad request");
        return html_status(
            StatusCode::BAD_REQUEST,
            "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n\
             <p>The browser (or proxy) sent a request that this server could not understand.</p>\n"
                .to_string(),
        );
    }
    // Authlib reads the request from the URL's query (and the body): `request.values`.
    let mut q = query_map(query.as_deref());
    for (k, v) in &form {
        q.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if let Err(error) = validate(&q) {
        app.tally.hit("request lost");
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"error\": \"{error}\"}}"),
        )
            .into_response();
    }
    let state = q.get("state").cloned().unwrap_or_default();
    if form.get("confirm").is_some_and(|c| !c.is_empty()) {
        app.tally.hit("code");
        let code = support::token();
        to_client(REDIRECT_URI, &[("code", &code), ("state", &state)])
    } else {
        // `grant_user = None`: Authlib's access_denied (a `confirm` sent empty).
        to_client(
            REDIRECT_URI,
            &[("error", "access_denied"), ("state", &state)],
        )
    }
}

/// `super::prove` less its wrong-password claim: this server has no passwords.
#[tokio::test]
async fn flask_authlib_reaches_a_code() {
    let app = App::default();
    let fixture = serve(app.clone()).await;
    let (request, outcome) = super::sign_in(&fixture, &fixture.password, Consent::Approve).await;
    let name = fixture.reproduces;
    let outcome = outcome.unwrap_or_else(|e| panic!("{name}: sign-in failed: {e}"));
    assert!(
        outcome.code().is_some_and(|c| !c.is_empty()),
        "{name}: no code: the server {}",
        outcome.describe()
    );
    assert_eq!(outcome.param("state"), request.get("state"));
    // The sign-in kept the page's query (so `next`), and the consent box was ticked.
    assert_eq!(app.tally.count("login"), 1);
    assert_eq!(app.tally.count("back to next"), 1);
    assert_eq!(app.tally.count("bad request"), 0);
    assert_eq!(app.tally.count("request lost"), 0);
    assert_eq!(app.tally.count("code"), 1);
}

/// Asked to refuse, the scanner finds no refusal on the page: whatever it does, no code.
#[tokio::test]
async fn flask_authlib_deny_gets_no_code() {
    let fixture = start().await;
    let (_, outcome) = super::sign_in(&fixture, &fixture.password, Consent::Deny).await;
    if let Ok(outcome) = outcome {
        assert!(outcome.code().is_none(), "a refusal returned a code");
    }
}
