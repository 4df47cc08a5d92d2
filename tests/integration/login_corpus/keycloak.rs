//! Keycloak 26.x, default browser flow with the default login theme `keycloak.v2`, for a client
//! with "Consent required" on. Reproduced from keycloak/keycloak (26.x line; files read at the
//! commits the corpus index holds, noted per file):
//! - themes/src/main/resources/theme/keycloak.v2/login/template.ftl (1683a2e0): page skeleton,
//!   `<meta>` tags, module scripts, the language `<select id="login-select-toggle">` outside any
//!   form, the alert block, the footer band;
//! - .../keycloak.v2/login/login.ftl (0120e628): `<form id="kc-form-login" onsubmit=...
//!   action="${url.loginAction}" method="post" novalidate>`, `username`, `password` with its
//!   show-password `type=button`, the `rememberMe` checkbox, "Forgot Password?", the hidden
//!   `credentialId`, the register link and one identity-provider link;
//! - .../keycloak.v2/login/field.ftl (091ec956), buttons.ftl (e06c29b4): `<button name="login"
//!   id="kc-login" type="submit">` with no value attribute, the per-field error
//!   `input-error-container-username`;
//! - .../keycloak.v2/login/social-providers.ftl (56e119c2): the identity-provider link;
//! - .../keycloak.v2/login/login-oauth-grant.ftl (0e37d361): the consent page, a form to
//!   `${url.oauthAction}` with the hidden `code` and two valueless submit buttons `accept`
//!   ("Yes") and `cancel` ("No");
//! - services/.../forms/login/freemarker/FreeMarkerLoginFormsProvider.java (010ae0b3): the
//!   action URLs (`session_code`, `execution`, `client_id`, `tab_id`, `client_data`; the consent
//!   action has its query reset to `client_id`, `tab_id`, `client_data`);
//! - services/.../authenticators/browser/AbstractUsernameFormAuthenticator.java (02c8ca0a): a
//!   wrong password re-renders login.ftl, HTTP 200, with "Invalid username or password." under
//!   the username field and the username kept;
//! - services/.../managers/AuthenticationManager.java `redirectToRequiredActions`: after the
//!   password, a 302 to `login-actions/required-action?execution=OAUTH_GRANT&client_id&tab_id
//!   &client_data`, which renders the consent page; LoginActionsService `processConsent`: the
//!   `cancel` field present means denied (`error=access_denied`), else the code.
//!
//! Cookies as Keycloak sets them over plain HTTP (start-dev): `AUTH_SESSION_ID`, `KC_RESTART`,
//! `KC_AUTH_SESSION_HASH` on the realm path; `KEYCLOAK_IDENTITY`/`KEYCLOAK_SESSION` once signed in.
//! The authorization response carries `state`, `session_state`, `iss` and `code`.
//! Left out: styling classes beyond the ids and a few PatternFly names, the passkeys
//! conditional-UI data, the login-page-expired page (a stale `session_code` gets a plain 400
//! here), brute-force detection, and the code's token exchange.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::support::{self, esc};

pub(super) const REALM: &str = "corpus";
pub(super) const CLIENT_ID: &str = "corpus-app";
pub(super) const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
pub(super) const USERNAME: &str = "alice";
pub(super) const PASSWORD: &str = "correct horse battery staple";
/// The execution id of the "Username Password Form" step of the built-in browser flow (a UUID
/// in a real realm).
pub(super) const EXEC_USERNAME_PASSWORD: &str = "8d4c1a9e-53a2-4a44-8e0c-3c5cf2b7f0d1";

/// One authentication session (`AUTH_SESSION_ID` + `tab_id`).
#[derive(Clone, Default)]
pub(super) struct AuthSession {
    pub tab_id: String,
    /// The current `session_code`; Keycloak rotates it on every rendered form.
    pub session_code: String,
    pub query: HashMap<String, String>,
    pub user: Option<String>,
    pub consent_code: Option<String>,
}

pub(super) type Store = Arc<Mutex<HashMap<String, AuthSession>>>;

pub(super) fn realm_path(rest: &str) -> String {
    format!("/realms/{REALM}/{rest}")
}

/// `client_data` as Keycloak 26 writes it: base64url JSON of the redirect URI, response type,
/// state and response mode.
pub(super) fn client_data(q: &HashMap<String, String>) -> String {
    let json = serde_json::json!({
        "ru": q.get("redirect_uri").cloned().unwrap_or_default(),
        "rt": q.get("response_type").cloned().unwrap_or_default(),
        "st": q.get("state").cloned().unwrap_or_default(),
        "rm": q.get("response_mode").cloned().unwrap_or_else(|| "query".into()),
    });
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// `client_id=..&tab_id=..&client_data=..`, the base query of every login-actions URL.
pub(super) fn base_query(s: &AuthSession) -> String {
    format!(
        "client_id={}&tab_id={}&client_data={}",
        support::enc(CLIENT_ID),
        support::enc(&s.tab_id),
        support::enc(&client_data(&s.query))
    )
}

pub(super) fn login_action(s: &AuthSession, execution: &str) -> String {
    format!(
        "{}?session_code={}&execution={}&{}",
        realm_path("login-actions/authenticate"),
        support::enc(&s.session_code),
        execution,
        base_query(s)
    )
}

/// What template.ftl puts around a page: `page_id` is the template name without `.ftl`.
pub(super) struct Layout<'a> {
    pub page_id: &'a str,
    pub header: &'a str,
    /// (type, text) of the alert, when `displayMessage` holds.
    pub message: Option<(&'a str, &'a str)>,
    /// The read-only attempted username with the "restart login" button (auth.showUsername()).
    pub attempted_username: Option<&'a str>,
    pub form: String,
    pub social: String,
    pub info: String,
    pub locale_url: String,
    pub session: &'a AuthSession,
}

pub(super) fn registration_layout(l: Layout<'_>) -> String {
    let res = "/resources/bq1yu/login/keycloak.v2";
    let common = "/resources/bq1yu/common/keycloak";
    let restart = format!(
        "{}?{}&skip_logout=true",
        realm_path("login-actions/restart"),
        base_query(l.session)
    );
    let username_block = match l.attempted_username {
        Some(user) => format!(
            r#"<div class="pf-v5-c-form pf-v5-c-login__main-body">
  <div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__group-label"><label for="username" class="pf-v5-c-form__label"><span class="pf-v5-c-form__label-text">Username or email</span></label></div>
    <div class="pf-v5-c-input-group">
      <div class="pf-v5-c-input-group__item pf-m-fill"><span class="pf-v5-c-form-control pf-m-readonly"><input id="kc-attempted-username" value="{user}" readonly></span></div>
      <div class="pf-v5-c-input-group__item">
        <button id="reset-login" class="pf-v5-c-button pf-m-control kc-login-tooltip" type="button" aria-label="Restart login" onclick="location.href='{restart}'"><i class="fa-sync-alt fas" aria-hidden="true"></i><span class="kc-tooltip-text">Restart login</span></button>
      </div>
    </div>
    <div id="input-error-container-username"></div>
  </div>
</div>"#,
            user = esc(user),
            restart = esc(&realm_path(&format!(
                "login-actions/restart?{}",
                base_query(l.session)
            ))),
        ),
        None => String::new(),
    };
    let alert = match l.message {
        Some((kind, text)) => format!(
            r#"<div class="pf-v5-c-alert pf-m-inline pf-m-{cls}">
  <div class="pf-v5-c-alert__icon"><span class="fa fa-fw fa-exclamation-circle"></span></div>
  <span class="pf-v5-c-alert__title kc-feedback-text">{text}</span>
</div>"#,
            cls = if kind == "error" { "danger" } else { kind },
            text = esc(text)
        ),
        None => String::new(),
    };
    format!(
        r#"<!DOCTYPE html>
<html class="" lang="en" dir="ltr">
<head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <meta name="color-scheme" content="light dark">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex, nofollow"/>
    <title>Sign in to {realm}</title>
    <link rel="icon" href="{res}/img/favicon.ico" />
    <link href="{common}/vendor/patternfly-v5/patternfly.min.css" rel="stylesheet" />
    <link href="{res}/css/styles.css" rel="stylesheet" />
    <script type="importmap">
        {{ "imports": {{ "rfc4648": "{common}/vendor/rfc4648/rfc4648.js" }} }}
    </script>
    <script type="module" async blocking="render">
        const DARK_MODE_CLASS = "pf-v5-theme-dark";
        const mediaQuery = window.matchMedia("(prefers-color-scheme: dark)");
        updateDarkMode(mediaQuery.matches);
        function updateDarkMode(isEnabled) {{ if (isEnabled) document.documentElement.classList.add(DARK_MODE_CLASS); }}
    </script>
    <script src="{res}/js/menu-button-links.js" type="module"></script>
    <script type="module" src="{res}/js/passwordVisibility.js"></script>
    <script type="module">
        import {{ startSessionPolling }} from "{res}/js/authChecker.js";
        startSessionPolling("{restart}");
    </script>
    <script type="module">
        import {{ checkAuthSession }} from "{res}/js/authChecker.js";
        checkAuthSession("{hash}");
    </script>
    <script>
      // Workaround for https://bugzilla.mozilla.org/show_bug.cgi?id=1404468
      const isFirefox = true;
    </script>
</head>
<body id="keycloak-bg" class="" data-page-id="login-{page_id}">
<div class="pf-v5-c-login">
  <div class="pf-v5-c-login__container">
    <header id="kc-header" class="pf-v5-c-login__header">
      <div id="kc-header-wrapper" class="pf-v5-c-brand">{realm}</div>
    </header>
    <main class="pf-v5-c-login__main">
      <div class="pf-v5-c-login__main-header">
        <h1 class="pf-v5-c-title pf-m-3xl" id="kc-page-title">{header}</h1>
        <div class="pf-v5-c-login__main-header-utilities">
          <div class="pf-v5-c-form-control">
            <select aria-label="languages" id="login-select-toggle" onchange="if (this.value) window.location.href=this.value">
                <option value="{locale_de}">Deutsch</option>
                <option value="{locale_en}" selected>English</option>
                <option value="{locale_fr}">Français</option>
            </select>
          </div>
        </div>
      </div>
      <div class="pf-v5-c-login__main-body">
        {username_block}
        {alert}
        {form}
          <div class="pf-v5-c-login__main-footer">
              {social}
              {info}
          </div>
      </div>
        <div class="pf-v5-c-login__main-footer"></div>
    </main>
  </div>
</div>
</body>
</html>
"#,
        realm = REALM,
        res = res,
        common = common,
        restart = esc(&restart),
        hash = URL_SAFE_NO_PAD.encode(l.session.tab_id.as_bytes()),
        page_id = l.page_id,
        header = l.header,
        locale_de = esc(&format!("{}&kc_locale=de", l.locale_url)),
        locale_en = esc(&format!("{}&kc_locale=en", l.locale_url)),
        locale_fr = esc(&format!("{}&kc_locale=fr", l.locale_url)),
        username_block = username_block,
        alert = alert,
        form = l.form,
        social = l.social,
        info = l.info,
    )
}

/// field.ftl's `password` macro with login.ftl's nested remember-me and the reset link.
pub(super) fn password_field(error: Option<&str>, remember_me: bool, autofocus: bool) -> String {
    let remember = if remember_me {
        r#"<div class="pf-v5-c-check">
      <label for="rememberMe" class="pf-v5-c-check">
        <input class="pf-v5-c-check__input" type="checkbox" id="rememberMe" name="rememberMe" />
        <span class="pf-v5-c-check__label">Remember me</span>
      </label>
    </div>"#
    } else {
        ""
    };
    let invalid = if error.is_some() { "true" } else { "" };
    let error_html = error.map(field_error("password")).unwrap_or_default();
    format!(
        r#"<div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__group-label"><label for="password" class="pf-v5-c-form__label"><span class="pf-v5-c-form__label-text">Password</span></label></div>
    <div class="pf-v5-c-input-group">
      <div class="pf-v5-c-input-group__item pf-m-fill">
        <span class="pf-v5-c-form-control ">
          <input id="password" name="password" value="" type="password" autocomplete="current-password" {autofocus} aria-invalid="{invalid}"/>
        </span>
      </div>
      <div class="pf-v5-c-input-group__item">
        <button class="pf-v5-c-button pf-m-control" type="button" aria-label="Show password" aria-controls="password" data-password-toggle data-icon-show="fa-eye fas" data-icon-hide="fa-eye-slash fas" data-label-show="Show password" data-label-hide="Hide password" id="password-show-password"><i class="fa-eye fas" aria-hidden="true"></i></button>
      </div>
    </div>
    <div class="pf-v5-c-form__helper-text" aria-live="polite">
        <div class="pf-v5-c-helper-text">
            {remember}
                <div class="pf-v5-c-helper-text__item">
                  <span class="pf-v5-c-helper-text__item-text"><a href="{reset}">Forgot Password?</a></span>
                </div>
        </div>
    </div>
    <div id="input-error-container-password">{error_html}</div>
</div>"#,
        autofocus = if autofocus { "autofocus" } else { "" },
        reset = esc(&realm_path(
            "login-actions/reset-credentials?client_id=corpus-app"
        )),
    )
}

/// field.ftl's `input` macro for `username`.
pub(super) fn username_field(value: &str, error: Option<&str>) -> String {
    let invalid = if error.is_some() { "true" } else { "" };
    let error_html = error.map(field_error("username")).unwrap_or_default();
    format!(
        r#"<div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__group-label"><label for="username" class="pf-v5-c-form__label"><span class="pf-v5-c-form__label-text">Username or email</span></label></div>
    <span class="pf-v5-c-form-control {err_cls}">
        <input id="username" name="username" value="{value}" type="text" autocomplete="username" autofocus aria-invalid="{invalid}"/>
    </span>
    <div id="input-error-container-username">{error_html}</div>
</div>"#,
        err_cls = if error.is_some() { "pf-m-error" } else { "" },
        value = esc(value),
    )
}

fn field_error(name: &'static str) -> impl Fn(&str) -> String {
    move |text| {
        format!(
            r#"<div class="pf-v5-c-form__helper-text" aria-live="polite"><div class="pf-v5-c-helper-text"><div class="pf-v5-c-helper-text__item pf-m-error" id="input-error-{name}"><span class="pf-v5-c-helper-text__item-text">{}</span></div></div></div>"#,
            esc(text)
        )
    }
}

/// buttons.ftl `loginButton`: a named submit button without a value.
pub(super) const LOGIN_BUTTON: &str = r#"<div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__actions">
      <button class="pf-v5-c-button pf-m-primary pf-m-block " name="login" id="kc-login" type="submit">Sign In</button>
    </div>
  </div>"#;

pub(super) fn social_providers(s: &AuthSession) -> String {
    let url = format!(
        "{}?{}&session_code={}",
        realm_path("broker/github/login"),
        base_query(s),
        support::enc(&s.session_code)
    );
    format!(
        r#"<div class="pf-v5-c-login__main-footer-band"><span class="pf-v5-c-login__main-footer-band-item">Or sign in with</span></div>
  <div id="kc-social-providers" class="pf-v5-c-login__main-footer">
      <ul class="pf-v5-c-login__main-footer-links kc-social-links ">
              <li class="">
                  <a data-once-link data-disabled-class="pf-m-disabled" id="social-github" class="pf-v5-c-button pf-m-secondary pf-m-block kc-social-item" aria-label="GitHub" type="button" href="{}">
                      <svg aria-hidden="true" viewBox="0 0 496 512"><path d="M0 0"/></svg>
                      <span class="kc-social-provider-name">GitHub</span>
                  </a>
              </li>
      </ul>
  </div>"#,
        esc(&url)
    )
}

pub(super) fn registration_info(s: &AuthSession) -> String {
    format!(
        r#"<div id="kc-info" class="pf-v5-c-login__main-footer-band pf-v5-c-form">
    <div id="kc-info-wrapper" class="pf-v5-c-login__main-footer-band-item">
        <div id="kc-registration-container"><div id="kc-registration">
            <span>New user? <a href="{}">Register</a></span>
        </div></div>
    </div>
</div>"#,
        esc(&format!(
            "{}?{}",
            realm_path("login-actions/registration"),
            base_query(s)
        ))
    )
}

/// The login.ftl page for a session, with an optional error under the username field.
fn login_page(s: &AuthSession, username: &str, error: Option<&str>) -> Response {
    let form = format!(
        r#"<div id="kc-form">
          <div id="kc-form-wrapper">
                <form id="kc-form-login" class="pf-v5-c-form" onsubmit="login.disabled = true; return true;" action="{action}" method="post" novalidate="novalidate">
                    {username}
                    {password}
                    <input type="hidden" id="id-hidden-input" name="credentialId" />
                    {button}
                </form>
            </div>
        </div>"#,
        action = esc(&login_action(s, EXEC_USERNAME_PASSWORD)),
        username = username_field(username, error),
        password = password_field(None, true, false),
        button = LOGIN_BUTTON,
    );
    let page = registration_layout(Layout {
        page_id: "login",
        header: "Sign in to your account",
        message: None, // displayMessage=false while a username/password field error exists
        attempted_username: None,
        form,
        social: social_providers(s),
        info: registration_info(s),
        locale_url: format!(
            "{}?{}&execution={EXEC_USERNAME_PASSWORD}",
            realm_path("login-actions/authenticate"),
            base_query(s)
        ),
        session: s,
    });
    support::html(page)
}

/// A Keycloak error page (error.ftl) with the given message.
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    support::html_status(
        status,
        format!(
            r#"<!DOCTYPE html><html lang="en"><head><title>Sign in to {REALM}</title></head>
<body data-page-id="login-error"><h1 id="kc-page-title">We are sorry...</h1>
<div id="kc-error-message"><p class="instruction">{}</p></div></body></html>"#,
            esc(message)
        ),
    )
}

/// Checks the authorization request as OIDCLoginProtocolService/AuthorizationEndpoint does.
pub(super) fn check_request(q: &HashMap<String, String>) -> Result<(), Box<Response>> {
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "Client not found.",
        )));
    }
    if q.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI) {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid parameter: redirect_uri",
        )));
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err(Box::new(support::to_client(
            REDIRECT_URI,
            &[
                ("error", "unsupported_response_type"),
                ("state", q.get("state").map(String::as_str).unwrap_or("")),
            ],
        )));
    }
    Ok(())
}

/// Starts an authentication session: the cookies of AuthenticationSessionManager and
/// RestartLoginCookie.
pub(super) fn new_session(store: &Store, q: HashMap<String, String>) -> (String, AuthSession) {
    let root = support::token();
    let s = AuthSession {
        tab_id: support::token()[..11].to_string(),
        session_code: support::token(),
        query: q,
        ..Default::default()
    };
    store.lock().unwrap().insert(root.clone(), s.clone());
    (root, s)
}

pub(super) fn with_session_cookies(resp: Response, root: &str) -> Response {
    let path = realm_path("");
    let resp = support::set_cookie(
        resp,
        &format!("AUTH_SESSION_ID={root}.keycloak-0-12345; Version=1; Path={path}; HttpOnly"),
    );
    let resp = support::set_cookie(
        resp,
        &format!(
            "KC_AUTH_SESSION_HASH={}; Version=1; Path={path}",
            URL_SAFE_NO_PAD.encode(root.as_bytes())
        ),
    );
    support::set_cookie(
        resp,
        &format!(
            "KC_RESTART=eyJhbGciOiJIUzUxMiJ9.{}.sig; Version=1; Path={path}; HttpOnly",
            URL_SAFE_NO_PAD.encode(root.as_bytes())
        ),
    )
}

/// The authentication session named by the `AUTH_SESSION_ID` cookie, when `tab_id` matches.
pub(super) fn session_of(
    store: &Store,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Option<(String, AuthSession)> {
    let cookie = support::cookie(headers, "AUTH_SESSION_ID")?;
    let root = cookie.split('.').next()?.to_string();
    let s = store.lock().unwrap().get(&root).cloned()?;
    (q.get("tab_id") == Some(&s.tab_id)
        && q.get("client_id").map(String::as_str) == Some(CLIENT_ID))
    .then_some((root, s))
}

pub(super) fn save(store: &Store, root: &str, s: &AuthSession) {
    store.lock().unwrap().insert(root.to_string(), s.clone());
}

/// OIDCLoginProtocol.authenticated: the code with state, session_state and iss.
pub(super) fn code_response(base: &str, s: &AuthSession) -> Response {
    let state = s.query.get("state").cloned().unwrap_or_default();
    let session_state = support::token();
    let code = format!(
        "{}.{}.{}",
        support::token(),
        session_state,
        support::token()
    );
    let iss = format!("{}{}", base.trim_end_matches('/'), realm_path(""));
    let iss = iss.trim_end_matches('/').to_string();
    let resp = support::to_client(
        REDIRECT_URI,
        &[
            ("state", &state),
            ("session_state", &session_state),
            ("iss", &iss),
            ("code", &code),
        ],
    );
    let path = realm_path("");
    let resp = support::set_cookie(
        resp,
        &format!(
            "KEYCLOAK_IDENTITY={}; Version=1; Path={path}; HttpOnly",
            support::token()
        ),
    );
    support::set_cookie(
        resp,
        &format!("KEYCLOAK_SESSION={REALM}/{session_state}; Version=1; Path={path}"),
    )
}

#[derive(Clone)]
struct App {
    store: Store,
    base: Arc<Mutex<String>>,
}

async fn authorize(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(resp) = check_request(&q) {
        return *resp;
    }
    let (root, s) = new_session(&app.store, q);
    with_session_cookies(login_page(&s, "", None), &root)
}

async fn authenticate(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some((root, mut s)) = session_of(&app.store, &headers, &q) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Cookie not found. Please make sure cookies are enabled in your browser.",
        );
    };
    if q.get("session_code") != Some(&s.session_code)
        || q.get("execution").map(String::as_str) != Some(EXEC_USERNAME_PASSWORD)
    {
        return error_page(StatusCode::BAD_REQUEST, "Page has expired.");
    }
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    s.session_code = support::token();
    let username = get("username").trim().to_string();
    if username != USERNAME || get("password") != PASSWORD {
        save(&app.store, &root, &s);
        return login_page(&s, &username, Some("Invalid username or password."));
    }
    s.user = Some(username);
    save(&app.store, &root, &s);
    support::redirect(&format!(
        "{}?execution=OAUTH_GRANT&{}",
        realm_path("login-actions/required-action"),
        base_query(&s)
    ))
}

async fn required_action(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((root, mut s)) = session_of(&app.store, &headers, &q) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Cookie not found. Please make sure cookies are enabled in your browser.",
        );
    };
    if s.user.is_none() || q.get("execution").map(String::as_str) != Some("OAUTH_GRANT") {
        return error_page(StatusCode::BAD_REQUEST, "Page has expired.");
    }
    let code = support::token();
    s.consent_code = Some(code.clone());
    save(&app.store, &root, &s);
    let scopes = ["User profile", "Email address", "User roles"]
        .iter()
        .map(|t| format!("<li>\n  <span>\n    {t}\n  </span>\n</li>"))
        .collect::<String>();
    let form = format!(
        r#"<div id="kc-oauth" class="content-area">
            <h3>Do you grant these access privileges?</h3>
            <ul class="pf-v5-c-list">
                {scopes}
            </ul>
            <form class="pf-v5-c-form pf-v5-u-mt-md" action="{action}" method="POST">
                <input type="hidden" name="code" value="{code}">
                <div class="pf-v5-c-form__group">
                  <div class="pf-v5-c-form__actions">
                    <button class="pf-v5-c-button pf-m-primary " name="accept" id="kc-login" type="submit">Yes</button>
                    <button class="pf-v5-c-button pf-m-secondary " name="cancel" id="kc-cancel" type="submit">No</button>
                  </div>
                </div>
            </form>
        </div>"#,
        action = esc(&format!(
            "{}?{}",
            realm_path("login-actions/consent"),
            base_query(&s)
        )),
        code = esc(&code),
    );
    support::html(registration_layout(Layout {
        page_id: "login-oauth-grant",
        header: "<p>\n            Grant Access to corpus-app\n        </p>",
        message: None,
        attempted_username: None,
        form,
        social: String::new(),
        info: String::new(),
        locale_url: format!(
            "{}?{}",
            realm_path("login-actions/required-action"),
            base_query(&s)
        ),
        session: &s,
    }))
}

async fn consent(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some((root, s)) = session_of(&app.store, &headers, &q) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Cookie not found. Please make sure cookies are enabled in your browser.",
        );
    };
    let code = form.iter().find(|(k, _)| k == "code").map(|(_, v)| v);
    if s.user.is_none() || s.consent_code.is_none() || code != s.consent_code.as_ref() {
        return error_page(StatusCode::BAD_REQUEST, "Page has expired.");
    }
    app.store.lock().unwrap().remove(&root);
    if form.iter().any(|(k, _)| k == "cancel") {
        let state = s.query.get("state").cloned().unwrap_or_default();
        let iss = format!(
            "{}{}",
            app.base.lock().unwrap().trim_end_matches('/'),
            realm_path("")
        );
        return support::to_client(
            REDIRECT_URI,
            &[
                ("error", "access_denied"),
                ("state", &state),
                ("iss", iss.trim_end_matches('/')),
            ],
        );
    }
    let base = app.base.lock().unwrap().clone();
    code_response(&base, &s)
}

pub async fn start() -> super::Fixture {
    let app = App {
        store: Store::default(),
        base: Arc::default(),
    };
    let router = Router::new()
        .route(&realm_path("protocol/openid-connect/auth"), get(authorize))
        .route(
            &realm_path("login-actions/authenticate"),
            post(authenticate),
        )
        .route(
            &realm_path("login-actions/required-action"),
            get(required_action),
        )
        .route(&realm_path("login-actions/consent"), post(consent))
        .with_state(app.clone());
    let (base, task) = support::serve(router).await;
    *app.base.lock().unwrap() = base.to_string();
    super::Fixture {
        reproduces: "Keycloak 26.x keycloak.v2 theme: login.ftl, login-oauth-grant.ftl (consent required)",
        authorize: base
            .join(&realm_path("protocol/openid-connect/auth"))
            .expect("authorize url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: "openid profile email".into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: true,
        servers: vec![task],
    }
}

#[tokio::test]
async fn keycloak_reaches_a_code() {
    super::prove(start().await).await
}
