//! The authorization server: metadata, /authorize with login and consent, /token,
//! /userinfo, /revoke and /jwks. Each `Weakness` check sits where the secure rule is enforced.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine as _;
use serde_json::{Value, json};
use url::Url;

use super::jwt::{Signer, half_hash};
use super::pages;
use super::store::*;
use super::{LabClient, Registry, SCOPES, Weakness, Weaknesses};
use crate::crypto::{ct_eq, is_valid_pkce_value, random_token, s256_challenge};
use crate::target::AuthMethod;

pub const SESSION_COOKIE: &str = "lab_session";

/// Authorization request parameters the lab knows (the `unknown-param-refused` weakness refuses others).
const KNOWN_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "login_hint",
    "max_age",
];

pub struct Lab {
    pub issuer: String,
    pub registry: Registry,
    pub weak: Weaknesses,
    pub signer: Signer,
    code_lifetime: Duration,
    /// The login form is built by a script (to prove the browser login mode).
    pub scripted_login: bool,
    /// Requests that reached the demo app's callback: a scanner must never send one.
    pub callback_hits: Arc<std::sync::atomic::AtomicUsize>,
    store: Mutex<Store>,
    requests_since_sweep: std::sync::atomic::AtomicU32,
}

impl Lab {
    pub fn new(
        issuer: String,
        registry: Registry,
        weak: Weaknesses,
        code_lifetime: Duration,
    ) -> Self {
        Lab {
            issuer,
            registry,
            weak,
            code_lifetime,
            scripted_login: false,
            callback_hits: Default::default(),
            signer: Signer::generate(),
            store: Mutex::new(Store::default()),
            requests_since_sweep: Default::default(),
        }
    }

    fn login_page(&self, request_id: &str, client_id: &str, failed: bool) -> Response {
        let client_name = self.client_name(client_id);
        if self.scripted_login {
            pages::scripted_login(request_id, &client_name, failed)
        } else {
            pages::login(request_id, &client_name, failed)
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        use std::sync::atomic::Ordering;
        if self.requests_since_sweep.fetch_add(1, Ordering::Relaxed) >= 1000 {
            self.requests_since_sweep.store(0, Ordering::Relaxed);
            store.sweep();
        }
        store
    }

    fn client(&self, id: &str) -> Option<&LabClient> {
        self.registry.clients.iter().find(|c| c.id == id)
    }

    fn weak(&self, w: Weakness) -> bool {
        self.weak.has(w)
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    fn metadata(&self) -> Value {
        let mut pkce_methods = vec!["S256"];
        if self.weak(Weakness::PkcePlain) {
            pkce_methods.push("plain");
        }
        let mut doc = json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("/authorize"),
            "token_endpoint": self.endpoint("/token"),
            "userinfo_endpoint": self.endpoint("/userinfo"),
            "revocation_endpoint": self.endpoint("/revoke"),
            "jwks_uri": self.endpoint("/jwks"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": pkce_methods,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["sub", "name", "email", "email_verified", "preferred_username"],
            "authorization_response_iss_parameter_supported": true,
        });
        if self.weak(Weakness::IssNotSupported) || self.weak(Weakness::IssUnadvertised) {
            doc.as_object_mut()
                .map(|o| o.remove("authorization_response_iss_parameter_supported"));
        }
        if self.weak(Weakness::AuthzEndpointFragment) {
            doc["authorization_endpoint"] = json!(format!("{}#lab", self.endpoint("/authorize")));
        }
        if self.weak(Weakness::PkceMetadataMissing) {
            doc.as_object_mut()
                .map(|o| o.remove("code_challenge_methods_supported"));
        }
        if self.weak(Weakness::MetadataIssuerMismatch) {
            doc["issuer"] = json!(self.issuer.replacen("127.0.0.1", "localhost", 1));
        }
        if self.weak(Weakness::OidcMetadataIncomplete) {
            doc.as_object_mut()
                .map(|m| m.remove("subject_types_supported"));
        }
        if self.weak(Weakness::MetadataIncomplete) {
            doc.as_object_mut()
                .map(|m| m.remove("response_types_supported"));
        }
        if self.weak(Weakness::MetadataEmptyArray) {
            doc["acr_values_supported"] = json!([]);
        }
        if self.weak(Weakness::MetadataHttpEndpoint) {
            doc["registration_endpoint"] = json!("http://registration.lab.example/register");
        }
        doc
    }
}

pub fn router(lab: Arc<Lab>, latency: Duration) -> Router {
    let frameable = lab.weak(Weakness::PagesFrameable);
    let cors = lab.weak(Weakness::AuthorizeCors);
    let no_referrer_policy = lab.weak(Weakness::ReferrerPolicyMissing);
    let router = Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/openid-configuration", get(oidc_metadata))
        .route("/jwks", get(jwks))
        .route("/authorize", any(authorize))
        .route("/login", any(login))
        .route("/consent", any(consent))
        .route("/token", any(token))
        .route("/userinfo", any(userinfo))
        .route("/revoke", any(revoke))
        .route("/", get(home))
        .route("/assets/login.js", get(pages::login_script))
        .fallback(not_found)
        .with_state(lab.clone())
        .nest("/app", super::app::router(lab));
    let router = if frameable {
        router.layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| async move {
                let mut resp = next.run(req).await;
                resp.headers_mut().remove(header::X_FRAME_OPTIONS);
                resp.headers_mut().remove(header::CONTENT_SECURITY_POLICY);
                resp
            },
        ))
    } else {
        router
    };
    let router = if no_referrer_policy {
        router.layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| async move {
                let mut resp = next.run(req).await;
                resp.headers_mut().remove(header::REFERRER_POLICY);
                resp
            },
        ))
    } else {
        router
    };
    let router = if cors {
        router.layer(axum::middleware::from_fn(authorize_cors))
    } else {
        router
    };
    if latency.is_zero() {
        router
    } else {
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                tokio::time::sleep(latency).await;
                next.run(req).await
            },
        ))
    }
}

/// Only with the `authorize-cors` weakness: RFC 9700 §2.6 says CORS MUST NOT be supported at
/// the authorization endpoint.
async fn authorize_cors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let is_authorize = req.uri().path() == "/authorize";
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = if is_authorize && preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let (true, Some(origin)) = (is_authorize, origin) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    resp
}

// ---------- request parsing ----------

/// Parameters in the order sent, duplicates kept: RFC 6749 §3.1 forbids repeating one.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(encoded: &str) -> Self {
        Params(
            url::form_urlencoded::parse(encoded.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that is present with an empty value counts as absent (RFC 6749 §3.1).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub fn repeated(&self) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, (k, _))| self.0[..*i].iter().any(|(earlier, _)| earlier == k))
            .map(|(_, (k, _))| k.as_str())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.0.iter().filter(|(k, _)| k == name).count() > 1
    }
}

/// `%XX` escapes decoded to bytes (a `redirect-uri-normalised` flaw, never a secure path).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

// ---------- small handlers ----------

async fn metadata(State(lab): State<Arc<Lab>>) -> Response {
    let mut resp = axum::Json(lab.metadata()).into_response();
    if lab.weak(Weakness::MetadataTextPlain) {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    resp
}

/// The same document as RFC 8414's, unless a weakness makes the two disagree.
async fn oidc_metadata(State(lab): State<Arc<Lab>>) -> Response {
    if lab.weak(Weakness::OidcMetadataIssuerMismatch) {
        let mut doc = lab.metadata();
        doc["issuer"] = json!(format!("{}/oidc", lab.issuer));
        return axum::Json(doc).into_response();
    }
    metadata(State(lab)).await
}

async fn jwks(State(lab): State<Arc<Lab>>) -> Response {
    if lab.weak(Weakness::JwksPrivateKey) {
        return axum::Json(lab.signer.jwks_with_private_key()).into_response();
    }
    if lab.weak(Weakness::JwksSeveralKeysNoKid) {
        return axum::Json(lab.signer.jwks_with_second_key()).into_response();
    }
    axum::Json(lab.signer.jwks()).into_response()
}

async fn home(State(lab): State<Arc<Lab>>) -> Response {
    let weak: Vec<String> = lab
        .weak
        .iter()
        .map(|w| format!("<li><code>{w}</code>: {}</li>", w.description()))
        .collect();
    let weak = if weak.is_empty() {
        "<p>No weakness is switched on: this lab is secure by default.</p>".to_string()
    } else {
        format!("<p>Weaknesses switched on:</p><ul>{}</ul>", weak.concat())
    };
    pages::html(
        StatusCode::OK,
        "oauthprobe lab",
        &format!(
            "<h1>oauthprobe lab</h1><p>An OAuth 2.0 and OpenID Connect authorization server for testing.</p>\
             <p><a href=\"/app\">Open the demo app</a> · <a href=\"/.well-known/openid-configuration\">metadata</a></p>{weak}"
        ),
    )
}

async fn not_found() -> Response {
    pages::error_page(StatusCode::NOT_FOUND, "There is nothing at this address.")
}

// ---------- authorization endpoint ----------

async fn authorize(
    State(lab): State<Arc<Lab>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = match method {
        Method::GET => Params::parse(query.as_deref().unwrap_or("")),
        // OIDC Core §3.1.2.1: the authorization endpoint supports POST with a form body too.
        Method::POST if is_form(&headers) => Params::parse(&String::from_utf8_lossy(&body)),
        Method::POST => {
            return pages::error_page(
                StatusCode::BAD_REQUEST,
                "A POST to the authorization endpoint must be application/x-www-form-urlencoded.",
            );
        }
        _ => return method_not_allowed("GET, POST"),
    };
    let request = match lab.validate_authorization(&params) {
        Ok(r) => r,
        Err(AuthError::Page(message)) => {
            return pages::error_page(StatusCode::BAD_REQUEST, &message);
        }
        Err(AuthError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            let response = lab.authorization_response(
                StatusCode::FOUND,
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                state.as_deref(),
            );
            // `error-location-on-400`: the redirect's Location on a status no browser follows.
            if error == "unsupported_response_type" && lab.weak(Weakness::ErrorLocationOn400) {
                let (mut parts, body) = response.into_parts();
                parts.status = StatusCode::BAD_REQUEST;
                return Response::from_parts(parts, body);
            }
            return response;
        }
    };
    let session = lab.session(&headers);
    // OIDC Core §3.1.2.1: prompt=none shows no page; the lab keeps no consent, so it always
    // answers with an error: login_required without a session, consent_required with one.
    let prompt_none = params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"));
    if prompt_none && !lab.weak(Weakness::PromptNoneIgnored) {
        let (error, description) = match session {
            None => ("login_required", "the user is not signed in"),
            Some(_) => (
                "consent_required",
                "the user has not consented to this client",
            ),
        };
        if lab.weak(Weakness::PromptNoneErrorPage) {
            return pages::error_page(StatusCode::BAD_REQUEST, description);
        }
        return lab.authorization_response(
            StatusCode::FOUND,
            &request.redirect_uri,
            &[("error", error), ("error_description", description)],
            request.state.as_deref(),
        );
    }
    let request_id = random_token(18);
    lab.store()
        .pending
        .insert(request_id.clone(), request.clone());
    match session {
        Some((_, s)) => lab.consent_page(&request_id, &request, &s),
        None => lab.login_page(&request_id, &request.client_id, false),
    }
}

enum AuthError {
    /// The client or redirect_uri cannot be trusted: tell the user, redirect nowhere (RFC 6749 §4.1.2.1).
    Page(String),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl Lab {
    fn client_name(&self, id: &str) -> String {
        self.client(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// RFC 6749 §3.1.2.3: the redirect_uri must be one of those registered, compared as strings.
    fn redirect_uri_allowed(&self, client: &LabClient, uri: &str) -> bool {
        if self.weak(Weakness::RedirectUriAny) {
            return Url::parse(uri).is_ok();
        }
        if self.weak(Weakness::RedirectUriPrefix) {
            return client
                .redirect_uris
                .iter()
                .any(|r| uri.starts_with(r.as_str()));
        }
        client
            .redirect_uris
            .iter()
            .any(|r| r == uri || self.redirect_uri_loosely_matches(r, uri))
    }

    /// The flawed comparisons the redirect-uri weaknesses switch on, one per weakness.
    fn redirect_uri_loosely_matches(&self, registered: &str, uri: &str) -> bool {
        let without_query = |u: &str| {
            let (rest, fragment) = u.split_once('#').map_or((u, None), |(a, f)| (a, Some(f)));
            (
                rest.split('?').next().unwrap_or("").to_string(),
                fragment.map(str::to_string),
            )
        };
        if self.weak(Weakness::RedirectUriQueryIgnored)
            && without_query(uri) == without_query(registered)
        {
            return true;
        }
        if self.weak(Weakness::RedirectUriFragmentIgnored)
            && uri.split('#').next() == Some(registered)
        {
            return true;
        }
        if self.weak(Weakness::RedirectUriCaseInsensitive) && uri.eq_ignore_ascii_case(registered) {
            return true;
        }
        if self.weak(Weakness::RedirectUriNormalised) {
            let normal = |u: &str| Url::parse(&percent_decode(u)).map(|u| u.to_string()).ok();
            if normal(uri).is_some() && normal(uri) == normal(registered) {
                return true;
            }
        }
        let (Ok(r), Ok(u)) = (Url::parse(registered), Url::parse(uri)) else {
            return false;
        };
        let same_rest = r.scheme() == u.scheme()
            && r.port_or_known_default() == u.port_or_known_default()
            && r.path() == u.path()
            && r.query() == u.query()
            && r.fragment() == u.fragment();
        if self.weak(Weakness::RedirectUriHostPrefix) && same_rest {
            let (rh, uh) = (r.host_str().unwrap_or(""), u.host_str().unwrap_or(""));
            if uh.starts_with(&format!("{rh}.")) || uh.ends_with(&format!(".{rh}")) {
                return true;
            }
        }
        if self.weak(Weakness::RedirectUriUserinfo) {
            let origin = format!(
                "{}://{}{}",
                r.scheme(),
                r.host_str().unwrap_or(""),
                r.port().map(|p| format!(":{p}")).unwrap_or_default()
            );
            if uri.starts_with(&origin)
                && r.path() == u.path()
                && r.query() == u.query()
                && r.fragment() == u.fragment()
            {
                return true;
            }
        }
        false
    }

    fn validate_authorization(&self, p: &Params) -> Result<PendingAuthorization, AuthError> {
        for name in ["client_id", "redirect_uri"] {
            if name == "redirect_uri" && self.weak(Weakness::RedirectUriDuplicateLast) {
                continue;
            }
            if p.is_repeated(name) {
                return Err(AuthError::Page(format!(
                    "The parameter `{name}` was sent more than once."
                )));
            }
        }
        let client_id = p
            .non_empty("client_id")
            .ok_or_else(|| AuthError::Page("The request has no client_id.".into()))?;
        let Some(client) = self.client(client_id) else {
            if let Some(uri) = p
                .non_empty("redirect_uri")
                .filter(|_| self.weak(Weakness::UnknownClientRedirects))
            {
                return Err(AuthError::Redirect {
                    redirect_uri: uri.to_string(),
                    state: p.get("state").map(str::to_string),
                    error: "unauthorized_client",
                    description: format!("unknown client `{client_id}`"),
                });
            }
            return Err(AuthError::Page(format!("Unknown client `{client_id}`.")));
        };
        // `redirect-uri-checked-late`: an unregistered redirect_uri is refused only after the
        // other parameters, whose errors go to it.
        let mut unregistered = false;
        let (mut redirect_uri, redirect_uri_sent) = match p.non_empty("redirect_uri") {
            Some(uri) if self.redirect_uri_allowed(client, uri) => (uri.to_string(), true),
            Some(uri) if self.weak(Weakness::RedirectUriCheckedLate) => {
                unregistered = true;
                (uri.to_string(), true)
            }
            Some(_) => {
                return Err(AuthError::Page(
                    "The redirect_uri is not registered for this client.".into(),
                ));
            }
            None if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
            None if self.weak(Weakness::RedirectUriDefaultLast) => (
                client.redirect_uris[client.redirect_uris.len() - 1].clone(),
                false,
            ),
            None => {
                return Err(AuthError::Page(
                    "The request has no redirect_uri, and this client has several registered."
                        .into(),
                ));
            }
        };
        if self.weak(Weakness::RedirectUriDuplicateLast) {
            if let Some((_, last)) = p.0.iter().rev().find(|(k, _)| k == "redirect_uri") {
                redirect_uri = last.clone();
            }
        }
        let state = p.get("state").map(str::to_string);
        let fail = |error: &'static str, description: String| AuthError::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
            description,
        };
        if let Some(name) = p
            .repeated()
            .filter(|_| !self.weak(Weakness::DuplicateParamsAccepted))
        {
            return Err(fail(
                "invalid_request",
                format!("the parameter `{name}` was sent more than once"),
            ));
        }
        if self.weak(Weakness::UnknownParamRefused) {
            if let Some((name, _)) =
                p.0.iter()
                    .find(|(k, _)| !KNOWN_PARAMS.contains(&k.as_str()))
            {
                return Err(fail(
                    "invalid_request",
                    format!("unknown parameter `{name}`"),
                ));
            }
        }
        let mut implicit = false;
        match p.non_empty("response_type") {
            _ if self.weak(Weakness::ResponseTypeUnchecked) => {}
            None => return Err(fail("invalid_request", "response_type is missing".into())),
            Some("code") => {}
            Some("token") if self.weak(Weakness::ImplicitGrant) => implicit = true,
            // RFC 9700 §2.1.2: the implicit grant SHOULD NOT be used; the lab does not offer it.
            Some(other) => {
                return Err(fail(
                    "unsupported_response_type",
                    format!("response_type `{other}` is not supported; use `code`"),
                ));
            }
        }
        if let Some(mode) = p.non_empty("response_mode").filter(|m| *m != "query") {
            return Err(fail(
                "invalid_request",
                format!("response_mode `{mode}` is not supported"),
            ));
        }
        let scopes: Vec<String> = p
            .non_empty("scope")
            .unwrap_or("openid")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(unknown) = scopes
            .iter()
            .find(|s| !SCOPES.contains(&s.as_str()))
            .filter(|_| !self.weak(Weakness::ScopeUnchecked))
        {
            return Err(fail("invalid_scope", format!("unknown scope `{unknown}`")));
        }
        let pkce = match (
            p.non_empty("code_challenge"),
            p.non_empty("code_challenge_method"),
        ) {
            (None, Some(_)) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method without code_challenge".into(),
                ));
            }
            (None, None) if self.weak(Weakness::PkceNotRequired) || implicit => None,
            (None, None)
                if self.weak(Weakness::PkceDowngrade) && client.auth_method != AuthMethod::None =>
            {
                None
            }
            // OAuth 2.1 §4.1.1: PKCE for every client.
            (None, None) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge is required (PKCE)".into(),
                ));
            }
            (Some(challenge), method) => {
                let method = match method {
                    Some("S256") => ChallengeMethod::S256,
                    // RFC 7636 §4.3: an absent method means `plain`.
                    Some("plain") | None if self.weak(Weakness::PkcePlain) => {
                        ChallengeMethod::Plain
                    }
                    Some(m) if m != "plain" && self.weak(Weakness::PkceMethodUnchecked) => {
                        ChallengeMethod::S256
                    }
                    Some(m) => {
                        return Err(fail(
                            "invalid_request",
                            format!("code_challenge_method `{m}` is not supported; use S256"),
                        ));
                    }
                    None => {
                        return Err(fail(
                            "invalid_request",
                            "code_challenge_method is missing (plain is not supported); use S256"
                                .into(),
                        ));
                    }
                };
                if !is_valid_pkce_value(challenge) {
                    return Err(fail(
                        "invalid_request",
                        "code_challenge is malformed".into(),
                    ));
                }
                Some(Pkce {
                    challenge: challenge.to_string(),
                    method,
                })
            }
        };
        if unregistered {
            return Err(AuthError::Page(
                "The redirect_uri is not registered for this client.".into(),
            ));
        }
        Ok(PendingAuthorization {
            client_id: client.id.clone(),
            redirect_uri,
            redirect_uri_sent,
            scopes,
            state,
            nonce: p.get("nonce").map(str::to_string),
            pkce,
            implicit,
            created: Instant::now(),
        })
    }

    /// Sends the browser back to the client with `params`, the state (RFC 6749 §4.1.2)
    /// and the issuer (RFC 9207 §2).
    fn authorization_response(
        &self,
        status: StatusCode,
        redirect_uri: &str,
        params: &[(&str, &str)],
        state: Option<&str>,
    ) -> Response {
        let Ok(mut url) = Url::parse(redirect_uri) else {
            return pages::error_page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri is not a valid URL.",
            );
        };
        let error = params.iter().find(|(k, _)| *k == "error").map(|(_, v)| *v);
        let state = state
            .filter(|_| !self.weak(Weakness::StateDropped))
            .filter(|_| {
                !(error == Some("access_denied") && self.weak(Weakness::StateDroppedOnDenial))
            });
        // `state-unencoded-on-error`: the state is pasted into the Location as received.
        let raw_state =
            state.filter(|_| error.is_some() && self.weak(Weakness::StateUnencodedOnError));
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            if let Some(state) = state.filter(|_| raw_state.is_none()) {
                if self.weak(Weakness::StateTruncated) {
                    q.append_pair("state", &state.chars().take(1024).collect::<String>());
                } else {
                    q.append_pair("state", state);
                }
            }
            let iss = !(self.weak(Weakness::IssNotSupported)
                || (error.is_some() && self.weak(Weakness::IssMissingOnError)));
            if iss && self.weak(Weakness::IssMismatch) {
                q.append_pair("iss", &format!("{}/", self.issuer));
            } else if iss {
                q.append_pair("iss", &self.issuer);
            }
        }
        match raw_state {
            // Its `&`, `=` and `#` now start parameters and a fragment of their own.
            Some(state) => redirect(status, &format!("{}&state={state}", url.as_str())),
            None => redirect(status, url.as_str()),
        }
    }

    /// `implicit-grant`: an access token in the fragment, as RFC 6749 §4.2.2 had it.
    fn implicit_response(&self, request: PendingAuthorization, username: &str) -> Response {
        let access_token = random_token(32);
        let mut store = self.store();
        let grant = store.new_grant(Grant {
            client_id: request.client_id.clone(),
            username: username.to_string(),
            scopes: request.scopes.clone(),
            revoked: false,
            auth_time: now_secs(),
        });
        store.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                grant,
                scopes: request.scopes.clone(),
                expires: Instant::now() + ACCESS_TOKEN_LIFETIME,
                revoked: false,
            },
        );
        let mut fragment = url::form_urlencoded::Serializer::new(String::new());
        fragment
            .append_pair("access_token", &access_token)
            .append_pair("token_type", "Bearer")
            .append_pair("expires_in", &ACCESS_TOKEN_LIFETIME.as_secs().to_string());
        if let Some(state) = &request.state {
            fragment.append_pair("state", state);
        }
        fragment.append_pair("iss", &self.issuer);
        let mut url = match Url::parse(&request.redirect_uri) {
            Ok(u) => u,
            Err(_) => {
                return pages::error_page(
                    StatusCode::BAD_REQUEST,
                    "The redirect_uri is not a valid URL.",
                );
            }
        };
        url.set_fragment(Some(&fragment.finish()));
        redirect(StatusCode::SEE_OTHER, url.as_str())
    }

    fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let session = self.store().sessions.get(&id).cloned()?;
        (session.created.elapsed() < SESSION_LIFETIME).then_some((id, session))
    }

    fn consent_page(
        &self,
        request_id: &str,
        request: &PendingAuthorization,
        session: &Session,
    ) -> Response {
        // The user must see which client asks; the weakness hides it behind a generic label.
        let client = if self.weak(Weakness::ConsentClientUnnamed) {
            "An application".to_string()
        } else {
            format!(
                "{} (client id {})",
                self.client_name(&request.client_id),
                request.client_id
            )
        };
        pages::consent(
            request_id,
            &session.csrf,
            &client,
            &request.scopes,
            &session.username,
        )
    }

    fn pending(&self, request_id: &str) -> Option<PendingAuthorization> {
        let store = self.store();
        let p = store.pending.get(request_id)?;
        (p.created.elapsed() < PENDING_LIFETIME).then(|| p.clone())
    }
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut resp = (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

const EXPIRED: &str =
    "This sign-in request has expired or is unknown. Start again from the application.";

async fn login(
    State(lab): State<Arc<Lab>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return method_not_allowed("POST");
    }
    if !is_form(&headers) {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "The sign-in form must be posted as a form.",
        );
    }
    let p = Params::parse(&String::from_utf8_lossy(&body));
    let request_id = p.get("request_id").unwrap_or_default().to_string();
    let Some(request) = lab.pending(&request_id) else {
        return pages::error_page(StatusCode::BAD_REQUEST, EXPIRED);
    };
    let user = &lab.registry.user;
    let ok = p.get("username") == Some(user.username.as_str())
        && ct_eq(
            p.get("password").unwrap_or_default().as_bytes(),
            user.password.as_bytes(),
        );
    if !ok {
        return lab.login_page(&request_id, &request.client_id, true);
    }
    let session_id = random_token(24);
    lab.store().sessions.insert(
        session_id.clone(),
        Session {
            username: user.username.clone(),
            csrf: random_token(24),
            auth_time: now_secs(),
            created: Instant::now(),
        },
    );
    // RFC 9700 §4.12: 303, so that the browser does not post the password again.
    let status = if lab.weak(Weakness::Login307) {
        StatusCode::TEMPORARY_REDIRECT
    } else {
        StatusCode::SEE_OTHER
    };
    let mut resp = redirect(status, &format!("/consent?request_id={request_id}"));
    let cookie = if lab.weak(Weakness::SessionCookieFlagsMissing) {
        format!("{SESSION_COOKIE}={session_id}; Path=/")
    } else {
        format!("{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax")
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn consent(
    State(lab): State<Arc<Lab>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let session = lab.session(&headers);
    if method == Method::GET {
        let p = Params::parse(query.as_deref().unwrap_or(""));
        let request_id = p.get("request_id").unwrap_or_default();
        let Some(request) = lab.pending(request_id) else {
            return pages::error_page(StatusCode::BAD_REQUEST, EXPIRED);
        };
        return match session {
            Some((_, s)) => lab.consent_page(request_id, &request, &s),
            None => lab.login_page(request_id, &request.client_id, false),
        };
    }
    if method != Method::POST {
        return method_not_allowed("GET, POST");
    }
    if !is_form(&headers) {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "The consent form must be posted as a form.",
        );
    }
    let p = Params::parse(&String::from_utf8_lossy(&body));
    let Some((_, session)) = session else {
        return pages::error_page(StatusCode::FORBIDDEN, "You are not signed in.");
    };
    // The consent decision must come from the lab's own page: a cross-site POST lacks the token.
    let csrf_ok = ct_eq(
        p.get("csrf_token").unwrap_or_default().as_bytes(),
        session.csrf.as_bytes(),
    );
    if !csrf_ok {
        return pages::error_page(
            StatusCode::FORBIDDEN,
            "The consent form's CSRF token is missing or wrong.",
        );
    }
    let request_id = p.get("request_id").unwrap_or_default();
    let Some(request) = lab.store().pending.remove(request_id) else {
        return pages::error_page(StatusCode::BAD_REQUEST, EXPIRED);
    };
    if request.created.elapsed() >= PENDING_LIFETIME {
        return pages::error_page(StatusCode::BAD_REQUEST, EXPIRED);
    }
    let state = request.state.clone();
    if p.get("decision") != Some("approve") {
        if lab.weak(Weakness::DenialJson) {
            let mut body = json!({
                "error": "access_denied",
                "error_description": "the user denied the request",
            });
            if let Some(s) = &state {
                body["state"] = json!(s);
            }
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        return lab.authorization_response(
            StatusCode::SEE_OTHER,
            &request.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
            state.as_deref(),
        );
    }
    if request.implicit {
        return lab.implicit_response(request, &session.username);
    }
    let code = if lab.weak(Weakness::CodeLowEntropy) {
        random_token(6)
    } else {
        random_token(32)
    };
    let redirect_uri = request.redirect_uri.clone();
    lab.store().codes.insert(
        code.clone(),
        CodeGrant {
            request,
            username: session.username.clone(),
            auth_time: session.auth_time,
            issued: Instant::now(),
            redeemed_as: None,
        },
    );
    lab.authorization_response(
        StatusCode::SEE_OTHER,
        &redirect_uri,
        &[("code", &code)],
        state.as_deref(),
    )
}

// ---------- token endpoint ----------

struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// RFC 6749 §5.2: a failed Basic authentication answers 401 with a challenge; HTTP
    /// (RFC 9110 §15.5.2) wants the challenge on every 401, so the lab always sends it then.
    basic_challenge: bool,
    /// A plain-text body instead of the JSON error object (a weakness).
    unstructured: bool,
}

impl TokenError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        TokenError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
            unstructured: false,
        }
    }

    fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        TokenError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            basic_challenge: basic,
            unstructured: false,
        }
    }
}

fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        if self.unstructured {
            return no_store((self.status, format!("{}\n", self.description)).into_response());
        }
        let mut resp = no_store(
            (
                self.status,
                axum::Json(json!({ "error": self.error, "error_description": self.description })),
            )
                .into_response(),
        );
        if self.basic_challenge || self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauthprobe lab\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}

/// Reads the token or revocation request's parameters, enforcing POST and form encoding.
#[allow(clippy::result_large_err)] // the error is the finished response, built once per refused request
fn read_token_request(
    lab: &Lab,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Bytes,
) -> Result<Params, Response> {
    let query = query.unwrap_or("");
    let params = if *method == Method::POST {
        let json = lab
            .weak(Weakness::TokenJsonBody)
            .then(|| serde_json::from_slice::<Value>(body).ok())
            .flatten()
            .and_then(|v| v.as_object().cloned());
        if let Some(object) = json {
            return Ok(Params(
                object
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect(),
            ));
        }
        if !is_form(headers) {
            return Err(TokenError::new(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            )
            .into_response());
        }
        if !query.is_empty() && lab.weak(Weakness::ClientSecretInQuery) {
            let mut params = Params::parse(query);
            params
                .0
                .extend(Params::parse(&String::from_utf8_lossy(body)).0);
            return Ok(params);
        }
        // Credentials or a code in a URL end up in logs; RFC 6749 §2.3.1 keeps them out of it.
        if !query.is_empty() {
            return Err(TokenError::new(
                "invalid_request",
                "parameters in the URL query are not accepted",
            )
            .into_response());
        }
        Params::parse(&String::from_utf8_lossy(body))
    } else if *method == Method::GET && lab.weak(Weakness::TokenGet) {
        Params::parse(query)
    } else {
        // RFC 6749 §3.2: the client MUST use POST at the token endpoint.
        let mut resp = TokenError::new("invalid_request", "the token endpoint accepts POST only")
            .into_response();
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(resp);
    };
    if let Some(name) = params
        .repeated()
        .filter(|_| !lab.weak(Weakness::TokenDuplicateParams))
    {
        return Err(TokenError::new(
            "invalid_request",
            format!("the parameter `{name}` was sent more than once"),
        )
        .into_response());
    }
    Ok(params)
}

fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| ());
    Some(decoded.and_then(|bytes| {
        let text = String::from_utf8(bytes).map_err(|_| ())?;
        let (id, secret) = text.split_once(':').ok_or(())?;
        // RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        Ok((dec(id).ok_or(())?, dec(secret).ok_or(())?))
    }))
}

impl Lab {
    /// RFC 6749 §2.3: the client authenticates with the one method it registered.
    fn authenticate_client(
        &self,
        headers: &HeaderMap,
        p: &Params,
        purpose: AuthPurpose,
    ) -> Result<&LabClient, TokenError> {
        let basic = basic_credentials(headers);
        let used_basic = basic.is_some();
        if used_basic
            && p.get("client_secret").is_some()
            && !self.weak(Weakness::ClientAuthMixedMethods)
        {
            return Err(TokenError::new(
                "invalid_request",
                "more than one client authentication method was used",
            ));
        }
        let (client_id, secret) = match basic {
            Some(Ok((id, secret))) => {
                if p.get("client_id").is_some_and(|body_id| body_id != id) {
                    return Err(TokenError::invalid_client(
                        "client_id in the body differs from the authenticated client",
                        true,
                    ));
                }
                (id, Some(secret))
            }
            Some(Err(())) => {
                return Err(self.basic_failure("malformed Basic credentials"));
            }
            None => match p.non_empty("client_id") {
                Some(id) => (id.to_string(), p.get("client_secret").map(str::to_string)),
                None if purpose == AuthPurpose::Code
                    && self.weak(Weakness::PublicClientIdOptional) =>
                {
                    // The weakness: take the client from the code itself.
                    match self.public_client_of_code(p) {
                        Some(client) => return Ok(client),
                        None => {
                            return Err(TokenError::invalid_client(
                                "no client authentication",
                                false,
                            ));
                        }
                    }
                }
                None => {
                    return Err(TokenError::invalid_client(
                        "no client authentication",
                        false,
                    ));
                }
            },
        };
        let Some(client) = self.client(&client_id) else {
            return Err(self.client_failure(used_basic));
        };
        // A confidential client named by its client_id alone: the weakness lets it act as public.
        let id_only = !used_basic && secret.is_none() && client.secret.is_some();
        if id_only && self.auth_optional_for(purpose) {
            return Ok(client);
        }
        let method_ok = match client.auth_method {
            AuthMethod::ClientSecretBasic => used_basic,
            AuthMethod::ClientSecretPost => !used_basic && secret.is_some(),
            AuthMethod::None => !used_basic && secret.is_none(),
        };
        let secret_ok = match (&client.secret, &secret) {
            (Some(_), Some(_)) if self.weak(Weakness::ClientSecretUnchecked) => true,
            (Some(expected), Some(given)) => ct_eq(expected.as_bytes(), given.as_bytes()),
            (None, None) => true,
            _ => false,
        };
        if !(method_ok && secret_ok) {
            return Err(self.client_failure(used_basic));
        }
        Ok(client)
    }

    fn client_failure(&self, used_basic: bool) -> TokenError {
        if used_basic {
            self.basic_failure("client authentication failed")
        } else {
            TokenError::invalid_client("client authentication failed", false)
        }
    }

    /// RFC 6749 §5.2: a failed Basic authentication MUST get 401 and a WWW-Authenticate challenge.
    fn basic_failure(&self, description: &str) -> TokenError {
        let mut e = TokenError::invalid_client(description, true);
        if self.weak(Weakness::BasicAuthNoChallenge) {
            e.status = StatusCode::BAD_REQUEST;
            e.basic_challenge = false;
        }
        e
    }

    fn public_client_of_code(&self, p: &Params) -> Option<&LabClient> {
        let code = p.non_empty("code")?;
        let client_id = self.store().codes.get(code)?.request.client_id.clone();
        self.client(&client_id)
            .filter(|c| c.auth_method == AuthMethod::None)
    }

    fn auth_optional_for(&self, purpose: AuthPurpose) -> bool {
        match purpose {
            AuthPurpose::Code => self.weak(Weakness::ClientAuthOptional),
            AuthPurpose::Refresh => self.weak(Weakness::RefreshAuthOptional),
            AuthPurpose::Revoke => false,
        }
    }

    fn issue_tokens(
        &self,
        store: &mut Store,
        grant: u64,
        scopes: &[String],
        nonce: Option<&str>,
        auth_time: u64,
    ) -> Value {
        let access_token = random_token(32);
        let refresh_token = random_token(32);
        store.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                grant,
                scopes: scopes.to_vec(),
                expires: Instant::now() + ACCESS_TOKEN_LIFETIME,
                revoked: false,
            },
        );
        store
            .refresh_tokens
            .insert(refresh_token.clone(), RefreshToken { grant, used: false });
        let g = &store.grants[&grant];
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
            "refresh_token": refresh_token,
            "scope": scopes.join(" "),
        });
        if self.weak(Weakness::TokenTypeMissing) {
            body.as_object_mut().map(|m| m.remove("token_type"));
        }
        if scopes.iter().any(|s| s == "openid") {
            let now = now_secs();
            let mut claims = json!({
                "iss": self.issuer, "sub": g.username, "aud": g.client_id, "azp": g.client_id,
                "iat": now, "exp": now + 600, "auth_time": auth_time,
                "at_hash": half_hash(&access_token),
            });
            if let Some(nonce) = nonce.filter(|_| !self.weak(Weakness::NonceDropped)) {
                claims["nonce"] = json!(nonce);
            }
            if self.weak(Weakness::IdTokenWrongIssuer) {
                claims["iss"] = json!(format!("{}/another-issuer", self.issuer));
            }
            if self.weak(Weakness::IdTokenWrongAudience) {
                claims["aud"] = json!("another-client");
                claims["azp"] = json!("another-client");
            }
            if self.weak(Weakness::AuthTimeDropped) {
                claims.as_object_mut().map(|m| m.remove("auth_time"));
            }
            if self.weak(Weakness::IdTokenNoSub) {
                claims.as_object_mut().map(|m| m.remove("sub"));
            }
            if self.weak(Weakness::IdTokenExpired) {
                claims["iat"] = json!(now - 1200);
                claims["exp"] = json!(now - 600);
            }
            let id_token = if self.weak(Weakness::IdTokenAlgNone) {
                super::jwt::unsigned(&claims)
            } else if self.weak(Weakness::IdTokenBadSignature) {
                super::jwt::with_broken_signature(&self.signer.sign(&claims))
            } else if self.weak(Weakness::JwksSeveralKeysNoKid) {
                self.signer.sign_without_kid(&claims)
            } else {
                self.signer.sign(&claims)
            };
            body["id_token"] = json!(id_token);
        }
        body
    }

    /// The stored code a presented one names: compared whole, as it must be.
    fn find_code(&self, store: &Store, presented: &str) -> Option<String> {
        const PREFIX: usize = 16;
        if self.weak(Weakness::CodePrefixMatch) && presented.len() >= PREFIX {
            return store
                .codes
                .keys()
                .find(|k| k.len() >= PREFIX && k[..PREFIX] == presented[..PREFIX])
                .cloned();
        }
        store
            .codes
            .contains_key(presented)
            .then(|| presented.to_string())
    }

    /// Whether a code is known and not yet redeemed (the racy pre-check of `code-race`).
    fn code_unused(&self, presented: &str) -> bool {
        let store = self.store();
        self.find_code(&store, presented)
            .and_then(|k| store.codes.get(&k))
            .is_some_and(|c| c.redeemed_as.is_none())
    }

    /// `skip_replay_check` stands for a redemption whose "used" check ran earlier, unlocked.
    fn redeem_code(
        &self,
        client: &LabClient,
        p: &Params,
        skip_replay_check: bool,
    ) -> Result<Value, TokenError> {
        let presented = p
            .non_empty("code")
            .ok_or_else(|| TokenError::new("invalid_request", "code is missing"))?;
        let mut store = self.store();
        let invalid = |d: &str| TokenError::new("invalid_grant", d.to_string());
        let Some(code) = self.find_code(&store, presented) else {
            let mut e = invalid("the code is unknown or expired");
            e.unstructured = self.weak(Weakness::TokenErrorUnstructured);
            return Err(e);
        };
        let code = code.as_str();
        let grant = store.codes[code].clone();
        if grant.issued.elapsed() >= self.code_lifetime && !self.weak(Weakness::CodeNeverExpires) {
            return Err(invalid("the code has expired"));
        }
        // RFC 6749 §4.1.3: the code was issued to this client.
        let unbound = self.weak(Weakness::CodeClientUnbound)
            || (client.auth_method == AuthMethod::None
                && self.weak(Weakness::PublicClientCodeUnbound));
        if grant.request.client_id != client.id && !unbound {
            return Err(invalid("the code was issued to another client"));
        }
        let r = &grant.request;
        match p.get("redirect_uri") {
            _ if self.weak(Weakness::RedirectUriTokenUnchecked) => {}
            Some(uri) if uri == r.redirect_uri => {}
            Some(uri)
                if self.weak(Weakness::RedirectUriTokenAnyRegistered)
                    && client.redirect_uris.iter().any(|u| u == uri) => {}
            Some(uri)
                if self.weak(Weakness::RedirectUriTokenQueryIgnored)
                    && uri.split('?').next() == r.redirect_uri.split('?').next() => {}
            None if !r.redirect_uri_sent || self.weak(Weakness::RedirectUriTokenOptional) => {}
            None => {
                return Err(invalid(
                    "redirect_uri is required: the authorization request had one",
                ));
            }
            Some(_) => {
                return Err(invalid(
                    "redirect_uri differs from the authorization request's",
                ));
            }
        }
        match (&r.pkce, p.get("code_verifier")) {
            (None, None) => {}
            // RFC 9700 §2.1.1: a verifier without a challenge in the authorization request is refused.
            (None, Some(_)) if self.weak(Weakness::PkceDowngrade) => {}
            (None, Some(_)) => {
                return Err(invalid(
                    "code_verifier sent, but the authorization request had no code_challenge",
                ));
            }
            (Some(_), None) if self.weak(Weakness::PkceOptional) => {}
            (Some(_), None)
                if client.auth_method == AuthMethod::None
                    && self.weak(Weakness::PkceOptionalPublic) => {}
            (Some(_), None) => return Err(invalid("code_verifier is required")),
            (Some(pkce), Some(verifier)) => {
                if !is_valid_pkce_value(verifier) {
                    return Err(TokenError::new(
                        "invalid_grant",
                        "code_verifier is malformed (RFC 7636 §4.1)",
                    ));
                }
                let any_challenge = self.weak(Weakness::PkceVerifierAnyChallenge) && {
                    let derived = s256_challenge(verifier);
                    store.codes.values().any(|c| {
                        c.redeemed_as.is_none()
                            && c.request
                                .pkce
                                .as_ref()
                                .is_some_and(|p| p.challenge == derived)
                    })
                };
                let ok = self.weak(Weakness::PkceVerifierUnchecked)
                    || any_challenge
                    || match pkce.method {
                        ChallengeMethod::S256 => {
                            s256_challenge(verifier) == pkce.challenge
                                || (self.weak(Weakness::PkcePlain) && verifier == pkce.challenge)
                        }
                        ChallengeMethod::Plain => verifier == pkce.challenge,
                    };
                if !ok {
                    return Err(invalid("code_verifier does not match the code_challenge"));
                }
            }
        }
        if let Some(previous) = grant.redeemed_as.filter(|_| !skip_replay_check) {
            if !self.weak(Weakness::CodeReuse) {
                // RFC 6749 §4.1.2: a replayed code SHOULD revoke what it issued.
                store.revoke_grant(previous);
                return Err(invalid("the code has already been used"));
            }
        }
        let id = store.new_grant(Grant {
            client_id: client.id.clone(),
            username: grant.username.clone(),
            scopes: r.scopes.clone(),
            auth_time: grant.auth_time,
            revoked: false,
        });
        if let Some(c) = store.codes.get_mut(code) {
            c.redeemed_as.get_or_insert(id);
        }
        Ok(self.issue_tokens(
            &mut store,
            id,
            &r.scopes,
            r.nonce.as_deref(),
            grant.auth_time,
        ))
    }

    /// Only with the `password-grant` weakness: RFC 9700 §2.4 says this grant MUST NOT be used.
    fn password_grant(&self, client: &LabClient, p: &Params) -> Result<Value, TokenError> {
        let user = &self.registry.user;
        let ok = p.get("username") == Some(user.username.as_str())
            && ct_eq(
                p.get("password").unwrap_or_default().as_bytes(),
                user.password.as_bytes(),
            );
        if !ok {
            return Err(TokenError::new(
                "invalid_grant",
                "wrong username or password",
            ));
        }
        let scopes: Vec<String> = p
            .non_empty("scope")
            .unwrap_or("openid")
            .split(' ')
            .filter(|s| SCOPES.contains(s))
            .map(str::to_string)
            .collect();
        let mut store = self.store();
        let id = store.new_grant(Grant {
            client_id: client.id.clone(),
            username: user.username.clone(),
            scopes: scopes.clone(),
            auth_time: now_secs(),
            revoked: false,
        });
        Ok(self.issue_tokens(&mut store, id, &scopes, None, now_secs()))
    }

    fn refresh(&self, client: &LabClient, p: &Params) -> Result<Value, TokenError> {
        let token = p
            .non_empty("refresh_token")
            .ok_or_else(|| TokenError::new("invalid_request", "refresh_token is missing"))?;
        let mut store = self.store();
        let invalid = |d: &str| TokenError::new("invalid_grant", d.to_string());
        let Some(rt) = store.refresh_tokens.get(token).cloned() else {
            return Err(invalid("the refresh token is unknown"));
        };
        let Some(grant) = store.grants.get(&rt.grant).cloned() else {
            return Err(invalid("the refresh token is unknown"));
        };
        if grant.client_id != client.id && !self.weak(Weakness::RefreshNotBoundToClient) {
            return Err(invalid("the refresh token was issued to another client"));
        }
        if grant.revoked {
            return Err(invalid("the refresh token has been revoked"));
        }
        if rt.used {
            // RFC 9700 §4.14.2: a rotated refresh token used again means theft; end the whole family.
            if !self.weak(Weakness::RefreshReplayUndetected) {
                store.revoke_grant(rt.grant);
            }
            return Err(invalid(
                "the refresh token was already used; its grant is revoked",
            ));
        }
        let scopes: Vec<String> = match p.non_empty("scope") {
            None => grant.scopes.clone(),
            Some(s) => {
                let asked: Vec<String> = s
                    .split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect();
                // RFC 6749 §6: the scope MUST NOT include any scope not originally granted.
                let widening_allowed = self.weak(Weakness::RefreshScopeWidening);
                if let Some(extra) = asked
                    .iter()
                    .find(|x| !grant.scopes.contains(x) && !widening_allowed)
                {
                    return Err(TokenError::new(
                        "invalid_scope",
                        format!("scope `{extra}` was not granted"),
                    ));
                }
                asked
            }
        };
        if let Some(old) = store
            .refresh_tokens
            .get_mut(token)
            .filter(|_| !self.weak(Weakness::RefreshNoRotation))
        {
            old.used = true;
        }
        let auth_time = if self.weak(Weakness::RefreshIdTokenNewAuthTime) {
            now_secs().max(grant.auth_time + 1)
        } else {
            grant.auth_time
        };
        Ok(self.issue_tokens(&mut store, rt.grant, &scopes, None, auth_time))
    }
}

async fn token(
    State(lab): State<Arc<Lab>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let p = match read_token_request(&lab, &method, &headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    // `code-race`: "is it used?" is asked first, and the code marked used only after a pause.
    let racy = lab.weak(Weakness::CodeRace)
        && p.get("grant_type") == Some("authorization_code")
        && p.non_empty("code").is_some_and(|c| lab.code_unused(c));
    if racy {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = (|| {
        let grant_type = p
            .non_empty("grant_type")
            .ok_or_else(|| TokenError::new("invalid_request", "grant_type is missing"))?;
        if lab.weak(Weakness::TokenUnknownParamRefused) {
            if let Some(unknown) = p.names().find(|n| !TOKEN_PARAMS.contains(n)) {
                return Err(TokenError::new(
                    "invalid_request",
                    format!("unknown parameter `{unknown}`"),
                ));
            }
        }
        let purpose = match grant_type {
            "refresh_token" => AuthPurpose::Refresh,
            _ => AuthPurpose::Code,
        };
        let client = lab.authenticate_client(&headers, &p, purpose)?;
        match grant_type {
            "authorization_code" => lab.redeem_code(client, &p, racy),
            "refresh_token" => lab.refresh(client, &p),
            "password" if lab.weak(Weakness::PasswordGrant) => lab.password_grant(client, &p),
            // RFC 9700 §2.4: the password grant MUST NOT be used.
            other => Err(TokenError::new(
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            )),
        }
    })();
    let grant_type = p.get("grant_type").unwrap_or_default();
    let cacheable = match grant_type {
        "authorization_code" => lab.weak(Weakness::TokenCacheable),
        "refresh_token" => lab.weak(Weakness::RefreshCacheable),
        _ => false,
    };
    match result {
        Ok(body) if cacheable => axum::Json(body).into_response(),
        Ok(body) => no_store(axum::Json(body).into_response()),
        Err(e) => e.into_response(),
    }
}

/// Which token-endpoint operation a client authenticates for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthPurpose {
    Code,
    Refresh,
    Revoke,
}

/// Every parameter the lab's token and revocation endpoints understand.
const TOKEN_PARAMS: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
    "username",
    "password",
    "token",
    "token_type_hint",
];

// ---------- userinfo and revocation ----------

fn bearer_error(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let challenge = match error {
        Some(e) => format!(
            "Bearer realm=\"oauthprobe lab\", error=\"{e}\", error_description=\"{description}\""
        ),
        None => "Bearer realm=\"oauthprobe lab\"".to_string(),
    };
    let body = match error {
        Some(e) => json!({ "error": e, "error_description": description }),
        None => json!({ "error": "invalid_request", "error_description": description }),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

async fn userinfo(
    State(lab): State<Arc<Lab>>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    let no_challenge = lab.weak(Weakness::UserinfoNoChallenge);
    let mut resp = userinfo_answer(lab, method, headers, query);
    if no_challenge {
        resp.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    resp
}

fn userinfo_answer(
    lab: Arc<Lab>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if method == Method::POST && lab.weak(Weakness::UserinfoGetOnly) {
        return method_not_allowed("GET");
    }
    if method != Method::GET && method != Method::POST {
        return method_not_allowed("GET, POST");
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let in_query = Params::parse(query.as_deref().unwrap_or(""))
        .non_empty("access_token")
        .filter(|_| lab.weak(Weakness::UserinfoQueryToken))
        .map(str::to_string);
    let token = match auth.and_then(|v| v.split_once(' ')) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_string(),
        _ if in_query.is_some() => in_query.unwrap_or_default(),
        _ => {
            // RFC 6750 §2.3: tokens in URLs leak into logs and referrers; the lab does not take them.
            if Params::parse(query.as_deref().unwrap_or(""))
                .get("access_token")
                .is_some()
            {
                return bearer_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalid_request"),
                    "access tokens in the query string are not accepted",
                );
            }
            if lab.weak(Weakness::UserinfoOpen) {
                return no_store(
                    axum::Json(json!({ "sub": lab.registry.user.username })).into_response(),
                );
            }
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                None,
                "a Bearer access token is required",
            );
        }
    };
    let store = lab.store();
    let is_live =
        |t: &&AccessToken| !t.revoked && t.expires > Instant::now() && store.grant_live(t.grant);
    let mut live = store.access_tokens.get(&token).filter(is_live).cloned();
    if live.is_none() && lab.weak(Weakness::UserinfoTokenPrefixMatch) && token.len() > 1 {
        let prefix = &token[..token.len() - 1];
        live = store
            .access_tokens
            .iter()
            .filter(|(k, _)| k.len() == token.len() && k.starts_with(prefix))
            .map(|(_, t)| t)
            .find(is_live)
            .cloned();
    }
    let Some(at) = live else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "the access token is invalid, expired or revoked",
        );
    };
    let user = &lab.registry.user;
    let mut body = json!({ "sub": store.grants[&at.grant].username });
    if lab.weak(Weakness::UserinfoSubMismatch) {
        body["sub"] = json!("someone-else");
    }
    if at.scopes.iter().any(|s| s == "profile") {
        body["name"] = json!(user.name);
        body["preferred_username"] = json!(user.username);
    }
    if at.scopes.iter().any(|s| s == "email") {
        body["email"] = json!(user.email);
        body["email_verified"] = json!(true);
    }
    no_store(axum::Json(body).into_response())
}

async fn revoke(
    State(lab): State<Arc<Lab>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return method_not_allowed("POST");
    }
    let p = match read_token_request(&lab, &method, &headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let client = match lab.authenticate_client(&headers, &p, AuthPurpose::Revoke) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(token) = p.non_empty("token") else {
        return TokenError::new("invalid_request", "token is missing").into_response();
    };
    if lab.weak(Weakness::RevocationIgnored) {
        return StatusCode::OK.into_response();
    }
    let mut store = lab.store();
    let owned_by = |store: &Store, grant: u64| {
        store
            .grants
            .get(&grant)
            .is_some_and(|g| g.client_id == client.id)
    };
    if let Some(rt) = store.refresh_tokens.get(token).cloned() {
        // RFC 7009 §2.1: revoking a refresh token SHOULD also end the access tokens of its grant.
        if owned_by(&store, rt.grant) {
            store.revoke_grant(rt.grant);
        }
    } else if let Some(at) = store.access_tokens.get(token).cloned() {
        if owned_by(&store, at.grant) && !lab.weak(Weakness::AccessTokenRevocationIgnored) {
            if let Some(at) = store.access_tokens.get_mut(token) {
                at.revoked = true;
            }
        }
    }
    // RFC 7009 §2.2: 200 whether or not the token was valid.
    StatusCode::OK.into_response()
}
