//! Token endpoint requests with the client's registered authentication method.

use serde_json::Value;
use url::Url;

use crate::http::{HttpError, HttpSession, Method, Request};
use crate::target::{AuthMethod, Client};

/// A token endpoint's answer, with the facts a verdict rests on.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub status: u16,
    pub json: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl TokenResponse {
    /// Tokens were issued: a 200 *and* a non-empty access_token, never the status alone.
    pub fn issued(&self) -> bool {
        self.status == 200 && self.access_token().is_some()
    }

    pub fn access_token(&self) -> Option<&str> {
        self.field("access_token")
    }

    pub fn refresh_token(&self) -> Option<&str> {
        self.field("refresh_token")
    }

    pub fn error(&self) -> Option<&str> {
        self.field("error")
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.json
            .as_ref()?
            .get(name)?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// "HTTP 400 invalid_grant" or "HTTP 200 with an access_token".
    pub fn describe(&self) -> String {
        if self.issued() {
            return "HTTP 200 with an access_token".to_string();
        }
        match self.error() {
            Some(e) => format!("HTTP {} {e}", self.status),
            None => format!("HTTP {}", self.status),
        }
    }
}

/// The form parameters plus the client's authentication, as the client registered it.
pub fn authenticated(client: &Client, url: Url, mut form: Vec<(String, String)>) -> Request {
    match client.auth_method {
        AuthMethod::ClientSecretBasic => {
            let req = Request::post_form(url, form);
            match &client.secret {
                Some(secret) => req.basic_auth(&client.id, secret),
                None => req,
            }
        }
        AuthMethod::ClientSecretPost => {
            form.push(("client_id".into(), client.id.clone()));
            if let Some(secret) = &client.secret {
                form.push(("client_secret".into(), secret.expose().to_string()));
            }
            Request::post_form(url, form)
        }
        AuthMethod::None => {
            form.push(("client_id".into(), client.id.clone()));
            Request::post_form(url, form)
        }
    }
}

pub async fn send(
    http: &HttpSession,
    step: &str,
    req: Request,
) -> Result<TokenResponse, HttpError> {
    // The token and revocation endpoints hear from the client's server, never the browser.
    let resp = http.send(step, req.back_channel()).await?;
    let json = resp.json();
    if let Some(j) = &json {
        // Whatever the server issued is a secret from now on, in every output.
        for key in ["access_token", "refresh_token", "id_token"] {
            if let Some(v) = j.get(key).and_then(Value::as_str) {
                http.redactor().add(v);
            }
        }
    }
    Ok(TokenResponse {
        status: resp.status,
        json,
        headers: resp.headers,
    })
}

/// The same token request as a GET with everything in the query (a probe, never a normal flow).
pub fn as_get(req: Request) -> Request {
    let mut url = req.url.clone();
    if let Some(crate::http::Body::Form(pairs)) = &req.body {
        url.query_pairs_mut()
            .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    let mut get = Request::new(Method::GET, url);
    get.headers = req
        .headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .collect();
    get
}

/// The same token request with its form parameters as a JSON object (a probe, never a normal flow).
pub fn as_json(req: Request) -> Request {
    let Some(crate::http::Body::Form(pairs)) = &req.body else {
        return req;
    };
    let object: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut json = Request::post_json(req.url.clone(), Value::Object(object));
    json.headers = req
        .headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .collect();
    json
}

/// The form parameters with only `client_id` added: no secret, as a public client sends them.
pub fn client_id_only(client: &Client, url: Url, mut form: Vec<(String, String)>) -> Request {
    form.push(("client_id".into(), client.id.clone()));
    Request::post_form(url, form)
}

impl TokenResponse {
    /// The `Cache-Control` directives, lower-cased.
    pub fn cache_directives(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cache-control"))
            .flat_map(|(_, v)| v.split(','))
            .map(|d| d.trim().to_ascii_lowercase())
            .collect()
    }

    /// RFC 6749 §5.1: `Cache-Control: no-store` on any response carrying tokens.
    pub fn is_no_store(&self) -> bool {
        self.cache_directives().iter().any(|d| d == "no-store")
    }

    /// The granted scope, when the response names one.
    pub fn scopes(&self) -> Option<Vec<&str>> {
        self.field("scope")
            .map(|s| s.split(' ').filter(|x| !x.is_empty()).collect())
    }
}
