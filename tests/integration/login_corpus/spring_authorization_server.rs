//! Spring Authorization Server 1.5.7 on Spring Security 6.5.10 (the version its
//! gradle/libs.versions.toml pins), the "Getting Started" configuration: the authorization
//! server filter chain sends an HTML request without a session to `/login`, the default
//! filter chain has `formLogin(withDefaults())`, and the registered client has
//! `requireAuthorizationConsent(true)`. Reproduced from:
//! - spring-projects/spring-security web/.../authentication/ui/DefaultLoginPageGeneratingFilter
//!   .java: the generated page "Please sign in" (`<form class="login-form" method="post"
//!   action="/login">`, `username`, `password`, the `_csrf` hidden input, `<button
//!   type="submit" class="primary">Sign in</button>`), and `/login?error` showing the
//!   exception's message, "Bad credentials", in `<div class="alert alert-danger">`;
//! - spring-security's ExceptionTranslationFilter + HttpSessionRequestCache (6.x:
//!   `matchingRequestParameterName = "continue"`) + LoginUrlAuthenticationEntryPoint: the
//!   anonymous GET of /oauth2/authorize is saved in the session and answered 302 to the absolute
//!   `/login`; SavedRequestAwareAuthenticationSuccessHandler answers the login POST 302 to the
//!   saved URL, the original query with `&continue` appended; the failure handler answers 302
//!   to `/login?error`; ChangeSessionIdAuthenticationStrategy rotates `JSESSIONID` on sign-in;
//!   CsrfFilter with HttpSessionCsrfTokenRepository and XorCsrfTokenRequestAttributeHandler (a
//!   masked token, different on every render) refuses a POST /login without it, 403;
//! - spring-projects/spring-authorization-server at tag 1.5.7,
//!   oauth2-authorization-server/.../web/DefaultConsentPage.java: the consent page (`<form
//!   name="consent_form" method="post" action="/oauth2/authorize">`, hidden `client_id` and the
//!   consent `state` (a new value, not the client's), one unticked checkbox `scope` per
//!   requested scope except `openid`, "Submit Consent", and a "Cancel" `type="button"` whose
//!   script resets the form and submits it, i.e. with no scope);
//!   .../web/OAuth2AuthorizationEndpointFilter.java: code and state in the response, error with
//!   error_description, error_uri and state; .../authentication/
//!   OAuth2AuthorizationConsentAuthenticationProvider.java: the consent state must name an
//!   in-flight authorization of the same principal, submitted scopes must be requested ones,
//!   `openid` is added when anything was approved, and nothing approved is `access_denied`
//!   (the authorization endpoints are exempt from CSRF, so the consent form has no `_csrf`).
//!
//! Left out: the inline CSS of the login page, the OIDC and token endpoints, the
//! Whitelabel error page (errors here are small plain pages with the same status).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;

use super::support::{self, Sessions, Tally, esc};

const CLIENT_ID: &str = "corpus-app";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile email";
const USERNAME: &str = "user";
const PASSWORD: &str = "password";

/// An authorization awaiting consent: the principal and the original query.
type InFlight = (String, HashMap<String, String>);

#[derive(Clone)]
struct App {
    sessions: Sessions,
    base: Arc<Mutex<String>>,
    /// In-flight authorizations awaiting consent, by consent state:
    /// (principal, original query).
    consents: Arc<Mutex<HashMap<String, InFlight>>>,
    /// The scope sets the consent page received, for the extra test.
    approved: Arc<Mutex<Vec<Vec<String>>>>,
    tally: Tally,
}

fn forbidden() -> Response {
    support::html_status(
        StatusCode::FORBIDDEN,
        "<!DOCTYPE html><html><body><h1>Whitelabel Error Page</h1>\
         <div>There was an unexpected error (type=Forbidden, status=403).</div></body></html>"
            .into(),
    )
}

fn session_cookie(resp: Response, id: &str) -> Response {
    support::set_cookie(resp, &format!("JSESSIONID={id}; Path=/; HttpOnly"))
}

/// The session named by `JSESSIONID`, created (with its cookie to set) when there is none.
fn session(app: &App, headers: &HeaderMap) -> (String, HashMap<String, String>, bool) {
    match app.sessions.get(headers, "JSESSIONID") {
        Some((id, map)) => (id, map, false),
        None => (app.sessions.create(), HashMap::new(), true),
    }
}

/// XorCsrfTokenRequestAttributeHandler: base64url(random || random XOR token).
fn mask(token: &str) -> String {
    let t = token.as_bytes();
    let random: Vec<u8> = support::token()
        .bytes()
        .cycle()
        .take(t.len())
        .collect::<Vec<u8>>();
    let mut out = random.clone();
    out.extend(t.iter().zip(&random).map(|(a, b)| a ^ b));
    URL_SAFE.encode(out)
}

fn unmask(masked: &str) -> Option<String> {
    let bytes = URL_SAFE.decode(masked).ok()?;
    if bytes.len() % 2 != 0 || bytes.is_empty() {
        return None;
    }
    let (random, xored) = bytes.split_at(bytes.len() / 2);
    String::from_utf8(xored.iter().zip(random).map(|(a, b)| a ^ b).collect()).ok()
}

async fn authorize(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    app.tally.hit("authorize");
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI)
    {
        return support::html_status(
            StatusCode::BAD_REQUEST,
            "<!DOCTYPE html><html><body><h1>Whitelabel Error Page</h1>\
             <div>There was an unexpected error (type=Bad Request, status=400).</div></body></html>"
                .into(),
        );
    }
    let (sid, sess, fresh) = session(&app, &headers);
    let Some(principal) = sess.get("principal").cloned() else {
        // ExceptionTranslationFilter: save the request, then the entry point.
        let raw = raw.unwrap_or_default();
        let saved = if raw.is_empty() {
            "continue".to_string()
        } else {
            format!("{raw}&continue")
        };
        let base = app.base.lock().unwrap().clone();
        app.sessions.set(
            &sid,
            "SPRING_SECURITY_SAVED_REQUEST",
            &format!("{}oauth2/authorize?{saved}", base),
        );
        let resp = support::redirect(&format!("{base}login"));
        return if fresh {
            session_cookie(resp, &sid)
        } else {
            resp
        };
    };
    if q.contains_key("continue") {
        // RequestCacheAwareFilter: the saved request is consumed.
        app.sessions.remove(&sid, "SPRING_SECURITY_SAVED_REQUEST");
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        let state = q.get("state").cloned().unwrap_or_default();
        return support::to_client(
            REDIRECT_URI,
            &[("error", "unsupported_response_type"), ("state", &state)],
        );
    }
    let requested: Vec<&str> = q
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if let Some(bad) = requested
        .iter()
        .find(|s| !SCOPE.split(' ').any(|k| k == **s))
    {
        let _ = bad;
        let state = q.get("state").cloned().unwrap_or_default();
        return support::to_client(
            REDIRECT_URI,
            &[
                ("error", "invalid_scope"),
                ("error_description", "OAuth 2.0 Parameter: scope"),
                (
                    "error_uri",
                    "https://datatracker.ietf.org/doc/html/rfc6749#section-4.1.2.1",
                ),
                ("state", &state),
            ],
        );
    }
    // requireAuthorizationConsent(true) and no consent stored: the default consent page.
    let consent_state = support::token();
    let scopes: Vec<String> = requested
        .iter()
        .filter(|s| **s != "openid")
        .map(|s| s.to_string())
        .collect();
    app.consents
        .lock()
        .unwrap()
        .insert(consent_state.clone(), (principal.clone(), q.clone()));
    app.tally.hit("consent page");
    let mut checkboxes = String::new();
    for scope in &scopes {
        checkboxes.push_str(&format!(
            "                <div class=\"form-group form-check py-1\">                    <input class=\"form-check-input\" type=\"checkbox\" name=\"scope\" value=\"{s}\" id=\"{s}\">                    <label class=\"form-check-label\" for=\"{s}\">{s}</label>                </div>",
            s = esc(scope)
        ));
    }
    let page = format!(
        concat!(
            "<!DOCTYPE html><html lang=\"en\"><head>    <meta charset=\"utf-8\">",
            "    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1, shrink-to-fit=no\">",
            "    <link rel=\"stylesheet\" href=\"https://stackpath.bootstrapcdn.com/bootstrap/4.5.2/css/bootstrap.min.css\" crossorigin=\"anonymous\">",
            "    <title>Consent required</title>\t<script>\t\tfunction cancelConsent() {{\t\t\tdocument.consent_form.reset();\t\t\tdocument.consent_form.submit();\t\t}}\t</script>",
            "</head><body><div class=\"container\">    <div class=\"py-5\">        <h1 class=\"text-center\">Consent required</h1>    </div>",
            "    <div class=\"row\">        <div class=\"col text-center\">            <p><span class=\"font-weight-bold text-primary\">{client}</span> wants to access your account <span class=\"font-weight-bold\">{principal}</span></p>        </div>    </div>",
            "    <div class=\"row pb-3\">        <div class=\"col text-center\">            <p>The following permissions are requested by the above app.<br/>Please review these and consent if you approve.</p>        </div>    </div>",
            "    <div class=\"row\">        <div class=\"col text-center\">            <form name=\"consent_form\" method=\"post\" action=\"/oauth2/authorize\">",
            "                <input type=\"hidden\" name=\"client_id\" value=\"{client}\">                <input type=\"hidden\" name=\"state\" value=\"{state}\">",
            "{checkboxes}",
            "                <div class=\"form-group pt-3\">                    <button class=\"btn btn-primary btn-lg\" type=\"submit\" id=\"submit-consent\">Submit Consent</button>                </div>",
            "                <div class=\"form-group\">                    <button class=\"btn btn-link regular\" type=\"button\" onclick=\"cancelConsent();\" id=\"cancel-consent\">Cancel</button>                </div>",
            "            </form>        </div>    </div>",
            "    <div class=\"row pt-4\">        <div class=\"col text-center\">            <p><small>Your consent to provide access is required.<br/>If you do not approve, click Cancel, in which case no information will be shared with the app.</small></p>        </div>    </div>",
            "</div></body></html>"
        ),
        client = CLIENT_ID,
        principal = esc(&principal),
        state = esc(&consent_state),
        checkboxes = checkboxes,
    );
    support::html(page)
}

async fn consent(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // OAuth2AuthorizationConsentAuthenticationConverter: a POST without response_type.
    if get("response_type").is_some() {
        return support::html_status(StatusCode::BAD_REQUEST, "authorization POST".into());
    }
    let principal = app
        .sessions
        .get(&headers, "JSESSIONID")
        .and_then(|(_, s)| s.get("principal").cloned());
    let state = get("state").unwrap_or_default();
    let Some((owner, q)) = app.consents.lock().unwrap().remove(&state) else {
        return support::html_status(
            StatusCode::BAD_REQUEST,
            "<html><body>[invalid_request] OAuth 2.0 Parameter: state</body></html>".into(),
        );
    };
    if principal.as_deref() != Some(owner.as_str())
        || get("client_id").as_deref() != Some(CLIENT_ID)
    {
        return support::html_status(
            StatusCode::BAD_REQUEST,
            "<html><body>[invalid_request] OAuth 2.0 Parameter: state</body></html>".into(),
        );
    }
    let client_state = q.get("state").cloned().unwrap_or_default();
    let requested: Vec<&str> = q
        .get("scope")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    let mut approved: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    app.approved.lock().unwrap().push(approved.clone());
    let error = |code: &str, param: &str| {
        support::to_client(
            REDIRECT_URI,
            &[
                ("error", code),
                (
                    "error_description",
                    &format!("OAuth 2.0 Parameter: {param}"),
                ),
                (
                    "error_uri",
                    "https://datatracker.ietf.org/doc/html/rfc6749#section-4.1.2.1",
                ),
                ("state", &client_state),
            ],
        )
    };
    if !approved.iter().all(|s| requested.contains(&s.as_str())) {
        return error("invalid_scope", "scope");
    }
    if approved.is_empty() {
        return error("access_denied", "client_id");
    }
    if requested.contains(&"openid") {
        approved.push("openid".into());
    }
    support::to_client(
        REDIRECT_URI,
        &[("code", &support::token()), ("state", &client_state)],
    )
}

fn login_page(csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|m| {
            format!(
                "<div class=\"alert alert-danger\" role=\"alert\">{}</div>",
                esc(m)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
    <meta name="description" content="">
    <meta name="author" content="">
    <title>Please sign in</title>
    <style>
    /* General layout */
    body {{ font-family: system-ui, sans-serif; }}
    </style>
  </head>
  <body>
     <div class="content">
      <form class="login-form" method="post" action="/login">
        <h2>Please sign in</h2>
{error}        <p>
          <label for="username" class="screenreader">Username</label>
          <input type="text" id="username" name="username" placeholder="Username" required autofocus>
        </p>
        <p>
          <label for="password" class="screenreader">Password</label>
          <input type="password" id="password" name="password" placeholder="Password" required>
        </p>
<input name="_csrf" type="hidden" value="{csrf}" />
        <button type="submit" class="primary">Sign in</button>
      </form>
</div>
</body></html>"#,
        csrf = esc(csrf),
    )
}

async fn login_get(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    app.tally.hit("login page");
    let (sid, sess, fresh) = session(&app, &headers);
    let token = match sess.get("csrf") {
        Some(t) => t.clone(),
        None => {
            let t = support::token();
            app.sessions.set(&sid, "csrf", &t);
            t
        }
    };
    // isErrorPage matches "/login?error" exactly.
    let error = (raw.as_deref() == Some("error")).then(|| {
        sess.get("SPRING_SECURITY_LAST_EXCEPTION")
            .cloned()
            .unwrap_or_else(|| "Invalid credentials".into())
    });
    let resp = support::html(login_page(&mask(&token), error.as_deref()));
    if fresh {
        session_cookie(resp, &sid)
    } else {
        resp
    }
}

async fn login_post(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some((sid, sess)) = app.sessions.get(&headers, "JSESSIONID") else {
        return forbidden();
    };
    let expected = sess.get("csrf");
    let given = get("_csrf").and_then(|m| unmask(&m));
    if expected.is_none() || given.as_ref() != expected {
        return forbidden();
    }
    let base = app.base.lock().unwrap().clone();
    if get("username").as_deref() != Some(USERNAME) || get("password").as_deref() != Some(PASSWORD)
    {
        app.sessions
            .set(&sid, "SPRING_SECURITY_LAST_EXCEPTION", "Bad credentials");
        return support::redirect(&format!("{base}login?error"));
    }
    // ChangeSessionIdAuthenticationStrategy + CsrfAuthenticationStrategy.
    let new_id = app.sessions.create();
    for (k, v) in &sess {
        if k != "csrf" && k != "SPRING_SECURITY_LAST_EXCEPTION" {
            app.sessions.set(&new_id, k, v);
        }
    }
    app.sessions.set(&new_id, "principal", USERNAME);
    app.sessions.drop_session(&sid);
    let target = sess
        .get("SPRING_SECURITY_SAVED_REQUEST")
        .cloned()
        .unwrap_or_else(|| base.clone());
    session_cookie(support::redirect(&target), &new_id)
}

async fn start_with(app: App) -> super::Fixture {
    let router = Router::new()
        .route("/oauth2/authorize", get(authorize).post(consent))
        .route("/login", get(login_get).post(login_post))
        .with_state(app.clone());
    let (base, task) = support::serve(router).await;
    *app.base.lock().unwrap() = base.to_string();
    super::Fixture {
        reproduces: "Spring Authorization Server 1.5.7 / Spring Security 6.5: DefaultLoginPageGeneratingFilter, saved request with &continue, DefaultConsentPage",
        authorize: base.join("/oauth2/authorize").expect("authorize url"),
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

fn app() -> App {
    App {
        sessions: Sessions::default(),
        base: Arc::default(),
        consents: Arc::default(),
        approved: Arc::default(),
        tally: Tally::default(),
    }
}

pub async fn start() -> super::Fixture {
    start_with(app()).await
}

#[tokio::test]
async fn spring_authorization_server_reaches_a_code() {
    super::prove(start().await).await
}

/// Approving ticks exactly the scopes the request asked for (every checkbox the page showed).
#[tokio::test]
async fn spring_authorization_server_consent_ticks_the_requested_scopes() {
    let app = app();
    let fixture = start_with(app.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    let mut approved = app.approved.lock().unwrap().clone();
    assert_eq!(approved.len(), 1, "one consent POST");
    approved[0].sort();
    assert_eq!(
        approved[0],
        vec!["email".to_string(), "profile".to_string()]
    );
    assert_eq!(app.tally.count("consent page"), 1);
}
