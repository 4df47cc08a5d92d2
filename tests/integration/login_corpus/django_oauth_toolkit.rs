//! django-oauth-toolkit 3.0.1 behind Django 5.x's `django.contrib.auth` login.
//!
//! Reproduces, as rendered:
//! - the sign-in page: the `registration/login.html` example from Django's documentation
//!   (docs/topics/auth/default.txt, "All authentication views"), served by
//!   `django.contrib.auth.views.LoginView` at `/accounts/login/` (settings.LOGIN_URL), inside a
//!   bare project `base.html`; the `AuthenticationForm` widgets as Django 5 renders them, the
//!   `csrfmiddlewaretoken` hidden field, the hidden `next`, the "Lost password?" link;
//! - the consent page: oauth2_provider/templates/oauth2_provider/authorize.html (extending
//!   oauth2_provider/base.html) at 3.0.1: `<form id="authorizationForm" method="post">` with no
//!   action, the hidden fields of oauth2_provider/forms.py `AllowForm` in their declared order
//!   (redirect_uri, scope, nonce, client_id, state, response_type, code_challenge,
//!   code_challenge_method, claims), a "Cancel" submit without a name and an "Authorize" submit
//!   named `allow`.
//!
//! Behaviour, from oauth2_provider/views/base.py (`AuthorizationView.get`/`form_valid`),
//! oauth2_provider/oauth2_backends.py (`create_authorization_response`: no `allow` raises
//! `AccessDeniedError` with the state) and views/mixins.py (`error_response`), and from Django's
//! `LoginRequiredMixin` → `redirect_to_login` (the full path quoted with `safe="/"` into `next`),
//! `LoginView` (302 to `next` when it is a local URL; a wrong password re-renders the page with
//! HTTP 200), `login()` (session key cycled: a new `sessionid`; CSRF secret rotated: a new
//! `csrftoken`) and `CsrfViewMiddleware` (Django ≥ 4.1: the cookie holds the 32-character
//! secret, each form a 64-character masked token; an `Origin` header must match the host;
//! failures are a 403 page). PKCE is required (`PKCE_REQUIRED` defaults to true in 3.x);
//! `REQUEST_APPROVAL_PROMPT` is "force", so the consent page shows every time.
//!
//! Left out: styling, the token endpoint, `prompt`/`approval_prompt=auto`, the OIDC id_token,
//! Django's password hashing and the `LoginRequiredMiddleware` exemption decorator.

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

use super::Fixture;
use oauthprobe::flow::authorize::Consent;

use super::support::{self, Sessions, Tally, esc, html, html_status, to_client};

const CLIENT_ID: &str = "dot-client-id-1";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid read";
const USERNAME: &str = "alice";
const PASSWORD: &str = "alice-password-1";

/// Django's session and CSRF machinery and `LoginView`'s rules, shared with the
/// django-oidc-provider fixture (which renders a different login template).
pub(super) mod django {
    use std::collections::HashMap;

    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::Response;
    use ring::rand::{SecureRandom, SystemRandom};

    use super::super::support::{self, Sessions, html_status, set_cookie};

    /// `django.middleware.csrf.CSRF_ALLOWED_CHARS`.
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// `_get_new_csrf_string()`: 32 characters from CHARS.
    pub fn new_secret() -> String {
        let mut buf = [0u8; 32];
        SystemRandom::new().fill(&mut buf).expect("random");
        buf.iter()
            .map(|b| CHARS[*b as usize % CHARS.len()] as char)
            .collect()
    }

    fn idx(c: u8) -> Option<usize> {
        CHARS.iter().position(|x| *x == c)
    }

    /// `_mask_cipher_secret`: a fresh mask, then each secret character shifted by the mask's.
    pub fn mask(secret: &str) -> String {
        let mask = new_secret();
        let cipher: String = secret
            .bytes()
            .zip(mask.bytes())
            .map(|(s, m)| {
                let (s, m) = (idx(s).unwrap_or(0), idx(m).unwrap_or(0));
                CHARS[(s + m) % CHARS.len()] as char
            })
            .collect();
        format!("{mask}{cipher}")
    }

    /// `_unmask_cipher_token`.
    fn unmask(token: &str) -> Option<String> {
        let bytes = token.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let (mask, cipher) = bytes.split_at(32);
        cipher
            .iter()
            .zip(mask)
            .map(|(c, m)| {
                let (c, m) = (idx(*c)?, idx(*m)?);
                Some(CHARS[(c + CHARS.len() - m) % CHARS.len()] as char)
            })
            .collect()
    }

    /// Django's `csrf_failure` page.
    fn forbidden(reason: &str) -> Response {
        html_status(
            StatusCode::FORBIDDEN,
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta http-equiv=\"content-type\" \
                 content=\"text/html; charset=utf-8\">\n  <meta name=\"robots\" content=\"NONE,NOARCHIVE\">\n  \
                 <title>403 Forbidden</title>\n</head>\n<body>\n  <div id=\"summary\">\n    \
                 <h1>Forbidden <span>(403)</span></h1>\n    <p>CSRF verification failed. Request aborted.</p>\n    \
                 <p>Reason given for failure:</p>\n    <pre>\n    {}\n    </pre>\n  </div>\n</body>\n</html>\n",
                support::esc(reason)
            ),
        )
    }

    /// `CsrfViewMiddleware.process_view` for a POST over plain HTTP: the 403 page, or `None`
    /// when the request passes.
    pub fn reject(headers: &HeaderMap, form: &[(String, String)]) -> Option<Response> {
        check(headers, form).err().map(|why| forbidden(&why))
    }

    fn check(headers: &HeaderMap, form: &[(String, String)]) -> Result<(), String> {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let good = format!("http://{host}");
            let origin = origin.to_str().unwrap_or("");
            if origin != good {
                return Err(format!(
                    "Origin checking failed - {origin} does not match any trusted origins."
                ));
            }
        }
        let Some(secret) = support::cookie(headers, "csrftoken").filter(|s| s.len() == 32) else {
            return Err("CSRF cookie not set.".into());
        };
        let token = form
            .iter()
            .find(|(k, _)| k == "csrfmiddlewaretoken")
            .map(|(_, v)| v.as_str())
            .or_else(|| headers.get("x-csrftoken").and_then(|v| v.to_str().ok()));
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err("CSRF token missing.".into());
        };
        let plain = if token.len() == 32 {
            Some(token.to_string())
        } else {
            unmask(token)
        };
        if plain.as_deref() != Some(secret.as_str()) {
            return Err("CSRF token incorrect.".into());
        }
        Ok(())
    }

    /// The secret the page's `{% csrf_token %}` masks: the cookie's, or a new one that the
    /// response must then set (`get_token` + `CsrfViewMiddleware.process_response`).
    pub fn secret_for(headers: &HeaderMap) -> (String, bool) {
        match support::cookie(headers, "csrftoken").filter(|s| s.len() == 32) {
            Some(s) => (s, false),
            None => (new_secret(), true),
        }
    }

    pub fn with_csrf_cookie(resp: Response, secret: &str) -> Response {
        set_cookie(
            resp,
            &format!("csrftoken={secret}; Max-Age=31449600; Path=/; SameSite=Lax"),
        )
    }

    pub fn with_session_cookie(resp: Response, id: &str) -> Response {
        set_cookie(
            resp,
            &format!("sessionid={id}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"),
        )
    }

    /// The signed-in user, from the `sessionid` cookie.
    pub fn user(sessions: &Sessions, headers: &HeaderMap) -> Option<String> {
        sessions
            .get(headers, "sessionid")
            .and_then(|(_, s)| s.get("_auth_user_id").cloned())
    }

    /// `urllib.parse.quote(s, safe)`.
    pub fn quote(s: &str, safe: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// `redirect_to_login(request.get_full_path())`: 302 to LOGIN_URL with `next`.
    pub fn redirect_to_login(path: &str, query: Option<&str>) -> Response {
        let full = match query {
            Some(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path.to_string(),
        };
        support::redirect(&format!("/accounts/login/?next={}", quote(&full, "/")))
    }

    /// `LoginView.get_redirect_url`: `next` only when `url_has_allowed_host_and_scheme`.
    pub fn safe_next(next: &str) -> Option<&str> {
        (next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\"))
            .then_some(next)
    }

    /// The POSTed value of a field (QueryDict.get: the last one).
    pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
        form.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `LoginView.form_valid` → `auth.login()`: a new session (`cycle_key`) holding the user,
    /// a rotated CSRF secret, and the redirect to `next` (or LOGIN_REDIRECT_URL).
    pub fn logged_in(sessions: &Sessions, headers: &HeaderMap, user: &str, next: &str) -> Response {
        if let Some((old, _)) = sessions.get(headers, "sessionid") {
            sessions.drop_session(&old);
        }
        let id = sessions.create();
        sessions.set(&id, "_auth_user_id", user);
        let to = safe_next(next).unwrap_or("/accounts/profile/");
        let resp = support::redirect(to);
        let resp = with_session_cookie(resp, &id);
        with_csrf_cookie(resp, &new_secret())
    }

    /// The query string as a QueryDict would read it.
    pub fn query_map(query: Option<&str>) -> HashMap<String, String> {
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

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
        .route("/o/authorize/", get(authorize_get).post(authorize_post))
        .route("/accounts/login/", get(login_get).post(login_post))
        .with_state(app);
    let (base, task) = support::serve(router).await;
    Fixture {
        reproduces: "django-oauth-toolkit 3.0.1 authorize.html behind Django's LoginView \
                     (registration/login.html from Django's docs)",
        authorize: base.join("/o/authorize/").expect("url"),
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

/// `{% extends "base.html" %}` of a bare project, then the documentation's login template.
fn login_page(next: &str, failed: bool, username: &str, token: &str) -> String {
    let error = if failed {
        "<p>Your username and password didn't match. Please try again.</p>\n"
    } else {
        ""
    };
    let please = if next.is_empty() {
        ""
    } else {
        "    <p>Please login to see this page.</p>\n"
    };
    let value = if username.is_empty() {
        String::new()
    } else {
        format!(" value=\"{}\"", esc(username))
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Log in</title>
</head>
<body>
<main>

{error}
{please}

<form method="post" action="/accounts/login/">
<input type="hidden" name="csrfmiddlewaretoken" value="{token}">
<table>
<tr>
    <td><label for="id_username">Username:</label></td>
    <td><input type="text" name="username"{value} autofocus autocapitalize="none" autocomplete="username" maxlength="150" required id="id_username"></td>
</tr>
<tr>
    <td><label for="id_password">Password:</label></td>
    <td><input type="password" name="password" autocomplete="current-password" required id="id_password"></td>
</tr>
</table>

<input type="submit" value="login">
<input type="hidden" name="next" value="{next}">
</form>


<p><a href="/accounts/password_reset/">Lost password?</a></p>

</main>
</body>
</html>
"#,
        next = esc(next),
    )
}

async fn login_get(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let q = django::query_map(query.as_deref());
    let next = q.get("next").cloned().unwrap_or_default();
    let (secret, new) = django::secret_for(&headers);
    let resp = html(login_page(&next, false, "", &django::mask(&secret)));
    if new {
        django::with_csrf_cookie(resp, &secret)
    } else {
        resp
    }
}

async fn login_post(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(forbidden) = django::reject(&headers, &form) {
        return forbidden;
    }
    let q = django::query_map(query.as_deref());
    let next = django::field(&form, "next")
        .map(str::to_string)
        .or_else(|| q.get("next").cloned())
        .unwrap_or_default();
    let username = django::field(&form, "username").unwrap_or("");
    let password = django::field(&form, "password").unwrap_or("");
    if username == USERNAME && password == PASSWORD {
        app.tally.hit("login");
        return django::logged_in(&app.sessions, &headers, username, &next);
    }
    // form_invalid: the same template, HTTP 200, the username kept.
    let (secret, _) = django::secret_for(&headers);
    html(login_page(&next, true, username, &django::mask(&secret)))
}

/// `SCOPES` as the DOT OIDC tutorial sets them (the defaults plus `openid`).
fn scope_description(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("OpenID Connect scope"),
        "read" => Some("Reading scope"),
        "write" => Some("Writing scope"),
        _ => None,
    }
}

/// `<input type="hidden">` as a Django form renders it (no `value` when the value is empty).
fn hidden(name: &str, value: &str) -> String {
    if value.is_empty() {
        format!("<input type=\"hidden\" name=\"{name}\" id=\"id_{name}\">")
    } else {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\" id=\"id_{name}\">",
            esc(value)
        )
    }
}

fn dot_page(body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title></title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <meta name="description" content="">
    <meta name="author" content="">
    <link href="//netdna.bootstrapcdn.com/twitter-bootstrap/2.3.2/css/bootstrap-combined.no-icons.min.css" rel="stylesheet">
</head>

<body>

<div class="container">
    <div class="block-center">
{body}
    </div>
</div>

</body>
</html>
"#
    )
}

fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    html_status(
        status,
        dot_page(&format!(
            "            <h2>Error: {}</h2>\n            <p>{}</p>",
            esc(error),
            esc(description)
        )),
    )
}

/// oauthlib's `validate_authorization_request` as DOT configures it, on the request's values.
/// `Err` is either a page (fatal: bad client or redirect_uri) or a redirect to the client.
fn validate(v: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, Box<Response>> {
    if v("client_id").as_deref() != Some(CLIENT_ID) {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
            "Invalid client_id parameter value.",
        )));
    }
    if v("redirect_uri").as_deref() != Some(REDIRECT_URI) {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Mismatching redirect URI.",
        )));
    }
    let state = v("state").unwrap_or_default();
    let deny = |error: &str, description: &str| {
        Box::new(to_client(
            REDIRECT_URI,
            &[
                ("error", error),
                ("error_description", description),
                ("state", &state),
            ],
        ))
    };
    if v("response_type").as_deref() != Some("code") {
        return Err(deny("unsupported_response_type", ""));
    }
    if v("code_challenge").unwrap_or_default().is_empty() {
        return Err(deny("invalid_request", "Code challenge required."));
    }
    if !matches!(
        v("code_challenge_method").as_deref(),
        None | Some("") | Some("S256") | Some("plain")
    ) {
        return Err(deny(
            "invalid_request",
            "Transform algorithm not supported.",
        ));
    }
    let scopes: Vec<String> = v("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.iter().any(|s| scope_description(s).is_none()) {
        return Err(deny("invalid_scope", ""));
    }
    Ok(scopes)
}

async fn authorize_get(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if django::user(&app.sessions, &headers).is_none() {
        return django::redirect_to_login("/o/authorize/", query.as_deref());
    }
    let q = django::query_map(query.as_deref());
    let get = |k: &str| q.get(k).cloned();
    let scopes = match validate(&get) {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    app.tally.hit("consent page");
    let (secret, new) = django::secret_for(&headers);
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let hiddens: String = [
        "redirect_uri",
        "scope",
        "nonce",
        "client_id",
        "state",
        "response_type",
        "code_challenge",
        "code_challenge_method",
        "claims",
    ]
    .iter()
    .map(|name| {
        let value = if *name == "scope" {
            scopes.join(" ")
        } else {
            field(name)
        };
        format!("                    {}\n", hidden(name, &value))
    })
    .collect();
    let items: String = scopes
        .iter()
        .filter_map(|s| scope_description(s))
        .map(|d| format!("                        <li>{d}</li>\n"))
        .collect();
    let body = format!(
        r#"            <form id="authorizationForm" method="post">
                <h3 class="block-center-heading">Authorize Corpus client?</h3>
                <input type="hidden" name="csrfmiddlewaretoken" value="{token}">

{hiddens}
                <p>Application requires the following permissions</p>
                <ul>
{items}                </ul>

                <div class="control-group">
                    <div class="controls">
                        <input type="submit" class="btn btn-large" value="Cancel"/>
                        <input type="submit" class="btn btn-large btn-primary" name="allow" value="Authorize"/>
                    </div>
                </div>
            </form>
"#,
        token = django::mask(&secret),
    );
    let resp = html(dot_page(&body));
    if new {
        django::with_csrf_cookie(resp, &secret)
    } else {
        resp
    }
}

async fn authorize_post(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(forbidden) = django::reject(&headers, &form) {
        return forbidden;
    }
    if django::user(&app.sessions, &headers).is_none() {
        return django::redirect_to_login("/o/authorize/", query.as_deref());
    }
    // AllowForm: the required hidden fields must be there, else the page comes back with errors.
    let value = |k: &str| django::field(&form, k).map(str::to_string);
    let missing: Vec<&str> = ["redirect_uri", "scope", "client_id", "response_type"]
        .into_iter()
        .filter(|k| value(k).unwrap_or_default().is_empty())
        .collect();
    if !missing.is_empty() {
        app.tally.hit("form invalid");
        let errors: String = missing
            .iter()
            .map(|k| {
                format!("<li>{k}<ul class=\"errorlist\"><li>This field is required.</li></ul></li>")
            })
            .collect();
        return html(dot_page(&format!(
            "            <ul class=\"errorlist\">{errors}</ul>"
        )));
    }
    // form_valid: the credentials come from the hidden fields.
    if let Err(resp) = validate(&value) {
        return *resp;
    }
    let state = value("state").unwrap_or_default();
    // BooleanField(required=False): absent, "", "false" and "0" are False.
    let allow = value("allow")
        .is_some_and(|v| !v.is_empty() && !matches!(v.to_lowercase().as_str(), "false" | "0"));
    if !allow {
        app.tally.hit("denied");
        return to_client(
            REDIRECT_URI,
            &[("error", "access_denied"), ("state", &state)],
        );
    }
    app.tally.hit("code");
    let code = support::token();
    to_client(REDIRECT_URI, &[("code", &code), ("state", &state)])
}

#[tokio::test]
async fn django_oauth_toolkit_reaches_a_code() {
    super::prove(start().await).await
}

/// The login page is what an anonymous browser gets, with the whole authorization request in
/// `next`, and the sign-in goes back to the authorization endpoint before the consent page.
#[tokio::test]
async fn django_oauth_toolkit_login_carries_the_request_in_next() {
    // An anonymous browser goes to LOGIN_URL with the whole request, quoted, in `next`.
    let app = App::default();
    let resp = authorize_get(
        State(app.clone()),
        RawQuery(Some("response_type=code&state=a%2Fb".into())),
        HeaderMap::new(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        resp.headers()[header::LOCATION],
        "/accounts/login/?next=/o/authorize/%3Fresponse_type%3Dcode%26state%3Da%252Fb"
    );
    // The scanner signs in once, comes back to the authorization endpoint, sees the consent
    // page once and submits it with every hidden field.
    let fixture = serve(app.clone()).await;
    let (_, outcome) = super::sign_in(&fixture, PASSWORD, Consent::Approve).await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(app.tally.count("login"), 1);
    assert_eq!(app.tally.count("consent page"), 1);
    assert_eq!(app.tally.count("form invalid"), 0);
    assert_eq!(app.tally.count("code"), 1);
}
