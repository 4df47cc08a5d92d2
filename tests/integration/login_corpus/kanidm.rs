//! Kanidm v1.11.1 (kanidm/kanidm), its server-rendered web UI as the OAuth2 authorization
//! endpoint: server/core/templates/base.html, login_base.html, login.html (the identifier-first
//! step), login_password.html, login_denied.html, oauth2_consent_request.html and
//! unrecoverable_error.html; the handlers server/core/src/https/views/mod.rs (routes),
//! views/oauth2.rs (view_index_get, oauth2_auth_req, view_resume_get, view_consent_post),
//! views/login.rs (view_oauth2_get, view_login_begin_post, view_login_pw_post,
//! view_login_step), views/cookies.rs, and server/lib/src/idm/oauth2.rs
//! (build_redirect_uri, the PII scopes) at that tag. An identifier-first flow with two
//! details no other fixture has:
//!
//! - the sign-in page is served AT the authorization URL: `GET /ui/oauth2?<query>` answers 200
//!   with login.html (no redirect), having stored the request in the signed cookie `o2-authreq`
//!   (SameSite=Strict, 15 min). Its form (`id="login"`, action `/ui/login/begin`) holds the
//!   visible `username`, a "Remember My Username" switch (`remember_me=1`, unchecked) and, for
//!   password managers, a `password` and a `totp` input hidden by CSS only (`class="d-none"`);
//!   the button is "Begin";
//! - `POST /ui/login/begin` starts an auth session (cookie `auth-session-id`) and, the account
//!   having only a password, renders login_password.html directly (200, at /ui/login/begin),
//!   its `password` input PRE-FILLED with whatever the first form's hidden password carried;
//!   an unknown user re-renders login.html with "Invalid username";
//! - `POST /ui/login/pw`: a wrong password is AuthState::Denied, login_denied.html (200):
//!   "Login Failed", "Reason: incorrect password" and a "Return to Login" button inside a link;
//!   success sets the `bearer` cookie, clears `auth-session-id`, and (an `o2-authreq` cookie
//!   being present) 303 to `/ui/oauth2/resume`;
//! - `GET /ui/oauth2/resume`: the request from the cookie (which is cleared), then
//!   oauth2_consent_request.html: "Consent to Proceed to <client>", the PII scopes asked for
//!   (email asks for `email` and `email_verified`), one form to `/ui/oauth2/consent` with the
//!   hidden `consent_token` and a "Proceed" button, and no refusal (`can_deny` is false);
//! - `POST /ui/oauth2/consent`: 303 (axum's `Redirect::to`) to the redirect_uri with `code` and
//!   `state`, plus an `HX-Redirect` header for htmx.
//!
//! Kanidm requires PKCE (S256) and rejects bad client/redirect_uri with its error page, never a
//! redirect. Its cookies carry `Domain=<the configured domain>`; on 127.0.0.1 that attribute is
//! left out. Left out: passkeys, TOTP, the mechanism chooser (one mechanism auto-selects), the
//! consent-remembering of a second visit, signatures of the cookies and tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use super::support::{self, Tally, esc};

const CLIENT_ID: &str = "corpus_app";
const CLIENT_NAME: &str = "Corpus App";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile email";
const USER: &str = "demo_user";
const PASSWORD: &str = "Kanidm-demo-pa55word";
const DOMAIN_NAME: &str = "Kanidm";

/// Stored authorisation requests, by cookie value or consent token.
type Requests = Arc<Mutex<HashMap<String, Vec<(String, String)>>>>;

#[derive(Clone, Default)]
struct Kanidm {
    /// o2-authreq cookie value -> the stored authorisation request.
    authreqs: Requests,
    /// auth-session-id -> (username, password from the first form)
    auth_sessions: Arc<Mutex<HashMap<String, (String, String)>>>,
    /// bearer -> username
    bearers: Arc<Mutex<HashMap<String, String>>>,
    /// consent_token -> the request
    consents: Requests,
    tally: Tally,
    /// What the password step received, for the tests.
    passwords_seen: Arc<Mutex<Vec<String>>>,
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn cookie(name: &str, value: &str, extra: &str) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/{extra}")
}

fn removal(name: &str) -> String {
    format!(
        "{name}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    )
}

fn with_cookies(mut resp: Response, cookies: &[String]) -> Response {
    for c in cookies {
        resp = support::set_cookie(resp, c);
    }
    resp
}

/// base.html around a body.
fn base(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
	<head>
		<meta charset="utf-8" />
		<meta name="theme-color" content="white" />
		<meta name="viewport" content="width=device-width" />

		<title>{title}</title>

		<link rel="icon"
    href="/pkg/img/favicon.png?v=1a2b3c" />
<link rel="apple-touch-icon"
    href="/pkg/img/logo-256.png?v=1a2b3c" />

		<link rel="stylesheet"
			href="/pkg/external/bootstrap.min.css?v=1a2b3c"
			integrity="sha384-QWTKZyjpPEjISv5WaRU9OFeRpok6YctnYmDr5pNlyT2bRjXh0JMhjY6hW+ALEwIH" />
		<script
			src="/pkg/external/bootstrap.bundle.min.js?v=1a2b3c"
			integrity="sha384-YvpcrYf0tY3lHB60NNkmXc5s9fDVZLESaAA55NDzOxhy9GkcIdslK1eN7N6jIeHz"></script>
		<script
			src="/pkg/style.js?v=1a2b3c"
			defer></script>
		<link rel="stylesheet"
			href="/pkg/style.css?v=1a2b3c" />
		<link rel="stylesheet"
			href="/pkg/override.css?v=1a2b3c" />

		
	</head>
	<body class="flex-column d-flex h-100">
		{body}
		<footer class="footer mt-auto py-3 bg-body-tertiary text-end">
			<div class="container">
				<span class="text-muted">Powered by <a
						href="https://kanidm.com">Kanidm</a></span>
			</div>
		</footer>
	</body>
</html>"#
    )
}

/// login_base.html around the login container.
fn login_base(oauth2_client: Option<&str>, container: &str) -> String {
    let alert = oauth2_client
        .map(|c| {
            format!(
                r#"<div class="alert alert-info" role="alert">
		Authenticate to access {}
	</div>"#,
                esc(c)
            )
        })
        .unwrap_or_default();
    base(
        "Login",
        &format!(
            r#"<main id="main" class="form-signin m-auto align-items-center d-flex flex-column">
	<img
		src="/pkg/img/logo-square.svg?v=1a2b3c"
		alt="{DOMAIN_NAME}" class="kanidm_logo" />
	<h3>{DOMAIN_NAME}</h3>
	{alert}
	<div>
		{container}
	</div>
</main>"#
        ),
    )
}

fn login_view(oauth2_client: Option<&str>, error: Option<&str>, username: &str) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<div class="alert alert-danger" role="alert">
		{}
	</div>"#,
                esc(e)
            )
        })
        .unwrap_or_default();
    login_base(
        oauth2_client,
        &format!(
            r#"{error}


<label for="username" class="form-label">Username</label>
<form id="login" action="/ui/login/begin" method="post">
	<div class="input-group mb-3">
		<input
			autofocus=true
			class="autofocus form-control"
			id="username"
			name="username"
			type="text"
			autocomplete="username"
			value="{username}"
			required=true
		/>
	</div>

	<!-- BEGIN: allows a password manager to autocomplete these fields in the BG. -->
	<input
		class="d-none"
		id="password"
		name="password"
		type="password"
		autocomplete="current-password"
		value=""
	/>
	<input
		class="d-none"
		id="totp"
		name="totp"
		type="text"
		inputmode="numeric"
		autocomplete="one-time-code"
		value=""
	/>
	<!-- END -->

	<div class="mb-3 form-check form-switch">
		<input
			type="checkbox"
			name="remember_me"
			class="form-check-input"
			role="switch"
			id="remember_me_check"
			value="1"
			
		/>
		<label class="form-check-label" for="remember_me_check">Remember My Username</label>
	</div>
	<div class="input-group mb-3 justify-content-md-center">
		<button
			type="submit"
			class="btn btn-primary"
		>Begin</button>
	</div>
	</form>"#,
            username = esc(username),
        ),
    )
}

fn error_view(code: &str) -> Response {
    support::html(base(
        "Error",
        &format!(
            r#"<main id="main" class="m-auto align-items-center d-flex flex-column">
			<img
				src="/pkg/img/logo-square.svg?v=1a2b3c"
				alt="{DOMAIN_NAME}" class="kanidm_logo" />
	<h3>{DOMAIN_NAME}</h3>


	<h2>Error</h2>
		<p>An unrecoverable error occurred. Please contact your administrator with the details below.</p>
		<p>Operation ID: {}</p>
		<p>Error Code: {}</p>
		<a href=/ui>Return</a>
	</main>"#,
            uuid(),
            esc(code)
        ),
    ))
}

fn uuid() -> String {
    let h: String = support::token()
        .bytes()
        .chain(support::token().bytes())
        .map(|b| format!("{:x}", b % 16))
        .take(32)
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// handle_oauth2_authorise's checks, then what the user's state calls for.
fn authorise(
    k: &Kanidm,
    headers: &HeaderMap,
    req: Vec<(String, String)>,
    resumed: bool,
) -> Response {
    let clear_authreq = removal("o2-authreq");
    if param(&req, "client_id") != Some(CLIENT_ID)
        || param(&req, "redirect_uri") != Some(REDIRECT_URI)
    {
        return with_cookies(error_view("InvalidState"), &[clear_authreq]);
    }
    if param(&req, "response_type") != Some("code")
        || param(&req, "code_challenge_method") != Some("S256")
        || param(&req, "code_challenge").is_none_or(str::is_empty)
    {
        // Kanidm never redirects an authorisation error to the client.
        return with_cookies(error_view("InvalidState"), &[clear_authreq]);
    }
    let signed_in = support::cookie(headers, "bearer")
        .is_some_and(|b| k.bearers.lock().unwrap().contains_key(&b));
    if !signed_in {
        // AuthenticationRequired: keep the request in the cookie, show the login page here.
        let id = support::token();
        k.authreqs.lock().unwrap().insert(id.clone(), req);
        k.tally.hit("login page");
        let _ = resumed;
        let resp = support::html(login_view(Some(CLIENT_NAME), None, ""));
        return with_cookies(
            resp,
            &[
                clear_authreq,
                format!("o2-authreq={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=900"),
            ],
        );
    }
    // ConsentRequested.
    k.tally.hit("consent page");
    let token = format!("{}{}", support::token(), support::token());
    let scopes: Vec<&str> = param(&req, "scope")
        .unwrap_or_default()
        .split(' ')
        .collect();
    let mut pii: Vec<&str> = Vec::new();
    if scopes.contains(&"email") {
        pii.extend(["email", "email_verified"]);
    }
    if scopes.contains(&"ssh_publickeys") {
        pii.push("ssh_publickeys");
    }
    pii.sort();
    k.consents.lock().unwrap().insert(token.clone(), req);
    let info = if pii.is_empty() {
        r#"<div>
			<p>This site will not have access to your personal information.</p>
			<p>If this site requests personal information in the future we will check with you.</p>
		</div>"#
            .to_string()
    } else {
        let items: String = pii
            .iter()
            .map(|s| format!("\n				<li>{s}</li>\n			"))
            .collect();
        format!(
            r#"<div>
			<p>This site has requested access to the following personal information:</p>
			<ul>
			{items}
			</ul>
			<p>If this site requests different personal information in the future we will check with you again.</p>
		</div>"#
        )
    };
    let page = base(
        "Consent Required",
        &format!(
            r#"<main id="main" class="flex-shrink-0 form-signin m-auto">
	<h2 class="h3 mb-3 fw-normal">Consent to Proceed to {CLIENT_NAME}</h2>
	{info}
	<form id="login" action="/ui/oauth2/consent" method="post">
		
		<input type="hidden" id="consent_token" name="consent_token" value="{token}" />
		<button autofocus=true class="w-100 btn btn-lg btn-primary" type="submit">Proceed</button>
	</form>
</main>"#
        ),
    );
    with_cookies(support::html(page), &[clear_authreq])
}

async fn oauth2_index(
    State(k): State<Kanidm>,
    headers: HeaderMap,
    Query(req): Query<Vec<(String, String)>>,
) -> Response {
    authorise(&k, &headers, req, false)
}

async fn oauth2_resume(State(k): State<Kanidm>, headers: HeaderMap) -> Response {
    let req = support::cookie(&headers, "o2-authreq")
        .and_then(|id| k.authreqs.lock().unwrap().remove(&id));
    match req {
        Some(req) => authorise(&k, &headers, req, true),
        None => with_cookies(
            error_view("UI0003InvalidOauth2Resume"),
            &[removal("o2-authreq")],
        ),
    }
}

async fn login_begin(State(k): State<Kanidm>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let username = param(&form, "username").unwrap_or_default();
    if username != USER && username != format!("{USER}@localhost") {
        k.tally.hit("invalid username");
        return support::html(login_view(None, Some("Invalid username"), username));
    }
    let password = param(&form, "password").unwrap_or_default();
    let sid = support::token();
    k.auth_sessions
        .lock()
        .unwrap()
        .insert(sid.clone(), (username.to_string(), password.to_string()));
    k.tally.hit("password page");
    let page = login_base(
        None,
        &format!(
            r#"<label for="password" class="form-label">Password</label>
<form id="login" action="/ui/login/pw" method="post">
	<div class="input-group mb-3">
		<input
			autofocus=true
			class="autofocus form-control"
			id="password"
			name="password"
			type="password"
			autocomplete="current-password"
			value="{}"
			required=true
		/>
	</div>
	<div class="input-group mb-3 justify-content-md-center">
		<button
			type="submit"
			class="btn btn-primary"
		>Submit</button>
	</div>
</form>"#,
            esc(password)
        ),
    );
    with_cookies(support::html(page), &[cookie("auth-session-id", &sid, "")])
}

async fn login_pw(
    State(k): State<Kanidm>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let session = support::cookie(&headers, "auth-session-id")
        .and_then(|sid| k.auth_sessions.lock().unwrap().remove(&sid));
    let Some((username, _)) = session else {
        return support::html(login_view(None, Some("Session Expired"), ""));
    };
    let password = param(&form, "password").unwrap_or_default();
    k.passwords_seen.lock().unwrap().push(password.to_string());
    if password != PASSWORD {
        k.tally.hit("denied");
        let page = login_base(
            None,
            &format!(
                r#"<h3>Login Failed</h3>
	<main id="main">
		<p>Reason: incorrect password</p>
		<p>Operation ID: {}</p>
		<a href=/ui/login>
			<button type="button" class="btn btn-success">Return to Login</button>
		</a>
	</main>
"#,
                uuid()
            ),
        );
        return with_cookies(support::html(page), &[removal("auth-session-id")]);
    }
    k.tally.hit("signed in");
    let bearer = format!(
        "eyJhbGciOiJFUzI1NiJ9.{}.{}",
        support::token(),
        support::token()
    );
    k.bearers.lock().unwrap().insert(bearer.clone(), username);
    let to = if support::cookie(&headers, "o2-authreq").is_some() {
        "/ui/oauth2/resume"
    } else {
        "/ui/apps"
    };
    with_cookies(
        support::redirect_with(StatusCode::SEE_OTHER, to),
        &[
            removal("username"),
            cookie("bearer", &bearer, "; Max-Age=34560000"),
            removal("auth-session-id"),
        ],
    )
}

async fn consent(
    State(k): State<Kanidm>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let signed_in = support::cookie(&headers, "bearer")
        .is_some_and(|b| k.bearers.lock().unwrap().contains_key(&b));
    let req = param(&form, "consent_token").and_then(|t| k.consents.lock().unwrap().remove(t));
    let (true, Some(req)) = (signed_in, req) else {
        return error_view("InvalidState");
    };
    k.tally.hit("code");
    let mut url = url::Url::parse(REDIRECT_URI).unwrap();
    url.query_pairs_mut()
        .append_pair("code", &format!("{}{}", support::token(), support::token()));
    if let Some(state) = param(&req, "state") {
        url.query_pairs_mut().append_pair("state", state);
    }
    let mut resp = support::redirect_with(StatusCode::SEE_OTHER, url.as_str());
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        resp.headers_mut().insert("hx-redirect", v);
    }
    resp.headers_mut().insert(
        "access-control-allow-origin",
        HeaderValue::from_static("http://127.0.0.1:9"),
    );
    with_cookies(resp, &[removal("o2-authreq")])
}

async fn start_with(k: Kanidm) -> super::Fixture {
    let router = Router::new()
        .route("/ui/oauth2", get(oauth2_index))
        .route("/ui/oauth2/resume", get(oauth2_resume))
        .route("/ui/oauth2/consent", post(consent))
        .route("/ui/login/begin", post(login_begin))
        .route("/ui/login/pw", post(login_pw))
        .with_state(k);
    let (base, task) = support::serve(router).await;
    super::Fixture {
        reproduces: "Kanidm v1.11.1 server/core/templates: login.html, login_password.html, oauth2_consent_request.html",
        authorize: base.join("/ui/oauth2").unwrap(),
        client_id: CLIENT_ID.to_string(),
        redirect_uri: REDIRECT_URI.to_string(),
        scope: SCOPE.to_string(),
        username: USER.to_string(),
        password: PASSWORD.to_string(),
        login_origins: Vec::new(),
        can_deny: false,
        servers: vec![task],
    }
}

pub async fn start() -> super::Fixture {
    start_with(Kanidm::default()).await
}

#[tokio::test]
async fn kanidm_reaches_a_code() {
    super::prove(start().await).await
}

/// The password step got the password exactly once per sign-in, whether the scanner typed it
/// there or into the first form's CSS-hidden password box (which Kanidm carries over).
#[tokio::test]
async fn kanidm_identifier_first_then_password() {
    let k = Kanidm::default();
    let fixture = start_with(k.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(k.tally.count("password page"), 1);
    assert_eq!(k.tally.count("consent page"), 1);
    assert_eq!(
        k.passwords_seen.lock().unwrap().clone(),
        vec![PASSWORD.to_string()]
    );
}
