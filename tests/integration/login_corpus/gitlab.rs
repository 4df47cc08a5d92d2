//! GitLab (Community Edition, 17.x/18.x; gitlabhq/gitlabhq) as an OAuth 2.0 / OpenID Connect
//! provider, on a default self-managed instance: password sign-in, sign-up allowed, no LDAP,
//! no OmniAuth providers.
//!
//! Reproduces, as rendered:
//! - the sign-in page `/users/sign_in`: app/views/devise/sessions/new.html.haml with
//!   app/views/devise/sessions/_new_base.html.haml (the `gitlab_ui_form_for` form with
//!   `data-testid="sign-in-form"`, `user[login]` "Username or primary email", `user[password]`,
//!   the "Forgot your password?" link, the empty captcha `form-group`, Rails' hidden
//!   `user[remember_me]`=0 before the "Remember me" checkbox, the Pajamas "Sign in" `<button>`
//!   without a name), the "Don't have an account yet? Register now" link, the flash partial
//!   and the devise layout's footer with its `js-language-switcher` mount point; checked against
//!   a served page of that template;
//! - the consent page: app/views/doorkeeper/authorizations/new.html.haml in
//!   app/views/layouts/minimal.html.haml: "<app> is requesting access to your account on
//!   GitLab.", one accordion per scope (`type="button"` toggles), the "Make sure you trust"
//!   warning, and two `form_tag` forms to `/oauth/authorize` with the same hidden fields
//!   (client_id, redirect_uri, state, response_type, scope, nonce, code_challenge,
//!   code_challenge_method; each with its `id`, so the ids repeat): "Authorize <app>" in the
//!   first, "Cancel" in the second with `_method=delete`; both Pajamas `<button>`s, no names.
//!
//! Behaviour: config/initializers/doorkeeper.rb's `resource_owner_authenticator` stores
//! `request.fullpath` in `session[:user_return_to]` and redirects (302) to the sign-in URL, with
//! no flash; a wrong password is Devise's recall with "Invalid login or password." (HTTP 200:
//! GitLab keeps Devise's default responder status); a sign-in redirects (302) to the stored
//! location. app/controllers/oauth/authorizations_controller.rb (`new`): a confidential
//! application that already holds a token for the user skips the page and renders
//! app/views/doorkeeper/authorizations/redirect.html.haml instead of redirecting: an HTTP 200
//! "Redirecting" page with a link and a script that sets `window.location`
//! ([`gitlab_known_application_redirect_page`]). `create`/`destroy` are Doorkeeper's: 302 with
//! `code` and `state`, or `error=access_denied`. Rails CSRF from the Devise/Doorkeeper
//! fixture's `csrf` module; the session cookie is `_gitlab_session`.
//!
//! Left out: two-factor and email verification, Arkose/reCAPTCHA, admin mode, the gon script,
//! stylesheets, the token endpoint.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use oauthprobe::flow::authorize::Consent;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Fixture;
use super::rails_devise_doorkeeper::csrf;
use super::support::{self, Sessions, Tally, esc, html, redirect_with, set_cookie};

const CLIENT_ID: &str = "8f1e5b0a2c3d4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid read_user";
const USERNAME: &str = "alice";
const PASSWORD: &str = "alice-password-1";
const COOKIE: &str = "_gitlab_session";

#[derive(Clone, Default)]
struct App {
    sessions: Sessions,
    tally: Tally,
    /// Whether the user already holds a token for the (confidential) application.
    token_exists: Arc<AtomicBool>,
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
        reproduces: "GitLab sign-in (devise/sessions/_new_base) and doorkeeper/authorizations/new",
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

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// layouts/_flash.html.haml for an alert.
fn flash_alert(message: &str) -> String {
    if message.is_empty() {
        return "<div class=\"flash-container flash-container-page sticky\" data-testid=\"flash-container\">\n\
                <div id=\"js-global-alerts\"></div>\n</div>\n"
            .to_string();
    }
    format!(
        r##"<div class="flash-container flash-container-page sticky" data-testid="flash-container">
<div class="gl-alert flash-alert gl-alert-danger" data-testid="alert-danger" role="alert">
<div class="gl-alert-icon-container">
<svg class="s16 gl-alert-icon gl-alert-icon-no-title" data-testid="error-icon"><use href="/assets/icons.svg#error"></use></svg>
</div>
<button class="gl-button btn btn-icon btn-sm btn-default btn-default-tertiary js-close gl-dismiss-btn " aria-label="Dismiss" type="button"><svg class="s16 gl-icon gl-button-icon " data-testid="close-icon"><use href="/assets/icons.svg#close"></use></svg>

</button>
<div class="gl-alert-content" role="alert">
<div class="gl-alert-body">
{}
</div>
</div>
</div>
<div id="js-global-alerts"></div>
</div>
"##,
        esc(message)
    )
}

fn head(title: &str, real: &[u8]) -> String {
    format!(
        r##"<head>
<meta charset="utf-8">
<meta content="IE=edge" http-equiv="X-UA-Compatible">
<meta content="width=device-width, initial-scale=1" name="viewport">
<title>{title}</title>
<script>
//<![CDATA[
window.gon={{}};gon.api_version="v4";gon.relative_url_root="";
//]]>
</script>
<meta content="dark light" name="color-scheme">
<link rel="stylesheet" href="/assets/application.css" media="all" />
<script src="/assets/webpack/runtime.bundle.js" defer="defer"></script>
<script src="/assets/webpack/main.chunk.js" defer="defer"></script>
<meta name="csrf-param" content="authenticity_token" />
<meta name="csrf-token" content="{meta}" />
<meta name="csp-nonce" />
<meta name="action-cable-url" content="/-/cable" />
<link href="/-/manifest.json" rel="manifest">
<meta content="GitLab Community Edition" name="description">
<meta content="#ececef" name="theme-color">
</head>"##,
        meta = csrf::global(real),
    )
}

fn sign_in_page(real: &[u8], alert: &str) -> String {
    format!(
        r##"<!DOCTYPE html>
<html class="html-devise-layout ui-light-gray" lang="en">
{head}

<body class="gl-h-full login-page navless" data-page="sessions:new" data-testid="login-page">

<div class="gl-h-full gl-flex gl-flex-wrap">
<div class="container gl-self-center">
<div class="content">
{flash}
<div class="gl-my-5">
<div class="col-sm-12 gl-text-center">
<img alt="GitLab" class="gl-h-10 js-portrait-logo-detection" src="/assets/logo.svg" />
<h1 class="gl-mb-3 gl-text-size-h2">
GitLab Community Edition
</h1>
</div>
<div class="gl-w-full gl-max-w-62 gl-mx-auto">

<div class="js-non-oauth-login">
<form class="gl-show-field-errors js-arkose-labs-form" aria-live="assertive" data-testid="sign-in-form" action="/users/sign_in" accept-charset="UTF-8" method="post"><input type="hidden" name="authenticity_token" value="{token}" autocomplete="off" /><div class="form-group">
<label for="user_login">Username or primary email</label>
<input class="form-control gl-form-input js-username-field" autocomplete="username" autofocus="autofocus" autocapitalize="off" autocorrect="off" required="required" title="Username or primary email is required." data-testid="username-field" type="text" name="user[login]" id="user_login" />
</div>
<div class="form-group">
<label for="user_password">Password</label>
<input class="form-control gl-form-input js-password" data-id="user_password" data-required="true" data-title="Password is required." data-name="user[password]" data-testid="password-field" type="password" name="user[password]" id="user_password" />
<div class="form-text gl-text-right">
<a href="/users/password/new">Forgot your password?</a>
</div>
</div>
<div class="form-group">
</div>
<div class="gl-mb-3">
<div class="gl-form-checkbox custom-control custom-checkbox">
<input name="user[remember_me]" type="hidden" value="0" autocomplete="off" /><input autocomplete="off" class="custom-control-input" type="checkbox" value="1" name="user[remember_me]" id="user_remember_me" />
<label class="custom-control-label" for="user_remember_me"><span>Remember me</span></label>
</div>

</div>
<button class="gl-button btn btn-block btn-md btn-confirm js-sign-in-button" data-testid="sign-in-button" type="submit"><span class="gl-button-text">
Sign in

</span>

</button></form>
</div>
<p class="gl-mt-3 gl-text-center">
Don&#39;t have an account yet?
<a data-testid="register-link" href="/users/sign_up">Register now</a>
</p>


</div>
</div>
</div>
</div>
<div class="footer-container gl-w-full gl-self-end">
<hr class="gl-m-0">
<div class="container gl-py-5 gl-flex gl-justify-between gl-items-start">
<div class="gl-hidden md:gl-flex gl-gap-5 gl-flex-wrap">
<a href="/explore">Explore</a>
<a href="/help">Help</a>
<a href="https://about.gitlab.com">About GitLab</a>
<a target="_blank" class="text-nowrap" rel="noopener noreferrer" href="https://forum.gitlab.com">Community forum</a>
</div>
<div class="js-language-switcher" data-locales="[{{&quot;value&quot;:&quot;en&quot;,&quot;percentage&quot;:100,&quot;text&quot;:&quot;English&quot;}},{{&quot;value&quot;:&quot;fr&quot;,&quot;percentage&quot;:95,&quot;text&quot;:&quot;français&quot;}},{{&quot;value&quot;:&quot;de&quot;,&quot;percentage&quot;:92,&quot;text&quot;:&quot;Deutsch&quot;}}]"></div>

</div>
</div>
</div>
</body>
</html>
"##,
        head = head("Sign in · GitLab", real),
        flash = flash_alert(alert),
        token = csrf::masked_real(real),
    )
}

async fn sign_in_get(State(app): State<App>, headers: HeaderMap) -> Response {
    let (id, data, new) = session(&app, &headers);
    if data.contains_key("warden.user.user.key") {
        return redirect_with(StatusCode::FOUND, &format!("http://{}/", host(&headers)));
    }
    let real = csrf::real(&app.sessions, &id, &data);
    let resp = html(sign_in_page(&real, ""));
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
    let login = field(&form, "user[login]").unwrap_or("");
    let password = field(&form, "user[password]").unwrap_or("");
    if !login.eq_ignore_ascii_case(USERNAME) || password != PASSWORD {
        let real = csrf::real(&app.sessions, &id, &data);
        return html(sign_in_page(&real, "Invalid login or password."));
    }
    app.tally.hit("login");
    app.sessions.drop_session(&id);
    let renewed = app.sessions.create();
    app.sessions.set(&renewed, "warden.user.user.key", USERNAME);
    let to = data
        .get("user_return_to")
        .cloned()
        .unwrap_or_else(|| "/".to_string());
    let resp = redirect_with(StatusCode::FOUND, &format!("http://{}{to}", host(&headers)));
    with_session(resp, &renewed)
}

fn scope_text(scope: &str) -> Option<(&'static str, &'static str)> {
    match scope {
        "openid" => Some((
            "openid",
            "Grants permission to authenticate with GitLab using OpenID Connect. Also gives \
             read-only access to the user's profile and group memberships.",
        )),
        "read_user" => Some((
            "read_user",
            "Grants read-only access to your profile through the /user API endpoint, which \
             includes username, public email, and full name. Also grants access to read-only \
             API endpoints under /users.",
        )),
        "profile" => Some((
            "profile",
            "Grants read-only access to the user's profile data using OpenID Connect.",
        )),
        "email" => Some((
            "email",
            "Grants read-only access to the user's primary email address using OpenID Connect.",
        )),
        _ => None,
    }
}

/// Doorkeeper's pre-authorization for the one application; the error page when it fails.
fn pre_auth(p: &dyn Fn(&str) -> Option<String>) -> Result<(), Box<Response>> {
    let error = |text: &str| {
        Box::new(support::html_status(
            StatusCode::BAD_REQUEST,
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>GitLab</title></head>\n<body>\n\
                 <main id=\"content-body\" class=\"content\">\n<h3 class=\"page-title\">An error \
                 has occurred</h3>\n<main role=\"main\">\n<pre>{}</pre>\n</main>\n</main>\n</body>\n\
                 </html>\n",
                esc(text)
            ),
        ))
    };
    if p("client_id").as_deref() != Some(CLIENT_ID) {
        return Err(error(
            "Client authentication failed due to unknown client, no client authentication \
             included, or unsupported authentication method.",
        ));
    }
    if p("redirect_uri").as_deref() != Some(REDIRECT_URI) {
        return Err(error("The redirect URI included is not valid."));
    }
    if p("response_type").as_deref() != Some("code") {
        return Err(error(
            "The authorization server does not support this response type.",
        ));
    }
    if p("scope")
        .unwrap_or_default()
        .split_whitespace()
        .any(|s| scope_text(s).is_none())
    {
        return Err(error(
            "The requested scope is invalid, unknown, or malformed.",
        ));
    }
    Ok(())
}

fn code_uri(state: &str) -> url::Url {
    let mut to = url::Url::parse(REDIRECT_URI).expect("redirect_uri");
    {
        let mut pairs = to.query_pairs_mut();
        pairs.append_pair("code", &support::token());
        if !state.is_empty() {
            pairs.append_pair("state", state);
        }
    }
    to
}

/// doorkeeper/authorizations/redirect.html.haml, rendered without a layout.
fn redirect_page(to: &url::Url) -> String {
    let uri = to.as_str();
    format!(
        r##"<h1 class="page-title gl-font-size-h-display">Redirecting</h1>
<div>
<a href="{href}">Click here to redirect to {href}</a>
</div>
<script>
//<![CDATA[
(function() {{
  // Only permit a basic set of characters in the fragment.
  const allowedRegex = /^#[\w-]+$/g;

  const hash = window.location.hash;
  let redirectUri = "{uri}";

  if (window.location.hash && window.location.hash.search(allowedRegex) === 0 && redirectUri.indexOf('#') === -1) {{
    redirectUri = redirectUri + hash;
  }}

  window.location = redirectUri;
}})();

//]]>
</script>"##,
        href = esc(uri),
    )
}

async fn authorize_get(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (id, data, new) = session(&app, &headers);
    if !data.contains_key("warden.user.user.key") {
        let path = match query.as_deref() {
            Some(q) if !q.is_empty() => format!("/oauth/authorize?{q}"),
            _ => "/oauth/authorize".to_string(),
        };
        app.sessions.set(&id, "user_return_to", &path);
        let resp = redirect_with(
            StatusCode::FOUND,
            &format!("http://{}/users/sign_in", host(&headers)),
        );
        return if new { with_session(resp, &id) } else { resp };
    }
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if let Err(page) = pre_auth(&|k| q.get(k).cloned()) {
        return *page;
    }
    let v = |k: &str| q.get(k).cloned().unwrap_or_default();
    if app.token_exists.load(Ordering::SeqCst) {
        app.tally.hit("redirect page");
        app.sessions.remove(&id, "user_return_to");
        return html(redirect_page(&code_uri(&v("state"))));
    }
    app.tally.hit("consent page");
    let real = csrf::real(&app.sessions, &id, &data);
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "response_type",
        "scope",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .map(|k| {
        let value = v(k);
        if value.is_empty() {
            format!("<input type=\"hidden\" name=\"{k}\" id=\"{k}\" autocomplete=\"off\" />\n")
        } else {
            format!(
                "<input type=\"hidden\" name=\"{k}\" id=\"{k}\" value=\"{}\" autocomplete=\"off\" />\n",
                esc(&value)
            )
        }
    })
    .collect();
    let scopes: String = v("scope")
        .split_whitespace()
        .filter_map(scope_text)
        .enumerate()
        .map(|(i, (title, description))| {
            format!(
                r##"<div class="js-experimental-setting-accordion gl-mb-5">
<div class="gl-accordion-item">
<h3 class="gl-accordion-item-header">
<button class="gl-button btn btn-link btn-md btn-default !gl-text-default gl-font-bold" aria-controls="accordion-item-{i}" aria-expanded="false" type="button"><span class="gl-button-text">
<svg class="s16 gl-icon gl-button-icon" data-testid="chevron-right-icon"><use href="/assets/icons.svg#chevron-right"></use></svg>
{title}
</span>
</button></h3>
<div class="gl-mt-3 gl-text-base collapse" id="accordion-item-{i}">
<div class="gl-text-subtle gl-text-sm">
{description}
</div>
</div>
</div>
</div>
"##
            )
        })
        .collect();
    let page = format!(
        r##"<!DOCTYPE html>
<html class="gl-h-full ui-neutral with-header" lang="en">
{head}

<body class="gl-h-full" data-page="oauth:authorizations:new">

<header class="header-logo-only" data-testid="navbar">
<a class="gl-inline-flex" href="/"><img alt="GitLab" src="/assets/logo.svg" /></a>
</header>
<div class="layout-page gl-h-full borderless gl-flex gl-flex-wrap">
<div class="content-wrapper gl-pt-6 md:!gl-pt-11">
<div class="container-fluid container-limited">
<main class="content" id="content-body">
{flash}
<div class="gl-ml-auto gl-mr-auto sm:gl-w-1/2">
<div class="gl-items-center">
<div class="gl-text-size-h1">
<strong>Corpus client</strong> is requesting access to your account on GitLab.
</div>
<div class="gl-flex gl-items-center gl-gap-2 gl-py-5">
<img alt="alice&#39;s avatar" src="/assets/no_avatar.png" class="gl-avatar gl-avatar-s24 gl-avatar-circle" title="alice" data-testid="user_avatar_content" />
<div class="gl-pl-1">
<strong>Alice</strong>
</div>
&middot;
<div class="gl-text-subtle">
<span>@alice</span>
</div>
</div>
</div>
{scopes}<div class="info-well">
<div class="well-segment">
<p class="gl-text-warning">
<svg class="s16" data-testid="warning-solid-icon"><use href="/assets/icons.svg#warning-solid"></use></svg>
Make sure you trust <strong>Corpus client</strong> before authorizing.
</p>
<p>
An administrator created this application 3 days ago.
You will be redirected to <strong>127.0.0.1</strong> after authorizing.
</p>
</div>
</div>
<div>
<form class="gl-inline-block gl-pr-3" action="/oauth/authorize" accept-charset="UTF-8" method="post"><input type="hidden" name="authenticity_token" value="{post_token}" autocomplete="off" />{hidden}<button class="gl-button btn btn-md btn-confirm " data-testid="authorization-button" type="submit"><span class="gl-button-text">
Authorize Corpus client

</span>

</button></form><form class="gl-inline-block" action="/oauth/authorize" accept-charset="UTF-8" method="post"><input type="hidden" name="_method" value="delete" autocomplete="off" /><input type="hidden" name="authenticity_token" value="{delete_token}" autocomplete="off" />{hidden}<button class="gl-button btn btn-md btn-default " type="submit"><span class="gl-button-text">
Cancel

</span>

</button></form></div>
</div>

</main>
</div>
</div>
</div>
</body>
</html>
"##,
        head = head("GitLab", &real),
        flash = flash_alert(""),
        post_token = csrf::masked_real(&real),
        delete_token = csrf::masked_real(&real),
    );
    let resp = html(page);
    if new { with_session(resp, &id) } else { resp }
}

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
        return redirect_with(
            StatusCode::FOUND,
            &format!("http://{}/users/sign_in", host(&headers)),
        );
    }
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
    if method == "delete" {
        app.tally.hit("denied");
        let mut to = url::Url::parse(REDIRECT_URI).expect("redirect_uri");
        {
            let mut pairs = to.query_pairs_mut();
            pairs.append_pair("error", "access_denied").append_pair(
                "error_description",
                "The resource owner or authorization server denied the request.",
            );
            if !state.is_empty() {
                pairs.append_pair("state", &state);
            }
        }
        return redirect_with(StatusCode::FOUND, to.as_str());
    }
    app.tally.hit("code");
    redirect_with(StatusCode::FOUND, code_uri(&state).as_str())
}

#[tokio::test]
async fn gitlab_reaches_a_code() {
    super::prove(start().await).await
}

/// An application the user already authorized (a token exists) gets no consent page: GitLab
/// answers HTTP 200 with a "Redirecting" page whose link and script carry the code, as a
/// browser follows them.
#[tokio::test]
async fn gitlab_known_application_redirect_page() {
    let app = App::default();
    app.token_exists.store(true, Ordering::SeqCst);
    let fixture = serve(app.clone()).await;
    let (request, outcome) = super::sign_in(&fixture, PASSWORD, Consent::Approve).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("sign-in failed: {e}"));
    assert_eq!(app.tally.count("redirect page"), 1);
    assert!(
        outcome.code().is_some(),
        "the redirect page was not followed: the server {}",
        outcome.describe()
    );
    assert_eq!(outcome.param("state"), request.get("state"));
}
