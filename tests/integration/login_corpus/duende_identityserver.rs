//! Duende IdentityServer 7.0.4 with the quickstart UI as the `isinmem` template ships it
//! (DuendeSoftware/IdentityServer.Templates at tag 7.0.4, src/IdentityServerInMem), the
//! "interactive" client of its Config.cs with `RequireConsent = true` (the template leaves
//! consent off) and its Google external provider. Reproduced from:
//! - Pages/Shared/_Layout.cshtml, _Nav.cshtml (the signed-in user's dropdown with Logout),
//!   _ValidationSummary.cshtml;
//! - Pages/Account/Login/Index.cshtml + Index.cshtml.cs + InputModel.cs + LoginOptions.cs: the
//!   form `asp-page` renders as `<form action="/Account/Login" method="post">` with the hidden
//!   `Input.ReturnUrl`, `Input.Username`, `Input.Password`, the `Input.RememberLogin` checkbox
//!   (value "true", and the hidden "false" ASP.NET appends at the end of the form), the
//!   antiforgery `__RequestVerificationToken`, and two submit buttons `Input.Button` = "login" /
//!   "cancel"; any POST whose `Input.Button` is not "login" is a cancel (access_denied to the
//!   client); a wrong password re-renders the page, HTTP 200, with "Invalid username or
//!   password" in the validation summary; success signs in (`idsrv`, `idsrv.session` cookies)
//!   and answers 302 to the ReturnUrl; an "External Account" card links to
//!   /ExternalLogin/Challenge?scheme=Google&returnUrl=...;
//! - Pages/Consent/Index.cshtml + _ScopeListItem.cshtml + Index.cshtml.cs + InputModel.cs +
//!   ConsentOptions.cs: `<form action="/Consent" method="post">` with `Input.ReturnUrl`, one
//!   checkbox `Input.ScopesConsented` per scope, all checked on GET, the required `openid` one
//!   `disabled` and doubled by a hidden input of the same name, `Input.Description`, the
//!   `Input.RememberConsent` checkbox (checked), the antiforgery token, and buttons
//!   `Input.button` = "yes" ("Yes, Allow") / "no" ("No, Do Not Allow"); "yes" with no scope
//!   re-renders with "You must pick at least one permission";
//! - Pages/SecurityHeadersAttribute.cs: the CSP/X-Frame-Options headers on both pages;
//! - Duende IdentityServer's authorize endpoint (LoginPageResult, ConsentPageResult,
//!   AuthorizeResult): an anonymous /connect/authorize answers 302 to
//!   `/Account/Login?ReturnUrl=/connect/authorize/callback?<the original query>`; the callback
//!   with consent pending answers 302 to `/consent?returnUrl=...`; the response carries code,
//!   scope, state, session_state and iss; the client requires PKCE.
//!
//! ASP.NET Core antiforgery: the cookie `.AspNetCore.Antiforgery.<id>` pairs with the form
//! token, and a form token issued to an anonymous user is not valid once signed in; a POST
//! failing the check is a bare 400. Left out: the bootstrap markup's styling, the external
//! provider's challenge, the token endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::support::{self, Tally, enc, esc};

const CLIENT_ID: &str = "interactive";
const REDIRECT_URI: &str = "http://127.0.0.1:9/signin-oidc";
const SCOPE: &str = "openid profile scope2";
const USERNAME: &str = "alice";
const PASSWORD: &str = "alice";
const ANTIFORGERY_COOKIE: &str = ".AspNetCore.Antiforgery.Ai0kXWsR1pY";

type Shared<T> = Arc<Mutex<T>>;

#[derive(Clone, Default)]
struct App {
    base: Arc<Mutex<String>>,
    /// Antiforgery form token -> (cookie token, the user it was issued to).
    antiforgery: Shared<HashMap<String, (String, Option<String>)>>,
    /// `idsrv` cookie -> subject.
    logins: Arc<Mutex<HashMap<String, String>>>,
    /// Consent decisions by the return URL's query: Ok(scopes) or Err(error).
    decisions: Shared<HashMap<String, Result<Vec<String>, String>>>,
    /// The scope sets the consent POST received.
    consented: Arc<Mutex<Vec<Vec<String>>>>,
    tally: Tally,
}

fn user_of(app: &App, headers: &HeaderMap) -> Option<String> {
    let cookie = support::cookie(headers, "idsrv")?;
    app.logins.lock().unwrap().get(&cookie).cloned()
}

/// IAntiforgery.GetAndStoreTokens: reuse the cookie token if the browser has one.
fn antiforgery_tokens(
    app: &App,
    headers: &HeaderMap,
    user: Option<&str>,
) -> (String, Option<String>) {
    let existing = support::cookie(headers, ANTIFORGERY_COOKIE);
    let cookie = existing
        .clone()
        .unwrap_or_else(|| format!("CfDJ8{}", support::token()));
    let form = format!("CfDJ8{}{}", support::token(), support::token());
    app.antiforgery
        .lock()
        .unwrap()
        .insert(form.clone(), (cookie.clone(), user.map(str::to_string)));
    (form, existing.is_none().then_some(cookie))
}

fn antiforgery_ok(
    app: &App,
    headers: &HeaderMap,
    form: &[(String, String)],
    user: Option<&str>,
) -> bool {
    let Some(token) = field(form, "__RequestVerificationToken") else {
        return false;
    };
    let Some(cookie) = support::cookie(headers, ANTIFORGERY_COOKIE) else {
        return false;
    };
    app.antiforgery
        .lock()
        .unwrap()
        .get(token)
        .is_some_and(|(c, u)| *c == cookie && u.as_deref() == user)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    // ASP.NET model binding is case-insensitive on names.
    form.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    let csp = "default-src 'self'; object-src 'none'; frame-ancestors 'none'; sandbox allow-forms allow-same-origin allow-scripts; base-uri 'self';";
    h.insert("Content-Security-Policy", HeaderValue::from_static(csp));
    h.insert("X-Content-Security-Policy", HeaderValue::from_static(csp));
    h.insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
    resp
}

fn layout(user: Option<&str>, body: &str) -> String {
    let nav_user = user
        .map(|name| {
            format!(
                r##"<ul class="navbar-nav mr-auto">
                <li class="nav-item dropdown">
                    <a href="#" class="nav-link dropdown-toggle" data-toggle="dropdown">{} <b class="caret"></b></a>
                    <div class="dropdown-menu">
                        <a class="dropdown-item" href="/Account/Logout">Logout</a>
                    </div>
              </li>
            </ul>"##,
                esc(name)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8" />
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta name="viewport" content="width=device-width, initial-scale=1.0, shrink-to-fit=no" />
    <title>Duende IdentityServer</title>
    <link rel="icon" type="image/x-icon" href="/favicon.ico" />
    <link rel="shortcut icon" type="image/x-icon" href="/favicon.ico" />
    <link rel="stylesheet" href="/lib/bootstrap/dist/css/bootstrap.min.css" />
    <link rel="stylesheet" href="/lib/bootstrap4-glyphicons/css/bootstrap-glyphicons.min.css" />
    <link rel="stylesheet" href="/css/site.css" />
</head>
<body>
<div class="nav-page">
    <nav class="navbar navbar-expand-lg navbar-dark bg-dark">
        <a href="/" class="navbar-brand">
            <img src="/duende-logo.svg" class="icon-banner">
            Duende IdentityServer
        </a>
        {nav_user}
    </nav>
</div>
    <div class="container body-container">
        {body}
    </div>
    <script src="/lib/jquery/dist/jquery.slim.min.js"></script>
    <script src="/lib/bootstrap/dist/js/bootstrap.bundle.min.js"></script>
</body>
</html>"#
    )
}

fn validation_summary(errors: &[&str]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let items: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>\n", esc(e)))
        .collect();
    format!(
        r#"<div class="alert alert-danger">
        <strong>Error</strong>
        <div class="danger validation-summary-errors" data-valmsg-summary="true"><ul>{items}</ul></div>
    </div>"#
    )
}

fn with_cookie(resp: Response, new_cookie: Option<String>) -> Response {
    match new_cookie {
        Some(c) => support::set_cookie(
            resp,
            &format!("{ANTIFORGERY_COOKIE}={c}; path=/; samesite=strict; httponly"),
        ),
        None => resp,
    }
}

/// The authorization context of a return URL, as IIdentityServerInteractionService
/// .GetAuthorizationContextAsync finds it: the callback path with a valid request.
fn context_of(return_url: &str) -> Option<HashMap<String, String>> {
    let rest = return_url.strip_prefix("/connect/authorize/callback?")?;
    let q: HashMap<String, String> = url::form_urlencoded::parse(rest.as_bytes())
        .into_owned()
        .collect();
    validate(&q).ok().map(|_| q)
}

/// AuthorizeRequestValidator, for what matters here.
fn validate(q: &HashMap<String, String>) -> Result<(), Box<Response>> {
    let bad = || {
        support::html_status(
            StatusCode::BAD_REQUEST,
            layout(
                None,
                r#"<div class="error-page"><div class="lead"><h1>Error</h1></div>
<div class="alert alert-danger">Sorry, there was an error : unauthorized_client</div></div>"#,
            ),
        )
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI)
    {
        return Err(Box::new(bad()));
    }
    let state = q.get("state").cloned().unwrap_or_default();
    let err = |code: &str, desc: &str| {
        Err(Box::new(support::to_client(
            REDIRECT_URI,
            &[
                ("error", code),
                ("error_description", desc),
                ("state", &state),
            ],
        )))
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return err("unsupported_response_type", "Invalid response_type");
    }
    if !q.contains_key("code_challenge") {
        return err("invalid_request", "code challenge required");
    }
    let scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    if scopes.is_empty() || !scopes.iter().all(|s| SCOPE.split(' ').any(|k| k == *s)) {
        return err("invalid_scope", "Invalid scope");
    }
    Ok(())
}

async fn authorize(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(resp) = validate(&q) {
        return *resp;
    }
    let raw = raw.unwrap_or_default();
    let callback = format!("/connect/authorize/callback?{raw}");
    let Some(sub) = user_of(&app, &headers) else {
        return support::redirect(&format!("/Account/Login?ReturnUrl={}", enc(&callback)));
    };
    let _ = sub;
    match app.decisions.lock().unwrap().remove(&raw) {
        None => support::redirect(&format!("/consent?returnUrl={}", enc(&callback))),
        Some(Err(error)) => support::to_client(
            REDIRECT_URI,
            &[
                ("error", &error),
                ("state", q.get("state").map(String::as_str).unwrap_or("")),
                ("iss", app.base.lock().unwrap().trim_end_matches('/')),
            ],
        ),
        Some(Ok(scopes)) => support::to_client(
            REDIRECT_URI,
            &[
                ("code", &support::token()),
                ("scope", &scopes.join(" ")),
                ("state", q.get("state").map(String::as_str).unwrap_or("")),
                (
                    "session_state",
                    &format!("{}.{}", support::token(), support::token()),
                ),
                ("iss", app.base.lock().unwrap().trim_end_matches('/')),
            ],
        ),
    }
}

fn login_page(
    app: &App,
    headers: &HeaderMap,
    return_url: &str,
    username: &str,
    errors: &[&str],
) -> Response {
    let (token, new_cookie) = antiforgery_tokens(app, headers, None);
    let body = format!(
        r#"<div class="login-page">
    <div class="lead">
        <h1>Login</h1>
        <p>Choose how to login</p>
    </div>

    {summary}

    <div class="row">
            <div class="col-sm-6">
                <div class="card">
                    <div class="card-header">
                        <h2>Local Account</h2>
                    </div>
                    <div class="card-body">
                        <form action="/Account/Login" method="post">
                            <input type="hidden" id="Input_ReturnUrl" name="Input.ReturnUrl" value="{return_url}" />
                            <div class="form-group">
                                <label for="Input_Username">Username</label>
                                <input class="form-control" placeholder="Username" autofocus type="text" data-val="true" data-val-required="The Username field is required." id="Input_Username" name="Input.Username" value="{username}">
                            </div>
                            <div class="form-group">
                                <label for="Input_Password">Password</label>
                                <input type="password" class="form-control" placeholder="Password" autocomplete="off" data-val="true" data-val-required="The Password field is required." id="Input_Password" name="Input.Password">
                            </div>
                                <div class="form-group">
                                    <div class="form-check">
                                        <input class="form-check-input" type="checkbox" data-val="true" data-val-required="The RememberLogin field is required." id="Input_RememberLogin" name="Input.RememberLogin" value="true">
                                        <label class="form-check-label" for="Input_RememberLogin">
                                            Remember My Login
                                        </label>
                                    </div>
                                </div>
                            <button class="btn btn-primary" name="Input.Button" value="login">Login</button>
                            <button class="btn btn-secondary" name="Input.Button" value="cancel">Cancel</button>
                        <input name="__RequestVerificationToken" type="hidden" value="{token}" /><input name="Input.RememberLogin" type="hidden" value="false" /></form>
                    </div>
                </div>
            </div>
            <div class="col-sm-6">
                <div class="card">
                    <div class="card-header">
                        <h2>External Account</h2>
                    </div>
                    <div class="card-body">
                        <ul class="list-inline">
                                <li class="list-inline-item">
                                    <a class="btn btn-secondary" href="/ExternalLogin/Challenge?scheme=Google&amp;returnUrl={challenge_return}">
                                        Google
                                    </a>
                                </li>
                        </ul>
                    </div>
                </div>
            </div>
    </div>
</div>"#,
        summary = validation_summary(errors),
        return_url = esc(return_url),
        username = esc(username),
        challenge_return = esc(&enc(return_url)),
    );
    security_headers(with_cookie(support::html(layout(None, &body)), new_cookie))
}

async fn login_get(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Razor Pages bind the `returnUrl` handler argument case-insensitively.
    let return_url = q
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("returnUrl"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    login_page(&app, &headers, &return_url, "", &[])
}

async fn login_post(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !antiforgery_ok(&app, &headers, &form, None) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let return_url = field(&form, "Input.ReturnUrl").unwrap_or("").to_string();
    let context = context_of(&return_url);
    if field(&form, "Input.Button") != Some("login") {
        app.tally.hit("login cancel");
        if context.is_some() {
            let raw = return_url.trim_start_matches("/connect/authorize/callback?");
            app.decisions
                .lock()
                .unwrap()
                .insert(raw.to_string(), Err("access_denied".into()));
            return support::redirect(&return_url);
        }
        return support::redirect("/");
    }
    let username = field(&form, "Input.Username").unwrap_or("");
    let password = field(&form, "Input.Password").unwrap_or("");
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push("The Username field is required.");
    }
    if password.is_empty() {
        errors.push("The Password field is required.");
    }
    if errors.is_empty() {
        if username == USERNAME && password == PASSWORD {
            let cookie = support::token();
            app.logins
                .lock()
                .unwrap()
                .insert(cookie.clone(), USERNAME.to_string());
            let target = if context.is_some() {
                return_url.clone()
            } else {
                "/".to_string()
            };
            let resp = support::redirect(&target);
            let resp = support::set_cookie(
                resp,
                &format!(
                    "idsrv.session={}; path=/; secure; samesite=none",
                    support::token()
                ),
            );
            return support::set_cookie(
                resp,
                &format!("idsrv={cookie}; path=/; samesite=lax; httponly"),
            );
        }
        errors.push("Invalid username or password");
    }
    login_page(&app, &headers, &return_url, username, &errors)
}

fn scope_item(
    value: &str,
    display: &str,
    description: Option<&str>,
    required: bool,
    emphasize: bool,
    checked: bool,
) -> String {
    format!(
        r#"<li class="list-group-item">
    <label>
        <input class="consent-scopecheck"
               type="checkbox"
               name="Input.ScopesConsented"
               id="scopes_{value}"
               value="{value}"
               {checked}
               {disabled} />
        {hidden}
        <strong>{display}</strong>
        {emph}
    </label>
    {req}
    {desc}
</li>"#,
        checked = if checked { r#"checked="checked""# } else { "" },
        disabled = if required { r#"disabled="disabled""# } else { "" },
        hidden = if required {
            format!(r#"<input type="hidden" name="Input.ScopesConsented" value="{value}" />"#)
        } else {
            String::new()
        },
        emph = if emphasize {
            r#"<span class="glyphicon glyphicon-exclamation-sign"></span>"#
        } else {
            ""
        },
        req = if required {
            "<span><em>(required)</em></span>"
        } else {
            ""
        },
        desc = description
            .map(|d| {
                format!(
                    r#"<div class="consent-description"><label for="scopes_{value}">{d}</label></div>"#
                )
            })
            .unwrap_or_default(),
    )
}

fn consent_page(
    app: &App,
    headers: &HeaderMap,
    user: &str,
    return_url: &str,
    q: &HashMap<String, String>,
    ticked: Option<&[String]>,
    errors: &[&str],
) -> Response {
    let (token, new_cookie) = antiforgery_tokens(app, headers, Some(user));
    let requested: Vec<&str> = q
        .get("scope")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    let check = |s: &str| ticked.is_none_or(|t| t.iter().any(|x| x == s));
    let mut identity = String::new();
    if requested.contains(&"openid") {
        identity.push_str(&scope_item(
            "openid",
            "Your user identifier",
            None,
            true,
            false,
            true,
        ));
    }
    if requested.contains(&"profile") {
        identity.push_str(&scope_item(
            "profile",
            "User profile",
            Some("Your user profile information (first name, last name, etc.)"),
            false,
            true,
            check("profile"),
        ));
    }
    let mut api = String::new();
    if requested.contains(&"scope2") {
        api.push_str(&scope_item(
            "scope2",
            "scope2",
            None,
            false,
            false,
            check("scope2"),
        ));
    }
    let card = |icon: &str, title: &str, items: &str| {
        if items.is_empty() {
            return String::new();
        }
        format!(
            r#"<div class="form-group">
                        <div class="card">
                            <div class="card-header">
                                <span class="glyphicon glyphicon-{icon}"></span>
                                {title}
                            </div>
                            <ul class="list-group list-group-flush">
                                {items}
                            </ul>
                        </div>
                    </div>"#
        )
    };
    let body = format!(
        r#"<div class="page-consent">
    <div class="lead">
        <h1>
            interactive
            <small class="text-muted">is requesting your permission</small>
        </h1>
        <p>Uncheck the permissions you do not wish to grant.</p>
    </div>

    <div class="row">
        <div class="col-sm-8">
            {summary}
        </div>
    </div>

    <form action="/Consent" method="post">
        <input type="hidden" id="Input_ReturnUrl" name="Input.ReturnUrl" value="{return_url}" />
        <div class="row">
            <div class="col-sm-8">
                {identity}
                {api}
                <div class="form-group">
                    <div class="card">
                        <div class="card-header">
                            <span class="glyphicon glyphicon-pencil"></span>
                            Description
                        </div>
                        <div class="card-body">
                            <input class="form-control" placeholder="Description or name of device" autofocus type="text" id="Input_Description" name="Input.Description" value="">
                        </div>
                    </div>
                </div>
                    <div class="form-group">
                        <div class="form-check">
                            <input class="form-check-input" type="checkbox" data-val="true" data-val-required="The RememberConsent field is required." id="Input_RememberConsent" name="Input.RememberConsent" value="true" checked="checked">
                            <label class="form-check-label" for="Input_RememberConsent">
                                <strong>Remember My Decision</strong>
                            </label>
                        </div>
                    </div>
            </div>
        </div>

        <div class="row">
            <div class="col-sm-4">
                <button name="Input.button" value="yes" class="btn btn-primary" autofocus>Yes, Allow</button>
                <button name="Input.button" value="no" class="btn btn-secondary">No, Do Not Allow</button>
            </div>
            <div class="col-sm-4 col-lg-auto">
            </div>
        </div>
    <input name="__RequestVerificationToken" type="hidden" value="{token}" /><input name="Input.RememberConsent" type="hidden" value="false" /></form>
</div>"#,
        summary = validation_summary(errors),
        return_url = esc(return_url),
        identity = card("user", "Personal Information", &identity),
        api = card("tasks", "Application Access", &api),
    );
    security_headers(with_cookie(
        support::html(layout(Some(user), &body)),
        new_cookie,
    ))
}

async fn consent_get(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(user) = user_of(&app, &headers) else {
        return support::redirect("/Account/Login?ReturnUrl=%2Fconsent");
    };
    let return_url = q
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("returnUrl"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let Some(ctx) = context_of(&return_url) else {
        return support::redirect("/Home/Error/Index");
    };
    app.tally.hit("consent page");
    consent_page(&app, &headers, &user, &return_url, &ctx, None, &[])
}

async fn consent_post(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(user) = user_of(&app, &headers) else {
        return support::redirect("/Account/Login?ReturnUrl=%2Fconsent");
    };
    if !antiforgery_ok(&app, &headers, &form, Some(&user)) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let return_url = field(&form, "Input.ReturnUrl").unwrap_or("").to_string();
    let Some(ctx) = context_of(&return_url) else {
        return support::redirect("/Home/Error/Index");
    };
    let raw = return_url
        .trim_start_matches("/connect/authorize/callback?")
        .to_string();
    let scopes: Vec<String> = form
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Input.ScopesConsented"))
        .map(|(_, v)| v.clone())
        .collect();
    let decision = match field(&form, "Input.button") {
        Some("no") => Err("access_denied".to_string()),
        Some("yes") if !scopes.is_empty() => {
            app.consented.lock().unwrap().push(scopes.clone());
            // Scopes the request did not ask for are dropped by GrantConsentAsync's validation.
            let requested: Vec<&str> = ctx
                .get("scope")
                .map(|s| s.split(' ').collect())
                .unwrap_or_default();
            let mut granted: Vec<String> = Vec::new();
            for s in &scopes {
                if requested.contains(&s.as_str()) && !granted.contains(s) {
                    granted.push(s.clone());
                }
            }
            Ok(granted)
        }
        Some("yes") => {
            return consent_page(
                &app,
                &headers,
                &user,
                &return_url,
                &ctx,
                Some(&scopes),
                &["You must pick at least one permission"],
            );
        }
        _ => {
            return consent_page(
                &app,
                &headers,
                &user,
                &return_url,
                &ctx,
                Some(&scopes),
                &["Invalid selection"],
            );
        }
    };
    app.decisions.lock().unwrap().insert(raw, decision);
    support::redirect(&return_url)
}

async fn start_with(app: App) -> super::Fixture {
    let router = Router::new()
        .route("/connect/authorize", get(authorize))
        .route("/connect/authorize/callback", get(authorize))
        .route("/Account/Login", get(login_get).post(login_post))
        // ASP.NET Core routing ignores case: the redirect says /consent, the form /Consent.
        .route("/consent", get(consent_get).post(consent_post))
        .route("/Consent", get(consent_get).post(consent_post))
        .with_state(app.clone());
    let (base, task) = support::serve(router).await;
    *app.base.lock().unwrap() = base.to_string();
    super::Fixture {
        reproduces: "Duende IdentityServer 7.0.4 quickstart UI (isinmem template): Account/Login, Consent",
        authorize: base.join("/connect/authorize").expect("authorize url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: SCOPE.into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: true,
        servers: vec![task],
    }
}

pub async fn start() -> super::Fixture {
    start_with(App::default()).await
}

#[tokio::test]
async fn duende_identityserver_reaches_a_code() {
    super::prove(start().await).await
}

/// Approving sends every scope the page had ticked, the required `openid` through its hidden
/// twin, and nothing is cancelled on the login page.
#[tokio::test]
async fn duende_identityserver_consent_keeps_the_requested_scopes() {
    let app = App::default();
    let fixture = start_with(app.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    let outcome = outcome.expect("sign-in");
    assert!(outcome.code().is_some(), "no code: {}", outcome.describe());
    assert_eq!(
        app.tally.count("login cancel"),
        0,
        "the login page's Cancel was pressed"
    );
    let consented = app.consented.lock().unwrap().clone();
    assert_eq!(consented.len(), 1, "one consent POST");
    let mut got = consented[0].clone();
    got.sort();
    got.dedup();
    assert_eq!(got, vec!["openid", "profile", "scope2"]);
}
