//! ZITADEL v2 with its built-in login v1 (internal/api/ui/login, Go templates), default login
//! policy (username/password, registration allowed, MFA not forced but offered at first login),
//! no consent. Reproduced from zitadel/zitadel (files read at the commits the corpus index
//! holds):
//! - internal/api/ui/login/static/templates/main.html (c538a73e), login.html (222d6caf):
//!   `<form action="/ui/login/loginname" method="POST">` with the gorilla/csrf field
//!   `gorilla.csrf.Token`, the hidden `authRequestID`, `loginName`, the "Next" submit
//!   `id="submit-button"` and, after it in source order, `<button name="register" value="true"
//!   formnovalidate>` (shown first by `lgn-reverse-order`);
//! - password.html (5a16bd69): `<form action="/ui/login/password" method="POST">` with the CSRF
//!   field, `authRequestID`, a `type="text" name="loginName"` input hidden only by CSS
//!   (`class="hidden"`), `password`, "Reset Password" link, a back arrow link, "Next";
//! - mfa_prompt.html (3944c86c): the "2-Factor Setup" interstitial shown after the first
//!   password login while the policy's MFA-init skip lifetime applies: radios `provider`
//!   (required, none checked), a `skip`=`true` submit with `formnovalidate` before the "next"
//!   submit (the default instance login policy sets `MfaInitSkipLifetime: 720h`, so a user
//!   without a second factor meets this page at the first login; cmd/setup steps.yaml);
//! - internal/api/ui/login/login.go (0066776b): `createCSRFInterceptor` (gorilla/csrf: cookie
//!   `zitadel.login.csrf` on `/`, SameSite=Lax, `__Host-` prefix and Secure only with TLS;
//!   the masked token differs on every render; a POST without a valid pair is refused, 403);
//!   router.go (0628048b): the endpoints `/login`, `/loginname`, `/password`, `/mfa/prompt`;
//! - the OIDC side: /oauth/v2/authorize answers 302 to `/ui/login/login?authRequestID=V2_..`
//!   (the auth request is bound to the `zitadel.useragent` cookie); each login POST answers
//!   with the next step's page itself (renderNextStep), HTTP 200; when done, 302 to
//!   `/oauth/v2/authorize/callback?id=V2_..`, which answers 302 to the redirect_uri with code
//!   and state. Errors re-render the same page with the translated message: "User could not be
//!   found", "Password is invalid" (Errors.User.* in static/i18n/en.yaml).
//!
//! Left out: the stylesheet and icon markup, avatars, the MFA setup pages behind the prompt's
//! "next" (a stub here), password reset, registration, external IdPs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::support::{self, Tally, esc};

const CLIENT_ID: &str = "294957316376281093@corpus";
const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/callback";
const LOGIN_NAME: &str = "alice@corpus.localhost";
const PASSWORD: &str = "Password1!";
const CSRF_COOKIE: &str = "zitadel.login.csrf";
const AGENT_COOKIE: &str = "zitadel.useragent";

#[derive(Clone, Default)]
struct AuthRequest {
    agent: String,
    query: HashMap<String, String>,
    user: Option<String>,
    password_ok: bool,
    mfa_skipped: bool,
}

#[derive(Clone, Default)]
struct App {
    requests: Arc<Mutex<HashMap<String, AuthRequest>>>,
    /// CSRF cookie value -> the real token it stands for.
    csrf: Arc<Mutex<HashMap<String, String>>>,
    tally: Tally,
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// gorilla/csrf: the base token lives in the cookie; the form carries
/// base64(otp || otp XOR token), new on every render. Returns the field markup and the cookie
/// to set, if the browser had none.
fn csrf_field(app: &App, headers: &HeaderMap) -> (String, Option<String>) {
    let existing =
        support::cookie(headers, CSRF_COOKIE).filter(|c| app.csrf.lock().unwrap().contains_key(c));
    let cookie = existing.clone().unwrap_or_else(|| {
        let c = format!("MTc{}", support::token());
        app.csrf.lock().unwrap().insert(
            c.clone(),
            format!("{}{}", support::token(), support::token()),
        );
        c
    });
    let token = app
        .csrf
        .lock()
        .unwrap()
        .get(&cookie)
        .cloned()
        .unwrap_or_default();
    let otp: Vec<u8> = support::token().bytes().cycle().take(token.len()).collect();
    let mut masked = otp.clone();
    masked.extend(token.bytes().zip(&otp).map(|(a, b)| a ^ b));
    let html = format!(
        r#"<input type="hidden" name="gorilla.csrf.Token" value="{}">"#,
        esc(&STANDARD.encode(masked))
    );
    (html, existing.is_none().then_some(cookie))
}

fn csrf_ok(app: &App, headers: &HeaderMap, form: &[(String, String)]) -> bool {
    let Some(cookie) = support::cookie(headers, CSRF_COOKIE) else {
        return false;
    };
    let Some(token) = app.csrf.lock().unwrap().get(&cookie).cloned() else {
        return false;
    };
    let Some(bytes) = field(form, "gorilla.csrf.Token").and_then(|v| STANDARD.decode(v).ok())
    else {
        return false;
    };
    if bytes.len() != token.len() * 2 {
        return false;
    }
    let (otp, xored) = bytes.split_at(token.len());
    xored.iter().zip(otp).map(|(a, b)| a ^ b).eq(token.bytes())
}

fn csrf_refused() -> Response {
    support::html_status(
        StatusCode::FORBIDDEN,
        "<!DOCTYPE html><html><body><p>Forbidden - CSRF token invalid</p></body></html>\n".into(),
    )
}

fn page(title: &str, body: &str, csrf_cookie: Option<String>) -> Response {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en" class="lgn-dark-theme">
<head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <meta http-equiv="X-UA-Compatible" content="ie=edge">
    <link rel="stylesheet" href="/ui/login/resources/themes/zitadel/css/zitadel.css" type="text/css">
    <link rel="icon" type="image/x-icon" href="/ui/login/resources/themes/zitadel/favicon.ico">
    <link rel="stylesheet" href="/ui/login/resources/themes/fonts/lgn-icons/css/lgn-icon-font.css">
    <title>{title}</title>
    <script src="/ui/login/resources/scripts/theme.js"></script>
</head>
<!-- lgn-app-background tints the background to the selected theme colors -->
<body class="lgn-app-background">
    <div class="lgn-grow">
        <div class="lgn-max-width-wrapper">
            <header class="lgn-header"><div class="lgn-logo"></div></header>
            <div class="content-container">
{body}
            </div>
        </div>
    </div>
    <script src="/ui/login/resources/scripts/avatar.js"></script>
</body>
<footer>
    <div class="lgn-footer"><a target="_blank" href="https://zitadel.com/docs/legal/terms-of-service">TOS</a><a target="_blank" href="https://zitadel.com/docs/legal/policies/privacy-policy">Privacy policy</a></div>
</footer>
"#
    );
    let resp = support::html(html);
    match csrf_cookie {
        Some(c) => support::set_cookie(
            resp,
            &format!("{CSRF_COOKIE}={c}; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax"),
        ),
        None => resp,
    }
}

fn error_message(err: Option<&str>) -> String {
    err.map(|e| {
        format!(
            r#"<div class="lgn-error">
    <i class="lgn-icon-exclamation-circle"></i>
    <span class="lgn-error-message">{}</span>
</div>"#,
            esc(e)
        )
    })
    .unwrap_or_default()
}

fn user_profile(login_name: &str) -> String {
    format!(
        r#"<div class="lgn-login-profile">
        <div class="lgn-profile-image"></div>
        <div class="lgn-names">
            <p class="lgn-displayname">Alice Adams</p>
            <p class="lgn-loginname">{}</p>
        </div>
    </div>"#,
        esc(login_name)
    )
}

fn login_page(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    value: &str,
    err: Option<&str>,
) -> Response {
    let (csrf, cookie) = csrf_field(app, headers);
    let body = format!(
        r#"<div class="lgn-head">
    <h1>Welcome Back!</h1>
    <p>Enter your login details.</p>
</div>


<form action="/ui/login/loginname" method="POST">

    {csrf}

    <input type="hidden" name="authRequestID" value="{id}" />

    <div class="fields">
        <label class="lgn-label" for="loginName">Loginname</label>
        <div class="lgn-suffix-wrapper">
            <input class="lgn-input lgn-suffix-input" type="text" id="loginName" name="loginName" placeholder="username@domain"
            value="{value}" {shake}autocomplete="username" autofocus required>
        </div>
    </div>

    {error}

    <div class="lgn-actions lgn-reverse-order">
        <button class="lgn-raised-button lgn-primary lgn-initial-focus" id="submit-button" type="submit">Next</button>
        <span class="fill-space"></span>
        <button class="lgn-stroked-button" name="register" value="true" formnovalidate>register</button>
    </div>
</form>

<script src="/ui/login/resources/scripts/form_submit.js"></script>
<script src="/ui/login/resources/scripts/default_form_validation.js"></script>
<script src="/ui/login/resources/scripts/input_suffix_offset.js"></script>
"#,
        id = esc(id),
        value = esc(value),
        shake = if err.is_some() { "shake " } else { "" },
        error = error_message(err),
    );
    page("Login", &body, cookie)
}

fn password_page(app: &App, headers: &HeaderMap, id: &str, err: Option<&str>) -> Response {
    let (csrf, cookie) = csrf_field(app, headers);
    let body = format!(
        r#"<div class="lgn-head">
    <h1>Password</h1>
    <p>Enter your password.</p>

    {profile}
</div>

<form action="/ui/login/password" method="POST">

    {csrf}

    <input type="hidden" name="authRequestID" value="{id}" />
    <input type="text" name="loginName" value="{login}" autocomplete="username" class="hidden" />

    <div class="fields">
        <label class="lgn-label" for="password">Password</label>
        <input class="lgn-input" type="password" id="password" name="password" autocomplete="current-password" autofocus
            required {shake}>
    </div>

    {error}

    <a class="block sub-formfield-link" href="/ui/login/password/reset?authRequestID={id}">
        Reset Password
    </a>

    <div class="lgn-actions">
        <a class="lgn-icon-button lgn-left-action" href="/ui/login/username/change?authRequestID={id}">
            <i class="lgn-icon-arrow-left-solid"></i>
        </a>
        <span class="fill-space"></span>
        <button id="submit-button" class="lgn-raised-button lgn-primary right" type="submit">Next</button>
    </div>
</form>

<script src="/ui/login/resources/scripts/form_submit.js"></script>
<script src="/ui/login/resources/scripts/default_form_validation.js"></script>
"#,
        profile = user_profile(LOGIN_NAME),
        id = esc(id),
        login = esc(LOGIN_NAME),
        shake = if err.is_some() { "shake " } else { "" },
        error = error_message(err),
    );
    page("Password", &body, cookie)
}

fn mfa_prompt_page(app: &App, headers: &HeaderMap, id: &str) -> Response {
    let (csrf, cookie) = csrf_field(app, headers);
    let body = format!(
        r#"<div class="lgn-head">
  <h1>2-Factor Setup</h1>
  {profile}

  <p>2-factor authentication gives you an additional security for your user account. This ensures that only you have access to your account.</p>
</div>

<form action="/ui/login/mfa/prompt" method="POST">
  {csrf}

  <input type="hidden" name="authRequestID" value="{id}" />

  <div class="lgn-mfa-options">
    <div class="mfa">
      <input id="0" type="radio" name="provider" value="0" required />
      <label>
        <div class="mfa-img"><svg class="authenticator-logo" viewBox="0 0 512 512"></svg></div>
        <span>Authenticator App (e.g Google/Microsoft Authenticator, Authy) </span>
      </label>
    </div>
    <div class="mfa">
      <input id="1" type="radio" name="provider" value="1" required />
      <label>
        <div class="mfa-img fingerprint"><svg viewBox="0 0 24 24"></svg></div>
        <span>Device dependent (e.g FaceID, Windows Hello, Fingerprint) </span>
      </label>
    </div>
  </div>

  <div class="lgn-actions">
    <!-- position element in header -->
    <a class="lgn-icon-button lgn-left-action" href="/ui/login/login">
      <i class="lgn-icon-arrow-left-solid"></i>
    </a>

    <button
      class="lgn-stroked-button"
      name="skip"
      value="true"
      type="submit"
      formnovalidate
    >
      skip
    </button>
    <span class="fill-space"></span>
    <button class="lgn-raised-button lgn-primary" type="submit">
      next
    </button>
  </div>
</form>

<script src="/ui/login/resources/scripts/mfa.js"></script>
"#,
        profile = user_profile(LOGIN_NAME),
        id = esc(id),
    );
    page("2-Factor Setup", &body, cookie)
}

/// renderNextStep: the page of the step the request is at, or the callback redirect.
fn next_step(app: &App, headers: &HeaderMap, id: &str, req: &AuthRequest) -> Response {
    if req.user.is_none() {
        return login_page(app, headers, id, "", None);
    }
    if !req.password_ok {
        return password_page(app, headers, id, None);
    }
    if !req.mfa_skipped {
        app.tally.hit("mfa prompt");
        return mfa_prompt_page(app, headers, id);
    }
    support::redirect(&format!("/oauth/v2/authorize/callback?id={id}"))
}

/// The auth request named by `authRequestID`, when it belongs to this user agent.
fn request_of(app: &App, headers: &HeaderMap, id: &str) -> Option<AuthRequest> {
    let agent = support::cookie(headers, AGENT_COOKIE)?;
    let req = app.requests.lock().unwrap().get(id).cloned()?;
    (req.agent == agent).then_some(req)
}

fn unknown_request() -> Response {
    support::html_status(
        StatusCode::BAD_REQUEST,
        "<!DOCTYPE html><html><body><div class=\"lgn-error\"><span class=\"lgn-error-message\">AuthRequest not found</span></div></body></html>".into(),
    )
}

async fn authorize(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return support::html_status(StatusCode::BAD_REQUEST, "invalid_client".into());
    }
    if q.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI) {
        return support::html_status(
            StatusCode::BAD_REQUEST,
            "The requested redirect_uri is missing in the client configuration.".into(),
        );
    }
    let state = q.get("state").cloned().unwrap_or_default();
    if q.get("response_type").map(String::as_str) != Some("code") {
        return support::to_client(
            REDIRECT_URI,
            &[("error", "unsupported_response_type"), ("state", &state)],
        );
    }
    let (agent, new_agent) = match support::cookie(&headers, AGENT_COOKIE) {
        Some(a) => (a, false),
        None => (support::token(), true),
    };
    let id = format!("V2_{}", 294957316376281093u64 + rand_suffix());
    app.requests.lock().unwrap().insert(
        id.clone(),
        AuthRequest {
            agent: agent.clone(),
            query: q,
            ..Default::default()
        },
    );
    let resp = support::redirect(&format!("/ui/login/login?authRequestID={id}"));
    if new_agent {
        support::set_cookie(
            resp,
            &format!("{AGENT_COOKIE}={agent}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"),
        )
    } else {
        resp
    }
}

fn rand_suffix() -> u64 {
    support::token()
        .bytes()
        .fold(0u64, |acc, b| acc.wrapping_mul(31).wrapping_add(b as u64))
        % 1_000_000_000
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let id = q.get("authRequestID").cloned().unwrap_or_default();
    let Some(req) = request_of(&app, &headers, &id) else {
        return unknown_request();
    };
    next_step(&app, &headers, &id, &req)
}

async fn login_name(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !csrf_ok(&app, &headers, &form) {
        return csrf_refused();
    }
    let id = field(&form, "authRequestID").unwrap_or("").to_string();
    let Some(mut req) = request_of(&app, &headers, &id) else {
        return unknown_request();
    };
    if field(&form, "register") == Some("true") {
        app.tally.hit("register");
        return support::redirect(&format!("/ui/login/register/option?authRequestID={id}"));
    }
    let name = field(&form, "loginName").unwrap_or("").trim();
    // The login name matches with or without the org's primary domain suffix.
    if name != LOGIN_NAME && name != "alice" {
        return login_page(&app, &headers, &id, name, Some("User could not be found"));
    }
    req.user = Some(LOGIN_NAME.into());
    app.requests.lock().unwrap().insert(id.clone(), req.clone());
    next_step(&app, &headers, &id, &req)
}

async fn password(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !csrf_ok(&app, &headers, &form) {
        return csrf_refused();
    }
    let id = field(&form, "authRequestID").unwrap_or("").to_string();
    let Some(mut req) = request_of(&app, &headers, &id) else {
        return unknown_request();
    };
    if req.user.is_none() {
        return login_page(&app, &headers, &id, "", None);
    }
    if field(&form, "password") != Some(PASSWORD) {
        return password_page(&app, &headers, &id, Some("Password is invalid"));
    }
    req.password_ok = true;
    app.requests.lock().unwrap().insert(id.clone(), req.clone());
    next_step(&app, &headers, &id, &req)
}

async fn mfa_prompt(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !csrf_ok(&app, &headers, &form) {
        return csrf_refused();
    }
    let id = field(&form, "authRequestID").unwrap_or("").to_string();
    let Some(mut req) = request_of(&app, &headers, &id) else {
        return unknown_request();
    };
    if !req.password_ok {
        return next_step(&app, &headers, &id, &req);
    }
    if field(&form, "skip") == Some("true") {
        app.tally.hit("mfa skipped");
        req.mfa_skipped = true;
        app.requests.lock().unwrap().insert(id.clone(), req.clone());
        return next_step(&app, &headers, &id, &req);
    }
    // "next" with a provider starts the second-factor registration (not reproduced).
    app.tally.hit("mfa setup");
    let (csrf, cookie) = csrf_field(&app, &headers);
    page(
        "Multifactor Registration",
        &format!(
            r#"<div class="lgn-head"><h1>2-Factor Setup</h1><p>Verify your second factor.</p></div>
<form action="/ui/login/mfa/init/verify" method="POST">{csrf}
<input type="hidden" name="authRequestID" value="{}" />
<input type="hidden" name="mfaType" value="{}" />
<div class="fields"><label class="lgn-label" for="code">Code</label>
<input class="lgn-input" type="text" id="code" name="code" autocomplete="one-time-code" autofocus required></div>
<div class="lgn-actions"><span class="fill-space"></span><button class="lgn-raised-button lgn-primary" type="submit">next</button></div>
</form>"#,
            esc(&id),
            esc(field(&form, "provider").unwrap_or(""))
        ),
        cookie,
    )
}

async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let id = q.get("id").cloned().unwrap_or_default();
    let Some(req) = request_of(&app, &headers, &id) else {
        return unknown_request();
    };
    if !(req.password_ok && req.mfa_skipped) {
        return support::redirect(&format!("/ui/login/login?authRequestID={id}"));
    }
    app.requests.lock().unwrap().remove(&id);
    let state = req.query.get("state").cloned().unwrap_or_default();
    support::to_client(
        REDIRECT_URI,
        &[("code", &support::token()), ("state", &state)],
    )
}

async fn start_with(app: App) -> super::Fixture {
    let router = Router::new()
        .route("/oauth/v2/authorize", get(authorize))
        .route("/oauth/v2/authorize/callback", get(callback))
        .route("/ui/login/login", get(login))
        .route("/ui/login/loginname", post(login_name))
        .route("/ui/login/password", post(password))
        .route("/ui/login/mfa/prompt", post(mfa_prompt))
        .with_state(app.clone());
    let (base, task) = support::serve(router).await;
    super::Fixture {
        reproduces: "ZITADEL v2 login v1 (internal/api/ui/login): login.html, password.html, mfa_prompt.html",
        authorize: base.join("/oauth/v2/authorize").expect("authorize url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: "openid profile".into(),
        username: LOGIN_NAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: false,
        servers: vec![task],
    }
}

pub async fn start() -> super::Fixture {
    start_with(App::default()).await
}

#[tokio::test]
async fn zitadel_reaches_a_code() {
    super::prove(start().await).await
}

/// The second-factor prompt is passed by its "skip" button, not by registering a factor, and
/// the login page's "register" button is never pressed.
#[tokio::test]
async fn zitadel_skips_the_mfa_prompt() {
    let app = App::default();
    let fixture = start_with(app.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(app.tally.count("mfa prompt"), 1);
    assert_eq!(app.tally.count("mfa skipped"), 1);
    assert_eq!(app.tally.count("mfa setup"), 0);
    assert_eq!(app.tally.count("register"), 0);
}
