//! The lab's HTML pages, with the headers every page carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}\
h1{font-size:1.4rem}form{display:grid;gap:.6rem}input{padding:.4rem;font-size:1rem}\
button,a.button{padding:.5rem 1rem;font-size:1rem;cursor:pointer}.error{color:#b00020}\
.muted{color:#57606a;font-size:.9rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}";

/// An HTML page that refuses framing (clickjacking), leaks no referrer and is never cached.
pub fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    );
    let mut resp = (status, page).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "frame-ancestors 'none'; default-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Shown to the user, never redirected: the request cannot be trusted to go back anywhere.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        "Authorization error",
        &format!(
            "<h1>Authorization error</h1><p id=\"error\" class=\"error\">{}</p>",
            escape(message)
        ),
    )
}

pub fn login(request_id: &str, client_name: &str, failed: bool) -> Response {
    let error = if failed {
        "<p id=\"login-error\" class=\"error\">Wrong username or password.</p>"
    } else {
        ""
    };
    html(
        if failed {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        "Sign in - oauthprobe lab",
        &format!(
            "<h1>Sign in</h1><p class=\"muted\">to continue to <strong>{client}</strong></p>{error}\
             <form id=\"login-form\" method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
             <label for=\"username\">Username</label>\
             <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button id=\"login\" type=\"submit\">Sign in</button></form>",
            client = escape(client_name),
            rid = escape(request_id),
        ),
    )
}

/// The same sign-in as [`login`], but the page holds only data: `/assets/login.js` builds the
/// form a moment after load, as single-page login apps do. A client that reads HTML finds no form.
pub fn scripted_login(request_id: &str, client_name: &str, failed: bool) -> Response {
    html(
        if failed {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        "Sign in - oauthprobe lab",
        &format!(
            "<h1>Sign in</h1><p class=\"muted\">to continue to <strong>{client}</strong></p>\
             <div id=\"login-app\" data-request-id=\"{rid}\" data-failed=\"{failed}\">Loading…</div>\
             <script src=\"/assets/login.js\"></script>",
            client = escape(client_name),
            rid = escape(request_id),
        ),
    )
}

const LOGIN_SCRIPT: &str = r#"'use strict';
function field(form, label, attrs) {
  const l = document.createElement('label');
  l.textContent = label;
  l.htmlFor = attrs.id;
  const input = document.createElement('input');
  for (const [k, v] of Object.entries(attrs)) input.setAttribute(k, v);
  form.append(l, input);
}
function build() {
  const app = document.getElementById('login-app');
  const form = document.createElement('form');
  form.id = 'login-form';
  form.method = 'post';
  form.action = '/login';
  const rid = document.createElement('input');
  rid.type = 'hidden';
  rid.name = 'request_id';
  rid.value = app.dataset.requestId;
  form.append(rid);
  field(form, 'Username', { id: 'username', name: 'username', type: 'text', autocomplete: 'username', required: '' });
  field(form, 'Password', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: '' });
  const button = document.createElement('button');
  button.id = 'login';
  button.type = 'submit';
  button.textContent = 'Sign in';
  form.append(button);
  app.replaceChildren(form);
  if (app.dataset.failed === 'true') {
    const p = document.createElement('p');
    p.id = 'login-error';
    p.className = 'error';
    p.textContent = 'Wrong username or password.';
    app.prepend(p);
  }
}
window.addEventListener('load', () => setTimeout(build, 150));
"#;

pub async fn login_script() -> Response {
    let mut resp = LOGIN_SCRIPT.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    resp
}

pub fn consent(
    request_id: &str,
    csrf: &str,
    client_name: &str,
    scopes: &[String],
    username: &str,
) -> Response {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    html(
        StatusCode::OK,
        "Authorize access - oauthprobe lab",
        &format!(
            "<h1>Authorize access</h1>\
             <p id=\"consent-client\"><strong>{client}</strong> wants to access your account.</p>\
             <p class=\"muted\">Signed in as {user}.</p>\
             <p>It asks for these scopes:</p><ul id=\"consent-scopes\">{items}</ul>\
             <form id=\"consent-form\" method=\"post\" action=\"/consent\">\
             <input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <button id=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
             <button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            client = escape(client_name),
            user = escape(username),
            rid = escape(request_id),
            csrf = escape(csrf),
        ),
    )
}
