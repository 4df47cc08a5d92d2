//! What every fixture of the login corpus needs: a loopback server, cookie sessions, codes.
//! Fixtures reproduce a real server's pages and redirects; this module holds none of that.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;
use url::Url;

/// Serves `router` on 127.0.0.1 at a free port; the task ends with the test's runtime.
pub async fn serve(router: Router) -> (Url, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (
        Url::parse(&format!("http://{addr}/")).expect("base url"),
        task,
    )
}

/// A random URL-safe token (session ids, CSRF tokens, codes).
pub fn token() -> String {
    oauthprobe::crypto::random_token(16)
}

/// HTML-escapes text for an element or a double-quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query component (form encoding, as servers write their `next` links).
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn html(body: String) -> Response {
    html_status(StatusCode::OK, body)
}

pub fn html_status(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A redirect with the given status (302, 303 ...) to `location`, absolute or relative.
pub fn redirect_with(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

pub fn redirect(location: &str) -> Response {
    redirect_with(StatusCode::FOUND, location)
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The authorization response: the redirect_uri with `code` (or `error`) and the state.
pub fn to_client(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = Url::parse(redirect_uri).expect("fixture redirect_uri");
    url.query_pairs_mut()
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()));
    redirect(url.as_str())
}

/// Server-side sessions keyed by a cookie value, each a bag of strings.
#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, HashMap<String, String>>>>,
}

impl Sessions {
    /// The session named by cookie `name`, if the server knows it.
    pub fn get(
        &self,
        headers: &HeaderMap,
        name: &str,
    ) -> Option<(String, HashMap<String, String>)> {
        let id = cookie(headers, name)?;
        let map = self.inner.lock().unwrap().get(&id).cloned()?;
        Some((id, map))
    }

    /// A new, empty session; its id goes into the cookie.
    pub fn create(&self) -> String {
        let id = token();
        self.inner
            .lock()
            .unwrap()
            .insert(id.clone(), HashMap::new());
        id
    }

    pub fn set(&self, id: &str, key: &str, value: &str) {
        if let Some(s) = self.inner.lock().unwrap().get_mut(id) {
            s.insert(key.to_string(), value.to_string());
        }
    }

    pub fn remove(&self, id: &str, key: &str) -> Option<String> {
        self.inner.lock().unwrap().get_mut(id)?.remove(key)
    }

    /// Ends a session (a server that rotates its session id on sign-in).
    pub fn drop_session(&self, id: &str) {
        self.inner.lock().unwrap().remove(id);
    }
}

/// Counts what a fixture saw, for assertions that the scanner did what a browser does.
#[derive(Clone, Default)]
pub struct Tally {
    inner: Arc<Mutex<HashMap<&'static str, usize>>>,
}

impl Tally {
    pub fn hit(&self, what: &'static str) {
        *self.inner.lock().unwrap().entry(what).or_default() += 1;
    }

    pub fn count(&self, what: &str) -> usize {
        self.inner.lock().unwrap().get(what).copied().unwrap_or(0)
    }
}
