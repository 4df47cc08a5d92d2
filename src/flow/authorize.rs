//! Authorization requests, and the user agent that carries them through the server's login
//! and consent pages. It follows redirects only within the target's origins and stops at the
//! redirect back to the client: it reads the Location header and never requests the redirect_uri.

use std::collections::HashMap;

use url::Url;

use super::forms::{self, Interstitial, PageKind};
use crate::crypto::{pkce_pair, random_token};
use crate::http::{HttpError, HttpSession, Request};
use crate::target::{Client, Login};

/// The parameters of one authorization request, in the order sent.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
    /// The PKCE verifier matching `code_challenge`, when one was made.
    pub verifier: Option<String>,
}

impl AuthRequest {
    /// What a careful client sends: code flow, state, a nonce for `openid`, and PKCE S256.
    pub fn for_client(client: &Client) -> Self {
        let (verifier, challenge) = pkce_pair();
        let mut params = vec![
            ("response_type".to_string(), "code".to_string()),
            ("client_id".to_string(), client.id.clone()),
            ("redirect_uri".to_string(), client.redirect_uri.clone()),
            ("scope".to_string(), client.scope.clone()),
            ("state".to_string(), random_token(16)),
        ];
        if client.scope.split(' ').any(|s| s == "openid") {
            params.push(("nonce".to_string(), random_token(16)));
        }
        params.push(("code_challenge".to_string(), challenge));
        params.push(("code_challenge_method".to_string(), "S256".to_string()));
        AuthRequest {
            params,
            verifier: Some(verifier),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(mut self, name: &str, value: &str) -> Self {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.params.push((name.to_string(), value.to_string())),
        }
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        if name == "code_challenge" {
            self.verifier = None;
        }
        self
    }

    /// Drops PKCE entirely (challenge, method and verifier).
    pub fn without_pkce(self) -> Self {
        self.remove("code_challenge")
            .remove("code_challenge_method")
    }

    pub fn redirect_uri(&self) -> Option<&str> {
        self.get("redirect_uri")
    }

    pub fn url(&self, endpoint: &Url) -> Url {
        let mut url = endpoint.clone();
        url.query_pairs_mut()
            .extend_pairs(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        url
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Approve,
    Deny,
}

/// Where an authorization request ended.
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// The server sent the browser away: to the client's redirect_uri or anywhere off its origins.
    Redirect {
        location: Url,
        params: HashMap<String, String>,
    },
    /// The server showed a page of its own and went no further.
    Page {
        /// `None` when the page was reported by a login command, the browser or the user.
        status: Option<u16>,
        url: Url,
        title: Option<String>,
        /// What the page held, when the scanner read it itself.
        page: Option<Box<forms::Page>>,
    },
}

impl AuthOutcome {
    /// The browser sent to `location`, with the response parameters it carries.
    pub fn redirect_to(location: Url) -> Self {
        AuthOutcome::Redirect {
            params: response_params(&location),
            location,
        }
    }

    /// The response posted to `action` by a form (response_mode=form_post).
    pub fn posted_to(action: Url, fields: &[(String, String)]) -> Self {
        let mut params = response_params(&action);
        for (k, v) in fields {
            params.insert(k.clone(), v.clone());
        }
        AuthOutcome::Redirect {
            location: action,
            params,
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        match self {
            AuthOutcome::Redirect { params, .. } => params.get(name).map(String::as_str),
            AuthOutcome::Page { .. } => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.param("code").filter(|c| !c.is_empty())
    }

    pub fn describe(&self) -> String {
        match self {
            AuthOutcome::Redirect { location, params } => {
                let keys = ["code", "error", "state", "iss"];
                let present: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| params.contains_key(*k))
                    .collect();
                let error = params
                    .get("error")
                    .map(|e| format!(" error={e}"))
                    .unwrap_or_default();
                format!(
                    "redirected to {}{} ({}{error})",
                    location.origin().ascii_serialization(),
                    location.path(),
                    if present.is_empty() {
                        "no OAuth parameters".to_string()
                    } else {
                        present.join(", ")
                    }
                )
            }
            AuthOutcome::Page {
                status, url, title, ..
            } => format!(
                "showed its own page ({}at {}{}{})",
                status.map(|s| format!("HTTP {s} ")).unwrap_or_default(),
                url.origin().ascii_serialization(),
                url.path(),
                title
                    .as_deref()
                    .map(|t| format!(", \"{t}\""))
                    .unwrap_or_default()
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("login failed at {url} (HTTP {status}{title}): {why} [the page held: {page}]")]
    Login {
        url: String,
        status: u16,
        title: String,
        why: String,
        /// The page's forms, their field names and buttons.
        page: String,
    },
    #[error("the authorization flow went around in circles: more than {0} steps")]
    TooManySteps(usize),
    /// The login command, the browser or the user at the terminal could not complete a step.
    #[error("{via}: {why}")]
    Delegated { via: &'static str, why: String },
}

const MAX_STEPS: usize = 24;

/// The parameters of a redirect: its query, then its fragment (for a server that answers there).
pub(crate) fn response_params(url: &Url) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    if let Some(fragment) = url.fragment() {
        for (k, v) in url::form_urlencoded::parse(fragment.as_bytes()) {
            out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    for (k, v) in url.query_pairs() {
        out.insert(k.into_owned(), v.into_owned());
    }
    out
}

/// The URL without its query and fragment: what identifies a redirect_uri's endpoint.
pub(crate) fn base(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Whether `url` is `redirect` or under it, however it is spelled: the comparison the scanner
/// makes before it requests anything, so that it never requests a redirect_uri. Scheme, host
/// and port as the URL parser normalises them (case, default port, IPv4 forms, IDNA), a trailing
/// dot off the host; the path percent-decoded (every escape: a server may decode `%2F` too),
/// backslashes as slashes, runs of slashes as one, ASCII case folded; then `url`'s path starts
/// with `redirect`'s. Query, fragment and user info are ignored. It errs towards "yes": a URL
/// taken for the redirect_uri is read, not requested.
pub fn is_at_or_under(url: &Url, redirect: &Url) -> bool {
    let host = |u: &Url| {
        u.host_str()
            .map(|h| h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase())
    };
    url.scheme() == redirect.scheme()
        && host(url) == host(redirect)
        && url.port_or_known_default() == redirect.port_or_known_default()
        && normalised_path(url.path()).starts_with(&normalised_path(redirect.path()))
}

/// A path as [`is_at_or_under`] compares it.
fn normalised_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |k: usize| bytes.get(k).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8_lossy(&decoded).to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c == '\\' { '/' } else { c };
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// A Location the user agent must not follow: the authorization response on its way to the
/// client, or anywhere off the target's origins.
///
/// The response is a redirect to the client's redirect URI (the registered one, the one this
/// request named, or a rewritten variant on the server's origin) carrying `code` or `error`. A
/// redirect back to the authorization endpoint, or to any URL that still carries the request
/// (`response_type`, `client_id`), is the flow going on: Django, Flask-Login, Spring Security and
/// Devise send the browser back there after sign-in, `state` and all. Public for the fuzz tests.
#[doc(hidden)]
pub fn leaves_the_server(
    http: &HttpSession,
    location: &Url,
    request: &AuthRequest,
    registered: &Url,
    endpoint: &Url,
) -> bool {
    if !http.is_allowed(location) {
        return true;
    }
    let ours = request.redirect_uri().and_then(|r| Url::parse(r).ok());
    if is_at_or_under(location, registered) || ours.is_some_and(|o| is_at_or_under(location, &o)) {
        return true;
    }
    let params = response_params(location);
    if base(location) == base(endpoint)
        || location
            .query_pairs()
            .any(|(k, _)| k == "response_type" || k == "client_id")
    {
        return false;
    }
    // A normalised or rewritten redirect_uri on the server's own origin still carries the
    // response: a code, or an error with the request's state. Spring's `/login?error` (empty)
    // and an error page of the server's own are the flow going on.
    let filled = |k: &str| params.get(k).is_some_and(|v| !v.is_empty());
    filled("code")
        || (filled("error")
            && request
                .get("state")
                .is_none_or(|sent| params.get("state").map(String::as_str) == Some(sent)))
}

/// What a login has sent so far: it tells a username-first login from a refused password.
/// Public for the fuzz tests.
#[doc(hidden)]
#[derive(Default)]
pub struct LoginProgress {
    pub(crate) sent_password: bool,
    sent_username: bool,
}

impl LoginProgress {
    /// The fields to fill on this login form (name, value), or why the login cannot go on.
    pub fn fills<'a>(
        &mut self,
        form: &'a forms::LoginForm,
        login: &'a Login,
    ) -> Result<Vec<(&'a str, &'a str)>, &'static str> {
        let mut fills = Vec::new();
        if let Some(password_field) = form.password_field.as_deref() {
            if self.sent_password {
                return Err(
                    "the server showed the sign-in form again after the password was sent: it refused the username or password (or did not keep its session cookie).",
                );
            }
            fills.push((password_field, login.password.expose()));
            self.sent_password = true;
        }
        match form.username_field.as_deref() {
            Some(user_field) => fills.push((user_field, login.username.as_str())),
            None if form.password_field.is_none() => {
                return Err(
                    "the login form has no username or password field the scanner recognises; set [login] username_field / password_field",
                );
            }
            None => {}
        }
        if form.password_field.is_none() {
            if self.sent_username {
                return Err(if self.sent_password {
                    "the server asked for the username again after the password was sent: it refused the username or password."
                } else {
                    "the server asked for the username again after it was sent: it refused the username (or did not keep its session cookie)."
                });
            }
            self.sent_username = true;
        }
        Ok(fills)
    }
}

pub struct UserAgent<'a> {
    pub http: &'a HttpSession,
    pub login: &'a Login,
    /// Where each step is written as it happens (`oauthprobe login`), redacted.
    pub trace: Option<&'a Trace>,
}

/// The steps of one walk through the server's pages, redacted, in order.
#[derive(Default)]
pub struct Trace {
    lines: std::sync::Mutex<Vec<String>>,
}

impl Trace {
    pub fn push(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Scopes of the request, which a consent page's checkboxes are ticked for.
fn requested_scopes(request: &AuthRequest) -> Vec<&str> {
    request
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

impl UserAgent<'_> {
    fn note(&self, line: impl FnOnce() -> String) {
        if let Some(trace) = self.trace {
            trace.push(line());
        }
    }

    /// Sends the authorization request and plays the user: signs in, answers consent, passes
    /// interstitials, and stops where the server sends the browser away or shows a page it
    /// cannot get past.
    pub async fn authorize(
        &self,
        step: &str,
        endpoint: &Url,
        request: &AuthRequest,
        registered: &Url,
        consent: Consent,
    ) -> Result<AuthOutcome, FlowError> {
        let _one_flow_per_jar = self.http.navigation_lock().await;
        let redactor = self.http.redactor();
        let mut next = Request::get(request.url(endpoint));
        let mut progress = LoginProgress::default();
        for _ in 0..MAX_STEPS {
            let url = next.url.clone();
            let method = next.method.clone();
            let resp = self.http.send(step, next).await?;
            if resp.is_redirect() {
                let Some(location) = resp.location() else {
                    self.note(|| {
                        format!(
                            "{method} {} -> HTTP {} without a Location",
                            redactor.redact_url(&url),
                            resp.status
                        )
                    });
                    return Ok(AuthOutcome::Page {
                        status: Some(resp.status),
                        url,
                        title: None,
                        page: None,
                    });
                };
                let leaves = leaves_the_server(self.http, &location, request, registered, endpoint);
                self.note(|| {
                    format!(
                        "{method} {} -> HTTP {} to {}{}",
                        redactor.redact_url(&url),
                        resp.status,
                        redactor.redact_url(&location),
                        if leaves {
                            " (the authorization response: not followed)"
                        } else {
                            ""
                        }
                    )
                });
                if leaves {
                    return Ok(AuthOutcome::redirect_to(location));
                }
                next = Request::get(location);
                continue;
            }
            let html = resp.text();
            let page = forms::read_page(&html, &self.login.hints);
            self.note(|| {
                format!(
                    "{method} {} -> HTTP {}: {} page{}; {}",
                    redactor.redact_url(&url),
                    resp.status,
                    page_kind_name(&page.kind),
                    page.title
                        .as_deref()
                        .map(|t| format!(" {:?}", redactor.redact(t)))
                        .unwrap_or_default(),
                    page.describe_forms()
                )
            });
            let stopped_here = |page: forms::Page| AuthOutcome::Page {
                status: Some(resp.status),
                url: url.clone(),
                title: page.title.clone(),
                page: Some(Box::new(page)),
            };
            let login_error = |why: String, page: &forms::Page| FlowError::Login {
                url: redactor.redact_url(&url),
                status: resp.status,
                title: page
                    .title
                    .as_deref()
                    .map(|t| format!(", \"{t}\""))
                    .unwrap_or_default(),
                why,
                page: page.describe_forms(),
            };
            match &page.kind {
                PageKind::Login(form) => {
                    let fills = progress
                        .fills(form, self.login)
                        .map_err(|why| login_error(refused_sign_in(why, &page), &page))?;
                    let button = form.form.buttons.first();
                    self.note(|| {
                        format!(
                            "  fill {}; press {}",
                            fills.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                            button.map_or("nothing (submit)".to_string(), |b| format!(
                                "{:?}",
                                b.label
                            ))
                        )
                    });
                    next = self
                        .submit(&form.form, &url, &fills, button)
                        .map_err(|why| login_error(why, &page))?;
                }
                PageKind::Consent(consent_form) => {
                    let approve_link = consent_form
                        .approve_link
                        .as_deref()
                        .filter(|_| consent == Consent::Approve)
                        .and_then(|href| url.join(href).ok());
                    if let Some(to) = approve_link {
                        if leaves_the_server(self.http, &to, request, registered, endpoint) {
                            return Ok(AuthOutcome::redirect_to(to));
                        }
                        self.note(|| {
                            format!(
                                "  follow the approving link to {}",
                                redactor.redact_url(&to)
                            )
                        });
                        next = Request::get(to);
                        continue;
                    }
                    let choice = match consent {
                        Consent::Approve => Some((
                            consent_form
                                .form
                                .ticked_for_consent(&requested_scopes(request)),
                            consent_form.approve.clone(),
                        )),
                        Consent::Deny => consent_form.deny.clone(),
                    };
                    let Some((form, button)) = choice else {
                        if let Some(to) = consent_form
                            .deny_link
                            .as_deref()
                            .filter(|_| consent == Consent::Deny)
                            .and_then(|href| url.join(href).ok())
                            .filter(|to| self.http.is_allowed(to))
                        {
                            self.note(|| {
                                format!("  follow the refusal link to {}", redactor.redact_url(&to))
                            });
                            next = Request::get(to);
                            continue;
                        }
                        self.note(|| "  no button refuses consent here: stop".to_string());
                        return Ok(stopped_here(page));
                    };
                    self.note(|| format!("  press {:?}", button.label));
                    next = self
                        .submit(&form, &url, &[], Some(&button))
                        .map_err(|why| login_error(why, &page))?;
                }
                PageKind::Interstitial(way_on) => {
                    let to = match way_on {
                        Interstitial::Refresh(raw) | Interstitial::Link(raw) => {
                            match url.join(raw) {
                                Ok(to) => to,
                                Err(_) => return Ok(stopped_here(page)),
                            }
                        }
                        Interstitial::Press(form, button) => {
                            self.note(|| format!("  press {:?}", button.label));
                            next = self
                                .submit(form, &url, &[], Some(button))
                                .map_err(|why| login_error(why, &page))?;
                            continue;
                        }
                        Interstitial::AutoSubmit(form) => {
                            let (_, action) = form.target(&url, None).map_err(|e| {
                                login_error(format!("the form's action is not a URL: {e}"), &page)
                            })?;
                            if leaves_the_server(self.http, &action, request, registered, endpoint)
                            {
                                // response_mode=form_post, or a broker posting the response on.
                                self.note(|| {
                                    format!(
                                        "  a script posts the page's form to {}: the authorization response (not sent)",
                                        redactor.redact_url(&action)
                                    )
                                });
                                return Ok(AuthOutcome::posted_to(
                                    action,
                                    &form.submission(&[], None),
                                ));
                            }
                            self.note(|| {
                                "  a script submits this form on load: submit it".to_string()
                            });
                            next = self
                                .submit(form, &url, &[], None)
                                .map_err(|why| login_error(why, &page))?;
                            continue;
                        }
                    };
                    if leaves_the_server(self.http, &to, request, registered, endpoint) {
                        self.note(|| {
                            format!(
                                "  the page sends the browser to {}: the authorization response (not followed)",
                                redactor.redact_url(&to)
                            )
                        });
                        return Ok(AuthOutcome::redirect_to(to));
                    }
                    self.note(|| format!("  go on to {}", redactor.redact_url(&to)));
                    next = Request::get(to);
                }
                PageKind::Other if progress.sent_password && page.says_sign_in_failed => {
                    return Err(login_error(
                        refused_sign_in(
                            "after the password was sent, the server showed a page saying the sign-in failed: it refused the username or password.",
                            &page,
                        ),
                        &page,
                    ));
                }
                PageKind::Other => return Ok(stopped_here(page)),
            }
        }
        Err(FlowError::TooManySteps(MAX_STEPS))
    }

    fn submit(
        &self,
        form: &forms::HtmlForm,
        page: &Url,
        fills: &[(&str, &str)],
        button: Option<&forms::Button>,
    ) -> Result<Request, String> {
        form_request(self.http, form, page, fills, button)
    }
}

/// The request a browser sends when `button` (or nothing) is pressed on `form` of the page at
/// `page`, with `fills` typed in; an error when the form's target is not a URL or lies outside
/// the target's origins. Public for the fuzz tests.
#[doc(hidden)]
pub fn form_request(
    http: &HttpSession,
    form: &forms::HtmlForm,
    page: &Url,
    fills: &[(&str, &str)],
    button: Option<&forms::Button>,
) -> Result<Request, String> {
    let (method, action) = form
        .target(page, button)
        .map_err(|e| format!("the form's action is not a URL: {e}"))?;
    if !http.is_allowed(&action) {
        return Err(format!(
            "the form posts to {}, outside the target's origins; add it to [login] origins if it belongs to the server",
            action.origin().ascii_serialization()
        ));
    }
    let pairs = form.submission(fills, button);
    Ok(if method == "POST" {
        Request::post_form(action, pairs)
    } else {
        let mut url = action;
        url.set_fragment(None);
        url.query_pairs_mut()
            .clear()
            .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if pairs.is_empty() {
            url.set_query(None);
        }
        Request::get(url)
    })
}

fn page_kind_name(kind: &PageKind) -> &'static str {
    match kind {
        PageKind::Login(f) if f.password_field.is_some() => "sign-in",
        PageKind::Login(_) => "sign-in (username first)",
        PageKind::Consent(_) => "consent",
        PageKind::Interstitial(Interstitial::Refresh(_)) => "interstitial (meta refresh)",
        PageKind::Interstitial(Interstitial::AutoSubmit(_)) => "interstitial (auto-submitted form)",
        PageKind::Interstitial(Interstitial::Link(_)) => "interstitial (a link on)",
        PageKind::Interstitial(Interstitial::Press(..)) => "interstitial (a step to skip)",
        PageKind::Other => "unrecognised",
    }
}

/// Why the login cannot go on, with the page's own words when it shows any.
fn refused_sign_in(why: &str, page: &forms::Page) -> String {
    let mut out = match &page.message {
        Some(message) => format!("{why} The page says: {message:?}"),
        None => why.to_string(),
    };
    if page.forms.iter().any(|f| f.scripted) {
        out.push_str(
            " Its form runs a script when submitted, which the form login does not run: if the password is right, the page needs [login] mode = \"browser\".",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_uri_is_recognised_in_any_spelling() {
        let cb = Url::parse("https://app.example/oauthprobe/callback").unwrap();
        let under = |u: &str| is_at_or_under(&Url::parse(u).unwrap(), &cb);
        for same in [
            "https://app.example/oauthprobe/callback",
            "https://app.example/oauthprobe/%63allback",
            "https://app.example/oauthprobe/%63%61llback?x=1#y",
            "HTTPS://APP.EXAMPLE:443/OAuthProbe/Callback",
            "https://app.example./oauthprobe/callback",
            "https://user:pw@app.example/oauthprobe/callback",
            "https://app.example//oauthprobe///callback",
            "https://app.example/oauthprobe%2Fcallback",
            "https://app.example/oauthprobe%5ccallback",
            "https://app.example/oauthprobe\\callback",
            "https://app.example/x/../oauthprobe/./callback",
            "https://app.example/oauthprobe/%2e/callback",
            "https://app.example/oauthprobe/callback/more",
            "https://app.example/oauthprobe/callback;jsessionid=1",
        ] {
            assert!(under(same), "{same}");
        }
        for other in [
            "https://app.example/oauthprobe/",
            "https://app.example/oauthprobe/calback",
            "http://app.example/oauthprobe/callback",
            "https://app.example:8443/oauthprobe/callback",
            "https://other.example/oauthprobe/callback",
            "https://app.example/oauthprobe/%6",
            "https://app.example/?r=/oauthprobe/callback",
        ] {
            assert!(!under(other), "{other}");
        }
        let ip = Url::parse("http://127.0.0.1:8080/cb").unwrap();
        assert!(is_at_or_under(
            &Url::parse("http://127.1:8080/%63b").unwrap(),
            &ip
        ));
        // Odd bytes never panic: a lone %, invalid UTF-8 once decoded, non-ASCII.
        assert!(!is_at_or_under(
            &Url::parse("http://127.0.0.1:8080/%ff%fe%/é%").unwrap(),
            &ip
        ));
    }

    #[test]
    fn response_params_read_query_then_fragment() {
        let u = Url::parse("https://c.example/cb?code=a&state=s#error=x&code=b").unwrap();
        let p = response_params(&u);
        assert_eq!(p["code"], "a");
        assert_eq!(p["error"], "x");
    }
}
