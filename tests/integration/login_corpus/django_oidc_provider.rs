//! django-oidc-provider 0.8.3 in its own example project (Django 5.x `LoginView`).
//!
//! Reproduces, as rendered:
//! - the sign-in page: example/app/templates/login.html inside example/app/templates/base.html
//!   at v0.8.3, served by `LoginView` at `/accounts/login/` (example/app/urls.py): a navbar
//!   `<form class="form-inline">` with only links in it before the real form, inputs with
//!   placeholders and no labels, the hidden `next` first, the "Enter" submit, the
//!   `alert-danger` message on a failed sign-in; base.html's missing `<body>` start tag kept;
//! - the consent page: the library's default oidc_provider/templates/oidc_provider/authorize.html
//!   (a bare fragment, no `<html>`), with oidc_provider/templates/oidc_provider/hidden_inputs.html
//!   expanded: hidden client_id, redirect_uri, response_type, scope (still holding `openid`),
//!   state, then nonce / code_challenge / code_challenge_method when present; the "Decline"
//!   submit without a name BEFORE the "Authorize" submit named `allow`; the requested scopes
//!   but `openid` listed from `StandardScopeClaims.info_*` (oidc_provider/lib/claims.py).
//!
//! Behaviour, from oidc_provider/views.py (`AuthorizeView.get`/`post`) and
//! oidc_provider/lib/endpoints/authorize.py (`_extract_params` reads the query on GET and the
//! body on POST, `validate_params`, `create_response_uri`) at v0.8.3: the OP is mounted at the
//! root (`^authorize/?$`, so the form posts to `/authorize`); an anonymous GET goes through
//! Django's `redirect_to_login(request.get_full_path())`; POST without `allow` is
//! `access_denied`, written by `AuthorizeError.create_uri` (oidc_provider/lib/errors.py) with
//! the description `quote`d and the state appended as it came, unencoded; a code response
//! carries `code`, `state` and, as the example sets `OIDC_SESSION_MANAGEMENT_ENABLE = True`,
//! `session_state`, and `SessionManagementMiddleware` sets `op_browser_state` on every page.
//! The client is confidential with `require_consent` on; `reuse_consent` (default on: a second
//! authorization of the same scopes skips the page) is switched off for the corpus client so
//! every run meets the consent page; [`django_oidc_provider_reuses_consent`] covers the default.
//! Django's CSRF and session rules come from the django-oauth-toolkit fixture's `django` module.
//!
//! Left out: the token endpoint, `prompt`, implicit/hybrid flows, consent expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use oauthprobe::flow::authorize::Consent;
use sha2::{Digest, Sha224, Sha256};

use super::Fixture;
use super::django_oauth_toolkit::django;
use super::support::{self, Sessions, Tally, esc, html, redirect, set_cookie};

const CLIENT_ID: &str = "581623";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile email";
const USERNAME: &str = "alice";
const PASSWORD: &str = "alice-password-1";

/// `UserConsent` rows: (user, client) → scopes.
type Consents = Arc<Mutex<HashMap<(String, String), Vec<String>>>>;

#[derive(Clone, Default)]
struct App {
    sessions: Sessions,
    tally: Tally,
    /// The client's `reuse_consent` flag.
    reuse_consent: bool,
    consents: Consents,
}

pub async fn start() -> Fixture {
    serve(App::default()).await
}

async fn serve(app: App) -> Fixture {
    let router = Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/", get(authorize_get).post(authorize_post))
        .route("/accounts/login/", get(login_get).post(login_post))
        .with_state(app);
    let (base, task) = support::serve(router).await;
    Fixture {
        reproduces: "django-oidc-provider 0.8.3 example project: login.html, \
                     oidc_provider/authorize.html",
        authorize: base.join("/authorize").expect("url"),
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

/// `SessionManagementMiddleware`: `op_browser_state` = sha224 of the session key, or of
/// `OIDC_UNAUTHENTICATED_SESSION_MANAGEMENT_KEY` for an anonymous browser.
fn browser_state(resp: Response, session_key: Option<&str>) -> Response {
    let key = session_key.unwrap_or("oidc-unauthenticated-session-management-key");
    let hex: String = Sha224::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    set_cookie(resp, &format!("op_browser_state={hex}; Path=/"))
}

fn session_key(headers: &HeaderMap, app: &App) -> Option<String> {
    app.sessions.get(headers, "sessionid").map(|(id, _)| id)
}

/// example/app/templates/base.html around example/app/templates/login.html.
fn login_page(next: &str, failed: bool, token: &str) -> String {
    let alert = if failed {
        "            <div class=\"alert alert-danger\" role=\"alert\">\n                \
         Your username and password didn&#x27;t match. Please try again.\n            </div>\n"
    } else {
        ""
    };
    format!(
        r#"

<!DOCTYPE html>
<html lang="en">
<head>

    <meta charset="utf-8">
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">

    <title>OpenID Provider Example</title>

    <link rel="stylesheet" type="text/css" href="https://cdnjs.cloudflare.com/ajax/libs/twitter-bootstrap/4.0.0-alpha.2/css/bootstrap.min.css">
    <link rel="stylesheet" type="text/css" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/4.6.3/css/font-awesome.min.css">
    <link rel="stylesheet" type="text/css" href="/static/css/custom.css">

</head>

    <nav class="navbar navbar-fixed-top navbar-light bg-faded">
        <div class="container">
            <a class="navbar-brand m-b-0" href="/">OpenID Provider Example</a>
            <form class="form-inline pull-xs-right">
                <ul class="nav navbar-nav">
                    <li class="nav-item"><a class="nav-link" href="/accounts/login/"><i class="fa fa-sign-in" aria-hidden="true"></i> Login</a></li>
                    <li class="nav-item"><a class="nav-link" href="https://github.com/juanifioren/django-oidc-provider" target="_blank"><i class="fa fa-github-alt"></i> View on Github</a></li>
                </ul>
            </form>
        </div>
    </nav>

    <div class="container" style="margin-top: 150px;">

<div class="row">
    <div class="col-md-6 col-md-offset-3">
        <form method="post" action="/accounts/login/">
            <input type="hidden" name="csrfmiddlewaretoken" value="{token}">
            <input type="hidden" name="next" value="{next}">
{alert}            <fieldset class="form-group">
                <input class="form-control form-control-lg" type="text" name="username" placeholder="Username">
            </fieldset>
            <fieldset class="form-group">
                <input class="form-control form-control-lg" type="password" name="password" placeholder="Password">
            </fieldset>
            <fieldset class="form-group">
                <input class="btn btn-primary btn-lg btn-block" type="submit" value="Enter" />
            </fieldset>
        </form>
    </div>
</div>

    </div>

    <script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/2.2.2/jquery.min.js"></script>
    <script src="https://cdnjs.cloudflare.com/ajax/libs/twitter-bootstrap/4.0.0-alpha.2/js/bootstrap.min.js"></script>

</body>
</html>
"#,
        next = esc(next),
    )
}

async fn login_get(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = django::query_map(query.as_deref())
        .remove("next")
        .unwrap_or_default();
    let (secret, new) = django::secret_for(&headers);
    let mut resp = html(login_page(&next, false, &django::mask(&secret)));
    if new {
        resp = django::with_csrf_cookie(resp, &secret);
    }
    browser_state(resp, session_key(&headers, &app).as_deref())
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
    let next = django::field(&form, "next")
        .map(str::to_string)
        .or_else(|| django::query_map(query.as_deref()).remove("next"))
        .unwrap_or_default();
    let username = django::field(&form, "username").unwrap_or("");
    let password = django::field(&form, "password").unwrap_or("");
    if username == USERNAME && password == PASSWORD {
        app.tally.hit("login");
        // The middleware runs after login(): the cookie follows the new session key.
        let resp = django::logged_in(&app.sessions, &headers, username, &next);
        let new_key = resp
            .headers()
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("sessionid="))
            .and_then(|c| c.split(';').next())
            .map(str::to_string);
        return browser_state(resp, new_key.as_deref());
    }
    let (secret, _) = django::secret_for(&headers);
    let resp = html(login_page(&next, true, &django::mask(&secret)));
    browser_state(resp, session_key(&headers, &app).as_deref())
}

/// The request's values: the query on GET, the body on POST (`_extract_params`).
struct Params {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    scope: Vec<String>,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
}

impl Params {
    fn from(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let v = |k: &str| get(k).unwrap_or_default();
        Params {
            client_id: v("client_id"),
            redirect_uri: v("redirect_uri"),
            response_type: v("response_type"),
            scope: v("scope").split_whitespace().map(str::to_string).collect(),
            state: v("state"),
            nonce: v("nonce"),
            code_challenge: v("code_challenge"),
            code_challenge_method: v("code_challenge_method"),
        }
    }
}

/// `AuthorizeError.create_uri`: the description quoted, the state appended raw.
fn authorize_error(redirect_uri: &str, error: &str, description: &str, state: &str) -> Response {
    let mut uri = format!(
        "{redirect_uri}?error={error}&error_description={}",
        django::quote(description, "/")
    );
    if !state.is_empty() {
        uri.push_str(&format!("&state={state}"));
    }
    redirect(&uri)
}

/// oidc_provider/templates/oidc_provider/error.html.
fn error_page(error: &str, description: &str) -> Response {
    html(format!(
        "<h1>{}</h1>\n\n<p>{}</p>\n",
        esc(error),
        esc(description)
    ))
}

/// `validate_params`.
fn validate(p: &Params) -> Result<(), Box<Response>> {
    if p.client_id != CLIENT_ID {
        return Err(Box::new(error_page(
            "invalid_client",
            "The client identifier (client_id) is missing or invalid.",
        )));
    }
    if p.redirect_uri != REDIRECT_URI {
        return Err(Box::new(error_page(
            "invalid_request_uri",
            "The request URI is missing or invalid.",
        )));
    }
    if p.response_type != "code" {
        return Err(Box::new(authorize_error(
            &p.redirect_uri,
            "unsupported_response_type",
            "The authorization server does not support obtaining an authorization code using \
             this method",
            &p.state,
        )));
    }
    if !p.code_challenge.is_empty()
        && !["plain", "S256"].contains(&p.code_challenge_method.as_str())
    {
        return Err(Box::new(authorize_error(
            &p.redirect_uri,
            "invalid_request",
            "The request is otherwise malformed",
            &p.state,
        )));
    }
    Ok(())
}

/// `create_response_uri` for the code flow: code, state, session_state.
fn code_response(p: &Params, session_key: &str) -> Response {
    let salt: String = Sha256::digest(support::token().as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let browser: String = Sha224::digest(session_key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let state_hash: String =
        Sha256::digest(format!("{CLIENT_ID} http://127.0.0.1:9 {browser} {salt}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let session_state = format!("{state_hash}.{salt}");
    let code = support::token();
    let mut url = url::Url::parse(&p.redirect_uri).expect("redirect_uri");
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &p.state)
        .append_pair("session_state", &session_state);
    redirect(url.as_str())
}

fn scope_info(scope: &str) -> Option<(&'static str, &'static str)> {
    match scope {
        "profile" => Some((
            "Basic profile",
            "Access to your basic information. Includes names, gender, birthdate and other \
             information.",
        )),
        "email" => Some(("Email", "Access to your email address.")),
        "phone" => Some(("Phone number", "Access to your phone number.")),
        "address" => Some((
            "Address information",
            "Access to your address. Includes country, \
             locality, street and other information.",
        )),
        _ => None,
    }
}

/// The library's default authorize.html with hidden_inputs.html expanded.
fn consent_page(p: &Params, token: &str) -> String {
    let mut hidden = format!(
        "<input name=\"client_id\" type=\"hidden\" value=\"{}\" />\n\
         <input name=\"redirect_uri\" type=\"hidden\" value=\"{}\" />\n\
         <input name=\"response_type\" type=\"hidden\" value=\"{}\" />\n\
         <input name=\"scope\" type=\"hidden\" value=\"{}\" />\n\
         <input name=\"state\" type=\"hidden\" value=\"{}\" />\n",
        esc(&p.client_id),
        esc(&p.redirect_uri),
        esc(&p.response_type),
        esc(&p.scope.join(" ")),
        esc(&p.state),
    );
    for (name, value) in [
        ("nonce", &p.nonce),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ] {
        if !value.is_empty() {
            hidden.push_str(&format!(
                "<input name=\"{name}\" type=\"hidden\" value=\"{}\" />",
                esc(value)
            ));
        }
    }
    let scopes: String = p
        .scope
        .iter()
        .filter(|s| *s != "openid")
        .filter_map(|s| scope_info(s))
        .map(|(name, description)| {
            format!("        <li><strong>{name}</strong> <br><i>{description}</i></li>\n        \n")
        })
        .collect();
    format!(
        r#"<h1>Request for Permission</h1>

<p>Client <strong>Corpus client</strong> would like to access this information of you ...</p>

<form method="post" action="/authorize">

    <input type="hidden" name="csrfmiddlewaretoken" value="{token}">

    {hidden}

    <ul>
        
{scopes}    </ul>

    <input type="submit" value="Decline" />
    <input name="allow" type="submit" value="Authorize" />

</form>
"#
    )
}

async fn authorize_get(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = django::query_map(query.as_deref());
    let p = Params::from(&|k| q.get(k).cloned());
    if let Err(resp) = validate(&p) {
        return *resp;
    }
    let key = session_key(&headers, &app);
    let Some(user) = django::user(&app.sessions, &headers) else {
        let resp = django::redirect_to_login("/authorize", query.as_deref());
        return browser_state(resp, key.as_deref());
    };
    // reuse_consent with a stored consent covering the scopes, for a confidential client.
    if app.reuse_consent {
        let stored = app
            .consents
            .lock()
            .unwrap()
            .get(&(user.clone(), p.client_id.clone()))
            .cloned();
        if stored.is_some_and(|s| p.scope.iter().all(|x| s.contains(x))) {
            app.tally.hit("consent reused");
            return browser_state(
                code_response(&p, key.as_deref().unwrap_or("")),
                key.as_deref(),
            );
        }
    }
    app.tally.hit("consent page");
    let (secret, new) = django::secret_for(&headers);
    let mut resp = html(consent_page(&p, &django::mask(&secret)));
    if new {
        resp = django::with_csrf_cookie(resp, &secret);
    }
    browser_state(resp, key.as_deref())
}

async fn authorize_post(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(forbidden) = django::reject(&headers, &form) {
        return forbidden;
    }
    let p = Params::from(&|k| django::field(&form, k).map(str::to_string));
    if let Err(resp) = validate(&p) {
        return *resp;
    }
    let key = session_key(&headers, &app);
    if django::field(&form, "allow").unwrap_or("").is_empty() {
        app.tally.hit("declined");
        return authorize_error(
            &p.redirect_uri,
            "access_denied",
            "The resource owner or authorization server denied the request",
            &p.state,
        );
    }
    // create_code(user=AnonymousUser) fails, and the view turns any failure into server_error.
    let Some(user) = django::user(&app.sessions, &headers) else {
        return authorize_error(
            &p.redirect_uri,
            "server_error",
            "The authorization server encountered an error",
            &p.state,
        );
    };
    app.consents
        .lock()
        .unwrap()
        .insert((user, p.client_id.clone()), p.scope.clone());
    app.tally.hit("code");
    browser_state(
        code_response(&p, key.as_deref().unwrap_or("")),
        key.as_deref(),
    )
}

#[tokio::test]
async fn django_oidc_provider_reaches_a_code() {
    super::prove(start().await).await
}

/// With the client's default `reuse_consent`, the second authorization of the same scopes
/// gets its code straight after sign-in, with no consent page: the scanner must take the
/// redirect for what it is.
#[tokio::test]
async fn django_oidc_provider_reuses_consent() {
    let app = App {
        reuse_consent: true,
        ..App::default()
    };
    let fixture = serve(app.clone()).await;
    for _ in 0..2 {
        let (request, outcome) = super::sign_in(&fixture, PASSWORD, Consent::Approve).await;
        let outcome = outcome.expect("sign-in");
        assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
        assert_eq!(outcome.param("state"), request.get("state"));
    }
    assert_eq!(app.tally.count("login"), 2);
    assert_eq!(app.tally.count("consent page"), 1);
    assert_eq!(app.tally.count("consent reused"), 1);
}
