//! Gitea v1.22.0 as its own OAuth2 provider, default templates in en-US:
//! templates/user/auth/signin.tmpl + signin_inner.tmpl (+ signin_navbar.tmpl, empty without
//! OpenID/SSPI), templates/user/auth/grant.tmpl, templates/base/head.tmpl, head_navbar.tmpl
//! (signed out) and footer_content.tmpl (the language menu, as links), with the strings of
//! options/locale/locale_en-US.ini; and the controllers routers/web/web.go
//! (verifyAuthWithOptions, the `/login/oauth` group), routers/web/auth/auth.go (SignIn,
//! SignInPost, handleSignInFull), routers/web/auth/oauth.go (AuthorizeOAuth,
//! GrantApplicationOAuth, handleAuthorizeError), services/context/csrf.go and base.go at v1.22.0.
//!
//! The flow:
//! - `GET /login/oauth/authorize?...` signed out (`reqSignIn`): Set-Cookie
//!   `redirect_to=<url.QueryEscape of the request URI>; Path=/; HttpOnly; SameSite=Lax`
//!   (modules/web/middleware/cookie.go) and a 303 (`ctx.Redirect`'s default) to `/user/login`,
//!   whose URL carries nothing of the request;
//! - the sign-in page: one form (action `/user/login`, a hidden `_csrf`, `user_name`,
//!   `password`, the `remember` checkbox, a `<button>` "Sign In" without type, a "Forgot
//!   password?" link, "Need an account? Register now."), a navbar with "Register" and "Sign In"
//!   links, the footer's language links; the session cookie `i_like_gitea` and the CSRF cookie
//!   `_csrf`;
//! - `POST /user/login` (group `reqSignOut`: `SignOutRequired`, so web.go does NOT validate the
//!   CSRF token there in 1.22.0): a wrong password re-renders the page with HTTP 200, the flash
//!   "Username or password is incorrect." and `middleware.AssignForm` filling the form back in,
//!   the password included (`value="{{.password}}"`); success regenerates the session, deletes
//!   the `_csrf` cookie, and, the `redirect_to` cookie naming this site, deletes it and answers
//!   303 to it: the ORIGINAL authorize URL;
//! - `GET /login/oauth/authorize` signed in, no grant yet: the session records client_id,
//!   redirect_uri and state, and grant.tmpl renders: hidden `_csrf`, `client_id`, `state`,
//!   `scope`, `nonce`, `redirect_uri`, and `<button name="granted" value="true">Authorize
//!   Application</button>` / `value="false"` "Cancel";
//! - `POST /login/oauth/grant` (group `ignSignInAndCsrf`: no CSRF check either): the session's
//!   client_id, state and redirect_uri must equal the form's, else a bare 400; `granted=false` is
//!   a 303 with `error=access_denied&error_description=the request is denied&state=`; otherwise a
//!   grant and a code, 303 to the redirect_uri with `code` and `state`.
//!
//! Left out: 2FA, captcha, remember-me auto-login, the OpenID/SSPI tabs, external OAuth2
//! sources (none configured), asset URLs, the token endpoint. The user is `gitea_admin`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

use super::support::{self, Sessions, Tally, esc};

const CLIENT_ID: &str = "2b1c5d8e-4f0a-4b7e-9c3d-6a1f0e9b2c47";
const APP_NAME: &str = "corpus app";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile";
const USER: &str = "gitea_admin";
const PASSWORD: &str = "Gitea-Pa55word";
const SESSION: &str = "i_like_gitea";

#[derive(Clone, Default)]
struct Gitea {
    sessions: Sessions,
    tally: Tally,
    /// Every submitted grant form, for the tests.
    grants: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The session (creating one, with its Set-Cookie, when the browser has none).
fn session(g: &Gitea, headers: &HeaderMap) -> (String, HashMap<String, String>, Option<String>) {
    match g.sessions.get(headers, SESSION) {
        Some((id, map)) => (id, map, None),
        None => {
            let id = g.sessions.create();
            let set = format!("{SESSION}={id}; Path=/; HttpOnly; SameSite=Lax");
            (id, HashMap::new(), Some(set))
        }
    }
}

fn with_cookies(mut resp: Response, cookies: &[Option<String>]) -> Response {
    for c in cookies.iter().flatten() {
        resp = support::set_cookie(resp, c);
    }
    resp
}

/// A CSRF token for the session's uid (services/context/csrf.go: GenerateCsrfToken binds it to
/// the uid, "0" when signed out), kept in the `_csrf` cookie too.
fn csrf_token(g: &Gitea, sid: &str, sess: &HashMap<String, String>) -> (String, String) {
    let token = support::token();
    g.sessions.set(sid, "csrf", &token);
    let _ = sess;
    let cookie = format!("_csrf={token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax");
    (token, cookie)
}

fn head(
    title: &str,
    signed_in: bool,
    page_is_sign_in: bool,
    current_url: &str,
    csrf: &str,
) -> String {
    let right = if signed_in {
        format!(
            r#"<div class="right stackable menu">
			<a class="item" href="/notifications" data-tooltip-content="Notifications" aria-label="Notifications">Notifications</a>
			<div class="ui dropdown jump item" data-tooltip-content="Create…">Create…</div>
			<div class="ui dropdown jump item tw-mx-0 tw-pr-2" data-tooltip-content="Profile and Settings…">
				<span class="text">{USER}</span>
				<div class="menu user-menu">
					<a class="item" href="/{USER}">Profile</a>
					<a class="item" href="/user/settings">Settings</a>
					<a class="item link-action" href data-url="/user/logout">Sign Out</a>
				</div>
			</div>
		</div>"#
        )
    } else {
        let redirect = if page_is_sign_in {
            String::new()
        } else {
            format!("?redirect_to={}", support::enc(current_url))
        };
        let active = if page_is_sign_in { " active" } else { "" };
        format!(
            r#"<div class="right stackable menu">
				<a class="item" href="/user/sign_up">
					<svg class="svg octicon-person" width="16" height="16"></svg>
					<span class="tw-ml-1">Register</span>
				</a>
			<a class="item{active}" rel="nofollow" href="/user/login{redirect}">
				<svg class="svg octicon-sign-in" width="16" height="16"></svg>
				<span class="tw-ml-1">Sign In</span>
			</a>
		</div>"#,
            redirect = esc(&redirect)
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en-US" data-theme="gitea-auto">
<head>
	<meta name="viewport" content="width=device-width, initial-scale=1">
	<title>{title} - Gitea: Git with a cup of tea</title>
	<meta name="author" content="Gitea - Git with a cup of tea">
	<meta name="description" content="Gitea (Git with a cup of tea) is a painless self-hosted Git service written in Go">
	<meta name="keywords" content="go,git,self-hosted,gitea">
	<meta name="referrer" content="no-referrer">
	<link rel="icon" href="/assets/img/favicon.svg" type="image/svg+xml">
	<link rel="alternate icon" href="/assets/img/favicon.png" type="image/png">
	<script>
		window.addEventListener('error', function(e) {{window._globalHandlerErrors=window._globalHandlerErrors||[]; window._globalHandlerErrors.push(e);}});
		window.config = {{
			appUrl: 'http:\/\/localhost:3000\/',
			appSubUrl: '',
			assetUrlPrefix: '\/assets',
			runModeIsProd:  true ,
			customEmojis: {{}},
			csrfToken: '{csrf}',
			pageData: {{}},
			notificationSettings: {{}},
			enableTimeTracking:  true ,
			mermaidMaxSourceCharacters:  5000 ,
			i18n: {{}},
		}};
		window.config.pageData = window.config.pageData || {{}};
	</script>
	<noscript>
		<style>
			.dropdown:hover > .menu {{ display: block; }}
			.ui.secondary.menu .dropdown.item > .menu {{ margin-top: 0; }}
		</style>
	</noscript>
	<meta property="og:title" content="Gitea: Git with a cup of tea">
	<meta property="og:type" content="website" >
	<meta property="og:image" content="/assets/img/logo.png">
	<meta property="og:url" content="http://localhost:3000/">
	<link rel="stylesheet" href="/assets/css/index.css?v=1.22.0">
	<link rel="stylesheet" href="/assets/css/theme-gitea-auto.css?v=1.22.0">
</head>
<body hx-headers='{{"x-csrf-token": "{csrf}"}}' hx-swap="outerHTML" hx-ext="morph" hx-push-url="false">
	<div class="full height">
		<noscript>This website requires JavaScript.</noscript>
<nav id="navbar" aria-label="Navigation Bar">
	<div class="navbar-left ui secondary menu">
		<a class="item" id="navbar-logo" href="/" aria-label="Home">
			<img width="30" height="30" src="/assets/img/logo.svg" alt="Logo" aria-hidden="true">
		</a>
		<div class="ui secondary menu item navbar-mobile-right only-mobile">
			<button class="item tw-w-auto ui icon mini button tw-p-2 tw-m-0" id="navbar-expand-toggle"><svg class="svg octicon-three-bars" width="16" height="16"></svg></button>
		</div>
			<a class="item" href="/explore/repos">Explore</a>
			<a class="item" target="_blank" rel="noopener noreferrer" href="https://docs.gitea.com">Help</a>
	</div>
	<div class="navbar-right ui secondary menu">
		{right}
	</div>
</nav>
"#,
        title = esc(title),
        csrf = esc(csrf),
    )
}

const FOOTER: &str = r#"	</div>
<footer class="page-footer" role="group" aria-label="Footer">
	<div class="left-links" role="contentinfo" aria-label="About Software">
			<a target="_blank" rel="noopener noreferrer" href="https://about.gitea.com">Powered by Gitea</a>
			Version:
				1.22.0
	</div>
	<div class="right-links" role="group" aria-label="Links">
		<div class="ui dropdown upward language">
			<span class="flex-text-inline"><svg class="svg octicon-globe" width="14" height="14"></svg> English</span>
			<div class="menu language-menu">
					<a lang="de-DE" data-url="/?lang=de-DE" class="item ">Deutsch</a>
					<a lang="en-US" data-url="/?lang=en-US" class="item active selected">English</a>
					<a lang="es-ES" data-url="/?lang=es-ES" class="item ">Español</a>
					<a lang="fr-FR" data-url="/?lang=fr-FR" class="item ">Français</a>
					<a lang="zh-CN" data-url="/?lang=zh-CN" class="item ">简体中文</a>
			</div>
		</div>
		<a href="/assets/licenses.txt">Licenses</a>
		<a href="/api/swagger">API</a>
	</div>
</footer>
	<script src="/assets/js/index.js?v=1.22.0" onerror="alert('Failed to load asset files from ' + this.src + '. Please make sure the asset files can be accessed.')"></script>
</body>
</html>
"#;

fn signin_page(csrf: &str, flash: Option<&str>, user_name: &str, password: &str) -> String {
    let alert = flash
        .map(|m| {
            format!(
                r#"
	<div class="ui negative message flash-message flash-error">
		<p>{}</p>
	</div>
"#,
                esc(m)
            )
        })
        .unwrap_or_default();
    format!(
        r#"{head}<div role="main" aria-label="Sign In" class="page-content user signin">
	
	<div class="ui middle very relaxed page grid">
		<div class="ui container column fluid">
			
{alert}
<h4 class="ui top attached header center">
		Sign In
</h4>
<div class="ui attached segment">
	<form class="ui form tw-max-w-2xl tw-m-auto" action="/user/login" method="post">
	<input type="hidden" name="_csrf" value="{csrf}">
	<div class="required field ">
		<label for="user_name">Username or Email Address</label>
		<input id="user_name" type="text" name="user_name" value="{user_name}" autofocus required>
	</div>
	<div class="required field ">
		<label for="password">Password</label>
		<input id="password" name="password" type="password" value="{password}" autocomplete="current-password" required>
	</div>
	<div class="inline field">
		<div class="ui checkbox">
			<label>Remember This Device</label>
			<input name="remember" type="checkbox">
		</div>
	</div>

	<div class="field">
		<button class="ui primary button">
				Sign In
		</button>
		<a href="/user/forgot_password">Forgot password?</a>
	</div>

		<div class="field">
			<a href="/user/sign_up">Need an account? Register now.</a>
		</div>
	</form>
</div>

		</div>
	</div>
</div>
{FOOTER}"#,
        head = head("Sign In", false, true, "/user/login", csrf),
        csrf = esc(csrf),
        user_name = esc(user_name),
        password = esc(password),
    )
}

async fn authorize(
    State(g): State<Gitea>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let (sid, sess, set_session) = session(&g, &headers);
    let Some(uid) = sess.get("uid").cloned() else {
        // reqSignIn: remember where we were, go to the sign-in page.
        g.tally.hit("redirect_to set");
        let request_uri = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let redirect_to = format!(
            "redirect_to={}; Path=/; HttpOnly; SameSite=Lax",
            support::enc(&request_uri)
        );
        let resp = support::redirect_with(StatusCode::SEE_OTHER, "/user/login");
        return with_cookies(resp, &[set_session, Some(redirect_to)]);
    };
    let state = param(&query, "state").unwrap_or_default().to_string();
    let redirect_uri = param(&query, "redirect_uri")
        .unwrap_or_default()
        .to_string();
    let grant_error = |code: &str, description: &str, to: &str| {
        if to.is_empty() {
            return support::html_status(
                StatusCode::BAD_REQUEST,
                format!(
                    r#"{}<div role="main" class="page-content oauth2-authorize-application-box"><div class="ui container"><h3 class="ui top attached header">Authorization failed</h3><div class="ui attached segment"><p>{}</p><p>{}</p></div></div></div>{FOOTER}"#,
                    head("Authorization failed", true, false, "", ""),
                    esc(code),
                    esc(description)
                ),
            );
        }
        support::redirect_with(StatusCode::SEE_OTHER, &{
            let mut u = url::Url::parse(to).unwrap();
            u.query_pairs_mut()
                .append_pair("error", code)
                .append_pair("error_description", description)
                .append_pair("state", &state);
            u.to_string()
        })
    };
    if param(&query, "client_id") != Some(CLIENT_ID) {
        return grant_error("unauthorized_client", "Client ID not registered", "");
    }
    if redirect_uri != REDIRECT_URI {
        return grant_error("invalid_request", "Unregistered Redirect URI", "");
    }
    if param(&query, "response_type") != Some("code") {
        return grant_error(
            "unsupported_response_type",
            "Only code response type is supported.",
            &redirect_uri,
        );
    }
    match param(&query, "code_challenge_method").unwrap_or("") {
        "S256" | "plain" | "" => {}
        _ => {
            return grant_error(
                "invalid_request",
                "unsupported code challenge method",
                &redirect_uri,
            );
        }
    }
    if sess.contains_key("grant") {
        // A confidential client with a grant already: straight back with a code.
        let code = support::token();
        return support::to_client(&redirect_uri, &[("code", &code), ("state", &state)]);
    }
    g.tally.hit("grant page");
    g.sessions.set(&sid, "client_id", CLIENT_ID);
    g.sessions.set(&sid, "redirect_uri", &redirect_uri);
    g.sessions.set(&sid, "state", &state);
    let (csrf, csrf_cookie) = csrf_token(&g, &sid, &sess);
    let _ = uid;
    let page = format!(
        r#"{head}<div role="main" aria-label="Authorize Application" class="page-content ui one column stackable center aligned page grid oauth2-authorize-application-box">
	<div class="column seven wide">
		<div class="ui middle centered raised segments">
			<h3 class="ui top attached header">
				Authorize &#34;{app}&#34; to access your account?
			</h3>
			<div class="ui attached segment">
				
				<p>
					<b>If you grant the access, it will be able to access and write to all your account information, including private repos and organisations.</b><br>
					This application was created by <a href="/{USER}">@{USER}</a>.
				</p>
			</div>
			<div class="ui attached segment">
				<p>You will be redirected to <strong>{redirect}</strong> if you authorize this application.</p>
			</div>
			<div class="ui attached segment">
				<form method="post" action="/login/oauth/grant">
					<input type="hidden" name="_csrf" value="{csrf}">
					<input type="hidden" name="client_id" value="{CLIENT_ID}">
					<input type="hidden" name="state" value="{state}">
					<input type="hidden" name="scope" value="{scope}">
					<input type="hidden" name="nonce" value="{nonce}">
					<input type="hidden" name="redirect_uri" value="{redirect}">
					<button type="submit" id="authorize-app" name="granted" value="true" class="ui red inline button">Authorize Application</button>
					<button type="submit" name="granted" value="false" class="ui basic primary inline button">Cancel</button>
				</form>
			</div>
		</div>
	</div>
</div>
{FOOTER}"#,
        head = head("Authorize Application", true, false, "", &csrf),
        app = esc(APP_NAME),
        csrf = esc(&csrf),
        state = esc(&state),
        scope = esc(param(&query, "scope").unwrap_or_default()),
        nonce = esc(param(&query, "nonce").unwrap_or_default()),
        redirect = esc(&redirect_uri),
    );
    with_cookies(support::html(page), &[set_session, Some(csrf_cookie)])
}

async fn login_get(State(g): State<Gitea>, headers: HeaderMap) -> Response {
    let (sid, sess, set_session) = session(&g, &headers);
    if sess.contains_key("uid") {
        return support::redirect_with(StatusCode::SEE_OTHER, "/");
    }
    g.tally.hit("sign-in page");
    let (csrf, csrf_cookie) = csrf_token(&g, &sid, &sess);
    with_cookies(
        support::html(signin_page(&csrf, None, "", "")),
        &[set_session, Some(csrf_cookie)],
    )
}

async fn login_post(
    State(g): State<Gitea>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (sid, sess, set_session) = session(&g, &headers);
    let user_name = param(&form, "user_name").unwrap_or_default();
    let password = param(&form, "password").unwrap_or_default();
    let known = user_name == USER || user_name == "admin@gitea.example";
    if !(known && password == PASSWORD) {
        g.tally.hit("wrong password");
        let (csrf, csrf_cookie) = csrf_token(&g, &sid, &sess);
        return with_cookies(
            support::html(signin_page(
                &csrf,
                Some("Username or password is incorrect."),
                user_name,
                password,
            )),
            &[set_session, Some(csrf_cookie)],
        );
    }
    g.tally.hit("signed in");
    // updateSession regenerates the session: a new id carrying uid and uname.
    g.sessions.drop_session(&sid);
    let new_sid = g.sessions.create();
    g.sessions.set(&new_sid, "uid", "1");
    g.sessions.set(&new_sid, "uname", USER);
    let mut cookies = vec![
        Some(format!(
            "{SESSION}={new_sid}; Path=/; HttpOnly; SameSite=Lax"
        )),
        Some("lang=en-US; Path=/; HttpOnly; SameSite=Lax".to_string()),
        Some("_csrf=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax".to_string()),
    ];
    let redirect_to = support::cookie(&headers, "redirect_to").map(|v| {
        url::form_urlencoded::parse(format!("v={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    });
    // httplib.IsCurrentGiteaSiteURL: a path on this site.
    let target = match redirect_to {
        Some(to) if to.starts_with('/') && !to.starts_with("//") => {
            cookies.push(Some(
                "redirect_to=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax".to_string(),
            ));
            to
        }
        _ => "/".to_string(),
    };
    with_cookies(
        support::redirect_with(StatusCode::SEE_OTHER, &target),
        &cookies,
    )
}

async fn grant(
    State(g): State<Gitea>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some((sid, sess)) = g.sessions.get(&headers, SESSION) else {
        return support::redirect_with(StatusCode::SEE_OTHER, "/user/login");
    };
    if !sess.contains_key("uid") {
        return support::redirect_with(StatusCode::SEE_OTHER, "/user/login");
    }
    g.grants
        .lock()
        .unwrap()
        .push(form.iter().cloned().collect());
    let field = |n: &str| param(&form, n).unwrap_or_default().to_string();
    let (client_id, state, redirect_uri) =
        (field("client_id"), field("state"), field("redirect_uri"));
    if sess.get("client_id") != Some(&client_id)
        || sess.get("state") != Some(&state)
        || sess.get("redirect_uri") != Some(&redirect_uri)
    {
        return support::html_status(StatusCode::BAD_REQUEST, "Bad Request\n".to_string());
    }
    // forms.GrantApplicationForm binds `granted` as a bool: "true" is true, anything else false.
    if field("granted") != "true" {
        g.tally.hit("denied");
        return support::redirect_with(StatusCode::SEE_OTHER, &{
            let mut u = url::Url::parse(&redirect_uri).unwrap();
            u.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", "the request is denied")
                .append_pair("state", &state);
            u.to_string()
        });
    }
    g.tally.hit("code");
    g.sessions.set(&sid, "grant", &field("scope"));
    let code = support::token();
    let mut u = url::Url::parse(&redirect_uri).unwrap();
    u.query_pairs_mut().append_pair("code", &code);
    if !state.is_empty() {
        u.query_pairs_mut().append_pair("state", &state);
    }
    support::redirect_with(StatusCode::SEE_OTHER, u.as_str())
}

async fn home() -> Response {
    support::html(format!(
        r#"{}<div role="main" aria-label="Gitea: Git with a cup of tea" class="page-content home"><h1 class="title">Gitea: Git with a cup of tea</h1></div>{FOOTER}"#,
        head("Gitea: Git with a cup of tea", false, false, "/", "")
    ))
}

async fn start_with(g: Gitea) -> super::Fixture {
    let router = Router::new()
        .route("/", get(home))
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/grant", post(grant))
        .route("/user/login", get(login_get).post(login_post))
        .with_state(g);
    let (base, task) = support::serve(router).await;
    super::Fixture {
        reproduces: "Gitea v1.22.0 templates/user/auth/signin_inner.tmpl, grant.tmpl",
        authorize: base.join("/login/oauth/authorize").unwrap(),
        client_id: CLIENT_ID.to_string(),
        redirect_uri: REDIRECT_URI.to_string(),
        scope: SCOPE.to_string(),
        username: USER.to_string(),
        password: PASSWORD.to_string(),
        login_origins: Vec::new(),
        can_deny: true,
        servers: vec![task],
    }
}

pub async fn start() -> super::Fixture {
    start_with(Gitea::default()).await
}

#[tokio::test]
async fn gitea_reaches_a_code() {
    super::prove(start().await).await
}

/// The grant form is submitted as a browser submits it: every hidden field as rendered, and
/// only the pressed button's `granted=true`.
#[tokio::test]
async fn gitea_grant_form_is_submitted_whole() {
    let g = Gitea::default();
    let fixture = start_with(g.clone()).await;
    let (request, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    let grants = g.grants.lock().unwrap().clone();
    assert_eq!(grants.len(), 1, "{grants:?}");
    let form = &grants[0];
    assert_eq!(form.get("granted").map(String::as_str), Some("true"));
    assert_eq!(form.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(form.get("state").map(String::as_str), request.get("state"));
    assert_eq!(form.get("nonce").map(String::as_str), request.get("nonce"));
    assert_eq!(form.get("scope").map(String::as_str), Some(SCOPE));
    assert!(form.contains_key("_csrf"));
}
