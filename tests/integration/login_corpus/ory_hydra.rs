//! Ory Hydra v2.3.0 with its reference login and consent app, ory/hydra-login-consent-node
//! (v2.4.0-pre.3, master of 2025-10-22), on two loopback origins as deployed: Hydra's public port
//! (the authorization endpoint) and the login app (`urls.login`, `urls.consent`).
//!
//! Hydra, following consent/strategy_default.go and consent/handler.go at v2.3.0:
//! - `GET /oauth2/auth` with neither verifier (`requestAuthentication`): a login challenge that
//!   remembers the request URL (the public `/oauth2/auth` with the ORIGINAL raw query), a CSRF
//!   value in the cookie `ory_hydra_login_csrf_dev_<murmur3(client_id)>` (`createCsrfSession`,
//!   dev mode adds `_dev`), and a 302 to `urls.login?login_challenge=...`;
//! - `GET /oauth2/auth?<original query>&login_verifier=...` (`verifyAuthentication`, then
//!   `requestConsent`): the login CSRF cookie must hold the flow's value, else the client gets
//!   `error=request_forbidden`; then a consent challenge, the cookie
//!   `ory_hydra_consent_csrf_dev_<suffix>` and a 302 to `urls.consent?consent_challenge=...`;
//! - `GET /oauth2/auth?<original query>&consent_verifier=...` (`verifyConsent`): the consent CSRF
//!   cookie checked, and fosite's authorize response, a 303 to the redirect_uri with `code`,
//!   `scope` (the GRANTED scopes, space separated) and `state`; a rejected login or consent
//!   returns `error=access_denied` with Hydra's description and the state.
//!
//! The admin API the login app calls (`getOAuth2LoginRequest`, `acceptOAuth2LoginRequest`,
//! `rejectOAuth2LoginRequest`, and the consent twins; they answer `redirect_to` = the request URL
//! plus `login_verifier`/`consent_verifier`, handler.go) is shared state here, not HTTP.
//!
//! The login app, following src/app.ts, src/routes/login.ts, src/routes/consent.ts,
//! views/layout.pug, views/login.pug, views/consent.pug, rendered as pug renders them (no
//! whitespace between tags, attributes whose value is undefined left out):
//! - csurf with `cookie: { sameSite: "lax" }`: a secret in the cookie `_csrf` (Path=/), a token
//!   `salt-hash(salt, secret)` in the hidden `_csrf` field of both forms (csurf hashes with SHA-1,
//!   this fixture with SHA-256); a bad token is express's error page, HTTP 500 (the app's 3-argument
//!   "error handlers" are not error handlers, the last one renders every error as 500);
//! - the login form: `_csrf`, `challenge`, `email` (type=email, value = login_hint), `password`,
//!   `remember` (unchecked), and two submit buttons both named `submit`: "Log in" and "Deny access"
//!   (which rejects the login request); the app's only user is foo@bar.com / foobar, printed next
//!   to the fields; a wrong password re-renders the page (200) with "The username / password
//!   combination is not correct" and WITHOUT the form's action (the POST handler passes none),
//!   so that form posts back to the document URL, /login;
//! - the consent form: `challenge`, `_csrf`, one checkbox `grant_scope` per requested scope, NOT
//!   checked (the real template has no `checked`: a browser user ticks them, and what is ticked is
//!   what Hydra grants), `remember` "Do not ask me again", buttons `submit` = "Allow access" /
//!   "Deny access". Express's `res.redirect` is a 302.
//!
//! Left out: Hydra's remembered login/consent sessions (`skip`), which a fresh scanner session
//! never has; the token endpoint; the logout and device routes; the real encrypted challenge
//! blobs (random tokens of a similar length here).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use sha2::{Digest, Sha256};
use url::Url;

use super::support::{self, Tally, esc};

const CLIENT_ID: &str = "corpus-hydra-client";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile";
const EMAIL: &str = "foo@bar.com";
const PASSWORD: &str = "foobar";

#[derive(Clone)]
struct LoginRequest {
    /// The public /oauth2/auth URL with the original raw query.
    request_url: String,
    csrf: String,
    requested_scope: Vec<String>,
    /// Set by accept/reject: the subject, or the rejection.
    outcome: Option<Result<String, String>>,
}

#[derive(Clone)]
struct ConsentRequest {
    request_url: String,
    csrf: String,
    subject: String,
    requested_scope: Vec<String>,
    outcome: Option<Result<Vec<String>, String>>,
}

#[derive(Default)]
struct Store {
    logins: HashMap<String, LoginRequest>,
    /// login_verifier -> login challenge
    login_verifiers: HashMap<String, String>,
    consents: HashMap<String, ConsentRequest>,
    consent_verifiers: HashMap<String, String>,
}

#[derive(Clone)]
struct Hydra {
    public: Url,
    login_app: Url,
    store: Arc<Mutex<Store>>,
    tally: Tally,
    /// The grant_scope values of each consent POST, in order.
    granted: Arc<Mutex<Vec<Vec<String>>>>,
}

/// murmur3 x86 32-bit, seed 0: Hydra's `client.CookieSuffix` (client/client.go).
fn murmur3_32(data: &[u8]) -> u32 {
    let (c1, c2) = (0xcc9e_2d51u32, 0x1b87_3593u32);
    let mut h = 0u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(c1).rotate_left(15).wrapping_mul(c2);
        h = (h ^ k)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    let mut k = 0u32;
    for (i, b) in tail.iter().enumerate() {
        k |= u32::from(*b) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(c1).rotate_left(15).wrapping_mul(c2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

fn cookie_suffix() -> String {
    // strconv.Itoa(int(murmur3.Sum32(id))): a uint32 shown as a (64-bit) int.
    murmur3_32(CLIENT_ID.as_bytes()).to_string()
}

fn login_csrf_cookie() -> String {
    format!("ory_hydra_login_csrf_dev_{}", cookie_suffix())
}

fn consent_csrf_cookie() -> String {
    format!("ory_hydra_consent_csrf_dev_{}", cookie_suffix())
}

fn with_query(base: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(base).expect("url");
    url.query_pairs_mut().extend_pairs(extra);
    url.to_string()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn hydra_error(status: StatusCode, error: &str, description: &str) -> Response {
    // Hydra's error page when the client cannot be trusted with a redirect.
    support::html_status(
        status,
        format!(
            "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>{}</h1><p>{}</p></body></html>",
            esc(error),
            esc(description)
        ),
    )
}

async fn oauth2_auth(
    State(h): State<Hydra>,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if param(&query, "client_id") != Some(CLIENT_ID) {
        return hydra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).",
        );
    }
    if param(&query, "redirect_uri") != Some(REDIRECT_URI) {
        return hydra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.",
        );
    }
    let state = param(&query, "state").unwrap_or_default().to_string();
    if state.len() < 8 {
        return support::to_client(
            REDIRECT_URI,
            &[
                ("error", "invalid_state"),
                (
                    "error_description",
                    "The state is missing or does not have enough characters and is therefore considered too weak. Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy.",
                ),
                ("state", &state),
            ],
        );
    }
    if param(&query, "response_type") != Some("code") {
        return support::to_client(
            REDIRECT_URI,
            &[("error", "unsupported_response_type"), ("state", &state)],
        );
    }
    let forbidden = |hint: &str| {
        let description = format!("The request is not allowed. {hint}");
        support::to_client(
            REDIRECT_URI,
            &[
                ("error", "request_forbidden"),
                ("error_description", &description),
                ("state", &state),
            ],
        )
    };
    let login_verifier = param(&query, "login_verifier").map(str::trim).unwrap_or("");
    let consent_verifier = param(&query, "consent_verifier")
        .map(str::trim)
        .unwrap_or("");

    if login_verifier.is_empty() && consent_verifier.is_empty() {
        // requestAuthentication
        h.tally.hit("hydra auth");
        let challenge = format!(
            "{}{}{}",
            support::token(),
            support::token(),
            support::token()
        );
        let csrf = support::token();
        let requested_scope = param(&query, "scope")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut request_url = h.public.join("/oauth2/auth").expect("url");
        request_url.set_query(uri.query());
        h.store.lock().unwrap().logins.insert(
            challenge.clone(),
            LoginRequest {
                request_url: request_url.to_string(),
                csrf: csrf.clone(),
                requested_scope,
                outcome: None,
            },
        );
        let to = with_query(
            h.login_app.join("/login").expect("url").as_str(),
            &[("login_challenge", &challenge)],
        );
        return support::set_cookie(
            support::redirect(&to),
            &format!(
                "{}={csrf}; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax",
                login_csrf_cookie()
            ),
        );
    }

    if !login_verifier.is_empty() {
        // verifyAuthentication, then requestConsent
        let login = {
            let mut store = h.store.lock().unwrap();
            let Some(challenge) = store.login_verifiers.remove(login_verifier) else {
                return support::to_client(
                    REDIRECT_URI,
                    &[
                        ("error", "invalid_request"),
                        (
                            "error_description",
                            "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. The login verifier has already been used, has not been granted, or is invalid.",
                        ),
                        ("state", &state),
                    ],
                );
            };
            store.logins.remove(&challenge)
        };
        let Some(login) = login else {
            return hydra_error(StatusCode::NOT_FOUND, "not_found", "login request gone");
        };
        if support::cookie(&headers, &login_csrf_cookie()).as_deref() != Some(login.csrf.as_str()) {
            return forbidden(
                "The CSRF value from the token does not match the CSRF value from the data store.",
            );
        }
        let subject = match login.outcome {
            Some(Ok(subject)) => subject,
            Some(Err(_)) => {
                return support::redirect_with(
                    StatusCode::SEE_OTHER,
                    &with_query(
                        REDIRECT_URI,
                        &[
                            ("error", "access_denied"),
                            ("error_description", "The resource owner denied the request"),
                            ("state", &state),
                        ],
                    ),
                );
            }
            None => return forbidden("The login request was not handled."),
        };
        let challenge = format!(
            "{}{}{}",
            support::token(),
            support::token(),
            support::token()
        );
        let csrf = support::token();
        h.store.lock().unwrap().consents.insert(
            challenge.clone(),
            ConsentRequest {
                request_url: login.request_url,
                csrf: csrf.clone(),
                subject,
                requested_scope: login.requested_scope,
                outcome: None,
            },
        );
        let to = with_query(
            h.login_app.join("/consent").expect("url").as_str(),
            &[("consent_challenge", &challenge)],
        );
        return support::set_cookie(
            support::redirect(&to),
            &format!(
                "{}={csrf}; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax",
                consent_csrf_cookie()
            ),
        );
    }

    // verifyConsent
    let consent = {
        let mut store = h.store.lock().unwrap();
        let challenge = store.consent_verifiers.remove(consent_verifier);
        challenge.and_then(|c| store.consents.remove(&c))
    };
    let Some(consent) = consent else {
        return support::to_client(
            REDIRECT_URI,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "The consent verifier has already been used, has not been granted, or is invalid.",
                ),
                ("state", &state),
            ],
        );
    };
    if support::cookie(&headers, &consent_csrf_cookie()).as_deref() != Some(consent.csrf.as_str()) {
        return forbidden(
            "The CSRF value from the token does not match the CSRF value from the data store.",
        );
    }
    match consent.outcome {
        Some(Ok(granted)) => {
            h.tally.hit("hydra code");
            let scope = granted.join(" ");
            let code = format!("ory_ac_{}", support::token());
            // fosite's sendRedirect: 303 See Other.
            support::redirect_with(
                StatusCode::SEE_OTHER,
                &with_query(
                    REDIRECT_URI,
                    &[("code", &code), ("scope", &scope), ("state", &state)],
                ),
            )
        }
        Some(Err(_)) => support::redirect_with(
            StatusCode::SEE_OTHER,
            &with_query(
                REDIRECT_URI,
                &[
                    ("error", "access_denied"),
                    ("error_description", "The resource owner denied the request"),
                    ("state", &state),
                ],
            ),
        ),
        None => forbidden("The consent request was not handled."),
    }
}

// ---- the login & consent app (hydra-login-consent-node) ----

/// csurf: the secret cookie (created on first use) and a fresh token for it.
fn csrf_token(secret: &str) -> String {
    // csurf's salt: 8 alphanumeric characters (rndm), so the first '-' ends it.
    let salt: String = support::token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("{salt}-{}", csrf_hash(&salt, secret))
}

fn csrf_hash(salt: &str, secret: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(format!("{salt}-{secret}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn csrf_valid(secret: Option<&str>, token: Option<&str>) -> bool {
    let (Some(secret), Some(token)) = (secret, token) else {
        return false;
    };
    token
        .split_once('-')
        .is_some_and(|(salt, hash)| csrf_hash(salt, secret) == hash)
}

/// The secret from the `_csrf` cookie, or a new one (and its Set-Cookie).
fn csrf_secret(headers: &HeaderMap) -> (String, Option<String>) {
    match support::cookie(headers, "_csrf") {
        Some(s) => (s, None),
        None => {
            let s = support::token();
            let set = format!("_csrf={s}; Path=/; SameSite=Lax");
            (s, Some(set))
        }
    }
}

fn layout(content: &str) -> String {
    // views/layout.pug: `title= title` with no title passed renders an empty element.
    format!("<!DOCTYPE html><html><head><title></title></head><body>{content}</body></html>")
}

fn express_error(message: &str) -> Response {
    support::html_status(
        StatusCode::INTERNAL_SERVER_ERROR,
        layout(&format!("<h1>{}</h1>", esc(message))),
    )
}

fn login_page(
    action: Option<&str>,
    csrf: &str,
    challenge: &str,
    hint: Option<&str>,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p>{}</p>", esc(e)))
        .unwrap_or_default();
    let action = action
        .map(|a| format!(" action=\"{}\"", esc(a)))
        .unwrap_or_default();
    let value = hint
        .map(|v| format!(" value=\"{}\"", esc(v)))
        .unwrap_or_default();
    layout(&format!(
        r#"<h1 id="login-title">Please log in</h1>{error}<form{action} method="POST"><input type="hidden" name="_csrf" value="{csrf}"><input type="hidden" name="challenge" value="{challenge}"><table style=""><tr><td><input type="email" id="email" name="email"{value} placeholder="email@foobar.com"></td><td>(it's "foo@bar.com")</td></tr><tr><td><input type="password" id="password" name="password"></td><td>(it's "foobar")</td></tr></table><input type="checkbox" id="remember" name="remember" value="1"><label for="remember">Remember me</label><br><input type="submit" id="accept" name="submit" value="Log in"><input type="submit" id="reject" name="submit" value="Deny access"></form>"#,
        csrf = esc(csrf),
        challenge = esc(challenge),
    ))
}

async fn login_get(
    State(h): State<Hydra>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let (secret, set) = csrf_secret(&headers);
    // `String(query.login_challenge)`: "undefined" when missing.
    let challenge = param(&query, "login_challenge")
        .unwrap_or("undefined")
        .to_string();
    let known = h.store.lock().unwrap().logins.contains_key(&challenge);
    let resp = if known {
        h.tally.hit("login page");
        let action = h.login_app.join("/login").expect("url");
        let action = action.path().to_string();
        support::html(login_page(
            Some(&action),
            &csrf_token(&secret),
            &challenge,
            Some(""),
            None,
        ))
    } else {
        express_error("Unable to locate the resource")
    };
    match set {
        Some(c) => support::set_cookie(resp, &c),
        None => resp,
    }
}

async fn login_post(
    State(h): State<Hydra>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let secret = support::cookie(&headers, "_csrf");
    if !csrf_valid(secret.as_deref(), param(&form, "_csrf")) {
        return express_error("invalid csrf token");
    }
    let secret = secret.unwrap_or_default();
    let challenge = param(&form, "challenge").unwrap_or_default().to_string();
    let mut store = h.store.lock().unwrap();
    let Some(login) = store.logins.get_mut(&challenge) else {
        return express_error("Unable to locate the resource");
    };
    if param(&form, "submit") == Some("Deny access") {
        h.tally.hit("login rejected");
        login.outcome = Some(Err("access_denied".into()));
        let verifier = support::token();
        let to = with_query(&login.request_url, &[("login_verifier", &verifier)]);
        store.login_verifiers.insert(verifier, challenge);
        return support::redirect(&to);
    }
    if !(param(&form, "email") == Some(EMAIL) && param(&form, "password") == Some(PASSWORD)) {
        h.tally.hit("wrong password");
        return support::html(login_page(
            None,
            &csrf_token(&secret),
            &challenge,
            None,
            Some("The username / password combination is not correct"),
        ));
    }
    h.tally.hit("login accepted");
    login.outcome = Some(Ok(EMAIL.to_string()));
    let verifier = support::token();
    let to = with_query(&login.request_url, &[("login_verifier", &verifier)]);
    store.login_verifiers.insert(verifier, challenge);
    support::redirect(&to)
}

async fn consent_get(
    State(h): State<Hydra>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let (secret, set) = csrf_secret(&headers);
    let challenge = param(&query, "consent_challenge")
        .unwrap_or("undefined")
        .to_string();
    let consent = h.store.lock().unwrap().consents.get(&challenge).cloned();
    let resp = match consent {
        None => express_error("Unable to locate the resource"),
        Some(consent) => {
            h.tally.hit("consent page");
            let scopes: String = consent
                .requested_scope
                .iter()
                .map(|s| {
                    let s = esc(s);
                    format!(
                        r#"<input type="checkbox" class="grant_scope" id="{s}" value="{s}" name="grant_scope"><label for="{s}">{s}</label><br>"#
                    )
                })
                .collect();
            support::html(layout(&format!(
                r#"<h1>An application requests access to your data!</h1><form action="/consent" method="POST"><input type="hidden" name="challenge" value="{challenge}"><input type="hidden" name="_csrf" value="{csrf}"><p>Hi {user}, application <strong>{client}</strong> wants access resources on your behalf and to:</p>{scopes}<p>Do you want to be asked next time when this application wants to access your data? The application will
not be able to ask for more permissions without your consent.</p><ul></ul><p><input type="checkbox" id="remember" name="remember" value="1"><label for="remember">Do not ask me again</label></p><p><input type="submit" id="accept" name="submit" value="Allow access"><input type="submit" id="reject" name="submit" value="Deny access"></p></form>"#,
                challenge = esc(&challenge),
                csrf = esc(&csrf_token(&secret)),
                user = esc(&consent.subject),
                client = esc(CLIENT_ID),
            )))
        }
    };
    match set {
        Some(c) => support::set_cookie(resp, &c),
        None => resp,
    }
}

async fn consent_post(
    State(h): State<Hydra>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let secret = support::cookie(&headers, "_csrf");
    if !csrf_valid(secret.as_deref(), param(&form, "_csrf")) {
        return express_error("invalid csrf token");
    }
    let challenge = param(&form, "challenge").unwrap_or_default().to_string();
    let mut store = h.store.lock().unwrap();
    let Some(consent) = store.consents.get_mut(&challenge) else {
        return express_error("Unable to locate the resource");
    };
    if param(&form, "submit") == Some("Deny access") {
        h.tally.hit("consent rejected");
        consent.outcome = Some(Err("access_denied".into()));
    } else {
        // grant_scope as the body parser gives it; Hydra grants exactly that.
        let granted: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "grant_scope")
            .map(|(_, v)| v.clone())
            .collect();
        h.granted.lock().unwrap().push(granted.clone());
        h.tally.hit("consent accepted");
        consent.outcome = Some(Ok(granted));
    }
    let verifier = support::token();
    let to = with_query(&consent.request_url, &[("consent_verifier", &verifier)]);
    store.consent_verifiers.insert(verifier, challenge);
    support::redirect(&to)
}

async fn start_with(tally: Tally, granted: Arc<Mutex<Vec<Vec<String>>>>) -> super::Fixture {
    // Bind both listeners first: each side needs the other's URL.
    let hydra_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public = Url::parse(&format!("http://{}/", hydra_listener.local_addr().unwrap())).unwrap();
    let login_app = Url::parse(&format!("http://{}/", app_listener.local_addr().unwrap())).unwrap();
    let state = Hydra {
        public: public.clone(),
        login_app: login_app.clone(),
        store: Arc::default(),
        tally,
        granted,
    };
    let hydra = Router::new()
        .route("/oauth2/auth", get(oauth2_auth))
        .with_state(state.clone());
    let app = Router::new()
        .route("/login", get(login_get).post(login_post))
        .route("/consent", get(consent_get).post(consent_post))
        .with_state(state);
    let servers = vec![
        tokio::spawn(async move {
            let _ = axum::serve(hydra_listener, hydra).await;
        }),
        tokio::spawn(async move {
            let _ = axum::serve(app_listener, app).await;
        }),
    ];
    super::Fixture {
        reproduces: "Ory Hydra v2.3.0 + hydra-login-consent-node: views/login.pug, views/consent.pug",
        authorize: public.join("/oauth2/auth").unwrap(),
        client_id: CLIENT_ID.to_string(),
        redirect_uri: REDIRECT_URI.to_string(),
        scope: SCOPE.to_string(),
        username: EMAIL.to_string(),
        password: PASSWORD.to_string(),
        login_origins: vec![login_app],
        can_deny: true,
        servers,
    }
}

pub async fn start() -> super::Fixture {
    start_with(Tally::default(), Arc::default()).await
}

#[tokio::test]
async fn ory_hydra_reaches_a_code() {
    super::prove(start().await).await
}

/// The consent page's scope checkboxes start unticked; a browser user ticks the requested ones,
/// and Hydra grants exactly what was ticked. The scanner must tick every requested scope.
#[tokio::test]
async fn ory_hydra_consent_grants_the_requested_scopes() {
    let tally = Tally::default();
    let granted = Arc::<Mutex<Vec<Vec<String>>>>::default();
    let fixture = start_with(tally.clone(), granted.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(
        tally.count("login rejected"),
        0,
        "pressed Deny on the login page"
    );
    let granted = granted.lock().unwrap().clone();
    assert_eq!(
        granted,
        vec![vec!["openid".to_string(), "profile".to_string()]]
    );
    assert_eq!(outcome.param("scope"), Some("openid profile"));
}

#[test]
fn murmur3_matches_the_reference_vectors() {
    assert_eq!(murmur3_32(b""), 0);
    assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
    assert_eq!(murmur3_32(b"Hello, world!"), 0xc036_3e43);
}
