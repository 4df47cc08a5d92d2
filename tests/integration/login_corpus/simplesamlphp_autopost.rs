//! A SAML-to-OIDC broker as SimpleSAMLphp builds one: simplesamlphp-module-oidc v6.4.2 (the OIDC
//! front) on SimpleSAMLphp v2.5.2, whose `oidc.authproc`/auth source is a `saml:SP`
//! (`default-sp`) that signs users in at a SECOND SimpleSAMLphp v2.5.2 acting as the SAML IdP,
//! with the `exampleauth:UserPass` source. Two loopback origins: the broker and the IdP.
//!
//! Followed, at those tags:
//! - module-oidc routing/routes/routes.php (`/simplesaml/module.php/oidc/authorization`),
//!   src/Controllers/AuthorizationController.php `__invoke` and
//!   src/Services/AuthenticationService.php `processRequest`/`authenticate`: an anonymous
//!   browser is handed to `Auth\Simple::login()`, whose ReturnTo is the request's own URL, the
//!   ORIGINAL authorization query included (src/SimpleSAML/Auth/Simple.php);
//! - modules/saml/src/Auth/Source/SP.php: the AuthnRequest's ID is the saved state id, its
//!   RelayState the ReturnURL, sent with the HTTP-Redirect binding;
//! - src/SimpleSAML/Utils/HTTP.php `redirect()`: EVERY redirect is a 303 with a Location header
//!   AND a small XHTML page with `<meta http-equiv="refresh" content="0;URL='...'">` and a link,
//!   rendered here exactly as that function echoes it;
//! - the IdP's `/simplesaml/module.php/saml/idp/singleSignOnService` then 303 to
//!   `/simplesaml/module.php/core/loginuserpass?AuthState=<id>` (modules/core/src/Controller/
//!   Login.php), the page modules/core/templates/loginuserpass.twig in templates/base.twig with
//!   templates/_header.twig (the language bar: a GET form `language-form` carrying the AuthState
//!   as a hidden field and a `<select name="language">`) and _footer.twig; a wrong password
//!   re-renders it (200) with "Incorrect username or password" and ErrorCodes' description;
//! - on success the IdP answers with the HTTP-POST binding, `HTTP::submitPOSTData` rendering
//!   templates/post.twig: a form to the SP's ACS with hidden `SAMLResponse` and `RelayState`,
//!   an `<input type="submit" id="postLoginSubmitButton" value="Continue" class="js-only">` that
//!   js/post.js clicks on load, and a `<noscript>` "Yes, continue" button: a browser without
//!   JavaScript must press it, one with JavaScript never sees it;
//! - the SP's `/simplesaml/module.php/saml/sp/saml2-acs.php/default-sp` checks InResponseTo
//!   against its session and redirects (303 + the refresh page) to the ReturnURL, the
//!   authorization URL, where the module (league/oauth2-server) answers 302 to the
//!   redirect_uri with `code` and `state`.
//!
//! Sessions: a session cookie on each origin (Path=/, HttpOnly; the states live in it). Cookies
//! are per host, not per port (RFC 6265 section 8.5), and both origins here are 127.0.0.1, so
//! the broker is configured with `session.cookie.name = SimpleSAMLSessionIDoidc` (config.php)
//! while the IdP keeps the default `SimpleSAMLSessionID`; on two hosts both could keep it.
//! Stand-ins: the SAML messages are base64 of small unsigned XML (real ones are signed, and the
//! AuthnRequest deflated); the authproc chain and consent module are not configured (the
//! default), so there is no consent page and no refusal (`can_deny` is false).
//!
//! A second start mode, [`start_headers_sent`], serves the broker's final redirect the way PHP
//! does when output was already started (display_errors on and a deprecation notice printed
//! first, so `headers_sent()` is true and HTTP::redirect() emits no Location): HTTP 200, the
//! notice, then the same refresh page. Only the `<meta http-equiv="refresh">` leads on.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use url::Url;

use super::support::{self, Sessions, Tally, esc};

const CLIENT_ID: &str = "_8f2c6a1d9b3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile";
const USER: &str = "student";
const PASSWORD: &str = "studentpass";
/// The broker's `session.cookie.name` (config.php); the IdP keeps the default.
const SESSION: &str = "SimpleSAMLSessionIDoidc";
const IDP_SESSION: &str = "SimpleSAMLSessionID";
const AUTHORIZE: &str = "/simplesaml/module.php/oidc/authorization";
const ACS: &str = "/simplesaml/module.php/saml/sp/saml2-acs.php/default-sp";
const SSO: &str = "/simplesaml/module.php/saml/idp/singleSignOnService";
const LOGIN: &str = "/simplesaml/module.php/core/loginuserpass";

#[derive(Clone)]
struct Broker {
    broker: Url,
    idp: Url,
    /// SP side: session id -> (AuthnRequest id -> ReturnURL), and who is signed in.
    sp: Sessions,
    /// IdP side: the sessions holding the login states.
    idp_sessions: Sessions,
    headers_sent: bool,
    tally: Tally,
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn unb64(s: &str) -> Option<String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// The value of XML attribute `name="..."` in a stand-in SAML message.
fn xml_attr(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("{name}=\""))? + name.len() + 2;
    let end = xml[start..].find('"')? + start;
    Some(xml[start..end].to_string())
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// PHP's htmlspecialchars (ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401): & " ' < >.
fn hsc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#039;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page src/SimpleSAML/Utils/HTTP.php redirect() echoes after its Location header.
fn redirect_page(url: &str) -> String {
    let u = hsc(url);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\">\n\
  <head>\n\
    <meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\">\n\
    <meta http-equiv=\"refresh\" content=\"0;URL='{u}'\">\n\
    <title>Redirect</title>\n\
  </head>\n\
  <body>\n\
    <h1>Redirect</h1>\n\
      <p>You were redirected to: <a id=\"redirlink\" href=\"{u}\">{u}</a>\n\
        <script type=\"text/javascript\">document.getElementById(\"redirlink\").focus();</script>\n\
      </p>\n\
  </body>\n\
</html>"
    )
}

/// HTTP::redirectTrustedURL: 303, no-cache, Location, and the refresh page as body.
fn ssp_redirect(url: &str) -> Response {
    let mut resp = support::html_status(StatusCode::SEE_OTHER, redirect_page(url));
    let h = resp.headers_mut();
    if let Ok(v) = axum::http::HeaderValue::from_str(url) {
        h.insert(axum::http::header::LOCATION, v);
    }
    h.insert(
        axum::http::header::PRAGMA,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    resp
}

/// The same redirect once PHP has already sent its headers: no Location, the notice first.
fn ssp_redirect_headers_sent(url: &str) -> Response {
    let notice = "<br />\n<b>Deprecated</b>:  Creation of dynamic property SimpleSAML\\Module\\saml\\Auth\\Source\\SP::$discoURL is deprecated in <b>/var/simplesamlphp/modules/saml/src/Auth/Source/SP.php</b> on line <b>152</b><br />\n";
    support::html(format!("{notice}{}", redirect_page(url)))
}

fn ssp_error(title: &str, description: &str) -> Response {
    support::html_status(
        StatusCode::INTERNAL_SERVER_ERROR,
        page(
            "SimpleSAMLphp error",
            "error",
            "",
            &format!("<h1>{}</h1>\n<p>{}</p>", esc(title), esc(description)),
        ),
    )
}

/// The session of `sessions` named by the cookie, or a new one with its Set-Cookie.
fn session_of(
    sessions: &Sessions,
    headers: &HeaderMap,
    name: &str,
) -> (String, HashMap<String, String>, Option<String>) {
    match sessions.get(headers, name) {
        Some((id, map)) => (id, map, None),
        None => {
            let id = sessions.create();
            (
                id.clone(),
                HashMap::new(),
                Some(format!("{name}={id}; path=/; HttpOnly")),
            )
        }
    }
}

fn with_cookie(resp: Response, cookie: Option<String>) -> Response {
    match cookie {
        Some(c) => support::set_cookie(resp, &c),
        None => resp,
    }
}

/// templates/base.twig with _header.twig and _footer.twig.
fn page(title: &str, template_id: &str, auth_state: &str, content: &str) -> String {
    let hidden = if auth_state.is_empty() {
        String::new()
    } else {
        format!(
            "            <input type=\"hidden\" name=\"AuthState\" value=\"{}\">\n",
            esc(auth_state)
        )
    };
    let lang_links: String = [("no", "Bokmål"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
        .iter()
        .map(|(k, name)| {
            let q = if auth_state.is_empty() {
                String::new()
            } else {
                format!("&AuthState={}", esc(auth_state))
            };
            format!(
                "            <li class=\"pure-menu-item\"><a href=\"?language={k}{q}\" class=\"pure-menu-link\">{name}</a></li>\n"
            )
        })
        .collect();
    let options: String = [
        ("no", "Bokmål"),
        ("de", "Deutsch"),
        ("fr", "Français"),
        ("es", "Español"),
    ]
    .iter()
    .map(|(k, name)| format!("              <option value=\"{k}\">{name}</option>\n"))
    .collect();
    format!(
        r##"<!DOCTYPE html>
<html lang="en" dir="ltr">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <meta name="mobile-web-app-capable" content="yes">
    <meta http-equiv="X-UA-Compatible" content="IE=Edge">
    <title>{title}</title>
    <link rel="stylesheet" href="/simplesaml/assets/base/css/stylesheet.css?tag=2.5.2">
    <link rel="icon" href="/simplesaml/assets/base/icons/favicon.ico?tag=2.5.2">
    <meta name="robots" content="noindex, nofollow">
  </head>
  <body id="{template_id}">
    <div id="layout">
    <header id="header">
  <div class="wrap">
    <div class="logospace">
      <div class="v-center logo-header">
        <div id="logo">
          <span class="simple">Simple</span><span class="saml">SAML</span><span class="simple">php</span>
        </div>
      </div>
    </div>
    <div class="menuspace">
      <a href="" id="menuLink" class="menu-link hide-for-large" aria-label="Menu">
        <span class="fa fa-globe fa-2x" aria-hidden="true"></span>
      </a>
    </div>
    <div id="languagebar" class="hide-for-large">
      <div id="menu">
        <div class="pure-menu">
          <ul class="pure-menu-list">
            <li><a class="pure-menu-heading" href="#">English</a><li>
{lang_links}          </ul>
        </div>
      </div>
    </div>
    <div class="menuspace show-for-large">
      <div class="v-center language-bar">
        <form id="language-form" class="pure-form" method="get">
          <div id="languageform">
{hidden}            <select aria-label="Language" class="pure-input-1-4 language-menu" name="language" id="language-selector">
              <option value="en" selected="selected">&#127760; English</option>
{options}            </select>
            <noscript>
              <button type="submit" class="pure-button">
                <i class="fa fa-arrow-right"></i>
              </button>
            </noscript>
          </div>
        </form>
      </div>
    </div>
  </div>
</header>
      <main>
      <div id="content">
        <div class="wrap">
          {content}
        </div>
      </div>
      <div id="push"></div>
      </main>
    </div>
    <div id="foot">
      <footer id="footer">
  <div class="wrap">
    <div class="center copyrights">&copy; 2007-2026 <a href="https://simplesamlphp.org/">SimpleSAMLphp</a>
    </div>
    <div class="logo-footer-space show-for-large">
      <div class="logo-footer">
        <img class="pure-img" src="/simplesaml/assets/base/icons/ssplogo-fish-small.png?tag=2.5.2" alt="Small fish logo">
      </div>
    </div>
  </div>
</footer>
    </div>
    <script src="/simplesaml/assets/base/js/bundle.js?tag=2.5.2"></script>
    {postload}
  </body>
</html>"##,
        title = esc(title),
        postload = if template_id == "loginuserpass" {
            r#"<script src="/simplesaml/module.php/core/assets/js/loginuserpass.js?tag=2.5.2"></script>"#
        } else {
            ""
        },
    )
}

fn login_page(auth_state: &str, username: &str, error: bool) -> String {
    let form_url = format!("{LOGIN}?AuthState={}", support::enc(auth_state));
    let error = if error {
        r#"<div class="pure-g">
        <div class="pure-u-1">
            <div class="message-box error">

                <h3>Incorrect username or password</h3>

                <p>Either no user with the given username could be found, or the password you gave was wrong. Please check the username and try again.</p>

            </div>
        </div>
    </div>"#
    } else {
        ""
    };
    let autofocus = if username.is_empty() {
        " autofocus "
    } else {
        ""
    };
    let pw_autofocus = if username.is_empty() {
        ""
    } else {
        " autofocus "
    };
    let content = format!(
        r#"{error}

    <h1>Enter your username and password</h1>

    <p>A service has requested you to authenticate yourself. Please enter your username and password in the form below.</p>
    <div class="center-form login-form-start">
        <form id="f" class="pure-form pure-form-aligned" action="{form_url}" method="post" name="f" spellcheck="false">
                <div class="pure-control-group">
                    <label for="username">Username</label>
                    <input id="username"  placeholder="{username}" type="text" name="username" class="edge" tabindex="1" value="{username}" autocomplete="username" {autofocus}>
                </div>

                <div class="pure-control-group">
                    <label for="password">Password</label>
                    <input id="password" type="password" tabindex="2" name="password" class="edge" autocomplete="current-password"{pw_autofocus}>
                </div>

            <div class="pure-control-group center login-form-submit">
                <button class="pure-button pure-button-red pure-input-1-2 pure-input-sm-1-1 right" id="submit_button"
                        type="submit" tabindex="6" data-default="Login"
                        data-processing="Processing...">
                Login
                </button>
            </div>
        </form>
    </div>

    <br><br>
    <div class="pure-form-message">
        <strong>Help! I don&#039;t remember my password.</strong>
        <p>Without your username and password you cannot authenticate yourself for access to the service. There may be someone that can help you. Consult the help desk at your organization!</p>
    </div>
"#,
        form_url = esc(&form_url),
        username = esc(username),
    );
    page(
        "Enter your username and password",
        "loginuserpass",
        auth_state,
        &content,
    )
}

/// templates/post.twig, as Twig renders it.
fn post_page(destination: &str, post: &[(&str, &str)]) -> String {
    let fields: String = post
        .iter()
        .map(|(k, v)| {
            format!(
                "\n\n                <input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let d = esc(destination);
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="X-UA-Compatible" content="IE=Edge">
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8">
    <link rel="icon" href="/simplesaml/assets/base/icons/favicon.ico?tag=2.5.2">
    <title>Sending message</title>
    <link rel="stylesheet" href="/simplesaml/assets/base/css/postSubmit.css?tag=2.5.2">
    </head>
<body>
    <h1 id="page-title" class="mb-2 center hidden">Sending message</h1>
    <form method="post" action="{d}">

        <input
                type="submit"
                id="postLoginSubmitButton"
                value="Continue"
                class="js-only"
                aria-hidden="true"
                tabindex="-1"
        >{fields}

        <noscript>
            <style>
              .js-only {{
                display: none !important;
              }}
            </style>
            <h2>Warning</h2>
            <p>Since your browser does not support Javascript, you must press the button below to proceed.</p>
            <button type="submit">Yes, continue</button>
        </noscript>
    </form>

    <div id="slowPostMessage"
         class="js-only slowPostMessage hidden"
         role="alert"
         aria-live="assertive"
         aria-atomic="true"
         aria-labelledby="slowpost-title"
         aria-describedby="slowpost-desc"
         data-slow-post-delay="30000"
         tabindex="-1">
        <div class="p-2 mt-1">
            <h2 id="slowpost-title" class="mb-2">Connecting to the application…</h2>
            <div id="slowpost-desc">
                <div class="mb-2">
                    The application at {d} may not be responding.
                </div>
                <div class="mb-0">
                    Your browser will continue trying to connect. Do not refresh this page or press the back button, as it may cause an error.
                    If you are unable to connect, return to the original application and try again.
                </div>
            </div>
        </div>
    </div>
    <span id="loader" class="loader js-only"></span>

<script src="/simplesaml/assets/base/js/post.js?tag=2.5.2"></script>
</body>
</html>"#
    )
}

/// GET /simplesaml/module.php/oidc/authorization (the broker).
async fn authorization(
    State(b): State<Broker>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    // league/oauth2-server validateAuthorizationRequest.
    if param(&query, "client_id") != Some(CLIENT_ID) {
        return support::html_status(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#
                .to_string(),
        );
    }
    if param(&query, "redirect_uri") != Some(REDIRECT_URI) {
        return support::html_status(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#
                .to_string(),
        );
    }
    let state = param(&query, "state").unwrap_or_default().to_string();
    if param(&query, "response_type") != Some("code") {
        return support::to_client(
            REDIRECT_URI,
            &[("error", "unsupported_response_type"), ("state", &state)],
        );
    }
    let (sid, sess, set) = session_of(&b.sp, &headers, SESSION);
    if sess.contains_key("user") {
        // Authenticated: completeAuthorizationRequest, a 302 with the code.
        b.tally.hit("code");
        let code = format!("def50200{}", support::token());
        return with_cookie(
            support::to_client(REDIRECT_URI, &[("code", &code), ("state", &state)]),
            set,
        );
    }
    // Auth\Simple::login(): ReturnTo = this very URL; saml:SP sends the AuthnRequest.
    b.tally.hit("to idp");
    let mut return_to = b.broker.join(AUTHORIZE).unwrap();
    return_to.set_query(uri.query());
    let request_id = format!("_{}", hex(&support::token()));
    b.sp.set(&sid, &format!("req:{request_id}"), return_to.as_str());
    let acs = b.broker.join(ACS).unwrap();
    let sso = b.idp.join(SSO).unwrap();
    let authn = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{sso}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{broker}simplesaml/module.php/saml/sp/metadata/default-sp</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" AllowCreate="true"/></samlp:AuthnRequest>"#,
        broker = b.broker,
    );
    let mut to = sso.clone();
    to.query_pairs_mut()
        .append_pair("SAMLRequest", &b64(&authn))
        .append_pair("RelayState", return_to.as_str());
    with_cookie(ssp_redirect(to.as_str()), set)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// POST /simplesaml/module.php/saml/sp/saml2-acs.php/default-sp (the broker).
async fn acs(
    State(b): State<Broker>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(xml) = param(&form, "SAMLResponse").and_then(unb64) else {
        return ssp_error(
            "Bad request received",
            "No SAMLResponse or SAMLart parameter found.",
        );
    };
    let Some((sid, sess)) = b.sp.get(&headers, SESSION) else {
        return ssp_error(
            "State information lost",
            "State information lost, and no way to restart the request",
        );
    };
    let in_response_to = xml_attr(&xml, "InResponseTo").unwrap_or_default();
    let Some(return_to) = sess.get(&format!("req:{in_response_to}")).cloned() else {
        return ssp_error(
            "State information lost",
            "State information lost, and no way to restart the request",
        );
    };
    if !xml.contains("urn:oasis:names:tc:SAML:2.0:status:Success") {
        return ssp_error("Error received from Identity Provider", "Not authenticated");
    }
    b.tally.hit("acs");
    if param(&form, "RelayState") != Some(return_to.as_str()) {
        b.tally.hit("relaystate mismatch");
    }
    b.sp.remove(&sid, &format!("req:{in_response_to}"));
    b.sp.set(
        &sid,
        "user",
        &xml_attr(&xml, "NameQualifier").unwrap_or_default(),
    );
    if b.headers_sent {
        ssp_redirect_headers_sent(&return_to)
    } else {
        ssp_redirect(&return_to)
    }
}

/// GET /simplesaml/module.php/saml/idp/singleSignOnService (the IdP).
async fn sso(
    State(b): State<Broker>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let Some(xml) = param(&query, "SAMLRequest").and_then(unb64) else {
        return ssp_error(
            "Bad request received",
            "Unable to find the current binding.",
        );
    };
    let (sid, _, set) = session_of(&b.idp_sessions, &headers, IDP_SESSION);
    // The login state: saved in the IdP's session, its id also naming where it came from.
    let state_id = format!(
        "_{}:{}{}",
        hex(&support::token()),
        b.idp.join(SSO).unwrap(),
        "?spentityid=default-sp"
    );
    let request_id = xml_attr(&xml, "ID").unwrap_or_default();
    let acs = xml_attr(&xml, "AssertionConsumerServiceURL").unwrap_or_default();
    let relay = param(&query, "RelayState").unwrap_or_default();
    b.idp_sessions.set(
        &sid,
        &format!("state:{state_id}"),
        &format!("{request_id}\n{acs}\n{relay}"),
    );
    b.tally.hit("idp login");
    let to = b
        .idp
        .join(&format!("{LOGIN}?AuthState={}", support::enc(&state_id)))
        .unwrap();
    with_cookie(ssp_redirect(to.as_str()), set)
}

/// GET and POST /simplesaml/module.php/core/loginuserpass?AuthState=... (the IdP).
async fn loginuserpass(
    State(b): State<Broker>,
    headers: HeaderMap,
    method: axum::http::Method,
    Query(query): Query<Vec<(String, String)>>,
    body: String,
) -> Response {
    let Some(auth_state) = param(&query, "AuthState").map(str::to_string) else {
        return ssp_error("Bad request received", "Missing AuthState parameter.");
    };
    let saved = b
        .idp_sessions
        .get(&headers, IDP_SESSION)
        .and_then(|(sid, s)| {
            s.get(&format!("state:{auth_state}"))
                .cloned()
                .map(|v| (sid, v))
        });
    let Some((sid, saved)) = saved else {
        return ssp_error(
            "State information lost",
            "State information lost, and no way to restart the request",
        );
    };
    if method != axum::http::Method::POST {
        return support::html(login_page(&auth_state, "", false));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let username = param(&form, "username").unwrap_or_default();
    if !(username == USER && param(&form, "password") == Some(PASSWORD)) {
        b.tally.hit("wrong password");
        return support::html(login_page(&auth_state, username, true));
    }
    b.tally.hit("signed in");
    b.idp_sessions.remove(&sid, &format!("state:{auth_state}"));
    let mut parts = saved.splitn(3, '\n');
    let (request_id, acs, relay) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let response = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{id}" InResponseTo="{request_id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{acs}"><saml:Issuer>{idp}simplesaml/module.php/saml/idp/metadata</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_{aid}" Version="2.0"><saml:Subject><saml:NameID NameQualifier="{USER}" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">_{nid}</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="uid"><saml:AttributeValue>{USER}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#,
        id = hex(&support::token()),
        aid = hex(&support::token()),
        nid = hex(&support::token()),
        idp = b.idp,
    );
    b.tally.hit("autopost");
    support::html(post_page(
        acs,
        &[("SAMLResponse", &b64(&response)), ("RelayState", relay)],
    ))
}

async fn start_mode(headers_sent: bool, tally: Tally) -> super::Fixture {
    let broker_l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let idp_l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let broker = Url::parse(&format!("http://{}/", broker_l.local_addr().unwrap())).unwrap();
    let idp = Url::parse(&format!("http://{}/", idp_l.local_addr().unwrap())).unwrap();
    let state = Broker {
        broker: broker.clone(),
        idp: idp.clone(),
        sp: Sessions::default(),
        idp_sessions: Sessions::default(),
        headers_sent,
        tally,
    };
    let broker_router = Router::new()
        .route(AUTHORIZE, get(authorization))
        .route(ACS, post(acs))
        .with_state(state.clone());
    let idp_router = Router::new()
        .route(SSO, get(sso))
        .route(LOGIN, get(loginuserpass).post(loginuserpass))
        .with_state(state);
    let servers = vec![
        tokio::spawn(async move {
            let _ = axum::serve(broker_l, broker_router).await;
        }),
        tokio::spawn(async move {
            let _ = axum::serve(idp_l, idp_router).await;
        }),
    ];
    super::Fixture {
        reproduces: "SimpleSAMLphp v2.5.2 + simplesamlphp-module-oidc v6.4.2: loginuserpass.twig, post.twig, HTTP::redirect",
        authorize: broker.join(AUTHORIZE).unwrap(),
        client_id: CLIENT_ID.to_string(),
        redirect_uri: REDIRECT_URI.to_string(),
        scope: SCOPE.to_string(),
        username: USER.to_string(),
        password: PASSWORD.to_string(),
        login_origins: vec![idp],
        can_deny: false,
        servers,
    }
}

pub async fn start() -> super::Fixture {
    start_mode(false, Tally::default()).await
}

/// The broker's final redirect without a Location header (PHP's "headers already sent").
pub async fn start_headers_sent() -> super::Fixture {
    start_mode(true, Tally::default()).await
}

#[tokio::test]
async fn simplesamlphp_autopost_reaches_a_code() {
    super::prove(start().await).await
}

/// The only way on from the broker's final page is its `<meta http-equiv="refresh">`.
#[tokio::test]
async fn simplesamlphp_autopost_headers_sent_reaches_a_code() {
    super::prove(start_headers_sent().await).await
}

/// The autopost form went to the SP with the IdP's SAMLResponse and the RelayState untouched.
#[tokio::test]
async fn simplesamlphp_autopost_posts_the_saml_response_once() {
    let tally = Tally::default();
    let fixture = start_mode(false, tally.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(tally.count("autopost"), 1);
    assert_eq!(tally.count("acs"), 1);
    assert_eq!(tally.count("relaystate mismatch"), 0);
}
