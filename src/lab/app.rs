//! The demo client at /app: a careful confidential client (state, nonce, PKCE, iss check),
//! which exchanges the code over real HTTP at the lab's own token endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;
use url::Url;

use super::pages::{escape, html};
use super::server::{Lab, Params, cookie};
use super::{DEMO_CLIENT_ID, LabClient};
use crate::crypto::{b64url_decode, pkce_pair, random_token};
// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
use crate::http::redact::form_encode;

const APP_COOKIE: &str = "app_session";
const SCOPE: &str = "openid profile email";
const LOGIN_LIFETIME: Duration = Duration::from_secs(600);

struct PendingLogin {
    state: String,
    nonce: String,
    verifier: String,
    started: Instant,
}

struct App {
    lab: Arc<Lab>,
    http: reqwest::Client,
    pending: Mutex<HashMap<String, PendingLogin>>,
}

pub fn router(lab: Arc<Lab>) -> Router {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let app = Arc::new(App {
        lab,
        http,
        pending: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/", get(home))
        .route("/login", get(start_login))
        .route("/callback", get(callback))
        .with_state(app)
}

impl App {
    fn client(&self) -> Option<&LabClient> {
        self.lab
            .registry
            .clients
            .iter()
            .find(|c| c.id == DEMO_CLIENT_ID)
            .or_else(|| {
                self.lab
                    .registry
                    .clients
                    .iter()
                    .find(|c| c.secret.is_some())
            })
    }

    fn redirect_uri(&self) -> String {
        format!("{}/app/callback", self.lab.issuer)
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    html(
        status,
        "Sign-in failed - demo app",
        &format!(
            "<h1>Sign-in failed</h1><p id=\"error\" class=\"error\">{}</p><p><a href=\"/app\">Back to the demo app</a></p>",
            escape(message)
        ),
    )
}

async fn home() -> Response {
    html(
        StatusCode::OK,
        "Demo app - oauthprobe lab",
        "<h1>oauthprobe demo app</h1>\
         <p>This client signs you in with the lab's authorization server using the authorization code flow \
         with PKCE, a state and a nonce.</p>\
         <p><a id=\"sign-in\" class=\"button\" href=\"/app/login\">Sign in</a></p>",
    )
}

async fn start_login(State(app): State<Arc<App>>) -> Response {
    let Some(client) = app.client() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The lab has no confidential client for the demo app.",
        );
    };
    if !client.redirect_uris.contains(&app.redirect_uri()) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "The demo app's client must have {} registered.",
                app.redirect_uri()
            ),
        );
    }
    let (verifier, challenge) = pkce_pair();
    let login = PendingLogin {
        state: random_token(16),
        nonce: random_token(16),
        verifier,
        started: Instant::now(),
    };
    let Ok(mut url) = Url::parse(&format!("{}/authorize", app.lab.issuer)) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The lab's issuer is not a URL.",
        );
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", &app.redirect_uri())
        .append_pair("scope", SCOPE)
        .append_pair("state", &login.state)
        .append_pair("nonce", &login.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let session = random_token(18);
    {
        let mut pending = app.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, l| l.started.elapsed() < LOGIN_LIFETIME);
        pending.insert(session.clone(), login);
    }
    let mut resp = html(
        StatusCode::SEE_OTHER,
        "Redirecting",
        "<p>Redirecting to the authorization server.</p>",
    );
    let h = resp.headers_mut();
    if let (Ok(loc), Ok(c)) = (
        HeaderValue::from_str(url.as_str()),
        HeaderValue::from_str(&format!(
            "{APP_COOKIE}={session}; Path=/app; HttpOnly; SameSite=Lax"
        )),
    ) {
        h.insert(header::LOCATION, loc);
        h.insert(header::SET_COOKIE, c);
    }
    resp
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    app.lab
        .callback_hits
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = Params::parse(query.as_deref().unwrap_or(""));
    // One use per sign-in: take the pending login out whatever happens next.
    let login = cookie(&headers, APP_COOKIE)
        .and_then(|id| {
            app.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id)
        })
        .filter(|l| l.started.elapsed() < LOGIN_LIFETIME);
    let Some(login) = login else {
        return error(
            StatusCode::BAD_REQUEST,
            "No sign-in was started from this browser: the response is refused (state cannot be checked).",
        );
    };
    // The CSRF defence (RFC 6749 §10.12): the state must be the one this browser's sign-in sent.
    match p.get("state") {
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "The response has no state parameter: refused as a possible CSRF attack.",
            );
        }
        Some(s) if s != login.state => {
            return error(
                StatusCode::BAD_REQUEST,
                "The state parameter does not match this browser's sign-in: refused as a possible CSRF attack.",
            );
        }
        Some(_) => {}
    }
    // RFC 9207 §2.4: the response must come from the issuer the request went to.
    if p.get("iss") != Some(app.lab.issuer.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "The response's iss parameter is missing or names another issuer.",
        );
    }
    if let Some(e) = p.get("error") {
        let description = p.get("error_description").unwrap_or("");
        return error(
            StatusCode::BAD_REQUEST,
            &format!("The authorization server answered {e}: {description}"),
        );
    }
    let Some(code) = p.get("code") else {
        return error(
            StatusCode::BAD_REQUEST,
            "The response has neither a code nor an error.",
        );
    };
    match exchange(&app, code, &login).await {
        Ok(page) => page,
        Err(message) => error(StatusCode::BAD_GATEWAY, &message),
    }
}

async fn exchange(app: &App, code: &str, login: &PendingLogin) -> Result<Response, String> {
    let client = app.client().ok_or("no client")?;
    let token_url = format!("{}/token", app.lab.issuer);
    let resp = app
        .http
        .post(&token_url)
        .basic_auth(
            form_encode(&client.id),
            client.secret.as_deref().map(form_encode),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &app.redirect_uri()),
            ("code_verifier", &login.verifier),
        ])
        .send()
        .await
        .map_err(|e| format!("The token request failed: {e}"))?;
    let status = resp.status();
    let tokens: Value = resp
        .json()
        .await
        .map_err(|e| format!("The token response is not JSON: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "The token endpoint answered {status}: {}",
            tokens["error"]
        ));
    }
    let access_token = tokens["access_token"]
        .as_str()
        .ok_or("The token response has no access_token.")?;
    if let Some(id_token) = tokens["id_token"].as_str() {
        let claims = id_token
            .split('.')
            .nth(1)
            .and_then(b64url_decode)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .ok_or("The ID token cannot be read.")?;
        if claims["nonce"].as_str() != Some(login.nonce.as_str()) {
            return Err(
                "The ID token's nonce does not match this sign-in: refused as a possible replay."
                    .into(),
            );
        }
    }
    let profile: Value = app
        .http
        .get(format!("{}/userinfo", app.lab.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| format!("The userinfo request failed: {e}"))?
        .json()
        .await
        .map_err(|e| format!("The userinfo response is not JSON: {e}"))?;
    let field = |v: &Value| escape(v.as_str().unwrap_or("(not shared)"));
    Ok(html(
        StatusCode::OK,
        "Signed in - demo app",
        &format!(
            "<h1>Signed in</h1><dl>\
             <dt>Name</dt><dd id=\"profile-name\">{name}</dd>\
             <dt>Email</dt><dd id=\"profile-email\">{email}</dd>\
             <dt>Subject</dt><dd id=\"profile-sub\">{sub}</dd>\
             <dt>Granted scopes</dt><dd id=\"granted-scopes\">{scopes}</dd>\
             <dt>Access token expires in</dt><dd><span id=\"expires-in\">{expires}</span> seconds</dd>\
             </dl><p><a href=\"/app\">Back to the demo app</a></p>",
            name = field(&profile["name"]),
            email = field(&profile["email"]),
            sub = field(&profile["sub"]),
            scopes = field(&tokens["scope"]),
            expires = tokens["expires_in"].as_u64().unwrap_or(0),
        ),
    ))
}
