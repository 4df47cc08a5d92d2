//! Apereo CAS 7.x as an OpenID Connect provider (cas-server-support-oidc), default theme.
//!
//! Reproduces, as rendered:
//! - the sign-in page: support/cas-server-support-thymeleaf/src/main/resources/templates/
//!   login/casLoginView.html with fragments/loginform.html and fragments/submitbutton.html:
//!   `<form method="post" id="fm1" action="login">` (a relative action: the login URL's
//!   `service` query is dropped on submit and the flow goes on through `execution`), the
//!   `username` and `password` inputs, the `type="button"` "Toggle Password" button, the hidden
//!   `execution`, `_eventId=submit` and `geolocation`, the `<button name="submit">` "LOGIN"
//!   without a value, and the `loginErrorsPanel` with "Invalid credentials." after a failure;
//! - the consent page: templates/protocol/oidc/confirm.html (`OAuth20Constants.CONFIRM_VIEW`),
//!   shown by default (`bypassApprovalPrompt` is false for a registered service): the requested
//!   scopes the service allows, then NO form, only links: "Allow" (`<a id="allow"
//!   name="allow">`) to the authorization URL itself plus `bypass_approval_prompt=true` and the
//!   `scopes_approval_key` HMAC, and "Cancel" (`<a id="cancel">`) to `/cas/login`. The "deny"
//!   link appears only when the service has an `unauthorizedRedirectUrl`, which a default
//!   registration has not: the page offers no refusal that reaches the client.
//!
//! Behaviour: an anonymous `/cas/oidc/authorize` (pac4j's security logic with the
//! `CasOAuthClient`) keeps the requested URL in the `JSESSIONID` session and sends the browser
//! to `/cas/login?service=<the callbackAuthorize URL carrying the original parameters and
//! client_name=CasOAuthClient>`; the sign-in sets the `TGC` cookie (Secure, as
//! `cas.tgc.secure` defaults to true) and redirects to the service with `ticket=ST-…`; the
//! callback validates the one-time service ticket and redirects to the kept authorization URL;
//! then support/cas-server-support-oauth-core-api/.../OAuth20ConsentApprovalViewResolver.java
//! (the confirm view unless `bypass_approval_prompt` comes with a valid `scopes_approval_key`)
//! and .../OAuth20AuthorizationCodeAuthorizationResponseBuilder.java (302 with `code`, `state`,
//! `nonce`). A wrong password is the login view again, HTTP 401, with a new `execution`.
//!
//! Left out: the header/footer fragments' styling, the scope descriptions' full texts, the
//! token endpoint, the `iss` response parameter, the real webflow's encrypted `execution`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use oauthprobe::flow::authorize::Consent;
use ring::hmac;

use super::Fixture;
use super::support::{self, Sessions, Tally, enc, esc, html, html_status, redirect, set_cookie};

const CLIENT_ID: &str = "corpus-oidc-client";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const SCOPE: &str = "openid profile email";
/// The registered service's scopes.
const SERVICE_SCOPES: &[&str] = &["email", "openid", "profile"];
const USERNAME: &str = "casuser";
const PASSWORD: &str = "Mellon";

#[derive(Clone)]
struct App {
    /// `JSESSIONID` sessions (pac4j's store: the requested URL, then the profile).
    sessions: Sessions,
    /// Webflow executions: execution key → service.
    flows: Sessions,
    /// Service tickets: ST → user.
    tickets: Sessions,
    tally: Tally,
    approval_key: hmac::Key,
}

impl Default for App {
    fn default() -> Self {
        App {
            sessions: Sessions::default(),
            flows: Sessions::default(),
            tickets: Sessions::default(),
            tally: Tally::default(),
            approval_key: hmac::Key::new(hmac::HMAC_SHA512, support::token().as_bytes()),
        }
    }
}

pub async fn start() -> Fixture {
    serve(App::default()).await
}

async fn serve(app: App) -> Fixture {
    let router = Router::new()
        .route("/cas/oidc/authorize", get(authorize))
        .route("/cas/oidc/callbackAuthorize", get(callback))
        .route("/cas/login", get(login_get).post(login_post))
        .with_state(app);
    let (base, task) = support::serve(router).await;
    Fixture {
        reproduces: "Apereo CAS 7 OIDC: casLoginView (fragments/loginform), protocol/oidc/confirm",
        authorize: base.join("/cas/oidc/authorize").expect("url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: SCOPE.into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: false,
        servers: vec![task],
    }
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string()
}

fn query_map(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The `JSESSIONID` session, created (and its cookie to set) when the browser has none.
fn jsession(app: &App, headers: &HeaderMap) -> (String, HashMap<String, String>, bool) {
    match app.sessions.get(headers, "JSESSIONID") {
        Some((id, data)) => (id, data, false),
        None => (app.sessions.create(), HashMap::new(), true),
    }
}

fn with_jsession(resp: Response, id: &str, new: bool) -> Response {
    if new {
        set_cookie(resp, &format!("JSESSIONID={id}; Path=/cas; HttpOnly"))
    } else {
        resp
    }
}

/// `/cas/oidc/authorize`: not signed in → CAS login; signed in → consent or code.
async fn authorize(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_map(query.as_deref());
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI)
    {
        return html_status(
            StatusCode::UNAUTHORIZED,
            "<!DOCTYPE html><html><head><title>Error - Unauthorized Service</title></head>\
             <body><h2>Application Not Authorized to Use CAS</h2></body></html>"
                .to_string(),
        );
    }
    let (id, data, new) = jsession(&app, &headers);
    let full = match query.as_deref() {
        Some(q) if !q.is_empty() => format!("http://{}/cas/oidc/authorize?{q}", host(&headers)),
        _ => format!("http://{}/cas/oidc/authorize", host(&headers)),
    };
    let Some(user) = data.get("pac4j.profile").cloned() else {
        // pac4j: keep the requested URL, redirect to the CAS login with the callback service.
        app.sessions.set(&id, "pac4jRequestedUrl", &full);
        let mut service = url::Url::parse(&format!(
            "http://{}/cas/oidc/callbackAuthorize",
            host(&headers)
        ))
        .expect("url");
        {
            let mut pairs = service.query_pairs_mut();
            for k in ["client_id", "redirect_uri", "response_type"] {
                if let Some(v) = q.get(k) {
                    pairs.append_pair(k, v);
                }
            }
            pairs.append_pair("client_name", "CasOAuthClient");
        }
        let to = format!(
            "http://{}/cas/login?service={}",
            host(&headers),
            enc(service.as_str())
        );
        return with_jsession(redirect(&to), &id, new);
    };
    let requested: Vec<&str> = q
        .get("scope")
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    let mut scopes: Vec<&str> = SERVICE_SCOPES
        .iter()
        .copied()
        .filter(|s| requested.contains(s))
        .collect();
    scopes.sort_unstable();
    let approval = approval_key(&app, &user, &scopes);
    let bypassed = q.get("bypass_approval_prompt").map(String::as_str) == Some("true")
        && q.get("scopes_approval_key") == Some(&approval);
    if !bypassed {
        app.tally.hit("consent page");
        let mut callback = url::Url::parse(&full).expect("url");
        callback
            .query_pairs_mut()
            .append_pair("bypass_approval_prompt", "true")
            .append_pair("scopes_approval_key", &approval);
        return with_jsession(html(confirm_page(&scopes, callback.as_str())), &id, new);
    }
    app.tally.hit("code");
    let mut to = url::Url::parse(REDIRECT_URI).expect("redirect_uri");
    {
        let mut pairs = to.query_pairs_mut();
        pairs.append_pair("code", &format!("OC-1-{}", support::token()));
        for k in ["state", "nonce"] {
            if let Some(v) = q.get(k).filter(|v| !v.is_empty()) {
                pairs.append_pair(k, v);
            }
        }
    }
    redirect(to.as_str())
}

/// `DigestUtils.sha512Hmac(secret, "client/user/scopes")`, hex.
fn approval_key(app: &App, user: &str, scopes: &[&str]) -> String {
    let text = format!("{CLIENT_ID}/{user}/{}", scopes.join(","));
    hmac::sign(&app.approval_key, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `/cas/oidc/callbackAuthorize?…&ticket=ST-…`: validate, keep the profile, back to the
/// requested URL.
async fn callback(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_map(query.as_deref());
    let (id, data, new) = jsession(&app, &headers);
    let user = q.get("ticket").and_then(|st| {
        let found = app
            .tickets
            .get(&lookup("st", st), "st")
            .and_then(|(_, t)| t.get("user").cloned());
        // Service tickets are one-time.
        app.tickets.drop_session(st);
        found
    });
    let Some(user) = user else {
        app.tally.hit("ticket rejected");
        return html_status(
            StatusCode::UNAUTHORIZED,
            "<!DOCTYPE html><html><head><title>Error</title></head><body><h2>Ticket \
             validation failed</h2></body></html>"
                .to_string(),
        );
    };
    app.sessions.set(&id, "pac4j.profile", &user);
    let to = data
        .get("pac4jRequestedUrl")
        .cloned()
        .unwrap_or_else(|| format!("http://{}/cas/login", host(&headers)));
    with_jsession(redirect(&to), &id, new)
}

fn new_execution(app: &App, service: &str) -> String {
    let key = app.flows.create();
    app.flows.set(&key, "service", service);
    key
}

fn layout(title: &str, content: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="UTF-8"/>
    <meta http-equiv="X-UA-Compatible" content="IE=edge"/>
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no"/>
    <title>{title}</title>
    <link rel="stylesheet" type="text/css" href="/cas/css/cas.css"/>
    <link rel="icon" href="/cas/favicon.ico" type="image/x-icon"/>
    <script type="text/javascript" src="/cas/webjars/jquery/jquery.min.js"></script>
</head>
<body class="login mdc-typography">
<header id="app-bar" class="mdc-top-app-bar mdc-top-app-bar--fixed mdc-elevation--z4">
    <nav class="mdc-top-app-bar__row">
        <section class="mdc-top-app-bar__section mdc-top-app-bar__section--align-start">
            <span class="cas-brand mx-auto">
                <img class="cas-logo" src="/cas/images/cas-logo.png" alt="Apereo CAS"/>
            </span>
        </section>
    </nav>
</header>
<div class="mdc-drawer-scrim"></div>
<div class="mdc-drawer-app-content mdc-top-app-bar--fixed-adjust d-flex justify-content-center">
    <main role="main" id="main-content" class="container-lg py-4">
{content}
    </main>
</div>
<footer class="py-4 d-flex justify-content-center">
    <div class="container-fluid container-fluid d-flex flex-column">
        <span>Copyright &copy; 2005&ndash;2025 Apereo, Inc.</span>
        <span>Powered by <a href="https://github.com/apereo/cas">Apereo CAS</a></span>
    </div>
</footer>
</body>
</html>
"#
    )
}

fn login_page(execution: &str, failed: bool) -> String {
    let errors = if failed {
        "                    <div id=\"loginErrorsPanel\" class=\"banner banner-danger banner-dismissible\">\n\
                         <p>Invalid credentials. </p>\n\
                         <!--<a href=\"#\" class=\"close\" data-dismiss=\"alert\" aria-label=\"close\">&times;</a>-->\n\
                     </div>\n"
    } else {
        ""
    };
    let content = format!(
        r##"<div class="d-flex justify-content-center">
   <div class="d-flex justify-content-center flex-md-row flex-column mdc-card mdc-card-content card flex-grow-1">
        <section id="loginForm" class="login-section login-form card-body">
    <div class="d-flex flex-column justify-content-between m-auto">
        <div class="form-wrapper">

            <form method="post" id="fm1" action="login">
                <span id="login-form-controls">
                    <h3 class="text-center">
                        <i class="mdi mdi-security"></i>
                        <span>Enter Username &amp; Password</span>
                    </h3>

{errors}
                    <section class="cas-field my-3" id="usernameSection">
                        <div>
                            <label for="username" class="mdc-text-field mdc-text-field--outlined">
                                <input class="mdc-text-field__input" id="username" size="25" type="text" accesskey="u" autocapitalize="none" spellcheck="false" autocomplete="username" required name="username" value="" />
                                <span class="mdc-notched-outline">
                                    <span class="mdc-notched-outline__leading"></span>
                                    <span class="mdc-notched-outline__notch">
                                      <span class="mdc-floating-label">Username</span>
                                    </span>
                                    <span class="mdc-notched-outline__trailing"></span>
                                  </span>
                            </label>
                            <div class="mdc-text-field-helper-line">
                                <div class="mdc-text-field-helper-text mdc-text-field-helper-text--validation-msg" aria-hidden="true">
                                    <span>Username is a required field.</span>
                                </div>
                            </div>
                            <script type="text/javascript">
                                /*<![CDATA[*/
                                var username = null;
                                var disabled = false;

                                if (username != null && username !== '') {{
                                    $('#username').val(username);
                                    if (disabled) {{
                                        $('#usernameSection').hide();
                                    }}
                                }}
                                /*]]>*/
                            </script>
                        </div>
                    </section>

                    <section class="cas-field my-3 mdc-input-group" id="passwordSection">
                        <div class="mdc-input-group-field mdc-input-group-field-append">
                            <div class="caps-check">
                                <label for="password" class="mdc-text-field mdc-text-field--outlined mdc-text-field--with-trailing-icon">
                                    <input class="mdc-text-field__input pwd" type="password" id="password" size="25" required accesskey="p" autocomplete="off" name="password" value="" />
                                    <span class="mdc-notched-outline">
                                            <span class="mdc-notched-outline__leading"></span>
                                            <span class="mdc-notched-outline__notch">
                                              <span class="mdc-floating-label">Password</span>
                                            </span>
                                            <span class="mdc-notched-outline__trailing"></span>
                                        </span>
                                </label>
                                <div class="mdc-text-field-helper-line">
                                    <div class="mdc-text-field-helper-text mdc-text-field-helper-text--validation-msg" aria-hidden="true">
                                        <span>Password is a required field.</span>
                                    </div>
                                </div>
                            </div>
                            <div class="mdc-text-field-helper-line caps-warn">
                                <p class="mdc-text-field-helper-text mdc-text-field-helper-text--persistent mdc-text-field-helper-text--validation-msg text-danger">
                                    <span>CAPSLOCK key is turned on!</span>
                                </p>
                            </div>
                        </div>
                        <button class="reveal-password mdc-button mdc-button--raised mdc-input-group-append mdc-icon-button" tabindex="-1" type="button">
                            <i class="mdi mdi-eye reveal-password-icon"></i>
                            <span class="sr-only">Toggle Password</span>
                        </button>
                    </section>

                    <section class="cas-field my-3">
                    </section>

                    <section class="cas-field">
                        <input type="hidden" name="execution" value="{execution}"/>
                        <input type="hidden" name="_eventId" value="submit"/>
                        <input type="hidden" name="geolocation"/>
                    </section>

        <button class="mdc-button mdc-button--raised btn btn-primary btn-primary" name="submit" accesskey="l" type="submit">
            <span class="mdc-button__label">LOGIN</span>
        </button>
                </span>
            </form>

            <hr class="my-4"/>

            <script type="text/javascript">
                /*<![CDATA[*/
                var i = "One moment please..."
                var j = "LOGIN"
                    /*]]>*/
                    $(window).on('pageshow', function () {{
                        $(':submit').prop('disabled', false);
                        $(':submit').attr('value', j);
                    }});
                $(document).ready(function () {{
                    $("#fm1").submit(function () {{
                        $(":submit").attr("disabled", true);
                        $(":submit").attr("value", i);
                        return true;
                    }});
                }});
            </script>
        </div>
    </div>
        </section>
    </div>
</div>"##,
        execution = esc(execution),
    );
    layout(
        "Log In - CAS &#8211; Central Authentication Service",
        &content,
    )
}

async fn login_get(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let service = query_map(query.as_deref())
        .remove("service")
        .unwrap_or_default();
    let execution = new_execution(&app, &service);
    html(login_page(&execution, false))
}

async fn login_post(State(app): State<App>, Form(form): Form<HashMap<String, String>>) -> Response {
    let execution = form.get("execution").cloned().unwrap_or_default();
    let flow = app
        .flows
        .get(&lookup("execution", &execution), "execution")
        .map(|(_, f)| f);
    let Some(flow) = flow.filter(|_| form.get("_eventId").map(String::as_str) == Some("submit"))
    else {
        // An unknown or expired execution: the flow starts again.
        app.tally.hit("flow lost");
        let execution = new_execution(&app, "");
        return html(login_page(&execution, false));
    };
    app.flows.drop_session(&execution);
    let service = flow.get("service").cloned().unwrap_or_default();
    let user = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    if user != USERNAME || password != PASSWORD {
        let execution = new_execution(&app, &service);
        return html_status(StatusCode::UNAUTHORIZED, login_page(&execution, true));
    }
    app.tally.hit("login");
    let st = app.tickets.create();
    app.tickets.set(&st, "user", user);
    let tgc = format!("TGT-1-{}", support::token());
    let resp = if service.is_empty() {
        html(layout(
            "Log In Successful - CAS",
            "<h2>Log In Successful</h2><p>You, casuser, have successfully logged into the \
             Central Authentication Service.</p>",
        ))
    } else {
        let sep = if service.contains('?') { '&' } else { '?' };
        redirect(&format!("{service}{sep}ticket={st}"))
    };
    set_cookie(
        resp,
        &format!("TGC={tgc}; Path=/cas/; Secure; HttpOnly; SameSite=None"),
    )
}

/// `Sessions` finds an entry by a cookie's value; tickets and executions are found the same way.
fn lookup(name: &str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = header::HeaderValue::from_str(&format!("{name}={value}")) {
        h.insert(header::COOKIE, v);
    }
    h
}

/// templates/protocol/oidc/confirm.html in the layout.
fn confirm_page(scopes: &[&str], callback: &str) -> String {
    let list: String = scopes
        .iter()
        .map(|s| {
            let text = match *s {
                "openid" => "Authenticate you with OpenID Connect",
                "profile" => "Your default profile information",
                "email" => "Your email address",
                _ => "",
            };
            format!(
                "        <div>\n            <span id=\"{s}\">\n                <i class=\"mdi \
                 mdi-cog fas fa-cog\" aria-hidden=\"true\"></i>\n                \
                 <strong><code>{s}</code></strong>\n                <p>{text}</p>\n            \
                 </span>\n        </div>\n"
            )
        })
        .collect();
    let content = format!(
        r#"<div class="banner banner-success mdc-card card p-4 m-auto w-lg-66">
    <h1>Approval Required</h1>

    <div class="d-flex flex-column align-items-center mb-2">
        <p>Corpus client</p>
    </div>

    <div id="scopes">
        <h3 class="border-bottom bg-primary p-2">Requested Scopes</h3>
        <p>The application is asking for the following information:</p>

{list}    </div>

    <h3 class="strong border-bottom pb-2 mt-4">Do you want to allow access to Corpus client?</h3>
    <div class="d-flex">
        <a class="mdc-button mdc-button--raised btn btn-primary me-2"
           id="allow"
           name="allow"
           href="{href}">
            <span class="mdc-button__label">Allow</span>
        </a>

        <a class="mdc-button mdc-button--outline btn btn-outline-secondary" id="cancel" name="cancel"
           href="/cas/login">
            <span class="mdc-button__label">Cancel</span>
        </a>

    </div>
</div>"#,
        href = esc(callback),
    );
    layout("Approval Required - CAS", &content)
}

#[tokio::test]
async fn apereo_cas_reaches_a_code() {
    super::prove(start().await).await
}

/// The whole CAS round trip happens once: one sign-in, one service ticket validated, one
/// consent page, and the Allow link followed to the code.
#[tokio::test]
async fn apereo_cas_follows_the_ticket_and_the_allow_link() {
    let app = App::default();
    let fixture = serve(app.clone()).await;
    let (request, outcome) = super::sign_in(&fixture, PASSWORD, Consent::Approve).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("sign-in failed: {e}"));
    assert_eq!(app.tally.count("login"), 1);
    assert_eq!(app.tally.count("ticket rejected"), 0);
    assert_eq!(app.tally.count("flow lost"), 0);
    assert_eq!(app.tally.count("consent page"), 1);
    assert!(
        outcome.code().is_some(),
        "no code: the server {}",
        outcome.describe()
    );
    assert_eq!(outcome.param("state"), request.get("state"));
    assert_eq!(outcome.param("nonce"), request.get("nonce"));
}

/// A wrong password comes back as the login view with HTTP 401 and "Invalid credentials.",
/// and the scanner reports a failed sign-in (the part of `prove` the consent links do not
/// reach).
#[tokio::test]
async fn apereo_cas_wrong_password_is_a_failed_sign_in() {
    let fixture = start().await;
    let (_, outcome) = super::sign_in(&fixture, "not-the-password-0", Consent::Approve).await;
    match outcome {
        Err(oauthprobe::flow::authorize::FlowError::Login { why, .. }) => {
            assert!(
                why.contains("password"),
                "the failed sign-in does not say why: {why}"
            )
        }
        Err(other) => panic!("a wrong password gave another error: {other}"),
        Ok(outcome) => panic!(
            "a wrong password was not recognised: {}",
            outcome.describe()
        ),
    }
}
