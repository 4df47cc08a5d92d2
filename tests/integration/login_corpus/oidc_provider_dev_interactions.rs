//! node oidc-provider v9.11.4 (panva/node-oidc-provider) with its quick-start `devInteractions`
//! feature: lib/actions/interaction.js (render, submit, abort), the eta-compiled views
//! lib/views/layout.js, lib/views/login.js and lib/views/interaction.js, the routes of
//! lib/helpers/initialize_app.js (`/auth`, `/auth/:uid` resume, `/interaction/:uid` GET and
//! POST, `/interaction/:uid/abort`), lib/actions/authorization/interactions.js (the 303 to the
//! interaction and its cookies) and lib/provider.js `interactionFinished` (a 303 to the resume
//! URL), with the default cookie names and options of lib/helpers/defaults.js (`_session`,
//! `_interaction`, `_interaction_resume`; httpOnly, SameSite=Lax; no signing keys, so no `.sig`).
//!
//! The flow:
//! - `GET /auth?...`: a new interaction (a 21-char nanoid uid) for the `login` prompt;
//!   cookies `_interaction=<uid>; path=/interaction/<uid>` and
//!   `_interaction_resume=<uid>; path=/auth/<uid>`; 303 to `/interaction/<uid>`;
//! - the login page (title and h1 "Sign-in"): a form posting to the absolute
//!   `<issuer>/interaction/<uid>` with hidden `prompt=login`, `login` ("Enter any login"),
//!   `password` ("and password") and a `<button>` "Sign-in"; the layout's "[ Cancel ]" LINK to
//!   `/interaction/<uid>/abort`, and a `<details>` block of debug output (uid, params, prompt);
//! - `POST /interaction/<uid>` with `prompt=login`: `interactionFinished` with
//!   `{ login: { accountId: <the login typed> } }`, 303 to `/auth/<uid>`;
//! - `GET /auth/<uid>` (resume, needing the `_interaction_resume` cookie): a session
//!   (`_session`, path=/), then the `consent` prompt: a new interaction, the same cookies for the
//!   new uid, 303 to `/interaction/<uid2>`; the consent page ("Authorize") lists the scopes
//!   besides openid and has one form: hidden `prompt=consent` and a button "Continue";
//! - `POST /interaction/<uid2>` with `prompt=consent`: a grant, 303 to `/auth/<uid2>`, and from
//!   there 303 to the redirect_uri with `code`, `state` and `iss` (RFC 9207, on by default);
//! - "[ Cancel ]" on either page: `access_denied`, "End-User aborted interaction", via the
//!   resume URL, to the redirect_uri with the state and `iss`.
//!
//! devInteractions CHECKS NO PASSWORD: whatever login is typed becomes the account id and any
//! password is accepted (interaction.js `submit`). So the corpus's second claim (a wrong
//! password is a failed sign-in) cannot hold for this server; the tests below prove the other
//! two claims and pin that behaviour instead.
//!
//! Left out: the token endpoint, discovery, PAR/JAR, the device flow, existing sessions and
//! grants (a fresh scanner session has none), the layout's inline CSS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use url::Url;

use super::support::{self, Tally, esc};

const CLIENT_ID: &str = "corpus-oidc-provider";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile";
const ACCOUNT: &str = "corpus-user";
const PASSWORD: &str = "any-password-will-do";

#[derive(Clone, PartialEq)]
enum Prompt {
    Login,
    Consent,
}

#[derive(Clone)]
enum Outcome {
    Login(String),
    Consent,
    Error(&'static str, &'static str),
}

#[derive(Clone)]
struct Interaction {
    params: Vec<(String, String)>,
    prompt: Prompt,
    account: Option<String>,
    result: Option<Outcome>,
}

#[derive(Clone)]
struct Op {
    issuer: Url,
    interactions: Arc<Mutex<HashMap<String, Interaction>>>,
    sessions: Arc<Mutex<HashMap<String, String>>>,
    tally: Tally,
}

fn nanoid() -> String {
    support::token().chars().take(21).collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The provider's default renderError (lib/helpers/defaults.js).
fn render_error(status: StatusCode, error: &str, description: &str) -> Response {
    support::html_status(
        status,
        format!(
            r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>oops! something went wrong</title>
<style>/* css and html classes omitted for brevity, see lib/helpers/defaults.js */</style>
</head>
<body>
<div>
<h1>oops! something went wrong</h1>
<pre><strong>error</strong>: '{}'
<strong>error_description</strong>: '{}'</pre>
</div>
</body>
</html>"#,
            esc(error),
            esc(description)
        ),
    )
}

fn to_client(op: &Op, params: &[(String, String)], pairs: &[(&str, &str)]) -> Response {
    let state = param(params, "state").unwrap_or_default();
    let issuer = op.issuer.as_str().trim_end_matches('/');
    let mut url = Url::parse(REDIRECT_URI).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if !state.is_empty() {
            q.append_pair("state", state);
        }
        q.append_pair("iss", issuer);
    }
    support::redirect_with(StatusCode::SEE_OTHER, url.as_str())
}

/// interactions.js: save an interaction and send the browser to it, with both cookies.
fn start_interaction(op: &Op, interaction: Interaction) -> Response {
    let uid = nanoid();
    op.interactions
        .lock()
        .unwrap()
        .insert(uid.clone(), interaction);
    let resp = support::redirect_with(StatusCode::SEE_OTHER, &format!("/interaction/{uid}"));
    let resp = support::set_cookie(
        resp,
        &format!(
            "_interaction={uid}; path=/interaction/{uid}; expires=Thu, 01 Jan 2099 00:00:00 GMT; samesite=lax; httponly"
        ),
    );
    support::set_cookie(
        resp,
        &format!(
            "_interaction_resume={uid}; path=/auth/{uid}; expires=Thu, 01 Jan 2099 00:00:00 GMT; samesite=lax; httponly"
        ),
    )
}

async fn authorization(
    State(op): State<Op>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    if param(&params, "client_id") != Some(CLIENT_ID) {
        return render_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client is invalid",
        );
    }
    if param(&params, "redirect_uri") != Some(REDIRECT_URI) {
        return render_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uri did not match any of the client's registered redirect_uris",
        );
    }
    if param(&params, "response_type") != Some("code") {
        return to_client(
            &op,
            &params,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "unsupported response_type requested"),
            ],
        );
    }
    if !param(&params, "scope")
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid")
    {
        return to_client(
            &op,
            &params,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "openid scope must be requested for this request",
                ),
            ],
        );
    }
    op.tally.hit("auth");
    let account = support::cookie(&headers, "_session")
        .and_then(|sid| op.sessions.lock().unwrap().get(&sid).cloned());
    let prompt = if account.is_some() {
        Prompt::Consent
    } else {
        Prompt::Login
    };
    start_interaction(
        &op,
        Interaction {
            params,
            prompt,
            account,
            result: None,
        },
    )
}

/// `util.inspect`-ish rendering of the debug block (interaction.js `dbg`).
fn dbg(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("<strong>{}</strong>: '{}'", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn layout(op: &Op, uid: &str, title: &str, body: &str, i: &Interaction) -> String {
    let issuer = op.issuer.as_str().trim_end_matches('/');
    let prompt = match i.prompt {
        Prompt::Login => "<strong>name</strong>: 'login'<br/><strong>reasons</strong>: [ 'no_session' ]<br/><strong>details</strong>: {}".to_string(),
        Prompt::Consent => "<strong>name</strong>: 'consent'<br/><strong>reasons</strong>: [ 'op_scopes_missing' ]<br/><strong>details</strong>: { missingOIDCScope: [ 'openid', 'profile' ] }".to_string(),
    };
    let session = i
        .account
        .as_ref()
        .map(|a| {
            format!(
                "        <div>\n          SESSION <br>\n         ========= <br>\n          <strong>accountId</strong>: '{}'        </div>\n        ",
                esc(a)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html >
  <head>
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
    <title>Sign-in</title>
    <style>
      @import url(https://fonts.googleapis.com/css?family=Roboto:400,100);
      /* the rest of the layout's CSS */
      button {{
        cursor: pointer;
      }}
    </style>
  </head>
  <body>
    <div class="login-card">
      <h1>{title}</h1>
      {body}      <div class="login-help">
        <a href="{issuer}/interaction/{uid}/abort">[ Cancel ]</a>
              </div>
    </div>
    <div class="grant-debug">
      <details>
        <summary style="text-align: center;">(Click to expand) DEBUG information</summary>
        <div>
          <strong>uid</strong>: {uid}        </div>

        {session}
        <div>
          PARAMS <br>
         ======== <br>
          {params}        </div>

        <div>
          PROMPT <br>
         ======== <br>
          {prompt}        </div>
      </details>
    </div>
  </body>
</html>"#,
        params = dbg(&i.params),
    )
}

/// The interaction cookie must name this interaction (provider.js #getInteraction).
fn interaction_of(op: &Op, headers: &HeaderMap, uid: &str) -> Result<Interaction, Box<Response>> {
    let from_cookie = support::cookie(headers, "_interaction");
    if from_cookie.as_deref() != Some(uid) {
        return Err(Box::new(render_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "interaction session id cookie not found",
        )));
    }
    op.interactions
        .lock()
        .unwrap()
        .get(uid)
        .cloned()
        .ok_or_else(|| {
            Box::new(render_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "interaction session not found",
            ))
        })
}

async fn interaction_render(
    State(op): State<Op>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> Response {
    let i = match interaction_of(&op, &headers, &uid) {
        Ok(i) => i,
        Err(resp) => return *resp,
    };
    let issuer = op.issuer.as_str().trim_end_matches('/');
    let submit = format!("{issuer}/interaction/{uid}");
    let (title, body) = match i.prompt {
        Prompt::Login => {
            op.tally.hit("login page");
            let login = match param(&i.params, "login_hint") {
                None => "autofocus=\"on\"".to_string(),
                Some(hint) => format!(" value=\"{}\" ", esc(hint)),
            };
            let pw = if param(&i.params, "login_hint").is_some() {
                "autofocus=\"on\""
            } else {
                ""
            };
            (
                "Sign-in",
                format!(
                    r#"<form autocomplete="off" action="{submit}" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" {login}>
  <input required type="password" name="password" placeholder="and password" {pw}>

  <button type="submit" class="login login-submit">Sign-in</button>
</form>"#
                ),
            )
        }
        Prompt::Consent => {
            op.tally.hit("consent page");
            let scopes: String = param(&i.params, "scope")
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty() && *s != "openid" && *s != "offline_access")
                .map(|s| format!("      <li>{}</li>\n    ", esc(s)))
                .collect();
            let list = if scopes.is_empty() {
                String::new()
            } else {
                format!("  <li>scopes:</li>\n  <ul>\n    {scopes}  </ul>\n")
            };
            (
                "Authorize",
                format!(
                    r#"<div class="login-client-image">
  </div>

<ul>

{list}




</ul>

<form autocomplete="off" action="{submit}" method="post">
  <input type="hidden" name="prompt" value="consent"/>
  <button autofocus type="submit" class="login login-submit">Continue</button>
</form>
"#
                ),
            )
        }
    };
    let mut resp = support::html(layout(&op, &uid, title, &body, &i));
    // noCache
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

async fn interaction_submit(
    State(op): State<Op>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    Form(body): Form<Vec<(String, String)>>,
) -> Response {
    let i = match interaction_of(&op, &headers, &uid) {
        Ok(i) => i,
        Err(resp) => return *resp,
    };
    let result = match (param(&body, "prompt"), &i.prompt) {
        (Some("login"), Prompt::Login) => {
            // No password check: the login typed is the account id.
            op.tally.hit("login submitted");
            Outcome::Login(param(&body, "login").unwrap_or_default().to_string())
        }
        (Some("consent"), Prompt::Consent) => {
            op.tally.hit("consent submitted");
            Outcome::Consent
        }
        (Some("login" | "consent"), _) => {
            // assert.equal(name, ...) throws: an AssertionError, a 500.
            return render_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "oops! something went wrong",
            );
        }
        _ => {
            return render_error(
                StatusCode::NOT_IMPLEMENTED,
                "server_error",
                "not implemented",
            );
        }
    };
    if let Some(i) = op.interactions.lock().unwrap().get_mut(&uid) {
        i.result = Some(result);
    }
    support::redirect_with(
        StatusCode::SEE_OTHER,
        &format!("{}/auth/{uid}", op.issuer.as_str().trim_end_matches('/')),
    )
}

async fn interaction_abort(
    State(op): State<Op>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(resp) = interaction_of(&op, &headers, &uid) {
        return *resp;
    }
    op.tally.hit("aborted");
    if let Some(i) = op.interactions.lock().unwrap().get_mut(&uid) {
        i.result = Some(Outcome::Error(
            "access_denied",
            "End-User aborted interaction",
        ));
    }
    support::redirect_with(
        StatusCode::SEE_OTHER,
        &format!("{}/auth/{uid}", op.issuer.as_str().trim_end_matches('/')),
    )
}

async fn resume(State(op): State<Op>, Path(uid): Path<String>, headers: HeaderMap) -> Response {
    if support::cookie(&headers, "_interaction_resume").as_deref() != Some(uid.as_str()) {
        return render_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "authorization request has expired",
        );
    }
    let Some(i) = op.interactions.lock().unwrap().remove(&uid) else {
        return render_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "interaction session not found",
        );
    };
    // The resume cookie is spent.
    let clear = format!(
        "_interaction_resume=; path=/auth/{uid}; expires=Thu, 01 Jan 1970 00:00:00 GMT; samesite=lax; httponly"
    );
    let resp = match i.result.clone() {
        None => render_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "interaction session not found",
        ),
        Some(Outcome::Error(error, description)) => to_client(
            &op,
            &i.params,
            &[("error", error), ("error_description", description)],
        ),
        Some(Outcome::Login(account)) => {
            let sid = nanoid();
            op.sessions
                .lock()
                .unwrap()
                .insert(sid.clone(), account.clone());
            let resp = start_interaction(
                &op,
                Interaction {
                    params: i.params.clone(),
                    prompt: Prompt::Consent,
                    account: Some(account),
                    result: None,
                },
            );
            support::set_cookie(
                resp,
                &format!(
                    "_session={sid}; path=/; expires=Thu, 01 Jan 2099 00:00:00 GMT; samesite=lax; httponly"
                ),
            )
        }
        Some(Outcome::Consent) => {
            op.tally.hit("code");
            let code: String = format!("{}{}", support::token(), support::token())
                .chars()
                .take(43)
                .collect();
            to_client(&op, &i.params, &[("code", &code)])
        }
    };
    support::set_cookie(resp, &clear)
}

async fn start_with(tally: Tally) -> super::Fixture {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let op = Op {
        issuer: issuer.clone(),
        interactions: Arc::default(),
        sessions: Arc::default(),
        tally,
    };
    let router = Router::new()
        .route("/auth", get(authorization).post(authorization))
        .route("/auth/{uid}", get(resume))
        .route(
            "/interaction/{uid}",
            get(interaction_render).post(interaction_submit),
        )
        .route("/interaction/{uid}/abort", get(interaction_abort))
        .with_state(op);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    super::Fixture {
        reproduces: "node oidc-provider v9.11.4 devInteractions: lib/views/login.js, interaction.js, layout.js",
        authorize: issuer.join("/auth").unwrap(),
        client_id: CLIENT_ID.to_string(),
        redirect_uri: REDIRECT_URI.to_string(),
        scope: SCOPE.to_string(),
        username: ACCOUNT.to_string(),
        password: PASSWORD.to_string(),
        login_origins: Vec::new(),
        can_deny: true,
        servers: vec![task],
    }
}

pub async fn start() -> super::Fixture {
    start_with(Tally::default()).await
}

/// `prove`'s first and third claims (its second, a wrong password refused, does not hold for
/// devInteractions, which check none: see `..._accepts_any_password`).
#[tokio::test]
async fn oidc_provider_dev_interactions_reaches_a_code() {
    use oauthprobe::flow::authorize::{AuthOutcome, Consent};
    let fixture = start().await;
    let name = fixture.reproduces;
    let (request, outcome) = super::sign_in(&fixture, &fixture.password, Consent::Approve).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("{name}: sign-in failed: {e}"));
    let AuthOutcome::Redirect { location, params } = &outcome else {
        panic!(
            "{name}: no authorization response: the server {}",
            outcome.describe()
        );
    };
    assert!(location.as_str().starts_with(&fixture.redirect_uri));
    assert!(params.get("code").is_some_and(|c| !c.is_empty()));
    assert_eq!(
        params.get("state").map(String::as_str),
        request.get("state")
    );
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(fixture.authorize.origin().ascii_serialization().as_str())
    );

    // The refusal is the layout's "[ Cancel ]" link, on the login and the consent page alike.
    let (_, outcome) = super::sign_in(&fixture, &fixture.password, Consent::Deny).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("{name}: denial failed: {e}"));
    assert_eq!(
        outcome.param("error"),
        Some("access_denied"),
        "{name}: denying consent: the server {}",
        outcome.describe()
    );
    assert!(outcome.code().is_none());
}

/// devInteractions take any password: the scanner cannot, and must not claim to, see a failed
/// sign-in here; the login it typed simply becomes the account.
#[tokio::test]
async fn oidc_provider_dev_interactions_accepts_any_password() {
    use oauthprobe::flow::authorize::Consent;
    let tally = Tally::default();
    let fixture = start_with(tally.clone()).await;
    let (_, outcome) = super::sign_in(&fixture, "not-the-password-0", Consent::Approve).await;
    let outcome = outcome.expect("any password signs in");
    assert!(outcome.code().is_some(), "{}", outcome.describe());
    assert_eq!(tally.count("login submitted"), 1);
    assert_eq!(tally.count("consent submitted"), 1);
}
