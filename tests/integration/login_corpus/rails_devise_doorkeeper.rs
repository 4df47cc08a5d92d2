//! A Rails 8 application with Devise 5.0 sign-in and Doorkeeper 5.8.2 as its OAuth 2.0 server.
//!
//! Reproduces, as rendered:
//! - the sign-in page: Devise's app/views/devise/sessions/new.html.erb and
//!   app/views/devise/shared/_links.html.erb (v5.0.3) for the default `User` model
//!   (database_authenticatable, registerable, recoverable, rememberable): `form_for` with the
//!   per-form `authenticity_token`, `user[email]` (type email), `user[password]`,
//!   `user[remember_me]` as Rails' hidden "0" then checkbox "1", the "Log in" submit named
//!   `commit`, the "Sign up" and "Forgot your password?" links; inside the Rails 8 generated
//!   app/views/layouts/application.html.erb (csrf/csp meta tags, an importmap) with the
//!   `notice`/`alert` paragraphs Devise's README asks for;
//! - the consent page: Doorkeeper's app/views/doorkeeper/authorizations/new.html.erb in
//!   app/views/layouts/doorkeeper/application.html.erb (v5.8.2): two `form_tag` forms to
//!   `/oauth/authorize`, each with its own per-form token and the same hidden fields (client_id,
//!   redirect_uri, state, response_type, response_mode, scope, code_challenge,
//!   code_challenge_method), the first POST with `commit=Authorize`, the second carrying
//!   `_method=delete` with `commit=Deny`; texts from Doorkeeper's config/locales/en.yml, scope
//!   texts from the application's `doorkeeper.scopes` translations.
//!
//! Behaviour: Doorkeeper's `authenticate_resource_owner!` with the authenticator the Doorkeeper
//! wiki gives for Devise (`current_user || warden.authenticate!(scope: :user)`), so an anonymous
//! GET meets Devise's lib/devise/failure_app.rb: `store_location!` (the full path in
//! `session["user_return_to"]`), the "You need to sign in or sign up before continuing." alert
//! and a 302 to `/users/sign_in`. A wrong password is `recall`ed: the sign-in page again, with
//! "Invalid Email or password." and HTTP 422 (the generated initializer's
//! `config.responder.error_status`). Signing in renews the session, drops the CSRF secret
//! (`clean_up_csrf_token_on_authentication`) and answers 303 (`redirect_status = :see_other`)
//! to the stored location: the authorization endpoint with the original query. Then
//! app/controllers/doorkeeper/authorizations_controller.rb: `create` redirects (302) with
//! `code` and `state`, `destroy` (the `_method=delete` override) with `error=access_denied`,
//! the description and `state`, built by lib/doorkeeper/oauth/authorization/uri_builder.rb.
//! Rails' `protect_from_forgery with: :exception` (ActionController::RequestForgeryProtection,
//! Rails 7/8): masked tokens, per-form HMACs of "path#method", the Origin check; a failure is
//! the 422 "The change you wanted was rejected" page.
//!
//! Left out: the token endpoint, remember-me cookies, Turbo, the encrypted cookie store (the
//! session cookie here holds an opaque id).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use oauthprobe::flow::authorize::Consent;

use super::Fixture;
use super::support::{self, Sessions, Tally, esc, html, html_status, redirect_with, set_cookie};

const CLIENT_ID: &str = "Qy3oxs4f3wDkMxJ6a1cwUFJ0mmnE2nn4Tfj0XLH0Mdo";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "public write";
const USERNAME: &str = "alice@example.com";
const PASSWORD: &str = "alice-password-1";
const COOKIE: &str = "_corpus_session";

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
        .route("/users/sign_in", get(sign_in_get).post(sign_in_post))
        .route("/oauth/authorize", get(authorize_get).post(authorize_post))
        .with_state(app);
    let (base, task) = support::serve(router).await;
    Fixture {
        reproduces: "Devise 5.0 sessions/new with Doorkeeper 5.8 authorizations/new (Rails 8)",
        authorize: base.join("/oauth/authorize").expect("url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: SCOPE.into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: true,
        servers: vec![task],
    }
}

/// The request's session (created when absent) and whether its cookie must be set.
fn session(app: &App, headers: &HeaderMap) -> (String, HashMap<String, String>, bool) {
    match app.sessions.get(headers, COOKIE) {
        Some((id, data)) => (id, data, false),
        None => (app.sessions.create(), HashMap::new(), true),
    }
}

fn with_session(resp: Response, id: &str) -> Response {
    set_cookie(
        resp,
        &format!("{COOKIE}={id}; path=/; httponly; samesite=lax"),
    )
}

/// ActionController::RequestForgeryProtection, the parts a browser meets (shared with the
/// GitLab fixture).
pub(super) mod csrf {
    use std::collections::HashMap;

    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::Response;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::hmac;
    use ring::rand::{SecureRandom, SystemRandom};

    use super::super::support::{Sessions, html_status};

    fn random32() -> Vec<u8> {
        let mut buf = vec![0u8; 32];
        SystemRandom::new().fill(&mut buf).expect("random");
        buf
    }

    /// `real_csrf_token(session)`: created on first use.
    pub fn real(sessions: &Sessions, id: &str, data: &HashMap<String, String>) -> Vec<u8> {
        if let Some(raw) = data
            .get("_csrf_token")
            .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
        {
            return raw;
        }
        let raw = random32();
        sessions.set(id, "_csrf_token", &URL_SAFE_NO_PAD.encode(&raw));
        raw
    }

    fn hmac(real: &[u8], identifier: &str) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, real);
        hmac::sign(&key, identifier.as_bytes()).as_ref().to_vec()
    }

    /// `mask_token`: a one-time pad, then the pad XOR the token.
    fn mask(raw: &[u8]) -> String {
        let pad = random32();
        let mut out = pad.clone();
        out.extend(pad.iter().zip(raw).map(|(p, r)| p ^ r));
        URL_SAFE_NO_PAD.encode(out)
    }

    /// `form_authenticity_token(form_options: {action:, method:})` (per-form tokens on).
    pub fn per_form(real: &[u8], action: &str, method: &str) -> String {
        mask(&hmac(real, &format!("{action}#{method}")))
    }

    /// A form token that is the real token masked (what Rails emits with per-form tokens off).
    pub fn masked_real(real: &[u8]) -> String {
        mask(real)
    }

    /// The `<meta name="csrf-token">` value: the masked global token.
    pub fn global(real: &[u8]) -> String {
        mask(&hmac(real, "!real_csrf_token"))
    }

    /// `verified_request?`: the Origin check, then `valid_authenticity_token?` against the real,
    /// global and per-form tokens of this path and (overridden) method.
    pub fn verified(
        headers: &HeaderMap,
        data: &HashMap<String, String>,
        token: Option<&str>,
        path: &str,
        method: &str,
    ) -> bool {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            if origin.to_str().ok() != Some(&format!("http://{host}")) {
                return false;
            }
        }
        let Some(real) = data
            .get("_csrf_token")
            .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
        else {
            return false;
        };
        let Some(masked) = token.and_then(|t| {
            URL_SAFE_NO_PAD
                .decode(t.trim_end_matches('='))
                .ok()
                .or_else(|| base64::engine::general_purpose::STANDARD.decode(t).ok())
        }) else {
            return false;
        };
        if masked.len() != 64 {
            return false;
        }
        let (pad, enc) = masked.split_at(32);
        let plain: Vec<u8> = pad.iter().zip(enc).map(|(p, e)| p ^ e).collect();
        plain == real
            || plain == hmac(&real, "!real_csrf_token")
            || plain == hmac(&real, &format!("{}#{method}", path.trim_end_matches('/')))
    }

    /// public/422.html.
    pub fn rejected() -> Response {
        html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<title>The change you wanted was \
             rejected (422 Unprocessable Entity)</title>\n</head>\n<body>\n<main>\n<article>\n\
             <p><strong>The change you wanted was rejected.</strong> Maybe you tried to change \
             something you didn't have access to. If you're the application's developer check \
             the logs.</p>\n</article>\n</main>\n</body>\n</html>\n"
                .to_string(),
        )
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// app/views/layouts/application.html.erb as `rails new` (8.0) writes it, plus the flash.
fn application_layout(real: &[u8], notice: &str, alert: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html>
  <head>
    <title>Corpus</title>
    <meta name="viewport" content="width=device-width,initial-scale=1">
    <meta name="apple-mobile-web-app-capable" content="yes">
    <meta name="mobile-web-app-capable" content="yes">
    <meta name="csrf-param" content="authenticity_token" />
<meta name="csrf-token" content="{meta}" />
    

    <link rel="icon" href="/icon.png" type="image/png">
    <link rel="icon" href="/icon.svg" type="image/svg+xml">
    <link rel="apple-touch-icon" href="/icon.png">

    <link rel="stylesheet" href="/assets/application-8b441ae0.css" data-turbo-track="reload" />
    <script type="importmap" data-turbo-track="reload">{{
  "imports": {{
    "application": "/assets/application-bfcdf840.js",
    "@hotwired/turbo-rails": "/assets/turbo.min-3e48f1c4.js",
    "@hotwired/stimulus": "/assets/stimulus.min-4b1e420e.js"
  }}
}}</script>
<link rel="modulepreload" href="/assets/application-bfcdf840.js">
<script type="module">import "application"</script>
  </head>

  <body>
    <p class="notice">{notice}</p>
    <p class="alert">{alert}</p>
    {body}
  </body>
</html>
"#,
        meta = csrf::global(real),
        notice = esc(notice),
        alert = esc(alert),
    )
}

/// devise/sessions/new.html.erb with devise/shared/_links.html.erb.
fn sign_in_page(real: &[u8], email: &str) -> String {
    format!(
        r#"<h2>Log in</h2>

<form class="new_user" id="new_user" action="/users/sign_in" accept-charset="UTF-8" method="post"><input type="hidden" name="authenticity_token" value="{token}" autocomplete="off" />
  <div class="field">
    <p><label for="user_email">Email</label></p>
    <p><input autofocus="autofocus" autocomplete="email" type="email" value="{email}" name="user[email]" id="user_email" /></p>
  </div>

  <div class="field">
    <p><label for="user_password">Password</label></p>
    <p><input autocomplete="current-password" type="password" name="user[password]" id="user_password" /></p>
  </div>

    <div class="field">
      <p><input name="user[remember_me]" type="hidden" value="0" autocomplete="off" /><input type="checkbox" value="1" name="user[remember_me]" id="user_remember_me" /></p>
      <p><label for="user_remember_me">Remember me</label></p>
    </div>

  <div class="actions">
    <input type="submit" name="commit" value="Log in" data-disable-with="Log in" />
  </div>
</form>

  <p><a href="/users/sign_up">Sign up</a></p>

  <p><a href="/users/password/new">Forgot your password?</a></p>

"#,
        token = csrf::per_form(real, "/users/sign_in", "post"),
        email = esc(email),
    )
}

async fn sign_in_get(State(app): State<App>, headers: HeaderMap) -> Response {
    let (id, data, new) = session(&app, &headers);
    if data.contains_key("warden.user.user.key") {
        // `require_no_authentication`: "You are already signed in." and off to the root.
        return redirect_with(StatusCode::FOUND, "/");
    }
    let alert = app.sessions.remove(&id, "flash.alert").unwrap_or_default();
    let notice = app.sessions.remove(&id, "flash.notice").unwrap_or_default();
    let real = csrf::real(&app.sessions, &id, &data);
    let resp = html(application_layout(
        &real,
        &notice,
        &alert,
        &sign_in_page(&real, ""),
    ));
    if new { with_session(resp, &id) } else { resp }
}

async fn sign_in_post(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (id, data, _) = session(&app, &headers);
    if !csrf::verified(
        &headers,
        &data,
        field(&form, "authenticity_token"),
        "/users/sign_in",
        "post",
    ) {
        app.tally.hit("csrf rejected");
        return csrf::rejected();
    }
    let email = field(&form, "user[email]").unwrap_or("");
    let password = field(&form, "user[password]").unwrap_or("");
    if !email.eq_ignore_ascii_case(USERNAME) || password != PASSWORD {
        // FailureApp#recall: sessions#new again, flash.now alert, error_status 422.
        let real = csrf::real(&app.sessions, &id, &data);
        let page = application_layout(
            &real,
            "",
            "Invalid Email or password.",
            &sign_in_page(&real, email),
        );
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, page);
    }
    app.tally.hit("login");
    // Warden renews the session; Devise drops the CSRF secret and takes the stored location.
    app.sessions.drop_session(&id);
    let renewed = app.sessions.create();
    for (k, v) in &data {
        if k != "_csrf_token" && k != "user_return_to" && !k.starts_with("flash.") {
            app.sessions.set(&renewed, k, v);
        }
    }
    app.sessions.set(&renewed, "warden.user.user.key", USERNAME);
    app.sessions
        .set(&renewed, "flash.notice", "Signed in successfully.");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let to = data
        .get("user_return_to")
        .cloned()
        .unwrap_or_else(|| "/".to_string());
    let resp = redirect_with(StatusCode::SEE_OTHER, &format!("http://{host}{to}"));
    with_session(resp, &renewed)
}

fn scope_text(scope: &str) -> Option<&'static str> {
    match scope {
        "public" => Some("Access your public data"),
        "write" => Some("Update your data"),
        _ => None,
    }
}

/// `OAuth::PreAuthorization#authorizable?` for the one registered application.
fn pre_auth(p: &dyn Fn(&str) -> Option<String>) -> Result<(), Box<Response>> {
    let error_page = |title: &str| {
        Box::new(html_status(
            StatusCode::BAD_REQUEST,
            format!(
                "<!DOCTYPE html>\n<html>\n<head>\n  <title>OAuth authorization required</title>\n\
                 </head>\n<body>\n<div id=\"container\">\n<header class=\"page-header\">\n  \
                 <h1>An error has occurred</h1>\n</header>\n\n<main role=\"main\">\n  <pre>\n    \
                 {}\n  </pre>\n</main>\n</div>\n</body>\n</html>\n",
                esc(title)
            ),
        ))
    };
    if p("client_id").as_deref() != Some(CLIENT_ID) {
        return Err(error_page(
            "Client authentication failed due to unknown client, no client authentication \
             included, or unsupported authentication method.",
        ));
    }
    if p("redirect_uri").as_deref() != Some(REDIRECT_URI) {
        return Err(error_page(
            "The requested redirect uri is malformed or doesn't match client redirect URI.",
        ));
    }
    if p("response_type").as_deref() != Some("code") {
        return Err(error_page(
            "The authorization server does not support this response type.",
        ));
    }
    let scope = p("scope").unwrap_or_default();
    if scope.split_whitespace().any(|s| scope_text(s).is_none()) {
        return Err(error_page(
            "The requested scope is invalid, unknown, or malformed.",
        ));
    }
    if !matches!(
        p("code_challenge_method").as_deref(),
        None | Some("") | Some("plain") | Some("S256")
    ) {
        return Err(error_page(
            "The code challenge method must be plain or S256.",
        ));
    }
    Ok(())
}

fn hidden(name: &str, value: &str) -> String {
    if value.is_empty() {
        format!("<input type=\"hidden\" name=\"{name}\" autocomplete=\"off\" />")
    } else {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\" autocomplete=\"off\" />",
            esc(value)
        )
    }
}

async fn authorize_get(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (id, data, new) = session(&app, &headers);
    if !data.contains_key("warden.user.user.key") {
        // Devise's FailureApp: store_location!, the alert, 302 to the sign-in page.
        let path = match query.as_deref() {
            Some(q) if !q.is_empty() => format!("/oauth/authorize?{q}"),
            _ => "/oauth/authorize".to_string(),
        };
        app.sessions.set(&id, "user_return_to", &path);
        app.sessions.set(
            &id,
            "flash.alert",
            "You need to sign in or sign up before continuing.",
        );
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let resp = redirect_with(StatusCode::FOUND, &format!("http://{host}/users/sign_in"));
        return if new { with_session(resp, &id) } else { resp };
    }
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if let Err(page) = pre_auth(&|k| q.get(k).cloned()) {
        return *page;
    }
    app.tally.hit("consent page");
    let notice = app.sessions.remove(&id, "flash.notice").unwrap_or_default();
    let real = csrf::real(&app.sessions, &id, &data);
    let v = |k: &str| q.get(k).cloned().unwrap_or_default();
    let fields: String = [
        "client_id",
        "redirect_uri",
        "state",
        "response_type",
        "response_mode",
        "scope",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .map(|k| format!("      {}\n", hidden(k, &v(k))))
    .collect();
    let scopes: String = v("scope")
        .split_whitespace()
        .filter_map(scope_text)
        .map(|t| format!("          <li>{t}</li>\n"))
        .collect();
    let flash = if notice.is_empty() {
        String::new()
    } else {
        format!(
            "    <div class=\"alert alert-info\">\n      {}\n    </div>\n",
            esc(&notice)
        )
    };
    let page = format!(
        r#"<!DOCTYPE html>
<html>
<head>
  <title>OAuth authorization required</title>
  <meta charset="utf-8">
  <meta http-equiv="X-UA-Compatible" content="IE=edge">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">

  <link rel="stylesheet" href="/assets/doorkeeper/application-5f7e1a52.css" />
  <meta name="csrf-param" content="authenticity_token" />
<meta name="csrf-token" content="{meta}" />
</head>
<body>
<div id="container">
{flash}
  <header class="page-header" role="banner">
  <h1>Authorization required</h1>
</header>

<main role="main">
  <p class="h4">
    Authorize <strong class="text-info">Corpus client</strong> to use your account?
  </p>

    <div id="oauth-permissions">
      <p>This application will be able to:</p>

      <ul class="text-info">
{scopes}      </ul>
    </div>

  <div class="actions">
    <form action="/oauth/authorize" accept-charset="UTF-8" method="post"><input type="hidden" name="authenticity_token" value="{post_token}" autocomplete="off" />
{fields}      <input type="submit" name="commit" value="Authorize" class="btn btn-success btn-lg btn-block" data-disable-with="Authorize" />
</form>    <form action="/oauth/authorize" accept-charset="UTF-8" method="post"><input type="hidden" name="_method" value="delete" autocomplete="off" /><input type="hidden" name="authenticity_token" value="{delete_token}" autocomplete="off" />
{fields}      <input type="submit" name="commit" value="Deny" class="btn btn-danger btn-lg btn-block" data-disable-with="Deny" />
</form>  </div>
</main>

</div>
</body>
</html>
"#,
        meta = csrf::global(&real),
        post_token = csrf::per_form(&real, "/oauth/authorize", "post"),
        delete_token = csrf::per_form(&real, "/oauth/authorize", "delete"),
    );
    html(page)
}

/// POST /oauth/authorize: `create`, or `destroy` under Rack::MethodOverride's `_method=delete`.
async fn authorize_post(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let method = match field(&form, "_method").map(str::to_ascii_lowercase) {
        Some(m) if m == "delete" => "delete",
        _ => "post",
    };
    let (_, data, _) = session(&app, &headers);
    if !csrf::verified(
        &headers,
        &data,
        field(&form, "authenticity_token"),
        "/oauth/authorize",
        method,
    ) {
        app.tally.hit("csrf rejected");
        return csrf::rejected();
    }
    if !data.contains_key("warden.user.user.key") {
        // A POST is not stored as a location: the sign-in page, then the root.
        return redirect_with(StatusCode::FOUND, "/users/sign_in");
    }
    // Rails params: the query and the body together.
    let mut params: HashMap<String, String> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    for (k, v) in &form {
        params.insert(k.clone(), v.clone());
    }
    if let Err(page) = pre_auth(&|k| params.get(k).cloned()) {
        return *page;
    }
    let state = params.get("state").cloned().unwrap_or_default();
    let mut to = url::Url::parse(REDIRECT_URI).expect("redirect_uri");
    if method == "delete" {
        app.tally.hit("denied");
        let mut pairs = to.query_pairs_mut();
        pairs.append_pair("error", "access_denied").append_pair(
            "error_description",
            "The resource owner or authorization server denied the request.",
        );
        if !state.is_empty() {
            pairs.append_pair("state", &state);
        }
    } else {
        app.tally.hit("code");
        let mut pairs = to.query_pairs_mut();
        pairs.append_pair("code", &support::token());
        if !state.is_empty() {
            pairs.append_pair("state", &state);
        }
    }
    let mut resp = redirect_with(StatusCode::FOUND, to.as_str());
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[tokio::test]
async fn rails_devise_doorkeeper_reaches_a_code() {
    super::prove(start().await).await
}

/// The scanner presses Authorize (not Deny), in the first form, with that form's token, and
/// the remember-me box stays as the page has it; no request is refused for its CSRF token.
#[tokio::test]
async fn rails_devise_doorkeeper_posts_the_authorize_form() {
    let app = App::default();
    let fixture = serve(app.clone()).await;
    let (request, outcome) = super::sign_in(&fixture, PASSWORD, Consent::Approve).await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(outcome.param("state"), request.get("state"));
    assert_eq!(app.tally.count("login"), 1);
    assert_eq!(app.tally.count("consent page"), 1);
    assert_eq!(app.tally.count("code"), 1);
    assert_eq!(app.tally.count("denied"), 0);
    assert_eq!(app.tally.count("csrf rejected"), 0);
}
