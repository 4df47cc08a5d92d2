//! Browser-facing hardening of the server's own pages: framing and CORS.

use url::Url;

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::{Consent, is_at_or_under, response_params};
use crate::flow::forms::{self, PageKind};
use crate::http::{HttpSession, Method, Request, Response};
use crate::target::LoginMode;

const MAX_HOPS: usize = 8;

/// Where a browser ends up after the server's own redirects.
pub enum Landing {
    /// A page the server shows.
    Page(Url, Response),
    /// A redirect to the client (or anywhere off the server's origins): never followed.
    Away(Url),
}

/// Follows the server's own redirects from the authorization request until it shows a page
/// or sends the browser away.
pub async fn land(
    http: &HttpSession,
    step: &str,
    start: Url,
    redirect_uri: &str,
) -> Result<Landing, ProbeError> {
    let redirect = Url::parse(redirect_uri).ok();
    let mut url = start;
    for _ in 0..MAX_HOPS {
        let resp = http.send(step, Request::get(url.clone())).await?;
        if !resp.is_redirect() {
            return Ok(Landing::Page(url, resp));
        }
        let Some(next) = resp.location() else {
            return Ok(Landing::Page(url, resp));
        };
        // Never follow the browser to the client (the redirect_uri in any spelling) or off the
        // server's origins; a redirect that carries an authorization response, in its query or
        // its fragment, is the client's too, whatever its path.
        let params = response_params(&next);
        let carries_response = params.contains_key("code") || params.contains_key("error");
        let to_client = redirect.as_ref().is_none_or(|r| is_at_or_under(&next, r));
        if to_client || carries_response || !http.is_allowed(&next) {
            return Ok(Landing::Away(next));
        }
        url = next;
    }
    Err(ProbeError::Unexpected(format!(
        "more than {MAX_HOPS} redirects before the server showed a page"
    )))
}

async fn first_page(
    http: &HttpSession,
    step: &str,
    start: Url,
    redirect_uri: &str,
) -> Result<Option<(Url, Response)>, ProbeError> {
    Ok(match land(http, step, start, redirect_uri).await? {
        Landing::Page(url, resp) => Some((url, resp)),
        Landing::Away(_) => None,
    })
}

/// How a page defends against being framed, if it does.
enum Framing {
    /// CSP frame-ancestors (with or without X-Frame-Options).
    Csp(String),
    /// X-Frame-Options only.
    XFrameOptions(String),
    /// No header, but a frame-busting script.
    ScriptOnly,
    None,
}

fn framing(resp: &Response) -> Framing {
    let ancestors = resp
        .header_all("content-security-policy")
        .into_iter()
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .find(|d| d.to_ascii_lowercase().starts_with("frame-ancestors"))
        .map(str::to_string);
    if let Some(d) = ancestors {
        let sources: Vec<&str> = d.split_whitespace().skip(1).collect();
        // A wildcard or a bare scheme lets any site frame the page.
        let open = sources
            .iter()
            .any(|s| *s == "*" || s.ends_with(':') || s.starts_with("*."));
        if !sources.is_empty() && !open {
            return Framing::Csp(d);
        }
    }
    if let Some(xfo) = resp.header("x-frame-options") {
        let v = xfo.trim().to_ascii_lowercase();
        if v == "deny" || v == "sameorigin" {
            return Framing::XFrameOptions(xfo.to_string());
        }
    }
    let html = resp.text();
    if html.contains("top.location") || html.contains("window.top") || html.contains("self !== top")
    {
        return Framing::ScriptOnly;
    }
    Framing::None
}

/// The pages a user sees in the flow: the login page a browser without a session is shown,
/// then the consent page the signed-in test user is shown (when the server asks at all).
async fn flow_pages(cx: &Cx) -> Result<Vec<(&'static str, Url, Response)>, ProbeError> {
    let client = cx.client();
    let hints = &cx.target.login.hints;
    let mut pages = Vec::new();

    // The login page, as a browser without a session sees it.
    let stranger = cx.http.with_fresh_jar();
    let request = cx.request_for(client);
    let login = first_page(
        &stranger,
        "open the authorization request in a browser without a session",
        request.url(cx.authorization_endpoint()),
        &client.redirect_uri,
    )
    .await?;
    // Outside form mode the user has said the scanner cannot read the login page (it is built
    // by script, or lives behind SSO): the page a stranger is shown is the sign-in page.
    let reads_forms = *cx.navigator.mode() == LoginMode::Form;
    match login {
        Some((url, resp)) if matches!(forms::classify(&resp.text(), hints), PageKind::Login(_)) => {
            pages.push(("login page", url, resp))
        }
        Some((url, resp)) if !reads_forms && (200..300).contains(&resp.status) => {
            pages.push(("sign-in page", url, resp))
        }
        Some((url, resp)) => {
            return Err(ProbeError::Unexpected(format!(
                "without a session, the authorization request ended on a page that is not a login form (HTTP {} at {})",
                resp.status,
                url.path()
            )));
        }
        None => {
            return Err(ProbeError::Unexpected(
                "without a session, the server redirected away instead of showing a login page"
                    .into(),
            ));
        }
    }

    // The consent page, as the signed-in test user sees it (when the server asks at all). A
    // server that remembers consent is asked again with prompt=consent (OpenID Connect Core
    // §3.1.2.1) when the scope makes the request an OpenID Connect one.
    let mut requests = vec![("", cx.request_for(client))];
    if client.scope.split(' ').any(|s| s == "openid") {
        requests.push((
            ", with prompt=consent",
            cx.request_for(client).set("prompt", "consent"),
        ));
    }
    for (how, request) in requests {
        let _one_flow_per_jar = cx.http.navigation_lock().await;
        if let Some((url, resp)) = first_page(
            &cx.http,
            &format!("open the authorization request as the signed-in user{how}"),
            request.url(cx.authorization_endpoint()),
            &client.redirect_uri,
        )
        .await?
        {
            if matches!(forms::classify(&resp.text(), hints), PageKind::Consent(_)) {
                pages.push(("consent page", url, resp));
                break;
            }
        }
    }
    Ok(pages)
}

/// RFC 9700 §4.16: "Authorization servers MUST prevent clickjacking attacks."
pub async fn anti_framing(cx: &Cx) -> ProbeResult {
    let pages = flow_pages(cx).await?;
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    for (name, url, resp) in &pages {
        match framing(resp) {
            Framing::Csp(d) => notes.push(format!("{name}: {d}")),
            Framing::XFrameOptions(x) => warnings.push(format!(
                "{name}: X-Frame-Options {x} but no CSP frame-ancestors (RFC 9700 §4.16: SHOULD use CSP)"
            )),
            Framing::ScriptOnly => warnings.push(format!(
                "{name}: no X-Frame-Options or CSP frame-ancestors, only a frame-busting script"
            )),
            Framing::None => failures.push(format!(
                "the {name} (HTTP {} at {}) has neither X-Frame-Options DENY/SAMEORIGIN nor a restrictive CSP frame-ancestors",
                resp.status,
                url.path()
            )),
        }
    }
    if pages.len() == 1 {
        notes.push("no consent page was shown to the signed-in user".into());
    }
    Ok(if !failures.is_empty() {
        Outcome::not_met(failures.join("; "))
    } else if !warnings.is_empty() {
        // Each page warned of lacks CSP frame-ancestors.
        Outcome::not_met_of(&["RFC 9700 §4.16 SHOULD"], warnings.join("; "))
    } else {
        Outcome::pass(notes.join("; "))
    })
}

/// RFC 9700 §2.6: "CORS MUST NOT be supported at the Authorization Endpoint".
pub async fn authorization_no_cors(cx: &Cx) -> ProbeResult {
    const ORIGIN: &str = "https://cors-probe.oauthprobe.invalid";
    let stranger = cx.http.with_fresh_jar();
    let url = cx.request_for(cx.client()).url(cx.authorization_endpoint());
    let preflight = Request::new(Method::OPTIONS, url.clone())
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET");
    let get = Request::get(url).header("origin", ORIGIN);
    let mut allowed = Vec::new();
    for (step, req) in [
        (
            "CORS preflight to the authorization endpoint from a foreign origin",
            preflight,
        ),
        ("authorization request with a foreign Origin header", get),
    ] {
        let method = req.method.clone();
        let resp = stranger.send(step, req).await?;
        if let Some(acao) = resp.header("access-control-allow-origin") {
            let acao = acao.trim();
            if acao == "*" || acao.eq_ignore_ascii_case(ORIGIN) {
                allowed.push(format!(
                    "{method} answered HTTP {} with Access-Control-Allow-Origin: {acao}",
                    resp.status
                ));
            }
        }
    }
    if !allowed.is_empty() {
        return Ok(Outcome::not_met(format!(
            "the authorization endpoint grants a foreign origin CORS access: {}",
            allowed.join("; ")
        )));
    }
    Ok(Outcome::pass(
        "neither the preflight nor the request got an Access-Control-Allow-Origin for a foreign origin",
    ))
}

/// Referrer policies that never send a path or query to another origin.
const STRICT_REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
];

/// The referrer policy tokens a browser recognises (W3C Referrer Policy §3).
const KNOWN_REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

/// "Parse a referrer policy from a Referrer-Policy header": the last recognised token wins.
fn last_known_policy(value: &str) -> Option<String> {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| KNOWN_REFERRER_POLICIES.contains(&t.as_str()))
}

/// The page's effective referrer policy, from the header or a `<meta name="referrer">`: the
/// last policy the browser recognises wins.
fn referrer_policy(resp: &Response) -> Option<String> {
    let from_header = resp
        .header_all("referrer-policy")
        .into_iter()
        .filter_map(last_known_policy)
        .next_back();
    from_header.or_else(|| meta_referrer(&resp.text()))
}

/// The policy of the last `<meta name="referrer">` whose content a browser recognises (HTML
/// §4.2.5.2, legacy values mapped). Attributes are read quoted or unquoted, walking characters,
/// never byte offsets into server text: the page may hold any character, or U+FFFD for bytes
/// that were not UTF-8.
fn meta_referrer(html: &str) -> Option<String> {
    let mut policy = None;
    let mut rest = html;
    while let Some(at) = find_ascii_ci(rest, "<meta") {
        rest = &rest[at + "<meta".len()..];
        if rest
            .chars()
            .next()
            .is_some_and(|c| !(c.is_ascii_whitespace() || c == '/' || c == '>'))
        {
            continue; // `<metadata>` and the like
        }
        let (attrs, after) = tag_attributes(rest);
        rest = after;
        let attr = |name: &str| {
            attrs
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if !attr("name").is_some_and(|n| n.eq_ignore_ascii_case("referrer")) {
            continue;
        }
        let value = attr("content").unwrap_or_default().to_ascii_lowercase();
        let value = match value.trim() {
            "never" => "no-referrer",
            "default" => "strict-origin-when-cross-origin",
            "always" => "unsafe-url",
            "origin-when-crossorigin" => "origin-when-cross-origin",
            other => other,
        };
        if let Some(p) = last_known_policy(value) {
            policy = Some(p);
        }
    }
    policy
}

/// Where `needle` (ASCII) first occurs in `haystack`, ASCII case ignored: always a char boundary.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.char_indices().map(|(i, _)| i).find(|&i| {
        haystack
            .get(i..i + needle.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(needle))
    })
}

/// The attributes of a tag whose name has just been read, up to its unquoted `>`, and the text
/// after it. Quoted values may hold `>`; a tag cut short by the end of the page ends there.
fn tag_attributes(text: &str) -> (Vec<(String, String)>, &str) {
    let mut attrs = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars
            .next_if(|&(_, c)| c.is_ascii_whitespace() || c == '/')
            .is_some()
        {}
        let Some(&(_, c)) = chars.peek() else {
            return (attrs, "");
        };
        if c == '>' {
            chars.next();
            let end = chars.peek().map_or(text.len(), |&(i, _)| i);
            return (attrs, &text[end..]);
        }
        let mut name = String::new();
        while let Some((_, c)) =
            chars.next_if(|&(_, c)| !(c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/')))
        {
            name.push(c);
        }
        while chars.next_if(|&(_, c)| c.is_ascii_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|&(_, c)| c == '=').is_some() {
            while chars.next_if(|&(_, c)| c.is_ascii_whitespace()).is_some() {}
            match chars.next_if(|&(_, c)| c == '"' || c == '\'') {
                Some((_, quote)) => {
                    for (_, c) in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                        value.push(c);
                    }
                }
                None => {
                    while let Some((_, c)) =
                        chars.next_if(|&(_, c)| !(c.is_ascii_whitespace() || c == '>'))
                    {
                        value.push(c);
                    }
                }
            }
        }
        attrs.push((name, value));
    }
}

/// RFC 9700 §4.2.4: "Suppress the Referer header by applying an appropriate Referrer Policy".
pub async fn referrer_policy_strict(cx: &Cx) -> ProbeResult {
    let pages = flow_pages(cx).await?;
    let mut weak = Vec::new();
    let mut notes = Vec::new();
    for (name, url, resp) in &pages {
        match referrer_policy(resp) {
            Some(p) if STRICT_REFERRER_POLICIES.contains(&p.as_str()) => {
                notes.push(format!("{name}: {p}"))
            }
            Some(p) => weak.push(format!(
                "the {name} (at {}) sets Referrer-Policy {p}, which sends the full URL to other origins",
                url.path()
            )),
            None => weak.push(format!(
                "the {name} (at {}) sets no Referrer-Policy header or referrer meta tag",
                url.path()
            )),
        }
    }
    Ok(if weak.is_empty() {
        Outcome::pass(notes.join("; "))
    } else {
        Outcome::not_met(format!(
            "{} (RFC 9700 §4.2.4 suggests an appropriate Referrer Policy, such as no-referrer)",
            weak.join("; ")
        ))
    })
}

/// One Set-Cookie header, as the browser reads its attributes.
struct SetCookie {
    name: String,
    http_only: bool,
    same_site: Option<String>,
    secure: bool,
    /// Sent to delete the cookie (an expiry in the past): nothing to protect.
    deletes: bool,
}

fn parse_set_cookie(value: &str) -> SetCookie {
    let mut parts = value.split(';');
    let name = parts
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(n, _)| n.trim().to_string())
        .unwrap_or_default();
    let mut cookie = SetCookie {
        name,
        http_only: false,
        same_site: None,
        secure: false,
        deletes: false,
    };
    for attr in parts {
        let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
        let (key, val) = (key.trim().to_ascii_lowercase(), val.trim());
        match key.as_str() {
            "httponly" => cookie.http_only = true,
            "secure" => cookie.secure = true,
            "samesite" => cookie.same_site = Some(val.to_string()),
            "max-age" => cookie.deletes |= val.parse::<i64>().is_ok_and(|s| s <= 0),
            "expires" => cookie.deletes |= val.contains("1970"),
            _ => {}
        }
    }
    cookie
}

/// Cookies carry the user's session: HttpOnly keeps them from scripts, SameSite from
/// cross-site requests, Secure from plain http (a best practice; no OAuth keyword).
pub async fn session_cookie_flags(cx: &Cx) -> ProbeResult {
    if *cx.navigator.mode() != LoginMode::Form {
        return Ok(Outcome::skip(
            "the sign-in is not done by the scanner's form login, so it does not see the Set-Cookie headers of the sign-in; run with a form login to check them",
        ));
    }
    let client = cx.client();
    let browser = cx.http.with_fresh_jar();
    let request = cx.request_for(client);
    let outcome = cx
        .navigator
        .authorize(
            &browser,
            "sign in and approve, from a browser without a session",
            cx.authorization_endpoint(),
            &request,
            &client.redirect_url,
            Consent::Approve,
        )
        .await?;
    if let Some(code) = outcome.code() {
        cx.http.redactor().add(code);
    }
    let https = cx.authorization_endpoint().scheme() == "https";
    let mut seen = Vec::new();
    let mut weak = Vec::new();
    for exchange in browser.transcript() {
        let Some(resp) = &exchange.response else {
            continue;
        };
        let on_server =
            url::Url::parse(&exchange.request.url).is_ok_and(|u| browser.is_allowed(&u));
        if !on_server {
            continue;
        }
        for (_, value) in resp
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        {
            let c = parse_set_cookie(value);
            if c.deletes || c.name.is_empty() || seen.contains(&c.name) {
                continue;
            }
            let mut missing = Vec::new();
            if !c.http_only {
                missing.push("HttpOnly".to_string());
            }
            match c
                .same_site
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("lax") | Some("strict") => {}
                Some("none") => missing.push("SameSite Lax or Strict (it is None)".into()),
                _ => missing.push("SameSite".into()),
            }
            if https && !c.secure {
                missing.push("Secure".into());
            }
            if !missing.is_empty() {
                weak.push(format!("cookie `{}` lacks {}", c.name, missing.join(", ")));
            }
            seen.push(c.name);
        }
    }
    if seen.is_empty() {
        return Err(ProbeError::Unexpected(format!(
            "the sign-in set no cookie the scanner could see (the server {})",
            outcome.describe()
        )));
    }
    Ok(if weak.is_empty() {
        Outcome::pass(format!(
            "every cookie set during the sign-in has HttpOnly and SameSite{}: {}",
            if https { " and Secure" } else { "" },
            seen.join(", ")
        ))
    } else {
        Outcome::best_practice_not_met(weak.join("; "))
    })
}

/// The text a user can read on a page (see [`crate::flow::html::visible_text`]).
fn visible_text(html: &str) -> String {
    let (doc, _) = crate::flow::html::parse(html);
    crate::flow::html::visible_text(&doc, usize::MAX)
}

/// RFC 6749 §10.12: no authorization "without the awareness and explicit consent of the
/// resource owner"; a consent page that does not say which client asks informs no one.
pub async fn consent_names_client(cx: &Cx) -> ProbeResult {
    let pages = flow_pages(cx).await?;
    let Some((_, url, resp)) = pages.iter().find(|(name, _, _)| *name == "consent page") else {
        return Ok(Outcome::skip(
            "the signed-in test user was shown no consent page (the server remembers consent or does not ask, even for prompt=consent when the scope has openid), so there is no page to read",
        ));
    };
    let id = &cx.client().id;
    // What the user sees: a client id in a hidden input or a script informs no one.
    if visible_text(&resp.text()).contains(id.as_str()) {
        return Ok(Outcome::pass(format!(
            "the consent page (at {}) shows the client id `{id}`",
            url.path()
        )));
    }
    Ok(Outcome::best_practice_not_met(format!(
        "the consent page (HTTP {} at {}) does not show the client id `{id}`; the user cannot tell which client asks, unless the page names it another way the scanner cannot check",
        resp.status,
        url.path()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_leaves_out_hidden_inputs_and_scripts() {
        let html = r#"<html><head><title>t</title><script>var c = "id-in-script";</script></head>
            <body><p>Client <b>Nice App</b> asks</p><input type="hidden" name="client_id" value="id-hidden">
            <input type="text" value="id-shown" readonly><script>x("id-in-body-script")</script></body></html>"#;
        let text = visible_text(html);
        assert!(
            text.contains("Nice App") && text.contains("id-shown"),
            "{text}"
        );
        for hidden in ["id-hidden", "id-in-script", "id-in-body-script"] {
            assert!(!text.contains(hidden), "{hidden}: {text}");
        }
    }

    /// A page whose bytes are not UTF-8 reads as U+FFFD, three bytes long: no byte index may
    /// land inside it (this panicked: `rest[1..]` after a multi-byte first character).
    #[test]
    fn meta_referrer_with_a_multibyte_value_does_not_panic() {
        let page = String::from_utf8_lossy(b"<meta name=\"referrer\" content=\xff>").into_owned();
        assert_eq!(meta_referrer(&page), None);
        let page = String::from_utf8_lossy(b"<meta name=referrer content=\xff>").into_owned();
        assert_eq!(meta_referrer(&page), None);
        for page in [
            "<meta name=\"referrer\" content=\"é\">",
            "<meta name='referrer' content='\u{1F600}'>",
            "<meta name=referrer content=é",
            "<meta name=\"référrer\" content=\"no-referrer\">",
            "<meta name=\"referrer\" content=",
            "<meta name=\"referrer\" content=\"",
            "<meta",
            "<métä name=referrer content=no-referrer>",
        ] {
            assert_eq!(meta_referrer(page), None, "{page}");
        }
    }

    #[test]
    fn meta_referrer_reads_quoted_and_unquoted_values() {
        for (page, policy) in [
            (
                "<meta name=\"referrer\" content=\"no-referrer\">",
                "no-referrer",
            ),
            (
                "<META NAME='Referrer' CONTENT='Same-Origin'>",
                "same-origin",
            ),
            ("<meta name=referrer content=origin>", "origin"),
            (
                "<meta content=\" strict-origin \" name=\"referrer\"/>",
                "strict-origin",
            ),
            (
                "<meta name=\"référence\"><meta name=referrer content=unsafe-url>",
                "unsafe-url",
            ),
        ] {
            assert_eq!(meta_referrer(page).as_deref(), Some(policy), "{page}");
        }
    }
}
